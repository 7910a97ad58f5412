//! An application's legal name and DBA: sealed under its case key like every other part, and
//! searched through keyed word-prefix tokens (issue 17), so a store that holds them — a team's
//! PostgreSQL database, a copy of it — learns neither the names nor what a desk searched for.
//!
//! Each word of either name (lower-cased, split at anything that is not a letter or digit) gets
//! one token per prefix of 1 to [`MAX_PREFIX`] characters: HMAC-SHA256 under a key derived from
//! the first metadata generation (every role holds it, an auditor searches too, and it outlives
//! rotations), cut to 16 bytes. A search word of up to 8 characters is one token look-up; a
//! longer word looks up its first 8 and the desk compares the opened names. What the store can
//! still see —
//! which applications share a name prefix, and how often a desk searches one — is written down
//! in docs/adr/0001-team-store.md and docs/SECURITY.md.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::crypto::{self, Key};
use crate::keys::Keys;
use crate::seal::{RecordKey, Sealed};
use crate::{Result, VaultError};

/// The longest: a longer word is looked up by its first 8 characters, then compared.
pub const MAX_PREFIX: usize = 8;
/// The sealed field's name (case class).
pub(crate) const FIELD: &str = "names";

/// The two names, as sealed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Names {
    pub legal_name: String,
    pub dba: String,
}

impl Names {
    pub(crate) fn of(form: &domain::intake::ApplicationForm) -> Self {
        Names {
            legal_name: form.business.legal_name.clone(),
            dba: form.business.dba.clone(),
        }
    }

    pub(crate) fn seal(&self, key: &RecordKey) -> Result<Sealed> {
        let json = zeroize::Zeroizing::new(serde_json::to_vec(self).unwrap_or_default());
        key.seal(FIELD, &json)
    }

    pub(crate) fn open(key: &RecordKey, sealed: &Sealed) -> Result<Names> {
        serde_json::from_slice(&key.open(FIELD, sealed)?)
            .map_err(|_| VaultError::VaultDamaged("an application's names are not readable"))
    }
}

/// A free-text note kept in a text column (a decision's, a status change's, a disposition's):
/// `sealed:` and the hex of its sealed bytes under the application's case key, bound to
/// `field`. Text without the prefix was written by an earlier version (or is empty) and stands
/// as it is until the desk seals it at sign-in.
pub(crate) const SEALED_TEXT: &str = "sealed:";
/// The field a status change's note is sealed as.
pub(crate) const HISTORY_FIELD: &str = "history-note";

pub(crate) fn seal_text(key: &RecordKey, field: &str, text: &str) -> Result<String> {
    if text.is_empty() {
        return Ok(String::new());
    }
    Ok(format!(
        "{SEALED_TEXT}{}",
        key.seal(field, text.as_bytes())?.to_hex()
    ))
}

/// [`seal_text`] undone; `key` is `None` once the application's keys are shredded (erased),
/// when a sealed note reads as empty.
pub(crate) fn open_text(key: Option<&RecordKey>, field: &str, stored: String) -> Result<String> {
    let Some(hex) = stored.strip_prefix(SEALED_TEXT) else {
        return Ok(stored);
    };
    let Some(key) = key else {
        return Ok(String::new());
    };
    let sealed =
        Sealed::from_hex(hex).ok_or(VaultError::VaultDamaged("a sealed note is not hex"))?;
    String::from_utf8(key.open(field, &sealed)?.to_vec())
        .map_err(|_| VaultError::VaultDamaged("a sealed note is not text"))
}

/// The words a name is searched by.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// The first `n` characters of `word`.
fn prefix(word: &str, n: usize) -> &str {
    word.char_indices()
        .nth(n)
        .map_or(word, |(at, _)| &word[..at])
}

/// The key the tokens are made with.
pub(crate) fn token_key(keys: &Keys) -> Key {
    crypto::derive(keys.metadata(), b"boarding-desk/name-token/v1", b"")
}

pub(crate) type Token = [u8; 16];

fn token(key: &Key, prefix: &str) -> Token {
    let mac = crypto::hmac(key, &[prefix.as_bytes()]);
    let mut out = [0u8; 16];
    out.copy_from_slice(&mac[..16]);
    out
}

/// Every token of the two names (each once).
pub(crate) fn tokens(key: &Key, names: &Names) -> BTreeSet<Token> {
    let mut out = BTreeSet::new();
    for word in words(&names.legal_name).chain(words(&names.dba)) {
        let len = word.chars().count();
        for n in 1..=len.min(MAX_PREFIX) {
            out.insert(token(key, prefix(&word, n)));
        }
    }
    out
}

/// A name search: the tokens every match has, and the words the opened names are compared
/// with when the tokens alone do not decide.
#[derive(Debug, Clone)]
pub struct NameQuery {
    pub(crate) tokens: Vec<Token>,
    words: Vec<String>,
    /// The tokens decide (no word had more than 8 characters): no name needs opening.
    pub(crate) exact: bool,
    /// The first token is rare enough to drive the query (see [`NameQuery::plan`]).
    driven: bool,
}

/// A name search in SQL. `page` walks the list in its own order: a rare first token drives
/// (its few rows are the candidates, the other tokens probed per candidate); otherwise every
/// token is probed per row, which finds a page of a common word after a few dozen rows instead
/// of gathering all of its rows first. `count` walks the rarest token's rows (`name_tokens d`),
/// whatever the page's order, so counting "acme 5" reads the rows of "5", not every Acme.
pub(crate) struct NameClauses {
    pub(crate) page: String,
    count: String,
}

impl NameClauses {
    /// The count's `FROM` and `WHERE` (without the keyword), with `others` (the list's other
    /// conditions on `applications`, joined only when there are any: SQLite keeps a `CROSS
    /// JOIN`'s order).
    pub(crate) fn count(&self, others: &[String]) -> (&'static str, String) {
        if others.is_empty() {
            return ("name_tokens d", self.count.clone());
        }
        let mut all = vec![
            self.count.clone(),
            "applications.id = d.application_id".to_string(),
        ];
        all.extend(others.iter().cloned());
        ("name_tokens d CROSS JOIN applications", all.join(" AND "))
    }
}

/// A token with at most this many rows drives a search from its rows.
const RARE: i64 = 2_000;
/// Tokens are told apart by their counts up to this many rows (a word every row has, like a
/// company suffix, and a digit that a tenth of the rows have, are not the same).
const ORDER_CAP: i64 = 30_000;

impl NameQuery {
    /// `None` when `text` has no word.
    pub fn new(key: &Key, text: &str) -> Option<NameQuery> {
        let words: Vec<String> = words(text).collect();
        if words.is_empty() {
            return None;
        }
        let mut exact = true;
        let mut tokens = Vec::new();
        for word in &words {
            let len = word.chars().count();
            if len > MAX_PREFIX {
                exact = false;
            }
            let t = token(key, prefix(word, len.min(MAX_PREFIX)));
            if !tokens.contains(&t) {
                tokens.push(t);
            }
        }
        Some(NameQuery {
            tokens,
            words,
            exact,
            driven: false,
        })
    }

    /// Whether every word of the query starts a word of `legal_name` or `dba`.
    pub fn matches(&self, legal_name: &str, dba: &str) -> bool {
        let theirs: Vec<String> = words(legal_name).chain(words(dba)).collect();
        self.words
            .iter()
            .all(|q| theirs.iter().any(|w| w.starts_with(q.as_str())))
    }

    /// Puts the rarest token first, and notes whether it is rare ([`RARE`] rows or fewer, so
    /// [`NameQuery::clauses`] drives the page from its rows); each count is an index range that
    /// stops at [`ORDER_CAP`] + 1.
    pub(crate) fn plan(&mut self, db: &crate::sql::Db<'_>) -> Result<()> {
        let mut counts = Vec::with_capacity(self.tokens.len());
        for t in &self.tokens {
            let n: i64 = db
                .query_value(
                    "planning a name search",
                    "SELECT count(*) FROM (SELECT 1 FROM name_tokens WHERE token = ?1 LIMIT ?2) AS capped",
                    crate::args![t.as_slice(), ORDER_CAP + 1],
                )?
                .unwrap_or(0);
            counts.push(n);
        }
        if let Some((at, n)) = counts.iter().enumerate().min_by_key(|(_, n)| **n) {
            self.driven = *n <= RARE;
            self.tokens.swap(0, at);
        }
        Ok(())
    }

    /// The SQL conditions on `id_column` (qualified: it is read inside sub-selects), each
    /// token bound by `bind` (which returns the placeholder); see [`NameClauses`].
    pub(crate) fn clauses(
        &self,
        id_column: &str,
        mut bind: impl FnMut(Vec<u8>) -> String,
    ) -> NameClauses {
        let at: Vec<String> = self.tokens.iter().map(|t| bind(t.to_vec())).collect();
        let probe = |at: &str| {
            format!(
                "EXISTS (SELECT 1 FROM name_tokens t WHERE t.token = {at} \
                 AND t.application_id = {id_column})"
            )
        };
        let page = at
            .iter()
            .enumerate()
            .map(|(i, at)| {
                if i == 0 && self.driven {
                    format!(
                        "{id_column} IN (SELECT application_id FROM name_tokens WHERE token = {at})"
                    )
                } else {
                    probe(at)
                }
            })
            .collect::<Vec<_>>()
            .join(" AND ");
        let mut count = vec![format!("d.token = {}", at[0])];
        count.extend(at[1..].iter().map(|at| {
            format!(
                "EXISTS (SELECT 1 FROM name_tokens t WHERE t.token = {at} \
                 AND t.application_id = d.application_id)"
            )
        }));
        NameClauses {
            page,
            count: count.join(" AND "),
        }
    }
}

/// How many applications one unit of [`Vault::seal_clear_names`] seals.
const SEAL_BATCH: u32 = 500;

impl crate::Vault {
    /// Seals what an earlier version left in clear — legal names and DBAs (with their search
    /// tokens), the notes of decisions, status changes and dispositions — in units of
    /// [`SEAL_BATCH`] applications, each audited (`vault.names_sealed`) with how many it did.
    /// Returns how many applications it sealed (0 when nothing was left: a read only).
    pub fn seal_clear_names(&self, actor: &str, now: time::OffsetDateTime) -> Result<u64> {
        let mut done = 0u64;
        loop {
            let ids: Vec<String> = self.db().query_map(
                "finding names in clear",
                "SELECT id FROM applications WHERE names IS NULL AND erased_at IS NULL
                 ORDER BY id LIMIT ?1",
                crate::args![SEAL_BATCH],
                |r| r.get(0),
            )?;
            let texts = self.clear_notes(SEAL_BATCH)?;
            if ids.is_empty() && texts.is_empty() {
                return Ok(done);
            }
            let n = ids.len() as u64;
            self.write_at(now, |tx| {
                let token_key = token_key(&tx.keys());
                for id in &ids {
                    tx.seal_names_of(id, &token_key)?;
                }
                for (table, row, application_id, field, text) in &texts {
                    tx.seal_note(table, row, application_id, field, text)?;
                }
                let detail = format!(
                    "{} applications' names and {} notes sealed (written in clear by an earlier version)",
                    ids.len(),
                    texts.len()
                );
                tx.audit(&crate::audit::Event {
                    actor,
                    action: "vault.names_sealed",
                    target: None,
                    outcome: crate::audit::Outcome::Ok,
                    detail: Some(&detail),
                })
            })?;
            done += n;
        }
    }

    /// Up to `limit` notes of each kind still in clear: (table, row key, application, field,
    /// text).
    #[allow(clippy::type_complexity)]
    fn clear_notes(
        &self,
        limit: u32,
    ) -> Result<Vec<(&'static str, String, String, String, String)>> {
        let db = self.db();
        let mut out = Vec::new();
        // Each kind: its table, its row key (as text), the column, and the field it seals as.
        let kinds: [(&'static str, &str, &str); 3] = [
            ("decisions", "id", "note"),
            ("screening_hits", "id", "disposition_note"),
            ("application_history", "CAST(rowid AS TEXT)", "note"),
        ];
        for (table, key, column) in kinds {
            let rows: Vec<(String, String, String)> = db.query_map(
                "finding notes in clear",
                &format!(
                    "SELECT {key}, application_id, {column} FROM {table}
                     WHERE {column} IS NOT NULL AND {column} <> ''
                       AND substr({column}, 1, 7) <> 'sealed:'
                     LIMIT ?1"
                ),
                crate::args![limit],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            for (row, application_id, text) in rows {
                let field = match table {
                    "decisions" => format!("decision-note:{row}"),
                    "screening_hits" => format!("disposition-note:{row}"),
                    _ => HISTORY_FIELD.to_string(),
                };
                out.push((table, row, application_id, field, text));
            }
        }
        Ok(out)
    }
}

impl crate::Tx<'_> {
    /// Seals application `id`'s clear legal name and DBA, adds their tokens, blanks the columns.
    fn seal_names_of(&self, id: &str, token_key: &Key) -> Result<()> {
        let db = self.db();
        let names: Option<Names> = db.query_row(
            "sealing names",
            "SELECT legal_name, dba FROM applications WHERE id = ?1 AND names IS NULL",
            crate::args![id],
            |r| {
                Ok(Names {
                    legal_name: r.get(0)?,
                    dba: r.get(1)?,
                })
            },
        )?;
        let Some(names) = names else {
            return Ok(());
        };
        let key = self
            .existing_record_key(id)?
            .ok_or(VaultError::VaultDamaged(
                "an application without a record key",
            ))?;
        let sealed = names.seal(&key)?;
        db.execute(
            "sealing names",
            "UPDATE applications SET names = ?2, legal_name = '', legal_name_key = '', dba = '',
                 dba_key = '' WHERE id = ?1",
            crate::args![id, &sealed],
        )?;
        self.store_name_tokens(id, &tokens(token_key, &names))
    }

    fn seal_note(
        &self,
        table: &str,
        row: &str,
        application_id: &str,
        field: &str,
        text: &str,
    ) -> Result<()> {
        let key = self
            .existing_record_key(application_id)?
            .ok_or(VaultError::VaultDamaged(
                "an application without a record key",
            ))?;
        let sealed = seal_text(&key, field, text)?;
        // The history's row by its integer key (a text comparison would scan the table).
        let (column, key_column) = match table {
            "decisions" => ("note", "id"),
            "screening_hits" => ("disposition_note", "id"),
            _ => ("note", "rowid"),
        };
        let key_value = if key_column == "rowid" {
            "CAST(?1 AS BIGINT)"
        } else {
            "?1"
        };
        self.db().execute(
            "sealing notes",
            &format!("UPDATE {table} SET {column} = ?2 WHERE {key_column} = {key_value}"),
            crate::args![row, sealed],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Key {
        crypto::derive(&Key::random(), b"test", b"")
    }

    fn names(legal: &str, dba: &str) -> Names {
        Names {
            legal_name: legal.into(),
            dba: dba.into(),
        }
    }

    fn found(key: &Key, n: &Names, text: &str) -> bool {
        let q = NameQuery::new(key, text).unwrap();
        let tokens = tokens(key, n);
        q.tokens.iter().all(|t| tokens.contains(t)) && (q.exact || q.matches(&n.legal_name, &n.dba))
    }

    #[test]
    fn a_name_is_found_by_the_start_of_any_of_its_words_in_any_case() {
        let k = key();
        let n = names("Zyxwvut Quokka Holdings LLC", "Marzipanovich Bakery");
        for hit in [
            "zyx",
            "QUOKKA",
            "quok hold",
            "Holdings",
            "marzipanovich",
            "bakery llc",
            "llc q",
            "z",
            "m b",
        ] {
            assert!(found(&k, &n, hit), "{hit}");
        }
        for miss in ["okka", "quokkas", "marzipanovichi", "bakery inc", "xyz"] {
            assert!(!found(&k, &n, miss), "{miss}");
        }
    }

    #[test]
    fn words_over_eight_characters_are_compared_after_the_look_up() {
        let k = key();
        assert!(NameQuery::new(&k, "  - ").is_none());
        assert!(NameQuery::new(&k, "quokka ho").unwrap().exact);
        assert!(NameQuery::new(&k, "marzipan").unwrap().exact);
        assert!(!NameQuery::new(&k, "marzipanovich").unwrap().exact);
        assert_eq!(NameQuery::new(&k, "Ho ho HO").unwrap().tokens.len(), 1);
    }

    #[test]
    fn tokens_depend_on_the_key_and_never_hold_the_word() {
        let (a, b) = (key(), key());
        let n = names("Quokka", "");
        let ta = tokens(&a, &n);
        assert_eq!(ta.len(), 6, "q, qu, quo, quok, quokk, quokka");
        assert!(ta.is_disjoint(&tokens(&b, &n)));
        assert!(ta.iter().all(|t| !t.windows(3).any(|w| w == b"quo")));
        let long = tokens(&a, &names("Marzipanovich", ""));
        assert_eq!(long.len(), 8, "prefixes up to 8 characters");
    }
}
