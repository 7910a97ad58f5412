//! The end-to-end harness: the real app window, driven through tauri-driver + WebKitWebDriver.

use std::fs::{self, File};
use std::future::Future;
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context, Result};
use fantoccini::{Client, ClientBuilder, Locator};
use futures::FutureExt;
use hyper_util::client::legacy::connect::HttpConnector;
use tokio::sync::{Mutex, MutexGuard};

use crate::paths::{artifacts_dir, target_dir, workspace_root};
use crate::process::{kill_processes_mentioning, Guarded};

/// Env var naming a prebuilt app binary to test instead of building `target/debug/boarding-desk`
/// (e.g. a release build).
pub const APP_ENV: &str = "DESK_E2E_APP";

const APP_PACKAGE: &str = "boarding-desk";
const WAIT: Duration = Duration::from_secs(10);

/// One scenario at a time: each starts a whole app, and the machines this runs on are small.
static SERIAL: Mutex<()> = Mutex::const_new(());
static APP_BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// Runs one scenario against a freshly launched app whose data folder is `<tmp>/data`.
///
/// On failure (an `Err` or a panic) it saves a screenshot, the app's log and tauri-driver's log
/// under `target/e2e-artifacts/<name>/`, then fails the test. Processes are always stopped.
pub async fn scenario<F, Fut>(name: &str, body: F)
where
    F: FnOnce(Page) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    scenario_with(name, |tmp| tmp.join("data"), body).await
}

/// Like [`scenario`], with `data_dir(tmp)` choosing what the app gets as `--data-dir` (it may
/// prepare something unusual there, such as a file where a folder should be).
pub async fn scenario_with<D, F, Fut>(name: &str, data_dir: D, body: F)
where
    D: FnOnce(&Path) -> PathBuf,
    F: FnOnce(Page) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    launched(name, data_dir, None, body).await
}

/// Like [`scenario`], with the app on the session bus at `bus` (a test's own OS keychain).
pub async fn scenario_on_bus<F, Fut>(name: &str, bus: &str, body: F)
where
    F: FnOnce(Page) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    launched(name, |tmp| tmp.join("data"), Some(bus), body).await
}

async fn launched<D, F, Fut>(name: &str, data_dir: D, bus: Option<&str>, body: F)
where
    D: FnOnce(&Path) -> PathBuf,
    F: FnOnce(Page) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let app = match App::launch(name, data_dir, bus).await {
        Ok(app) => app,
        Err(e) => panic!(
            "scenario {name}: the app did not start: {e:#}\nlogs: {}",
            artifacts_dir().join(name).display()
        ),
    };
    let outcome = AssertUnwindSafe(body(app.page())).catch_unwind().await;
    let ok = matches!(outcome, Ok(Ok(())));
    if !ok {
        app.save_failure_artifacts().await;
    }
    app.close(ok).await;
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!(
            "scenario {name} failed: {e:#}\nscreenshot and logs: {}",
            artifacts_dir().join(name).display()
        ),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// What a scenario gets: the WebDriver client on the app window, with a few helpers.
#[derive(Clone)]
pub struct Page {
    pub client: Client,
}

impl Page {
    /// Waits for the first element matching `css`.
    pub async fn find(&self, css: &str) -> Result<fantoccini::elements::Element> {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .with_context(|| format!("no element matches {css:?}"))
    }

    /// Text of the first element matching `css` (waiting for it to exist).
    pub async fn text(&self, css: &str) -> Result<String> {
        Ok(self.find(css).await?.text().await?)
    }

    /// The element's `innerText` as the page lays it out. WebKitWebDriver's visible-text
    /// algorithm reports "" for an element that clips its own overflow (an ellipsised path, say)
    /// even when a person sees it; use this for such elements.
    pub async fn rendered_text(&self, css: &str) -> Result<String> {
        let el = self.find(css).await?;
        let value = self
            .client
            .execute(
                "return arguments[0].innerText;",
                vec![serde_json::to_value(&el)?],
            )
            .await?;
        value
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("innerText of {css:?} was not a string: {value}"))
    }

    /// Waits until the text of `css` contains `expected`; returns the full text.
    pub async fn wait_for_text(&self, css: &str, expected: &str) -> Result<String> {
        self.wait_for_text_within(css, expected, WAIT).await
    }

    /// [`Page::wait_for_text`] for things that take longer than a click (a retry schedule).
    pub async fn wait_for_text_within(
        &self,
        css: &str,
        expected: &str,
        wait: Duration,
    ) -> Result<String> {
        let deadline = Instant::now() + wait;
        let mut last = String::new();
        while Instant::now() < deadline {
            if let Ok(el) = self.client.find(Locator::Css(css)).await {
                last = el.text().await.unwrap_or_default();
                if last.contains(expected) {
                    return Ok(last);
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("{css:?} never contained {expected:?}; last text was {last:?}")
    }

    /// Types into the input labelled by `id` (its `<label for>`), replacing what is there.
    pub async fn fill(&self, id: &str, text: &str) -> Result<()> {
        let input = self.find(&format!("#{id}")).await?;
        // Fields low on a long page sit under the status bar; a person scrolls, so do we.
        self.client
            .execute(
                "arguments[0].scrollIntoView({block: 'center'});",
                vec![serde_json::to_value(&input)?],
            )
            .await?;
        input.clear().await?;
        if !text.is_empty() {
            input.send_keys(text).await?;
        }
        Ok(())
    }

    /// Waits until the field `id`, which the page autofocuses, has the focus. WebKit moves the
    /// focus to an autofocused field at a later rendering step, which a loaded machine can put
    /// after the first keystrokes of a scenario: they would land in it mid-word.
    pub async fn wait_autofocus(&self, id: &str) -> Result<()> {
        let deadline = std::time::Instant::now() + WAIT;
        while std::time::Instant::now() < deadline {
            let focused = self
                .client
                .execute(
                    "return document.activeElement && document.activeElement.id;",
                    vec![],
                )
                .await?;
            if focused.as_str() == Some(id) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        bail!("the autofocused field {id:?} never took the focus")
    }

    /// Fills several fields, then reads every one back and fills again what does not hold its
    /// text (up to three rounds): a focus moved by the page while typing (an autofocus applied
    /// late on a loaded machine) sends keystrokes to another field.
    pub async fn fill_all(&self, fields: &[(&str, &str)]) -> Result<()> {
        for _ in 0..3 {
            for (id, text) in fields {
                self.fill(id, text).await?;
            }
            let mut all_held = true;
            for (id, text) in fields {
                let value = self.find(&format!("#{id}")).await?.prop("value").await?;
                all_held &= value.as_deref() == Some(*text);
            }
            if all_held {
                return Ok(());
            }
        }
        bail!(
            "the fields {:?} did not keep what was typed",
            fields.iter().map(|(id, _)| id).collect::<Vec<_>>()
        )
    }

    /// Clicks the first button whose text is exactly `label`.
    pub async fn click_button(&self, label: &str) -> Result<()> {
        let xpath = format!("//button[normalize-space()='{label}']");
        self.click_xpath(&xpath, &format!("no button {label:?}"))
            .await
    }

    /// Opens the `<details>` whose summary reads exactly `label`.
    pub async fn click_summary(&self, label: &str) -> Result<()> {
        let xpath = format!("//summary[normalize-space()='{label}']");
        self.click_xpath(&xpath, &format!("no summary {label:?}"))
            .await
    }

    /// Waits for the element at `xpath`, scrolls it into view and clicks it.
    async fn click_xpath(&self, xpath: &str, missing: &str) -> Result<()> {
        let button = self
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::XPath(xpath))
            .await
            .with_context(|| missing.to_string())?;
        // Long pages put buttons under the status bar; a person scrolls, so do we.
        self.client
            .execute(
                "arguments[0].scrollIntoView({block: 'center'});",
                vec![serde_json::to_value(&button)?],
            )
            .await?;
        button.click().await?;
        Ok(())
    }

    /// Clicks the button `label` in the row of the table in section `section` whose cell reads
    /// exactly `cell`.
    pub async fn click_row_button(&self, section: &str, cell: &str, label: &str) -> Result<()> {
        let xpath = format!(
            "//section[@aria-label='{section}']//tr[td[normalize-space()='{cell}']]//button[normalize-space()='{label}']"
        );
        self.click_xpath(
            &xpath,
            &format!("no button {label:?} in the row of {cell:?}"),
        )
        .await
    }

    /// Walks the first-run wizard: creates the vault and admin, acknowledges the recovery key,
    /// enrols the authenticator. Returns the TOTP secret the window showed.
    pub async fn set_up_vault(&self, username: &str, password: &str) -> Result<String> {
        self.wait_autofocus("setup-username").await?;
        self.fill_all(&[
            ("setup-username", username),
            ("setup-password", password),
            ("setup-confirm", password),
        ])
        .await?;
        self.click_button("Create vault").await?;
        let key = self.text("[data-testid=recovery-key]").await?;
        ensure!(
            key.split('-').count() == 13,
            "a recovery key of 13 groups is shown, got {key:?}"
        );
        self.find("input[type=checkbox]").await?.click().await?;
        self.click_button("Continue").await?;
        self.enrol_totp().await
    }

    /// The authenticator step: reads the secret shown, confirms a code for it, waits for the
    /// shell. Returns the secret.
    pub async fn enrol_totp(&self) -> Result<String> {
        let secret = self
            .text("[data-testid=totp-secret]")
            .await?
            .replace(' ', "");
        self.fill("totp-code", &totp_code(&secret, 0)?).await?;
        self.click_button("Confirm").await?;
        self.find("nav[aria-label=Sections]").await?;
        Ok(secret)
    }

    /// Opens a section from the sidebar (`applications`, `review`, `merchants`, `admin`).
    pub async fn section(&self, id: &str) -> Result<()> {
        self.find(&format!("nav a[href='#/{id}']"))
            .await?
            .click()
            .await?;
        Ok(())
    }

    /// Admin → Users: adds `username` (an underwriter); returns the one-time password shown.
    pub async fn add_user(&self, username: &str) -> Result<String> {
        self.section("admin").await?;
        self.fill("new-username", username).await?;
        self.click_button("Add user").await?;
        let issued = self.text("[data-testid=one-time-password]").await?;
        issued
            .split(&format!("{username}: "))
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_string)
            .ok_or_else(|| anyhow!("no one-time password shown: {issued:?}"))
    }

    /// A new user's first sign-in: the one-time password, a new password, TOTP enrolment.
    /// Returns the user's TOTP secret.
    pub async fn first_sign_in(&self, username: &str, otp: &str, password: &str) -> Result<String> {
        self.sign_in(username, otp, None).await?;
        self.fill("pw-new", password).await?;
        self.fill("pw-confirm", password).await?;
        self.click_button("Save password").await?;
        self.enrol_totp().await
    }

    /// Applications → Import: imports `file` and waits for the result line to contain `expect`.
    pub async fn import_file(&self, file: &Path, expect: &str) -> Result<String> {
        self.section("applications").await?;
        self.click_button("Import").await?;
        self.find("#import-file")
            .await?
            .send_keys(&file.to_string_lossy())
            .await?;
        self.click_button("Import").await?;
        self.wait_for_text(".result", expect).await
    }

    /// Locks, then signs `username` in again with the next TOTP step's code (the current one
    /// was used by their earlier sign-in and is not accepted twice).
    pub async fn lock_and_sign_in(
        &self,
        username: &str,
        password: &str,
        secret: &str,
    ) -> Result<()> {
        self.click_button("Lock").await?;
        self.sign_in(username, password, Some(&totp_code(secret, 1)?))
            .await
    }

    /// Signs in through the sign-in form.
    pub async fn sign_in(&self, username: &str, password: &str, code: Option<&str>) -> Result<()> {
        self.fill_all(&[
            ("signin-username", username),
            ("signin-password", password),
            ("signin-code", code.unwrap_or("")),
        ])
        .await?;
        self.click_button("Sign in").await
    }

    /// Saves a screenshot of the window as `target/e2e-artifacts/screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf> {
        let dir = artifacts_dir().join("screenshots");
        fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{name}.png"));
        fs::write(&path, self.client.screenshot().await?)?;
        Ok(path)
    }
}

/// A running app and everything started for it. Dropping it stops them all.
struct App {
    name: String,
    client: Client,
    scenario_dir: PathBuf,
    data_dir: PathBuf,
    tmp: tempfile::TempDir,
    driver: Guarded,
    xvfb: Option<Guarded>,
    _serial: MutexGuard<'static, ()>,
}

impl App {
    async fn launch(
        name: &str,
        data_dir: impl FnOnce(&Path) -> PathBuf,
        bus: Option<&str>,
    ) -> Result<Self> {
        let serial = SERIAL.lock().await;
        let binary = app_binary()?;
        let scenario_dir = artifacts_dir().join(name);
        let _ = fs::remove_dir_all(&scenario_dir);
        fs::create_dir_all(&scenario_dir)?;

        let tmp = tempfile::Builder::new().prefix("desk-e2e-").tempdir()?;
        let data_dir = data_dir(tmp.path());

        let (display, xvfb) = match std::env::var("DISPLAY") {
            Ok(d) if !d.is_empty() => (d, None),
            _ => {
                let (display, guard) = start_xvfb()?;
                (display, Some(guard))
            }
        };

        let port = free_port()?;
        let native_port = free_port()?;
        let log = File::create(scenario_dir.join("tauri-driver.log"))?;
        let mut command = Command::new(tauri_driver()?);
        if let Some(bus) = bus {
            command.env("DBUS_SESSION_BUS_ADDRESS", bus);
        }
        let child = command
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native_port.to_string(),
            ])
            .env("DISPLAY", &display)
            // Debug builds only: argon2id at the OWASP baseline keeps ten sign-ins quick.
            .env("BOARDING_DESK_TEST_KDF", "minimum")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting tauri-driver")?;
        let mut driver = Guarded::new("tauri-driver", child, Duration::from_secs(3));
        wait_for_port(port, &mut driver)?;

        // tauri-driver answers before WebKitWebDriver listens; wait for both.
        wait_for_port(native_port, &mut driver)?;

        let mut caps = serde_json::Map::new();
        caps.insert(
            "tauri:options".into(),
            serde_json::json!({
                "application": binary,
                "args": ["--data-dir", data_dir],
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut attempt = 0;
        let client = loop {
            attempt += 1;
            let mut builder = ClientBuilder::new(HttpConnector::new());
            builder.capabilities(caps.clone());
            let connect = builder.connect(&url);
            match tokio::time::timeout(Duration::from_secs(60), connect).await {
                Ok(Ok(client)) => break client,
                Ok(Err(e)) if attempt < 3 => {
                    eprintln!("e2e {name}: new session attempt {attempt} failed ({e}); retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Ok(Err(e)) => {
                    return Err(e)
                        .context("opening a WebDriver session (is WebKitWebDriver installed?)")
                }
                Err(_) => bail!("timed out opening a WebDriver session"),
            }
        };

        Ok(Self {
            name: name.to_string(),
            client,
            scenario_dir,
            data_dir,
            tmp,
            driver,
            xvfb,
            _serial: serial,
        })
    }

    fn page(&self) -> Page {
        Page {
            client: self.client.clone(),
        }
    }

    async fn save_failure_artifacts(&self) {
        if let Ok(png) = self.client.screenshot().await {
            let _ = fs::write(self.scenario_dir.join("screenshot.png"), png);
        }
        if let Ok(html) = self.client.source().await {
            let _ = fs::write(self.scenario_dir.join("page.html"), html);
        }
        let _ = fs::copy(
            self.data_dir.join("logs").join("boarding-desk.log"),
            self.scenario_dir.join("boarding-desk.log"),
        );
        eprintln!(
            "e2e {}: artifacts saved in {}",
            self.name,
            self.scenario_dir.display()
        );
    }

    async fn close(self, passed: bool) {
        let _ = tokio::time::timeout(Duration::from_secs(10), self.client.clone().close()).await;
        if passed {
            let _ = fs::remove_dir_all(&self.scenario_dir);
        }
        drop(self);
    }
}

impl Drop for App {
    fn drop(&mut self) {
        // The app is WebKitWebDriver's child, not ours; find it by its unique temp folder.
        kill_processes_mentioning(self.tmp.path());
        let _ = (&self.driver, &self.xvfb); // dropped next, in this order: driver, then Xvfb
    }
}

/// The TOTP code for now plus `steps_ahead` time steps (30 s each), from a base32 secret.
pub fn totp_code(secret_b32: &str, steps_ahead: u64) -> Result<String> {
    let secret = vault::totp::Secret::from_base32(secret_b32)
        .context("the TOTP secret shown is not base32")?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    Ok(secret.code_at(now + 30 * steps_ahead))
}

/// Builds the UI and the app once per test run (a no-op when both are fresh), or takes the binary
/// named by `DESK_E2E_APP`.
pub fn app_binary() -> Result<PathBuf> {
    APP_BINARY
        .get_or_init(|| build_app().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(|e| anyhow!(e))
}

fn build_app() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os(APP_ENV).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        if !path.is_file() {
            bail!(
                "{APP_ENV} points at {}, which is not a file",
                path.display()
            );
        }
        return Ok(path);
    }
    let root = workspace_root();
    let ui = root.join("ui");
    if !ui.join("node_modules").is_dir() {
        bail!("ui/node_modules is missing: run `npm ci --prefix ui` (make test does)");
    }
    run(
        Command::new("npm")
            .args(["run", "--silent", "build"])
            .current_dir(&ui),
        "npm run build (ui)",
    )?;

    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .args(["build", "--quiet", "-p", APP_PACKAGE])
        .current_dir(&root);
    // Do not leak the test binary's cargo-set variables into the nested build.
    for (key, _) in std::env::vars_os() {
        let key_s = key.to_string_lossy();
        if key_s.starts_with("CARGO_") && key_s != "CARGO_HOME" && key_s != "CARGO_TARGET_DIR" {
            build.env_remove(&key);
        }
    }
    run(&mut build, "cargo build -p boarding-desk")?;

    let binary = target_dir().join("debug").join(APP_PACKAGE);
    if !binary.is_file() {
        bail!("the build finished but {} does not exist", binary.display());
    }
    Ok(binary)
}

fn run(cmd: &mut Command, what: &str) -> Result<()> {
    let out = cmd.output().with_context(|| format!("running {what}"))?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

fn tauri_driver() -> Result<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join("tauri-driver"));
    let in_cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|home| home.join("bin").join("tauri-driver"));
    on_path
        .chain(in_cargo_home)
        .find(|p| p.is_file())
        .ok_or_else(|| {
            anyhow!("tauri-driver not found: `cargo install tauri-driver --version ^2 --locked` (make test does)")
        })
}

/// Starts a private Xvfb and returns its display name (`:N`, chosen by Xvfb itself).
fn start_xvfb() -> Result<(String, Guarded)> {
    let mut child = Command::new("Xvfb")
        .args([
            "-displayfd",
            "1",
            "-screen",
            "0",
            "1280x800x24",
            "-nolisten",
            "tcp",
            "-noreset",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("starting Xvfb (apt-get install xvfb; make test does)")?;
    let stdout = child.stdout.take().context("Xvfb stdout")?;
    let guard = Guarded::new("Xvfb", child, Duration::from_secs(2));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(WAIT)
        .map_err(|_| anyhow!("Xvfb did not report a display within {WAIT:?}"))?;
    let number: u32 = line
        .trim()
        .parse()
        .with_context(|| format!("Xvfb reported {line:?} as its display"))?;
    Ok((format!(":{number}"), guard))
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn wait_for_port(port: u16, process: &mut Guarded) -> Result<()> {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        if !process.is_running() {
            let status = process.child_mut().wait()?;
            bail!("{} exited early ({status}); see its log", process.name());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!(
        "{} did not listen on port {port} within {WAIT:?}",
        process.name()
    )
}
