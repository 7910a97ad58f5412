//! Sanctions list versions and screening hits in the vault.
//!
//! The vault does not parse lists or score names (the screening crate does); it keeps versions
//! (one active per source, switched in the same transaction that stores the new one, so a failed
//! import leaves the previous version active) and each application's hits with their
//! dispositions. A hit's explanation holds the applicant's name tokens, so it is sealed with the
//! application's record key.

use crate::applications::names::{open_text, seal_text};
use serde::Serialize;

use crate::seal::Sealed;
use crate::{args, Result, Tx, Vault, VaultError};

pub struct NewList<'a> {
    pub id: &'a str,
    pub source: &'a str,
    pub actor: &'a str,
    pub now_ms: i64,
    pub entry_count: i64,
    pub name_count: i64,
    /// JSON: the files read, with their hashes.
    pub files_json: &'a str,
    /// (uid, JSON of the parsed entry)
    pub entries: &'a [(String, String)],
    /// Make it the active version of its source now (else it waits, inactive, for
    /// [`Vault::activate_list`]).
    pub activate: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListVersion {
    pub id: String,
    pub source: String,
    pub imported_at: i64,
    pub imported_by: String,
    pub entry_count: i64,
    pub name_count: i64,
    pub files: serde_json::Value,
    pub active: bool,
}

pub struct NewHit<'a> {
    pub id: &'a str,
    pub subject: &'a str,
    pub subject_key: &'a str,
    pub list_uid: &'a str,
    pub fingerprint: &'a str,
    pub score: f64,
    pub detail_json: &'a str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredHit {
    pub id: String,
    pub application_id: String,
    pub subject: String,
    pub list_uid: String,
    pub score: f64,
    /// The screening crate's explanation (matched name, alignment, adjustments), opened.
    pub detail: serde_json::Value,
    pub screened_at: i64,
    pub disposition: Option<String>,
    pub disposition_note: Option<String>,
    pub disposed_by: Option<String>,
    pub disposed_at: Option<i64>,
    /// The list entry the hit names, as the list publishes it (names, dates and places of
    /// birth, programs, identifiers, remarks), when a stored list version still has it. Filled
    /// by the api for the screens and reports; `None` from the vault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<serde_json::Value>,
}

/// What one screening run changed for an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ScreeningOutcome {
    /// Hits never seen before for this application.
    pub new_hits: usize,
    /// Hits without a disposition after this run.
    pub open_hits: i64,
    /// Matches already dispositioned as false positives (same entity, same list entry).
    pub suppressed: usize,
}

fn hit_field(id: &str) -> String {
    format!("hit:{id}")
}

/// The field a disposition's note is sealed as.
fn disposition_field(id: &str) -> String {
    format!("disposition-note:{id}")
}

impl Vault {
    pub fn list_versions(&self) -> Result<Vec<ListVersion>> {
        self.db().query_map(
            "reading sanctions lists",
            "SELECT id, source, imported_at, imported_by, entry_count, name_count, files,
                 active FROM sanctions_lists ORDER BY imported_at DESC, id",
            &[],
            |r| {
                let files: String = r.get(6)?;
                Ok(ListVersion {
                    id: r.get(0)?,
                    source: r.get(1)?,
                    imported_at: r.get(2)?,
                    imported_by: r.get(3)?,
                    entry_count: r.get(4)?,
                    name_count: r.get(5)?,
                    files: serde_json::from_str(&files).unwrap_or(serde_json::Value::Null),
                    active: r.get::<i64>(7)? == 1,
                })
            },
        )
    }

    /// The JSON body of the list entry `uid` (`sdn:10278`), from the active version of its
    /// list, else the newest version that has it.
    pub fn list_entry(&self, uid: &str) -> Result<Option<String>> {
        self.db().query_value(
            "reading a sanctions entry",
            "SELECT e.body FROM sanctions_lists l
             JOIN sanctions_entries e ON e.list_id = l.id AND e.uid = ?1
             ORDER BY l.active DESC, l.imported_at DESC LIMIT 1",
            args![uid],
        )
    }

    /// The JSON bodies of a list version's entries.
    pub fn list_entries(&self, list_id: &str) -> Result<Vec<String>> {
        self.db().query_map(
            "reading sanctions entries",
            "SELECT body FROM sanctions_entries WHERE list_id = ?1",
            args![list_id],
            |r| r.get(0),
        )
    }

    pub fn screening_hits(&self, application_id: &str) -> Result<Vec<StoredHit>> {
        let Some(key) = self.existing_record_key(application_id)? else {
            return Ok(Vec::new());
        };
        let rows = self.db().query_map(
            "reading screening hits",
            "SELECT id, application_id, subject, list_uid, score, detail, screened_at,
                 disposition, disposition_note, disposed_by, disposed_at
             FROM screening_hits WHERE application_id = ?1 ORDER BY score DESC, id",
            args![application_id],
            |r| {
                Ok((
                    StoredHit {
                        id: r.get(0)?,
                        application_id: r.get(1)?,
                        subject: r.get(2)?,
                        list_uid: r.get(3)?,
                        score: r.get(4)?,
                        detail: serde_json::Value::Null,
                        screened_at: r.get(6)?,
                        disposition: r.get(7)?,
                        disposition_note: r.get(8)?,
                        disposed_by: r.get(9)?,
                        disposed_at: r.get(10)?,
                        entry: None,
                    },
                    r.get::<Sealed>(5)?,
                ))
            },
        )?;
        rows.into_iter()
            .map(|(mut hit, sealed)| {
                let opened = key.open(&hit_field(&hit.id), &sealed)?;
                if let Some(note) = hit.disposition_note.take() {
                    hit.disposition_note =
                        Some(open_text(Some(&key), &disposition_field(&hit.id), note)?);
                }
                hit.detail = serde_json::from_slice(&opened).map_err(|_| {
                    VaultError::VaultDamaged("a screening hit's explanation is not readable")
                })?;
                Ok(hit)
            })
            .collect()
    }

    /// The sanctions hard stop, checked where it cannot be forgotten: `Ok` only when the
    /// application has no hit without a disposition and none confirmed as a true match.
    /// Approval, the boarding job's birth and its every resumption call it.
    pub fn sanctions_clear(&self, application_id: &str) -> Result<()> {
        let (open, confirmed): (i64, i64) = self
            .db()
            .query_row(
                "checking sanctions hits",
                "SELECT count(CASE WHEN disposition IS NULL THEN 1 END),
                        count(CASE WHEN disposition = 'true_match' THEN 1 END)
                 FROM screening_hits WHERE application_id = ?1",
                args![application_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?
            .ok_or(VaultError::NotFound("screening hit counts"))?;
        if confirmed > 0 {
            return Err(VaultError::SanctionsMatch);
        }
        if open > 0 {
            return Err(VaultError::SanctionsHitsOpen(
                u32::try_from(open).unwrap_or(u32::MAX),
            ));
        }
        Ok(())
    }

    /// Every application with a hit confirmed as a true match, oldest confirmation first.
    pub fn applications_with_confirmed_matches(&self) -> Result<Vec<String>> {
        self.db().query_map(
            "finding confirmed matches",
            "SELECT application_id FROM screening_hits WHERE disposition = 'true_match'
             GROUP BY application_id ORDER BY min(disposed_at), application_id",
            &[],
            |r| r.get(0),
        )
    }

    /// Up to `limit` applications, after `after_id`, that are still in play (not declined or
    /// withdrawn) and were not screened against `screened_with`: what a re-screen works through.
    pub fn applications_to_screen(
        &self,
        screened_with: &str,
        after_id: &str,
        limit: u32,
    ) -> Result<Vec<String>> {
        self.db().query_map(
            "finding applications to screen",
            "SELECT id FROM applications
             WHERE id > ?1 AND status NOT IN ('declined', 'withdrawn') AND erased_at IS NULL
               AND (screened_with IS NULL OR screened_with <> ?2)
             ORDER BY id LIMIT ?3",
            args![after_id, screened_with, limit],
            |r| r.get(0),
        )
    }

    /// How many applications are still in play and not screened against `screened_with`.
    pub fn count_to_screen(&self, screened_with: &str) -> Result<i64> {
        Ok(self
            .db()
            .query_value::<i64>(
                "counting applications to screen",
                "SELECT count(*) FROM applications
                 WHERE status NOT IN ('declined', 'withdrawn') AND erased_at IS NULL
                   AND (screened_with IS NULL OR screened_with <> ?1)",
                args![screened_with],
            )?
            .unwrap_or(0))
    }
}

/// Changes: only inside a unit of work ([`Vault::write`]).
impl Tx<'_> {
    /// Stores a list version and makes it the active one of its source, in one transaction.
    pub fn store_list(&self, list: &NewList<'_>) -> Result<()> {
        let tx = self.part()?;
        let db = self.db();
        db.execute(
            "storing a sanctions list",
            "INSERT INTO sanctions_lists (id, source, imported_at, imported_by, entry_count,
                 name_count, files, active) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0)",
            args![
                list.id,
                list.source,
                list.now_ms,
                list.actor,
                list.entry_count,
                list.name_count,
                list.files_json
            ],
        )?;
        // One statement, prepared once (the layer caches it), run for every entry.
        for (uid, body) in list.entries {
            db.execute(
                "storing sanctions entries",
                "INSERT INTO sanctions_entries (list_id, uid, body) VALUES (?1, ?2, ?3)",
                args![list.id, uid, body],
            )?;
        }
        if list.activate {
            self.switch_active_list(list.source, list.id)?;
        }
        tx.commit()
    }
    fn switch_active_list(&self, source: &str, id: &str) -> Result<()> {
        let db = self.db();
        db.execute(
            "activating a sanctions list",
            "UPDATE sanctions_lists SET active = 0 WHERE source = ?1 AND active = 1",
            args![source],
        )
        .and_then(|_| {
            db.execute(
                "activating a sanctions list",
                "UPDATE sanctions_lists SET active = 1 WHERE id = ?1 AND source = ?2",
                args![id, source],
            )
        })
        .and_then(|n| {
            if n == 1 {
                Ok(())
            } else {
                Err(VaultError::NotFound("sanctions list version"))
            }
        })
    }
    fn record_screening_inner(
        &self,
        application_id: &str,
        screened_with: &str,
        now_ms: i64,
        hits: &[NewHit<'_>],
    ) -> Result<ScreeningOutcome> {
        let db = self.db();
        let key = self
            .existing_record_key(application_id)?
            .ok_or(VaultError::NotFound("application"))?;
        let mut outcome = ScreeningOutcome {
            new_hits: 0,
            open_hits: 0,
            suppressed: 0,
        };
        let mut kept: Vec<String> = Vec::with_capacity(hits.len());
        for hit in hits {
            let existing: Option<(String, Option<String>)> = db.query_row(
                "reading screening hits",
                "SELECT id, disposition FROM screening_hits WHERE application_id = ?1
                 AND subject_key = ?2 AND list_uid = ?3 AND fingerprint = ?4",
                args![
                    application_id,
                    hit.subject_key,
                    hit.list_uid,
                    hit.fingerprint
                ],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            match existing {
                Some((_, Some(d))) if d == "false_positive" => outcome.suppressed += 1,
                Some((id, disposition)) => {
                    let sealed = key.seal(&hit_field(&id), hit.detail_json.as_bytes())?;
                    db.execute(
                        "updating a screening hit",
                        "UPDATE screening_hits SET subject = ?2, score = ?3, detail = ?4,
                             screened_with = ?5, screened_at = ?6 WHERE id = ?1",
                        args![&id, hit.subject, hit.score, &sealed, screened_with, now_ms],
                    )?;
                    if disposition.is_none() {
                        kept.push(id);
                    }
                }
                None => {
                    let sealed = key.seal(&hit_field(hit.id), hit.detail_json.as_bytes())?;
                    db.execute(
                        "storing a screening hit",
                        "INSERT INTO screening_hits (id, application_id, subject, subject_key,
                             list_uid, fingerprint, score, detail, screened_with, screened_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                        args![
                            hit.id,
                            application_id,
                            hit.subject,
                            hit.subject_key,
                            hit.list_uid,
                            hit.fingerprint,
                            hit.score,
                            &sealed,
                            screened_with,
                            now_ms
                        ],
                    )?;
                    outcome.new_hits += 1;
                    kept.push(hit.id.to_string());
                }
            }
        }
        // Open hits this run did not find again no longer apply.
        let open: Vec<String> = db.query_map(
            "reading screening hits",
            "SELECT id FROM screening_hits WHERE application_id = ?1 AND disposition IS NULL",
            args![application_id],
            |r| r.get(0),
        )?;
        for id in open.iter().filter(|id| !kept.contains(id)) {
            db.execute(
                "removing a stale screening hit",
                "DELETE FROM screening_hits WHERE id = ?1",
                args![id],
            )?;
        }
        outcome.open_hits = kept.len() as i64;
        db.execute(
            "recording a screening",
            "UPDATE applications SET screened_with = ?2, open_hits = ?3 WHERE id = ?1",
            args![application_id, screened_with, outcome.open_hits],
        )?;
        Ok(outcome)
    }
    /// Records one screening of an application against the list versions `screened_with`:
    /// new matches become open hits; a match already dispositioned as a false positive for the
    /// same subject and the same (unchanged) list entry is not raised again; open hits that no
    /// longer match are removed (dispositioned ones stay, as the record of a decision).
    pub fn record_screening(
        &self,
        application_id: &str,
        screened_with: &str,
        now_ms: i64,
        hits: &[NewHit<'_>],
    ) -> Result<ScreeningOutcome> {
        self.savepoint(|| self.record_screening_inner(application_id, screened_with, now_ms, hits))
    }
    /// Makes a stored list version the active one of its source (a second admin confirmed it).
    pub fn activate_list(&self, id: &str) -> Result<()> {
        let tx = self.part()?;
        let source: String = self
            .db()
            .query_value(
                "reading a sanctions list",
                "SELECT source FROM sanctions_lists WHERE id = ?1",
                args![id],
            )?
            .ok_or(VaultError::NotFound("sanctions list version"))?;
        self.switch_active_list(&source, id)?;
        tx.commit()
    }
    /// Records a disposition of an open hit; a hit already dispositioned is a conflict (two
    /// underwriters at once).
    pub fn dispose_hit(
        &self,
        hit_id: &str,
        disposition: &str,
        note: &str,
        actor: &str,
        now_ms: i64,
    ) -> Result<String> {
        let tx = self.part()?;
        let db = self.db();
        let application_id: String = db
            .query_value(
                "reading a screening hit",
                "SELECT application_id FROM screening_hits WHERE id = ?1",
                args![hit_id],
            )?
            .ok_or(VaultError::NotFound("screening hit"))?;
        let key = self
            .existing_record_key(&application_id)?
            .ok_or(VaultError::NotFound("application"))?;
        let note = seal_text(&key, &disposition_field(hit_id), note)?;
        let changed = db.execute(
            "recording a disposition",
            "UPDATE screening_hits SET disposition = ?2, disposition_note = ?3,
                 disposed_by = ?4, disposed_at = ?5
             WHERE id = ?1 AND disposition IS NULL",
            args![hit_id, disposition, note, actor, now_ms],
        )?;
        if changed == 0 {
            return Err(VaultError::Conflict(
                "that hit already has a disposition: reload the application",
            ));
        }
        db.execute(
            "recording a disposition",
            "UPDATE applications SET open_hits = (SELECT count(*) FROM screening_hits
                 WHERE application_id = ?1 AND disposition IS NULL) WHERE id = ?1",
            args![&application_id],
        )?;
        tx.commit()?;
        Ok(application_id)
    }
}
