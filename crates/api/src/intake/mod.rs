//! Intake use cases: drafts, submission, the application list, masked views and audited
//! reveals, documents, bulk import and demo data.

pub mod demo;
mod documents;
pub mod import;

use domain::intake::{ApplicationForm, ApplicationStatus, Completeness, Ein};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use vault::applications::{ListFilter, NewApplication, Source};

use crate::views::{Cursor, Page};
use vault::audit::Outcome;

pub use crate::views::{DocumentMeta, Summary};
pub use documents::{
    add_document, delete_document, document_content, DocumentKind, MAX_DOCUMENT_BYTES,
};

use crate::clock::{new_id, now_ms};
use crate::session::{Access, Session, SessionSlot};
use crate::{Code, Error, FieldIssue, Result};

/// Gives every person without an id a fresh one (ids keep sealed values attached across edits).
pub(crate) fn assign_person_ids(form: &mut ApplicationForm) {
    for p in &mut form.people {
        if p.id.trim().is_empty() {
            p.id = uuid::Uuid::new_v4().to_string()[..8].to_string();
        }
    }
}

/// What the window shows of an application: sensitive values masked, plus what is still
/// missing before it can be submitted.
#[derive(Debug, Clone, Serialize)]
pub struct ApplicationView {
    pub summary: Summary,
    /// Masked (`•••-••-1234`); put back unchanged when saving to keep the stored value.
    pub form: ApplicationForm,
    pub history: Vec<crate::views::HistoryEntry>,
    pub documents: Vec<crate::views::DocumentMeta>,
    /// Sanctions screening hits, best first, with their dispositions.
    pub hits: Vec<crate::views::StoredHit>,
    /// Empty when the application is complete.
    pub missing: Vec<FieldIssue>,
    /// Whether the signed-in role may reveal masked values.
    pub can_reveal: bool,
}

/// A draft to save: `id` and `version` are absent for a new one.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaveDraft {
    pub id: Option<String>,
    pub version: Option<i64>,
    pub form: ApplicationForm,
}

fn view(session: &Session, id: &str) -> Result<ApplicationView> {
    let vault = session.vault();
    let stored = vault.application(id)?;
    let missing = match stored
        .form
        .check(OffsetDateTime::now_utc(), Completeness::Complete)
    {
        Ok(_) => Vec::new(),
        Err(errors) => errors.into_iter().map(FieldIssue::from).collect(),
    };
    Ok(ApplicationView {
        form: stored.form.masked(),
        history: crate::views::all(vault.application_history(id)?),
        documents: crate::views::all(vault.documents(id)?),
        hits: crate::checks::hits_with_entries(vault, id)?,
        missing,
        can_reveal: Access::Write.allows(session.role()),
        summary: stored.summary.into(),
    })
}

/// Creates or updates a draft. Blank fields are fine; filled ones must be valid — otherwise
/// nothing is written and every failing field is named.
pub fn save_draft(slot: &mut SessionSlot, input: SaveDraft) -> Result<ApplicationView> {
    let session = slot.require(Access::Write, "application.save")?;
    let now = OffsetDateTime::now_utc();
    let mut form = input.form;
    assign_person_ids(&mut form);
    match input.id {
        None => {
            if form.sensitive_mut().iter().any(|(_, v)| v.contains('•')) {
                return Err(Error::invalid_input(
                    "form",
                    "a new application cannot hold masked values",
                ));
            }
            let form = form
                .check(now, Completeness::Draft)
                .map_err(Error::fields)?;
            let id = new_id();
            session.write(|w| {
                w.insert_application(&NewApplication {
                    id: &id,
                    status: ApplicationStatus::Draft,
                    source: Source::Wizard,
                    form: &form,
                    actor: session.username(),
                    now_ms: now_ms(now),
                })?;
                w.audit("application.create", Some(&id), Outcome::Ok, None)
            })?;
            view(session, &id)
        }
        Some(id) => {
            let version = input
                .version
                .ok_or_else(|| Error::invalid_input("version", "is required to save a change"))?;
            let stored = session.vault().application(&id)?;
            form.restore_masked(&stored.form).map_err(Error::fields)?;
            let form = form
                .check(now, Completeness::Draft)
                .map_err(Error::fields)?;
            session.write(|w| {
                w.update_application(&id, version, &form, session.username(), now_ms(now))?;
                w.audit("application.update", Some(&id), Outcome::Ok, None)
            })?;
            view(session, &id)
        }
    }
}

pub fn get_application(slot: &mut SessionSlot, id: &str) -> Result<ApplicationView> {
    let session = slot.require(Access::SignedIn, "application.view")?;
    view(session, id)
}

/// Sends a complete draft for review (or an application sent back for information, once
/// fixed, back into review).
pub fn submit(slot: &mut SessionSlot, id: &str, version: i64) -> Result<ApplicationView> {
    let session = slot.require(Access::Write, "application.submit")?;
    let now = OffsetDateTime::now_utc();
    let stored = session.vault().application(id)?;
    stored
        .form
        .check(now, Completeness::Complete)
        .map_err(Error::fields)?;
    let to = match stored.summary.status {
        ApplicationStatus::Draft => ApplicationStatus::Submitted,
        ApplicationStatus::InfoRequested => ApplicationStatus::InReview,
        _ => {
            return Err(Error::new(
                Code::Conflict,
                "only a draft or an application sent back for information can be submitted",
            ))
        }
    };
    session.write(|w| {
        w.transition_application(id, version, to, session.username(), None, now_ms(now))?;
        w.audit("application.submit", Some(id), Outcome::Ok, None)?;
        // Screened (when lists are loaded) and scored with the submission: a submitted
        // application is never in the queue unassessed.
        crate::checks::refresh(w, id)
    })?;
    view(session, id)
}

pub fn withdraw(slot: &mut SessionSlot, id: &str, version: i64) -> Result<ApplicationView> {
    let session = slot.require(Access::Write, "application.withdraw")?;
    let now = OffsetDateTime::now_utc();
    session.write(|w| {
        w.transition_application(
            id,
            version,
            ApplicationStatus::Withdrawn,
            session.username(),
            None,
            now_ms(now),
        )?;
        w.audit("application.withdraw", Some(id), Outcome::Ok, None)
    })?;
    view(session, id)
}

/// Reveals one masked value, audited with the application and the field's name.
pub fn reveal(slot: &mut SessionSlot, id: &str, field: &str) -> Result<String> {
    let session = slot.require(Access::Write, "application.reveal")?;
    let stored = session.vault().application(id)?;
    let value = stored
        .form
        .sensitive(field)
        .ok_or_else(|| Error::invalid_input("field", "is not a sensitive field of the form"))?;
    session.audit("application.reveal", Some(id), Outcome::Ok, Some(field))?;
    Ok(value)
}

/// The list's query: filters, a search box and a page cursor.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ListQuery {
    pub status: Option<String>,
    pub mcc: Option<String>,
    /// `YYYY-MM-DD`, inclusive (UTC).
    pub created_from: Option<String>,
    /// `YYYY-MM-DD`, inclusive (UTC).
    pub created_to: Option<String>,
    /// A name or DBA prefix, or an exact EIN (9 digits, with or without the dash).
    pub search: Option<String>,
    pub limit: Option<u32>,
    pub after: Option<Cursor>,
}

fn day_ms(field: &str, text: &str, next_day: bool) -> Result<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(text.trim(), &format)
        .map_err(|_| Error::invalid_input(field, "must be a date as YYYY-MM-DD"))?;
    let date = if next_day {
        date.next_day().unwrap_or(date)
    } else {
        date
    };
    Ok(now_ms(date.midnight().assume_utc()))
}

fn looks_like_ein(s: &str) -> bool {
    let digits = s.chars().filter(char::is_ascii_digit).count();
    digits == 9 && s.chars().all(|c| c.is_ascii_digit() || c == '-')
}

impl ListQuery {
    fn filter(&self) -> Result<ListFilter> {
        let status = match self.status.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(
                s.parse::<ApplicationStatus>()
                    .map_err(|()| Error::invalid_input("status", "is not an application status"))?,
            ),
        };
        let mcc = match self.mcc.as_deref().filter(|s| !s.trim().is_empty()) {
            None => None,
            Some(m) => Some(
                domain::intake::Mcc::parse(m)
                    .map_err(|e| Error::invalid_input("mcc", &e.reason))?
                    .code()
                    .to_string(),
            ),
        };
        let created_from = match self.created_from.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(d) => Some(day_ms("created_from", d, false)?),
        };
        let created_to = match self.created_to.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(d) => Some(day_ms("created_to", d, true)?),
        };
        let search = self.search.as_deref().map(str::trim).unwrap_or("");
        if search.chars().count() > 200 {
            return Err(Error::invalid_input(
                "search",
                "must be at most 200 characters",
            ));
        }
        let (name_prefix, ein_digits) = if search.is_empty() {
            (None, None)
        } else if looks_like_ein(search) {
            let ein = Ein::parse(search).map_err(|e| Error::invalid_input("search", &e.reason))?;
            (None, Some(ein.digits().to_string()))
        } else {
            (Some(search.to_string()), None)
        };
        Ok(ListFilter {
            status,
            mcc,
            created_from,
            created_to,
            name_prefix,
            ein_digits,
        })
    }
}

pub fn list_applications(slot: &mut SessionSlot, query: &ListQuery) -> Result<Page> {
    // The session and role first, before any of the input is looked at.
    slot.require(Access::SignedIn, "application.list")?;
    let filter = query.filter()?;
    let session = slot.require(Access::SignedIn, "application.list")?;
    let after = query.after.clone().map(vault::applications::Cursor::from);
    Ok(session
        .vault()
        .list_applications(&filter, query.limit.unwrap_or(50), after.as_ref())?
        .into())
}

/// Checks a form without saving it: the wizard's inline errors as the user leaves a field.
/// Blank fields pass (what is missing shows on the review step); masked values stand for stored
/// ones, which were valid when saved.
pub fn check_form(slot: &mut SessionSlot, form: &ApplicationForm) -> Result<Vec<FieldIssue>> {
    slot.require(Access::Write, "application.check")?;
    let mut form = form.clone();
    for (_, value) in form.sensitive_mut() {
        if value.contains('•') {
            value.clear();
        }
    }
    Ok(
        match form.check(OffsetDateTime::now_utc(), Completeness::Draft) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.into_iter().map(FieldIssue::from).collect(),
        },
    )
}

/// The bundled MCC table, for the wizard's MCC picker.
pub fn mcc_codes(slot: &mut SessionSlot) -> Result<Vec<domain::intake::MccInfo>> {
    slot.require(Access::SignedIn, "mcc.list")?;
    Ok(domain::intake::Mcc::table().collect())
}
