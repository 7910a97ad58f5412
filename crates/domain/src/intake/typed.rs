//! An application with its values typed once. A form holds text (what is stored, shown and
//! edited); what underwriting scores and the platform sends are these typed values, parsed in
//! one place from a form that [`ApplicationForm::check`] normalised. Neither consumer parses
//! text again.

use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

use super::{
    Amount, ApplicationForm, DateOfBirth, Ein, EntityType, Itin, Mcc, Percent, PersonForm, Ssn,
};

/// The typed values of a checked (normalised) application, beside the form they come from.
/// A value that is blank (an optional field, or a draft's) is `None`.
#[derive(Clone)]
pub struct Application<'a> {
    pub form: &'a ApplicationForm,
    pub entity: Option<EntityType>,
    pub ein: Option<Ein>,
    pub mcc: Option<Mcc>,
    pub incorporation_date: Option<Date>,
    pub monthly_volume: Option<Amount>,
    pub average_ticket: Option<Amount>,
    pub max_ticket: Option<Amount>,
    pub card_present: Option<Percent>,
    /// The terms' acceptance time.
    pub accepted_at: Option<OffsetDateTime>,
    /// One per `form.people`, in order.
    pub people: Vec<Person<'a>>,
}

/// A person's typed values.
#[derive(Clone)]
pub struct Person<'a> {
    pub form: &'a PersonForm,
    pub dob: Option<DateOfBirth>,
    pub ssn: Option<Ssn>,
    pub itin: Option<Itin>,
    pub ownership: Option<Percent>,
}

impl Person<'_> {
    /// The US tax id the platform takes (`id_number`): the SSN, else the ITIN.
    pub fn id_number(&self) -> Option<&str> {
        self.ssn
            .as_ref()
            .map(Ssn::digits)
            .or_else(|| self.itin.as_ref().map(Itin::digits))
    }

    /// An owner of 25% or more (a beneficial owner).
    pub fn is_beneficial_owner(&self) -> bool {
        self.ownership.is_some_and(|p| p.at_least(25))
    }
}

impl<'a> Application<'a> {
    /// The typed values of `form`, which [`ApplicationForm::check`] normalised (when it was
    /// stored, or just now).
    pub fn of(form: &'a ApplicationForm) -> Self {
        let b = &form.business;
        let date = time::macros::format_description!("[year]-[month]-[day]");
        Application {
            form,
            entity: EntityType::parse(&b.entity_type),
            ein: Ein::parse(&b.ein).ok(),
            mcc: Mcc::parse(&b.mcc).ok(),
            incorporation_date: Date::parse(b.incorporation_date.trim(), date).ok(),
            monthly_volume: Amount::parse(&b.monthly_volume).ok(),
            average_ticket: Amount::parse(&b.average_ticket).ok(),
            max_ticket: Amount::parse(&b.max_ticket).ok(),
            card_present: Percent::parse("", &b.card_present_percent).ok(),
            accepted_at: OffsetDateTime::parse(form.terms.accepted_at.trim(), &Rfc3339).ok(),
            people: form
                .people
                .iter()
                .map(|p| Person {
                    form: p,
                    dob: DateOfBirth::parse_date(&p.dob).ok(),
                    ssn: Ssn::parse(&p.ssn).ok(),
                    itin: Itin::parse(&p.itin).ok(),
                    ownership: Percent::parse("", &p.ownership_percent).ok(),
                })
                .collect(),
        }
    }

    /// Whether the business is its owner's (a sole proprietor: no separate persons).
    pub fn owner_is_business(&self) -> bool {
        self.entity.is_some_and(EntityType::owner_is_business)
    }
}
