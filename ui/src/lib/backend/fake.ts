// An in-memory Backend for component tests: just enough state to walk the sign-in gate.
import { BackendError } from './errors';
import type { AppInfo, Backend, SessionInfo, User } from './types';

export interface FakeOptions {
  vault?: AppInfo['vault'];
  session?: SessionInfo | null;
  appInfoError?: BackendError;
}

export const READY_ADMIN: SessionInfo = {
  username: 'alice',
  role: 'admin',
  stage: 'ready',
  idle_minutes: 15,
  enrolment: null,
};

const ENROLMENT = { secret: 'JBSWY3DPEHPK3PXP', otpauth_url: 'otpauth://totp/x', qr_svg: '<svg></svg>' };

export function fakeBackend(opts: FakeOptions = {}): Backend & { calls: string[] } {
  let vault = opts.vault ?? 'locked';
  let session: SessionInfo | null = opts.session === undefined ? null : opts.session;
  const users: User[] = [];
  const calls: string[] = [];
  const needSession = () => {
    if (!session || session.stage !== 'ready') throw new BackendError('unauthorized', 'sign in first');
    return session;
  };
  return {
    calls,
    appInfo: async () => {
      calls.push('appInfo');
      if (opts.appInfoError) throw opts.appInfoError;
      return { name: 'Boarding Desk', version: '9.8.7', data_dir: '/tmp/desk-test', vault };
    },
    sessionInfo: async () => session,
    sessionTouch: async () => session,
    setupVault: async (username, password) => {
      calls.push('setupVault');
      if (password.length < 12) throw new BackendError('invalid_input', 'password: must be at least 12 characters');
      vault = 'locked';
      session = { ...READY_ADMIN, username, stage: 'enrol_totp', enrolment: ENROLMENT };
      return { session, recovery_key: 'AAAA-BBBB-CCCC' };
    },
    signIn: async (username, password, code) => {
      calls.push('signIn');
      if (password !== 'correct horse battery' || code !== '123456')
        throw new BackendError('bad_credentials', 'wrong username, password or authenticator code');
      session = { ...READY_ADMIN, username };
      return session;
    },
    confirmTotp: async (code) => {
      if (code !== '123456') throw new BackendError('invalid_input', 'authenticator code: does not match');
      session = { ...needSessionAny(), stage: 'ready', enrolment: null };
      return session;
    },
    changePassword: async () => {
      session = { ...needSessionAny(), stage: 'enrol_totp', enrolment: ENROLMENT };
      return session;
    },
    lock: async () => {
      calls.push('lock');
      session = null;
    },
    setIdleMinutes: async (m) => m,
    listUsers: async () => {
      needSession();
      return users;
    },
    createUser: async () => {
      throw new BackendError('internal', 'not in the fake');
    },
    setUserDisabled: async () => null,
    resetUserPassword: async () => {
      throw new BackendError('internal', 'not in the fake');
    },
    resetUserTotp: async () => {
      throw new BackendError('internal', 'not in the fake');
    },
    unlockUser: async () => {
      throw new BackendError('internal', 'not in the fake');
    },
    verifyAudit: async () => ({ intact: true, entries: 0, broken_at: null, problem: null }),
    listAudit: async () => {
      needSession();
      return { entries: [], next_before: null };
    },
    rotateKey: async () => undefined,
  };

  function needSessionAny(): SessionInfo {
    if (!session) throw new BackendError('unauthorized', 'sign in first');
    return session;
  }
}
