//! Bulk import of complete applications from CSV (one row each, people as repeated column
//! groups `owner1_…` to `owner5_`) or JSON (an array in Stripe's Accounts/Persons shape).
//! The format is documented in `docs/IMPORT.md` with a sample in `docs/samples/`.
//!
//! Every row is checked as a complete application. A bad row is reported with its row number,
//! field and reason and never stops the good ones; each good row is stored whole (a savepoint
//! per application). Imported applications start as `submitted`. A problem with the file itself
//! (unknown or missing columns, not JSON) rejects the whole file before anything is written.
//!
//! The file is streamed, twice: a first pass counts the rows (and, for JSON, checks the whole
//! syntax, so a broken file stores nothing); the second parses, checks and seals a batch at a
//! time while the previous batch is stored. Memory stays bounded by the batch, whatever the size
//! of the file (at most [`MAX_IMPORT_BYTES`]); the report keeps the first [`MAX_REPORTED`]
//! problems and counts the rest.
//!
//! An application whose EIN, SSN/ITIN or bank account is already in the vault, or earlier in
//! the same file, is imported with a "possible duplicate" warning (or skipped, when asked).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use domain::intake::{ApplicationForm, Completeness, FieldError, PersonForm, MAX_PEOPLE};
use serde::Serialize;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use vault::applications::{NewApplication, PreparedApplication, Sealer, Source};
use vault::audit::Outcome;

use crate::clock::{new_id, now_ms};
use crate::session::{Access, SessionSlot};
use crate::{Error, Result};

/// One row as a form, or the problems found reading it.
type RowResult = std::result::Result<ApplicationForm, Vec<FieldError>>;

/// Each row of a file, numbered from 1, as a form or the problems found reading it.
#[cfg(test)]
type Rows = Vec<(usize, RowResult)>;

/// The largest file accepted (about 100,000 applications of CSV).
pub const MAX_IMPORT_BYTES: usize = 256 * 1024 * 1024;
const BATCH: usize = 1000;
/// Row problems (and warnings) a report lists; past that it counts them.
pub const MAX_REPORTED: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
}

impl Format {
    /// From the file name, else from the first non-blank byte (`[` or `{` means JSON).
    pub fn detect(file_name: &str, content: &[u8]) -> Format {
        let lower = file_name.to_ascii_lowercase();
        if lower.ends_with(".json") {
            return Format::Json;
        }
        if lower.ends_with(".csv") {
            return Format::Csv;
        }
        match content.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'[' | b'{') => Format::Json,
            _ => Format::Csv,
        }
    }
}

/// One rejected row: the row number (1 = the first application in the file), the column or
/// JSON path, and the rule. Never the value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub row: usize,
    pub field: String,
    pub reason: String,
}

/// A row imported (or skipped) that shares an identifier with another application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowWarning {
    pub row: usize,
    /// `ein`, `ssn` or `bank_account`: which identifier is shared, never its value.
    pub identifier: String,
    /// "possible duplicate of application 0193…" or "… of row 12 of this file".
    pub message: String,
    /// Skipped (`--skip-duplicates`) rather than imported.
    pub skipped: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub rows: usize,
    pub imported: usize,
    /// Rows with at least one problem.
    pub rejected_rows: usize,
    /// The first [`MAX_REPORTED`] problems, by row.
    pub errors: Vec<RowError>,
    /// Problems found past those listed.
    pub errors_not_listed: usize,
    /// Possible duplicates (the first [`MAX_REPORTED`]).
    pub warnings: Vec<RowWarning>,
    pub warnings_not_listed: usize,
    /// Rows skipped as possible duplicates.
    pub skipped_duplicates: usize,
}

/// What to do with a row whose identifiers are already known.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Duplicates {
    /// Import it with a warning.
    #[default]
    Warn,
    /// Skip it (and say so).
    Skip,
}

/// Where an import reads from. It is read twice (a counting pass, then the import).
#[derive(Clone, Copy)]
pub enum ImportFrom<'a> {
    File(&'a Path),
    Bytes(&'a [u8]),
}

impl ImportFrom<'_> {
    /// A buffered reader from the start, past a UTF-8 byte-order mark.
    fn open(&self) -> Result<Box<dyn BufRead + Send + '_>> {
        let mut reader: Box<dyn BufRead + Send + '_> = match self {
            ImportFrom::File(path) => Box::new(BufReader::with_capacity(
                1 << 16,
                std::fs::File::open(path)
                    .map_err(|_| Error::invalid_input("file", "cannot be read (does it exist?)"))?,
            )),
            ImportFrom::Bytes(bytes) => Box::new(*bytes),
        };
        let head = reader
            .fill_buf()
            .map_err(|_| Error::invalid_input("file", "cannot be read"))?;
        if head.starts_with(b"\xEF\xBB\xBF") {
            reader.consume(3);
        }
        Ok(reader)
    }

    fn size(&self) -> Result<u64> {
        match self {
            ImportFrom::File(path) => std::fs::metadata(path)
                .map(|m| m.len())
                .map_err(|_| Error::invalid_input("file", "cannot be read (does it exist?)")),
            ImportFrom::Bytes(b) => Ok(b.len() as u64),
        }
    }

    /// The first bytes, for format detection.
    fn head(&self) -> Result<Vec<u8>> {
        let mut r = self.open()?;
        let buf = r
            .fill_buf()
            .map_err(|_| Error::invalid_input("file", "cannot be read"))?;
        Ok(buf[..buf.len().min(64)].to_vec())
    }
}

pub use crate::clock::Progress;

mod csv_file;
mod json_file;

use csv_file::*;
pub use csv_file::{csv_header, to_csv};
use json_file::*;

/// Imports applications from `content`. Progress is reported after each stored batch.
pub fn import(
    slot: &mut SessionSlot,
    file_name: &str,
    content: &[u8],
    progress: &mut dyn FnMut(Progress),
) -> Result<ImportReport> {
    import_with(slot, file_name, content, Duplicates::Warn, progress)
}

/// [`import`] with the choice of what to do with possible duplicates.
pub fn import_with(
    slot: &mut SessionSlot,
    file_name: &str,
    content: &[u8],
    duplicates: Duplicates,
    progress: &mut dyn FnMut(Progress),
) -> Result<ImportReport> {
    import_as(
        slot,
        file_name,
        ImportFrom::Bytes(content),
        Source::Import,
        duplicates,
        progress,
    )
}

/// What the checking thread hands the storing thread.
enum Checked {
    /// The file's rows were counted: this many follow.
    Rows(usize),
    /// Up to [`BATCH`] rows: the good ones sealed (with their row numbers), the bad ones'
    /// problems.
    Batch {
        rows: Vec<usize>,
        sealed: Vec<PreparedApplication>,
        rejected: usize,
        errors: Vec<RowError>,
    },
}

/// The report as it grows: the first [`MAX_REPORTED`] problems and warnings are kept, the
/// rest counted, so a file of a million bad rows costs no more memory than one of a thousand.
#[derive(Default)]
struct Tally {
    imported: usize,
    rejected_rows: usize,
    errors: Vec<RowError>,
    errors_not_listed: usize,
    warnings: Vec<RowWarning>,
    warnings_not_listed: usize,
    skipped_duplicates: usize,
}

impl Tally {
    fn error(&mut self, e: RowError) {
        if self.errors.len() < MAX_REPORTED {
            self.errors.push(e);
        } else {
            self.errors_not_listed += 1;
        }
    }

    fn warning(&mut self, w: RowWarning) {
        if self.warnings.len() < MAX_REPORTED {
            self.warnings.push(w);
        } else {
            self.warnings_not_listed += 1;
        }
    }
}

/// What this import stored so far, so a duplicate of an earlier row is named by its row. The
/// rows already stored are found through the vault's blind indexes (and named by row through
/// `stored`, ids in creation order — UUIDv7 — so a binary search finds them); only the batch
/// being checked is held as identifiers. Memory: 20 bytes per stored row, not per identifier.
#[derive(Default)]
struct SeenInFile {
    /// (application id as u128, row), ascending.
    stored: Vec<(u128, u32)>,
    /// This batch's identifiers: (kind, blind index) → row.
    batch: HashMap<(&'static str, [u8; 32]), usize>,
}

impl SeenInFile {
    fn row_of(&self, id: &str) -> Option<u32> {
        let key = uuid::Uuid::parse_str(id).ok()?.as_u128();
        self.stored
            .binary_search_by_key(&key, |(k, _)| *k)
            .ok()
            .map(|i| self.stored[i].1)
    }
}

/// The first identifier of `prepared` that another application already has — in the vault
/// or earlier in this file — as a warning for `row`.
fn possible_duplicate(
    vault: &vault::Vault,
    seen: &SeenInFile,
    prepared: &PreparedApplication,
    row: usize,
) -> Result<Option<RowWarning>> {
    for (kind, digest) in prepared.identifier_digests() {
        let other = match seen.batch.get(&(kind, *digest)) {
            Some(earlier) => Some(format!("row {earlier} of this file")),
            None => vault
                .application_with_index(kind, digest)?
                .map(|id| match seen.row_of(&id) {
                    Some(earlier) => format!("row {earlier} of this file"),
                    None => format!("application {id}"),
                }),
        };
        if let Some(other) = other {
            let what = match kind {
                "ein" => "EIN",
                "ssn" => "SSN/ITIN",
                _ => "bank account",
            };
            return Ok(Some(RowWarning {
                row,
                identifier: kind.to_string(),
                message: format!("possible duplicate of {other} (same {what})"),
                skipped: false,
            }));
        }
    }
    Ok(None)
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn import_as(
    slot: &mut SessionSlot,
    file_name: &str,
    from: ImportFrom<'_>,
    source: Source,
    duplicates: Duplicates,
    progress: &mut dyn FnMut(Progress),
) -> Result<ImportReport> {
    let session = slot.require(Access::Write, "application.import")?;
    if from.size()? > MAX_IMPORT_BYTES as u64 {
        return Err(Error::invalid_input("file", "must be at most 256 MB"));
    }
    let format = Format::detect(file_name, &from.head()?);
    // Only the file's base name is audited, never a path or its content.
    let file_label = std::path::Path::new(file_name)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for class in [
        vault::DataClass::Case,
        vault::DataClass::Identifiers,
        vault::DataClass::Index,
    ] {
        if !session.vault().holds(class) {
            return Err(vault::VaultError::NoKey(class.described()).into());
        }
    }
    let sealer = session.vault().sealer();
    let actor = session.username().to_string();
    let vault = session.vault();
    // Two threads: this one stores batches through the vault's one connection while a second
    // parses, checks and seals the next batch (the machine's second core; storing is about 80%
    // of the work, so the overlap hides the rest).
    let (total, mut tally) = std::thread::scope(|scope| {
        let (to_store, batches) = std::sync::mpsc::sync_channel::<Checked>(2);
        let checker =
            scope.spawn(move || check_and_seal(format, from, source, sealer, &actor, &to_store));
        let mut total = 0;
        let mut tally = Tally::default();
        let mut seen = SeenInFile::default();
        for message in &batches {
            match message {
                Checked::Rows(n) => total = n,
                Checked::Batch {
                    rows,
                    sealed,
                    rejected,
                    errors: found,
                } => {
                    tally.rejected_rows += rejected;
                    for e in found {
                        tally.error(e);
                    }
                    let mut keep_rows = Vec::with_capacity(rows.len());
                    let mut keep = Vec::with_capacity(sealed.len());
                    for (row, prepared) in rows.into_iter().zip(sealed) {
                        if let Some(mut w) = possible_duplicate(vault, &seen, &prepared, row)? {
                            if duplicates == Duplicates::Skip {
                                w.skipped = true;
                                tally.skipped_duplicates += 1;
                                tally.warning(w);
                                continue;
                            }
                            tally.warning(w);
                        }
                        for (kind, digest) in prepared.identifier_digests() {
                            seen.batch.entry((kind, *digest)).or_insert(row);
                        }
                        keep_rows.push(row);
                        keep.push(prepared);
                    }
                    // Each batch commits with its own audit entry: a crash after it leaves
                    // stored applications the log has seen.
                    let results = session.write(|w| {
                        let results = w.insert_prepared(&keep)?;
                        let stored = results.iter().filter(|r| r.is_ok()).count();
                        w.audit(
                            "application.import_batch",
                            None,
                            Outcome::Ok,
                            Some(&format!("{stored} stored from {file_label}")),
                        )?;
                        Ok(results)
                    })?;
                    seen.batch.clear();
                    for ((row, result), prepared) in keep_rows.into_iter().zip(results).zip(&keep) {
                        match result {
                            Ok(()) => {
                                tally.imported += 1;
                                if let Ok(id) = uuid::Uuid::parse_str(prepared.id()) {
                                    seen.stored.push((id.as_u128(), row as u32));
                                }
                            }
                            Err(e) => {
                                tally.rejected_rows += 1;
                                tally.error(RowError {
                                    row,
                                    field: "row".into(),
                                    reason: Error::from(e).message().to_string(),
                                });
                            }
                        }
                    }
                    if !seen.stored.is_sorted_by_key(|(id, _)| *id) {
                        seen.stored.sort_unstable();
                    }
                    progress(Progress {
                        done: tally.rejected_rows + tally.imported + tally.skipped_duplicates,
                        total,
                    });
                }
            }
        }
        checker
            .join()
            .map_err(|_| Error::internal("the import's checking thread failed"))??;
        Ok::<_, Error>((total, tally))
    })?;
    tally.errors.sort_by_key(|e| e.row);
    tally.warnings.sort_by_key(|w| w.row);
    let mut detail = format!(
        "{} imported, {} rejected of {total}",
        tally.imported, tally.rejected_rows
    );
    if !tally.warnings.is_empty() {
        detail.push_str(&format!(
            "; {} possible duplicate(s){}",
            tally.warnings.len() + tally.warnings_not_listed,
            if tally.skipped_duplicates > 0 {
                format!(", {} skipped", tally.skipped_duplicates)
            } else {
                String::new()
            }
        ));
    }
    session.audit("application.import", None, Outcome::Ok, Some(&detail))?;
    Ok(ImportReport {
        rows: total,
        imported: tally.imported,
        rejected_rows: tally.rejected_rows,
        errors: tally.errors,
        errors_not_listed: tally.errors_not_listed,
        warnings: tally.warnings,
        warnings_not_listed: tally.warnings_not_listed,
        skipped_duplicates: tally.skipped_duplicates,
    })
}

/// Collects rows into batches for the storing thread: checks each as a complete application
/// and seals the good ones.
struct Batcher<'a> {
    source: Source,
    sealer: Sealer,
    actor: &'a str,
    now: OffsetDateTime,
    format: Format,
    to_store: &'a std::sync::mpsc::SyncSender<Checked>,
    rows: Vec<usize>,
    sealed: Vec<PreparedApplication>,
    rejected: usize,
    errors: Vec<RowError>,
    /// The storing side stopped (it reports why).
    stopped: bool,
}

impl Batcher<'_> {
    /// Takes one row; `false` once the storing side has stopped.
    fn push(&mut self, row: usize, result: RowResult) -> bool {
        match result.and_then(|f| f.check(self.now, Completeness::Complete)) {
            Ok(form) => {
                let id = new_id();
                let prepared = self.sealer.prepare(&NewApplication {
                    id: &id,
                    status: domain::intake::ApplicationStatus::Submitted,
                    source: self.source,
                    form: &form,
                    actor: self.actor,
                    now_ms: now_ms(self.now),
                });
                match prepared {
                    Ok(p) => self.sealed.push(p),
                    // The member holds no identifiers key (checked before the import starts).
                    Err(_) => {
                        self.stopped = true;
                        return false;
                    }
                }
                self.rows.push(row);
            }
            Err(problems) => {
                self.rejected += 1;
                // The storing side keeps at most MAX_REPORTED; a batch sends no more either.
                for e in problems {
                    if self.errors.len() <= MAX_REPORTED {
                        self.errors.push(RowError {
                            row,
                            field: match self.format {
                                Format::Csv => csv_column(&e.field),
                                Format::Json => json_path(&e.field),
                            },
                            reason: e.reason,
                        });
                    }
                }
            }
        }
        if self.rows.len() + self.rejected >= BATCH {
            return self.flush();
        }
        true
    }

    fn flush(&mut self) -> bool {
        if self.rows.is_empty() && self.rejected == 0 {
            return true;
        }
        let batch = Checked::Batch {
            rows: std::mem::take(&mut self.rows),
            sealed: std::mem::take(&mut self.sealed),
            rejected: std::mem::take(&mut self.rejected),
            errors: std::mem::take(&mut self.errors),
        };
        self.stopped = self.to_store.send(batch).is_err();
        !self.stopped
    }
}

/// The checking thread: counts the rows (a file problem is returned before any batch is sent,
/// so nothing is stored), then streams them, [`BATCH`] at a time, checked and sealed.
fn check_and_seal(
    format: Format,
    from: ImportFrom<'_>,
    source: Source,
    sealer: Sealer,
    actor: &str,
    to_store: &std::sync::mpsc::SyncSender<Checked>,
) -> Result<()> {
    let total = match format {
        Format::Csv => csv_rows(from.open()?)?.count(),
        Format::Json => json_each(from.open()?, &mut |_, _| true)?,
    };
    if to_store.send(Checked::Rows(total)).is_err() {
        return Ok(()); // the storing side stopped; it reports why
    }
    let mut batcher = Batcher {
        source,
        sealer,
        actor,
        now: OffsetDateTime::now_utc(),
        format,
        to_store,
        rows: Vec::with_capacity(BATCH),
        sealed: Vec::with_capacity(BATCH),
        rejected: 0,
        errors: Vec::new(),
        stopped: false,
    };
    match format {
        Format::Csv => {
            for (row, result) in csv_rows(from.open()?)? {
                if !batcher.push(row, result) {
                    return Ok(());
                }
            }
        }
        Format::Json => {
            let streamed = json_each(from.open()?, &mut |row, v| {
                batcher.push(row, from_stripe(&v))
            });
            if let Err(e) = streamed {
                // The counting pass read the same file whole: only a stop of the storing side
                // (or a file changed under us) ends here.
                return if batcher.stopped { Ok(()) } else { Err(e) };
            }
        }
    }
    batcher.flush();
    Ok(())
}

/// Reads a file (at most [`MAX_IMPORT_BYTES`]) and imports it, streaming.
pub fn import_file(
    slot: &mut SessionSlot,
    path: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<ImportReport> {
    import_file_with(slot, path, Duplicates::Warn, progress)
}

/// [`import_file`] with the choice of what to do with possible duplicates.
pub fn import_file_with(
    slot: &mut SessionSlot,
    path: &Path,
    duplicates: Duplicates,
    progress: &mut dyn FnMut(Progress),
) -> Result<ImportReport> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    import_as(
        slot,
        name,
        ImportFrom::File(path),
        Source::Import,
        duplicates,
        progress,
    )
}

#[cfg(test)]
mod tests;
