//! Issue 14: nothing unlawful gets through. The sanctions hard stop (no approval, first or
//! second, while a hit is open or confirmed; the vault refuses the boarding job on its own),
//! four eyes that are two people (the maker is not the checker), the sanctions report, and the
//! side doors around them.

use api::intake::{self, demo, SaveDraft};
use api::review::{self, DecideInput};
use api::{screening, Access, Code, DataDir, SessionSlot};
use domain::intake::{ApplicationForm, ApplicationStatus};

use crate::auth::{setup, signed_in_new_user, signed_in_user};

fn vault() -> (tempfile::TempDir, DataDir, SessionSlot) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::open(tmp.path()).unwrap();
    let mut slot = SessionSlot::new();
    setup(&dir, &mut slot);
    (tmp, dir, slot)
}

/// `form` with its control person made the listed SDN LOGAN MOREY, Elvis Angus (born 1963).
fn listed(mut form: ApplicationForm) -> ApplicationForm {
    let p = form.people.iter_mut().find(|p| p.is_control).unwrap();
    p.first_name = "Elvis Angus".into();
    p.last_name = "Logan Morey".into();
    p.dob = "1963-07-28".into();
    form
}

/// A complete application that scores at the four-eyes threshold or above, without any hit.
fn high_risk(seed: u64) -> ApplicationForm {
    let mut f = demo::generate(1, seed).remove(0);
    f.business.mcc = "5967".into();
    f.business.card_present_percent = "0".into();
    f.business.website.clear();
    f.business.incorporation_date = "2026-10-01".into();
    f.business.monthly_volume = "90000".into();
    f
}

fn submitted(slot: &mut SessionSlot, form: ApplicationForm) -> String {
    let view = intake::save_draft(
        slot,
        SaveDraft {
            id: None,
            version: None,
            form,
        },
    )
    .unwrap();
    intake::submit(slot, &view.summary.id, view.summary.version).unwrap();
    view.summary.id
}

fn input(slot: &mut SessionSlot, id: &str, decision: &str, reasons: &[&str]) -> DecideInput {
    DecideInput {
        id: id.into(),
        version: review::review_view(slot, id).unwrap().row.version,
        decision: decision.into(),
        reasons: reasons.iter().map(|r| r.to_string()).collect(),
        note: "Checked the file and the evidence".into(),
        fields: Vec::new(),
        blocklist: false,
        blocklist_basis: None,
        confirmed_hits: Vec::new(),
    }
}

fn approve(slot: &mut SessionSlot, id: &str) -> api::Result<review::DecideOutcome> {
    let i = input(slot, id, "approve", &["edd_completed"]);
    review::decide(slot, i)
}

fn lists(slot: &mut SessionSlot) -> bool {
    let Some(small) = crate::screening::sanctions("ofac-small") else {
        return false;
    };
    screening::import_lists(slot, &small).unwrap();
    true
}

fn only_hit(slot: &mut SessionSlot, id: &str) -> String {
    let hits = screening::hits(slot, id).unwrap();
    assert_eq!(hits.len(), 1, "one hit on the listed control person");
    hits[0].id.clone()
}

fn no_boarding_job(slot: &mut SessionSlot, id: &str) {
    let err = api::boarding::job(slot, id).unwrap_err();
    assert_eq!(
        err.code(),
        Code::NotFound,
        "nothing was queued for the platform"
    );
}

fn denied_decisions(slot: &mut SessionSlot, id: &str) -> Vec<String> {
    api::audit_log::list_audit(slot, None, 500)
        .unwrap()
        .entries
        .into_iter()
        .filter(|e| {
            e.action == "review.decide" && e.outcome == "denied" && e.target.as_deref() == Some(id)
        })
        .map(|e| e.detail.unwrap_or_default())
        .collect()
}

/// A listed, high-risk application submitted by uma before any list was loaded and given
/// its first approval; then the lists arrive and a re-screen raises its hit, open. `None` when
/// ../shared is absent.
struct Awaiting {
    _tmp: tempfile::TempDir,
    admin: SessionSlot,
    uma: SessionSlot,
    lea: SessionSlot,
    id: String,
}

fn first_approved_then_hit(seed: u64) -> Option<Awaiting> {
    let (_tmp, dir, mut admin) = vault();
    let mut uma = signed_in_user(&dir, &mut admin, "uma", "underwriter");
    let lea = signed_in_user(&dir, &mut admin, "lea", "lead");
    let id = submitted(&mut uma, listed(high_risk(seed)));
    review::assign_to_me(&mut uma, &id, false).unwrap();
    assert!(approve(&mut uma, &id).unwrap().awaiting_second_approval);
    if !lists(&mut admin) {
        return None;
    }
    screening::rescreen(&mut admin, &mut |_| {}).unwrap();
    Some(Awaiting {
        _tmp,
        admin,
        uma,
        lea,
        id,
    })
}

#[test]
fn an_open_hit_and_then_a_confirmed_match_stop_every_approval_whatever_the_role() {
    let (_tmp, dir, mut admin) = vault();
    if !lists(&mut admin) {
        return;
    }
    let mut uma = signed_in_user(&dir, &mut admin, "uma", "underwriter");
    let id = submitted(&mut uma, listed(demo::low_risk(11)));
    review::assign_to_me(&mut uma, &id, false).unwrap();

    let err = approve(&mut uma, &id).unwrap_err();
    assert_eq!(err.code(), Code::SanctionsHitsOpen, "an open hit: {err}");
    no_boarding_job(&mut uma, &id);

    let hit = only_hit(&mut uma, &id);
    let hits = screening::hits(&mut uma, &id).unwrap();
    let entry = hits[0]
        .entry
        .as_ref()
        .expect("the hit shows its list entry");
    assert_eq!(entry["uid"], "sdn:10278");
    assert!(
        entry["dobs"].to_string().contains("1963"),
        "the entry's date of birth is shown: {entry}"
    );
    screening::dispose_hit(
        &mut uma,
        &hit,
        "true_match",
        "Passport and DOB match the SDN entry",
    )
    .unwrap();
    let view = intake::get_application(&mut uma, &id).unwrap();
    assert_eq!(view.summary.open_hits, 0, "no open hit, yet no approval");

    let err = approve(&mut uma, &id).unwrap_err();
    assert_eq!(err.code(), Code::SanctionsMatch, "a confirmed match: {err}");
    // An admin taking it over cannot approve either: no role overrides the law.
    review::assign_to_me(&mut admin, &id, true).unwrap();
    let err = approve(&mut admin, &id).unwrap_err();
    assert_eq!(err.code(), Code::SanctionsMatch);
    no_boarding_job(&mut admin, &id);
    let denied = denied_decisions(&mut admin, &id);
    assert_eq!(
        denied,
        [
            "approve refused: sanctions_match",
            "approve refused: sanctions_match",
            "approve refused: sanctions_hits_open"
        ],
        "each refusal is audited (newest first)"
    );

    // The vault refuses the boarding job on its own: the second line of defence.
    let session = admin.require(Access::Admin, "test.enqueue").unwrap();
    let err = session
        .vault()
        .write(|tx| tx.enqueue_boarding("forged-job", &id, "alice", 0))
        .unwrap_err();
    assert!(
        matches!(err, vault::VaultError::SanctionsMatch),
        "the vault refuses: {err}"
    );

    // What is left: decline onto the blocklist (or request information).
    let mut decline = input(&mut admin, &id, "decline", &["sanctions_match"]);
    decline.blocklist = true;
    decline.blocklist_basis = Some("aml_record_keeping".into());
    let out = review::decide(&mut admin, decline).unwrap();
    assert_eq!(out.status, ApplicationStatus::Declined);
    no_boarding_job(&mut admin, &id);
}

#[test]
fn a_hit_raised_after_the_first_approval_stops_the_second_and_its_clearing_is_the_checkers_to_confirm(
) {
    let Some(Awaiting {
        _tmp,
        mut uma,
        mut lea,
        id,
        ..
    }) = first_approved_then_hit(12)
    else {
        return;
    };

    let err = approve(&mut lea, &id).unwrap_err();
    assert_eq!(err.code(), Code::SanctionsHitsOpen, "{err}");

    // The first approver clears the hit as a false positive: the checker must see it.
    let hit = only_hit(&mut uma, &id);
    screening::dispose_hit(
        &mut uma,
        &hit,
        "false_positive",
        "Different person: DOB differs",
    )
    .unwrap();
    let err = approve(&mut lea, &id).unwrap_err();
    assert_eq!(err.code(), Code::InvalidInput, "{err}");
    assert!(err.message().starts_with("confirmed_hits:"), "{err}");
    let mut confirmed = input(&mut lea, &id, "approve", &["edd_completed"]);
    confirmed.confirmed_hits = vec![hit];
    let out = review::decide(&mut lea, confirmed).unwrap();
    assert_eq!(out.status, ApplicationStatus::Approved);
}

#[test]
fn whoever_cleared_a_hit_cannot_give_the_second_approval() {
    let Some(Awaiting {
        _tmp,
        mut admin,
        mut lea,
        id,
        ..
    }) = first_approved_then_hit(13)
    else {
        return;
    };
    let hit = only_hit(&mut lea, &id);
    screening::dispose_hit(
        &mut lea,
        &hit,
        "false_positive",
        "Different person: DOB differs",
    )
    .unwrap();
    let mut i = input(&mut lea, &id, "approve", &["edd_completed"]);
    i.confirmed_hits = vec![hit];
    let err = review::decide(&mut lea, i).unwrap_err();
    assert_eq!(err.code(), Code::Conflict);
    assert!(err.message().contains("dispositioned"), "{err}");
    assert_eq!(
        denied_decisions(&mut admin, &id),
        ["second approval refused: maker-checker"]
    );
}

#[test]
fn the_maker_is_not_the_checker() {
    let (_tmp, dir, mut admin) = vault();
    let mut uma = signed_in_user(&dir, &mut admin, "uma", "underwriter");
    let mut lea = signed_in_user(&dir, &mut admin, "lea", "lead");
    // The lead keys the application in; the underwriter gives the first approval.
    let id = submitted(&mut lea, high_risk(14));
    review::assign_to_me(&mut uma, &id, false).unwrap();
    assert!(approve(&mut uma, &id).unwrap().awaiting_second_approval);
    let err = approve(&mut lea, &id).unwrap_err();
    assert_eq!(err.code(), Code::Conflict);
    assert!(err.message().contains("created or edited"), "{err}");
    // Someone independent of both may.
    let out = approve(&mut admin, &id).unwrap();
    assert_eq!(out.status, ApplicationStatus::Approved);
}

#[test]
fn a_second_account_made_by_the_first_approver_or_made_today_is_not_a_second_person() {
    let (_tmp, dir, mut alice) = vault();
    let mut uma = signed_in_user(&dir, &mut alice, "uma", "underwriter");
    let id = submitted(&mut uma, high_risk(15));
    // The admin gives the first approval, then makes herself a lead account.
    review::assign_to_me(&mut alice, &id, false).unwrap();
    assert!(approve(&mut alice, &id).unwrap().awaiting_second_approval);
    let mut puppet = signed_in_user(&dir, &mut alice, "lee", "lead");
    let err = approve(&mut puppet, &id).unwrap_err();
    assert_eq!(err.code(), Code::Conflict);
    assert!(
        err.message().contains("created by the first approver"),
        "{err}"
    );

    // A second admin's account made just now: not yet.
    let mut bob = signed_in_user(&dir, &mut alice, "bob", "admin");
    let mut fresh = signed_in_new_user(&dir, &mut bob, "fay", "lead");
    let err = approve(&mut fresh, &id).unwrap_err();
    assert_eq!(err.code(), Code::Conflict);
    assert!(err.message().contains("24 hours"), "{err}");
    // bob himself was made by alice: refused too; a lead bob made two days ago may.
    assert_eq!(approve(&mut bob, &id).unwrap_err().code(), Code::Conflict);
    let mut ivy = signed_in_user(&dir, &mut bob, "ivy", "lead");
    let out = approve(&mut ivy, &id).unwrap();
    assert_eq!(out.status, ApplicationStatus::Approved);
}

#[test]
fn deciding_someone_elses_assignment_needs_a_take_over_first() {
    let (_tmp, dir, mut admin) = vault();
    let mut uma = signed_in_user(&dir, &mut admin, "uma", "underwriter");
    let mut ulf = signed_in_user(&dir, &mut admin, "ulf", "underwriter");
    let id = submitted(&mut uma, demo::low_risk(16));
    review::assign_to_me(&mut uma, &id, false).unwrap();
    let err = approve(&mut ulf, &id).unwrap_err();
    assert_eq!(err.code(), Code::Conflict);
    assert!(err.message().contains("assigned to uma"), "{err}");
    review::assign_to_me(&mut ulf, &id, true).unwrap();
    let i = input(&mut ulf, &id, "approve", &["low_risk"]);
    assert_eq!(
        review::decide(&mut ulf, i).unwrap().status,
        ApplicationStatus::Approved
    );
    let took_over = api::audit_log::list_audit(&mut admin, None, 200)
        .unwrap()
        .entries
        .into_iter()
        .any(|e| e.actor == "ulf" && e.action == "review.assign");
    assert!(took_over, "the take-over is audited");
}

#[test]
fn a_confirmed_match_is_reported_with_its_list_entry_and_what_we_did() {
    let (_tmp, dir, mut admin) = vault();
    if !lists(&mut admin) {
        return;
    }
    let mut uma = signed_in_user(&dir, &mut admin, "uma", "underwriter");
    let mut audrey = signed_in_user(&dir, &mut admin, "audrey", "auditor");
    let id = submitted(&mut uma, listed(demo::low_risk(17)));
    review::assign_to_me(&mut uma, &id, false).unwrap();
    let hit = only_hit(&mut uma, &id);
    screening::dispose_hit(
        &mut uma,
        &hit,
        "true_match",
        "Passport and DOB match the SDN entry",
    )
    .unwrap();
    let mut decline = input(&mut uma, &id, "decline", &["sanctions_match"]);
    decline.blocklist = true;
    decline.blocklist_basis = Some("aml_record_keeping".into());
    review::decide(&mut uma, decline).unwrap();

    assert_eq!(
        api::sanctions_report::reports(&mut uma).unwrap_err().code(),
        Code::Forbidden,
        "admins and auditors only"
    );
    let reports = api::sanctions_report::reports(&mut audrey).unwrap();
    assert_eq!(reports.len(), 1);
    let r = &reports[0];
    assert_eq!(r.list_uid, "sdn:10278");
    assert_eq!(r.subject["as_held"]["last_name"], "Logan Morey");
    assert_eq!(r.confirmed_by.as_deref(), Some("uma"));
    let entry = r.entry.as_ref().unwrap();
    assert!(entry["programs"].to_string().contains("SDNT"), "{entry}");
    assert!(
        r.actions
            .iter()
            .any(|a| a["what"] == "decline" && a["by"] == "uma"),
        "what we did: {:?}",
        r.actions
    );
    let due = r.due.as_deref().unwrap();
    let today = time::OffsetDateTime::now_utc().date();
    assert_eq!(
        due,
        api::sanctions_report::add_business_days(today, 10).to_string()
    );

    let export = api::sanctions_report::export(&mut admin, None).unwrap();
    assert_eq!(export.reports, 1);
    let html = String::from_utf8(export.html.content).unwrap();
    assert!(html.contains("sdn:10278") && html.contains(due), "{html}");
    let audit = api::audit_log::list_audit(&mut admin, None, 500)
        .unwrap()
        .entries;
    let entry = audit
        .iter()
        .find(|e| e.action == "sanctions.report_export")
        .expect("the export is audited");
    assert_eq!(entry.detail.as_deref(), Some("1 report(s)"));
    assert!(
        !audit.iter().any(|e| {
            let d = e.detail.clone().unwrap_or_default();
            d.contains("Logan") || d.contains("LOGAN")
        }),
        "no names in the audit log"
    );
}

#[test]
fn an_application_sent_back_for_information_is_held_the_same_when_it_returns() {
    let (_tmp, dir, mut admin) = vault();
    if !lists(&mut admin) {
        return;
    }
    let mut uma = signed_in_user(&dir, &mut admin, "uma", "underwriter");
    let id = submitted(&mut uma, listed(demo::low_risk(18)));
    review::assign_to_me(&mut uma, &id, false).unwrap();
    let hit = only_hit(&mut uma, &id);
    screening::dispose_hit(
        &mut uma,
        &hit,
        "true_match",
        "Passport and DOB match the SDN entry",
    )
    .unwrap();
    let mut ask = input(&mut uma, &id, "request_info", &["clarification_needed"]);
    ask.fields = vec!["people[0].dob".into()];
    let out = review::decide(&mut uma, ask).unwrap();
    assert_eq!(
        out.status,
        ApplicationStatus::InfoRequested,
        "still possible"
    );

    // The applicant answers and it comes back: the confirmed match still stands.
    let version = intake::get_application(&mut uma, &id)
        .unwrap()
        .summary
        .version;
    intake::submit(&mut uma, &id, version).unwrap();
    review::assign_to_me(&mut uma, &id, false).unwrap();
    let err = approve(&mut uma, &id).unwrap_err();
    assert_eq!(err.code(), Code::SanctionsMatch, "{err}");
    no_boarding_job(&mut uma, &id);
}

#[test]
fn a_hit_confirmed_after_the_first_approval_stops_the_second_approval() {
    let Some(Awaiting {
        _tmp,
        mut uma,
        mut lea,
        id,
        ..
    }) = first_approved_then_hit(19)
    else {
        return;
    };
    let hit = only_hit(&mut uma, &id);
    screening::dispose_hit(
        &mut uma,
        &hit,
        "true_match",
        "Passport and DOB match the SDN entry",
    )
    .unwrap();
    let mut i = input(&mut lea, &id, "approve", &["edd_completed"]);
    i.confirmed_hits = vec![hit];
    let err = review::decide(&mut lea, i).unwrap_err();
    assert_eq!(err.code(), Code::SanctionsMatch, "{err}");
    no_boarding_job(&mut lea, &id);
}

#[test]
fn the_list_entry_shown_and_reported_carries_the_lists_addresses() {
    let (_tmp, _dir, mut admin) = vault();
    if !lists(&mut admin) {
        return;
    }
    // sdn:11195 has five addresses in the fixture's add.csv.
    let mut form = demo::low_risk(20);
    form.business.legal_name = "Iran Aircraft Manufacturing Industrial Company".into();
    let id = submitted(&mut admin, form);
    let hits = screening::hits(&mut admin, &id).unwrap();
    let entry = hits
        .iter()
        .filter_map(|h| h.entry.as_ref())
        .find(|e| e["uid"] == "sdn:11195")
        .unwrap_or_else(|| panic!("a hit on sdn:11195: {hits:?}"));
    let addresses = entry["addresses"].as_array().unwrap();
    assert_eq!(addresses.len(), 5, "{entry}");
    assert!(
        addresses[0].as_str().unwrap().ends_with("Esfahan, Iran"),
        "{entry}"
    );
}
