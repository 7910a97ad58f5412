//! The payment platform connection: the settings (URL, sealed secret key, write rate), the
//! test request and the status bar's platform line.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use platform::client::CallError;
use platform::resilience::Health;
use platform::{requests, Client, ClientConfig};
use serde::{Deserialize, Serialize};
use vault::audit::Outcome;
use vault::{Setting, Vault};
use zeroize::Zeroizing;

use super::lock;
use crate::session::{Access, SessionSlot};
use crate::{Error, Result};

const SETTINGS_RECORD: &str = "settings:platform";

fn setting(vault: &Vault, key: Setting) -> Option<String> {
    crate::settings::read(vault, key)
}

/// The platform connection as the Settings page shows it (the key masked).
#[derive(Debug, Clone, Serialize)]
pub struct PlatformSettings {
    pub url: String,
    /// `sk_test_…1234`: the prefix and the last four characters.
    pub key_hint: String,
    pub rate_per_second: f64,
    /// True while the app still points at the local sandbox defaults.
    pub is_sandbox: bool,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetPlatformInput {
    pub url: String,
    /// A new secret key; `None` keeps the stored one.
    #[serde(default)]
    pub secret_key: Option<String>,
    pub rate_per_second: f64,
}

fn stored_key(vault: &Vault) -> Result<Zeroizing<String>> {
    let Some(hex) = setting(vault, Setting::PlatformKey) else {
        return Ok(Zeroizing::new(platform::SANDBOX_KEY.to_string()));
    };
    // Sealed under the identifiers class: the roles that board (issue 16).
    if !vault.holds(vault::DataClass::Identifiers) {
        return Err(Error::new(
            crate::Code::Forbidden,
            "the platform key is sealed for the roles that board merchants",
        ));
    }
    let sealed = vault::Sealed::from_hex(&hex)
        .ok_or_else(|| Error::internal("the stored platform key is damaged"))?;
    let key = vault
        .existing_record_key(SETTINGS_RECORD)?
        .ok_or_else(|| Error::internal("the stored platform key is damaged"))?;
    let plain = key.open("platform_key", &sealed)?;
    let text = String::from_utf8(plain.to_vec())
        .map_err(|_| Error::internal("the stored platform key is damaged"))?;
    Ok(Zeroizing::new(text))
}

fn key_hint(key: &str) -> String {
    let prefix: String = key.chars().take_while(|c| *c != '_').collect();
    let mode = key.split('_').nth(1).unwrap_or("");
    let tail: String = key
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{prefix}_{mode}_…{tail}")
}

/// The stored write rate, else 25/s (Stripe's test mode).
fn write_rate(vault: &Vault) -> f64 {
    setting(vault, Setting::PlatformRate)
        .and_then(|r| r.parse::<f64>().ok())
        .filter(|r| (1.0..=100.0).contains(r))
        .unwrap_or(25.0)
}

/// The connection in force: the admin's, else the local sandbox.
pub fn platform_config(vault: &Vault, timeout: Duration) -> Result<(ClientConfig, f64)> {
    let url = setting(vault, Setting::PlatformUrl).unwrap_or_else(|| platform::SANDBOX_URL.into());
    let rate = write_rate(vault);
    Ok((
        ClientConfig {
            base_url: url,
            secret_key: stored_key(vault)?,
            timeout,
        },
        rate,
    ))
}

/// Use case: the platform connection (any signed-in role; the key is masked).
pub fn platform_settings(slot: &mut SessionSlot) -> Result<PlatformSettings> {
    let session = slot.require(Access::SignedIn, "settings.platform.view")?;
    let vault = session.vault();
    if setting(vault, Setting::PlatformKey).is_some() && !vault.holds(vault::DataClass::Identifiers)
    {
        // A role without the secrets key sees where, not with what.
        return Ok(PlatformSettings {
            is_sandbox: false,
            key_hint: "sealed (for the roles that board)".into(),
            url: setting(vault, Setting::PlatformUrl)
                .unwrap_or_else(|| platform::SANDBOX_URL.into()),
            rate_per_second: write_rate(vault),
        });
    }
    let (config, rate) = platform_config(vault, Duration::from_secs(20))?;
    Ok(PlatformSettings {
        is_sandbox: config.base_url == platform::SANDBOX_URL
            && config.secret_key.as_str() == platform::SANDBOX_KEY,
        key_hint: key_hint(&config.secret_key),
        url: config.base_url,
        rate_per_second: rate,
    })
}

/// Use case (admin): point the app at a platform. Plain HTTP only for this machine (the
/// sandbox); the secret key is sealed in the vault and never shown again.
pub fn set_platform(slot: &mut SessionSlot, input: SetPlatformInput) -> Result<PlatformSettings> {
    // The session and role first, before any of the input is looked at.
    slot.require(Access::Admin, "settings.platform")?;
    let url = platform::parse_base_url(&input.url)
        .map_err(|p| Error::invalid_input("url", &p.to_string()))?;
    if !(1.0..=100.0).contains(&input.rate_per_second) {
        return Err(Error::invalid_input(
            "rate_per_second",
            "must be between 1 and 100 writes per second (Stripe: 100 live, 25 test mode)",
        ));
    }
    if let Some(key) = &input.secret_key {
        let k = key.trim();
        if platform::is_live_key(k) && !url.starts_with("https://") {
            return Err(Error::invalid_input(
                "url",
                &platform::UrlProblem::LiveKeyNeedsHttps.to_string(),
            ));
        }
        let shape = (k.starts_with("sk_") || k.starts_with("rk_"))
            && (12..=256).contains(&k.len())
            && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !shape {
            return Err(Error::invalid_input(
                "secret_key",
                "must be a secret or restricted key (sk_… or rk_…)",
            ));
        }
    }
    let session = slot.require(Access::Admin, "settings.platform")?;
    let vault = session.vault();
    let old_url =
        setting(vault, Setting::PlatformUrl).unwrap_or_else(|| platform::SANDBOX_URL.into());
    let old_rate = platform_config(vault, Duration::from_secs(1))?.1;
    let detail = format!(
        "url {old_url} -> {url}; rate {old_rate} -> {}{}",
        input.rate_per_second,
        if input.secret_key.is_some() {
            "; secret key replaced"
        } else {
            ""
        }
    );
    session.write(|w| {
        w.settings().set(Setting::PlatformUrl, &url)?;
        w.settings()
            .set(Setting::PlatformRate, &input.rate_per_second.to_string())?;
        if let Some(key) = &input.secret_key {
            let sealed = w
                .record_key(SETTINGS_RECORD)?
                .seal("platform_key", key.trim().as_bytes())?;
            w.settings().set(Setting::PlatformKey, &sealed.to_hex())?;
        }
        w.audit(
            "settings.change",
            Some("platform"),
            Outcome::Ok,
            Some(&detail),
        )
    })?;
    platform_settings(slot)
}

debug_redacting!(SetPlatformInput { url, rate_per_second } secret { secret_key });

/// What "test connection" found.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionTest {
    pub ok: bool,
    pub url: String,
    pub latency_ms: u64,
    pub message: String,
}

/// Use case (admin): one authenticated read against the platform.
pub async fn test_connection(slot: &Mutex<SessionSlot>) -> Result<ConnectionTest> {
    let config = {
        let mut slot = lock(slot);
        let session = slot.require(Access::Admin, "platform.test")?;
        platform_config(session.vault(), Duration::from_secs(10))?.0
    };
    let url = config.base_url.clone();
    let client = Client::new(config).map_err(|e| Error::internal(e.to_string()))?;
    let started = Instant::now();
    let outcome = client.send(&requests::ping(), None).await;
    let latency_ms = started.elapsed().as_millis() as u64;
    let (ok, message) = match outcome {
        Ok(_) => (true, "connected: the platform accepted the key".to_string()),
        Err(CallError::Unauthorized { .. }) => {
            (false, "the platform refused the secret key".into())
        }
        Err(CallError::Network { detail, .. }) => {
            (false, format!("cannot reach the platform: {detail}"))
        }
        Err(CallError::Retry { status, .. }) => {
            (false, format!("the platform is failing (HTTP {status})"))
        }
        Err(CallError::Rejected { status, .. }) => (
            false,
            format!("the platform refused the test request (HTTP {status})"),
        ),
    };
    let mut slot = lock(slot);
    if let Ok(session) = slot.require(Access::Admin, "platform.test") {
        let detail = if ok { "ok" } else { "failed" };
        session.audit("platform.test", Some(&url), Outcome::Ok, Some(detail))?;
    }
    Ok(ConnectionTest {
        ok,
        url,
        latency_ms,
        message,
    })
}

/// What the status bar shows about the platform.
#[derive(Debug, Clone, Serialize)]
pub struct PlatformStatus {
    /// The running worker's view; `None` when no worker runs (the CLI).
    pub health: Option<Health>,
    /// Who sends the outbox (this desk, another, none), as the running worker knows it.
    pub sender: Option<super::Sender>,
    /// Jobs waiting to be sent (queued or retrying).
    pub waiting: i64,
    /// Jobs stopped on a platform refusal.
    pub needs_fix: i64,
}

/// Use case: the status bar's platform line (any signed-in role). It polls, so it does not
/// count as activity.
pub fn platform_status(
    slot: &mut SessionSlot,
    worker: Option<super::WorkerState>,
) -> Result<PlatformStatus> {
    let session = slot.require_quietly(Access::SignedIn, "boarding.view")?;
    let counts = session.vault().job_counts()?;
    let (health, sender) = worker.map(|w| (w.health, w.sender)).unzip();
    Ok(PlatformStatus {
        health,
        sender,
        waiting: counts.queued + counts.retrying,
        needs_fix: counts.needs_fix,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_hints_show_mode_and_last_four_only() {
        assert_eq!(key_hint("sk_test_51Habcdefghijkl1234"), "sk_test_…1234");
        assert_eq!(key_hint("sk_live_xyz9876"), "sk_live_…9876");
    }
}
