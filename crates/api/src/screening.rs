//! Sanctions screening use cases: list versions, screening a name or an application,
//! re-screening after a list update, and dispositions of hits.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

pub use screening::Hit;
use screening::Query;
use serde::Serialize;
use time::OffsetDateTime;
use vault::audit::Outcome;
use vault::screening::NewList;

use crate::views::{ListVersion, ScreeningOutcome, StoredHit};
use vault::Vault;

pub use crate::checks::threshold;
use crate::checks::{
    active_key, audit_as, audit_flags, flag_merchant, hits_with_entries, index, screen_and_flag,
    screen_stored,
};
use crate::clock::{new_id, now_ms};
use crate::session::{Access, SessionSlot};
use crate::{Code, Error, Result};
use domain::merchant::ReviewFlag;

/// Use case (admin): propose a new hit threshold, 0.70–0.99. It applies once another admin
/// confirms it: a higher threshold lets names through that a lower one stops.
pub fn set_threshold(
    slot: &mut SessionSlot,
    value: f64,
) -> Result<crate::settings::PendingSetting> {
    let session = slot.require(Access::Admin, "settings.screening_threshold")?;
    if !(0.70..=0.99).contains(&value) {
        return Err(Error::invalid_input(
            "threshold",
            "must be between 0.70 and 0.99",
        ));
    }
    let old = threshold(session.vault());
    session.write(|w| {
        crate::settings::propose(
            w,
            vault::Proposable::ScreeningThreshold,
            &value.to_string(),
            &format!("{old} -> {value}"),
        )
    })
}

/// Use case (admin): import OFAC's files from a folder as new list versions. The files are
/// read and checked completely before anything is stored; a bad file leaves the previous
/// versions active and names the file and line.
///
/// The first version of a source is active at once (screening against a list is always
/// stricter than against none). A version that would replace an active one is stored inactive
/// and proposed: it applies when another admin confirms it
/// ([`crate::settings::confirm_change`] with `list.sdn` / `list.consolidated`), since a new
/// version can drop entries as well as add them.
pub fn import_lists(slot: &mut SessionSlot, dir: &Path) -> Result<Vec<ListVersion>> {
    let session = slot.require(Access::Admin, "lists.import")?;
    let lists = screening::ofac::parse_dir(dir)
        .map_err(|e| Error::invalid_input("lists", &e.to_string()))?;
    let now = now_ms(OffsetDateTime::now_utc());
    let mut stored = Vec::new();
    let active: Vec<vault::screening::ListVersion> = session
        .vault()
        .list_versions()?
        .into_iter()
        .filter(|v| v.active)
        .collect();
    for list in lists {
        let replaces = active.iter().find(|v| v.source == list.source.as_str());
        let id = new_id();
        let names: usize = list.entries.iter().map(|e| e.names.len()).sum();
        let entries: Vec<(String, String)> = list
            .entries
            .iter()
            .map(|e| (e.uid.clone(), serde_json::to_string(e).unwrap_or_default()))
            .collect();
        let files_json = serde_json::to_string(&list.files).unwrap_or_default();
        session.write(|w| {
            w.store_list(&NewList {
                id: &id,
                source: list.source.as_str(),
                actor: session.username(),
                now_ms: now,
                entry_count: list.entries.len() as i64,
                name_count: names as i64,
                files_json: &files_json,
                entries: &entries,
                activate: replaces.is_none(),
            })?;
            let detail = format!(
                "{}: {} entries, {} names; {}",
                list.source.as_str(),
                list.entries.len(),
                names,
                list.files
                    .iter()
                    .map(|f| format!("{} sha256 {}", f.name, &f.sha256[..16]))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            w.audit("lists.import", Some(&id), Outcome::Ok, Some(&detail))?;
            if let Some(old) = replaces {
                let key = match list.source {
                    screening::ofac::ListSource::Sdn => vault::Proposable::ListSdn,
                    screening::ofac::ListSource::Consolidated => {
                        vault::Proposable::ListConsolidated
                    }
                };
                crate::settings::propose(
                    w,
                    key,
                    &id,
                    &format!(
                        "{} version {} ({} entries) -> {} ({} entries)",
                        list.source.as_str(),
                        old.id,
                        old.entry_count,
                        id,
                        list.entries.len()
                    ),
                )?;
            }
            Ok(())
        })?;
        stored.push(id);
    }
    Ok(session
        .vault()
        .list_versions()?
        .into_iter()
        .filter(|v| stored.contains(&v.id))
        .map(ListVersion::from)
        .collect())
}

pub fn list_versions(slot: &mut SessionSlot) -> Result<Vec<ListVersion>> {
    let session = slot.require(Access::SignedIn, "lists.view")?;
    Ok(crate::views::all(session.vault().list_versions()?))
}

/// Use case: screen one name (the `desk screen` verb and the window's "screen a name" box).
/// The name is not logged or audited (it may be a person's).
pub fn screen_name(
    slot: &mut SessionSlot,
    name: &str,
    birth_year: Option<i32>,
    country: Option<&str>,
) -> Result<Vec<Hit>> {
    // The session and role first, before any of the input is looked at.
    slot.require(Access::Write, "screen.name")?;
    let name = domain::intake::clean_text("name", name, 200)
        .map_err(|e| Error::invalid_input("name", &e.reason))?;
    if let Some(y) = birth_year {
        if !(1850..=2100).contains(&y) {
            return Err(Error::invalid_input(
                "dob",
                "must be a year between 1850 and 2100",
            ));
        }
    }
    let session = slot.require(Access::Write, "screen.name")?;
    let (_, index) = index(session.vault())?;
    Ok(index.screen(
        &Query {
            name: &name,
            birth_year,
            country,
            individual: None,
        },
        threshold(session.vault()),
    ))
}

/// Who the background re-screen acts as in the audit log.
pub const RESCREEN_ACTOR: &str = "system:screening";

/// Use case: screen one application now (the detail page's "Screen now"; submission does it
/// too when lists are loaded).
pub fn screen_application(slot: &mut SessionSlot, id: &str) -> Result<ScreeningOutcome> {
    let session = slot.require(Access::Write, "screen.application")?;
    session.write(|w| {
        let outcome = screen_and_flag(w, id)?;
        w.audit(
            "screen.application",
            Some(id),
            Outcome::Ok,
            Some(&format!(
                "{} new, {} open, {} suppressed",
                outcome.new_hits, outcome.open_hits, outcome.suppressed
            )),
        )?;
        Ok(outcome.into())
    })
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct RescreenReport {
    pub screened: usize,
    pub with_new_hits: usize,
    pub new_hits: usize,
    pub seconds: f64,
}

/// Use case: screen every application still in play that was not screened against the active
/// lists (after a list update, or after an import). Progress after each batch.
pub fn rescreen(
    slot: &mut SessionSlot,
    progress: &mut dyn FnMut(crate::clock::Progress),
) -> Result<RescreenReport> {
    let started = Instant::now();
    let session = slot.require(Access::Write, "screen.rescreen")?;
    let (key, index) = index(session.vault())?;
    let threshold = threshold(session.vault());
    let rules = crate::checks::Rules::load(session.vault());
    let total = session.vault().count_to_screen(&key)? as usize;
    let mut report = RescreenReport {
        screened: 0,
        with_new_hits: 0,
        new_hits: 0,
        seconds: 0.0,
    };
    let mut after = String::new();
    loop {
        let batch = session.vault().applications_to_screen(&key, &after, 500)?;
        let Some(last) = batch.last() else { break };
        after = last.clone();
        // One commit per batch: a crash loses at most the batch, which the next run redoes.
        let mut flagged = Vec::new();
        session.write(|w| {
            for id in &batch {
                let screened = screen_stored(w, &index, &key, id, threshold, &rules)?;
                if screened.flagged {
                    flagged.push(id.clone());
                }
                let outcome = screened.outcome;
                report.screened += 1;
                report.new_hits += outcome.new_hits;
                if outcome.new_hits > 0 {
                    report.with_new_hits += 1;
                }
            }
            audit_flags(w, w.actor(), &flagged)
        })?;
        progress(crate::clock::Progress {
            done: report.screened,
            total,
        });
    }
    report.seconds = started.elapsed().as_secs_f64();
    session.audit(
        "screen.rescreen",
        None,
        Outcome::Ok,
        Some(&format!(
            "{} screened, {} with new hits ({} hits)",
            report.screened, report.with_new_hits, report.new_hits
        )),
    )?;
    Ok(report)
}

pub fn hits(slot: &mut SessionSlot, application_id: &str) -> Result<Vec<StoredHit>> {
    let session = slot.require(Access::SignedIn, "screen.hits")?;
    session.vault().application_summary(application_id)?;
    hits_with_entries(session.vault(), application_id)
}

/// Use case (the CLI's `review disposition ID HIT`): [`dispose_hit`] for a hit named together
/// with its application (a hit of another application is not found), returning the
/// application's hits after it.
pub fn dispose_hit_of(
    slot: &mut SessionSlot,
    application_id: &str,
    hit_id: &str,
    disposition: &str,
    note: &str,
) -> Result<Vec<StoredHit>> {
    let session = slot.require(Access::Write, "screen.disposition")?;
    let of_it = session
        .vault()
        .screening_hits(application_id)?
        .iter()
        .any(|h| h.id == hit_id);
    if !of_it {
        return Err(Error::new(
            Code::NotFound,
            "that application has no such hit (see review hits ID)",
        ));
    }
    dispose_hit(slot, hit_id, disposition, note)?;
    hits(slot, application_id)
}

/// Use case: an underwriter records whether a hit is the listed party (`true_match`) or not
/// (`false_positive`), with a note. Audited; a false positive is not raised again for the same
/// person and the same, unchanged, list entry.
pub fn dispose_hit(
    slot: &mut SessionSlot,
    hit_id: &str,
    disposition: &str,
    note: &str,
) -> Result<()> {
    let session = slot.require(Access::Write, "screen.disposition")?;
    if !matches!(disposition, "true_match" | "false_positive") {
        return Err(Error::invalid_input(
            "disposition",
            "must be true_match or false_positive",
        ));
    }
    let note = domain::intake::clean_text("note", note, 1000)
        .map_err(|e| Error::invalid_input("note", &e.reason))?;
    if note.chars().count() < 5 {
        return Err(Error::invalid_input(
            "note",
            "must say why, in at least 5 characters",
        ));
    }
    session.write(|w| {
        let application = w.dispose_hit(
            hit_id,
            disposition,
            &note,
            session.username(),
            now_ms(OffsetDateTime::now_utc()),
        )?;
        crate::checks::reassess(w, &application)?;
        w.audit(
            "screen.disposition",
            Some(&application),
            Outcome::Ok,
            Some(&format!("hit {hit_id}: {disposition}")),
        )?;
        let vault: &Vault = w;
        // A boarded merchant confirmed as a match: card payments off and payouts held, queued to
        // the platform at once (flagged below; the admins see it on the dashboard).
        if disposition == "true_match" {
            crate::merchants::suspend_for_sanctions(w, &application)?;
            flag_merchant(
                w,
                session.username(),
                &application,
                ReviewFlag::SanctionsMatch,
            )?;
        }
        // A merchant under review: a confirmed match keeps it there (for an admin to act on);
        // once every hit is dispositioned as a false positive, the flag clears.
        let hits = vault.screening_hits(&application)?;
        if hits.iter().all(|h| h.disposition.is_some()) {
            if hits
                .iter()
                .any(|h| h.disposition.as_deref() == Some("true_match"))
            {
                flag_merchant(
                    w,
                    session.username(),
                    &application,
                    ReviewFlag::SanctionsMatch,
                )?;
            } else if vault.pending_merchant_change(&application)?.is_some() {
                // Its hits are cleared, its changed details still wait for review.
                flag_merchant(
                    w,
                    session.username(),
                    &application,
                    ReviewFlag::DetailsChanged,
                )?;
            } else if w.clear_merchant_review(&application)? {
                audit_as(
                    w,
                    session.username(),
                    "merchant.review_cleared",
                    &application,
                    "every hit dispositioned as a false positive",
                )?;
            }
        }
        Ok(())
    })
}

// ---- the background re-screen -----------------------------------------------------------------

/// Where the background re-screen stands (the Sanctions lists panel polls it).
#[derive(Debug, Clone, Default, Serialize)]
pub struct RescreenStatus {
    /// A run is going: applications in play not yet screened against the active lists.
    pub running: bool,
    pub done: usize,
    pub total: usize,
    pub with_new_hits: usize,
    pub new_hits: usize,
    /// When the current or last run started and finished (ms since the epoch).
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    /// The last run's failure, if it stopped on one (it retries).
    pub error: Option<String>,
}

/// Re-screens, in the background, every application still in play (boarded merchants
/// included) that was not screened against the active lists: after a list import, after a bulk
/// import. It works in batches, taking the session between batches only (the window stays
/// responsive), borrows the session without counting as activity, and pauses while it is
/// locked. A new hit on a boarded merchant flags it for review. Each run is audited as
/// [`RESCREEN_ACTOR`].
pub struct Rescreener {
    slot: Arc<Mutex<SessionSlot>>,
    status: Mutex<RescreenStatus>,
    /// The ids screened in this run come after this one.
    after: Mutex<(String, String)>,
    batch: u32,
}

impl Rescreener {
    pub fn new(slot: Arc<Mutex<SessionSlot>>, batch: u32) -> Arc<Self> {
        Arc::new(Self {
            slot,
            status: Mutex::default(),
            after: Mutex::default(),
            batch: batch.max(1),
        })
    }

    pub fn status(&self) -> RescreenStatus {
        self.status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Runs forever on the calling thread: a batch whenever there is one, else a nap.
    pub fn run_blocking(self: Arc<Self>, idle: std::time::Duration) {
        crate::background::run_forever(
            "background re-screen",
            idle,
            || self.step(),
            |e| {
                self.status
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .error = Some(e.message().to_string());
            },
        )
    }

    /// Screens one batch, if any is waiting; `Ok(false)` when there is nothing to do (no
    /// session, no lists, everything screened).
    pub fn step(&self) -> Result<bool> {
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        // Re-screening writes hits and flags: only under a role that may screen.
        let Some(session) = slot.background_as(Access::Write) else {
            return Ok(false);
        };
        let actor = crate::session::on_behalf(RESCREEN_ACTOR, session.username());
        let vault = session.vault();
        let Some((key, _)) = active_key(vault)? else {
            return Ok(false);
        };
        let mut after = self.after.lock().unwrap_or_else(PoisonError::into_inner);
        if after.0 != key {
            // New lists (or the first run): start from the beginning.
            *after = (key.clone(), String::new());
        }
        let batch = vault.applications_to_screen(&key, &after.1, self.batch)?;
        let mut status = self.status.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(last) = batch.last().cloned() else {
            if status.running {
                status.running = false;
                status.finished_at = Some(now_ms(OffsetDateTime::now_utc()));
                let detail = format!(
                    "{} screened, {} with new hits ({} hits)",
                    status.done, status.with_new_hits, status.new_hits
                );
                crate::session::write_as(vault, &actor, |w| {
                    audit_as(w, &actor, "screen.rescreen", "applications", &detail)
                })?;
            }
            // Next time, look again from the start (an import may add ids anywhere).
            after.1.clear();
            return Ok(false);
        };
        if !status.running {
            *status = RescreenStatus {
                running: true,
                total: vault.count_to_screen(&key)? as usize,
                started_at: Some(now_ms(OffsetDateTime::now_utc())),
                ..RescreenStatus::default()
            };
        }
        let (key, index) = index(vault)?;
        let threshold = threshold(vault);
        let rules = crate::checks::Rules::load(vault);
        let mut found = (0, 0, 0);
        let mut flagged = Vec::new();
        crate::session::write_as(vault, &actor, |w| {
            for id in &batch {
                let screened = screen_stored(w, &index, &key, id, threshold, &rules)?;
                if screened.flagged {
                    flagged.push(id.clone());
                }
                found.0 += 1;
                found.1 += screened.outcome.new_hits;
                found.2 += usize::from(screened.outcome.new_hits > 0);
            }
            audit_flags(w, &actor, &flagged)
        })?;
        after.1 = last;
        status.done += found.0;
        status.new_hits += found.1;
        status.with_new_hits += found.2;
        status.total = status.total.max(status.done);
        status.error = None;
        Ok(true)
    }
}

/// Use case: the background re-screen's progress (any signed-in role; polled, so not activity).
pub fn rescreen_status(slot: &mut SessionSlot, status: RescreenStatus) -> Result<RescreenStatus> {
    slot.require_quietly(Access::SignedIn, "screen.status")?;
    Ok(status)
}
