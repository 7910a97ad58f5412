//! The CSV import format: one row per application, people as repeated column groups
//! (`owner1_…` to `owner5_…`), streamed row by row. Documented in `docs/IMPORT.md`.

use super::*;

pub(super) type FormField = fn(&mut ApplicationForm) -> &mut String;
pub(super) type PersonField = fn(&mut PersonForm) -> &mut String;

/// Business, bank and terms columns: (column, path in the form, accessor).
pub(super) const FORM_COLUMNS: &[(&str, &str, FormField)] = &[
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
pub(super) const PERSON_COLUMNS: &[(&str, &str, PersonField)] = &[
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
pub(super) const IS_CONTROL: &str = "is_control";

pub(super) fn optional_column(name: &str) -> bool {
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
pub(super) fn csv_column(path: &str) -> String {
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

pub(super) fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "" | "no" | "n" | "false" | "0" => Some(false),
        "yes" | "y" | "true" | "1" => Some(true),
        _ => None,
    }
}

/// A header cell safe to show: only a name shaped like our columns (lower-case snake case,
/// with an underscore, at most 40 characters). Anything else — a header row that is missing, so
/// the first row's SSN or name stands where a column name should — is shown by its position.
pub(super) fn shown(name: &str, position: usize) -> String {
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

pub(super) enum Slot {
    Form(FormField),
    Person(usize, PersonField),
    Control(usize),
}

/// Reads the CSV rows of `reader` one at a time; the header is checked first (a problem with
/// it is a file error, before any row).
pub(super) struct CsvRows<R: Read> {
    reader: csv::Reader<R>,
    slots: Vec<Slot>,
    names: Vec<String>,
    record: csv::ByteRecord,
    row: usize,
}

pub(super) fn csv_rows<R: Read>(input: R) -> Result<CsvRows<R>> {
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
pub(super) fn parse_csv(content: &[u8]) -> Result<Rows> {
    let content = content.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(content);
    Ok(csv_rows(content)?.collect())
}

// ---- JSON (Stripe-like) -----------------------------------------------------------------------

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
