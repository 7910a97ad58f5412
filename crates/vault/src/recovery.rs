//! The recovery key: 256 random bits shown once at vault creation as base32 groups.

use std::fmt;

use crate::crypto::{Key, KEY_LEN};
use crate::{Result, VaultError};

pub struct RecoveryKey(Key);

impl RecoveryKey {
    pub fn generate() -> Self {
        Self(Key::random())
    }

    /// Parses what a person typed back: case, spaces and dashes do not matter. Shares of a
    /// split key ([`RecoveryKey::split`]) are typed one per line (or separated by commas):
    /// enough of them give the key back.
    pub fn parse(text: &str) -> Result<Self> {
        // The whole text as one key first (written down or pasted across lines).
        if let Ok(bytes) = data_encoding::BASE32_NOPAD.decode(clean(text).as_bytes()) {
            let bytes = zeroize::Zeroizing::new(bytes);
            if let Some(key) = Key::from_slice(&bytes) {
                return Ok(Self(key));
            }
        }
        let parts = text
            .split(['\n', ',', ';'])
            .map(clean)
            .filter(|p| !p.is_empty())
            .map(|p| {
                data_encoding::BASE32_NOPAD
                    .decode(p.as_bytes())
                    .map(zeroize::Zeroizing::new)
                    .map_err(|_| VaultError::invalid("recovery key", "is not a valid recovery key"))
            })
            .collect::<Result<Vec<_>>>()?;
        match parts.as_slice() {
            [one] if one.len() == KEY_LEN => Key::from_slice(one)
                .map(Self)
                .ok_or(VaultError::invalid("recovery key", "has the wrong length")),
            shares if !shares.is_empty() && shares.iter().all(|s| s.len() == SHARE_LEN) => {
                combine(shares)
            }
            _ => Err(VaultError::invalid("recovery key", "has the wrong length")),
        }
    }

    /// Splits the key into `count` shares of which any `threshold` give it back (Shamir, over
    /// GF(256)); fewer tell nothing about it. Each share, as written down, carries the threshold.
    pub fn split(&self, threshold: u8, count: u8) -> Result<Vec<String>> {
        if threshold < 2 || count < threshold || count > MAX_SHARES {
            return Err(VaultError::invalid(
                "split",
                format!("must be M of N with 2 <= M <= N <= {MAX_SHARES}"),
            ));
        }
        Ok(blahaj::Sharks(threshold)
            .dealer(self.0.expose())
            .take(usize::from(count))
            .map(|share| {
                let mut bytes = zeroize::Zeroizing::new(vec![threshold]);
                bytes.extend(Vec::from(&share));
                groups(&bytes)
            })
            .collect())
    }

    pub(crate) fn key(&self) -> &Key {
        &self.0
    }

    /// Groups of four base32 characters, to write down once.
    pub fn display(&self) -> String {
        groups(self.0.expose())
    }
}

/// Bytes of a share as written down: the threshold, the share's x, the key's 32 bytes at x.
const SHARE_LEN: usize = 2 + KEY_LEN;
/// Shares one split hands out at most.
pub const MAX_SHARES: u8 = 16;

fn clean(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn groups(bytes: &[u8]) -> String {
    let text = data_encoding::BASE32_NOPAD.encode(bytes);
    text.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// The key from shares of one split: all with the same threshold, at least that many distinct.
fn combine(shares: &[zeroize::Zeroizing<Vec<u8>>]) -> Result<RecoveryKey> {
    let threshold = shares[0][0];
    if shares.iter().any(|s| s[0] != threshold) || threshold < 2 {
        return Err(VaultError::invalid(
            "recovery key",
            "holds shares of different splits",
        ));
    }
    // One share per x: the same share typed twice would cancel itself out in GF(256).
    let mut seen = std::collections::BTreeSet::new();
    let parsed = shares
        .iter()
        .filter(|s| seen.insert(s[1]))
        .map(|s| blahaj::Share::try_from(&s[1..]))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| VaultError::invalid("recovery key", "is not a valid recovery key"))?;
    let distinct = seen;
    if distinct.len() < usize::from(threshold) {
        return Err(VaultError::invalid(
            "recovery key",
            format!(
                "needs {threshold} different shares of the split; {} given",
                distinct.len()
            ),
        ));
    }
    let secret = zeroize::Zeroizing::new(
        blahaj::Sharks(threshold)
            .recover(parsed.iter())
            .map_err(|_| VaultError::invalid("recovery key", "is not a valid set of shares"))?,
    );
    Key::from_slice(&secret)
        .map(RecoveryKey)
        .ok_or(VaultError::invalid("recovery key", "has the wrong length"))
}

impl fmt::Debug for RecoveryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryKey(••••)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_parses_back_with_any_case_and_spacing() {
        let key = RecoveryKey::generate();
        let shown = key.display();
        assert_eq!(
            shown.split('-').count(),
            13,
            "52 base32 characters in groups of 4"
        );
        let typed = shown.to_lowercase().replace('-', " ");
        assert_eq!(RecoveryKey::parse(&typed).unwrap().key(), key.key());
        // Written down on two lines.
        let (a, b) = shown.split_at(30);
        assert_eq!(
            RecoveryKey::parse(&format!("{a}\n{b}")).unwrap().key(),
            key.key()
        );
    }

    #[test]
    fn any_m_of_n_shares_give_the_key_back_and_fewer_are_refused_without_echoing_them() {
        let key = RecoveryKey::generate();
        let shares = key.split(3, 5).unwrap();
        assert_eq!(shares.len(), 5);
        assert!(shares.iter().all(|s| s != &key.display()));
        for pick in [[0, 1, 2], [4, 2, 0], [1, 3, 4]] {
            let typed: Vec<&str> = pick.iter().map(|&i| shares[i].as_str()).collect();
            let back = RecoveryKey::parse(&typed.join("\n").to_lowercase()).unwrap();
            assert_eq!(back.key(), key.key(), "{pick:?}");
        }
        // A share typed twice beside enough others still gives the key.
        let twice = format!("{}\n{}\n{}\n{}", shares[0], shares[1], shares[1], shares[3]);
        assert_eq!(RecoveryKey::parse(&twice).unwrap().key(), key.key());
        // Commas work as well as lines; a share repeated is still one share.
        let two = format!("{}, {}, {}", shares[0], shares[1], shares[1]);
        let err = RecoveryKey::parse(&two).unwrap_err().to_string();
        assert!(
            err.contains("needs 3 different shares of the split; 2 given"),
            "{err}"
        );
        assert!(!err.contains(&shares[0][..8]));
        // Shares of another split of the same size do not combine with these into this key.
        let other = RecoveryKey::generate().split(3, 5).unwrap();
        let mixed = format!("{}\n{}\n{}", shares[0], shares[1], other[2]);
        let mixed = RecoveryKey::parse(&mixed).unwrap();
        assert_ne!(mixed.key(), key.key());
        // Out of range.
        for (m, n) in [(1, 3), (4, 3), (2, 17)] {
            assert!(key.split(m, n).is_err(), "{m} of {n}");
        }
    }

    #[test]
    fn rejects_garbage_without_echoing_it() {
        let err = RecoveryKey::parse("not-a-key-0189").unwrap_err();
        assert!(!err.to_string().contains("0189"));
    }
}
