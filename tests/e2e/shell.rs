use anyhow::{ensure, Result};
use desk_tests::e2e::{scenario, scenario_with, Page};

pub const ADMIN: &str = "admin";
pub const PASSWORD: &str = "correct horse battery 42";

const SECTIONS: [(&str, &str, &str); 4] = [
    ("applications", "Applications", "No applications yet"),
    ("review", "Review queue", "The review queue is empty"),
    ("merchants", "Merchants", "Nothing is boarding yet"),
    ("admin", "Admin", ""),
];

async fn expect_section(page: &Page, id: &str, label: &str, empty_title: &str) -> Result<()> {
    page.wait_for_text("header h1", label).await?;
    let main = page.find("main").await?;
    ensure!(
        main.attr("data-section").await?.as_deref() == Some(id),
        "main content must show the {id} section"
    );
    if !empty_title.is_empty() {
        page.wait_for_text("main [role=status] h2", empty_title)
            .await?;
    }
    let link = page.find(&format!("nav a[href='#/{id}']")).await?;
    ensure!(
        link.attr("aria-current").await?.as_deref() == Some("page"),
        "the sidebar must mark {label} as the current page"
    );
    Ok(())
}

#[tokio::test]
async fn shell_renders_with_version_and_vault_state_from_rust() {
    scenario("shell_renders", |page| async move {
        let version = page
            .wait_for_text("[data-testid=app-version]", api::VERSION)
            .await?;
        ensure!(
            version == format!("Boarding Desk {}", api::VERSION),
            "status bar shows the version Rust reports, got {version:?}"
        );
        page.wait_for_text("[data-testid=vault-state]", "Vault: not created")
            .await?;
        page.set_up_vault(ADMIN, PASSWORD).await?;
        page.wait_for_text("[data-testid=vault-state]", "Vault: unlocked")
            .await?;
        let dir = page.rendered_text("[data-testid=data-dir]").await?;
        ensure!(
            dir.starts_with("Data: /") && dir.ends_with("/data") && dir.contains("desk-e2e-"),
            "status bar shows this run's temp data folder, got {dir:?}"
        );

        let nav = page.text("nav[aria-label=Sections]").await?;
        for (_, label, _) in SECTIONS {
            ensure!(nav.contains(label), "sidebar lists {label}: {nav:?}");
        }
        ensure!(page.text("[aria-label='Signed-in user']").await? == "admin · admin");
        expect_section(&page, "applications", "Applications", "No applications yet").await?;
        page.screenshot("shell").await?;
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn each_sidebar_item_navigates_to_its_section() {
    scenario("sidebar_navigates", |page| async move {
        page.set_up_vault(ADMIN, PASSWORD).await?;
        // Visit in an order that leaves and re-enters the default section.
        for i in [1, 2, 3, 0, 3] {
            let (id, label, empty) = SECTIONS[i];
            page.find(&format!("nav a[href='#/{id}']"))
                .await?
                .click()
                .await?;
            expect_section(&page, id, label, empty).await?;
        }
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn keyboard_moves_between_sections() {
    scenario("keyboard_navigation", |page| async move {
        page.set_up_vault(ADMIN, PASSWORD).await?;
        let first = page.find("nav a[href='#/applications']").await?;
        first.click().await?;
        // Arrow keys move through the sidebar (U+E015 is WebDriver's ArrowDown).
        first.send_keys("\u{E015}").await?;
        expect_section(&page, "review", "Review queue", "The review queue is empty").await?;
        let focused = page.client.active_element().await?;
        // (WebDriver reports href resolved to a full URL, so compare the current-page marker.)
        ensure!(
            focused.attr("aria-current").await?.as_deref() == Some("page")
                && focused.text().await?.contains("Review queue"),
            "focus follows the current sidebar item"
        );
        // Alt+4 jumps to Admin from anywhere (U+E00A is Alt, U+E000 releases modifiers).
        focused.send_keys("\u{E00A}4\u{E000}").await?;
        expect_section(&page, "admin", "Admin", "").await?;
        // ArrowDown wraps from the last item to the first.
        let admin = page.client.active_element().await?;
        admin.send_keys("\u{E015}").await?;
        expect_section(&page, "applications", "Applications", "No applications yet").await?;
        Ok(())
    })
    .await;
}

/// An error raised in Rust (the data folder is a file) reaches the UI with its code.
#[tokio::test]
async fn rust_error_reaches_the_ui_with_its_code() {
    let make_file = |tmp: &std::path::Path| {
        let file = tmp.join("not-a-folder");
        std::fs::write(&file, b"occupied").expect("write the blocking file");
        file
    };
    scenario_with("rust_error_reaches_ui", make_file, |page| async move {
        let alert = page.find("[role=alert]").await?;
        ensure!(
            alert.attr("data-code").await?.as_deref() == Some("data_dir_unavailable"),
            "the banner carries the code Rust sent"
        );
        let text = page
            .wait_for_text("[role=alert]", "The data folder cannot be used")
            .await?;
        ensure!(
            text.contains("is not a directory"),
            "Rust's message is shown: {text:?}"
        );
        page.wait_for_text("[data-testid=status-error]", "data_dir_unavailable")
            .await?;
        // Nothing behind it is offered: no set-up or sign-in form, no sections.
        ensure!(
            page.client
                .find(fantoccini::Locator::Css("form"))
                .await
                .is_err(),
            "no form is offered on an unusable data folder"
        );
        Ok(())
    })
    .await;
}
