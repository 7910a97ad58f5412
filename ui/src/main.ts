import { mount } from 'svelte';
import './app.css';
import App from './App.svelte';
import { tauriBackend } from './lib/backend/tauri';

const target = document.getElementById('app');
if (!target) throw new Error('missing #app mount point');

export default mount(App, { target, props: { backend: tauriBackend } });
