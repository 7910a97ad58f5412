//! The checks behind every decision: sanctions screening of an application's business and
//! people against the active lists, and the explained risk assessment. Every use case that
//! needs fresh evidence calls [`refresh`] (screen, then assess); the screening and review use
//! cases build on this module, and neither reaches into the other.

use std::sync::{Arc, Mutex, PoisonError};

use domain::intake::{Application, ApplicationForm};
use domain::merchant::ReviewFlag;
use screening::{Entry, Hit, Index, Query, DEFAULT_THRESHOLD};
use serde::Serialize;
use time::OffsetDateTime;
use underwriting::{assess, Assessment, Checks, RuleSet};
use vault::audit::Outcome;
use vault::review::NewAssessment;
use vault::screening::{ListVersion, NewHit, ScreeningOutcome};
use vault::Vault;

use crate::clock::{new_id, now_ms};
use crate::session::Unit;
use crate::{Code, Error, Result};

/// The index of the active list versions, built once per set of versions.
pub(crate) struct Cached {
    key: String,
    index: Arc<Index>,
}

static INDEX: Mutex<Option<Cached>> = Mutex::new(None);

/// The active versions as one key (`sdn:<id>+consolidated:<id>`), or `None` without lists.
pub(crate) fn active_key(vault: &Vault) -> Result<Option<(String, Vec<ListVersion>)>> {
    let mut active: Vec<ListVersion> = vault
        .list_versions()?
        .into_iter()
        .filter(|v| v.active)
        .collect();
    if active.is_empty() {
        return Ok(None);
    }
    active.sort_by(|a, b| a.source.cmp(&b.source));
    let key = active
        .iter()
        .map(|v| format!("{}:{}", v.source, v.id))
        .collect::<Vec<_>>()
        .join("+");
    Ok(Some((key, active)))
}

pub(crate) fn no_lists() -> Error {
    Error::new(
        Code::Conflict,
        "no sanctions list is loaded: an admin imports OFAC's files first (desk lists import DIR, or Admin → Sanctions lists)",
    )
}

/// The index for the active lists, building it when they changed.
pub(crate) fn index(vault: &Vault) -> Result<(String, Arc<Index>)> {
    let (key, active) = active_key(vault)?.ok_or_else(no_lists)?;
    let mut cache = INDEX.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(c) = cache.as_ref().filter(|c| c.key == key) {
        return Ok((key, Arc::clone(&c.index)));
    }
    let mut entries: Vec<Entry> = Vec::new();
    for version in &active {
        for body in vault.list_entries(&version.id)? {
            entries.push(serde_json::from_str(&body).map_err(|_| {
                Error::new(
                    Code::VaultDamaged,
                    "a stored sanctions entry is not readable",
                )
            })?);
        }
    }
    let index = Arc::new(Index::build(entries));
    *cache = Some(Cached {
        key: key.clone(),
        index: Arc::clone(&index),
    });
    Ok((key, index))
}

/// The score at or above which a name is a hit (admin setting; 0.88 when unset).
pub fn threshold(vault: &Vault) -> f64 {
    crate::settings::read(vault, vault::Setting::ScreeningThreshold)
        .and_then(|v| v.parse().ok())
        .filter(|t: &f64| (0.5..=1.0).contains(t))
        .unwrap_or(DEFAULT_THRESHOLD)
}

/// Who is screened in an application, with what.
pub(crate) struct Subject {
    path: String,
    key: String,
    name: String,
    birth_year: Option<i32>,
    country: String,
    individual: Option<bool>,
}

pub(crate) fn subjects(form: &ApplicationForm) -> Vec<Subject> {
    let b = &form.business;
    let sole = b.entity_type == "sole_proprietorship";
    let mut out = Vec::new();
    if !b.legal_name.is_empty() {
        out.push(Subject {
            path: "business.legal_name".into(),
            key: "business".into(),
            name: b.legal_name.clone(),
            birth_year: None,
            country: b.address.country.clone(),
            individual: if sole { None } else { Some(false) },
        });
    }
    if !b.dba.is_empty() && b.dba != b.legal_name {
        out.push(Subject {
            path: "business.dba".into(),
            key: "dba".into(),
            name: b.dba.clone(),
            birth_year: None,
            country: b.address.country.clone(),
            individual: Some(false),
        });
    }
    for (i, p) in form.people.iter().enumerate() {
        let name = format!("{} {}", p.first_name, p.last_name);
        if name.trim().is_empty() {
            continue;
        }
        out.push(Subject {
            path: format!("people[{i}]"),
            key: format!("person:{}", p.id),
            name,
            birth_year: p.dob.get(..4).and_then(|y| y.parse().ok()),
            country: if p.passport_country.is_empty() {
                p.address.country.clone()
            } else {
                p.passport_country.clone()
            },
            individual: Some(true),
        });
    }
    out
}

#[derive(Serialize)]
pub(crate) struct HitDetail<'a> {
    subject: &'a str,
    #[serde(flatten)]
    hit: &'a Hit,
}

pub(crate) fn audit_as(
    w: &Unit<'_>,
    actor: &str,
    action: &str,
    target: &str,
    detail: &str,
) -> Result<()> {
    w.audit_as(actor, action, Some(target), Outcome::Ok, Some(detail))
}

/// Flags a boarded merchant for review (no-op for an application that is not a merchant yet),
/// audited as `actor` when the flag changes.
pub(crate) fn flag_merchant(
    w: &Unit<'_>,
    actor: &str,
    application_id: &str,
    reason: ReviewFlag,
) -> Result<()> {
    if w.flag_merchant_for_review(application_id, reason, now_ms(OffsetDateTime::now_utc()))? {
        audit_as(
            w,
            actor,
            "merchant.review_flag",
            application_id,
            reason.as_str(),
        )?;
    }
    Ok(())
}

pub(crate) fn screen_stored(
    vault: &vault::Tx<'_>,
    index: &Index,
    key: &str,
    application_id: &str,
    threshold: f64,
    rules: &Rules,
) -> vault::Result<Screened> {
    let stored = vault.application(application_id)?;
    let mut found: Vec<(String, String, Hit)> = Vec::new();
    for s in subjects(&stored.form) {
        for hit in index.screen(
            &Query {
                name: &s.name,
                birth_year: s.birth_year,
                country: Some(&s.country)
                    .filter(|c| !c.is_empty())
                    .map(String::as_str),
                individual: s.individual,
            },
            threshold,
        ) {
            found.push((s.path.clone(), s.key.clone(), hit));
        }
    }
    let ids: Vec<String> = found.iter().map(|_| new_id()).collect();
    let details: Vec<String> = found
        .iter()
        .map(|(path, _, hit)| {
            serde_json::to_string(&HitDetail { subject: path, hit }).unwrap_or_default()
        })
        .collect();
    let hits: Vec<NewHit<'_>> = found
        .iter()
        .zip(&ids)
        .zip(&details)
        .map(|(((path, subject_key, hit), id), detail)| NewHit {
            id,
            subject: path,
            subject_key,
            list_uid: &hit.uid,
            fingerprint: &hit.fingerprint,
            score: hit.score,
            detail_json: detail,
        })
        .collect();
    let outcome = vault.record_screening(
        application_id,
        key,
        now_ms(OffsetDateTime::now_utc()),
        &hits,
    )?;
    // Screening can only move the sanctions factors: when this run changed nothing about the
    // hits of an application already screened (and so assessed), its assessment stands. Other
    // factors are refreshed whenever someone takes or decides the application.
    let unchanged = stored.summary.screened
        && outcome.new_hits == 0
        && outcome.open_hits == stored.summary.open_hits;
    if !unchanged {
        assess_stored(vault, application_id, &stored.form, rules)?;
    }
    // A boarded merchant with a new hit goes back under review, in the same transaction as the
    // hit (the caller audits the flag once that commits).
    let flagged = outcome.new_hits > 0
        && vault.flag_merchant_for_review(
            application_id,
            ReviewFlag::SanctionsHit,
            now_ms(OffsetDateTime::now_utc()),
        )?;
    Ok(Screened { outcome, flagged })
}

/// One application's screening, and whether it put a boarded merchant under review.
pub(crate) struct Screened {
    pub(crate) outcome: ScreeningOutcome,
    pub(crate) flagged: bool,
}

/// Audits the review flags a screening run raised, in its unit of work.
pub(crate) fn audit_flags(w: &Unit<'_>, actor: &str, flagged: &[String]) -> Result<()> {
    for id in flagged {
        audit_as(
            w,
            actor,
            "merchant.review_flag",
            id,
            ReviewFlag::SanctionsHit.as_str(),
        )?;
    }
    Ok(())
}

/// Screens a boarded merchant whose details just changed (when lists are loaded): a new hit
/// flags it for review like a re-screen does, audited as the signed-in user.
pub(crate) fn screen_changed_merchant(w: &Unit<'_>, id: &str) -> Result<()> {
    if active_key(w)?.is_some() {
        screen_and_flag(w, id)?;
    }
    Ok(())
}

/// Screens one application against the active lists; a new hit on a boarded merchant flags it
/// for review, audited as the signed-in user.
pub(crate) fn screen_and_flag(w: &Unit<'_>, id: &str) -> Result<ScreeningOutcome> {
    let (key, index) = index(w)?;
    let rules = Rules::load(w);
    let screened = screen_stored(w, &index, &key, id, threshold(w), &rules)?;
    if screened.flagged {
        audit_flags(w, w.actor(), &[id.to_string()])?;
    }
    Ok(screened.outcome)
}

/// Screens a just-submitted application when lists are loaded; without lists it stays
/// unscreened (the list shows it) until an admin loads them and a re-screen runs.
pub(crate) fn screen_if_possible(
    vault: &vault::Tx<'_>,
    id: &str,
) -> Result<Option<ScreeningOutcome>> {
    if active_key(vault)?.is_none() {
        return Ok(None);
    }
    let (key, index) = index(vault)?;
    let rules = Rules::load(vault);
    // Only a just-submitted application comes here: never a merchant, never a flag.
    Ok(Some(
        screen_stored(vault, &index, &key, id, threshold(vault), &rules)?.outcome,
    ))
}

/// An application's hits, each with the list entry it names (what the reviewer compares the
/// applicant with: the entry's names, dates and places of birth, programs, remarks).
pub(crate) fn hits_with_entries(
    vault: &Vault,
    application_id: &str,
) -> Result<Vec<crate::views::StoredHit>> {
    let mut hits = Vec::new();
    for hit in vault.screening_hits(application_id)? {
        let mut hit = crate::views::StoredHit::from(hit);
        hit.entry = vault
            .list_entry(&hit.list_uid)?
            .and_then(|body| serde_json::from_str::<serde_json::Value>(&body).ok())
            .map(entry_view);
        hits.push(hit);
    }
    Ok(hits)
}

/// A stored list entry as shown: the parsed entry with its places of birth pulled out of the
/// remarks (`POB Kabul, Afghanistan;`), where OFAC writes them.
pub(crate) fn entry_view(mut entry: serde_json::Value) -> serde_json::Value {
    let remarks = entry
        .get("remarks")
        .and_then(|r| r.as_str())
        .unwrap_or("")
        .to_string();
    let places: Vec<String> = remarks
        .split(';')
        .filter_map(|part| part.trim().strip_prefix("POB "))
        .map(|p| p.trim().trim_end_matches('.').to_string())
        .filter(|p| !p.is_empty())
        .collect();
    if let Some(map) = entry.as_object_mut() {
        map.insert("places_of_birth".into(), serde_json::json!(places));
    }
    entry
}

/// The rule set in force: the admin's (settings key `risk_rules`, JSON) or the defaults.
pub fn rules(vault: &Vault) -> RuleSet {
    crate::settings::read(vault, vault::Setting::RiskRules)
        .and_then(|v| serde_json::from_str(&v).ok())
        .unwrap_or_default()
}

/// The rule set in force with its JSON (kept with every assessment), read once per batch.
pub(crate) struct Rules {
    pub set: RuleSet,
    pub json: String,
}

impl Rules {
    pub(crate) fn load(vault: &Vault) -> Rules {
        let set = rules(vault);
        let json = serde_json::to_string(&set).unwrap_or_default();
        Rules { set, json }
    }
}

/// What the vault found about an application, as the risk rules take it.
pub(crate) fn checks_of(
    vault: &Vault,
    application_id: &str,
    form: &ApplicationForm,
) -> vault::Result<Checks> {
    let c = vault.identity_checks(application_id, Some(form))?;
    Ok(Checks {
        open_hits: c.open_hits,
        true_matches: c.true_matches,
        duplicate_ein: c.duplicate_ein,
        duplicate_ssn: c.duplicate_ssn,
        duplicate_bank_account: c.duplicate_bank_account,
        duplicate_contact: c.duplicate_contact,
        blocklisted: c.blocklisted,
        blocklist_unchecked: c.blocklist_unchecked,
    })
}

/// Assesses a stored application and keeps the result (factors included).
pub(crate) fn assess_stored(
    vault: &vault::Tx<'_>,
    application_id: &str,
    form: &ApplicationForm,
    rules: &Rules,
) -> vault::Result<Assessment> {
    let checks = checks_of(vault, application_id, form)?;
    let now = OffsetDateTime::now_utc();
    let a = assess(&Application::of(form), &checks, &rules.set, now.date());
    let recommendation = match a.recommendation {
        underwriting::Recommendation::Approve => "approve",
        underwriting::Recommendation::EnhancedDueDiligence => "enhanced_due_diligence",
        underwriting::Recommendation::Decline => "decline",
    };
    // A re-screen mostly finds nothing new: keep the stored assessment (and its time) then.
    if let Some(old) = vault.assessment(application_id)? {
        let same = old.score == i64::from(a.score)
            && old.band == a.band
            && old.recommendation == recommendation
            && old.four_eyes == a.four_eyes
            && serde_json::to_value(&a.factors).ok().as_ref() == Some(&old.factors);
        if same {
            return Ok(a);
        }
    }
    vault.store_assessment(&NewAssessment {
        application_id,
        now_ms: now_ms(now),
        score: i64::from(a.score),
        band: a.band,
        recommendation,
        four_eyes: a.four_eyes,
        factors_json: &serde_json::to_string(&a.factors).unwrap_or_default(),
        rules_json: &rules.json,
    })?;
    Ok(a)
}

pub(crate) fn reassess(vault: &vault::Tx<'_>, application_id: &str) -> vault::Result<Assessment> {
    let stored = vault.application(application_id)?;
    assess_stored(vault, application_id, &stored.form, &Rules::load(vault))
}

/// Screen-then-assess, the one way evidence is refreshed: an application not yet screened
/// against the active lists is screened (which assesses it); one already screened, or any when
/// no lists are loaded, is assessed again.
pub(crate) fn refresh(vault: &vault::Tx<'_>, id: &str) -> Result<()> {
    let screened = vault.application_summary(id)?.screened;
    if screened || screen_if_possible(vault, id)?.is_none() {
        reassess(vault, id)?;
    }
    Ok(())
}
