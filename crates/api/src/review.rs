//! The review queue and decisions: risk assessment, assignment, approve / decline / request
//! information with reason codes, four-eyes approval, the blocklist, the dashboard.

use domain::intake::{Application, ApplicationStatus};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use underwriting::{assess, RuleSet};
use vault::audit::Outcome;
use vault::review::NewDecision;

use crate::views::{Dashboard, Note, QueueFilter, QueuePage, QueueRow};

pub use crate::checks::rules;
use crate::checks::{checks_of, reassess};
use crate::clock::{new_id, now_ms};
use crate::session::{Access, Session, SessionSlot};
use crate::{Code, Error, Result};
use domain::review::{Decision, RiskBand};

/// Reason codes per decision (what a regulator or a card brand asks "why" with).
pub const APPROVE_REASONS: &[&str] = Decision::Approve.reasons();
pub const DECLINE_REASONS: &[&str] = Decision::Decline.reasons();
pub const REQUEST_INFO_REASONS: &[&str] = Decision::RequestInfo.reasons();

/// Parses and checks a rule set: unknown keys, unknown factor names, negative points and
/// out-of-range limits are refused, each by its setting.
fn checked_rules(json: &str) -> Result<RuleSet> {
    if json.len() > 64 * 1024 {
        return Err(Error::invalid_input(
            "rules",
            "must be at most 64 KB of JSON",
        ));
    }
    let rules: RuleSet = serde_json::from_str(json).map_err(|e| {
        // serde's message names the key or the position, not a KYC value: rules hold none.
        Error::invalid_input("rules", &e.to_string())
    })?;
    let problems = rules.problems();
    if !problems.is_empty() {
        return Err(Error::fields(
            problems
                .into_iter()
                .map(|p| domain::intake::FieldError::new(format!("rules.{}", p.field), p.reason))
                .collect(),
        ));
    }
    Ok(rules)
}

/// Use case (admin): propose a new rule set (JSON of [`RuleSet`]). It applies only once another
/// admin confirms it ([`crate::settings::confirm_change`]): the rules and the four-eyes score
/// decide who needs a second approver, so one admin alone does not change them.
pub fn set_rules(slot: &mut SessionSlot, json: &str) -> Result<crate::settings::PendingSetting> {
    let session = slot.require(Access::Admin, "settings.risk_rules")?;
    let rules = checked_rules(json)?;
    let old = crate::checks::rules(session.vault());
    session.write(|w| {
        crate::settings::propose(
            w,
            vault::Proposable::RiskRules,
            &serde_json::to_string(&rules).unwrap_or_default(),
            &rule_changes(&old, &rules),
        )
    })
}

/// What a proposed rule set would do to the queue: how many applications in it (submitted or
/// in review) would change band, and how.
#[derive(Debug, Clone, Serialize)]
pub struct RulesPreview {
    pub in_queue: usize,
    pub would_change: usize,
    /// `(from, to, how many)`, e.g. `("low", "medium", 3)`.
    pub moves: Vec<(String, String, usize)>,
    pub changes: String,
}

/// Use case (admin): preview a rule set against the queue before proposing it. Nothing is
/// stored.
pub fn preview_rules(slot: &mut SessionSlot, json: &str) -> Result<RulesPreview> {
    let session = slot.require(Access::Admin, "settings.risk_rules_preview")?;
    let rules = checked_rules(json)?;
    let vault = session.vault();
    let old = crate::checks::rules(vault);
    let today = OffsetDateTime::now_utc().date();
    let mut moves: std::collections::BTreeMap<(String, String), usize> = Default::default();
    let mut in_queue = 0;
    let mut offset = 0;
    loop {
        let page = vault.queue(&vault::review::QueueFilter::default(), 500, offset)?;
        if page.items.is_empty() {
            break;
        }
        offset += page.items.len() as u32;
        for row in page.items {
            in_queue += 1;
            let stored = vault.application(&row.id)?;
            let checks = checks_of(vault, &row.id, &stored.form)?;
            let app = Application::of(&stored.form);
            let before = assess(&app, &checks, &old, today).band;
            let after = assess(&app, &checks, &rules, today).band;
            if before != after {
                *moves
                    .entry((before.as_str().to_string(), after.as_str().to_string()))
                    .or_default() += 1;
            }
        }
    }
    Ok(RulesPreview {
        in_queue,
        would_change: moves.values().sum(),
        moves: moves.into_iter().map(|((a, b), n)| (a, b, n)).collect(),
        changes: rule_changes(&old, &rules),
    })
}

/// Use case (any signed-in role): the factors an admin can weigh, with what each means (the
/// rules editor's labels).
pub fn factors(slot: &mut SessionSlot) -> Result<Vec<(&'static str, &'static str)>> {
    slot.require(Access::SignedIn, "settings.factors")?;
    Ok(underwriting::FACTORS.to_vec())
}

/// `points.mcc_high_risk 25 -> 30; four_eyes_score 60 -> 55` (rules hold no KYC values), or
/// "unchanged".
fn rule_changes(old: &RuleSet, new: &RuleSet) -> String {
    fn flat(
        prefix: &str,
        v: &serde_json::Value,
        out: &mut std::collections::BTreeMap<String, String>,
    ) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    flat(&key, v, out);
                }
            }
            other => {
                out.insert(prefix.to_string(), other.to_string());
            }
        }
    }
    let (mut a, mut b) = (Default::default(), Default::default());
    flat("", &serde_json::to_value(old).unwrap_or_default(), &mut a);
    flat("", &serde_json::to_value(new).unwrap_or_default(), &mut b);
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let changes: Vec<String> = keys
        .into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| {
            let show = |m: &std::collections::BTreeMap<String, String>| {
                m.get(k).cloned().unwrap_or_else(|| "none".into())
            };
            format!("{k} {} -> {}", show(&a), show(&b))
        })
        .collect();
    if changes.is_empty() {
        "unchanged".into()
    } else {
        changes.join("; ")
    }
}

/// Use case: the rule set and the screening threshold in force (any signed-in role may read
/// them: they explain the scores).
pub fn settings(slot: &mut SessionSlot) -> Result<(RuleSet, f64)> {
    let session = slot.require(Access::SignedIn, "settings.view")?;
    Ok((
        rules(session.vault()),
        crate::checks::threshold(session.vault()),
    ))
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct QueueQuery {
    #[serde(flatten)]
    pub filter: QueueFilter,
    /// `true`: only mine (assigned to the signed-in user).
    pub mine: bool,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

pub fn queue(slot: &mut SessionSlot, query: QueueQuery) -> Result<QueuePage> {
    let session = slot.require(Access::SignedIn, "review.queue")?;
    let mut filter = query.filter;
    if query.mine {
        filter.assignee = Some(session.username().to_string());
    }
    let r = rules(session.vault());
    let band_scores = filter.band.map(|band| match band {
        RiskBand::Low => (0, i64::from(r.medium_from)),
        RiskBand::Medium => (i64::from(r.medium_from), i64::from(r.high_from)),
        RiskBand::High => (i64::from(r.high_from), 101),
    });
    Ok(session
        .vault()
        .queue(
            &filter.to_store(band_scores),
            query.limit.unwrap_or(50),
            query.offset.unwrap_or(0),
        )?
        .into())
}

/// Takes an application for review: assigns it to the signed-in user and moves a submitted one
/// into review. Someone else's assignment is kept unless `take_over`.
pub fn assign_to_me(slot: &mut SessionSlot, id: &str, take_over: bool) -> Result<QueueRow> {
    let session = slot.require(Access::Write, "review.assign")?;
    take(session, id, take_over)
}

fn take(session: &Session, id: &str, take_over: bool) -> Result<QueueRow> {
    let vault = session.vault();
    let me = session.username();
    let row = vault.queue_row(id)?;
    if !matches!(row.status.as_str(), "submitted" | "in_review") {
        return Err(Error::new(
            Code::Conflict,
            "only submitted applications or those in review can be taken",
        ));
    }
    if let Some(other) = row.assignee.as_deref().filter(|a| *a != me) {
        if !take_over {
            return Err(Error::new(
                Code::Conflict,
                format!("already assigned to {other}: take it over explicitly"),
            ));
        }
    }
    let now = now_ms(OffsetDateTime::now_utc());
    session.write(|w| {
        // The evidence is ready when the review starts: screened (when lists are loaded) and
        // scored.
        crate::checks::refresh(w, id)?;
        let row = w.queue_row(id)?;
        // Read again inside the unit (on a team store, after the team's write lock): a desk
        // that took it since the check above won the race, and is named.
        if let Some(other) = row.assignee.as_deref().filter(|a| *a != me) {
            if !take_over {
                return Err(Error::new(
                    Code::Conflict,
                    format!("{other} took it a moment ago: take it over explicitly"),
                ));
            }
        }
        let mut version = row.version;
        if row.assignee.as_deref() != Some(me) {
            version = w.assign(id, version, Some(me))?;
        }
        if row.status == "submitted" {
            w.transition_application(id, version, ApplicationStatus::InReview, me, None, now)?;
        }
        w.audit("review.assign", Some(id), Outcome::Ok, None)
    })?;
    Ok(vault.queue_row(id)?.into())
}

/// "Next in queue": the riskiest, then oldest, submitted or in-review application that is
/// unassigned or mine — taken for review. `None` when the queue is empty.
///
/// Several desks pressing "Next" at once would all reach for the same top row: one gets it, and
/// the others move on to the rows after it (a few at a time, read again if all were taken
/// meanwhile) instead of being told someone else was quicker.
pub fn next_in_queue(slot: &mut SessionSlot) -> Result<Option<QueueRow>> {
    /// Rows tried per read of the queue, and reads before giving up to the caller.
    const CANDIDATES: u32 = 8;
    const READS: usize = 4;
    let session = slot.require(Access::Write, "review.next")?;
    let vault = session.vault();
    let mut lost_race = None;
    for assignee in [
        Some(session.username().to_string()),
        Some("none".to_string()),
    ] {
        for _ in 0..READS {
            let rows = vault.queue_head(
                &vault::review::QueueFilter {
                    assignee: assignee.clone(),
                    ..vault::review::QueueFilter::default()
                },
                CANDIDATES,
            )?;
            if rows.is_empty() {
                break;
            }
            for row in rows {
                match take(session, &row.id, false) {
                    Ok(taken) => return Ok(Some(taken)),
                    // Another desk took it first: the next one.
                    Err(e) if e.code() == Code::Conflict => lost_race = Some(e),
                    Err(e) => return Err(e),
                }
            }
        }
    }
    match lost_race {
        Some(e) => Err(e),
        None => Ok(None),
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecideInput {
    pub id: String,
    pub version: i64,
    /// `approve`, `decline` or `request_info`.
    pub decision: String,
    pub reasons: Vec<String>,
    pub note: String,
    /// For `request_info`: the form fields the applicant must fix (`business.ein`…).
    #[serde(default)]
    pub fields: Vec<String>,
    /// For `decline`: add the EIN, SSNs and bank account to the blocklist.
    #[serde(default)]
    pub blocklist: bool,
    /// With `blocklist`: the legal basis the entries are kept on (`fraud_prevention`,
    /// `aml_record_keeping`, `card_network_rules`).
    #[serde(default)]
    pub blocklist_basis: Option<String>,
    /// For a second approval: the ids of the false-positive dispositions recorded after the
    /// first approval, each confirmed by the second approver.
    #[serde(default)]
    pub confirmed_hits: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DecideOutcome {
    pub status: ApplicationStatus,
    /// True when an approval was recorded and waits for a second, different approver.
    pub awaiting_second_approval: bool,
}

fn check_reasons(decision: &str, reasons: &[String]) -> Result<Decision> {
    let decision = Decision::parse(decision).ok_or_else(|| {
        Error::invalid_input("decision", "must be approve, decline or request_info")
    })?;
    let allowed = decision.reasons();
    if reasons.is_empty() {
        return Err(Error::invalid_input(
            "reasons",
            &format!("give at least one of {}", allowed.join(", ")),
        ));
    }
    if let Some(bad) = reasons.iter().find(|r| !allowed.contains(&r.as_str())) {
        let shown: String = bad.chars().take(40).filter(|c| !c.is_control()).collect();
        return Err(Error::invalid_input(
            "reasons",
            &format!(
                "{shown} is not a {} reason; use {}",
                decision.as_str(),
                allowed.join(", ")
            ),
        ));
    }
    Ok(decision)
}

/// How long a new account waits before it may give a second approval: a checker account made
/// for the occasion is not a second person.
pub const SECOND_APPROVER_MIN_AGE: time::Duration = time::Duration::hours(24);

/// Use case: decide an application in review. Approvals of high-risk applications (score at
/// or above the four-eyes threshold) need a second approver: a lead or an admin who is not the
/// maker (see [`check_second_approver`]). A decision on an application that changed meanwhile
/// is a conflict; one on an application assigned to someone else needs a take-over first.
///
/// The sanctions hard stop: no approval, first or second, while any hit on the application is
/// open (`sanctions_hits_open`) or confirmed as a true match (`sanctions_match`), whatever the
/// role. The vault refuses the boarding job on its own as well.
pub fn decide(slot: &mut SessionSlot, input: DecideInput) -> Result<DecideOutcome> {
    let session = slot.require(Access::Write, "review.decide")?;
    let decision = check_reasons(&input.decision, &input.reasons)?;
    let note = domain::intake::clean_text("note", &input.note, 2000)
        .map_err(|e| Error::invalid_input("note", &e.reason))?;
    if note.chars().count() < 5 {
        return Err(Error::invalid_input(
            "note",
            "must say why, in at least 5 characters",
        ));
    }
    if decision == Decision::RequestInfo {
        if input.fields.is_empty() {
            return Err(Error::invalid_input(
                "fields",
                "name at least one field the applicant must fix",
            ));
        }
        let valid = |f: &str| {
            let root = f.split(['.', '[']).next().unwrap_or("");
            matches!(root, "business" | "people" | "bank" | "terms" | "documents")
                && f.len() <= 80
                && f.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._[]".contains(c))
        };
        if input.fields.iter().any(|f| !valid(f)) {
            return Err(Error::invalid_input(
                "fields",
                "must be form fields like business.ein or people[0].ssn",
            ));
        }
    }
    if input.blocklist && decision != Decision::Decline {
        return Err(Error::invalid_input(
            "blocklist",
            "only a decline adds to the blocklist",
        ));
    }
    let basis = crate::blocklist::basis(input.blocklist, input.blocklist_basis.as_deref())?;
    let vault = session.vault();
    if basis.is_some() {
        crate::blocklist::check_can_block(vault)?;
    }
    let me = session.username().to_string();
    let row = vault.queue_row(&input.id)?;
    if row.version != input.version {
        return Err(Error::new(
            Code::Conflict,
            "the application was changed by someone else meanwhile: reload it",
        ));
    }
    if row.status != "in_review" {
        return Err(Error::new(
            Code::Conflict,
            "only an application in review can be decided (take it for review first)",
        ));
    }
    // The checker of an application awaiting its second approval is, by design, not its
    // assignee; everyone else decides only what they hold.
    let checking = row
        .pending_approval_by
        .as_deref()
        .is_some_and(|first| first != me);
    if !checking && row.assignee.as_deref() != Some(me.as_str()) {
        let holder = row.assignee.as_deref().unwrap_or("nobody");
        return Err(Error::new(
            Code::Conflict,
            format!("the application is assigned to {holder}: take it over first"),
        ));
    }
    if decision == Decision::Approve {
        if let Err(e) = vault.sanctions_clear(&input.id) {
            let e = Error::from(e);
            session.audit(
                "review.decide",
                Some(&input.id),
                Outcome::Denied,
                Some(&format!("approve refused: {}", e.code())),
            )?;
            return Err(e);
        }
    }
    let now_t = OffsetDateTime::now_utc();
    let now = now_ms(now_t);
    let reasons_json =
        serde_json::json!({ "codes": input.reasons, "fields": input.fields }).to_string();
    let assessment = session.write(|w| Ok(reassess(w, &input.id)?))?;

    let (kind, to, awaiting) = match decision {
        Decision::Approve if assessment.four_eyes => match row.pending_approval_by.as_deref() {
            None => ("approve", None, true),
            Some(first) if first == me => {
                return Err(Error::new(
                    Code::Conflict,
                    "you gave the first approval: a second, different approver must confirm",
                ))
            }
            Some(_) if !session.role().can_give_second_approval() => {
                return Err(Error::new(
                    Code::Forbidden,
                    "the second approval of a high-risk application needs an underwriter lead or an admin",
                ))
            }
            Some(first) => {
                if let Err(e) =
                    check_second_approver(session, &input.id, first, &input.confirmed_hits, now_t)
                {
                    session.audit(
                        "review.decide",
                        Some(&input.id),
                        Outcome::Denied,
                        Some("second approval refused: maker-checker"),
                    )?;
                    return Err(e);
                }
                ("second_approval", Some(ApplicationStatus::Approved), false)
            }
        },
        Decision::Approve => ("approve", Some(ApplicationStatus::Approved), false),
        Decision::Decline => ("decline", Some(ApplicationStatus::Declined), false),
        Decision::RequestInfo => (
            "request_info",
            Some(ApplicationStatus::InfoRequested),
            false,
        ),
    };
    let detail = format!("{kind}: {}", input.reasons.join(","));
    session.write(|w| {
        w.add_decision(&NewDecision {
            id: &new_id(),
            application_id: &input.id,
            kind,
            reasons_json: &reasons_json,
            note: &note,
            actor: &me,
            now_ms: now,
        })?;
        let mut version = row.version;
        if awaiting {
            w.set_pending_approval(&input.id, version, Some(&me))?;
            return w.audit("review.decide", Some(&input.id), Outcome::Ok, Some(&detail));
        }
        if row.pending_approval_by.is_some() {
            version = w.set_pending_approval(&input.id, version, None)?;
        }
        if let Some(to) = to {
            w.transition_application(&input.id, version, to, &me, Some(kind), now)?;
        }
        if to == Some(ApplicationStatus::Approved) {
            // The boarding job is born with the approval: both commit, or neither. The vault
            // refuses it on its own while a sanctions hit is open or confirmed.
            w.enqueue_boarding(&new_id(), &input.id, &me, now)?;
        }
        w.audit("review.decide", Some(&input.id), Outcome::Ok, Some(&detail))?;
        if let (true, Some(basis)) = (kind == "decline", basis) {
            let n = crate::blocklist::block(w, &input.id, "declined", basis, &me, now)?;
            w.audit(
                "blocklist.add",
                Some(&input.id),
                Outcome::Ok,
                Some(&format!(
                    "{n} identifiers added or renewed; basis {}",
                    basis.as_str()
                )),
            )?;
        }
        Ok(())
    })?;
    let status = vault.application_summary(&input.id)?.status;
    Ok(DecideOutcome {
        status,
        awaiting_second_approval: awaiting,
    })
}

/// Four eyes are two people, and the maker is not the checker. The second approver of an
/// application first approved by `first` must not be:
/// - whoever created it or last changed its form;
/// - whoever dispositioned any of its sanctions hits;
/// - an account created by `first`, or created less than [`SECOND_APPROVER_MIN_AGE`] ago
///   (the vault's founding admin, created with the vault, is the one account with no
///   creator);
///
/// and must confirm, by hit id (`confirmed_hits`), every false-positive disposition recorded
/// after the first approval: a hit cleared between the two approvals is the checker's to see.
fn check_second_approver(
    session: &Session,
    id: &str,
    first: &str,
    confirmed_hits: &[String],
    now: OffsetDateTime,
) -> Result<()> {
    let vault = session.vault();
    let me = session.username();
    let refuse = |why: &str| Err(Error::new(Code::Conflict, why.to_string()));
    let summary = vault.application_summary(id)?;
    if summary.created_by == me || summary.edited_by.as_deref() == Some(me) {
        return refuse(
            "you created or edited this application: its second approval needs someone else",
        );
    }
    let hits = vault.screening_hits(id)?;
    if hits.iter().any(|h| h.disposed_by.as_deref() == Some(me)) {
        return refuse(
            "you dispositioned a sanctions hit on this application: its second approval needs someone else",
        );
    }
    let user = vault
        .user_by_name(me)?
        .ok_or_else(|| Error::unauthorized("your account no longer exists"))?;
    if user.created_by.as_deref() == Some(first) {
        return refuse(
            "your account was created by the first approver: the second approval needs someone independent of them",
        );
    }
    if user.created_by.is_some() {
        let created = OffsetDateTime::parse(
            &user.created_at,
            &time::format_description::well_known::Rfc3339,
        )
        .map_err(|_| Error::new(Code::VaultDamaged, "a user's creation time is not readable"))?;
        if now - created < SECOND_APPROVER_MIN_AGE {
            return refuse("an account less than 24 hours old cannot give a second approval");
        }
    }
    let first_approved_at = vault
        .decisions(id)?
        .iter()
        .filter(|d| d.kind == "approve" && d.actor == first)
        .map(|d| d.at)
        .max()
        .unwrap_or(0);
    let unconfirmed = hits
        .iter()
        .filter(|h| {
            h.disposition.as_deref() == Some("false_positive")
                && h.disposed_at.unwrap_or(0) >= first_approved_at
                && !confirmed_hits.contains(&h.id)
        })
        .count();
    if unconfirmed > 0 {
        return Err(Error::invalid_input(
            "confirmed_hits",
            &format!(
                "{unconfirmed} false-positive disposition(s) recorded after the first approval: review and confirm each"
            ),
        ));
    }
    Ok(())
}

/// What the review screen shows beyond the application itself.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewView {
    pub row: QueueRow,
    pub assessment: Option<crate::views::Assessment>,
    pub decisions: Vec<crate::views::DecisionRecord>,
    /// Internal notes, oldest first.
    pub notes: Vec<Note>,
    pub approve_reasons: &'static [&'static str],
    pub decline_reasons: &'static [&'static str],
    pub request_info_reasons: &'static [&'static str],
}

pub fn review_view(slot: &mut SessionSlot, id: &str) -> Result<ReviewView> {
    let session = slot.require(Access::SignedIn, "review.view")?;
    let vault = session.vault();
    Ok(ReviewView {
        row: vault.queue_row(id)?.into(),
        assessment: vault.assessment(id)?.map(Into::into),
        decisions: crate::views::all(vault.decisions(id)?),
        notes: crate::views::all(vault.notes(id)?),
        approve_reasons: APPROVE_REASONS,
        decline_reasons: DECLINE_REASONS,
        request_info_reasons: REQUEST_INFO_REASONS,
    })
}

/// Use case: an underwriter's internal note on an application (admin, lead, underwriter).
/// Sealed with the application's key; the audit entry names the application, never the text.
pub fn add_note(slot: &mut SessionSlot, id: &str, text: &str) -> Result<Vec<Note>> {
    slot.require(Access::Write, "application.note")?;
    let text = domain::intake::clean_text("note", text, 2000)
        .map_err(|e| Error::invalid_input("note", &e.reason))?;
    if text.trim().chars().count() < 2 {
        return Err(Error::invalid_input("note", "must not be empty"));
    }
    let session = slot.require(Access::Write, "application.note")?;
    let vault = session.vault();
    vault.application_summary(id)?;
    let note_id = new_id();
    session.write(|w| {
        w.add_note(
            &note_id,
            id,
            session.username(),
            now_ms(OffsetDateTime::now_utc()),
            &text,
        )?;
        w.audit("application.note", Some(id), Outcome::Ok, Some(&note_id))
    })?;
    Ok(crate::views::all(session.vault().notes(id)?))
}

pub fn dashboard(slot: &mut SessionSlot) -> Result<Dashboard> {
    let session = slot.require(Access::SignedIn, "review.dashboard")?;
    let since = now_ms(OffsetDateTime::now_utc() - time::Duration::days(30));
    Ok(session.vault().dashboard(since)?.into())
}
