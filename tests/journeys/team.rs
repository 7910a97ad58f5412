//! Issue 17: a team store holds only ciphertext. Whoever reads the PostgreSQL database (a
//! DBA, a backup, a leaked dump) learns no KYC value: not the legal name or DBA (sealed, and
//! searched through keyed tokens), not who a screening hit was about, not a note, not a
//! blocklisted identifier.

use api::auth::SetupInput;
use api::intake::{self, demo, SaveDraft};
use api::review::{self, DecideInput};
use api::session::Stage;
use api::{screening, DataDir, SessionSlot};
use testkit::postgres::Cluster;

use crate::auth::{code_now, policy};

/// Every way `value` could sit in a dump: as typed, upper- and lower-cased (search keys are
/// folded), and with its separators dropped (identifiers are stored as digits).
fn forms_of(value: &str) -> Vec<String> {
    let digits: String = value.chars().filter(char::is_ascii_alphanumeric).collect();
    let mut forms = vec![value.to_lowercase(), digits.to_lowercase()];
    forms.retain(|f| f.len() >= 5);
    forms.dedup();
    forms
}

/// The lines of `dump` (lower-cased) that hold `needle`, with the table each belongs to.
fn leaks(dump: &str, needle: &str) -> Vec<String> {
    let mut table = "";
    let mut found = Vec::new();
    for line in dump.lines() {
        if line.starts_with("copy ") {
            table = line.split_whitespace().nth(1).unwrap_or("");
        }
        if line.contains(needle) {
            found.push(format!("{table}: {needle}"));
        }
    }
    found
}

#[test]
fn a_dump_of_the_team_store_holds_no_kyc_value() {
    let cluster = Cluster::shared();
    let db = cluster.fresh_team_database();
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::open(tmp.path()).unwrap();
    let mut admin = SessionSlot::new();
    let out = api::team::create(
        &dir,
        &db.app,
        SetupInput {
            username: testkit::ADMIN.into(),
            password: testkit::PASSWORD.into(),
        },
        &mut admin,
        policy(),
    )
    .unwrap();
    let secret = out.session.enrolment.unwrap().secret;
    let info = api::auth::confirm_totp(&mut admin, &code_now(&secret)).unwrap();
    assert_eq!(info.stage, Stage::Ready);
    // Without the shared lists (a clone outside the project's folder) there is no hit to
    // disposition; everything else is still checked.
    let lists = crate::screening::sanctions("ofac-small");
    if let Some(small) = &lists {
        screening::import_lists(&mut admin, small).unwrap();
    }

    let mut form = demo::generate(1, 17).remove(0);
    form.business.legal_name = "Zyxwvut Quokka Holdings LLC".into();
    form.business.dba = "Marzipanovich Bakery".into();
    form.business.ein = "12-9876543".into();
    form.business.email = "books@quokka-holdings.example".into();
    form.business.phone = "+1 415 555 0199".into();
    form.business.address.line1 = "4471 Thistlewood Lane".into();
    form.bank.account_number = "987654321012".into();
    form.bank.holder_name = "Zyxwvut Quokka Holdings".into();
    let owner = form.people.iter_mut().find(|p| !p.is_control);
    let owner = owner.unwrap_or_else(|| unreachable!("the demo form has an owner"));
    owner.first_name = "Quintessa".into();
    owner.last_name = "Bramblethorpe".into();
    owner.ssn = "536-22-8471".into();
    owner.email = "quintessa@bramblethorpe.example".into();
    let control = form.people.iter_mut().find(|p| p.is_control).unwrap();
    // The listed SDN LOGAN MOREY, Elvis Angus: the lists themselves are public and stored in
    // clear, so the name is looked for only where it would tie this applicant to the listing.
    control.first_name = "Elvis Angus".into();
    control.last_name = "Logan Morey".into();
    control.dob = "1963-07-28".into();

    let view = intake::save_draft(
        &mut admin,
        SaveDraft {
            id: None,
            version: None,
            form,
        },
    )
    .unwrap();
    let id = view.summary.id.clone();
    intake::submit(&mut admin, &id, view.summary.version).unwrap();
    review::add_note(
        &mut admin,
        &id,
        "Spoke with Quintessa about the Thistlewood lease",
    )
    .unwrap();
    let hits = screening::hits(&mut admin, &id).unwrap();
    assert_eq!(
        !hits.is_empty(),
        lists.is_some(),
        "the listed control person is a hit"
    );
    for hit in &hits {
        screening::dispose_hit(
            &mut admin,
            &hit.id,
            "false_positive",
            "Not Elvis Angus: Bramblethorpe's passport differs",
        )
        .unwrap();
    }
    let version = review::assign_to_me(&mut admin, &id, false)
        .unwrap()
        .version;
    // The queue finds it by the start of any word; a word longer than the tokens go (8
    // characters) is looked up by its first 8 and compared on the desk.
    let in_queue = |slot: &mut SessionSlot, text: &str| {
        let page = review::queue(
            slot,
            review::QueueQuery {
                filter: api::views::QueueFilter {
                    name_prefix: Some(text.into()),
                    ..Default::default()
                },
                ..Default::default()
            },
        )
        .unwrap();
        let names: Vec<String> = page.items.iter().map(|r| r.legal_name.clone()).collect();
        (page.total, names)
    };
    let quokka = vec!["Zyxwvut Quokka Holdings LLC".to_string()];
    assert_eq!(in_queue(&mut admin, "hold quo"), (1, quokka.clone()));
    assert_eq!(in_queue(&mut admin, "MARZIPANOVICH"), (1, quokka.clone()));
    assert_eq!(in_queue(&mut admin, "marzipanovichi"), (0, vec![]));
    assert_eq!(in_queue(&mut admin, "quokka inc"), (0, vec![]));
    review::decide(
        &mut admin,
        DecideInput {
            id: id.clone(),
            version,
            decision: "decline".into(),
            reasons: vec!["credit_risk".into()],
            note: "Quokka's bank statements for Marzipanovich were not enough".into(),
            fields: Vec::new(),
            blocklist: true,
            blocklist_basis: Some("fraud_prevention".into()),
            confirmed_hits: Vec::new(),
        },
    )
    .unwrap();
    // The desk still finds it by name: search runs on keyed tokens, not on the name.
    let found = intake::list_applications(
        &mut admin,
        &api::intake::ListQuery {
            search: Some("quokka".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(found.total, 1);
    assert_eq!(found.items[0].legal_name, "Zyxwvut Quokka Holdings LLC");
    admin.lock().unwrap();

    let dump = String::from_utf8_lossy(&cluster.dump(&db.name)).to_lowercase();
    assert!(
        dump.lines()
            .any(|l| l.starts_with("copy ") && l.contains(".applications (")),
        "the dump holds the data: {}",
        dump.lines()
            .filter(|l| l.starts_with("copy "))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let everywhere = [
        "Zyxwvut Quokka",
        "Marzipanovich",
        "12-9876543",
        "books@quokka-holdings.example",
        "415 555 0199",
        "4155550199",
        "Thistlewood",
        "987654321012",
        "Quintessa",
        "Bramblethorpe",
        "536-22-8471",
    ];
    let mut found = Vec::new();
    for value in everywhere {
        for form in forms_of(value) {
            found.extend(leaks(&dump, &form));
        }
    }
    // The search finds what is there: the application's id is clear, and the lists are
    // public and stored as they are.
    assert!(
        !leaks(&dump, &id.to_lowercase()).is_empty(),
        "the id is in the dump"
    );
    assert_eq!(
        !leaks(&dump, "logan morey").is_empty(),
        lists.is_some(),
        "the listed name is in the lists"
    );
    // The listed name, where it would say who applied: anywhere but the lists.
    for form in ["elvis angus", "logan morey"] {
        found.extend(
            leaks(&dump, form)
                .into_iter()
                .filter(|l| !l.contains(".sanctions_entries:")),
        );
    }
    found.sort();
    found.dedup();
    assert!(
        found.is_empty(),
        "the team store holds in clear: {found:#?}"
    );
}
