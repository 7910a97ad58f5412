//! Team mode in the real window (issue 17): a team created on a throwaway PostgreSQL store from
//! the set-up, its join code shown on Admin → Team, and a second desk (its own data folder)
//! joining with it, where the member the admin added makes their first sign-in.

use anyhow::{ensure, Result};
use desk_tests::e2e::{scenario, Page};
use testkit::postgres::Cluster;

use crate::shell::{ADMIN, PASSWORD};

async fn choose_team_store(page: &Page, url: &str) -> Result<()> {
    page.wait_autofocus("setup-username").await?;
    page.find("input[type=radio][value=team]")
        .await?
        .click()
        .await?;
    page.fill("setup-store", url).await?;
    let note = page.text("[data-testid=team-sealed]").await?;
    ensure!(
        note.contains("only ciphertext"),
        "the set-up says what the store holds: {note:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_team_is_created_in_the_window_and_a_second_desk_joins_it_with_the_code() {
    let cluster = Cluster::start();
    let db = cluster.team_database("e2e_team");
    vault::team::schema::migrate(&db.owner.parse().expect("owner URL")).expect("migrate");
    let url = db.app.clone();
    let shared = std::sync::Arc::new(std::sync::Mutex::new(None::<(String, String)>));

    let (found, store) = (shared.clone(), url.clone());
    scenario("team_create", |page| async move {
        let url = store;
        choose_team_store(&page, &url).await?;
        page.fill("setup-username", ADMIN).await?;
        page.fill("setup-password", PASSWORD).await?;
        page.fill("setup-confirm", PASSWORD).await?;
        page.click_button("Create team").await?;
        page.text("[data-testid=recovery-key]").await?;
        page.find("input[type=checkbox]").await?.click().await?;
        page.click_button("Continue").await?;
        page.enrol_totp().await?;
        let otp = page.add_user("uma").await?;
        page.click_button("Done").await?;
        let store = page.text("[data-testid=team-store]").await?;
        ensure!(
            store.contains("e2e_team"),
            "Admin → Team names the store: {store:?}"
        );
        page.click_button("Show the join code").await?;
        let code = page.text("[data-testid=join-code]").await?;
        ensure!(
            code.split('-').count() == 20,
            "a join code of 20 groups: {code:?}"
        );
        page.screenshot("team").await?;
        *found.lock().unwrap() = Some((otp, code));
        Ok(())
    })
    .await;

    let (otp, code) = shared
        .lock()
        .unwrap()
        .clone()
        .expect("the first desk's code");
    scenario("team_join", |page| async move {
        page.wait_autofocus("setup-username").await?;
        page.click_summary("Join a team instead").await?;
        page.fill("join-url", &url).await?;
        page.fill("join-code", "AAAA-BBBB").await?;
        page.click_button("Join team").await?;
        page.wait_for_text("form[aria-label='Join a team'] [role=alert]", "join code:")
            .await?;
        page.fill("join-code", &code).await?;
        page.click_button("Join team").await?;
        page.wait_for_text("main", "This desk joined the team")
            .await?;
        // Uma, added on the first desk, makes her first sign-in on this one.
        page.first_sign_in("uma", &otp, "quiet river stones 7")
            .await?;
        page.wait_for_text("nav", "Applications").await?;
        Ok(())
    })
    .await;
}
