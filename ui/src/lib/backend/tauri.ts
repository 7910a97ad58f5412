import { Channel, invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';
import { toBackendError } from './errors';
import type { Backend, Changes, Progress } from './types';

/** Files cross IPC as base64 in one JSON argument; chunked so large files do not overflow. */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return btoa(binary);
}

function progressChannel(onProgress: (p: Progress) => void): Channel<Progress> {
  const channel = new Channel<Progress>();
  channel.onmessage = onProgress;
  return channel;
}

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
  restoreBackup: (file, username, password, code, recoveryKey) =>
    call('restore_backup', { file, username, password, code, recoveryKey }),
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
  verifyAudit: (checkpoints) => call('verify_audit', { checkpoints }),
  listCheckpoints: () => call('list_checkpoints'),
  signCheckpoint: () => call('sign_checkpoint'),
  listAudit: (before) => call('list_audit', { before }),
  rotateKey: () => call('rotate_key'),
  rotateRecoveryKey: (split) => call('rotate_recovery_key', { split }),
  keychainStatus: () => call('keychain_status'),
  setKeychainBinding: (on, password) => call('set_keychain_binding', { on, password }),
  createTeam: (url, username, password) => call('create_team', { url, input: { username, password } }),
  joinTeam: (url, code) => call('join_team', { input: { url, code } }),
  teamJoinCode: () => call('team_join_code'),
  saveDraft: (id, version, form) => call('save_draft', { input: { id, version, form } }),
  getApplication: (id) => call('get_application', { id }),
  submitApplication: (id, version) => call('submit_application', { id, version }),
  withdrawApplication: (id, version) => call('withdraw_application', { id, version }),
  revealField: (id, field) => call('reveal_field', { id, field }),
  listApplications: (query) => call('list_applications', { query }),
  checkApplication: (form) => call('check_application', { form }),
  mccCodes: () => call('mcc_codes'),
  addDocument: (applicationId, kind, fileName, content) =>
    call('add_document', { applicationId, kind, fileName, contentBase64: toBase64(content) }),
  documentContent: (id) => call('document_content', { id }),
  deleteDocument: (id) => call('delete_document', { id }),
  importApplications: (fileName, content, onProgress, skipDuplicates = false) =>
    call('import_applications', {
      fileName,
      contentBase64: toBase64(content),
      skipDuplicates,
      onProgress: progressChannel(onProgress),
    }),
  seedDemo: (count, onProgress) => call('seed_demo', { count, onProgress: progressChannel(onProgress) }),
  importLists: (dir) => call('import_lists', { dir }),
  listVersions: () => call('list_versions'),
  screenName: (name, birthYear, country) => call('screen_name', { name, birthYear, country }),
  screenApplication: (id) => call('screen_application', { id }),
  rescreenStatus: () => call('rescreen_status'),
  disposeHit: (hitId, disposition, note) => call('dispose_hit', { hitId, disposition, note }),
  reviewQueue: (query, quiet) => call('review_queue', { query, quiet: quiet ?? false }),
  boardingOverview: (filter) => call('boarding_overview', { filter }),
  platformStatus: () => call('platform_status'),
  boardingRetry: (id) => call('boarding_retry', { id }),
  boardingCancel: (id) => call('boarding_cancel', { id }),
  boardingFix: (id, field, value) => call('boarding_fix', { id, field, value }),
  platformSettings: () => call('platform_settings'),
  setPlatform: (url, secretKey, ratePerSecond) =>
    call('set_platform', { input: { url, secret_key: secretKey, rate_per_second: ratePerSecond } }),
  testPlatform: () => call('test_platform'),
  merchantsPage: (query) => call('merchants_page', { query }),
  syncMerchant: (id) => call('sync_merchant', { id }),
  merchantAction: (input) => call('merchant_action', { input }),
  exportAudit: (from, to, format) => call('export_audit', { from, to, format }),
  exportMerchants: (format) => call('export_merchants', { format }),
  gdprErase: (id) => call('gdpr_erase', { id }),
  gdprHold: (id, reason) => call('gdpr_hold', { id, reason }),
  gdprExport: (by, value) => call('gdpr_export', { by, value }),
  exportSanctionsReports: (id) => call('sanctions_report_export', { id }),
  retentionRun: (dryRun) => call('retention_run', { dryRun }),
  retentionSchedule: () => call('retention_schedule'),
  setRetentionSchedule: (enabled) => call('set_retention_schedule', { enabled }),
  setRetentionYears: (years) => call('set_retention_years', { years }),
  setExportDays: (days) => call('set_export_days', { days }),
  setBlocklistYears: (years) => call('set_blocklist_years', { years }),
  listBlocklist: (offset) => call('list_blocklist', { offset }),
  backupVault: () => call('backup_vault'),
  listBackups: () => call('list_backups'),
  rewrapStatus: () => call('rewrap_status'),
  setMerchantLimits: (input) => call('set_merchant_limits', { input }),
  editMerchant: (input) => call('edit_merchant', { input }),
  merchantChanges: (id) => call('merchant_changes', { id }),
  decideMerchantChange: (input, accept) => call('decide_merchant_change', { input, accept }),
  reviewView: (id, quiet) => call('review_view', { id, quiet: quiet ?? false }),
  assignToMe: (id, takeOver) => call('assign_to_me', { id, takeOver }),
  nextInQueue: () => call('next_in_queue'),
  decide: (input) => call('decide', { input }),
  addNote: (id, text) => call('add_note', { id, text }),
  reviewDashboard: (quiet) => call('review_dashboard', { quiet: quiet ?? false }),
  onChanged: (handler) => {
    let stop: (() => void) | null = null;
    let stopped = false;
    void listen<Changes>('desk-changed', (event) => handler(event.payload)).then((unlisten) => {
      if (stopped) unlisten();
      else stop = unlisten;
    });
    return () => {
      stopped = true;
      stop?.();
    };
  },
  riskSettings: () => call('risk_settings'),
  setRiskRules: (json) => call('set_risk_rules', { json }),
  setScreeningThreshold: (value) => call('set_screening_threshold', { value }),
  previewRiskRules: (json) => call('preview_risk_rules', { json }),
  riskFactors: () => call('risk_factors'),
  pendingSettings: () => call('pending_settings'),
  decideSetting: (key, confirm) => call('decide_setting', { key, confirm }),
};
