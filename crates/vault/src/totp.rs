//! RFC 6238 TOTP (SHA-1, 6 digits, 30 s) with ±1 step of drift and no replay.

use std::fmt;

use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::crypto;

const ISSUER: &str = "Boarding Desk";
const STEP: u64 = 30;
const SECRET_LEN: usize = 20;

#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn generate() -> Self {
        Self(crypto::random_bytes::<SECRET_LEN>().to_vec())
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The secret as an enrolment shows it (base32, spaces allowed).
    pub fn from_base32(text: &str) -> Option<Self> {
        let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        data_encoding::BASE32_NOPAD
            .decode(clean.as_bytes())
            .ok()
            .map(Self)
    }

    /// The raw secret, to seal it into the vault.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    fn totp(&self, account: &str) -> Option<TOTP> {
        TOTP::new(
            Algorithm::SHA1,
            6,
            1,
            STEP,
            self.0.clone(),
            Some(ISSUER.to_string()),
            account.to_string(),
        )
        .ok()
    }

    /// The code for a moment (tests and enrolment checks).
    pub fn code_at(&self, unix: u64) -> String {
        self.totp("x").map(|t| t.generate(unix)).unwrap_or_default()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("totp::Secret(••••)")
    }
}

/// What an authenticator app needs: shown once at enrolment.
#[derive(Clone, serde::Serialize, ts_rs::TS)]
pub struct Enrolment {
    /// Base32 secret, for typing in by hand.
    pub secret: String,
    pub otpauth_url: String,
    /// The URL as a QR code (SVG markup).
    pub qr_svg: String,
}

/// The secret, its URL and its QR code all carry the authenticator's key: none prints.
impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enrolment")
            .field("secret", &"[redacted]")
            .field("otpauth_url", &"[redacted]")
            .field("qr_svg", &"[redacted]")
            .finish()
    }
}

pub fn enrolment(secret: &Secret, account: &str) -> Enrolment {
    let totp = secret.totp(account);
    let otpauth_url = totp.as_ref().map(TOTP::get_url).unwrap_or_default();
    let qr_svg = qrcode::QrCode::new(otpauth_url.as_bytes())
        .map(|code| {
            code.render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(200, 200)
                .quiet_zone(true)
                .build()
        })
        .unwrap_or_default();
    Enrolment {
        secret: data_encoding::BASE32_NOPAD.encode(secret.expose()),
        otpauth_url,
        qr_svg,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    Malformed,
    Wrong,
    Replayed,
}

/// Checks `code` at `unix` time, allowing one step either side. Returns the matched time step,
/// which the caller stores; a code whose step is not after `last_step` is a replay.
pub fn verify(
    secret: &Secret,
    code: &str,
    unix: u64,
    last_step: Option<i64>,
) -> Result<i64, Rejected> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return Err(Rejected::Malformed);
    }
    let now_step = (unix / STEP) as i64;
    let mut matched = None;
    for step in [now_step - 1, now_step, now_step + 1] {
        let expected = secret.code_at((step.max(0) as u64) * STEP);
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
            matched = Some(step);
        }
    }
    let step = matched.ok_or(Rejected::Wrong)?;
    if last_step.is_some_and(|last| step <= last) {
        return Err(Rejected::Replayed);
    }
    Ok(step)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 1_800_000_000;

    #[test]
    fn accepts_current_and_adjacent_steps_only() {
        let s = Secret::generate();
        assert!(verify(&s, &s.code_at(T), T, None).is_ok());
        assert!(
            verify(&s, &s.code_at(T - 30), T, None).is_ok(),
            "one step late is drift"
        );
        assert!(
            verify(&s, &s.code_at(T + 30), T, None).is_ok(),
            "one step early is drift"
        );
        assert_eq!(
            verify(&s, &s.code_at(T - 90), T, None),
            Err(Rejected::Wrong)
        );
    }

    #[test]
    fn a_code_cannot_be_used_twice() {
        let s = Secret::generate();
        let code = s.code_at(T);
        let step = verify(&s, &code, T, None).unwrap();
        assert_eq!(
            verify(&s, &code, T + 5, Some(step)),
            Err(Rejected::Replayed)
        );
        assert_eq!(
            verify(&s, &s.code_at(T - 30), T, Some(step)),
            Err(Rejected::Replayed),
            "an older code is a replay too"
        );
        assert!(verify(&s, &s.code_at(T + 30), T + 30, Some(step)).is_ok());
    }

    #[test]
    fn rejects_malformed_codes() {
        let s = Secret::generate();
        assert_eq!(verify(&s, "12345", T, None), Err(Rejected::Malformed));
        assert_eq!(verify(&s, "12a456", T, None), Err(Rejected::Malformed));
        let spaced = s.code_at(T);
        let spaced = format!("{} {}", &spaced[..3], &spaced[3..]);
        assert!(verify(&s, &spaced, T, None).is_ok(), "spaces are ignored");
    }

    #[test]
    fn enrolment_has_url_secret_and_qr() {
        let s = Secret::generate();
        let e = enrolment(&s, "alice");
        assert!(
            e.otpauth_url.starts_with("otpauth://totp/"),
            "{}",
            e.otpauth_url
        );
        assert!(
            e.otpauth_url.contains("issuer=Boarding%20Desk"),
            "{}",
            e.otpauth_url
        );
        assert_eq!(
            data_encoding::BASE32_NOPAD
                .decode(e.secret.as_bytes())
                .unwrap(),
            s.expose()
        );
        assert!(e.qr_svg.contains("<svg"), "QR code is SVG");
    }
}
