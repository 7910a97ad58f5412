import { invoke } from '@tauri-apps/api/core';
import { toBackendError } from './errors';
import type { Backend } from './types';

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (raw) {
    throw toBackendError(raw);
  }
}

export const tauriBackend: Backend = {
  appInfo: () => call('app_info'),
  sessionInfo: () => call('session_info'),
  sessionTouch: () => call('session_touch'),
  setupVault: (username, password) => call('setup_vault', { input: { username, password } }),
  signIn: (username, password, code) => call('sign_in', { input: { username, password, code } }),
  confirmTotp: (code) => call('confirm_totp', { code }),
  changePassword: (current, newPassword) =>
    call('change_password', { input: { current, new_password: newPassword } }),
  lock: () => call('lock_session'),
  setIdleMinutes: (minutes) => call('set_idle_minutes', { minutes }),
  listUsers: () => call('list_users'),
  createUser: (username, role) => call('create_user', { input: { username, role } }),
  setUserDisabled: (userId, disabled) => call('set_user_disabled', { userId, disabled }),
  resetUserPassword: (userId) => call('reset_user_password', { userId }),
  resetUserTotp: (userId) => call('reset_user_totp', { userId }),
  unlockUser: (userId) => call('unlock_user', { userId }),
  verifyAudit: () => call('verify_audit'),
  listAudit: (before) => call('list_audit', { before }),
  rotateKey: () => call('rotate_key'),
};
