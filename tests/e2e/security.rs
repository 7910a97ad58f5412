use anyhow::{ensure, Result};
use desk_tests::e2e::{scenario, Page};
use serde_json::Value;

/// Runs `body` as an async function in the page and returns what it resolves to.
async fn run_js(page: &Page, body: &str) -> Result<Value> {
    let script = format!(
        "const done = arguments[arguments.length - 1];
         (async () => {{ {body} }})().then(done, (e) => done({{ thrown: typeof e === 'object' && e !== null && 'code' in e ? e : String(e) }}));"
    );
    Ok(page.client.execute_async(&script, vec![]).await?)
}

#[tokio::test]
async fn window_is_locked_down_by_csp_capabilities_and_frozen_prototypes() {
    scenario("security_policy", |page| async move {
        page.wait_for_text("[data-testid=app-version]", "Boarding Desk").await?;

        // Our own command is allowed by the capability.
        let own = run_js(
            &page,
            "return await window.__TAURI_INTERNALS__.invoke('app_info');",
        )
        .await?;
        ensure!(own["vault"] == "not_created", "app_info is callable: {own}");

        // A core plugin command that the capability does not list is refused in Rust.
        let core = run_js(
            &page,
            "await window.__TAURI_INTERNALS__.invoke('plugin:event|emit', { event: 'x', payload: null });
             return { ok: true };",
        )
        .await?;
        let refused = core["thrown"].as_str().unwrap_or_default();
        ensure!(refused.contains("not allowed"), "event.emit must be refused: {core}");

        // The CSP forbids eval (script-src 'self', no 'unsafe-eval').
        let eval = run_js(&page, "return { value: eval('6 * 7') };").await?;
        let blocked = eval["thrown"].as_str().unwrap_or_default();
        ensure!(
            blocked.contains("Content Security Policy"),
            "eval must be blocked by the CSP: {eval}"
        );

        // Our own command, but it needs a session: Rust refuses with the code the UI acts on.
        let no_session = run_js(&page, "return await window.__TAURI_INTERNALS__.invoke('list_users');").await?;
        ensure!(
            no_session["thrown"]["code"] == "unauthorized",
            "list_users without a session must be unauthorized: {no_session}"
        );

        // freezePrototype: prototype pollution cannot reach the IPC layer.
        let frozen = run_js(&page, "return Object.isFrozen(Object.prototype);").await?;
        ensure!(frozen == Value::Bool(true), "Object.prototype must be frozen");
        Ok(())
    })
    .await;
}
