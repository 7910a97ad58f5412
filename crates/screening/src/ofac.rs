//! OFAC's legacy CSV format, as published for the SDN list and the consolidated non-SDN list.
//!
//! | file | columns |
//! |---|---|
//! | `sdn.csv` / `cons_prim.csv` | ent_num, name, type, program, title, call sign, vessel type, tonnage, GRT, vessel flag, vessel owner, remarks |
//! | `alt.csv` / `cons_alt.csv` | ent_num, alt_num, alt_type (aka, fka, nka), alt_name, alt_remarks |
//! | `add.csv` / `cons_add.csv` | ent_num, add_num, address, city/state/postal, country, add_remarks |
//! | `sdn_comments.csv` / `cons_comments.csv` | ent_num, remarks continued |
//!
//! `-0-` (often with a trailing space) means empty. Files use CRLF and may end with the DOS
//! end-of-file byte 0x1A.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListSource {
    /// The Specially Designated Nationals list.
    Sdn,
    /// The consolidated non-SDN lists (SSI, FSE, NS-MBS, CMIC…).
    Consolidated,
}

impl ListSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ListSource::Sdn => "sdn",
            ListSource::Consolidated => "consolidated",
        }
    }

    /// The four file names of the source: primary, alternates, addresses, comments.
    pub fn files(self) -> [&'static str; 4] {
        match self {
            ListSource::Sdn => ["sdn.csv", "alt.csv", "add.csv", "sdn_comments.csv"],
            ListSource::Consolidated => [
                "cons_prim.csv",
                "cons_alt.csv",
                "cons_add.csv",
                "cons_comments.csv",
            ],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Individual,
    Entity,
    Vessel,
    Aircraft,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NameKind {
    Primary,
    /// Also known as.
    Aka,
    /// Formerly known as.
    Fka,
    /// Now known as.
    Nka,
}

impl NameKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NameKind::Primary => "primary",
            NameKind::Aka => "a.k.a.",
            NameKind::Fka => "f.k.a.",
            NameKind::Nka => "n.k.a.",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListName {
    pub text: String,
    pub kind: NameKind,
    /// True when the alternate came from the remarks rather than the alternates file.
    pub from_remarks: bool,
}

/// An identity document or number from the remarks: `Passport P0017003 (Belize)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListId {
    pub kind: String,
    pub number: String,
    pub country: Option<String>,
}

/// One listed person, entity, vessel or aircraft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// `sdn:10278`, `consolidated:9639`: stable across list versions.
    pub uid: String,
    pub source: ListSource,
    pub ent_num: u64,
    pub kind: EntryKind,
    pub programs: Vec<String>,
    pub names: Vec<ListName>,
    /// Dates of birth as OFAC writes them (`28 Jul 1963`, `1962`, `circa 1955`).
    pub dobs: Vec<String>,
    /// The years those dates name (a range gives every year in it, up to 10).
    pub birth_years: Vec<i32>,
    /// Countries of nationality, citizenship, birth and addresses, as written by OFAC.
    pub countries: Vec<String>,
    /// The addresses file's lines for the entry (`street, city/state/postal, country`), for
    /// the reviewer and the sanctions report; screening does not use them.
    #[serde(default)]
    pub addresses: Vec<String>,
    pub ids: Vec<ListId>,
    pub remarks: String,
}

impl Entry {
    /// A digest of what a screen looks at: a disposition stays valid while it is unchanged.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        for n in &self.names {
            h.update(n.text.as_bytes());
            h.update([0]);
        }
        for d in &self.dobs {
            h.update(d.as_bytes());
            h.update([1]);
        }
        for c in &self.countries {
            h.update(c.as_bytes());
            h.update([2]);
        }
        h.finalize()
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// A parsed list: its entries and what was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedList {
    pub source: ListSource,
    pub entries: Vec<Entry>,
    pub files: Vec<FileInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    pub name: String,
    pub sha256: String,
    pub rows: usize,
    /// Rows about an entity that is not in the primary file (OFAC's extracts have some);
    /// skipped, and counted here.
    pub orphans: usize,
}

/// A file that cannot be read as the format says: which file, which line, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ListError {
    pub file: String,
    /// 1-based; 0 when the problem is the file as a whole.
    pub line: u64,
    pub reason: String,
}

impl fmt::Display for ListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.reason)
        } else {
            write!(f, "{} line {}: {}", self.file, self.line, self.reason)
        }
    }
}

fn err(file: &str, line: u64, reason: impl Into<String>) -> ListError {
    ListError {
        file: file.to_string(),
        line,
        reason: reason.into(),
    }
}

/// OFAC's empty marker.
fn value(raw: &str) -> &str {
    let t = raw.trim();
    if t == "-0-" {
        ""
    } else {
        t
    }
}

/// Reads one file into rows of exactly `columns` text fields.
fn read_rows(
    file: &str,
    bytes: &[u8],
    columns: usize,
) -> Result<Vec<(u64, Vec<String>)>, ListError> {
    let mut end = bytes.len();
    while end > 0 && bytes[end - 1] == 0x1A {
        end -= 1;
    }
    // OFAC ends every record with CRLF: a file that stops mid-line was cut off.
    if end > 0 && bytes[end - 1] != b'\n' {
        let line = bytes[..end].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        return Err(err(
            file,
            line,
            "ends in the middle of a record (is the file truncated?)",
        ));
    }
    let body = &bytes[..end];
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(body);
    let mut rows = Vec::new();
    let mut record = csv::ByteRecord::new();
    loop {
        let line_hint = reader.position().line();
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(line_hint, |p| p.line());
                return Err(err(file, line, "cannot be read as CSV (bad quoting?)"));
            }
        }
        let line = record.position().map_or(line_hint, |p| p.line());
        if record.len() == 1
            && record
                .get(0)
                .is_some_and(|f| f.iter().all(u8::is_ascii_whitespace))
        {
            continue;
        }
        if record.len() != columns {
            return Err(err(
                file,
                line,
                format!("has {} fields; expected {columns}", record.len()),
            ));
        }
        let mut fields = Vec::with_capacity(columns);
        for raw in record.iter() {
            let text =
                std::str::from_utf8(raw).map_err(|_| err(file, line, "is not valid UTF-8 text"))?;
            fields.push(value(text).to_string());
        }
        rows.push((line, fields));
    }
    // A file cut off inside a quoted field reads as one last, short record — caught above —
    // or as a record whose final field swallowed the rest; both end up here as errors.
    Ok(rows)
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn file_info(name: &str, bytes: &[u8], rows: usize) -> FileInfo {
    FileInfo {
        name: name.to_string(),
        sha256: sha256_hex(bytes),
        rows,
        orphans: 0,
    }
}

fn number(file: &str, line: u64, text: &str, what: &str) -> Result<u64, ListError> {
    text.parse()
        .map_err(|_| err(file, line, format!("{what} is not a number")))
}

fn years_in(text: &str) -> Vec<i32> {
    let years: Vec<i32> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|t| t.len() == 4)
        .filter_map(|t| t.parse().ok())
        .filter(|y| (1850..=2100).contains(y))
        .collect();
    match years.as_slice() {
        [a, b] if text.to_ascii_lowercase().contains(" to ") && b > a && b - a <= 10 => {
            (*a..=*b).collect()
        }
        _ => years,
    }
}

/// The text between the first pair of single quotes: `a.k.a. 'HESA'` → `HESA`.
fn quoted(text: &str) -> Option<&str> {
    let start = text.find('\'')?;
    let rest = &text[start + 1..];
    let end = rest.rfind('\'')?;
    Some(rest[..end].trim()).filter(|s| !s.is_empty())
}

fn strip_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    (text.len() >= prefix.len() && text[..prefix.len()].eq_ignore_ascii_case(prefix))
        .then(|| text[prefix.len()..].trim())
}

const ID_KINDS: [&str; 12] = [
    "Passport",
    "National ID No.",
    "SSN",
    "Cedula No.",
    "Tax ID No.",
    "Registration Number",
    "Registration ID",
    "Identification Number",
    "Driver's License No.",
    "C.U.R.P.",
    "NIT #",
    "D.N.I.",
];

/// Pulls the structured facts out of OFAC's remarks.
fn parse_remarks(remarks: &str, entry: &mut Entry) {
    for part in remarks.split(';') {
        let p = part.trim().trim_end_matches('.').trim();
        if p.is_empty() {
            continue;
        }
        let lower = p.to_ascii_lowercase();
        let alias = [
            ("a.k.a.", NameKind::Aka),
            ("f.k.a.", NameKind::Fka),
            ("n.k.a.", NameKind::Nka),
        ]
        .into_iter()
        .find_map(|(prefix, kind)| {
            let at = lower.find(prefix)?;
            (at <= 8).then_some((at + prefix.len(), kind))
        });
        if let Some((after, kind)) = alias {
            if let Some(name) = quoted(&p[after..]) {
                if !entry
                    .names
                    .iter()
                    .any(|n| n.text.eq_ignore_ascii_case(name))
                {
                    entry.names.push(ListName {
                        text: name.to_string(),
                        kind,
                        from_remarks: true,
                    });
                }
            }
        } else if let Some(rest) = strip_ci(p, "DOB") {
            entry.dobs.push(rest.to_string());
            entry.birth_years.extend(years_in(rest));
        } else if let Some(rest) = strip_ci(p, "alt. DOB") {
            entry.dobs.push(rest.to_string());
            entry.birth_years.extend(years_in(rest));
        } else if let Some(rest) = strip_ci(p, "POB") {
            if let Some(country) = rest.rsplit(',').next().map(str::trim) {
                entry.countries.push(country.to_string());
            }
        } else if let Some(rest) = strip_ci(p, "nationality")
            .or_else(|| strip_ci(p, "alt. nationality"))
            .or_else(|| strip_ci(p, "citizen"))
            .or_else(|| strip_ci(p, "alt. citizen"))
        {
            entry.countries.push(rest.to_string());
        } else if let Some(kind) = ID_KINDS.iter().find(|k| strip_ci(p, k).is_some()) {
            let rest = strip_ci(p, kind).unwrap_or("");
            let (number, country) = match rest.split_once('(') {
                Some((n, c)) => (n.trim(), Some(c.trim_end_matches(')').trim().to_string())),
                None => (rest, None),
            };
            if !number.is_empty() {
                entry.ids.push(ListId {
                    kind: kind.to_string(),
                    number: number.to_string(),
                    country,
                });
            }
        }
    }
}

/// Parses one source from its files' contents (`files` maps file name → bytes).
pub fn parse(
    source: ListSource,
    files: &HashMap<String, Vec<u8>>,
) -> Result<ParsedList, ListError> {
    let [prim_name, alt_name, add_name, comments_name] = source.files();
    let prim = files
        .get(prim_name)
        .ok_or_else(|| err(prim_name, 0, "is missing"))?;
    let mut infos = Vec::new();
    let mut entries: Vec<Entry> = Vec::new();
    let mut by_num: HashMap<u64, usize> = HashMap::new();
    let rows = read_rows(prim_name, prim, 12)?;
    infos.push(file_info(prim_name, prim, rows.len()));
    let mut remarks_of = Vec::new();
    for (line, f) in rows {
        let ent_num = number(prim_name, line, &f[0], "ent_num")?;
        if f[1].is_empty() {
            return Err(err(prim_name, line, "has no name"));
        }
        let kind = match f[2].to_ascii_lowercase().as_str() {
            "individual" => EntryKind::Individual,
            "vessel" => EntryKind::Vessel,
            "aircraft" => EntryKind::Aircraft,
            _ => EntryKind::Entity,
        };
        if by_num.insert(ent_num, entries.len()).is_some() {
            return Err(err(prim_name, line, "repeats an ent_num"));
        }
        remarks_of.push(f[11].clone());
        entries.push(Entry {
            uid: format!("{}:{ent_num}", source.as_str()),
            source,
            ent_num,
            kind,
            programs: f[3]
                .split([']', '['])
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect(),
            names: vec![ListName {
                text: f[1].clone(),
                kind: NameKind::Primary,
                from_remarks: false,
            }],
            dobs: Vec::new(),
            birth_years: Vec::new(),
            countries: Vec::new(),
            addresses: Vec::new(),
            ids: Vec::new(),
            remarks: String::new(),
        });
    }
    if let Some(bytes) = files.get(comments_name) {
        let rows = read_rows(comments_name, bytes, 2)?;
        let mut info = file_info(comments_name, bytes, rows.len());
        for (line, f) in rows {
            let n = number(comments_name, line, &f[0], "ent_num")?;
            // Comments continue remarks that did not fit.
            match by_num.get(&n) {
                Some(&i) => remarks_of[i].push_str(&f[1]),
                None => info.orphans += 1,
            }
        }
        infos.push(info);
    }
    for (entry, remarks) in entries.iter_mut().zip(remarks_of) {
        parse_remarks(&remarks, entry);
        entry.remarks = remarks;
    }
    if let Some(bytes) = files.get(alt_name) {
        let rows = read_rows(alt_name, bytes, 5)?;
        let mut info = file_info(alt_name, bytes, rows.len());
        for (line, f) in rows {
            let n = number(alt_name, line, &f[0], "ent_num")?;
            let Some(&i) = by_num.get(&n) else {
                info.orphans += 1;
                continue;
            };
            if f[3].is_empty() {
                continue;
            }
            let kind = match f[2].to_ascii_lowercase().as_str() {
                "fka" => NameKind::Fka,
                "nka" => NameKind::Nka,
                _ => NameKind::Aka,
            };
            let names = &mut entries[i].names;
            if let Some(existing) = names
                .iter_mut()
                .find(|x| x.text.eq_ignore_ascii_case(&f[3]))
            {
                existing.from_remarks = false;
            } else {
                names.push(ListName {
                    text: f[3].clone(),
                    kind,
                    from_remarks: false,
                });
            }
        }
        infos.push(info);
    }
    if let Some(bytes) = files.get(add_name) {
        let rows = read_rows(add_name, bytes, 6)?;
        let mut info = file_info(add_name, bytes, rows.len());
        for (line, f) in rows {
            let n = number(add_name, line, &f[0], "ent_num")?;
            let Some(&i) = by_num.get(&n) else {
                info.orphans += 1;
                continue;
            };
            if !f[4].is_empty() && !entries[i].countries.iter().any(|c| c == &f[4]) {
                entries[i].countries.push(f[4].clone());
            }
            let address: Vec<&str> = [&f[2], &f[3], &f[4]]
                .into_iter()
                .map(|p| p.trim())
                .filter(|p| !p.is_empty())
                .collect();
            if !address.is_empty() {
                entries[i].addresses.push(address.join(", "));
            }
        }
        infos.push(info);
    }
    for e in &mut entries {
        e.birth_years.sort_unstable();
        e.birth_years.dedup();
    }
    Ok(ParsedList {
        source,
        entries,
        files: infos,
    })
}

/// Reads every source whose primary file is in `dir` (SDN, consolidated, or both).
pub fn parse_dir(dir: &Path) -> Result<Vec<ParsedList>, ListError> {
    let shown = dir.display().to_string();
    let listing =
        std::fs::read_dir(dir).map_err(|_| err(&shown, 0, "cannot be read as a folder"))?;
    let mut files = HashMap::new();
    for item in listing.flatten() {
        let name = item.file_name().to_string_lossy().to_ascii_lowercase();
        if [ListSource::Sdn, ListSource::Consolidated]
            .iter()
            .any(|s| s.files().contains(&name.as_str()))
        {
            let bytes = std::fs::read(item.path()).map_err(|_| err(&name, 0, "cannot be read"))?;
            files.insert(name, bytes);
        }
    }
    let mut out = Vec::new();
    for source in [ListSource::Sdn, ListSource::Consolidated] {
        if files.contains_key(source.files()[0]) {
            out.push(parse(source, &files)?);
        }
    }
    if out.is_empty() {
        return Err(err(
            &shown,
            0,
            "holds neither sdn.csv nor cons_prim.csv (OFAC's CSV files)",
        ));
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests;
