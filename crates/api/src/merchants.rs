//! Administering boarded merchants (issue 7): restrict, suspend, reinstate, terminate and
//! processing limits. Each change is ours at once (status, reason, who, when — audited) and
//! reaches the platform through the boarding outbox, so nothing is lost while the platform is
//! down: an `update` job (status or limits in the account's settings, capabilities and
//! metadata) or a `reject` job (termination). One merchant's jobs are sent in order.

use domain::intake::Amount;
use domain::merchant::{MerchantAction, MerchantStatus, ReviewFlag};
use domain::outbox::{JobKind, JobStep};
use platform::fields;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use vault::audit::Outcome;
use vault::boarding::Merchant;
use vault::Vault;

use crate::clock::{new_id, now_ms};
use crate::session::{Access, SessionSlot};
use crate::{Code, Error, Result};

/// Reason codes per action (the first word of every audit entry and the platform metadata).
pub const RESTRICT_REASONS: &[&str] = MerchantAction::Restrict.reasons();
pub const SUSPEND_REASONS: &[&str] = MerchantAction::Suspend.reasons();
pub const REINSTATE_REASONS: &[&str] = MerchantAction::Reinstate.reasons();
pub const TERMINATE_REASONS: &[&str] = MerchantAction::Terminate.reasons();

#[derive(Debug, Clone, Deserialize)]
pub struct ActionInput {
    pub id: String,
    /// `restrict`, `suspend`, `reinstate` or `terminate`.
    pub action: String,
    pub reason: String,
    pub note: String,
    /// For `terminate`: add the merchant's EIN, owners' SSNs and bank account to the blocklist.
    #[serde(default)]
    pub blocklist: bool,
    /// With `blocklist`: the legal basis the entries are kept on.
    #[serde(default)]
    pub blocklist_basis: Option<String>,
}

/// What an action did.
#[derive(Debug, Clone, Serialize)]
pub struct ActionOutcome {
    pub merchant: MerchantView,
    /// The outbox job that carries it to the platform.
    pub job_id: String,
    /// Identifiers added to the blocklist or renewed on it (termination).
    pub blocklisted: usize,
}

/// Queues `request` for the merchant's account as an outbox job (`update` or `reject`), its
/// parameters sealed with the merchant's record key so every retry sends exactly them.
/// Returns the job id.
pub(crate) fn queue(
    vault: &vault::Tx<'_>,
    merchant: &vault::boarding::Merchant,
    kind: JobKind,
    step: &JobStep,
    request: &platform::requests::Request,
    actor: &str,
    now: i64,
) -> vault::Result<String> {
    let key =
        vault
            .existing_record_key(&merchant.application_id)?
            .ok_or(vault::VaultError::Conflict(
                "the merchant's record was erased",
            ))?;
    let payload = key.seal("job_payload", request.params.encode().as_bytes())?;
    let job_id = format!("mj-{}", new_id());
    vault.enqueue_job(
        &job_id,
        &merchant.application_id,
        kind,
        step,
        Some(&merchant.account_id),
        Some(&payload),
        actor,
        now,
    )?;
    Ok(job_id)
}

/// The boarded merchant of an application, unless it is terminated (then a conflict saying
/// `refusal`).
pub(crate) fn live(
    vault: &vault::Vault,
    application_id: &str,
    refusal: &'static str,
) -> Result<vault::boarding::Merchant> {
    let merchant = boarded(vault, application_id)?;
    if merchant.status == MerchantStatus::Terminated {
        return Err(Error::new(Code::Conflict, refusal));
    }
    Ok(merchant)
}

/// The note, checked like every free text (kept as an internal note on the application).
pub(crate) fn checked_note(note: &str) -> Result<String> {
    let note = domain::intake::clean_text("note", note, 1000)
        .map_err(|e| Error::invalid_input("note", &e.reason))?;
    if note.trim().chars().count() < 5 {
        return Err(Error::invalid_input(
            "note",
            "must say why, in at least 5 characters",
        ));
    }
    Ok(note)
}

/// Use case (admin): restrict, suspend, reinstate or terminate a boarded merchant.
pub fn act(slot: &mut SessionSlot, input: ActionInput) -> Result<ActionOutcome> {
    // The session and role first: nothing of the input is looked at for a caller who may not act.
    let action = MerchantAction::parse(&input.action);
    let label = match action {
        Some(a) => format!("merchant.{}", a.as_str()),
        None => "merchant.act".to_string(),
    };
    slot.require(Access::Admin, &label)?;
    let action = action.ok_or_else(|| {
        Error::invalid_input(
            "action",
            "must be restrict, suspend, reinstate or terminate",
        )
    })?;
    let (to, reasons) = (action.to(), action.reasons());
    if !reasons.contains(&input.reason.as_str()) {
        return Err(Error::invalid_input(
            "reason",
            &format!("must be one of {}", reasons.join(", ")),
        ));
    }
    if input.blocklist && action != MerchantAction::Terminate {
        return Err(Error::invalid_input(
            "blocklist",
            "only a termination adds to the blocklist",
        ));
    }
    let basis = crate::blocklist::basis(input.blocklist, input.blocklist_basis.as_deref())?;
    let note = checked_note(&input.note)?;
    let session = slot.require(Access::Admin, &label)?;
    if basis.is_some() {
        crate::blocklist::check_can_block(session.vault())?;
    }
    let me = session.username().to_string();
    let vault = session.vault();
    let merchant = boarded(vault, &input.id)?;
    let status = merchant.status;
    if !action.from().contains(&status) {
        return Err(Error::new(
            Code::Conflict,
            format!("a {} merchant cannot be {}", merchant.status, action.done()),
        ));
    }
    if action == MerchantAction::Reinstate {
        // The hard stop holds after boarding too: no role reinstates a merchant while a hit
        // on it is open or confirmed.
        vault.sanctions_clear(&input.id)?;
    }
    let (job_id, blocklisted) = session.write(|w| {
        let (job_id, blocklisted) =
            apply(w, &merchant, action, to, &input.reason, &note, basis, &me)?;
        w.audit(
            &format!("merchant.{}", action.as_str()),
            Some(&input.id),
            Outcome::Ok,
            Some(&format!(
                "{} → {to}: {}{}",
                merchant.status,
                input.reason,
                if let Some(basis) = basis {
                    format!(
                        "; {blocklisted} identifiers blocklisted or renewed (basis {})",
                        basis.as_str()
                    )
                } else {
                    String::new()
                }
            )),
        )?;
        Ok((job_id, blocklisted))
    })?;
    let merchant = self::merchant(slot, &input.id)?;
    Ok(ActionOutcome {
        merchant,
        job_id,
        blocklisted,
    })
}

/// Changes our status of `merchant` to `to` and queues the platform request that carries it
/// (`reject` for a termination, else an `update`), with the note kept on the application and,
/// for a termination with `blocklist`, its identifiers blocklisted — all in the caller's unit.
/// Returns the job id and how many identifiers were blocklisted.
#[allow(clippy::too_many_arguments)]
fn apply(
    vault: &vault::Tx<'_>,
    merchant: &vault::boarding::Merchant,
    action: MerchantAction,
    to: MerchantStatus,
    reason: &str,
    note: &str,
    basis: Option<vault::blocklist::LegalBasis>,
    me: &str,
) -> Result<(String, usize)> {
    let (kind, request) = if action == MerchantAction::Terminate {
        let platform_reason = match reason {
            "fraud" | "terms_of_service" => reason,
            _ => "other",
        };
        (
            JobKind::Reject,
            platform::requests::reject_account(&merchant.account_id, platform_reason),
        )
    } else {
        (
            JobKind::Update,
            platform::requests::merchant_status(&merchant.account_id, to, reason),
        )
    };
    let now = now_ms(OffsetDateTime::now_utc());
    let id = &merchant.application_id;
    let mut job_id = String::new();
    let blocklisted = (|| {
        vault.set_merchant_status(id, merchant.status, to, reason, me, now)?;
        job_id = queue(vault, merchant, kind, &JobStep::Send, &request, me, now)?;
        vault.add_note(
            &new_id(),
            id,
            me,
            now,
            &format!("{} ({reason}): {note}", action.as_str()),
        )?;
        if let Some(basis) = basis {
            crate::blocklist::block(vault, id, &format!("terminated: {reason}"), basis, me, now)
        } else {
            Ok::<_, vault::VaultError>(0)
        }
    })()?;
    Ok((job_id, blocklisted))
}

/// A boarded merchant confirmed as a sanctions match: card payments off and payouts held at
/// once (the suspend path, reason `sanctions_match`), on behalf of `actor` who confirmed it,
/// audited. `None` when the application is no live merchant, or is already suspended or
/// terminated. Nobody's permission is asked: it is the law, not a choice.
pub(crate) fn suspend_for_sanctions(
    w: &crate::session::Unit<'_>,
    application_id: &str,
) -> Result<Option<String>> {
    let vault: &vault::Tx<'_> = w;
    let actor = w.actor();
    let Some(merchant) = vault.merchant(application_id)? else {
        return Ok(None);
    };
    let suspendable = MerchantAction::Suspend.from().contains(&merchant.status);
    if !suspendable {
        return Ok(None);
    }
    let (job_id, _) = apply(
        vault,
        &merchant,
        MerchantAction::Suspend,
        MerchantAction::Suspend.to(),
        "sanctions_match",
        "automatic: a sanctions hit on this merchant was confirmed as a true match",
        None,
        actor,
    )?;
    w.audit(
        "merchant.suspend",
        Some(application_id),
        Outcome::Ok,
        Some(&format!(
            "{} → suspended: sanctions_match (automatic, confirmed match)",
            merchant.status
        )),
    )?;
    Ok(Some(job_id))
}

/// Our processing limits for a merchant, as typed (blank = no limit).
#[derive(Debug, Clone, Deserialize)]
pub struct LimitsInput {
    pub id: String,
    pub monthly_cap: String,
    pub max_ticket: String,
}

/// Use case (admin): set a merchant's monthly volume cap and maximum ticket. Stored at once and
/// noted in the platform account's metadata through the outbox.
pub fn set_limits(slot: &mut SessionSlot, input: LimitsInput) -> Result<MerchantView> {
    slot.require(Access::Admin, "merchant.limits")?;
    let parse = |field: &str, text: &str| -> Result<Option<i64>> {
        if text.trim().is_empty() {
            return Ok(None);
        }
        let amount = Amount::parse(text).map_err(|e| Error::invalid_input(field, &e.reason))?;
        let cents = i64::try_from(amount.cents())
            .map_err(|_| Error::invalid_input(field, "is too large"))?;
        if cents == 0 {
            return Err(Error::invalid_input(
                field,
                "must be more than zero (blank for no limit)",
            ));
        }
        Ok(Some(cents))
    };
    let cap = parse("monthly_cap", &input.monthly_cap)?;
    let ticket = parse("max_ticket", &input.max_ticket)?;
    if let (Some(cap), Some(ticket)) = (cap, ticket) {
        if ticket > cap {
            return Err(Error::invalid_input(
                "max_ticket",
                "must not be more than the monthly cap",
            ));
        }
    }
    let session = slot.require(Access::Admin, "merchant.limits")?;
    let me = session.username().to_string();
    let vault = session.vault();
    let merchant = live(
        vault,
        &input.id,
        "a terminated merchant's limits cannot change",
    )?;
    let request = platform::requests::merchant_limits(&merchant.account_id, cap, ticket);
    let now = now_ms(OffsetDateTime::now_utc());
    let shown = |v: Option<i64>| {
        v.map_or("none".to_string(), |c| {
            format!("{}.{:02}", c / 100, c % 100)
        })
    };
    session.write(|w| {
        w.set_merchant_limits(&input.id, cap, ticket)?;
        queue(
            w,
            &merchant,
            JobKind::Update,
            &JobStep::Send,
            &request,
            &me,
            now,
        )?;
        w.audit(
            "merchant.limits",
            Some(&input.id),
            Outcome::Ok,
            Some(&format!(
                "monthly cap {} → {}, max ticket {} → {}",
                shown(merchant.monthly_cap_cents),
                shown(cap),
                shown(merchant.max_ticket_cents),
                shown(ticket)
            )),
        )
    })?;
    self::merchant(slot, &input.id)
}

/// Use case (admins and auditors): every boarded merchant as CSV or JSON — platform account,
/// status and why, review flag, limits, open requirements; no identifier (EIN, SSN, bank
/// account) at all. Audited (`merchants.export`, with the row count).
pub fn export(slot: &mut SessionSlot, format: &str) -> Result<crate::audit_log::Export> {
    // The session and role first, before any of the input is looked at.
    slot.require(Access::Oversight, "merchants.export")?;
    use crate::audit_log::csv_cell;
    if !matches!(format, "csv" | "json") {
        return Err(Error::invalid_input("format", "must be csv or json"));
    }
    let session = slot.require(Access::Oversight, "merchants.export")?;
    let merchants = session.vault().merchants(1_000_000)?;
    #[derive(Serialize)]
    struct Row<'a> {
        application_id: &'a str,
        legal_name: &'a str,
        account_id: &'a str,
        status: &'a str,
        status_reason: &'a str,
        review_reason: &'a str,
        charges_enabled: bool,
        payouts_enabled: bool,
        open_requirements: i64,
        monthly_cap_cents: Option<i64>,
        max_ticket_cents: Option<i64>,
        boarded_at: i64,
        synced_at: Option<i64>,
    }
    let rows: Vec<Row<'_>> = merchants
        .iter()
        .map(|m| Row {
            application_id: &m.application_id,
            legal_name: &m.legal_name,
            account_id: &m.account_id,
            status: m.status.as_str(),
            status_reason: m.status_reason.as_deref().unwrap_or(""),
            review_reason: m.review_reason.map_or("", ReviewFlag::as_str),
            charges_enabled: m.charges_enabled,
            payouts_enabled: m.payouts_enabled,
            open_requirements: m.open_requirements,
            monthly_cap_cents: m.monthly_cap_cents,
            max_ticket_cents: m.max_ticket_cents,
            boarded_at: m.boarded_at,
            synced_at: m.synced_at,
        })
        .collect();
    let content = if format == "json" {
        serde_json::to_vec_pretty(&rows).map_err(|e| Error::internal(e.to_string()))?
    } else {
        let mut w = csv::Writer::from_writer(Vec::new());
        let fail = |e: csv::Error| Error::internal(e.to_string());
        w.write_record([
            "application_id",
            "legal_name",
            "account_id",
            "status",
            "status_reason",
            "review_reason",
            "charges_enabled",
            "payouts_enabled",
            "open_requirements",
            "monthly_cap_cents",
            "max_ticket_cents",
            "boarded_at",
            "synced_at",
        ])
        .map_err(fail)?;
        let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        for r in &rows {
            w.write_record([
                r.application_id,
                &csv_cell(r.legal_name),
                r.account_id,
                r.status,
                r.status_reason,
                r.review_reason,
                if r.charges_enabled { "true" } else { "false" },
                if r.payouts_enabled { "true" } else { "false" },
                &r.open_requirements.to_string(),
                &opt(r.monthly_cap_cents),
                &opt(r.max_ticket_cents),
                &r.boarded_at.to_string(),
                &opt(r.synced_at),
            ])
            .map_err(fail)?;
        }
        w.into_inner().map_err(|e| Error::internal(e.to_string()))?
    };
    session.audit(
        "merchants.export",
        None,
        Outcome::Ok,
        Some(&format!("{} merchants as {format}", rows.len())),
    )?;
    let today = OffsetDateTime::now_utc().date();
    Ok(crate::audit_log::Export {
        file_name: format!("merchants-{today}.{format}"),
        rows: rows.len(),
        content,
    })
}

// ---- read models ---------------------------------------------------------------------------

/// A boarded merchant with its requirements mapped to our fields.
#[derive(Debug, Clone, Serialize)]
pub struct MerchantView {
    #[serde(flatten)]
    pub merchant: crate::views::Merchant,
    /// Each open requirement: the platform's name, our field, and why (for errors).
    pub open: Vec<OpenRequirement>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OpenRequirement {
    pub requirement: String,
    pub field: Option<String>,
    /// `currently_due`, `past_due`, `pending_verification` or `error`.
    pub kind: String,
    pub reason: Option<String>,
}

pub(crate) fn merchant_view(m: Merchant) -> MerchantView {
    let r: platform::Requirements =
        serde_json::from_value(m.requirements.clone()).unwrap_or_default();
    let mut open = Vec::new();
    let mut push = |name: &str, kind: &str, reason: Option<String>| {
        if !open
            .iter()
            .any(|o: &OpenRequirement| o.requirement == name && o.kind == kind)
        {
            open.push(OpenRequirement {
                requirement: name.to_string(),
                field: fields::field_for(name, None, &m.persons),
                kind: kind.to_string(),
                reason,
            });
        }
    };
    for e in &r.errors {
        push(
            &e.requirement,
            "error",
            Some(format!("{}: {}", e.code, e.reason)),
        );
    }
    for n in &r.past_due {
        push(n, "past_due", None);
    }
    for n in r.currently_due.iter().filter(|n| !r.past_due.contains(n)) {
        push(n, "currently_due", None);
    }
    for n in &r.pending_verification {
        push(n, "pending_verification", None);
    }
    MerchantView {
        merchant: m.into(),
        open,
    }
}

/// Use case: boarded merchants, open requirements first (any signed-in role; a refresh is not
/// activity).
pub fn merchants(slot: &mut SessionSlot) -> Result<Vec<MerchantView>> {
    let session = slot.require(Access::SignedIn, "merchants.view")?;
    Ok(session
        .vault()
        .merchants(500)?
        .into_iter()
        .map(merchant_view)
        .collect())
}

/// What the Merchants page asks for.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MerchantQuery {
    #[serde(default)]
    pub filter: crate::views::MerchantFilter,
    #[serde(default)]
    pub offset: u32,
    #[serde(default)]
    pub limit: Option<u32>,
}

/// A page of merchants and how many match.
#[derive(Debug, Clone, Serialize)]
pub struct MerchantPage {
    pub items: Vec<MerchantView>,
    pub total: i64,
    pub offset: u32,
}

/// Use case (any signed-in role; the page refreshes itself, so not activity): a filtered,
/// searchable page of boarded merchants, flagged ones first.
pub fn merchants_page(slot: &mut SessionSlot, query: MerchantQuery) -> Result<MerchantPage> {
    let session = slot.require_quietly(Access::SignedIn, "merchants.view")?;
    let (items, total) = session.vault().merchants_page(
        &(&query.filter).into(),
        query.offset,
        query.limit.unwrap_or(50),
    )?;
    Ok(MerchantPage {
        items: items.into_iter().map(merchant_view).collect(),
        total,
        offset: query.offset,
    })
}

/// Use case: one merchant (by application id).
pub fn merchant(slot: &mut SessionSlot, application_id: &str) -> Result<MerchantView> {
    let session = slot.require(Access::SignedIn, "merchants.view")?;
    boarded(session.vault(), application_id).map(merchant_view)
}

/// The boarded merchant of an application (not found when it has none).
pub(crate) fn boarded(vault: &Vault, application_id: &str) -> Result<Merchant> {
    vault
        .merchant(application_id)?
        .ok_or_else(|| Error::new(Code::NotFound, "no boarded merchant for that application"))
}
