//! The wire types the window receives, generated from the Rust types with ts-rs into
//! `ui/src/lib/backend/generated.ts` (issue 15). This test fails when the committed file is
//! stale; `BOARDING_DESK_UPDATE_GENERATED=1 cargo test -p desk-api --test wire_types` writes it.

// A panic in a test is a failed test: unwrap is the clearest way to say "this must work".
#![allow(clippy::unwrap_used)]

use std::path::Path;

use desk_api as api;
use ts_rs::{Config, TS};

fn decl<T: TS>(cfg: &Config) -> String {
    format!("export {}\n", T::decl(cfg))
}

fn generated() -> String {
    // The window's numbers are JavaScript numbers: ids are strings, counts and times fit.
    let cfg = Config::new().with_large_int("number");
    let roles = |pick: fn(domain::Role) -> bool| {
        domain::Role::ALL
            .iter()
            .filter(|r| pick(**r))
            .map(|r| format!("'{}'", r.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let codes = api::Code::ALL
        .iter()
        .map(|c| format!("'{}'", c.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let mut out = String::from(
        "// Generated from the Rust types by crates/api/tests/wire_types.rs (ts-rs). Do not edit:\n\
         // change the Rust type, then run\n\
         //   BOARDING_DESK_UPDATE_GENERATED=1 cargo test -p desk-api --test wire_types\n\n",
    );
    for d in [
        decl::<domain::Role>(&cfg),
        decl::<domain::VaultState>(&cfg),
        decl::<domain::intake::ApplicationStatus>(&cfg),
        decl::<domain::merchant::ReviewFlag>(&cfg),
        decl::<domain::intake::AddressForm>(&cfg),
        decl::<domain::intake::BusinessForm>(&cfg),
        decl::<domain::intake::PersonForm>(&cfg),
        decl::<domain::intake::BankForm>(&cfg),
        decl::<domain::intake::TermsForm>(&cfg),
        decl::<domain::intake::ApplicationForm>(&cfg),
        decl::<api::Code>(&cfg),
        decl::<api::FieldIssue>(&cfg),
        decl::<api::session::Stage>(&cfg),
        decl::<api::SessionInfo>(&cfg),
        decl::<api::AppInfo>(&cfg),
        decl::<vault::totp::Enrolment>(&cfg),
        decl::<vault::KeyStatus>(&cfg),
        decl::<api::keychain::KeychainStatus>(&cfg),
        decl::<api::team::Joined>(&cfg),
        decl::<api::team::TeamCode>(&cfg),
        decl::<api::views::User>(&cfg),
        decl::<vault::audit::Outcome>(&cfg),
        decl::<api::views::AuditEntry>(&cfg),
        decl::<api::views::AuditReport>(&cfg),
        decl::<vault::boarding::JobState>(&cfg),
        decl::<domain::outbox::JobKind>(&cfg),
        decl::<domain::merchant::MerchantStatus>(&cfg),
        decl::<domain::merchant::MerchantAction>(&cfg),
        decl::<domain::review::Decision>(&cfg),
        decl::<domain::review::RiskBand>(&cfg),
        decl::<domain::retention::ErasureOutcome>(&cfg),
        decl::<api::views::Summary>(&cfg),
        decl::<api::views::Cursor>(&cfg),
        decl::<api::views::Page>(&cfg),
        decl::<api::views::QueueSort>(&cfg),
        decl::<api::views::QueueFilter>(&cfg),
        decl::<api::views::QueueRow>(&cfg),
        decl::<api::views::QueuePage>(&cfg),
        decl::<api::views::DayCount>(&cfg),
        decl::<api::views::Dashboard>(&cfg),
        decl::<api::views::Note>(&cfg),
        decl::<api::views::ListVersion>(&cfg),
        decl::<api::views::ScreeningOutcome>(&cfg),
        decl::<api::views::HistoryEntry>(&cfg),
        decl::<api::views::DocumentMeta>(&cfg),
        decl::<api::views::JobCounts>(&cfg),
        decl::<api::views::MerchantChange>(&cfg),
        decl::<api::views::BackupSummary>(&cfg),
        decl::<api::views::AuditCheckpoint>(&cfg),
        decl::<api::views::BackupFile>(&cfg),
        decl::<api::rewrap::RewrapStatus>(&cfg),
        decl::<api::views::MerchantFilter>(&cfg),
        decl::<vault::changes::Topic>(&cfg),
        decl::<api::live::Changes>(&cfg),
    ] {
        out.push_str(&d);
    }
    out.push_str(&format!(
        "\n/** Rules the window shows before asking Rust (Rust still decides). */\n\
         export const MIN_PASSWORD_CHARS = {};\n\
         export const SECOND_APPROVERS: readonly Role[] = [{}];\n\
         export const DEFAULT_FOUR_EYES_SCORE = {};\n\
         export const CODES: readonly Code[] = [{codes}];\n",
        domain::MIN_PASSWORD_CHARS,
        roles(domain::Role::can_give_second_approval),
        underwriting::RuleSet::default().four_eyes_score,
    ));
    // Masking stays in Rust: the window's fake backend (its tests' stand-in for Rust) looks
    // masked values up here instead of copying the rule.
    let mut one = domain::intake::ApplicationForm::default();
    one.people.push(domain::intake::PersonForm::default());
    let fields = one
        .sensitive_mut()
        .into_iter()
        .map(|(path, _)| format!("'{}'", path.replace("people[0]", "people[*]")))
        .collect::<Vec<_>>()
        .join(", ");
    let masked = MASKING_SAMPLES
        .iter()
        .map(|v| format!("  '{v}': '{}',\n", domain::mask::mask_tail(v, 4)))
        .collect::<String>();
    out.push_str(&format!(
        "\n/** The sensitive fields Rust masks (`people[*]`: every person). */\n\
         export const SENSITIVE_FIELDS: readonly string[] = [{fields}];\n\
         /** Sample values as Rust masks them, for the fake backend's fixtures. */\n\
         export const MASKED_BY_RUST: Readonly<Record<string, string>> = {{\n{masked}}};\n"
    ));
    out
}

/// Sensitive values the window's tests and the fake backend's fixtures use (EINs, SSNs, ITINs,
/// bank accounts, IBANs, passports). Add one here when a test needs another.
const MASKING_SAMPLES: &[&str] = &[
    "12-3456789",
    "536-22-1234",
    "912-70-1234",
    "000123456789",
    "000987654321",
    "GB82 WEST 1234 5698 7654 32",
    "X1234567",
];

#[test]
fn generated_ts_is_up_to_date_with_the_rust_types() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/lib/backend/generated.ts");
    let fresh = generated();
    assert!(fresh.contains("export type Role = \"admin\""), "{fresh}");
    if std::env::var_os("BOARDING_DESK_UPDATE_GENERATED").is_some() {
        std::fs::write(&path, &fresh).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "ui/src/lib/backend/generated.ts is stale: run BOARDING_DESK_UPDATE_GENERATED=1 cargo test -p desk-api --test wire_types"
    );
}
