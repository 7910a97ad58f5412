//! The blocklist's use cases (issue 16, item 5): entries made under the blocklist key with
//! their legal basis, a retention of their own (an admin setting, five years unless changed)
//! after which they are deleted, and the list admins and auditors read — reasons, bases and
//! dates, never a value or a digest.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use vault::audit::Outcome;
use vault::blocklist::{LegalBasis, NewBlock, DEFAULT_YEARS, MAX_YEARS};
use vault::Setting;

use crate::clock::now_ms;
use crate::session::{on_behalf, write_as};
use crate::{Access, Error, Result, SessionSlot};

const ACTOR: &str = "system:blocklist";

/// The bases an entry may be kept on, as the window and the CLI offer them.
pub const BASES: &[&str] = &[
    "fraud_prevention",
    "aml_record_keeping",
    "card_network_rules",
];

pub fn blocklist_years(vault: &vault::Vault) -> u32 {
    crate::settings::read(vault, Setting::BlocklistYears)
        .and_then(|v| v.parse().ok())
        .filter(|y| (1..=MAX_YEARS).contains(y))
        .unwrap_or(DEFAULT_YEARS)
}

/// Use case (admin): how many years a new blocklist entry is kept, 1–10; audited old → new.
pub fn set_blocklist_years(slot: &mut SessionSlot, years: u32) -> Result<u32> {
    let session = slot.require(Access::Admin, "settings.blocklist_years")?;
    if !(1..=MAX_YEARS).contains(&years) {
        return Err(Error::invalid_input(
            "blocklist years",
            "must be between 1 and 10",
        ));
    }
    let old = blocklist_years(session.vault());
    crate::settings::write_audited(
        session,
        Setting::BlocklistYears,
        "blocklist_years",
        &old.to_string(),
        &years.to_string(),
    )?;
    Ok(years)
}

/// The legal basis of a request that blocklists: required with `blocklist`, refused without.
pub(crate) fn basis(blocklist: bool, basis: Option<&str>) -> Result<Option<LegalBasis>> {
    match (blocklist, basis.map(str::trim).filter(|b| !b.is_empty())) {
        (false, None) => Ok(None),
        (false, Some(_)) => Err(Error::invalid_input(
            "blocklist basis",
            "is only given when adding to the blocklist",
        )),
        (true, None) => Err(Error::invalid_input(
            "blocklist basis",
            &format!(
                "say on which legal basis the identifiers are kept: {}",
                BASES.join(", ")
            ),
        )),
        (true, Some(text)) => LegalBasis::parse(text).map(Some).ok_or_else(|| {
            Error::invalid_input(
                "blocklist basis",
                &format!("must be one of {}", BASES.join(", ")),
            )
        }),
    }
}

/// Refuses, before anything is written, a blocklisting this session cannot make.
pub(crate) fn check_can_block(vault: &vault::Vault) -> Result<()> {
    if vault.can_blocklist() {
        Ok(())
    } else {
        Err(Error::invalid_input(
            "blocklist",
            "this desk holds no blocklist key yet: an admin signs in on it once to enrol it",
        ))
    }
}

/// Adds the application's identifiers, in the caller's unit; returns how many were new.
pub(crate) fn block(
    tx: &vault::Tx<'_>,
    application_id: &str,
    reason: &str,
    basis: LegalBasis,
    actor: &str,
    now: i64,
) -> vault::Result<usize> {
    let form = tx.application(application_id)?.form;
    tx.block_identifiers(&NewBlock {
        application_id,
        form: &form,
        reason,
        basis,
        actor,
        now_ms: now,
        years: blocklist_years(tx),
    })
}

#[derive(Debug, Clone, Deserialize)]
pub struct ListInput {
    #[serde(default)]
    pub offset: u32,
}

/// A page of the blocklist.
#[derive(Debug, Clone, Serialize)]
pub struct BlocklistPage {
    pub entries: Vec<vault::blocklist::BlocklistEntry>,
    /// Years a new entry is kept.
    pub years: u32,
    /// Whether this desk can add entries (it holds the key or an enrolled copy).
    pub can_add: bool,
}

pub const PAGE: u32 = 200;

/// Use case (admin, auditor): the entries, newest first.
pub fn list(slot: &mut SessionSlot, offset: u32) -> Result<BlocklistPage> {
    let session = slot.require(Access::Oversight, "blocklist.list")?;
    let vault = session.vault();
    Ok(BlocklistPage {
        entries: vault.blocklist_entries(PAGE, offset)?,
        years: blocklist_years(vault),
        can_add: vault.can_blocklist(),
    })
}

/// Use case (any signed-in session, as housekeeping at sign-in): deletes the entries whose
/// retention ended and audits how many went. Returns the number deleted (0 without a session).
pub fn expire(slot: &mut SessionSlot, now: OffsetDateTime) -> Result<usize> {
    let Some(session) = slot.background() else {
        return Ok(0);
    };
    let actor = on_behalf(ACTOR, session.username());
    write_as(session.vault(), &actor, |w| {
        let n = w.expire_blocklist(now_ms(now))?;
        if n > 0 {
            w.audit(
                "blocklist.expired",
                None,
                Outcome::Ok,
                Some(&format!("{n} entries past their retention deleted")),
            )?;
        }
        Ok(n)
    })
}
