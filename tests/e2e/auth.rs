use anyhow::{ensure, Result};
use desk_tests::e2e::{scenario, scenario_on_bus, totp_code, Page};

use crate::shell::{ADMIN, PASSWORD};

async fn expect_alert(page: &Page, code: &str) -> Result<String> {
    let alert = page.find("[role=alert]").await?;
    let got = alert.attr("data-code").await?;
    ensure!(
        got.as_deref() == Some(code),
        "expected an alert with code {code}, got {got:?}"
    );
    Ok(alert.text().await?)
}

/// Set-up → enrol TOTP → lock → unlock → lock → wrong password ×10 → locked.
#[tokio::test]
async fn setup_enrol_lock_unlock_and_lockout() {
    scenario("auth_journey", |page| async move {
        let secret = page.set_up_vault(ADMIN, PASSWORD).await?;
        page.wait_for_text("[aria-label='Signed-in user']", "admin · admin")
            .await?;

        page.click_button("Lock").await?;
        page.wait_for_text("[role=status]", "Locked").await?;
        ensure!(
            page.client
                .find(fantoccini::Locator::Css("nav[aria-label=Sections]"))
                .await
                .is_err(),
            "nothing behind the lock screen"
        );

        // A wrong password first: the next sign-in audits it, signed by the desk (issue 16).
        page.sign_in(ADMIN, "not the password", None).await?;
        expect_alert(&page, "bad_credentials").await?;
        page.wait_for_text("button[type=submit]", "Sign in").await?;
        // The enrolment code was used; the next time step's code is within the drift window.
        page.sign_in(ADMIN, PASSWORD, Some(&totp_code(&secret, 1)?))
            .await?;
        page.find("nav[aria-label=Sections]").await?;
        page.find("nav a[href='#/admin']").await?.click().await?;
        page.wait_for_text("section[aria-label='Audit log'] table", "anonymous")
            .await?;
        let log = page.text("section[aria-label='Audit log'] table").await?;
        let failure = log
            .lines()
            .find(|row| row.contains("anonymous") && row.contains("auth.sign_in"));
        ensure!(
            failure.is_some_and(|row| row.contains("desk ")),
            "the failed sign-in is signed by the desk: {log:?}"
        );
        page.click_button("Lock").await?;

        for attempt in 1..=9 {
            page.sign_in(ADMIN, "not the password", None).await?;
            let text = expect_alert(&page, "bad_credentials").await?;
            ensure!(
                text.contains("wrong username, password or authenticator code"),
                "attempt {attempt}: {text}"
            );
            // Let the form settle before the next try.
            page.wait_for_text("button[type=submit]", "Sign in").await?;
        }
        page.sign_in(ADMIN, "not the password", None).await?;
        let text = expect_alert(&page, "account_locked").await?;
        ensure!(
            text.contains("locked until"),
            "the lockout says until when: {text}"
        );

        // Even the right password and code wait out the lock.
        page.wait_for_text("button[type=submit]", "Sign in").await?;
        page.sign_in(ADMIN, PASSWORD, Some(&totp_code(&secret, 1)?))
            .await?;
        expect_alert(&page, "account_locked").await?;
        page.screenshot("locked_out").await?;
        Ok(())
    })
    .await;
}

/// An admin adds an underwriter, who signs in with the one-time password, changes it and
/// enrols; the underwriter sees no user administration.
#[tokio::test]
async fn admin_adds_an_underwriter_who_completes_first_sign_in() {
    scenario("first_sign_in", |page| async move {
        page.set_up_vault(ADMIN, PASSWORD).await?;
        page.find("nav a[href='#/admin']").await?.click().await?;
        page.fill("new-username", "uma").await?;
        page.click_button("Add user").await?;
        let issued = page.text("[data-testid=one-time-password]").await?;
        let otp = issued
            .split("uma: ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_string);
        let Some(otp) = otp else {
            anyhow::bail!("no one-time password shown: {issued:?}")
        };
        page.wait_for_text("table", "must change password").await?;
        // The audit log on the same page shows the change at once.
        page.wait_for_text("section[aria-label='Audit log'] table", "user.create")
            .await?;
        let log = page
            .text("section[aria-label='Audit log'] tbody tr")
            .await?;
        ensure!(
            log.contains("uma") && log.contains("user.create"),
            "newest entry is the new user: {log:?}"
        );
        page.screenshot("users").await?;

        // Issue 16: disabling a user rotates the class keys; the record keys are re-wrapped
        // in the background, and the panel follows it to the end.
        page.fill("new-username", "vic").await?;
        page.click_button("Add user").await?;
        page.wait_for_text("table", "vic").await?;
        page.click_button("Done").await?;
        page.click_row_button("Users", "vic", "Disable").await?;
        page.wait_for_text("[data-testid=rewrap]", "Key rotation complete")
            .await?;

        page.click_button("Lock").await?;
        page.first_sign_in("uma", &otp, "quiet river stones 7")
            .await?;
        page.wait_for_text("[aria-label='Signed-in user']", "uma · underwriter")
            .await?;
        page.find("nav a[href='#/admin']").await?.click().await?;
        page.wait_for_text("main", "Admin tools are for admins and auditors")
            .await?;
        Ok(())
    })
    .await;
}

/// Issue 16, item 7, against a real GNOME Keyring: an admin binds sign-ins to this desk's OS
/// keychain from the Security panel (a wrong password refused by field), then signs in again
/// through it.
#[tokio::test]
async fn an_admin_binds_sign_ins_to_the_desks_keychain_and_signs_in_through_it() {
    let keychain = testkit::keychain::Keychain::start();
    scenario_on_bus("keychain_binding", keychain.address(), |page| async move {
        let secret = page.set_up_vault(ADMIN, PASSWORD).await?;
        page.section("admin").await?;
        page.wait_for_text("[data-testid=keychain-status]", "off (the default)")
            .await?;
        page.fill("keychain-password", "not my password 42").await?;
        page.click_button("Bind sign-ins to this keychain").await?;
        expect_alert(&page, "invalid_input").await?;
        page.fill("keychain-password", PASSWORD).await?;
        page.click_button("Bind sign-ins to this keychain").await?;
        page.wait_for_text(
            "[data-testid=keychain-status]",
            "Binding: on. Members bound: 1 of 1 (yours is)",
        )
        .await?;
        page.screenshot("keychain_bound").await?;
        page.lock_and_sign_in(ADMIN, PASSWORD, &secret).await?;
        page.wait_for_text("[aria-label='Signed-in user']", ADMIN)
            .await?;
        page.section("admin").await?;
        page.wait_for_text("[data-testid=keychain-status]", "(yours is)")
            .await?;
        Ok(())
    })
    .await;
}
