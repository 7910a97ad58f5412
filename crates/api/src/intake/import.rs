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

// ---- CSV columns ------------------------------------------------------------------------------

type FormField = fn(&mut ApplicationForm) -> &mut String;
type PersonField = fn(&mut PersonForm) -> &mut String;

/// Business, bank and terms columns: (column, path in the form, accessor).
const FORM_COLUMNS: &[(&str, &str, FormField)] = &[
    ("legal_name", "business.legal_name", |f| {
        &mut f.business.legal_name
    }),
    ("dba", "business.dba", |f| &mut f.business.dba),
    ("entity_type", "business.entity_type", |f| {
        &mut f.business.entity_type
    }),
    ("ein", "business.ein", |f| &mut f.business.ein),
    ("incorporation_date", "business.incorporation_date", |f| {
        &mut f.business.incorporation_date
    }),
    ("incorporation_state", "business.incorporation_state", |f| {
        &mut f.business.incorporation_state
    }),
    (
        "incorporation_country",
        "business.incorporation_country",
        |f| &mut f.business.incorporation_country,
    ),
    ("address_line1", "business.address.line1", |f| {
        &mut f.business.address.line1
    }),
    ("address_line2", "business.address.line2", |f| {
        &mut f.business.address.line2
    }),
    ("address_city", "business.address.city", |f| {
        &mut f.business.address.city
    }),
    ("address_state", "business.address.state", |f| {
        &mut f.business.address.state
    }),
    ("address_postal_code", "business.address.postal_code", |f| {
        &mut f.business.address.postal_code
    }),
    ("address_country", "business.address.country", |f| {
        &mut f.business.address.country
    }),
    ("operating_line1", "business.operating_address.line1", |f| {
        &mut f.business.operating_address.line1
    }),
    ("operating_line2", "business.operating_address.line2", |f| {
        &mut f.business.operating_address.line2
    }),
    ("operating_city", "business.operating_address.city", |f| {
        &mut f.business.operating_address.city
    }),
    ("operating_state", "business.operating_address.state", |f| {
        &mut f.business.operating_address.state
    }),
    (
        "operating_postal_code",
        "business.operating_address.postal_code",
        |f| &mut f.business.operating_address.postal_code,
    ),
    (
        "operating_country",
        "business.operating_address.country",
        |f| &mut f.business.operating_address.country,
    ),
    ("phone", "business.phone", |f| &mut f.business.phone),
    ("email", "business.email", |f| &mut f.business.email),
    ("website", "business.website", |f| &mut f.business.website),
    ("mcc", "business.mcc", |f| &mut f.business.mcc),
    ("product_description", "business.product_description", |f| {
        &mut f.business.product_description
    }),
    ("monthly_volume", "business.monthly_volume", |f| {
        &mut f.business.monthly_volume
    }),
    ("average_ticket", "business.average_ticket", |f| {
        &mut f.business.average_ticket
    }),
    ("max_ticket", "business.max_ticket", |f| {
        &mut f.business.max_ticket
    }),
    (
        "card_present_percent",
        "business.card_present_percent",
        |f| &mut f.business.card_present_percent,
    ),
    ("bank_holder_name", "bank.holder_name", |f| {
        &mut f.bank.holder_name
    }),
    ("bank_country", "bank.country", |f| &mut f.bank.country),
    ("bank_routing_number", "bank.routing_number", |f| {
        &mut f.bank.routing_number
    }),
    ("bank_account_number", "bank.account_number", |f| {
        &mut f.bank.account_number
    }),
    ("bank_account_type", "bank.account_type", |f| {
        &mut f.bank.account_type
    }),
    ("bank_iban", "bank.iban", |f| &mut f.bank.iban),
    ("terms_accepted_at", "terms.accepted_at", |f| {
        &mut f.terms.accepted_at
    }),
    ("terms_signer_name", "terms.signer_name", |f| {
        &mut f.terms.signer_name
    }),
    ("terms_ip", "terms.ip", |f| &mut f.terms.ip),
    ("terms_user_agent", "terms.user_agent", |f| {
        &mut f.terms.user_agent
    }),
];

/// Columns of one person group, after the `ownerN_` prefix; `is_control` is handled apart.
const PERSON_COLUMNS: &[(&str, &str, PersonField)] = &[
    ("first_name", "first_name", |p| &mut p.first_name),
    ("last_name", "last_name", |p| &mut p.last_name),
    ("title", "title", |p| &mut p.title),
    ("dob", "dob", |p| &mut p.dob),
    ("ssn", "ssn", |p| &mut p.ssn),
    ("itin", "itin", |p| &mut p.itin),
    ("passport_number", "passport_number", |p| {
        &mut p.passport_number
    }),
    ("passport_country", "passport_country", |p| {
        &mut p.passport_country
    }),
    ("address_line1", "address.line1", |p| &mut p.address.line1),
    ("address_line2", "address.line2", |p| &mut p.address.line2),
    ("address_city", "address.city", |p| &mut p.address.city),
    ("address_state", "address.state", |p| &mut p.address.state),
    ("address_postal_code", "address.postal_code", |p| {
        &mut p.address.postal_code
    }),
    ("address_country", "address.country", |p| {
        &mut p.address.country
    }),
    ("email", "email", |p| &mut p.email),
    ("phone", "phone", |p| &mut p.phone),
    ("ownership_percent", "ownership_percent", |p| {
        &mut p.ownership_percent
    }),
];
const IS_CONTROL: &str = "is_control";

fn optional_column(name: &str) -> bool {
    name.starts_with("operating_")
}

/// Every column, in file order, for `people` person groups.
pub fn csv_header(people: usize) -> Vec<String> {
    let mut cols: Vec<String> = FORM_COLUMNS.iter().map(|(c, _, _)| c.to_string()).collect();
    for n in 1..=people {
        cols.extend(
            PERSON_COLUMNS
                .iter()
                .map(|(c, _, _)| format!("owner{n}_{c}")),
        );
        cols.push(format!("owner{n}_{IS_CONTROL}"));
    }
    cols
}

/// The CSV column for a form path (`people[1].ssn` → `owner2_ssn`).
fn csv_column(path: &str) -> String {
    if let Some((_, col, _)) = FORM_COLUMNS
        .iter()
        .map(|(c, p, a)| (p, c, a))
        .find(|(p, _, _)| **p == path)
    {
        return col.to_string();
    }
    if let Some(rest) = path.strip_prefix("people[") {
        if let Some((i, field)) = rest.split_once("].") {
            if let Ok(i) = i.parse::<usize>() {
                let col = PERSON_COLUMNS
                    .iter()
                    .find(|(_, p, _)| *p == field)
                    .map_or(field, |(c, _, _)| c);
                return format!("owner{}_{col}", i + 1);
            }
        }
    }
    if path == "people" {
        return "owner columns".into();
    }
    path.to_string()
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "" | "no" | "n" | "false" | "0" => Some(false),
        "yes" | "y" | "true" | "1" => Some(true),
        _ => None,
    }
}

/// A header cell safe to show: only a name shaped like our columns (lower-case snake case,
/// with an underscore, at most 40 characters). Anything else — a header row that is missing, so
/// the first row's SSN or name stands where a column name should — is shown by its position.
fn shown(name: &str, position: usize) -> String {
    let column_like = name.len() <= 40
        && name.contains('_')
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if column_like {
        name.to_string()
    } else {
        format!("number {position} (not a column name: is the header row missing?)")
    }
}

enum Slot {
    Form(FormField),
    Person(usize, PersonField),
    Control(usize),
}

/// Reads the CSV rows of `reader` one at a time; the header is checked first (a problem with
/// it is a file error, before any row).
struct CsvRows<R: Read> {
    reader: csv::Reader<R>,
    slots: Vec<Slot>,
    names: Vec<String>,
    record: csv::ByteRecord,
    row: usize,
}

fn csv_rows<R: Read>(input: R) -> Result<CsvRows<R>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(input);
    let header = reader
        .byte_headers()
        .map_err(|_| Error::invalid_input("file", "the CSV header cannot be read"))?
        .clone();
    let mut slots = Vec::with_capacity(header.len());
    let mut seen = std::collections::HashSet::new();
    // Which form value each column fills: two names for one value (`owner01_ssn` beside
    // `owner1_ssn`) would let one silently win.
    let mut filled: HashMap<(usize, usize), String> = HashMap::new();
    for (position, raw) in header.iter().enumerate() {
        let position = position + 1;
        let name = std::str::from_utf8(raw)
            .map_err(|_| Error::invalid_input("file", "a column name is not valid UTF-8"))?
            .trim()
            .to_ascii_lowercase();
        if !seen.insert(name.clone()) {
            return Err(Error::invalid_input(
                "file",
                &format!("column {} appears twice", shown(&name, position)),
            ));
        }
        let (slot, target) = if let Some(i) = FORM_COLUMNS.iter().position(|(c, _, _)| *c == name) {
            (Slot::Form(FORM_COLUMNS[i].2), (0, i))
        } else {
            // `owner<N>_…` with N written as we write it: 1 to 5, no leading zero.
            let person = name
                .strip_prefix("owner")
                .and_then(|rest| rest.split_once('_'))
                .filter(|(n, _)| n.len() == 1 && n.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|(n, col)| Some((n.parse::<usize>().ok()?, col)))
                .filter(|(n, _)| (1..=MAX_PEOPLE).contains(n));
            match person {
                Some((n, IS_CONTROL)) => (Slot::Control(n - 1), (n, PERSON_COLUMNS.len())),
                Some((n, col)) => match PERSON_COLUMNS.iter().position(|(c, _, _)| *c == col) {
                    Some(i) => (Slot::Person(n - 1, PERSON_COLUMNS[i].2), (n, i)),
                    None => {
                        return Err(Error::invalid_input(
                            "file",
                            &format!("unknown column {}", shown(&name, position)),
                        ))
                    }
                },
                None => {
                    return Err(Error::invalid_input(
                        "file",
                        &format!(
                            "unknown column {} (see docs/IMPORT.md for the columns)",
                            shown(&name, position)
                        ),
                    ))
                }
            }
        };
        if let Some(first) = filled.insert(target, name.clone()) {
            return Err(Error::invalid_input(
                "file",
                &format!(
                    "columns {} and {} fill the same value",
                    shown(&first, 0),
                    shown(&name, position)
                ),
            ));
        }
        slots.push(slot);
    }
    let missing: Vec<&str> = FORM_COLUMNS
        .iter()
        .map(|(c, _, _)| *c)
        .filter(|c| !optional_column(c) && !seen.contains(*c))
        .collect();
    if !missing.is_empty() {
        return Err(Error::invalid_input(
            "file",
            &format!("missing columns: {}", missing.join(", ")),
        ));
    }
    let groups = (1..=MAX_PEOPLE)
        .filter(|n| seen.iter().any(|c| c.starts_with(&format!("owner{n}_"))))
        .collect::<Vec<_>>();
    for n in &groups {
        let wanted = PERSON_COLUMNS
            .iter()
            .map(|(c, _, _)| format!("owner{n}_{c}"))
            .chain([format!("owner{n}_{IS_CONTROL}")]);
        let absent: Vec<String> = wanted.filter(|c| !seen.contains(c)).collect();
        if !absent.is_empty() {
            return Err(Error::invalid_input(
                "file",
                &format!("missing columns: {}", absent.join(", ")),
            ));
        }
    }
    if !groups.contains(&1) {
        return Err(Error::invalid_input(
            "file",
            "missing columns: the owner1_ group (see docs/IMPORT.md)",
        ));
    }
    let names: Vec<String> = header
        .iter()
        .map(|h| String::from_utf8_lossy(h).trim().to_ascii_lowercase())
        .collect();
    Ok(CsvRows {
        reader,
        slots,
        names,
        record: csv::ByteRecord::new(),
        row: 0,
    })
}

impl<R: Read> Iterator for CsvRows<R> {
    type Item = (usize, RowResult);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.reader.read_byte_record(&mut self.record) {
                Ok(false) => return None,
                Ok(true) => {}
                Err(_) => {
                    self.row += 1;
                    return Some((
                        self.row,
                        Err(vec![FieldError::new(
                            "row",
                            "cannot be read as CSV (bad quoting?)",
                        )]),
                    ));
                }
            }
            if self
                .record
                .iter()
                .all(|f| f.iter().all(u8::is_ascii_whitespace))
            {
                continue; // a blank line is not an application
            }
            self.row += 1;
            return Some((self.row, self.current()));
        }
    }
}

impl<R: Read> CsvRows<R> {
    fn current(&self) -> RowResult {
        let record = &self.record;
        // No value of ours spans lines: a line break inside a field is a quote opened here
        // and closed late or never, which swallowed the lines after it.
        let swallowed: usize = record
            .iter()
            .map(|f| f.iter().filter(|b| **b == b'\n').count())
            .sum();
        if swallowed > 0 {
            return Err(vec![FieldError::new(
                "row",
                format!(
                    "a quote opened in this row is not closed where it should be: it ran over the next {swallowed} line(s), which were not read as rows"
                ),
            )]);
        }
        if record.len() != self.slots.len() {
            return Err(vec![FieldError::new(
                "row",
                format!(
                    "has {} fields; the header has {}",
                    record.len(),
                    self.slots.len()
                ),
            )]);
        }
        let mut form = ApplicationForm::default();
        let mut people: Vec<Option<PersonForm>> = vec![None; MAX_PEOPLE];
        let mut errors = Vec::new();
        for ((raw, slot), name) in record.iter().zip(&self.slots).zip(&self.names) {
            let Ok(text) = std::str::from_utf8(raw) else {
                errors.push(FieldError::new(name.clone(), "is not valid UTF-8 text"));
                continue;
            };
            match slot {
                Slot::Form(f) => *f(&mut form) = text.to_string(),
                Slot::Person(i, f) => {
                    if !text.trim().is_empty() {
                        *f(people[*i].get_or_insert_with(PersonForm::default)) = text.to_string();
                    }
                }
                Slot::Control(i) => match parse_bool(text) {
                    Some(true) => {
                        people[*i]
                            .get_or_insert_with(PersonForm::default)
                            .is_control = true
                    }
                    Some(false) => {}
                    None => errors.push(FieldError::new(name.clone(), "must be yes or no")),
                },
            }
        }
        form.people = people
            .into_iter()
            .enumerate()
            .filter_map(|(i, p)| {
                p.map(|mut p| {
                    p.id = format!("owner{}", i + 1);
                    p
                })
            })
            .collect();
        if errors.is_empty() {
            Ok(form)
        } else {
            Err(errors)
        }
    }
}

/// All rows of a CSV held in memory (tests).
#[cfg(test)]
fn parse_csv(content: &[u8]) -> Result<Rows> {
    let content = content.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(content);
    Ok(csv_rows(content)?.collect())
}

// ---- JSON (Stripe-like) -----------------------------------------------------------------------

/// Reads text at a dotted path of a JSON object: absent or null is blank; numbers are
/// accepted as their decimal text; anything else is a typed error at that path.
fn text_at(v: &Value, path: &str) -> std::result::Result<String, FieldError> {
    let mut cur = v;
    for key in path.split('.') {
        match cur.get(key) {
            Some(next) => cur = next,
            None => return Ok(String::new()),
        }
    }
    match cur {
        Value::Null => Ok(String::new()),
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(FieldError::new(path, "must be text or a number")),
    }
}

fn bool_at(v: &Value, path: &str) -> std::result::Result<bool, FieldError> {
    let mut cur = v;
    for key in path.split('.') {
        match cur.get(key) {
            Some(next) => cur = next,
            None => return Ok(false),
        }
    }
    match cur {
        Value::Null => Ok(false),
        Value::Bool(b) => Ok(*b),
        _ => Err(FieldError::new(path, "must be true or false")),
    }
}

/// JSON paths of the Stripe-like shape, with the form path each fills.
const JSON_FIELDS: &[(&str, &str)] = &[
    ("company.name", "business.legal_name"),
    ("business_profile.name", "business.dba"),
    ("company.tax_id", "business.ein"),
    ("company.incorporation.date", "business.incorporation_date"),
    (
        "company.incorporation.state",
        "business.incorporation_state",
    ),
    (
        "company.incorporation.country",
        "business.incorporation_country",
    ),
    ("company.address.line1", "business.address.line1"),
    ("company.address.line2", "business.address.line2"),
    ("company.address.city", "business.address.city"),
    ("company.address.state", "business.address.state"),
    (
        "company.address.postal_code",
        "business.address.postal_code",
    ),
    ("company.address.country", "business.address.country"),
    (
        "business_profile.support_address.line1",
        "business.operating_address.line1",
    ),
    (
        "business_profile.support_address.line2",
        "business.operating_address.line2",
    ),
    (
        "business_profile.support_address.city",
        "business.operating_address.city",
    ),
    (
        "business_profile.support_address.state",
        "business.operating_address.state",
    ),
    (
        "business_profile.support_address.postal_code",
        "business.operating_address.postal_code",
    ),
    (
        "business_profile.support_address.country",
        "business.operating_address.country",
    ),
    ("company.phone", "business.phone"),
    ("business_profile.support_email", "business.email"),
    ("business_profile.url", "business.website"),
    ("business_profile.mcc", "business.mcc"),
    (
        "business_profile.product_description",
        "business.product_description",
    ),
    ("business_profile.monthly_volume", "business.monthly_volume"),
    ("business_profile.average_ticket", "business.average_ticket"),
    ("business_profile.max_ticket", "business.max_ticket"),
    (
        "business_profile.card_present_percent",
        "business.card_present_percent",
    ),
    ("external_account.account_holder_name", "bank.holder_name"),
    ("external_account.country", "bank.country"),
    ("external_account.routing_number", "bank.routing_number"),
    ("external_account.account_type", "bank.account_type"),
    ("tos_acceptance.ip", "terms.ip"),
    ("tos_acceptance.user_agent", "terms.user_agent"),
    ("tos_acceptance.signer_name", "terms.signer_name"),
];

const JSON_PERSON_FIELDS: &[(&str, &str)] = &[
    ("first_name", "first_name"),
    ("last_name", "last_name"),
    ("relationship.title", "title"),
    ("id_number", "ssn"),
    ("itin", "itin"),
    ("passport_number", "passport_number"),
    ("passport_country", "passport_country"),
    ("address.line1", "address.line1"),
    ("address.line2", "address.line2"),
    ("address.city", "address.city"),
    ("address.state", "address.state"),
    ("address.postal_code", "address.postal_code"),
    ("address.country", "address.country"),
    ("email", "email"),
    ("phone", "phone"),
    ("relationship.percent_ownership", "ownership_percent"),
];

/// The JSON path for a form path, for error reports.
fn json_path(path: &str) -> String {
    if let Some((j, _)) = JSON_FIELDS.iter().find(|(_, p)| *p == path) {
        return j.to_string();
    }
    match path {
        "business.entity_type" => return "business_type".into(),
        "bank.account_number" | "bank.iban" => return "external_account.account_number".into(),
        "terms.accepted_at" => return "tos_acceptance.date".into(),
        _ => {}
    }
    if let Some(rest) = path.strip_prefix("people[") {
        if let Some((i, field)) = rest.split_once("].") {
            let j = match field {
                "dob" => "dob",
                "is_control" => "relationship.representative",
                f => JSON_PERSON_FIELDS
                    .iter()
                    .find(|(_, p)| *p == f)
                    .map_or(f, |(j, _)| j),
            };
            return format!("persons[{i}].{j}");
        }
    }
    if path == "people" {
        return "persons".into();
    }
    path.to_string()
}

fn set(form: &mut ApplicationForm, path: &str, value: String) {
    if let Some((_, _, f)) = FORM_COLUMNS.iter().find(|(_, p, _)| *p == path) {
        *f(form) = value;
    }
}

fn set_person(p: &mut PersonForm, path: &str, value: String) {
    if let Some((_, _, f)) = PERSON_COLUMNS.iter().find(|(_, q, _)| *q == path) {
        *f(p) = value;
    }
}

fn entity_from_stripe(v: &Value) -> std::result::Result<String, FieldError> {
    let business_type = text_at(v, "business_type")?;
    let structure = text_at(v, "company.structure")?;
    let entity = match (business_type.as_str(), structure.as_str()) {
        ("", _) => "",
        ("individual", _) => "sole_proprietorship",
        ("non_profit", _) => "non_profit",
        ("government_entity", _) => "government_entity",
        ("company", "private_partnership") => "partnership",
        (
            "company",
            s @ ("single_member_llc" | "multi_member_llc" | "private_corporation"
            | "public_corporation"),
        ) => s,
        ("company", "") => {
            return Err(FieldError::new(
                "company.structure",
                "is required for a company",
            ))
        }
        ("company", _) => {
            return Err(FieldError::new(
                "company.structure",
                "must be single_member_llc, multi_member_llc, private_corporation, public_corporation or private_partnership",
            ))
        }
        _ => {
            return Err(FieldError::new(
                "business_type",
                "must be individual, company, non_profit or government_entity",
            ))
        }
    };
    Ok(entity.to_string())
}

fn from_stripe(v: &Value) -> std::result::Result<ApplicationForm, Vec<FieldError>> {
    if !v.is_object() {
        return Err(vec![FieldError::new("row", "must be a JSON object")]);
    }
    let mut errors = Vec::new();
    let mut keep = |r: std::result::Result<String, FieldError>| {
        r.unwrap_or_else(|e| {
            errors.push(e);
            String::new()
        })
    };
    let mut form = ApplicationForm::default();
    form.business.entity_type = keep(entity_from_stripe(v));
    for (json, path) in JSON_FIELDS {
        let value = keep(text_at(v, json));
        set(&mut form, path, value);
    }
    let account = keep(text_at(v, "external_account.account_number"));
    if form.bank.country.trim().eq_ignore_ascii_case("US") || form.bank.country.trim().is_empty() {
        form.bank.account_number = account;
    } else {
        form.bank.iban = account;
    }
    form.terms.accepted_at = match v.pointer("/tos_acceptance/date") {
        None | Some(Value::Null) => String::new(),
        Some(Value::Number(n)) => n
            .as_i64()
            .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
            .and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_else(|| {
                errors.push(FieldError::new(
                    "tos_acceptance.date",
                    "must be a Unix timestamp in seconds",
                ));
                String::new()
            }),
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            errors.push(FieldError::new(
                "tos_acceptance.date",
                "must be a Unix timestamp in seconds",
            ));
            String::new()
        }
    };
    match v.get("persons") {
        None | Some(Value::Null) => {}
        Some(Value::Array(persons)) => {
            for (i, pv) in persons.iter().enumerate() {
                let mut p = PersonForm::default();
                let mut keep = |r: std::result::Result<String, FieldError>| {
                    r.unwrap_or_else(|e| {
                        errors.push(FieldError::new(
                            format!("persons[{i}].{}", e.field),
                            e.reason,
                        ));
                        String::new()
                    })
                };
                p.id = keep(text_at(pv, "id"));
                if p.id.is_empty() {
                    p.id = format!("person{}", i + 1);
                }
                for (json, path) in JSON_PERSON_FIELDS {
                    let value = keep(text_at(pv, json));
                    set_person(&mut p, path, value);
                }
                let (y, m, d) = (
                    keep(text_at(pv, "dob.year")),
                    keep(text_at(pv, "dob.month")),
                    keep(text_at(pv, "dob.day")),
                );
                if !(y.is_empty() && m.is_empty() && d.is_empty()) {
                    p.dob = format!("{y:0>4}-{m:0>2}-{d:0>2}");
                }
                let owner = bool_at(pv, "relationship.owner").unwrap_or_else(|e| {
                    errors.push(FieldError::new(
                        format!("persons[{i}].{}", e.field),
                        e.reason,
                    ));
                    true // reported; do not also complain about the percentage
                });
                if !owner && !p.ownership_percent.is_empty() && p.ownership_percent != "0" {
                    errors.push(FieldError::new(
                        format!("persons[{i}].relationship.owner"),
                        "must be true when percent_ownership is given",
                    ));
                }
                p.is_control = bool_at(pv, "relationship.representative").unwrap_or_else(|e| {
                    errors.push(FieldError::new(
                        format!("persons[{i}].{}", e.field),
                        e.reason,
                    ));
                    false
                });
                form.people.push(p);
            }
        }
        Some(_) => errors.push(FieldError::new("persons", "must be a list")),
    }
    if form.terms.signer_name.is_empty() {
        if let Some(rep) = form.people.iter().find(|p| p.is_control) {
            form.terms.signer_name = format!("{} {}", rep.first_name, rep.last_name);
        }
    }
    if errors.is_empty() {
        Ok(form)
    } else {
        Err(errors)
    }
}

/// Calls `each` with every application of a JSON file — an array, or an object with a `data`
/// (or `applications`) array — as it is read; returns how many there were. Nothing but the
/// current application is held in memory.
fn json_each<R: Read>(input: R, each: &mut dyn FnMut(usize, Value) -> bool) -> Result<usize> {
    use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

    struct Items<'a>(&'a mut dyn FnMut(usize, Value) -> bool);

    impl<'de> DeserializeSeed<'de> for Items<'_> {
        type Value = usize;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<usize, D::Error> {
            d.deserialize_seq(self)
        }
    }

    impl<'de> Visitor<'de> for Items<'_> {
        type Value = usize;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an array of applications")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<usize, A::Error> {
            let mut n = 0;
            while let Some(v) = seq.next_element::<Value>()? {
                n += 1;
                if !(self.0)(n, v) {
                    return Err(serde::de::Error::custom("stopped"));
                }
            }
            Ok(n)
        }
    }

    struct Top<'a>(&'a mut dyn FnMut(usize, Value) -> bool);

    impl<'de> Visitor<'de> for Top<'_> {
        type Value = Option<usize>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an array of applications")
        }
        fn visit_seq<A: SeqAccess<'de>>(
            self,
            seq: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            Items(self.0).visit_seq(seq).map(Some)
        }
        fn visit_map<A: MapAccess<'de>>(
            self,
            mut map: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            let mut found = None;
            while let Some(key) = map.next_key::<String>()? {
                if found.is_none() && (key == "data" || key == "applications") {
                    found = Some(map.next_value_seed(Items(&mut *self.0))?);
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(found)
        }
        fn visit_bool<E>(self, _: bool) -> std::result::Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E>(self, _: i64) -> std::result::Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E>(self, _: u64) -> std::result::Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E>(self, _: f64) -> std::result::Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_str<E>(self, _: &str) -> std::result::Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E>(self) -> std::result::Result<Self::Value, E> {
            Ok(None)
        }
    }

    let mut de = serde_json::Deserializer::from_reader(input);
    let found = de.deserialize_any(Top(each)).and_then(|n| {
        de.end()?;
        Ok(n)
    });
    match found {
        Ok(Some(n)) => Ok(n),
        Ok(None) => Err(Error::invalid_input(
            "file",
            "must be a JSON array of applications (or an object with a \"data\" array)",
        )),
        // serde_json's message can quote the input; say only where.
        Err(e) => Err(Error::invalid_input(
            "file",
            &format!(
                "is not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            ),
        )),
    }
}

/// All rows of a JSON file held in memory (tests).
#[cfg(test)]
fn parse_json(content: &[u8]) -> Result<Rows> {
    let mut rows = Vec::new();
    json_each(content, &mut |n, v| {
        rows.push((n, from_stripe(&v)));
        true
    })?;
    Ok(rows)
}

// ---- the use case -----------------------------------------------------------------------------

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
                self.sealed.push(self.sealer.prepare(&NewApplication {
                    id: &id,
                    status: domain::intake::ApplicationStatus::Submitted,
                    source: self.source,
                    form: &form,
                    actor: self.actor,
                    now_ms: now_ms(self.now),
                }));
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

/// Writes forms as CSV in the import format (the demo generator and the docs sample use it).
pub fn to_csv(forms: &[ApplicationForm]) -> Vec<u8> {
    let people = forms
        .iter()
        .map(|f| f.people.len())
        .max()
        .unwrap_or(1)
        .max(1);
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = csv_header(people);
    let _ = w.write_record(&header);
    for form in forms {
        let mut f = form.clone();
        let mut row: Vec<String> = FORM_COLUMNS
            .iter()
            .map(|(_, _, get)| get(&mut f).clone())
            .collect();
        for n in 0..people {
            match f.people.get_mut(n) {
                Some(p) => {
                    row.extend(PERSON_COLUMNS.iter().map(|(_, _, get)| get(p).clone()));
                    row.push(if p.is_control { "yes" } else { "no" }.into());
                }
                None => row.extend(std::iter::repeat_n(String::new(), PERSON_COLUMNS.len() + 1)),
            }
        }
        let _ = w.write_record(&row);
    }
    w.into_inner().unwrap_or_default()
}

#[cfg(test)]
mod tests;
