//! Applications in the vault: one row per application with the columns lists and filters need,
//! the sealed parts (business profile, each person, the bank account, documents), blind indexes
//! on EIN, SSN/ITIN and bank account, and the status history.
//!
//! The record keys of every sealed part are the application's: shredding them makes all of it
//! unreadable at once. Each part is sealed in two pieces (issue 16): the whole part masked
//! (`•••-••-6789`) under the case key, and its identifiers alone (EIN; SSN, ITIN, passport
//! number; account number, IBAN) under the identifiers key, so a role without the identifiers
//! class (an auditor) reads the masked part and cannot open a full identifier.

use domain::intake::{
    ApplicationForm, ApplicationStatus, BankForm, BusinessForm, IndexKind, PersonForm, TermsForm,
};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::seal::Sealed;
use crate::sql::{Inserted, Row, Value};
use crate::{args, RecordKey, Result, Tx, Vault, VaultError};

mod documents;
mod listing;
pub mod names;

pub use documents::{DocumentMeta, NewDocument};
pub use listing::{Cursor, ListFilter, Page, COUNT_CAP};
pub use names::{NameQuery, Names};

/// Where an application came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Wizard,
    Import,
    Demo,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Wizard => "wizard",
            Source::Import => "import",
            Source::Demo => "demo",
        }
    }
}

/// A new application to store; its form has been checked by the caller.
pub struct NewApplication<'a> {
    pub id: &'a str,
    pub status: ApplicationStatus,
    pub source: Source,
    pub form: &'a ApplicationForm,
    pub actor: &'a str,
    pub now_ms: i64,
}

/// A part sealed whole (identifiers key) and masked (case key).
pub(crate) struct Twice {
    pub(crate) full: Sealed,
    pub(crate) masked: Sealed,
}

/// The sealed parts of a form: the business and terms, each person, the bank account, and the
/// blind-index digests.
struct SealedParts {
    body: Twice,
    people: Vec<(String, Twice)>,
    bank: Twice,
    indexes: Vec<(&'static str, [u8; 32])>,
    /// The legal name and DBA (case key), and their search tokens.
    names: Sealed,
    name_tokens: std::collections::BTreeSet<names::Token>,
}

impl SealedParts {
    fn seal(
        key: &RecordKey,
        token_key: &crate::crypto::Key,
        form: &ApplicationForm,
        mut index: impl FnMut(&'static str, &str) -> Result<[u8; 32]>,
    ) -> Result<Self> {
        let masked = form.masked();
        let names = Names::of(form);
        let indexes = form
            .index_values()
            .into_iter()
            .map(|(kind, value)| Ok((kind.as_str(), index(kind.as_str(), &value)?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            body: seal_twice(key, "application", &Body::of(form), &Body::of(&masked))?,
            people: form
                .people
                .iter()
                .zip(&masked.people)
                .map(|(p, m)| Ok((p.id.clone(), seal_twice(key, &person_field(&p.id), p, m)?)))
                .collect::<Result<Vec<_>>>()?,
            bank: seal_twice(key, "bank", &form.bank, &masked.bank)?,
            indexes,
            name_tokens: names::tokens(token_key, &names),
            names: names.seal(key)?,
        })
    }
}

/// The masked copy's field name: `people:p1` → `people.masked:p1`, `bank` → `bank.masked`.
pub(crate) fn masked_field(field: &str) -> String {
    match field.split_once(':') {
        Some((head, tail)) => format!("{head}.masked:{tail}"),
        None => format!("{field}.masked"),
    }
}

/// Where a part keeps its identifiers (JSON pointers): what its identifiers copy holds.
fn identifier_pointers(field: &str) -> &'static [&'static str] {
    match field.split(':').next().unwrap_or(field) {
        "application" => &["/business/ein"],
        "person" => &["/ssn", "/itin", "/passport_number"],
        _ => &["/account_number", "/iban"],
    }
}

/// A part sealed twice: its identifiers alone under the identifiers key, and the whole part
/// masked under the case key (so nothing but the identifiers is stored twice).
fn seal_twice<T: Serialize>(key: &RecordKey, field: &str, full: &T, masked: &T) -> Result<Twice> {
    let value = serde_json::to_value(full)
        .map_err(|_| VaultError::Conflict("a form that cannot be encoded"))?;
    let identifiers: serde_json::Map<String, serde_json::Value> = identifier_pointers(field)
        .iter()
        .filter_map(|p| value.pointer(p).map(|v| ((*p).to_string(), v.clone())))
        .collect();
    Ok(Twice {
        full: key.seal(field, &to_json(&identifiers))?,
        masked: key.seal(&masked_field(field), &to_json(masked))?,
    })
}

/// Opens the part as this member may read it: the masked copy, with the identifiers put back
/// when the member holds the identifiers key. `true` when it stays masked.
fn open_either<T: for<'de> Deserialize<'de>>(
    key: &RecordKey,
    field: &str,
    full: &Sealed,
    masked: Option<&Sealed>,
) -> Result<(T, bool)> {
    let masked = masked.ok_or(VaultError::VaultDamaged("a sealed part has no masked copy"))?;
    let mut value: serde_json::Value = from_json(&key.open(&masked_field(field), masked)?)?;
    let is_masked = !key.opens(crate::keys::DataClass::Identifiers);
    if !is_masked {
        let identifiers: serde_json::Map<String, serde_json::Value> =
            from_json(&key.open(field, full)?)?;
        for (pointer, v) in identifiers {
            if let Some(slot) = value.pointer_mut(&pointer) {
                *slot = v;
            }
        }
    }
    let part = serde_json::from_value(value)
        .map_err(|_| VaultError::VaultDamaged("a sealed part does not decode"))?;
    Ok((part, is_masked))
}

/// A new application sealed and indexed, ready to store: the CPU half of an insert. Besides
/// sealed bytes and tokens it holds only what the application row keeps as clear listing
/// columns (entity type, MCC).
pub struct PreparedApplication {
    id: String,
    status: ApplicationStatus,
    source: Source,
    actor: String,
    now_ms: i64,
    fresh: crate::seal::FreshKeys,
    entity_type: String,
    mcc: String,
    parts: SealedParts,
}

impl PreparedApplication {
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The blind indexes of its identifiers (EIN, SSNs/ITINs, bank account): what a duplicate
    /// check compares, never the values.
    pub fn identifier_digests(&self) -> impl Iterator<Item = (&'static str, &[u8; 32])> {
        self.parts
            .indexes
            .iter()
            .filter(|(kind, _)| matches!(*kind, "ein" | "ssn" | "bank_account"))
            .map(|(kind, digest)| (*kind, digest))
    }
}

/// Seals new applications without the database connection, so a bulk import can seal one batch
/// on a second thread while the connection stores the previous one. Holds a copy of the root
/// key and the blind-index keys it derived (all zeroized on drop).
pub struct Sealer {
    keys: crate::keys::Keys,
    index_keys: Vec<(&'static str, crate::crypto::Key)>,
    token_key: crate::crypto::Key,
}

impl Sealer {
    pub(crate) fn new(keys: crate::keys::Keys) -> Self {
        Self {
            token_key: names::token_key(&keys),
            keys,
            index_keys: Vec::new(),
        }
    }

    fn index(&mut self, kind: &'static str, value: &str) -> Result<[u8; 32]> {
        let at = match self.index_keys.iter().position(|(k, _)| *k == kind) {
            Some(at) => at,
            None => {
                let key = crate::seal::index_key(&self.keys, kind)?;
                self.index_keys.push((kind, key));
                self.index_keys.len() - 1
            }
        };
        Ok(crate::seal::blind_index_with(&self.index_keys[at].1, value))
    }

    /// Seals `new` under fresh record keys (stored with it by [`Vault::insert_prepared`]).
    /// Refused for a member without the case, identifiers and index classes.
    pub fn prepare(&mut self, new: &NewApplication<'_>) -> Result<PreparedApplication> {
        let (fresh, key) = crate::seal::fresh_case_record(&self.keys, new.id)?;
        let b = &new.form.business;
        let token_key = self.token_key.clone();
        let parts = SealedParts::seal(&key, &token_key, new.form, |kind, value| {
            self.index(kind, value)
        })?;
        Ok(PreparedApplication {
            id: new.id.to_string(),
            status: new.status,
            source: new.source,
            actor: new.actor.to_string(),
            now_ms: new.now_ms,
            fresh,
            entity_type: b.entity_type.clone(),
            mcc: b.mcc.clone(),
            parts,
        })
    }
}

/// What a list row shows: no sealed value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub id: String,
    pub status: ApplicationStatus,
    pub legal_name: String,
    pub dba: String,
    pub entity_type: String,
    pub mcc: String,
    pub people_count: i64,
    pub source: String,
    pub created_by: String,
    /// Who last changed its form after it was created (`None`: nobody but its creator).
    pub edited_by: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub submitted_at: Option<i64>,
    pub version: i64,
    /// Screening hits without a disposition.
    pub open_hits: i64,
    /// Whether it was ever screened (against any list version).
    pub screened: bool,
}

/// One application with its form opened (sensitive values in clear: mask before showing).
pub struct Stored {
    pub summary: Summary,
    pub form: ApplicationForm,
    /// The form is the masked copy: the member holds no identifiers key.
    pub masked: bool,
}

/// One status change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    pub at: i64,
    pub actor: String,
    pub from: Option<String>,
    pub to: String,
    pub note: Option<String>,
}

/// The lower-case, whitespace-folded form used for prefix search.
pub fn search_key(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[derive(Serialize, Deserialize)]
pub(crate) struct Body {
    business: BusinessForm,
    terms: TermsForm,
}

impl Body {
    fn of(form: &ApplicationForm) -> Self {
        Self {
            business: form.business.clone(),
            terms: form.terms.clone(),
        }
    }
}

const SUMMARY_COLUMNS: &str = "id, status, legal_name, dba, entity_type, mcc, people_count, \
     source, created_by, created_at, updated_at, submitted_at, version, open_hits, \
     screened_with IS NOT NULL, edited_by, names";

/// A summary with its names still sealed (column 16): [`Vault::named`] opens them.
fn summary_from_row(r: &Row<'_>) -> Result<(Summary, Option<Sealed>)> {
    let summary = Summary {
        id: r.get(0)?,
        status: r.parsed(1, |s| s.parse().ok())?,
        legal_name: r.get(2)?,
        dba: r.get(3)?,
        entity_type: r.get(4)?,
        mcc: r.get(5)?,
        people_count: r.get(6)?,
        source: r.get(7)?,
        created_by: r.get(8)?,
        created_at: r.get(9)?,
        updated_at: r.get(10)?,
        submitted_at: r.get(11)?,
        version: r.get(12)?,
        open_hits: r.get(13)?,
        screened: r.get(14)?,
        edited_by: r.get(15)?,
    };
    Ok((summary, r.get(16)?))
}

fn to_json<T: Serialize>(value: &T) -> Zeroizing<Vec<u8>> {
    // Serialising plain structs of strings cannot fail.
    Zeroizing::new(serde_json::to_vec(value).unwrap_or_default())
}

fn from_json<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes)
        .map_err(|_| VaultError::VaultDamaged("a sealed application part is not readable"))
}

fn person_field(person_id: &str) -> String {
    format!("person:{person_id}")
}

impl Vault {
    pub fn application_summary(&self, id: &str) -> Result<Summary> {
        let (mut summary, names) = self
            .db()
            .query_row(
                "reading an application",
                &format!("SELECT {SUMMARY_COLUMNS} FROM applications WHERE id = ?1"),
                args![id],
                summary_from_row,
            )?
            .ok_or(VaultError::NotFound("application"))?;
        if let Some(names) = self.names_of(id, names.as_ref())? {
            (summary.legal_name, summary.dba) = (names.legal_name, names.dba);
        }
        Ok(summary)
    }

    /// The names sealed in `sealed` (of application `id`), opened; `None` when there are none
    /// (an application erased, or stored by an earlier version and not yet sealed: its clear
    /// columns stand) or its keys are shredded.
    pub(crate) fn names_of(&self, id: &str, sealed: Option<&Sealed>) -> Result<Option<Names>> {
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        // No key: shredded (an erasure also clears the names, and the clear columns say so).
        let Some(key) = self.existing_record_key(id)? else {
            return Ok(None);
        };
        Names::open(&key, sealed).map(Some)
    }

    /// `rows` (each with its application's id and sealed names) with the names opened and
    /// handed to `set`; rows without sealed names keep their clear columns.
    pub(crate) fn with_names<T>(
        &self,
        rows: Vec<(T, Option<Sealed>)>,
        id: impl Fn(&T) -> &str,
        mut set: impl FnMut(&mut T, Names),
    ) -> Result<Vec<T>> {
        let sealed_ids: Vec<&str> = rows
            .iter()
            .filter(|(_, sealed)| sealed.is_some())
            .map(|(row, _)| id(row))
            .collect();
        if sealed_ids.len() <= 1 {
            return rows
                .into_iter()
                .map(|(mut row, sealed)| {
                    if let Some(names) = self.names_of(id(&row), sealed.as_ref())? {
                        set(&mut row, names);
                    }
                    Ok(row)
                })
                .collect();
        }
        // A page: its case keys in one query.
        let keys = crate::seal::case_keys(&self.db(), &self.keys(), &sealed_ids)?;
        rows.into_iter()
            .map(|(mut row, sealed)| {
                // No key: shredded (see `names_of`).
                if let (Some(sealed), Some(key)) = (sealed, keys.get(id(&row))) {
                    set(&mut row, Names::open(key, &sealed)?);
                }
                Ok(row)
            })
            .collect()
    }

    /// The key of this member's name-search tokens.
    pub(crate) fn name_query(&self, text: &str) -> Result<Option<NameQuery>> {
        let Some(mut query) = NameQuery::new(&names::token_key(&self.keys()), text) else {
            return Ok(None);
        };
        query.plan(&self.db())?;
        Ok(Some(query))
    }

    /// One application with every part opened.
    pub fn application(&self, id: &str) -> Result<Stored> {
        let summary = self.application_summary(id)?;
        let key = self
            .existing_record_key(id)?
            .ok_or(VaultError::NotFound("application"))?;
        let db = self.db();
        let (body, masked): (Sealed, Option<Sealed>) = db
            .query_row(
                "reading an application",
                "SELECT body, masked FROM applications WHERE id = ?1",
                args![id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?
            .ok_or(VaultError::NotFound("application"))?;
        let (body, is_masked): (Body, bool) =
            open_either(&key, "application", &body, masked.as_ref())?;
        let rows = db.query_map(
            "reading people",
            "SELECT person_id, body, masked FROM application_people WHERE application_id = ?1
             ORDER BY position",
            args![id],
            |r| {
                Ok((
                    r.get::<String>(0)?,
                    r.get::<Sealed>(1)?,
                    r.get::<Option<Sealed>>(2)?,
                ))
            },
        )?;
        let people = rows
            .iter()
            .map(|(pid, sealed, masked)| {
                open_either::<PersonForm>(&key, &person_field(pid), sealed, masked.as_ref())
                    .map(|(p, _)| p)
            })
            .collect::<Result<Vec<_>>>()?;
        let bank: Option<(Sealed, Option<Sealed>)> = db.query_row(
            "reading the bank account",
            "SELECT body, masked FROM bank_accounts WHERE application_id = ?1",
            args![id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let bank = match bank {
            Some((sealed, masked)) => {
                open_either::<BankForm>(&key, "bank", &sealed, masked.as_ref())?.0
            }
            None => BankForm::default(),
        };
        Ok(Stored {
            summary,
            form: ApplicationForm {
                business: body.business,
                people,
                bank,
                terms: body.terms,
            },
            masked: is_masked,
        })
    }

    pub fn application_history(&self, id: &str) -> Result<Vec<HistoryEntry>> {
        let key = self.existing_record_key(id)?;
        // `rowid`: SQLite's own; the team schema has an identity column of that name.
        let rows = self.db().query_map(
            "reading the history",
            "SELECT at, actor, from_status, to_status, note FROM application_history
             WHERE application_id = ?1 ORDER BY at, rowid",
            args![id],
            |r| {
                Ok(HistoryEntry {
                    at: r.get(0)?,
                    actor: r.get(1)?,
                    from: r.get(2)?,
                    to: r.get(3)?,
                    note: r.get(4)?,
                })
            },
        )?;
        rows.into_iter()
            .map(|mut h| {
                h.note = match h.note.take() {
                    Some(n) => Some(names::open_text(key.as_ref(), names::HISTORY_FIELD, n)?),
                    None => None,
                };
                Ok(h)
            })
            .collect()
    }

    /// Ids of applications holding a value equal to `normalised` (exact, via blind index).
    pub fn applications_with(&self, kind: IndexKind, normalised: &str) -> Result<Vec<String>> {
        let digest = self.blind_index(kind.as_str(), normalised)?;
        self.db().query_map(
            "looking up a blind index",
            "SELECT application_id FROM blind_indexes WHERE kind = ?1 AND digest = ?2
             ORDER BY application_id",
            args![kind.as_str(), digest.as_slice()],
            |r| r.get(0),
        )
    }

    /// The first application (by id) holding the blind index `digest` of `kind`.
    pub fn application_with_index(&self, kind: &str, digest: &[u8; 32]) -> Result<Option<String>> {
        self.db().query_value(
            "looking up a blind index",
            "SELECT application_id FROM blind_indexes WHERE kind = ?1 AND digest = ?2
             ORDER BY application_id LIMIT 1",
            args![kind, digest.as_slice()],
        )
    }
}

/// Changes: only inside a unit of work ([`Vault::write`]).
impl Tx<'_> {
    /// Adds `tokens` to application `id`'s name tokens.
    pub(crate) fn store_name_tokens(
        &self,
        id: &str,
        tokens: &std::collections::BTreeSet<names::Token>,
    ) -> Result<()> {
        // A store: one statement per 32 tokens (a name has 20 to 40), each being a round trip.
        // The file: one cached statement per token (varying texts would churn the cache).
        let db = self.db();
        let tokens: Vec<&names::Token> = tokens.iter().collect();
        let per = match db.engine() {
            crate::sql::Engine::Sqlite => 1,
            crate::sql::Engine::Postgres => 32,
        };
        for chunk in tokens.chunks(per) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|i| format!("(?{}, ?1)", i + 2))
                .collect();
            let mut values: Vec<Value<'_>> = vec![id.into()];
            values.extend(chunk.iter().map(|t| Value::from(t.as_slice())));
            db.execute(
                "storing name tokens",
                &format!(
                    "INSERT INTO name_tokens (token, application_id) VALUES {}
                     ON CONFLICT DO NOTHING",
                    rows.join(", ")
                ),
                &values,
            )?;
        }
        Ok(())
    }

    fn store_parts(&self, id: &str, parts: &SealedParts) -> Result<()> {
        let db = self.db();
        for (i, (person_id, body)) in parts.people.iter().enumerate() {
            let stored = db.insert(
                "storing people",
                "INSERT INTO application_people (application_id, person_id, position, body, masked)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                args![id, person_id, i, &body.full, &body.masked],
            )?;
            if stored == Inserted::Duplicate {
                return Err(VaultError::invalid("people", "two people have the same id"));
            }
        }
        db.execute(
            "storing the bank account",
            "INSERT INTO bank_accounts (application_id, body, masked) VALUES (?1, ?2, ?3)
             ON CONFLICT (application_id) DO UPDATE SET body = excluded.body, masked = excluded.masked",
            args![id, &parts.bank.full, &parts.bank.masked],
        )?;
        for (kind, digest) in &parts.indexes {
            db.execute(
                "storing blind indexes",
                "INSERT INTO blind_indexes (kind, digest, application_id) VALUES (?1, ?2, ?3)
                 ON CONFLICT DO NOTHING",
                args![*kind, digest.as_slice(), id],
            )?;
        }
        self.store_name_tokens(id, &parts.name_tokens)
    }
    /// Stores one prepared application: its record key, row, parts and first history entry.
    fn store_prepared(&self, p: &PreparedApplication) -> Result<()> {
        const EXISTS: VaultError =
            VaultError::Conflict("an application with that id already exists");
        // The keys go first: an id that already has keys belongs to an existing record, and
        // nothing of it may be touched.
        if !crate::seal::store_wrapped(&self.db(), &p.id, &p.fresh)? {
            return Err(EXISTS);
        }
        let submitted_at = (p.status != ApplicationStatus::Draft).then_some(p.now_ms);
        let stored = self.db().insert(
            "storing an application",
            "INSERT INTO applications (id, status, legal_name, legal_name_key, dba, dba_key,
                 entity_type, mcc, people_count, source, created_by, created_at, updated_at,
                 submitted_at, version, body, masked, names)
             VALUES (?1, ?2, '', '', '', '', ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9, 1, ?10, ?11, ?12)",
            args![
                &p.id,
                p.status.as_str(),
                &p.entity_type,
                &p.mcc,
                p.parts.people.len(),
                p.source.as_str(),
                &p.actor,
                p.now_ms,
                submitted_at,
                &p.parts.body.full,
                &p.parts.body.masked,
                &p.parts.names,
            ],
        )?;
        if stored == Inserted::Duplicate {
            return Err(EXISTS);
        }
        self.store_parts(&p.id, &p.parts)?;
        self.add_history(&p.id, p.now_ms, &p.actor, None, p.status, None)
    }
    fn add_history(
        &self,
        id: &str,
        at: i64,
        actor: &str,
        from: Option<ApplicationStatus>,
        to: ApplicationStatus,
        note: Option<&str>,
    ) -> Result<()> {
        let note = match note {
            Some(text) => {
                let key = self
                    .existing_record_key(id)?
                    .ok_or(VaultError::NotFound("application"))?;
                Some(names::seal_text(&key, names::HISTORY_FIELD, text)?)
            }
            None => None,
        };
        self.db().execute(
            "recording the status history",
            "INSERT INTO application_history (application_id, at, actor, from_status,
                 to_status, note) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            args![
                id,
                at,
                actor,
                from.map(ApplicationStatus::as_str),
                to.as_str(),
                note
            ],
        )?;
        Ok(())
    }
    /// [`Vault::insert_applications`] for applications a [`Sealer`] prepared (on another thread,
    /// while this one stored the previous batch).
    ///
    /// No savepoint around the batch: a second level would make SQLite copy every page the
    /// batch touches into a sub-journal (3–4× the CPU of an import, docs/BENCHMARKS.md). The
    /// unit of work is the batch's transaction; each application has its own savepoint.
    pub fn insert_prepared(&self, batch: &[PreparedApplication]) -> Result<Vec<Result<()>>> {
        self.in_unit()?;
        let db = self.db();
        let mut results = Vec::with_capacity(batch.len());
        for prepared in batch {
            let run = |sql: &str| db.execute("running a savepoint", sql, &[]).map(|_| ());
            let outcome = run("SAVEPOINT one").and_then(|()| self.store_prepared(prepared));
            if outcome.is_err() {
                run("ROLLBACK TO SAVEPOINT one")?;
            }
            run("RELEASE SAVEPOINT one")?;
            results.push(outcome);
        }
        Ok(results)
    }
    fn replace_form_inner(
        &self,
        id: &str,
        expected_version: i64,
        form: &ApplicationForm,
        actor: &str,
        now_ms: i64,
        allowed: impl Fn(ApplicationStatus) -> std::result::Result<(), &'static str>,
    ) -> Result<i64> {
        let current = self.application_summary(id)?;
        if current.version != expected_version {
            return Err(VaultError::Conflict(
                "the application was changed by someone else meanwhile: reload it",
            ));
        }
        allowed(current.status).map_err(VaultError::Conflict)?;
        let key = self
            .existing_record_key(id)?
            .ok_or(VaultError::NotFound("application"))?;
        let b = &form.business;
        let token_key = names::token_key(&self.keys());
        let parts = SealedParts::seal(&key, &token_key, form, |kind, value| {
            self.blind_index(kind, value)
        })?;
        let db = self.db();
        db.execute(
            "updating an application",
            "UPDATE applications SET legal_name = '', legal_name_key = '', dba = '', dba_key = '',
                 entity_type = ?2, mcc = ?3, people_count = ?4, updated_at = ?5,
                 version = version + 1, body = ?6, edited_by = ?7, masked = ?8, names = ?9
             WHERE id = ?1",
            args![
                id,
                &b.entity_type,
                &b.mcc,
                form.people.len(),
                now_ms,
                &parts.body.full,
                actor,
                &parts.body.masked,
                &parts.names
            ],
        )?;
        for table in ["application_people", "blind_indexes", "name_tokens"] {
            db.execute(
                "updating an application",
                &format!("DELETE FROM {table} WHERE application_id = ?1"),
                args![id],
            )?;
        }
        self.store_parts(id, &parts)?;
        Ok(expected_version + 1)
    }
    /// Moves an application to `to` if the state machine allows it from its current status
    /// and nobody changed it since `expected_version`. Returns the new version.
    pub fn transition_application(
        &self,
        id: &str,
        expected_version: i64,
        to: ApplicationStatus,
        actor: &str,
        note: Option<&str>,
        now_ms: i64,
    ) -> Result<i64> {
        self.savepoint(|| {
            let current = self.application_summary(id)?;
            if current.version != expected_version {
                return Err(VaultError::Conflict(
                    "the application was changed by someone else meanwhile: reload it",
                ));
            }
            current.status.move_to(to).map_err(|_| {
                VaultError::Conflict("that status change is not allowed from the current status")
            })?;
            // The version again in the statement: the change lands only on what was read.
            let moved = self.db().execute(
                "changing an application's status",
                "UPDATE applications SET status = ?2, updated_at = ?3, version = version + 1,
                     submitted_at = CASE WHEN ?2 = 'submitted' THEN ?3 ELSE submitted_at END
                 WHERE id = ?1 AND version = ?4",
                args![id, to.as_str(), now_ms, expected_version],
            )?;
            if moved != 1 {
                return Err(VaultError::Conflict(
                    "the application was changed by someone else meanwhile: reload it",
                ));
            }
            self.add_history(id, now_ms, actor, Some(current.status), to, note)?;
            Ok(expected_version + 1)
        })
    }
    /// Stores one application with all its parts, or nothing.
    pub fn insert_application(&self, new: &NewApplication<'_>) -> Result<()> {
        let prepared = self.sealer().prepare(new)?;
        let tx = self.part()?;
        self.store_prepared(&prepared)?;
        tx.commit()
    }
    /// Stores many applications in one transaction; each is whole or absent (a savepoint per
    /// application, its record key included), and one failing never stops the others.
    pub fn insert_applications(&self, batch: &[NewApplication<'_>]) -> Result<Vec<Result<()>>> {
        let mut sealer = self.sealer();
        let prepared = batch
            .iter()
            .map(|new| sealer.prepare(new))
            .collect::<Result<Vec<_>>>()?;
        self.insert_prepared(&prepared)
    }
    /// Replaces the form of an application, if it is still at `expected_version` and in a
    /// state where it may be edited. Returns the new version.
    pub fn update_application(
        &self,
        id: &str,
        expected_version: i64,
        form: &ApplicationForm,
        actor: &str,
        now_ms: i64,
    ) -> Result<i64> {
        self.replace_form(id, expected_version, form, actor, now_ms, |s| {
            s.is_editable()
                .then_some(())
                .ok_or("the application is not editable in its current status")
        })
    }
    /// Corrects an application whose boarding the platform refused (the caller checks that
    /// only the fields the platform named changed).
    pub fn correct_application(
        &self,
        id: &str,
        expected_version: i64,
        form: &ApplicationForm,
        actor: &str,
        now_ms: i64,
    ) -> Result<i64> {
        self.replace_form(id, expected_version, form, actor, now_ms, |s| {
            (s == ApplicationStatus::BoardingFailed)
                .then_some(())
                .ok_or("only an application whose boarding failed can be corrected")
        })
    }
    pub(crate) fn replace_form(
        &self,
        id: &str,
        expected_version: i64,
        form: &ApplicationForm,
        actor: &str,
        now_ms: i64,
        allowed: impl Fn(ApplicationStatus) -> std::result::Result<(), &'static str>,
    ) -> Result<i64> {
        // A savepoint: a transaction of its own, or part of the caller's.
        self.savepoint(|| {
            self.replace_form_inner(id, expected_version, form, actor, now_ms, allowed)
        })
    }
}

/// The upgrade from format 1 (`upgrade.rs`).
impl Tx<'_> {
    /// Seals the business, people and bank account of `id` again: whole under `new`'s
    /// identifiers key, masked under its case key (they were sealed under `old`).
    pub(crate) fn reseal_application_parts(
        &self,
        old: &RecordKey,
        new: &RecordKey,
        id: &str,
    ) -> Result<()> {
        let db = self.db();
        let body: Option<Sealed> = db.query_value(
            "reading an application",
            "SELECT body FROM applications WHERE id = ?1",
            args![id],
        )?;
        let Some(body) = body else { return Ok(()) };
        let body: Body = from_json(&old.open("application", &body)?)?;
        let mut form = ApplicationForm {
            business: body.business,
            terms: body.terms,
            ..ApplicationForm::default()
        };
        let people: Vec<(String, Sealed)> = db.query_map(
            "reading people",
            "SELECT person_id, body FROM application_people WHERE application_id = ?1",
            args![id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        for (pid, sealed) in &people {
            form.people
                .push(from_json(&old.open(&person_field(pid), sealed)?)?);
        }
        let bank: Option<Sealed> = db.query_value(
            "reading the bank account",
            "SELECT body FROM bank_accounts WHERE application_id = ?1",
            args![id],
        )?;
        if let Some(sealed) = &bank {
            form.bank = from_json(&old.open("bank", sealed)?)?;
        }
        let masked = form.masked();
        let body = seal_twice(new, "application", &Body::of(&form), &Body::of(&masked))?;
        db.execute(
            "sealing an application again",
            "UPDATE applications SET body = ?2, masked = ?3 WHERE id = ?1",
            args![id, &body.full, &body.masked],
        )?;
        for (p, m) in form.people.iter().zip(&masked.people) {
            let twice = seal_twice(new, &person_field(&p.id), p, m)?;
            db.execute(
                "sealing people again",
                "UPDATE application_people SET body = ?3, masked = ?4
                 WHERE application_id = ?1 AND person_id = ?2",
                args![id, &p.id, &twice.full, &twice.masked],
            )?;
        }
        if bank.is_some() {
            let twice = seal_twice(new, "bank", &form.bank, &masked.bank)?;
            db.execute(
                "sealing the bank account again",
                "UPDATE bank_accounts SET body = ?2, masked = ?3 WHERE application_id = ?1",
                args![id, &twice.full, &twice.masked],
            )?;
        }
        Ok(())
    }
}
