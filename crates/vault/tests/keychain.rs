//! Issue 16, item 7: sign-ins bound to the desk's OS keychain, against a real GNOME Keyring on
//! a private session bus (`testkit::keychain`).
//!
//! libdbus reads the session bus's address once per process, so each desk of the story (this
//! one, one with no keychain, another desk's) is a process of its own: this binary (no test
//! harness) runs itself once per phase with that desk's bus, and fails if any phase does.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use desk_vault::{attacker, Vault, VaultError};
use domain::Role;
use testkit::keychain::{self, Keychain};
use testkit::vault::{at, code_at, created, password, sign_in_admin, t0, username};
use testkit::{policy, ADMIN, PASSWORD};

const PHASE: &str = "DESK_KEYCHAIN_TEST_PHASE";
const FOLDER: &str = "DESK_KEYCHAIN_TEST_FOLDER";

fn keyring_json(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join(desk_vault::KEYRING_FILE)).unwrap()).unwrap()
}

fn write_keyring(dir: &Path, ring: &serde_json::Value) {
    std::fs::write(
        dir.join(desk_vault::KEYRING_FILE),
        serde_json::to_vec(ring).unwrap(),
    )
    .unwrap();
}

fn bound_slots(dir: &Path) -> usize {
    keyring_json(dir)["slots"]
        .as_object()
        .unwrap()
        .values()
        .filter(|s| s.get("bound").is_some())
        .count()
}

fn actions(vault: &Vault) -> Vec<String> {
    vault
        .audit_entries(200, None)
        .unwrap()
        .into_iter()
        .map(|e| format!("{} {} {}", e.actor, e.action, e.outcome))
        .collect()
}

fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for file in Vault::files(from) {
        if file.exists() {
            std::fs::copy(&file, to.join(file.file_name().unwrap())).unwrap();
        }
    }
}

/// What the phases share: the folders and the test users' secrets (test data only).
struct Story {
    root: PathBuf,
}

impl Story {
    fn vault(&self) -> PathBuf {
        self.root.join("vault")
    }
    fn copy(&self) -> PathBuf {
        self.root.join("copy")
    }
    fn forged(&self) -> PathBuf {
        self.root.join("forged")
    }
    fn remember(&self, name: &str, value: &str) {
        std::fs::write(self.root.join(name), value).unwrap();
    }
    fn recall(&self, name: &str) -> String {
        std::fs::read_to_string(self.root.join(name)).unwrap()
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        // What a harness lists; the story itself runs only when asked to run.
        println!("keychain: test");
        return;
    }
    if let Ok(phase) = std::env::var(PHASE) {
        let story = Story {
            root: PathBuf::from(std::env::var_os(FOLDER).unwrap()),
        };
        match phase.as_str() {
            "bind" => bind(&story),
            "elsewhere" => elsewhere(&story),
            "other_desk" => other_desk(&story),
            "forged" => forged(&story),
            "reset" => reset(&story),
            "off" => off(&story),
            "no_keychain" => no_keychain(&story),
            other => panic!("no phase {other}"),
        }
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let device = root.path().join("device");
    let desk = Keychain::start();
    let other = Keychain::start();
    // Each desk keeps its own state folder (`device.rs`): the attacker's machines are not
    // this desk.
    let run = |phase: &str, bus: &str, desk_state: &str| {
        let status = Command::new(std::env::current_exe().unwrap())
            .env(PHASE, phase)
            .env(FOLDER, root.path())
            .env("DBUS_SESSION_BUS_ADDRESS", bus)
            .env("BOARDING_DESK_DEVICE_DIR", device.join(desk_state))
            .status()
            .unwrap();
        assert!(status.success(), "phase {phase} failed");
        println!("test keychain::{phase} ... ok");
    };
    run("bind", desk.address(), "desk");
    run("forged", desk.address(), "desk");
    run("reset", desk.address(), "desk");
    run("elsewhere", &keychain::nowhere(), "attacker");
    run("other_desk", other.address(), "other desk");
    run("off", desk.address(), "desk");
    run("no_keychain", &keychain::nowhere(), "desk");
    println!("\ntest result: ok. 7 phases of the keychain binding passed");
}

/// On this desk: off by default; an admin turns it on with their own password; uma is bound at
/// her next sign-in; the recovery key never is.
fn bind(story: &Story) {
    let dir = story.vault();
    std::fs::create_dir_all(&dir).unwrap();
    let (created, secret) = created(&dir);
    let (_, uma_password) = created
        .vault
        .create_user(ADMIN, &username("uma"), Role::Underwriter, t0())
        .unwrap();
    story.remember("totp", &secret);
    story.remember("uma", uma_password.expose());

    let status = created.vault.keychain_status().unwrap();
    assert_eq!(status.binding, "never");
    assert_eq!(status.unavailable, None, "the test keychain answers");
    assert_eq!((status.bound, status.members), (0, 2));

    assert!(matches!(
        created
            .vault
            .set_keychain_binding(ADMIN, "not my password 42", true, at(1)),
        Err(VaultError::BadCredentials)
    ));
    assert_eq!(bound_slots(&dir), 0, "a refused change changes nothing");
    let status = created
        .vault
        .set_keychain_binding(ADMIN, PASSWORD, true, at(1))
        .unwrap();
    assert_eq!(status.binding, "on");
    assert!(status.secret_here && status.you_bound);
    assert_eq!(
        (status.bound, status.members),
        (1, 2),
        "the admin at once, uma at her next sign-in"
    );
    let ring = keyring_json(&dir);
    assert!(ring["slots"]["recovery"].is_object(), "{ring}");
    assert!(
        ring["slots"]["recovery"].get("bound").is_none(),
        "the recovery key is never bound: it is the way in without this desk"
    );
    assert!(actions(&created.vault).contains(&format!("{ADMIN} vault.keychain_binding ok")));
    drop(created);

    drop(sign_in_admin(&dir, &secret, at(2)));
    let (uma, _, _) =
        Vault::sign_in(&dir, "uma", uma_password.expose(), None, policy(), at(3)).unwrap();
    let status = uma.keychain_status().unwrap();
    assert_eq!(status.bound, 2);
    assert!(status.you_bound);
    drop(uma);
    let admin = sign_in_admin(&dir, &secret, at(4));
    assert!(actions(&admin).contains(&"uma auth.keychain_bound ok".to_string()));
    drop(admin);
    copy_folder(&dir, &story.copy());
    copy_folder(&dir, &story.forged());
    copy_folder(&dir, &story.root.join("reset"));
}

/// The admin who signed the choice is given a new password (and so new keys) by another admin:
/// the choice is signed again by that admin and stays believed.
fn reset(story: &Story) {
    let dir = story.root.join("reset");
    let signer = keyring_json(&dir)["keychain"]["signer"].clone();
    let alice = sign_in_admin(&dir, &story.recall("totp"), at(6));
    let (_, ada_password) = alice
        .create_user(ADMIN, &username("ada"), Role::Admin, at(6))
        .unwrap();
    let alice_id = alice.user_by_name(ADMIN).unwrap().unwrap().id;
    assert!(
        matches!(
            alice.reset_password(ADMIN, &alice_id, at(6)),
            Err(VaultError::Conflict(_))
        ),
        "new keys signed by one's own old keys would never verify: refused"
    );
    drop(alice);
    let (ada, _, _) =
        Vault::sign_in(&dir, "ada", ada_password.expose(), None, policy(), at(7)).unwrap();
    assert_eq!(ada.keychain_status().unwrap().bound, 3, "ada bound at once");
    ada.reset_password("ada", &alice_id, at(7)).unwrap();
    let ring = keyring_json(&dir);
    assert_ne!(
        ring["keychain"]["signer"], signer,
        "alice's old key signs nothing now"
    );
    let status = ada.keychain_status().unwrap();
    assert_eq!(status.binding, "on", "signed again by ada: {ring}");
    assert_eq!(status.bound, 3, "alice's new slot is bound too");
}

/// An attacker's copy of the folder with both passwords, on a machine without this keychain:
/// nothing opens, and no failed attempt is counted (the password was never tried).
fn elsewhere(story: &Story) {
    let copy = story.copy();
    let (secret, uma) = (story.recall("totp"), story.recall("uma"));
    let attempts = keyring_json(&copy)["attempts"].clone();
    let refused = Vault::sign_in(
        &copy,
        ADMIN,
        PASSWORD,
        Some(&code_at(&secret, at(5))),
        policy(),
        at(5),
    );
    let Err(VaultError::Keychain(why)) = &refused else {
        panic!(
            "a bound sign-in without the keychain is refused for it: {:?}",
            refused.map(|_| ())
        )
    };
    assert!(why.contains("session bus"), "{why}");
    assert!(matches!(
        attacker::with_password(&copy, "uma", &uma),
        Err(VaultError::Keychain(_))
    ));
    assert_eq!(keyring_json(&copy)["attempts"], attempts);
}

/// Another desk's keychain does not hold the secret; deleting the slots' binding from
/// keyring.json does not help either (the key needs the secret).
fn other_desk(story: &Story) {
    let copy = story.copy();
    let uma = story.recall("uma");
    let refused = attacker::with_password(&copy, "uma", &uma);
    let Err(VaultError::Keychain(why)) = &refused else {
        panic!("another desk's keychain does not open a bound slot")
    };
    assert!(why.contains("does not hold"), "{why}");

    let mut ring = keyring_json(&copy);
    for slot in ring["slots"].as_object_mut().unwrap().values_mut() {
        slot.as_object_mut().unwrap().remove("bound");
    }
    write_keyring(&copy, &ring);
    assert!(matches!(
        attacker::with_password(&copy, "uma", &uma),
        Err(VaultError::BadCredentials)
    ));
    let secret = story.recall("totp");
    assert!(matches!(
        Vault::sign_in(
            &copy,
            ADMIN,
            PASSWORD,
            Some(&code_at(&secret, at(5))),
            policy(),
            at(5)
        ),
        Err(VaultError::BadCredentials)
    ));
}

/// A choice edited in keyring.json ("off", so members would be unbound) or deleted from it is
/// not believed: the sign-in says so in the audit log, a password change keeps the slot bound,
/// a new member is refused until an admin chooses again, and every slot stays bound.
fn forged(story: &Story) {
    let forged = story.forged();
    let mut ring = keyring_json(&forged);
    ring["keychain"]["on"] = serde_json::Value::Bool(false);
    write_keyring(&forged, &ring);
    let vault = sign_in_admin(&forged, &story.recall("totp"), at(6));
    assert_eq!(vault.keychain_status().unwrap().binding, "forged");
    assert!(actions(&vault).contains(&format!("{ADMIN} vault.keychain_forged failed")));
    let admin = vault.user_by_name(ADMIN).unwrap().unwrap();
    vault
        .change_password(&admin.id, &password("quiet river stones 7", ADMIN), at(6))
        .unwrap();
    assert_eq!(
        bound_slots(&forged),
        2,
        "a password change keeps the binding"
    );
    vault
        .create_user(ADMIN, &username("vic"), Role::Underwriter, at(6))
        .unwrap();
    drop(vault);
    assert_eq!(bound_slots(&forged), 2, "nothing unbound, nobody new bound");

    let mut ring = keyring_json(&forged);
    ring.as_object_mut().unwrap().remove("keychain");
    write_keyring(&forged, &ring);
    let (vault, _, _) =
        Vault::sign_in(&forged, "uma", &story.recall("uma"), None, policy(), at(7)).unwrap();
    assert_eq!(
        vault.keychain_status().unwrap().binding,
        "forged",
        "no choice while slots are bound: it was deleted"
    );
    drop(vault);
    assert_eq!(bound_slots(&forged), 2);
}

/// Turned off: the admin is unbound at once, uma at her next sign-in; the desk's secret stays
/// in the keychain. An older signed "off" put back later unbinds nobody bound since.
fn off(story: &Story) {
    let dir = story.vault();
    let secret = story.recall("totp");
    let admin = sign_in_admin(&dir, &secret, at(7));
    // The slots as bound at the start (before the "off" below), for the attacker to put back.
    let early = keyring_json(&dir);
    let id = early["keychain"]["secret"].clone();
    let again = admin
        .set_keychain_binding(ADMIN, PASSWORD, true, at(8))
        .unwrap();
    assert_eq!(again.bound, 2);
    let ring = keyring_json(&dir);
    assert_eq!(
        ring["keychain"]["secret"], id,
        "turning it on again keeps the secret"
    );
    for (name, slot) in ring["slots"].as_object().unwrap() {
        if name != "recovery" {
            assert_eq!(slot["bound"], id, "{name}");
        }
    }
    let status = admin
        .set_keychain_binding(ADMIN, PASSWORD, false, at(8))
        .unwrap();
    assert_eq!(status.binding, "off");
    assert_eq!(status.bound, 1);
    assert!(!status.you_bound);
    drop(admin);
    let (uma, _, _) =
        Vault::sign_in(&dir, "uma", &story.recall("uma"), None, policy(), at(9)).unwrap();
    let status = uma.keychain_status().unwrap();
    assert_eq!(
        (status.bound, status.secret_here),
        (0, true),
        "the secret stays: archives taken while bound need it"
    );
    drop(uma);
    assert_eq!(bound_slots(&dir), 0);

    let old_off = keyring_json(&dir)["keychain"].clone();
    let admin = sign_in_admin(&dir, &secret, at(10));
    admin
        .set_keychain_binding(ADMIN, PASSWORD, true, at(10))
        .unwrap();
    drop(admin);
    // An older signed "off" put back, with the slots from before it (bound before that off, so
    // it alone would unbind them): this desk saw a newer choice, so neither counts.
    let mut ring = keyring_json(&dir);
    ring["keychain"] = old_off;
    for (name, slot) in early["slots"].as_object().unwrap() {
        if slot["bound"] == id {
            ring["slots"][name.as_str()] = slot.clone();
        }
    }
    write_keyring(&dir, &ring);
    let admin = sign_in_admin(&dir, &secret, at(11));
    let status = admin.keychain_status().unwrap();
    assert_eq!(
        status.binding, "forged",
        "a genuine choice, older than one this desk believed: put back"
    );
    assert!(
        status.you_bound,
        "bound after that choice: not unbound by it"
    );
    let alice = admin.user_by_name(ADMIN).unwrap().unwrap();
    admin
        .change_password(&alice.id, &password(PASSWORD, ADMIN), at(11))
        .unwrap();
    assert!(
        admin.keychain_status().unwrap().you_bound,
        "nor by a password change"
    );
    // Making the slot look bound before that choice (its time deleted) makes it not open.
    let mut ring = keyring_json(&dir);
    for slot in ring["slots"].as_object_mut().unwrap().values_mut() {
        slot.as_object_mut().unwrap().remove("bound_at");
    }
    let edited = story.root.join("edited");
    copy_folder(&dir, &edited);
    write_keyring(&edited, &ring);
    assert!(matches!(
        attacker::with_password(&edited, ADMIN, PASSWORD),
        Err(VaultError::BadCredentials)
    ));
    let status = admin
        .set_keychain_binding(ADMIN, PASSWORD, false, at(11))
        .unwrap();
    assert!(!status.you_bound);
    drop(admin);
    assert_eq!(
        bound_slots(&dir),
        1,
        "uma's slot put back: bound until her next sign-in"
    );
    drop(Vault::sign_in(&dir, "uma", &story.recall("uma"), None, policy(), at(12)).unwrap());
    assert_eq!(bound_slots(&dir), 0);
}

/// Unbound, sign-ins work on a desk without a keychain; there it cannot be turned on.
fn no_keychain(story: &Story) {
    let dir = story.vault();
    let admin = sign_in_admin(&dir, &story.recall("totp"), at(12));
    let status = admin.keychain_status().unwrap();
    assert!(status.unavailable.is_some());
    assert!(matches!(
        admin.set_keychain_binding(ADMIN, PASSWORD, true, at(13)),
        Err(VaultError::Keychain(_))
    ));
    assert!(actions(&admin).contains(&"uma auth.keychain_unbound ok".to_string()));
}
