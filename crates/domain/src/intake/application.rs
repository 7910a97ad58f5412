//! The application form: what the wizard, the CSV/JSON import and the demo generator fill in,
//! and the rules that decide whether it is a valid draft or a complete application.
//!
//! Values travel as text, the way people type them; [`ApplicationForm::check`] parses every
//! filled field with the value types of this module and returns a normalised copy, or every
//! problem at once, each named by its path in the form (`business.ein`, `people[1].ssn`).

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime};

use super::bank::{AccountNumber, BankAccountType, Iban, RoutingNumber};
use super::business::{Amount, Ein, EntityType, Mcc, Percent};
use super::contact::{CountryCode, Email, Phone, UsState, WebsiteUrl, ZipCode};
use super::person::{DateOfBirth, Itin, PassportNumber, Ssn};
use super::text::{clean_text, FieldError};
use crate::mask::mask_tail;

/// At most four owners of 25% or more, plus a control person who owns less.
pub const MAX_PEOPLE: usize = 5;

/// A postal address as typed.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default, deny_unknown_fields)]
pub struct AddressForm {
    pub line1: String,
    pub line2: String,
    pub city: String,
    pub state: String,
    pub postal_code: String,
    pub country: String,
}

#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default, deny_unknown_fields)]
pub struct BusinessForm {
    pub legal_name: String,
    pub dba: String,
    /// One of [`EntityType::as_str`].
    pub entity_type: String,
    /// Sensitive: sealed, masked when shown.
    pub ein: String,
    /// `YYYY-MM-DD`.
    pub incorporation_date: String,
    pub incorporation_state: String,
    pub incorporation_country: String,
    pub address: AddressForm,
    /// Left blank when the business operates at its registered address.
    pub operating_address: AddressForm,
    pub phone: String,
    pub email: String,
    pub website: String,
    pub mcc: String,
    pub product_description: String,
    /// Expected monthly card volume, in US dollars.
    pub monthly_volume: String,
    pub average_ticket: String,
    pub max_ticket: String,
    /// Share of card-present volume, 0–100; the rest is card-not-present.
    pub card_present_percent: String,
}

#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default, deny_unknown_fields)]
pub struct PersonForm {
    /// Stable id of the person within the application (kept across draft saves).
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub title: String,
    /// `YYYY-MM-DD`.
    pub dob: String,
    /// Sensitive. US persons give an SSN or an ITIN; others a passport.
    pub ssn: String,
    pub itin: String,
    pub passport_number: String,
    pub passport_country: String,
    pub address: AddressForm,
    pub email: String,
    pub phone: String,
    /// Blank or 0 when the person is not an owner.
    pub ownership_percent: String,
    /// The one person with significant control (CEO, managing member…).
    pub is_control: bool,
}

#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default, deny_unknown_fields)]
pub struct BankForm {
    pub holder_name: String,
    pub country: String,
    pub routing_number: String,
    /// Sensitive.
    pub account_number: String,
    /// `checking` or `savings`.
    pub account_type: String,
    /// Sensitive; non-US accounts.
    pub iban: String,
}

/// Evidence that the merchant accepted the platform's terms.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default, deny_unknown_fields)]
pub struct TermsForm {
    /// RFC 3339 timestamp.
    pub accepted_at: String,
    pub signer_name: String,
    pub ip: String,
    pub user_agent: String,
}

/// A whole application as typed. `Debug` never prints its values.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default, deny_unknown_fields)]
pub struct ApplicationForm {
    pub business: BusinessForm,
    pub people: Vec<PersonForm>,
    pub bank: BankForm,
    pub terms: TermsForm,
}

impl fmt::Debug for ApplicationForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApplicationForm {{ people: {}, .. }}", self.people.len())
    }
}

/// How strict [`ApplicationForm::check`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completeness {
    /// A draft: blank fields are fine, filled ones must be valid.
    Draft,
    /// Ready for review: every required field is filled and every cross-field rule holds.
    Complete,
}

/// Which kind of sensitive value, for blind indexes (exact-match look-ups without decrypting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexKind {
    Ein,
    Ssn,
    BankAccount,
    /// Business and people's email addresses (duplicate contact details).
    Email,
    /// Business and people's phone numbers.
    Phone,
    /// Registered, operating and home addresses, normalised ([`address_key`]).
    Address,
}

impl IndexKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IndexKind::Ein => "ein",
            IndexKind::Ssn => "ssn",
            IndexKind::BankAccount => "bank_account",
            IndexKind::Email => "email",
            IndexKind::Phone => "phone",
            IndexKind::Address => "address",
        }
    }
}

/// The same address however it was typed: case, punctuation and spacing ignored, the usual
/// USPS abbreviations applied (Street → st, Suite → ste, North → n…), a US ZIP+4 cut to its
/// five digits. `None` without a first line.
pub fn address_key(a: &AddressForm) -> Option<String> {
    const SHORT: &[(&str, &str)] = &[
        ("street", "st"),
        ("avenue", "ave"),
        ("av", "ave"),
        ("road", "rd"),
        ("boulevard", "blvd"),
        ("drive", "dr"),
        ("lane", "ln"),
        ("court", "ct"),
        ("place", "pl"),
        ("square", "sq"),
        ("terrace", "ter"),
        ("highway", "hwy"),
        ("parkway", "pkwy"),
        ("circle", "cir"),
        ("suite", "ste"),
        ("apartment", "apt"),
        ("floor", "fl"),
        ("building", "bldg"),
        ("north", "n"),
        ("south", "s"),
        ("east", "e"),
        ("west", "w"),
        ("northeast", "ne"),
        ("northwest", "nw"),
        ("southeast", "se"),
        ("southwest", "sw"),
    ];
    let words = |s: &str| -> String {
        s.to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| {
                SHORT
                    .iter()
                    .find(|(long, _)| *long == w)
                    .map_or(w, |(_, short)| short)
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let line1 = words(&a.line1);
    if line1.is_empty() {
        return None;
    }
    let country = a.country.trim().to_uppercase();
    let postal: String = if country == "US" || country.is_empty() {
        a.postal_code
            .chars()
            .filter(char::is_ascii_digit)
            .take(5)
            .collect()
    } else {
        words(&a.postal_code).replace(' ', "")
    };
    Some(format!(
        "{line1} {}|{}|{}|{postal}|{country}",
        words(&a.line2),
        words(&a.city),
        words(&a.state)
    ))
}

impl ApplicationForm {
    /// The same form with every sensitive value masked (`•••-••-6789`): what lists, summaries
    /// and the review screen show until someone reveals a value.
    pub fn masked(&self) -> ApplicationForm {
        let mut m = self.clone();
        for (_, value) in m.sensitive_mut() {
            *value = mask_tail(value, 4);
        }
        m
    }

    /// Every sensitive field with its path.
    pub fn sensitive_mut(&mut self) -> Vec<(String, &mut String)> {
        let mut out = vec![("business.ein".to_string(), &mut self.business.ein)];
        for (i, p) in self.people.iter_mut().enumerate() {
            out.push((format!("people[{i}].ssn"), &mut p.ssn));
            out.push((format!("people[{i}].itin"), &mut p.itin));
            out.push((
                format!("people[{i}].passport_number"),
                &mut p.passport_number,
            ));
        }
        out.push((
            "bank.account_number".to_string(),
            &mut self.bank.account_number,
        ));
        out.push(("bank.iban".to_string(), &mut self.bank.iban));
        out
    }

    /// The value of a sensitive field by its path, if the path names one.
    pub fn sensitive(&self, path: &str) -> Option<String> {
        let mut copy = self.clone();
        let found = copy
            .sensitive_mut()
            .into_iter()
            .find(|(p, _)| p == path)
            .map(|(_, v)| v.clone());
        found
    }

    /// Where the user left a masked value untouched (it still holds `•`), puts back the stored
    /// value, matching people by id. A masked value that differs from the stored one's mask
    /// means a partial edit: that is an error, never a silent keep.
    pub fn restore_masked(&mut self, stored: &ApplicationForm) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut keep = |path: String, value: &mut String, old: Option<&str>| {
            if !value.contains('•') {
                return;
            }
            match old {
                Some(old) if mask_tail(old, 4) == *value => *value = old.to_string(),
                _ => errors.push(FieldError::new(
                    path,
                    "was partly edited while masked: clear it and type the whole value",
                )),
            }
        };
        keep(
            "business.ein".into(),
            &mut self.business.ein,
            Some(&stored.business.ein),
        );
        keep(
            "bank.account_number".into(),
            &mut self.bank.account_number,
            Some(&stored.bank.account_number),
        );
        keep(
            "bank.iban".into(),
            &mut self.bank.iban,
            Some(&stored.bank.iban),
        );
        for (i, p) in self.people.iter_mut().enumerate() {
            let old = stored.people.iter().find(|o| o.id == p.id);
            keep(
                format!("people[{i}].ssn"),
                &mut p.ssn,
                old.map(|o| o.ssn.as_str()),
            );
            keep(
                format!("people[{i}].itin"),
                &mut p.itin,
                old.map(|o| o.itin.as_str()),
            );
            keep(
                format!("people[{i}].passport_number"),
                &mut p.passport_number,
                old.map(|o| o.passport_number.as_str()),
            );
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Normalised values for blind indexes, from a checked form: EIN digits, SSN/ITIN digits,
    /// the bank account as `routing:account` (or the IBAN), and each distinct email and phone.
    pub fn index_values(&self) -> Vec<(IndexKind, String)> {
        let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
        let mut out = Vec::new();
        if !self.business.ein.is_empty() {
            out.push((IndexKind::Ein, digits(&self.business.ein)));
        }
        for p in &self.people {
            for id in [&p.ssn, &p.itin] {
                if !id.is_empty() {
                    out.push((IndexKind::Ssn, digits(id)));
                }
            }
        }
        if !self.bank.account_number.is_empty() {
            out.push((
                IndexKind::BankAccount,
                format!("{}:{}", self.bank.routing_number, self.bank.account_number),
            ));
        } else if !self.bank.iban.is_empty() {
            out.push((IndexKind::BankAccount, self.bank.iban.clone()));
        }
        let mut contacts: Vec<(IndexKind, String)> = Vec::new();
        for (kind, value) in [
            (IndexKind::Email, &self.business.email),
            (IndexKind::Phone, &self.business.phone),
        ]
        .into_iter()
        .chain(
            self.people
                .iter()
                .flat_map(|p| [(IndexKind::Email, &p.email), (IndexKind::Phone, &p.phone)]),
        ) {
            let v = value.to_lowercase();
            if !v.is_empty() && !contacts.iter().any(|(k, c)| *k == kind && *c == v) {
                contacts.push((kind, v));
            }
        }
        out.extend(contacts);
        let mut addresses: Vec<String> = Vec::new();
        for a in [&self.business.address, &self.business.operating_address]
            .into_iter()
            .chain(self.people.iter().map(|p| &p.address))
        {
            if let Some(key) = address_key(a).filter(|k| !addresses.contains(k)) {
                addresses.push(key);
            }
        }
        out.extend(addresses.into_iter().map(|k| (IndexKind::Address, k)));
        out
    }
}

mod check;

#[cfg(test)]
mod tests;
