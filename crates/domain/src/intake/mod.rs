//! Intake values: what a KYB/KYC application is made of, each valid by construction.
//!
//! Every parser returns a [`FieldError`] naming the field and the rule that failed — never the
//! value itself, which may be a tax id or a name.

mod application;
mod bank;
mod business;
mod contact;
mod lifecycle;
mod person;
mod text;
mod typed;

pub use application::{
    address_key, AddressForm, ApplicationForm, BankForm, BusinessForm, Completeness, IndexKind,
    PersonForm, TermsForm, MAX_PEOPLE,
};
pub use bank::{AccountNumber, BankAccountType, Iban, RoutingNumber};
pub use business::{Amount, Ein, EntityType, Mcc, MccInfo, MccTier, Percent};
pub use contact::{CountryCode, Email, Phone, UsState, WebsiteUrl, ZipCode};
pub use lifecycle::{ApplicationStatus, IllegalTransition};
pub use person::{DateOfBirth, Itin, PassportNumber, Ssn};
pub use text::{clean_text, is_hidden_or_bidi, nfc, refuse_hidden, FieldError};
pub use typed::{Application, Person};
