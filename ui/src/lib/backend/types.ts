// Wire types: what the Rust api crate serialises. Keep in step with crates/api.

export type VaultState = 'not_created' | 'locked';

export interface AppInfo {
  name: string;
  version: string;
  data_dir: string;
  vault: VaultState;
}

/** Everything the UI asks of Rust. The Tauri implementation is in tauri.ts; tests pass fakes. */
export interface Backend {
  appInfo(): Promise<AppInfo>;
}
