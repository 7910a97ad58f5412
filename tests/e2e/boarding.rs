use std::time::Duration;

use anyhow::{ensure, Result};
use desk_tests::e2e::{scenario, Page};
use sandbox::{Down, Faults, Options, Sandbox};
use vault::testing::Raw;

use crate::shell::{ADMIN, PASSWORD};

/// The boarding job's row on Merchants → Boarding.
const JOB: &str = "[data-testid=boarding-job]";
const STATUS: &str = "[data-testid=platform-status]";

/// Admin → Platform connection: point the app at `url` and test it.
async fn connect(page: &Page, url: &str) -> Result<()> {
    page.section("admin").await?;
    page.fill("platform-url", url).await?;
    page.fill("platform-key", platform::SANDBOX_KEY).await?;
    page.click_button("Save connection").await?;
    page.wait_for_text("[data-testid=platform-current]", url)
        .await?;
    page.click_button("Test connection").await?;
    page.wait_for_text("[data-testid=platform-test]", "connected")
        .await?;
    Ok(())
}

/// Applications → Import: one low-risk application, submitted for review.
async fn import_one(page: &Page, dir: &std::path::Path) -> Result<()> {
    let csv = dir.join("one.csv");
    let mut form = api::intake::demo::low_risk(61);
    form.business.legal_name = "Harbour Light Books LLC".into();
    std::fs::write(&csv, api::intake::import::to_csv(&[form]))?;
    page.import_file(&csv, "Imported 1 of 1").await?;
    Ok(())
}

/// Review queue → the application → take it → approve with a reason and a note.
async fn approve_from_queue(page: &Page) -> Result<()> {
    page.section("review").await?;
    page.wait_for_text("[aria-label='Review queue'] tbody tr", "Harbour Light")
        .await?;
    page.find("[aria-label='Review queue'] tbody tr button")
        .await?
        .click()
        .await?;
    page.click_button("Take for review").await?;
    page.find("input[value=low_risk]").await?.click().await?;
    page.fill("decide-note", "Bookshop, 14 years trading, documents match")
        .await?;
    page.click_button("Record decision").await?;
    page.wait_for_text("[role=status]", "Decision recorded: approved")
        .await?;
    Ok(())
}

/// The application id the desk put in the sandbox account's metadata.
async fn sandbox_application_id(url: &str) -> Result<String> {
    let account = platform_account(url).await?;
    account["metadata"]["application_id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("no application id in {account}"))
}

/// The sandbox's only account, as the platform API describes it.
async fn platform_account(url: &str) -> Result<serde_json::Value> {
    let client = api::platform::Client::new(api::platform::ClientConfig {
        base_url: url.to_string(),
        secret_key: platform::SANDBOX_KEY.to_string().into(),
        timeout: Duration::from_secs(5),
    })
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let list = client
        .send(&platform::requests::ping(), None)
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    Ok(list["data"][0].clone())
}

/// Waits (30 s at most) until the platform's account shows `what`.
async fn wait_for_platform(
    url: &str,
    what: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) -> Result<()> {
    // Generous: with every e2e scenario running at once on two cores, a send can wait its
    // turn behind the windows' own work (the live refreshes included).
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if platform_account(url).await.is_ok_and(|a| done(&a)) {
            return Ok(());
        }
        ensure!(
            std::time::Instant::now() < deadline,
            "the platform never got {what}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Sleeps into the next 30-second TOTP window.
async fn next_totp_window() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    tokio::time::sleep(Duration::from_secs(30 - now % 30 + 1)).await;
}

/// Whether the sandbox's only account has been rejected (asked the way the app asks).
async fn sandbox_rejected(url: &str) -> bool {
    platform_account(url)
        .await
        .is_ok_and(|a| a["requirements"]["disabled_reason"] == "rejected.fraud")
}

/// The journey: an underwriter approves a merchant while the platform is down, sees the
/// outage in the status bar and the job retrying on its own, the platform comes back, the
/// merchant is boarded exactly once, and its platform requirements (pending verification, mapped
/// to our fields) show on the Boarded merchants tab until the platform verifies them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approve_and_board_through_a_platform_outage() {
    scenario("boarding_outage", |page| async move {
        let tmp = tempfile::tempdir()?;
        let sandbox = Sandbox::new(
            Options {
                verify_after: Duration::from_secs(25),
                ..Options::default()
            },
            Faults::default(),
        );
        let addr = sandbox.start_api("127.0.0.1:0".parse()?).await?;
        let url = format!("http://{addr}");

        // The admin connects the platform, adds an underwriter and imports an application.
        let admin_secret = page.set_up_vault(ADMIN, PASSWORD).await?;
        connect(&page, &url).await?;
        let otp = page.add_user("uma").await?;
        import_one(&page, tmp.path()).await?;
        page.click_button("Lock").await?;

        // The platform goes down (connections refused); the underwriter approves anyway.
        let down = Faults {
            down: Some(Down::Refused),
            ..Faults::default()
        };
        sandbox.set_faults(down, addr).await?;
        let uma_secret = page
            .first_sign_in("uma", &otp, "quiet river stones 7")
            .await?;
        approve_from_queue(&page).await?;

        page.section("merchants").await?;
        let row = page
            .wait_for_text_within(JOB, "Retrying", Duration::from_secs(20))
            .await?;
        ensure!(
            row.contains("Harbour Light Books LLC") && row.contains("Create account"),
            "the job waits on its first step: {row}"
        );
        let status = page
            .wait_for_text_within(
                STATUS,
                "Platform unavailable since",
                Duration::from_secs(60),
            )
            .await?;
        ensure!(
            status.contains("1 waiting for the platform"),
            "the status bar says what waits: {status}"
        );
        page.wait_for_text("[data-testid=platform-down]", "Platform unavailable since")
            .await?;
        ensure!(
            sandbox.stats().accounts == 0,
            "nothing reached the platform while it was down"
        );
        page.screenshot("boarding-outage").await?;

        // The platform is back: no click needed.
        sandbox.set_faults(Faults::default(), addr).await?;
        page.wait_for_text_within(JOB, "Boarded", Duration::from_secs(90))
            .await?;
        page.wait_for_text_within(STATUS, "Platform: up", Duration::from_secs(15))
            .await?;
        // One desk sends for the vault (the team): this one, as the Boarding page says.
        page.wait_for_text(
            "[data-testid=platform-sender]",
            "This desk sends the outbox",
        )
        .await?;
        let stats = sandbox.stats();
        ensure!(
            stats.accounts == 1 && stats.duplicates().is_empty(),
            "one account on the platform: {stats:?}"
        );

        // Its requirements, as the platform reports them, mapped back to our fields.
        page.click_button("Boarded merchants").await?;
        let merchant = page
            .wait_for_text("[data-testid=merchant]", "Pending verification")
            .await?;
        ensure!(
            merchant.contains("Harbour Light Books LLC")
                && merchant.contains("acct_")
                && merchant.contains("company.tax_id")
                && merchant.contains("business.ein")
                && merchant.contains("Charges disabled"),
            "the merchant shows the platform's pending checks against our fields: {merchant}"
        );
        page.screenshot("boarded-merchant").await?;

        // The platform finishes verifying; a refresh shows the account clear and charging.
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            page.click_button("Refresh from platform").await?;
            tokio::time::sleep(Duration::from_secs(2)).await;
            let text = page.text("[data-testid=merchant]").await?;
            if text.contains("No open requirements.") {
                ensure!(text.contains("Charges enabled"), "{text}");
                break;
            }
            ensure!(
                std::time::Instant::now() < deadline,
                "the platform verified the account: {text}"
            );
        }

        // Issue 7: the admin edits the merchant's details. A new website reaches the platform
        // at once; a new bank account waits for another reviewer.
        page.lock_and_sign_in(ADMIN, PASSWORD, &admin_secret)
            .await?;
        page.section("merchants").await?;
        page.click_button("Boarded merchants").await?;
        page.click_button("Edit details…").await?;
        page.fill("f-business-website", "https://harbourlight.example.com")
            .await?;
        page.click_button("5. Save changes").await?;
        page.fill("merchant-edit-note", "Owner moved the shop online")
            .await?;
        page.click_button("Save changes").await?;
        page.wait_for_text("[data-testid=merchant-edited]", "Changes saved.")
            .await?;
        wait_for_platform(&url, "the new website", |a| {
            a["business_profile"]["url"] == "https://harbourlight.example.com"
        })
        .await?;
        page.click_button("Edit details…").await?;
        page.click_button("3. Bank").await?;
        page.fill("f-bank-account_number", "000987654321").await?;
        page.click_button("Continue").await?;
        page.fill("merchant-edit-note", "Bank letter for the new account")
            .await?;
        page.click_button("Save changes").await?;
        page.wait_for_text(
            "[data-testid=merchant-review]",
            "Under review: details changed",
        )
        .await?;
        page.wait_for_text(
            "[aria-label='Change waiting for review']",
            "You made this change",
        )
        .await?;
        page.screenshot("merchant-change-waiting").await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        ensure!(
            platform_account(&url).await?["external_accounts"]["data"][0]["last4"] != "4321",
            "the new bank account waits for review"
        );

        // The underwriter accepts it; the platform gets the new bank account.
        page.lock_and_sign_in("uma", "quiet river stones 7", &uma_secret)
            .await?;
        page.section("merchants").await?;
        page.click_button("Boarded merchants").await?;
        let application = sandbox_application_id(&url).await?;
        page.fill(
            &format!("change-note-{application}"),
            "Bank letter matches the account holder",
        )
        .await?;
        page.click_button("Accept change").await?;
        wait_for_platform(&url, "the new bank account", |a| {
            a["external_accounts"]["data"][0]["last4"] == "4321"
        })
        .await?;

        // Issue 7: the admin suspends, reinstates and terminates the merchant (onto the
        // blocklist); each change is queued through the outbox and reaches the platform. (The
        // admin's last code was used in this 30 s window: sign in with the next window's.)
        next_totp_window().await;
        page.lock_and_sign_in(ADMIN, PASSWORD, &admin_secret)
            .await?;
        page.section("merchants").await?;
        page.click_button("Boarded merchants").await?;
        for (action, note, status) in [
            ("Suspend", "Chargebacks at 3% this month", "suspended"),
            (
                "Reinstate",
                "Chargeback plan agreed with the owner",
                "active",
            ),
            (
                "Terminate",
                "Card testing confirmed by the platform",
                "terminated",
            ),
        ] {
            page.click_button(&format!("{action}…")).await?;
            page.find(&format!("form[aria-label='{action} merchant'] textarea"))
                .await?
                .send_keys(note)
                .await?;
            if action == "Terminate" {
                page.find("form[aria-label='Terminate merchant'] input[type=checkbox]")
                    .await?
                    .click()
                    .await?;
                // Issue 16: the legal basis the identifiers are kept on.
                page.find("form[aria-label='Terminate merchant'] select[id^=basis-]")
                    .await?
                    .select_by_value("card_network_rules")
                    .await?;
            }
            page.click_button(&format!("Confirm: {}", action.to_lowercase()))
                .await?;
            page.wait_for_text("[data-testid=merchant-status]", status)
                .await?;
        }
        page.wait_for_text(
            "[data-testid=merchant]",
            "identifiers added to the blocklist",
        )
        .await?;
        page.click_button("Boarding").await?;
        page.wait_for_text_within("main table", "Terminate account", Duration::from_secs(10))
            .await?;
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !sandbox_rejected(&url).await {
            ensure!(
                std::time::Instant::now() < deadline,
                "the termination reached the platform"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        page.screenshot("merchant-terminated").await?;

        // Issue 7, in part: the terminated merchant's data is under AML retention — an erasure
        // request is refused with the date — while a subject export and a backup go through.
        let application = sandbox_application_id(&url).await?;
        page.section("admin").await?;
        page.fill("erase-id", &application).await?;
        page.click_button("Request erasure").await?;
        let year = (time::OffsetDateTime::now_utc().year() + 5).to_string();
        let refused = page
            .wait_for_text("[data-testid=data-protection]", "Refused (retention)")
            .await?;
        ensure!(
            refused.contains(&format!("possible from {year}")),
            "{refused}"
        );
        page.fill("subject-value", &application).await?;
        page.click_button("Export").await?;
        page.wait_for_text("[data-testid=data-protection]", "Exported 1 application(s)")
            .await?;
        page.click_button("Back up the vault").await?;
        page.wait_for_text(
            "[data-testid=data-protection]",
            "Encrypted backup written to",
        )
        .await?;
        Ok(())
    })
    .await;
}

/// Issue 7: on a fresh data folder the first-run screen restores an encrypted backup (made
/// here through the api) with an admin's password; the admin then signs in with the same
/// password and authenticator and finds the backed-up application. The backup also holds an
/// application withdrawn six years ago (dated back here, the one test hook): past five years of
/// AML retention, the admin lists it and gets its erasure accepted in the window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_a_backup_into_a_fresh_data_folder_from_the_window() {
    scenario("restore_backup", |page| async move {
        let tmp = tempfile::tempdir()?;
        let dir =
            api::DataDir::open(&tmp.path().join("old")).map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut slot = api::SessionSlot::new();
        let out = api::auth::setup_vault(
            &dir,
            api::auth::SetupInput {
                username: ADMIN.into(),
                password: PASSWORD.into(),
            },
            &mut slot,
            api::Policy {
                kdf: api::KdfParams::MINIMUM,
                ..api::Policy::default()
            },
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        let secret = out
            .session
            .enrolment
            .map(|e| e.secret)
            .ok_or_else(|| anyhow::anyhow!("no enrolment"))?;
        api::auth::confirm_totp(&mut slot, &desk_tests::e2e::totp_code(&secret, 0)?)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut form = api::intake::demo::low_risk(70);
        form.business.legal_name = "Restored Lantern Co LLC".into();
        api::intake::save_draft(
            &mut slot,
            api::intake::SaveDraft {
                id: None,
                version: None,
                form,
            },
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        let expired = withdrawn_six_years_ago(&mut slot)?;
        let archive = tmp.path().join("desk.backup");
        api::backup::backup(&mut slot, &archive).map_err(|e| anyhow::anyhow!("{e}"))?;
        // The live vault goes on and a later checkpoint lands beside the archive: restoring the
        // archive is then a rollback the window names (the backup and checkpoint entries).
        let (_, later) =
            api::audit_log::sign_checkpoint(&mut slot).map_err(|e| anyhow::anyhow!("{e}"))?;
        {
            use std::io::Write;
            std::fs::OpenOptions::new()
                .append(true)
                .open(tmp.path().join("audit-checkpoints.jsonl"))?
                .write_all(&later.content)?;
        }

        page.click_summary("Restore from a backup instead").await?;
        page.fill("restore-file", &archive.to_string_lossy())
            .await?;
        page.fill("restore-username", ADMIN).await?;
        page.fill("restore-secret", PASSWORD).await?;
        page.fill("restore-code", &desk_tests::e2e::totp_code(&secret, 0)?)
            .await?;
        page.click_button("Restore backup").await?;
        page.wait_for_text("main", "Backup restored: 2 applications, 1 users")
            .await?;
        page.wait_for_text(
            "main",
            "A rollback: the archive lacks 2 audit entries that a signed checkpoint beside it remembers",
        )
        .await?;
        page.sign_in(
            ADMIN,
            PASSWORD,
            Some(&desk_tests::e2e::totp_code(&secret, 1)?),
        )
        .await?;
        page.section("applications").await?;
        page.wait_for_text("main table", "Restored Lantern Co LLC")
            .await?;
        page.wait_for_text("[data-testid=vault-state]", "unlocked")
            .await?;

        // Past retention: listed, then erased on request; the list shows the tombstone.
        page.section("admin").await?;
        page.click_button("List records past retention").await?;
        page.wait_for_text(
            "[data-testid=data-protection]",
            "1 record(s) past 5 years of retention",
        )
        .await?;
        page.fill("erase-id", &expired).await?;
        page.click_button("Request erasure").await?;
        page.wait_for_text("[data-testid=data-protection]", "Erased:")
            .await?;
        page.section("applications").await?;
        let list = page.wait_for_text("main table", "[erased]").await?;
        ensure!(
            !list.contains("Withdrawn Kettle"),
            "the erased name is gone: {list}"
        );

        // Issue 16: a signed checkpoint from the Audit panel, listed, and the chain verified.
        page.section("admin").await?;
        page.click_button("Sign a checkpoint now").await?;
        page.wait_for_text("[data-testid=audit-checkpoint]", "Signed checkpoint saved to")
            .await?;
        page.wait_for_text("table[aria-label='Signed checkpoints']", ADMIN)
            .await?;
        page.click_button("Verify the chain").await?;
        page.wait_for_text("[data-testid=audit-report]", "signed checkpoint(s) hold")
            .await?;
        Ok(())
    })
    .await;
}

/// Saves, submits and withdraws an application, then dates its withdrawal six years back (the
/// vault offers no way to do that: the test writes the history row). Returns its id.
fn withdrawn_six_years_ago(slot: &mut api::SessionSlot) -> Result<String> {
    let mut form = api::intake::demo::low_risk(71);
    form.business.legal_name = "Withdrawn Kettle Co LLC".into();
    let err = |e: api::Error| anyhow::anyhow!("{e}");
    let view = api::intake::save_draft(
        slot,
        api::intake::SaveDraft {
            id: None,
            version: None,
            form,
        },
    )
    .map_err(err)?;
    let id = view.summary.id;
    let view = api::intake::submit(slot, &id, view.summary.version).map_err(err)?;
    api::intake::withdraw(slot, &id, view.summary.version).map_err(err)?;
    let six_years_ms = 6 * 31_557_600_000_i64;
    let session = slot
        .require(api::Access::Admin, "test.backdate")
        .map_err(err)?;
    let n = session
        .vault()
        .raw_conn()
        .backdate_withdrawal(&id, six_years_ms)?;
    ensure!(n == 1, "one withdrawal dated back");
    Ok(id)
}
