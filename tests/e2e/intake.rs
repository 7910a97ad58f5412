use anyhow::{ensure, Context, Result};
use desk_tests::e2e::{scenario, Page};
use fantoccini::Locator;

use crate::shell::{ADMIN, PASSWORD};

/// A 1×1 PNG.
const TINY_PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

/// A name that would run script if it were ever rendered as markup.
const HOSTILE_NAME: &str =
    "<img src=x onerror=\"window.__xss=1\"><script>window.__xss=2</script> Café LLC";

async fn fill_all(page: &Page, fields: &[(&str, &str)]) -> Result<()> {
    for (id, value) in fields {
        page.fill(id, value)
            .await
            .with_context(|| format!("filling {id}"))?;
    }
    Ok(())
}

/// Waits until the input `id` holds `expected` (the wizard loads a draft asynchronously).
async fn wait_for_value(page: &Page, id: &str, expected: &str) -> Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut last = String::new();
    while std::time::Instant::now() < deadline {
        if let Ok(el) = page.client.find(Locator::Css(&format!("#{id}"))).await {
            last = el.prop("value").await?.unwrap_or_default();
            if last == expected {
                return Ok(());
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    anyhow::bail!("#{id} never held {expected:?}; last value {last:?}")
}

async fn no_script_ran(page: &Page) -> Result<()> {
    let xss = page
        .client
        .execute("return window.__xss === undefined;", vec![])
        .await?;
    ensure!(
        xss == serde_json::json!(true),
        "markup in a name was executed"
    );
    Ok(())
}

/// Create → save the first step → leave → resume the draft → people, bank, terms → submit;
/// inline errors on a bad EIN; masked values on resume; a hostile name shown as text.
#[tokio::test]
async fn create_save_resume_and_submit_an_application() {
    scenario("intake_wizard", |page| async move {
        page.set_up_vault(ADMIN, PASSWORD).await?;
        page.click_button("New application").await?;
        page.find("#f-business-entity_type")
            .await?
            .select_by_value("single_member_llc")
            .await?;
        fill_all(
            &page,
            &[
                ("f-business-legal_name", HOSTILE_NAME),
                ("f-business-dba", "Harbor Beans"),
                ("f-business-mcc", "5814"),
                ("f-business-ein", "07-1234567"),
                ("f-business-incorporation_date", "2016-04-02"),
                ("f-business-incorporation_state", "TX"),
            ],
        )
        .await?;
        // Leaving the EIN field shows the rule it breaks, before any save.
        page.wait_for_text("#f-business-ein-error", "prefix the IRS does not assign")
            .await?;
        fill_all(
            &page,
            &[
                ("f-business-ein", "12-3456789"),
                ("f-business-phone", "+15125550100"),
                ("f-business-email", "hello@harborbeans.example"),
                ("f-business-website", "https://harborbeans.example"),
                ("f-business-product_description", "Coffee and pastries"),
                ("f-business-monthly_volume", "40000"),
                ("f-business-average_ticket", "12.50"),
                ("f-business-max_ticket", "300"),
                ("f-business-card_present_percent", "80"),
                ("f-business-address-line1", "1 Main St"),
                ("f-business-address-city", "Austin"),
                ("f-business-address-state", "TX"),
                ("f-business-address-postal_code", "78701"),
            ],
        )
        .await?;
        page.click_button("Save and continue").await?;
        page.wait_for_text("[role=status]", "Draft saved").await?;

        // Leave, then resume the draft from the list.
        page.click_button("Back to list").await?;
        page.wait_for_text("main table", "Harbor Beans").await?;
        let link = page
            .client
            .wait()
            .for_element(Locator::XPath("//table//button"))
            .await?;
        ensure!(
            link.text()
                .await?
                .contains("<script>window.__xss=2</script>"),
            "the list shows the name as typed, as text"
        );
        no_script_ran(&page).await?;
        link.click().await?;
        // The draft resumes with what was saved, the EIN masked.
        wait_for_value(&page, "f-business-legal_name", HOSTILE_NAME).await?;
        wait_for_value(&page, "f-business-ein", "••-•••6789").await?;

        page.click_button("Save and continue").await?;
        page.click_button("Add person").await?;
        fill_all(
            &page,
            &[
                ("f-people-0-first_name", "Maria"),
                ("f-people-0-last_name", "Garcia"),
                ("f-people-0-title", "Managing Member"),
                ("f-people-0-dob", "1985-07-04"),
                ("f-people-0-ownership_percent", "100"),
                ("f-people-0-email", "maria@example.com"),
                ("f-people-0-ssn", "536-22-1234"),
                ("f-people-0-address-line1", "2 Oak Ave"),
                ("f-people-0-address-city", "Austin"),
                ("f-people-0-address-state", "TX"),
                ("f-people-0-address-postal_code", "78702"),
            ],
        )
        .await?;
        page.find("#f-people-0-is_control").await?.click().await?;
        page.click_button("Save and continue").await?;

        fill_all(
            &page,
            &[
                ("f-bank-holder_name", "Harbor Beans LLC"),
                ("f-bank-routing_number", "021000021"),
                ("f-bank-account_number", "000123456789"),
            ],
        )
        .await?;
        page.click_button("Save and continue").await?;
        // Documents: a PNG is stored and previewed; a file that only claims to be a PDF is not.
        let tmp = tempfile::tempdir()?;
        let png = tmp.path().join("voided-check.png");
        std::fs::write(&png, data_encoding::BASE64.decode(TINY_PNG.as_bytes())?)?;
        let fake_pdf = tmp.path().join("articles.pdf");
        std::fs::write(&fake_pdf, b"MZ this is a program, not a PDF")?;
        page.find("#doc-kind")
            .await?
            .select_by_value("voided_check")
            .await?;
        page.find("#doc-file")
            .await?
            .send_keys(&png.to_string_lossy())
            .await?;
        page.click_button("Upload").await?;
        page.wait_for_text("[aria-label=Documents] table", "voided-check.png")
            .await?;
        page.click_button("Preview voided-check.png").await?;
        let img = page.find("[aria-label='Document preview'] img").await?;
        let loaded = page
            .client
            .execute(
                "return arguments[0].complete && arguments[0].naturalWidth === 1;",
                vec![serde_json::to_value(&img)?],
            )
            .await?;
        ensure!(
            loaded == serde_json::json!(true),
            "the preview shows the stored image"
        );
        page.find("#doc-file")
            .await?
            .send_keys(&fake_pdf.to_string_lossy())
            .await?;
        page.click_button("Upload").await?;
        page.wait_for_text(
            "[aria-label=Documents] [role=alert]",
            "must be a PDF, PNG or JPEG file",
        )
        .await?;
        page.click_button("Save and continue").await?;

        fill_all(
            &page,
            &[
                ("f-terms-accepted_at", "2026-11-20T10:00:00Z"),
                ("f-terms-signer_name", "Maria Garcia"),
                ("f-terms-ip", "203.0.113.9"),
                ("f-terms-user_agent", "Mozilla/5.0"),
            ],
        )
        .await?;
        page.click_button("Save terms").await?;
        page.wait_for_text("[aria-label='Application summary']", "Harbor Beans")
            .await?;
        let summary = page.text("[aria-label='Application summary']").await?;
        ensure!(
            summary.contains("•••-••-1234") && !summary.contains("536-22-1234"),
            "the summary masks the SSN: {summary}"
        );
        ensure!(
            summary.contains("••••••••6789"),
            "the summary masks the account number"
        );
        ensure!(
            page.client
                .find(Locator::Css("[aria-label='Still missing']"))
                .await
                .is_err(),
            "nothing is missing"
        );
        page.click_button("Submit for review").await?;
        page.wait_for_text("[data-status]", "Submitted").await?;

        // The detail page reveals a masked value on request (audited in Rust).
        page.find("button[aria-label='Reveal SSN of person 1']")
            .await?
            .click()
            .await?;
        page.wait_for_text("[data-field='people[0].ssn']", "536-22-1234")
            .await?;
        let heading = page.text("main h2").await?;
        ensure!(
            heading == HOSTILE_NAME,
            "the heading shows the name as text: {heading}"
        );
        no_script_ran(&page).await?;
        page.screenshot("application-submitted").await?;
        Ok(())
    })
    .await;
}

/// Import 10,000 generated applications through the Import page: progress, then the count;
/// they are listed and searchable.
#[tokio::test]
async fn import_ten_thousand_applications_in_the_window() {
    scenario("intake_import", |page| async move {
        let tmp = tempfile::tempdir()?;
        let file = tmp.path().join("applications.csv");
        let mut csv = String::from_utf8(api::intake::demo::csv(10_000, 77))?;
        csv.push_str("only,three,cells\n"); // one bad row among 10,000 good ones
        std::fs::write(&file, csv)?;

        page.set_up_vault(ADMIN, PASSWORD).await?;
        page.click_button("Import").await?;
        page.find("#import-file")
            .await?
            .send_keys(&file.to_string_lossy())
            .await?;
        let started = std::time::Instant::now();
        page.click_button("Import").await?;
        let deadline = started + std::time::Duration::from_secs(180);
        let result = loop {
            if let Ok(el) = page.client.find(Locator::Css(".result")).await {
                break el.text().await?;
            }
            ensure!(
                std::time::Instant::now() < deadline,
                "the import did not finish in 3 minutes"
            );
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        };
        eprintln!(
            "UI import of 10,001 rows took {:.1} s (debug build)",
            started.elapsed().as_secs_f64()
        );
        ensure!(
            result.contains("Imported 10000 of 10001 applications; 1 rejected."),
            "{result}"
        );
        page.wait_for_text("[aria-label='Rejected rows']", "has 3 fields")
            .await?;
        page.click_button("Back to list").await?;
        page.wait_for_text("main .count", "10,000 applications")
            .await?;
        page.fill("app-search", "blue").await?;
        page.wait_for_text("main table", "Blue").await?;

        // Issue 14: a second file with the first application's EIN is imported with a
        // visible "possible duplicate" warning (the EIN itself never shown).
        let first = api::intake::demo::generate(1, 77).remove(0);
        let mut again = api::intake::demo::generate(1, 991).remove(0);
        again.business.ein = first.business.ein.clone();
        let second = tmp.path().join("again.csv");
        std::fs::write(&second, api::intake::import::to_csv(&[again]))?;
        page.import_file(&second, "Imported 1 of 1").await?;
        let warnings = page
            .wait_for_text(
                "[aria-label='Possible duplicates']",
                "possible duplicate of application",
            )
            .await?;
        ensure!(
            warnings.contains("same EIN") && !warnings.contains(&first.business.ein),
            "the warning names the shared identifier, not its value: {warnings}"
        );
        page.screenshot("import-duplicate-warning").await?;
        Ok(())
    })
    .await;
}
