// Wire types: what the Rust api crate serialises. Keep in step with crates/api.

export type VaultState = 'not_created' | 'locked' | 'keyring_missing';
export type Role = 'admin' | 'underwriter' | 'auditor';
export type Stage = 'ready' | 'change_password' | 'enrol_totp';

export interface AppInfo {
  name: string;
  version: string;
  data_dir: string;
  vault: VaultState;
}

export interface Enrolment {
  secret: string;
  otpauth_url: string;
  qr_svg: string;
}

export interface SessionInfo {
  username: string;
  role: Role;
  stage: Stage;
  idle_minutes: number;
  enrolment: Enrolment | null;
}

export interface SetupOutput {
  session: SessionInfo;
  recovery_key: string;
}

export interface User {
  id: string;
  username: string;
  role: Role;
  disabled: boolean;
  must_change_password: boolean;
  totp_enrolled: boolean;
  created_at: string;
  last_login_at: string | null;
  locked_until: string | null;
}

export interface IssuedPassword {
  user: User;
  one_time_password: string;
}

export interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  outcome: string;
  detail: string | null;
}

export interface AuditPage {
  entries: AuditEntry[];
  next_before: number | null;
}

export interface AuditReport {
  intact: boolean;
  entries: number;
  broken_at: number | null;
  problem: string | null;
}

/** Everything the UI asks of Rust. The Tauri implementation is in tauri.ts; tests pass fakes. */
export interface Backend {
  appInfo(): Promise<AppInfo>;
  sessionInfo(): Promise<SessionInfo | null>;
  sessionTouch(): Promise<SessionInfo | null>;
  setupVault(username: string, password: string): Promise<SetupOutput>;
  signIn(username: string, password: string, code: string | null): Promise<SessionInfo>;
  confirmTotp(code: string): Promise<SessionInfo>;
  changePassword(current: string | null, newPassword: string): Promise<SessionInfo>;
  lock(): Promise<void>;
  setIdleMinutes(minutes: number): Promise<number>;
  listUsers(): Promise<User[]>;
  createUser(username: string, role: Role): Promise<IssuedPassword>;
  setUserDisabled(userId: string, disabled: boolean): Promise<IssuedPassword | null>;
  resetUserPassword(userId: string): Promise<IssuedPassword>;
  resetUserTotp(userId: string): Promise<User>;
  unlockUser(userId: string): Promise<User>;
  verifyAudit(): Promise<AuditReport>;
  listAudit(before: number | null): Promise<AuditPage>;
  rotateKey(): Promise<void>;
}
