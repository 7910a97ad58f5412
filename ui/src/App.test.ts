import { fireEvent, render, screen } from '@testing-library/svelte';
import { afterEach, describe, expect, it } from 'vitest';
import App from './App.svelte';
import { BackendError } from './lib/backend/errors';
import type { AppInfo, Backend } from './lib/backend/types';

const INFO: AppInfo = {
  name: 'Boarding Desk',
  version: '9.8.7',
  data_dir: '/tmp/desk-test',
  vault: 'not_created',
};

const fakeBackend = (over: Partial<Backend> = {}): Backend => ({
  appInfo: async () => INFO,
  ...over,
});

afterEach(() => history.replaceState(null, '', '#/'));

describe('App shell', () => {
  it('shows the sidebar sections, the header and the default page', () => {
    render(App, { backend: fakeBackend() });
    const nav = screen.getByRole('navigation', { name: 'Sections' });
    const labels = Array.from(nav.querySelectorAll('a')).map((a) => a.textContent?.replace(/Alt \d/, '').trim());
    expect(labels).toEqual(['Applications', 'Review queue', 'Merchants', 'Admin']);
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('Applications');
    expect(screen.getByText('No applications yet')).toBeInTheDocument();
    expect(screen.getByLabelText('Signed-in user')).toHaveTextContent('Not signed in');
  });

  it('shows version, vault state and data folder from the backend in the status bar', async () => {
    render(App, { backend: fakeBackend() });
    expect(await screen.findByTestId('app-version')).toHaveTextContent('Boarding Desk 9.8.7');
    expect(screen.getByTestId('vault-state')).toHaveTextContent('Vault: not created');
    expect(screen.getByText('Data: /tmp/desk-test')).toBeInTheDocument();
  });

  it('navigates when a sidebar item is clicked and marks it current', async () => {
    render(App, { backend: fakeBackend() });
    await fireEvent.click(screen.getByRole('link', { name: /Merchants/ }));
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('Merchants');
    expect(screen.getByText('No boarded merchants yet')).toBeInTheDocument();
    expect(screen.getByRole('link', { name: /Merchants/ })).toHaveAttribute('aria-current', 'page');
    expect(window.location.hash).toBe('#/merchants');
  });

  it('jumps to a section with Alt+digit from anywhere', async () => {
    render(App, { backend: fakeBackend() });
    await fireEvent.keyDown(window, { key: '4', code: 'Digit4', altKey: true });
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('Admin');
    await fireEvent.keyDown(window, { key: '2', code: 'Digit2', altKey: true });
    expect(screen.getByText('The review queue is empty')).toBeInTheDocument();
  });

  it('moves through the sidebar with arrow keys, keeping focus on the current item', async () => {
    render(App, { backend: fakeBackend() });
    const first = screen.getByRole('link', { name: /Applications/ });
    first.focus();
    await fireEvent.keyDown(first, { key: 'ArrowDown' });
    const review = screen.getByRole('link', { name: /Review queue/ });
    expect(review).toHaveAttribute('aria-current', 'page');
    expect(document.activeElement).toBe(review);
    expect(first).toHaveAttribute('tabindex', '-1');
  });

  it('opens the section named in the URL hash', () => {
    history.replaceState(null, '', '#/admin');
    render(App, { backend: fakeBackend() });
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('Admin');
  });

  it('shows a Rust error with its code and a heading for that code', async () => {
    const backend = fakeBackend({
      appInfo: async () => {
        throw new BackendError('data_dir_unavailable', 'data folder /x is not a directory');
      },
    });
    render(App, { backend });
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveAttribute('data-code', 'data_dir_unavailable');
    expect(alert).toHaveTextContent('The data folder cannot be used');
    expect(alert).toHaveTextContent('data folder /x is not a directory');
    expect(screen.getByTestId('status-error')).toHaveTextContent('data_dir_unavailable');
  });
});
