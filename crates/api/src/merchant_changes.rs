//! Editing a boarded merchant's details (issue 7). Every edit is checked like a complete
//! application. A minor change (trading name, addresses, phone, email, website, product
//! description) is applied and sent to the platform at once. A material change — tax id, legal
//! name, entity type, incorporation, MCC, expected volumes, any owner or control person, the
//! bank account — is kept in our record at once (screened, risk re-assessed, the merchant
//! flagged "details changed") but reaches the platform only when an underwriter other than its
//! author accepts it; a rejection puts the previous details back. Nothing of the values is
//! audited or logged: only which fields changed.

use std::collections::HashMap;

use domain::intake::{Application, ApplicationForm, Completeness};
use domain::merchant::{diff, ReviewFlag};
use domain::outbox::{JobKind, JobStep};
use platform::requests::{self, Request};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use vault::audit::Outcome;
use vault::merchant_changes::{MerchantChange, NewChange};

use crate::clock::{new_id, now_ms};
use crate::intake::assign_person_ids;
use crate::merchants::{checked_note, live, queue};
use crate::session::{Access, Session, SessionSlot, Unit};
use crate::{Code, Error, Result};

/// An admin's edit of a merchant's details: the whole form as the window shows it (masked
/// values put back unchanged keep the stored ones).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditInput {
    pub id: String,
    pub version: i64,
    pub form: ApplicationForm,
    pub note: String,
}

/// What an edit did.
#[derive(Debug, Clone, Serialize)]
pub struct EditOutcome {
    pub change: crate::views::MerchantChange,
    /// Platform updates queued now (0 for a material change: they wait for review).
    pub platform_updates: usize,
}

fn unsendable(u: requests::Unsendable) -> Error {
    Error::invalid_input(&u.field, &u.reason)
}

/// Use case (admin): edit a boarded merchant's details. Minor changes are applied and sent to
/// the platform; material ones are applied to our record and held for review (see the module).
pub fn edit(slot: &mut SessionSlot, input: EditInput) -> Result<EditOutcome> {
    // The session and role first, before any of the input is looked at.
    slot.require(Access::Admin, "merchant.edit")?;
    let note = checked_note(&input.note)?;
    let session = slot.require(Access::Admin, "merchant.edit")?;
    let me = session.username().to_string();
    let vault = session.vault();
    let merchant = live(
        vault,
        &input.id,
        "a terminated merchant's details are kept as they were",
    )?;
    if vault.pending_merchant_change(&input.id)?.is_some() {
        return Err(Error::new(
            Code::Conflict,
            "a change of this merchant is waiting for review: it is accepted or rejected first",
        ));
    }
    let stored = vault.application(&input.id)?;
    let mut form = input.form;
    assign_person_ids(&mut form);
    form.restore_masked(&stored.form).map_err(Error::fields)?;
    let now_t = OffsetDateTime::now_utc();
    let form = form
        .check(now_t, Completeness::Complete)
        .map_err(Error::fields)?;
    let d = diff(&stored.form, &form);
    if d.terms {
        return Err(Error::invalid_input(
            "terms",
            "the terms acceptance evidence is kept as it was given",
        ));
    }
    if d.fields.is_empty() {
        return Err(Error::invalid_input("form", "nothing changed"));
    }
    let now = now_ms(now_t);
    let change_id = new_id();
    let change = NewChange {
        id: &change_id,
        application_id: &input.id,
        fields: &d.fields,
        previous: d.material.then_some(&stored.form),
        requested_by: &me,
        now_ms: now,
    };
    let note_text = format!("details edited ({}): {note}", d.fields.join(", "));
    // A sanctions flag outranks "details changed" (the pending change shows either way).
    let flag = d.material && merchant.review_reason.is_none();
    let request = if d.material {
        None
    } else {
        Some(
            requests::update_contact(&Application::of(&form), &merchant.account_id)
                .map_err(unsendable)?,
        )
    };
    let platform_updates = session.write(|w| {
        w.edit_boarded_application(&input.id, input.version, &form, &me, now)?;
        w.record_merchant_change(&change)?;
        if flag {
            w.flag_merchant_for_review(&input.id, ReviewFlag::DetailsChanged, now)?;
        }
        if let Some(request) = &request {
            queue(
                w,
                &merchant,
                JobKind::Update,
                &JobStep::Send,
                request,
                &me,
                now,
            )?;
        }
        w.add_note(&new_id(), &input.id, &me, now, &note_text)?;
        w.audit(
            "merchant.edit",
            Some(&input.id),
            Outcome::Ok,
            Some(&format!(
                "{}: {}",
                if d.material {
                    "material, held for review"
                } else {
                    "minor, sent to the platform"
                },
                d.fields.join(", ")
            )),
        )?;
        if flag {
            w.audit(
                "merchant.review_flag",
                Some(&input.id),
                Outcome::Ok,
                Some(ReviewFlag::DetailsChanged.as_str()),
            )?;
        }
        if d.material {
            crate::checks::screen_changed_merchant(w, &input.id)?;
            crate::checks::reassess(w, &input.id)?;
        }
        Ok(usize::from(request.is_some()))
    })?;
    let change = session
        .vault()
        .merchant_changes(&input.id)?
        .into_iter()
        .find(|c| c.id == change_id)
        .ok_or_else(|| Error::internal("a recorded change went missing"))?;
    Ok(EditOutcome {
        change: change.into(),
        platform_updates,
    })
}

/// A merchant's edits, and what the reviewer of a pending one needs.
#[derive(Debug, Clone, Serialize)]
pub struct ChangesView {
    pub pending: Option<crate::views::MerchantChange>,
    /// Why it cannot be accepted now (open or confirmed sanctions hits, blocklisted
    /// identifiers), if anything.
    pub blockers: Vec<String>,
    /// Other applications sharing an identifier of the changed details.
    pub duplicates: u32,
    pub risk_score: Option<i64>,
    pub risk_band: Option<domain::review::RiskBand>,
    /// Whether the signed-in user may accept or reject it (a writer, not its author).
    pub can_decide: bool,
    pub history: Vec<crate::views::MerchantChange>,
}

fn blockers(session: &Session, id: &str) -> Result<(Vec<String>, u32)> {
    let vault = session.vault();
    let c = vault.identity_checks(id, Some(&vault.application(id)?.form))?;
    let mut out = Vec::new();
    if c.open_hits > 0 {
        out.push(format!(
            "{} sanctions hit(s) to disposition first",
            c.open_hits
        ));
    }
    if c.true_matches > 0 {
        out.push("a confirmed sanctions match".into());
    }
    if !c.blocklisted.is_empty() {
        out.push(format!("blocklisted: {}", c.blocklisted.join(", ")));
    }
    if c.blocklist_unchecked {
        out.push(
            "the blocklist cannot be checked on this desk until an admin signs in on it".into(),
        );
    }
    let duplicates =
        c.duplicate_ein + c.duplicate_ssn + c.duplicate_bank_account + c.duplicate_contact;
    Ok((out, duplicates))
}

/// Use case: a merchant's edits and the evidence for a pending one (any signed-in role).
pub fn changes(slot: &mut SessionSlot, id: &str) -> Result<ChangesView> {
    let session = slot.require(Access::SignedIn, "merchant.changes")?;
    let vault = session.vault();
    let merchant = crate::merchants::boarded(vault, id)?;
    let pending = vault.pending_merchant_change(id)?;
    let (blockers, duplicates) = match &pending {
        Some(_) => blockers(session, id)?,
        None => (Vec::new(), 0),
    };
    let can_decide = pending.as_ref().is_some_and(|c| {
        Access::Write.allows(session.role()) && c.requested_by != session.username()
    });
    Ok(ChangesView {
        history: vault
            .merchant_changes(id)?
            .into_iter()
            .map(Into::into)
            .collect(),
        pending: pending.map(Into::into),
        blockers,
        duplicates,
        risk_score: merchant.risk_score,
        risk_band: merchant.risk_band,
        can_decide,
    })
}

/// A reviewer's decision on a pending change.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecideInput {
    pub id: String,
    pub note: String,
}

/// Which platform person stands for which of our people (by index in the form).
type Persons = Vec<(String, usize)>;

/// The platform requests that carry an accepted change: the account's details when anything
/// of the business, the bank or a sole proprietor changed, then each changed person updated,
/// each new one created and each removed one deleted. Returns them with their job steps, and
/// which platform person stands for which of our people afterwards (new ones join as the
/// platform answers).
fn platform_requests(
    id: &str,
    account: &str,
    before: &ApplicationForm,
    after: &ApplicationForm,
    persons: &[(String, usize)],
) -> Result<(Vec<(JobStep, Request)>, Persons)> {
    let d = diff(before, after);
    let typed = Application::of(after);
    let sole = requests::persons_to_create(&typed) == 0;
    let mut out = Vec::new();
    let business = d.fields.iter().any(|f| f.starts_with("business."));
    let people = d.fields.iter().any(|f| f.starts_with("people"));
    if business || d.bank || (sole && people) {
        out.push((
            JobStep::Send,
            requests::update_details(&typed, account, d.bank).map_err(unsendable)?,
        ));
    }
    if sole {
        return Ok((out, persons.to_vec()));
    }
    // Our person id → the platform's, through the index each had before the change.
    let platform_id: HashMap<&str, &str> = persons
        .iter()
        .filter_map(|(pid, i)| before.people.get(*i).map(|p| (p.id.as_str(), pid.as_str())))
        .collect();
    let mut kept = Vec::new();
    for (i, p) in after.people.iter().enumerate() {
        match platform_id.get(p.id.as_str()) {
            Some(pid) => {
                kept.push(((*pid).to_string(), i));
                if before.people.iter().any(|o| o.id == p.id && o != p) {
                    out.push((
                        JobStep::UpdatePerson((*pid).to_string()),
                        requests::update_person(&typed, i, account, pid, id).map_err(unsendable)?,
                    ));
                }
            }
            None => out.push((
                JobStep::NewPerson(i),
                requests::create_person(&typed, i, account, id).map_err(unsendable)?,
            )),
        }
    }
    for (pid, _) in persons {
        if !kept.iter().any(|(k, _)| k == pid) {
            out.push((
                JobStep::DeletePerson(pid.clone()),
                requests::delete_person(account, pid),
            ));
        }
    }
    Ok((out, kept))
}

/// Use case (underwriter, lead, admin — not the change's author): accept a pending change. It
/// must be clear of open or confirmed sanctions hits and blocklisted identifiers; the platform
/// updates go through the outbox in order, the review flag clears.
pub fn accept(slot: &mut SessionSlot, input: DecideInput) -> Result<ChangesView> {
    // The session and role first, before any of the input is looked at.
    slot.require(Access::Write, "merchant.change_accept")?;
    let note = checked_note(&input.note)?;
    let session = slot.require(Access::Write, "merchant.change_accept")?;
    let me = session.username().to_string();
    let change = pending(session, &input.id)?;
    if change.requested_by == me {
        return Err(Error::new(
            Code::Forbidden,
            "a change is accepted by someone other than its author",
        ));
    }
    let (blocked, _) = blockers(session, &input.id)?;
    if !blocked.is_empty() {
        return Err(Error::new(
            Code::Conflict,
            format!("the change cannot be accepted: {}", blocked.join("; ")),
        ));
    }
    let vault = session.vault();
    let merchant = live(
        vault,
        &input.id,
        "the merchant is terminated: its change can only be rejected",
    )?;
    let before = vault.merchant_change_previous(&change.id)?;
    let after = vault.application(&input.id)?.form;
    let (jobs, persons) = platform_requests(
        &input.id,
        &merchant.account_id,
        &before,
        &after,
        &merchant.persons,
    )?;
    let now = now_ms(OffsetDateTime::now_utc());
    session.write(|w| {
        w.decide_merchant_change(&change.id, "accepted", &me, now)?;
        w.set_merchant_persons(&input.id, &persons)?;
        // One millisecond apart: the outbox sends one merchant's jobs in queue order.
        for (n, (step, request)) in jobs.iter().enumerate() {
            queue(
                w,
                &merchant,
                JobKind::Update,
                step,
                request,
                &me,
                now + n as i64,
            )?;
        }
        w.clear_merchant_review(&input.id)?;
        w.add_note(
            &new_id(),
            &input.id,
            &me,
            now,
            &format!("change accepted: {note}"),
        )?;
        w.audit(
            "merchant.change_accept",
            Some(&input.id),
            Outcome::Ok,
            Some(&format!(
                "{}; {} platform update(s) queued",
                change.fields.join(", "),
                jobs.len()
            )),
        )
    })?;
    changes(slot, &input.id)
}

/// Use case (underwriter, lead, admin — its author too, who may withdraw it): reject a pending
/// change. The previous details are put back (and screened again); nothing reaches the
/// platform.
pub fn reject(slot: &mut SessionSlot, input: DecideInput) -> Result<ChangesView> {
    // The session and role first, before any of the input is looked at.
    slot.require(Access::Write, "merchant.change_reject")?;
    let note = checked_note(&input.note)?;
    let session = slot.require(Access::Write, "merchant.change_reject")?;
    let me = session.username().to_string();
    let change = pending(session, &input.id)?;
    let vault = session.vault();
    let before = vault.merchant_change_previous(&change.id)?;
    let version = vault.application_summary(&input.id)?.version;
    let now = now_ms(OffsetDateTime::now_utc());
    session.write(|w| {
        w.edit_boarded_application(&input.id, version, &before, &me, now)?;
        w.decide_merchant_change(&change.id, "rejected", &me, now)?;
        w.add_note(
            &new_id(),
            &input.id,
            &me,
            now,
            &format!("change rejected, previous details restored: {note}"),
        )?;
        w.audit(
            "merchant.change_reject",
            Some(&input.id),
            Outcome::Ok,
            Some(&change.fields.join(", ")),
        )?;
        crate::checks::screen_changed_merchant(w, &input.id)?;
        crate::checks::reassess(w, &input.id)?;
        settle_flag(w, &input.id)
    })?;
    changes(slot, &input.id)
}

/// After a rejection (and its re-screen, which drops open hits on people no longer there) the
/// merchant's flag follows its hits: a confirmed match or an open hit keeps it under review;
/// otherwise it clears.
fn settle_flag(w: &Unit<'_>, id: &str) -> Result<()> {
    // Only its hits decide the flag: no form needed.
    let c = w.identity_checks(id, None)?;
    let reason = if c.true_matches > 0 {
        Some(ReviewFlag::SanctionsMatch)
    } else if c.open_hits > 0 {
        Some(ReviewFlag::SanctionsHit)
    } else {
        None
    };
    match reason {
        Some(reason) => {
            if w.flag_merchant_for_review(id, reason, now_ms(OffsetDateTime::now_utc()))? {
                w.audit(
                    "merchant.review_flag",
                    Some(id),
                    Outcome::Ok,
                    Some(reason.as_str()),
                )?;
            }
        }
        None => {
            if w.clear_merchant_review(id)? {
                w.audit(
                    "merchant.review_cleared",
                    Some(id),
                    Outcome::Ok,
                    Some("change rejected"),
                )?;
            }
        }
    }
    Ok(())
}

/// Use case: accept (`accept`) or reject a pending change — the window's one command.
pub fn decide(slot: &mut SessionSlot, input: DecideInput, accept: bool) -> Result<ChangesView> {
    if accept {
        self::accept(slot, input)
    } else {
        reject(slot, input)
    }
}

fn pending(session: &Session, id: &str) -> Result<MerchantChange> {
    session.vault().pending_merchant_change(id)?.ok_or_else(|| {
        Error::new(
            Code::NotFound,
            "no change of this merchant waits for review",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> ApplicationForm {
        let mut f = crate::intake::demo::low_risk(7);
        assign_person_ids(&mut f);
        f
    }

    #[test]
    fn contact_details_are_minor_and_identity_is_material() {
        let old = form();
        let mut new = old.clone();
        new.business.website = "https://elsewhere.example.com".into();
        new.business.phone = "+14155550111".into();
        let d = diff(&old, &new);
        assert!(!d.material, "{d:?}");
        assert_eq!(d.fields, ["business.phone", "business.website"]);

        for change in [
            |f: &mut ApplicationForm| f.business.ein = "987654321".into(),
            |f: &mut ApplicationForm| f.business.legal_name = "Other Name LLC".into(),
            |f: &mut ApplicationForm| f.business.monthly_volume = "900000".into(),
            |f: &mut ApplicationForm| f.bank.account_number = "000123456789".into(),
            |f: &mut ApplicationForm| f.people[0].last_name = "Other".into(),
        ] {
            let mut new = old.clone();
            change(&mut new);
            assert!(diff(&old, &new).material, "{:?}", diff(&old, &new).fields);
        }
    }

    #[test]
    fn a_minor_change_sends_nothing_the_platform_verified() {
        let r = requests::update_contact(&Application::of(&form()), "acct_1").unwrap();
        let keys: Vec<&str> = r.params.keys().collect();
        assert!(keys.contains(&"business_profile[url]"), "{keys:?}");
        for k in keys {
            assert!(
                ![
                    "company[tax_id]",
                    "company[name]",
                    "external_account",
                    "individual"
                ]
                .iter()
                .any(|p| k.starts_with(p)),
                "{k} is not a contact detail"
            );
        }
    }

    #[test]
    fn people_are_matched_by_id_not_position() {
        let old = form();
        let mut new = old.clone();
        let mut added = old.people[0].clone();
        added.id = "newcomer".into();
        new.people.insert(0, added);
        let d = diff(&old, &new);
        assert_eq!(d.fields, ["people[0] (added)"], "the others only moved");

        let mut removed = old.clone();
        removed.people.remove(0);
        assert_eq!(diff(&old, &removed).fields, ["people[0] (removed)"]);
    }

    #[test]
    fn an_accepted_change_updates_creates_and_deletes_the_platform_persons() {
        let mut before = form();
        let mut second = before.people[0].clone();
        second.id = "second".into();
        second.is_control = false;
        before.people.push(second);
        let persons = vec![("person_a".to_string(), 0), ("person_b".to_string(), 1)];
        let mut after = before.clone();
        after.people.remove(1); // person_b leaves
        after.people[0].title = "CFO".into(); // person_a changes
        let mut third = before.people[0].clone();
        third.id = "third".into();
        third.is_control = false;
        after.people.push(third); // a newcomer at index 1
        let (jobs, kept) = platform_requests("app", "acct_1", &before, &after, &persons).unwrap();
        let steps: Vec<String> = jobs.iter().map(|(s, _)| s.to_string()).collect();
        assert_eq!(
            steps,
            [
                "update_person:person_a",
                "new_person:1",
                "delete_person:person_b"
            ]
        );
        assert_eq!(kept, [("person_a".to_string(), 0)]);
        assert_eq!(jobs[0].1.path, "/v1/accounts/acct_1/persons/person_a");
        assert_eq!(jobs[2].1.method, requests::Method::Delete);
    }
}
