use anyhow::{ensure, Result};
use desk_tests::e2e::{scenario, Page};

use crate::shell::{ADMIN, PASSWORD};

/// The shared OFAC fixture, or `None` (the scenario is skipped) when ../shared is absent.
fn shared_lists() -> Option<std::path::PathBuf> {
    let lists = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/testdata/sanctions/ofac-small");
    if !lists.is_dir() {
        eprintln!("skipped: {} is absent", lists.display());
        return None;
    }
    lists.canonicalize().ok()
}

/// An import CSV with one application whose control person is a listed SDN (born 1963).
fn listed_applicant_csv(dir: &std::path::Path, high_risk: bool) -> Result<std::path::PathBuf> {
    let mut form = api::intake::demo::generate(1, 3).remove(0);
    if high_risk {
        form.business.mcc = "5967".into();
        form.business.card_present_percent = "0".into();
        form.business.website.clear();
        form.business.incorporation_date = "2026-10-01".into();
        form.business.monthly_volume = "90000".into();
    }
    let control = form
        .people
        .iter_mut()
        .find(|p| p.is_control)
        .ok_or_else(|| anyhow::anyhow!("no control person"))?;
    control.first_name = "Elvis Angus".into();
    control.last_name = "Logan Morey".into();
    control.dob = "1963-07-28".into();
    let csv = dir.join("one.csv");
    std::fs::write(&csv, api::intake::import::to_csv(&[form]))?;
    Ok(csv)
}

/// Admin → Sanctions lists: import the folder.
async fn load_lists(page: &Page, lists: &std::path::Path) -> Result<()> {
    page.section("admin").await?;
    page.fill("lists-dir", &lists.to_string_lossy()).await?;
    page.click_button("Import lists").await?;
    page.wait_for_text(
        "[aria-label='Sanctions lists'] [role=status]",
        "Loaded SDN (17 entries",
    )
    .await?;
    Ok(())
}

/// Applications → Import the one-row CSV; Admin shows the background re-screen found its hit.
async fn import_and_rescreen(page: &Page, csv: &std::path::Path) -> Result<()> {
    page.import_file(csv, "Imported 1 of 1").await?;
    // The background re-screen picks the new application up on its own.
    page.section("admin").await?;
    page.wait_for_text_within(
        "[data-testid=rescreen-status]",
        "1 screened, 1 with new hits",
        std::time::Duration::from_secs(20),
    )
    .await?;
    Ok(())
}

/// Admin loads OFAC's files; an imported application whose control person is listed is
/// re-screened, shows an explained hit, and an underwriter's disposition clears it.
#[tokio::test]
async fn load_lists_rescreen_and_disposition_a_hit() {
    let Some(lists) = shared_lists() else { return };
    scenario("screening_hit", |page| async move {
        let tmp = tempfile::tempdir()?;
        let csv = listed_applicant_csv(tmp.path(), false)?;
        page.set_up_vault(ADMIN, PASSWORD).await?;
        load_lists(&page, &lists).await?;
        import_and_rescreen(&page, &csv).await?;

        page.section("applications").await?;
        page.wait_for_text("main table", "1 open hit").await?;
        page.find("main table button").await?.click().await?;
        let hit = page
            .wait_for_text(
                "[aria-label='Sanctions screening']",
                "LOGAN MOREY, Elvis Angus",
            )
            .await?;
        ensure!(
            hit.contains("sdn:10278") && hit.contains("elvis ≈ elvis"),
            "the hit is explained: {hit}"
        );
        ensure!(
            hit.contains("1963 matches"),
            "the date of birth raised it: {hit}"
        );
        page.click_button("Disposition LOGAN MOREY, Elvis Angus")
            .await?;
        page.find("textarea")
            .await?
            .send_keys("Different person: passport and address differ")
            .await?;
        page.click_button("Record false positive").await?;
        page.wait_for_text("[aria-label='Sanctions screening'] h3", "no open hits")
            .await?;
        let text = page.text("[aria-label='Sanctions screening']").await?;
        ensure!(text.contains("False positive — Different person"), "{text}");
        ensure!(text.contains(ADMIN), "the disposition names who made it");
        page.screenshot("screening-disposition").await?;
        Ok(())
    })
    .await;
}

/// The journey: an underwriter imports a high-risk application, opens the queue, sees
/// its explained score and a sanctions hit, dispositions the hit and approves; the approval
/// waits for a second approver; an admin — neither its maker nor the one who cleared the hit —
/// gives it.
#[tokio::test]
async fn four_eyes_review_of_a_high_risk_application() {
    let Some(lists) = shared_lists() else { return };
    scenario("four_eyes", |page| async move {
        let tmp = tempfile::tempdir()?;
        let csv = listed_applicant_csv(tmp.path(), true)?;

        // The admin loads the lists and adds an underwriter.
        let admin_secret = page.set_up_vault(ADMIN, PASSWORD).await?;
        load_lists(&page, &lists).await?;
        let otp = page.add_user("uma").await?;
        page.click_button("Lock").await?;

        // The underwriter's first sign-in; she imports the application (its maker), then the
        // queue. Taking it screens it if the background re-screen has not yet.
        page.first_sign_in("uma", &otp, "quiet river stones 7")
            .await?;
        page.import_file(&csv, "Imported 1 of 1").await?;
        page.section("review").await?;
        let row = page
            .wait_for_text("[aria-label='Review queue'] tbody tr", "submitted")
            .await?;
        ensure!(
            row.contains(" min") || row.contains("now"),
            "the queue row shows the status and the wait: {row}"
        );
        page.find("[aria-label='Review queue'] tbody tr button")
            .await?
            .click()
            .await?;
        page.click_button("Take for review").await?;
        let score = page
            .wait_for_text("[aria-label='Risk score']", "sanctions_open_hit")
            .await?;
        ensure!(
            score.contains("mcc_high_risk") && score.contains("card_not_present"),
            "the score is explained factor by factor: {score}"
        );
        ensure!(
            page.text("[data-testid=approve-blocked]")
                .await?
                .contains("disposition every hit first"),
            "an open hit blocks Approve"
        );
        page.click_button("Disposition LOGAN MOREY, Elvis Angus")
            .await?;
        page.find("textarea")
            .await?
            .send_keys("Different person: passport and address differ")
            .await?;
        page.click_button("Record false positive").await?;
        page.wait_for_text("[aria-label='Sanctions screening'] h3", "no open hits")
            .await?;
        let score = page.text("[data-testid=risk-score]").await?;
        ensure!(
            score.contains("high"),
            "still high risk without the hit: {score}"
        );

        // The decision starts at the recommendation (enhanced due diligence: request
        // information); the underwriter chooses Approve.
        page.find("input[name=decision][value=approve]")
            .await?
            .click()
            .await?;
        page.find("input[value=edd_completed]")
            .await?
            .click()
            .await?;
        page.fill(
            "decide-note",
            "EDD done: call-back verified, processing statements reviewed",
        )
        .await?;
        page.click_button("Record decision").await?;
        page.wait_for_text("[role=status]", "A second, different approver")
            .await?;

        // The admin gives the second approval.
        page.lock_and_sign_in(ADMIN, PASSWORD, &admin_secret)
            .await?;
        page.section("review").await?;
        page.wait_for_text(
            "[aria-label='Review queue'] tbody",
            "awaiting 2nd approval (1st: uma)",
        )
        .await?;
        page.find("[aria-label='Review queue'] tbody tr button")
            .await?
            .click()
            .await?;
        page.find("input[name=decision][value=approve]")
            .await?
            .click()
            .await?;
        page.find("input[value=edd_completed]")
            .await?
            .click()
            .await?;
        page.fill("decide-note", "Second approval: EDD file complete")
            .await?;
        page.click_button("Record decision").await?;
        page.wait_for_text("[role=status]", "Decision recorded: approved")
            .await?;
        let decisions = page.text("[aria-label='Decisions']").await?;
        ensure!(
            decisions.contains("uma")
                && decisions.contains("Second approval")
                && decisions.contains(ADMIN),
            "both approvers are on record: {decisions}"
        );
        page.screenshot("four-eyes").await?;
        Ok(())
    })
    .await;
}

/// Issue 14's done-when: an application whose control person is a listed SDN cannot be
/// approved. Once its hit is confirmed as a true match the window shows a red "Confirmed match"
/// badge and a disabled Approve with the reason; the same approval forced through IPC is
/// refused by Rust with `sanctions_match`; the decision defaults to decline with
/// `sanctions_match`, onto the blocklist; the sanctions report is exported for filing.
#[tokio::test]
async fn a_listed_owner_cannot_be_approved_even_through_ipc() {
    let Some(lists) = shared_lists() else { return };
    scenario("sanctions_hard_stop", |page| async move {
        let tmp = tempfile::tempdir()?;
        let csv = listed_applicant_csv(tmp.path(), false)?;
        page.set_up_vault(ADMIN, PASSWORD).await?;
        load_lists(&page, &lists).await?;
        import_and_rescreen(&page, &csv).await?;

        page.section("review").await?;
        page.find("[aria-label='Review queue'] tbody tr button")
            .await?
            .click()
            .await?;
        page.click_button("Take for review").await?;
        page.click_button("Disposition LOGAN MOREY, Elvis Angus")
            .await?;
        let card = page.text("[aria-label='List entry sdn:10278']").await?;
        ensure!(
            card.contains("1963") && card.contains("SDNT"),
            "the hit card shows the entry's date of birth and program: {card}"
        );
        page.find("textarea")
            .await?
            .send_keys("Passport number and date of birth match the SDN entry")
            .await?;
        page.click_button("Record true match").await?;
        let badge = page
            .wait_for_text(
                "[data-testid=confirmed-match]",
                "Confirmed match — sdn:10278",
            )
            .await?;
        ensure!(!badge.is_empty());
        let panel = page.text("[aria-label='Sanctions screening'] h3").await?;
        ensure!(
            !panel.contains("no open hits"),
            "never the green badge beside a confirmed match: {panel}"
        );
        let blocked = page.text("[data-testid=approve-blocked]").await?;
        ensure!(
            blocked.contains("Confirmed sanctions match (sdn:10278)"),
            "{blocked}"
        );
        let approve = page.find("input[name=decision][value=approve]").await?;
        ensure!(
            approve.attr("disabled").await?.is_some(),
            "Approve is disabled"
        );
        ensure!(
            page.find("input[name=decision][value=decline]")
                .await?
                .is_selected()
                .await?,
            "the decision defaults to decline"
        );
        ensure!(
            page.find("input[type=checkbox][value=sanctions_match]")
                .await?
                .is_selected()
                .await?,
            "with the reason sanctions_match"
        );

        // The same approval forced through IPC, around the disabled control: Rust refuses.
        let forced = run_js(
            &page,
            "const q = await window.__TAURI_INTERNALS__.invoke('review_queue', { query: {} });
             const row = q.items[0];
             await window.__TAURI_INTERNALS__.invoke('decide', { input: {
               id: row.id, version: row.version, decision: 'approve', reasons: ['low_risk'],
               note: 'Forced around the disabled button', fields: [], blocklist: false,
               confirmed_hits: [] } });
             return { approved: true };",
        )
        .await?;
        ensure!(
            forced["thrown"]["code"] == "sanctions_match",
            "the forced approval is refused with sanctions_match: {forced}"
        );

        // Declined onto the blocklist, then the report for the compliance officer.
        page.find("#decide-blocklist").await?.click().await?;
        page.find("#decide-blocklist-basis")
            .await?
            .select_by_value("fraud_prevention")
            .await?;
        page.fill(
            "decide-note",
            "Control person is the listed SDN: declined and blocked",
        )
        .await?;
        page.click_button("Record decision").await?;
        page.wait_for_text("[role=status]", "Decision recorded: declined")
            .await?;
        page.click_button("Export sanctions report").await?;
        let saved = page
            .wait_for_text("[data-testid=report-saved]", "Sanctions report saved:")
            .await?;
        let html_path = saved
            .split("Sanctions report saved: ")
            .nth(1)
            .and_then(|rest| rest.split(" (and").next())
            .ok_or_else(|| anyhow::anyhow!("no path in {saved:?}"))?;
        let html = std::fs::read_to_string(html_path.trim())?;
        ensure!(
            html.contains("sdn:10278") && html.contains("decline") && html.contains("Due"),
            "the report names the entry, what we did and the due date"
        );
        page.screenshot("sanctions-hard-stop").await?;
        // The blocklist keeps the entries on the basis chosen, and says so to the admin.
        page.section("admin").await?;
        page.click_button("Show the blocklist").await?;
        let table = page
            .wait_for_text("table[aria-label=Blocklist]", "Fraud prevention")
            .await?;
        ensure!(
            table.contains("declined") && table.contains("ssn"),
            "the entries name what was blocked and why: {table}"
        );
        Ok(())
    })
    .await;
}

/// Runs `body` as an async function in the page and returns what it resolves to (a rejection
/// as `{ thrown: … }`).
async fn run_js(page: &Page, body: &str) -> Result<serde_json::Value> {
    let script = format!(
        "const done = arguments[arguments.length - 1];
         (async () => {{ {body} }})().then(done, (e) => done({{ thrown: typeof e === 'object' && e !== null && 'code' in e ? e : String(e) }}));"
    );
    Ok(page.client.execute_async(&script, vec![]).await?)
}
