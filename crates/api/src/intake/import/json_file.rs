//! The JSON import format: an array of objects in Stripe's Accounts/Persons shape, streamed
//! one element at a time after a first pass has checked the whole syntax.

use super::*;

/// Reads text at a dotted path of a JSON object: absent or null is blank; numbers are
/// accepted as their decimal text; anything else is a typed error at that path.
pub(super) fn text_at(v: &Value, path: &str) -> std::result::Result<String, FieldError> {
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

pub(super) fn bool_at(v: &Value, path: &str) -> std::result::Result<bool, FieldError> {
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
pub(super) const JSON_FIELDS: &[(&str, &str)] = &[
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

pub(super) const JSON_PERSON_FIELDS: &[(&str, &str)] = &[
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
pub(super) fn json_path(path: &str) -> String {
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

pub(super) fn set(form: &mut ApplicationForm, path: &str, value: String) {
    if let Some((_, _, f)) = FORM_COLUMNS.iter().find(|(_, p, _)| *p == path) {
        *f(form) = value;
    }
}

pub(super) fn set_person(p: &mut PersonForm, path: &str, value: String) {
    if let Some((_, _, f)) = PERSON_COLUMNS.iter().find(|(_, q, _)| *q == path) {
        *f(p) = value;
    }
}

pub(super) fn entity_from_stripe(v: &Value) -> std::result::Result<String, FieldError> {
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

pub(super) fn from_stripe(v: &Value) -> std::result::Result<ApplicationForm, Vec<FieldError>> {
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
pub(super) fn json_each<R: Read>(
    input: R,
    each: &mut dyn FnMut(usize, Value) -> bool,
) -> Result<usize> {
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
pub(super) fn parse_json(content: &[u8]) -> Result<Rows> {
    let mut rows = Vec::new();
    json_each(content, &mut |n, v| {
        rows.push((n, from_stripe(&v)));
        true
    })?;
    Ok(rows)
}

// ---- the use case -----------------------------------------------------------------------------
