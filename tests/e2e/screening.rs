use anyhow::{ensure, Result};
use desk_tests::e2e::{scenario, Page};

use crate::shell::{ADMIN, PASSWORD};

async fn section(page: &Page, id: &str) -> Result<()> {
    page.find(&format!("nav a[href='#/{id}']"))
        .await?
        .click()
        .await?;
    Ok(())
}

/// Admin loads OFAC's files; an imported application whose control person is listed is
/// re-screened, shows an explained hit, and an underwriter's disposition clears it.
#[tokio::test]
async fn load_lists_rescreen_and_disposition_a_hit() {
    let lists = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/testdata/sanctions/ofac-small");
    if !lists.is_dir() {
        eprintln!("skipped: {} is absent", lists.display());
        return;
    }
    let lists = lists.canonicalize().expect("shared test data");
    scenario("screening_hit", |page| async move {
        let tmp = tempfile::tempdir()?;
        let mut form = api::intake::demo::generate(1, 3).remove(0);
        let control = form
            .people
            .iter_mut()
            .find(|p| p.is_control)
            .expect("a control person");
        control.first_name = "Elvis Angus".into();
        control.last_name = "Logan Morey".into();
        control.dob = "1963-07-28".into();
        let csv = tmp.path().join("one.csv");
        std::fs::write(&csv, api::intake::import::to_csv(&[form]))?;

        page.set_up_vault(ADMIN, PASSWORD).await?;
        section(&page, "admin").await?;
        page.fill("lists-dir", &lists.to_string_lossy()).await?;
        page.click_button("Import lists").await?;
        page.wait_for_text(
            "[aria-label='Sanctions lists'] [role=status]",
            "Loaded SDN (17 entries",
        )
        .await?;

        section(&page, "applications").await?;
        page.click_button("Import").await?;
        page.find("#import-file")
            .await?
            .send_keys(&csv.to_string_lossy())
            .await?;
        page.click_button("Import").await?;
        page.wait_for_text(".result", "Imported 1 of 1").await?;

        section(&page, "admin").await?;
        page.click_button("Re-screen applications").await?;
        page.wait_for_text(
            "[aria-label='Sanctions lists'] [role=status]",
            "1 with new hits",
        )
        .await?;

        section(&page, "applications").await?;
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
