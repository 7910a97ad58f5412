import { invoke } from '@tauri-apps/api/core';
import { toBackendError } from './errors';
import type { AppInfo, Backend } from './types';

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (raw) {
    throw toBackendError(raw);
  }
}

export const tauriBackend: Backend = {
  appInfo: () => call<AppInfo>('app_info'),
};
