//! The only module that touches raw primitives. Everything else uses these few opinionated
//! functions: XChaCha20-Poly1305 for sealing, argon2id for passwords, HKDF-SHA256 for derived
//! keys, HMAC-SHA256 for blind indexes and MACs.

use std::fmt;

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::{Result, VaultError};

pub const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
/// First byte of every sealed blob, so the format can change later.
const SEAL_VERSION: u8 = 1;

/// A 256-bit key. Zeroized on drop; `Debug` prints nothing secret.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct Key([u8; KEY_LEN]);

impl Key {
    pub fn random() -> Self {
        let mut bytes = [0u8; KEY_LEN];
        OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let array: [u8; KEY_LEN] = bytes.try_into().ok()?;
        Some(Self(array))
    }

    /// The raw bytes, for the few places that must hand them to a primitive or to SQLCipher.
    pub fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// Lower-case hex of the key, zeroized on drop (SQLCipher takes raw keys as hex).
    pub fn to_hex(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::with_capacity(KEY_LEN * 2));
        for b in self.0 {
            out.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
            out.push(char::from_digit(u32::from(b & 0xf), 16).unwrap_or('0'));
        }
        out
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(••••)")
    }
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

/// Encrypts and authenticates `plaintext`, binding it to `aad`. Output: version ‖ nonce ‖ ciphertext.
pub fn seal(key: &Key, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let cipher = XChaCha20Poly1305::new(key.expose().into());
    let nonce_bytes: [u8; NONCE_LEN] = random_bytes();
    let nonce = XNonce::from_slice(&nonce_bytes);
    // Encryption with a valid key and nonce cannot fail for in-memory buffers.
    let ciphertext = cipher
        .encrypt(
            nonce,
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .unwrap_or_default();
    let mut out = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
    out.push(SEAL_VERSION);
    out.extend_from_slice(&nonce_bytes);
    out.extend_from_slice(&ciphertext);
    out
}

/// Opens what [`seal`] produced. Fails (without saying why) on a wrong key, wrong `aad` or any
/// altered byte.
pub fn open(key: &Key, aad: &[u8], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if sealed.len() < 1 + NONCE_LEN + TAG_LEN || sealed[0] != SEAL_VERSION {
        return None;
    }
    let cipher = XChaCha20Poly1305::new(key.expose().into());
    let nonce = XNonce::from_slice(&sealed[1..1 + NONCE_LEN]);
    cipher
        .decrypt(
            nonce,
            Payload {
                msg: &sealed[1 + NONCE_LEN..],
                aad,
            },
        )
        .ok()
        .map(Zeroizing::new)
}

// ---- public-key wrapping and signatures (issue 16) --------------------------------------------

/// Bytes of an X25519 or Ed25519 public key.
pub const PUBLIC_LEN: usize = 32;
/// Bytes of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;

/// The X25519 public key of the secret `secret` (a class key or a member's wrapping key).
pub fn x25519_public(secret: &Key) -> [u8; PUBLIC_LEN] {
    let secret = crypto_box::SecretKey::from_bytes(*secret.expose());
    *secret.public_key().as_bytes()
}

/// Seals `plaintext` to an X25519 public key with an ephemeral sender key (libsodium's
/// `crypto_box_seal`): anyone can wrap to a member or a class, only its secret opens it.
pub fn seal_to(public: &[u8; PUBLIC_LEN], plaintext: &[u8]) -> Vec<u8> {
    crypto_box::PublicKey::from_bytes(*public)
        .seal(&mut OsRng, plaintext)
        .unwrap_or_default()
}

/// Opens what [`seal_to`] sealed to the public half of `secret`.
pub fn unseal(secret: &Key, sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    crypto_box::SecretKey::from_bytes(*secret.expose())
        .unseal(sealed)
        .ok()
        .map(Zeroizing::new)
}

/// The Ed25519 verifying key of the signing seed `seed`.
pub fn ed25519_public(seed: &Key) -> [u8; PUBLIC_LEN] {
    ed25519_dalek::SigningKey::from_bytes(seed.expose())
        .verifying_key()
        .to_bytes()
}

/// Signs `message` with the Ed25519 key whose seed is `seed`.
pub fn sign(seed: &Key, message: &[u8]) -> [u8; SIGNATURE_LEN] {
    use ed25519_dalek::Signer;
    ed25519_dalek::SigningKey::from_bytes(seed.expose())
        .sign(message)
        .to_bytes()
}

/// Whether `signature` is `public`'s signature of `message` (strict verification: no
/// malleable or small-order encodings).
pub fn verify(public: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let Ok(public) = <[u8; PUBLIC_LEN]>::try_from(public) else {
        return false;
    };
    let Ok(signature) = <[u8; SIGNATURE_LEN]>::try_from(signature) else {
        return false;
    };
    let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&public) else {
        return false;
    };
    key.verify_strict(message, &ed25519_dalek::Signature::from_bytes(&signature))
        .is_ok()
}

/// Bytes of the nonce prefix of a sealed stream (XChaCha20's 24 minus STREAM's 5-byte counter
/// and last-chunk flag).
pub const STREAM_NONCE_LEN: usize = 19;
/// The tag each chunk of a sealed stream adds.
pub const STREAM_TAG_LEN: usize = TAG_LEN;

/// Seals a long plaintext chunk by chunk (the STREAM construction, RustCrypto's `aead::stream`
/// with a 32-bit big-endian counter over XChaCha20-Poly1305): each chunk is authenticated with
/// its position and whether it is the last, so reordering, dropping, truncating or extending
/// the chunks is refused on opening. Memory: one chunk.
pub struct StreamSealer {
    inner: chacha20poly1305::aead::stream::EncryptorBE32<XChaCha20Poly1305>,
}

impl StreamSealer {
    /// A new stream under `key` with a random nonce prefix (store it beside the stream).
    pub fn new(key: &Key) -> (Self, [u8; STREAM_NONCE_LEN]) {
        let nonce: [u8; STREAM_NONCE_LEN] = random_bytes();
        let cipher = XChaCha20Poly1305::new(key.expose().into());
        let inner =
            chacha20poly1305::aead::stream::EncryptorBE32::from_aead(cipher, (&nonce).into());
        (Self { inner }, nonce)
    }

    /// Seals a chunk that is not the last.
    pub fn next(&mut self, aad: &[u8], chunk: &[u8]) -> Vec<u8> {
        // Fails only when the 32-bit counter is exhausted (2^32 chunks): callers cap the size.
        self.inner
            .encrypt_next(Payload { msg: chunk, aad })
            .unwrap_or_default()
    }

    /// Seals the last chunk and ends the stream.
    pub fn last(self, aad: &[u8], chunk: &[u8]) -> Vec<u8> {
        self.inner
            .encrypt_last(Payload { msg: chunk, aad })
            .unwrap_or_default()
    }
}

/// Opens what [`StreamSealer`] sealed, chunk by chunk; `None` for any chunk that does not
/// authenticate at its position (without saying why).
pub struct StreamOpener {
    inner: chacha20poly1305::aead::stream::DecryptorBE32<XChaCha20Poly1305>,
}

impl StreamOpener {
    pub fn new(key: &Key, nonce: &[u8; STREAM_NONCE_LEN]) -> Self {
        let cipher = XChaCha20Poly1305::new(key.expose().into());
        Self {
            inner: chacha20poly1305::aead::stream::DecryptorBE32::from_aead(cipher, nonce.into()),
        }
    }

    pub fn next(&mut self, aad: &[u8], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        self.inner
            .decrypt_next(Payload { msg: sealed, aad })
            .ok()
            .map(Zeroizing::new)
    }

    pub fn last(self, aad: &[u8], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        self.inner
            .decrypt_last(Payload { msg: sealed, aad })
            .ok()
            .map(Zeroizing::new)
    }
}

/// HKDF-SHA256: a key for one purpose (`info`) derived from `ikm`.
pub fn derive(ikm: &Key, salt: &[u8], info: &[u8]) -> Key {
    let hk = Hkdf::<Sha256>::new(Some(salt), ikm.expose());
    let mut out = [0u8; KEY_LEN];
    // 32 bytes is far below HKDF-SHA256's output limit, so expand cannot fail.
    let _ = hk.expand(info, &mut out);
    Key(out)
}

pub fn hmac(key: &Key, parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.expose())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    for part in parts {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Constant-time check of an HMAC computed by [`hmac`].
pub fn hmac_verify(key: &Key, parts: &[&[u8]], expected: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    hmac(key, parts).ct_eq(expected).into()
}

pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for part in parts {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.finalize().into()
}

/// argon2id cost parameters, stored beside every key they protect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Iterations.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl KdfParams {
    /// OWASP's baseline for argon2id: 19 MiB, 2 iterations, 1 lane. Nothing weaker is accepted.
    pub const MINIMUM: KdfParams = KdfParams {
        m_kib: 19 * 1024,
        t: 2,
        p: 1,
    };
    /// What new keys get: RFC 9106's second recommendation (64 MiB, 3 passes, 1 lane); unlock
    /// stays well under 500 ms on a 2-core machine (docs/BENCHMARKS.md).
    pub const DEFAULT: KdfParams = KdfParams {
        m_kib: 64 * 1024,
        t: 3,
        p: 1,
    };
    /// The most a keyring may ask for: 1 GiB, 16 passes, 8 lanes (16 times the default's memory).
    /// Anything above is an edited keyring making every sign-in allocate gigabytes: refused
    /// before argon2id runs.
    pub const MAXIMUM: KdfParams = KdfParams {
        m_kib: 1024 * 1024,
        t: 16,
        p: 8,
    };

    /// Refuses parameters under the minimum (a downgraded keyring) or absurdly high (a DoS).
    pub fn check(&self) -> Result<()> {
        let min = Self::MINIMUM;
        let max = Self::MAXIMUM;
        if self.m_kib < min.m_kib || self.t < min.t || self.p < min.p {
            return Err(VaultError::WeakKdf);
        }
        if self.m_kib > max.m_kib || self.t > max.t || self.p > max.p {
            return Err(VaultError::KeyringDamaged(
                "key derivation parameters are out of range",
            ));
        }
        Ok(())
    }
}

/// Derives a key-encryption key from a password with argon2id.
pub fn password_kek(password: &[u8], salt: &[u8], params: KdfParams) -> Result<Key> {
    params.check()?;
    let params = Params::new(params.m_kib, params.t, params.p, Some(KEY_LEN))
        .map_err(|_| VaultError::KeyringDamaged("key derivation parameters are invalid"))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let mut out = [0u8; KEY_LEN];
    argon
        .hash_password_into(password, salt, &mut out)
        .map_err(|_| VaultError::KeyringDamaged("key derivation failed"))?;
    Ok(Key(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_binding_to_aad() {
        let key = Key::random();
        let sealed = seal(&key, b"record-1|tin", b"12-3456789");
        assert_eq!(
            open(&key, b"record-1|tin", &sealed).unwrap().as_slice(),
            b"12-3456789"
        );
        assert!(
            open(&key, b"record-2|tin", &sealed).is_none(),
            "aad binds the record"
        );
        assert!(
            open(&Key::random(), b"record-1|tin", &sealed).is_none(),
            "wrong key fails"
        );
        let mut flipped = sealed.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(
            open(&key, b"record-1|tin", &flipped).is_none(),
            "tampering fails"
        );
        assert!(
            open(&key, b"record-1|tin", &sealed[..10]).is_none(),
            "truncation fails"
        );
    }

    #[test]
    fn a_sealed_stream_opens_in_order_and_refuses_reordered_dropped_or_truncated_chunks() {
        let key = Key::random();
        let (mut sealer, nonce) = StreamSealer::new(&key);
        let a = sealer.next(b"hdr", b"first");
        let b = sealer.next(b"hdr", b"second");
        let c = sealer.last(b"hdr", b"third");
        let mut opener = StreamOpener::new(&key, &nonce);
        assert_eq!(opener.next(b"hdr", &a).unwrap().as_slice(), b"first");
        assert_eq!(opener.next(b"hdr", &b).unwrap().as_slice(), b"second");
        assert_eq!(opener.last(b"hdr", &c).unwrap().as_slice(), b"third");

        let mut swapped = StreamOpener::new(&key, &nonce);
        assert!(swapped.next(b"hdr", &b).is_none(), "reordered");
        let mut cut = StreamOpener::new(&key, &nonce);
        cut.next(b"hdr", &a).unwrap();
        assert!(
            cut.last(b"hdr", &b).is_none(),
            "truncated: the last chunk is missing"
        );
        let mut header = StreamOpener::new(&key, &nonce);
        assert!(
            header.next(b"HDR", &a).is_none(),
            "bound to its associated data"
        );
    }

    #[test]
    fn sealing_twice_gives_different_ciphertexts() {
        let key = Key::random();
        assert_ne!(
            seal(&key, b"", b"x"),
            seal(&key, b"", b"x"),
            "random nonces"
        );
    }

    #[test]
    fn kdf_minimums_are_enforced() {
        let weak = KdfParams {
            m_kib: 8 * 1024,
            t: 2,
            p: 1,
        };
        assert!(matches!(
            password_kek(b"pw", &[0; 16], weak),
            Err(VaultError::WeakKdf)
        ));
        let one_pass = KdfParams {
            t: 1,
            ..KdfParams::MINIMUM
        };
        assert!(matches!(one_pass.check(), Err(VaultError::WeakKdf)));
        assert!(KdfParams::DEFAULT.check().is_ok());
        assert!(KdfParams::MAXIMUM.check().is_ok());
        for too_much in [
            KdfParams {
                m_kib: 4 * 1024 * 1024,
                ..KdfParams::DEFAULT
            },
            KdfParams {
                t: 17,
                ..KdfParams::DEFAULT
            },
            KdfParams {
                p: 9,
                ..KdfParams::DEFAULT
            },
        ] {
            assert!(
                matches!(too_much.check(), Err(VaultError::KeyringDamaged(_))),
                "{too_much:?} is refused before argon2id runs"
            );
        }
    }

    #[test]
    fn password_kek_is_deterministic_per_salt() {
        let p = KdfParams::MINIMUM;
        let a = password_kek(b"correct horse", &[1; 16], p).unwrap();
        assert_eq!(a, password_kek(b"correct horse", &[1; 16], p).unwrap());
        assert_ne!(
            a,
            password_kek(b"correct horse", &[2; 16], p).unwrap(),
            "salt matters"
        );
        assert_ne!(a, password_kek(b"correct horsf", &[1; 16], p).unwrap());
    }

    #[test]
    fn key_debug_and_hex_do_not_leak_in_debug() {
        let key = Key::from_bytes([0xab; 32]);
        assert_eq!(format!("{key:?}"), "Key(••••)");
        assert_eq!(key.to_hex().as_str(), "ab".repeat(32));
    }
}
