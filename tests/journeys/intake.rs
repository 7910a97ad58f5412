use api::intake::{self, demo, import, ListQuery, SaveDraft};
use api::{Code, DataDir, SessionSlot};
use domain::intake::{ApplicationForm, ApplicationStatus};

use crate::auth::{setup, signed_in_user};

fn admin() -> (tempfile::TempDir, DataDir, SessionSlot) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::open(tmp.path()).unwrap();
    let mut slot = SessionSlot::new();
    setup(&dir, &mut slot);
    (tmp, dir, slot)
}

fn sample() -> ApplicationForm {
    demo::generate(1, 11).remove(0)
}

fn audit_actions(slot: &mut SessionSlot) -> Vec<(String, Option<String>)> {
    api::audit_log::list_audit(slot, None, 200)
        .unwrap()
        .entries
        .into_iter()
        .map(|e| (e.action, e.detail))
        .collect()
}

#[test]
fn a_draft_is_saved_step_by_step_resumed_masked_and_submitted() {
    let (_tmp, dir, mut admin) = admin();
    let mut uw = signed_in_user(&dir, &mut admin, "uma", "underwriter");
    let full = sample();

    // Step 1: the business only.
    let mut form = ApplicationForm {
        business: full.business.clone(),
        ..ApplicationForm::default()
    };
    let view = intake::save_draft(
        &mut uw,
        SaveDraft {
            id: None,
            version: None,
            form: form.clone(),
        },
    )
    .unwrap();
    let id = view.summary.id.clone();
    assert_eq!(view.summary.status, ApplicationStatus::Draft);
    assert!(
        !view.missing.is_empty(),
        "people, bank and terms are still missing"
    );
    if !full.business.ein.is_empty() {
        assert!(
            view.form.business.ein.starts_with("••-"),
            "the EIN comes back masked"
        );
    }

    // Step 2: people and bank, resuming from the masked view (masked values are kept).
    form = view.form.clone();
    form.people = full.people.clone();
    form.bank = full.bank.clone();
    let view = intake::save_draft(
        &mut uw,
        SaveDraft {
            id: Some(id.clone()),
            version: Some(view.summary.version),
            form,
        },
    )
    .unwrap();
    assert_eq!(view.summary.version, 2);
    assert!(view.form.people[0].ssn.starts_with("•••-••-"));

    // Submitting without the terms names what is missing, and changes nothing.
    let err = intake::submit(&mut uw, &id, 2).unwrap_err();
    assert_eq!(err.code(), Code::InvalidInput);
    assert!(err
        .field_issues()
        .iter()
        .any(|f| f.field == "terms.accepted_at"));
    assert!(!err.message().contains(&full.people[0].last_name));

    // A stale version is a conflict, not a lost update.
    let mut form = view.form.clone();
    form.terms = full.terms.clone();
    let err = intake::save_draft(
        &mut uw,
        SaveDraft {
            id: Some(id.clone()),
            version: Some(1),
            form: form.clone(),
        },
    )
    .unwrap_err();
    assert_eq!(err.code(), Code::Conflict);
    let view = intake::save_draft(
        &mut uw,
        SaveDraft {
            id: Some(id.clone()),
            version: Some(2),
            form,
        },
    )
    .unwrap();
    assert!(view.missing.is_empty(), "{:?}", view.missing);

    // The stored values are the real ones, not the masks.
    let ssn = intake::reveal(&mut uw, &id, "people[0].ssn").unwrap();
    assert_eq!(
        ssn,
        domain::intake::Ssn::parse(&full.people[0].ssn)
            .unwrap()
            .to_string()
    );

    let view = intake::submit(&mut uw, &id, view.summary.version).unwrap();
    assert_eq!(view.summary.status, ApplicationStatus::Submitted);
    assert_eq!(view.history.len(), 2);
    let err = intake::save_draft(
        &mut uw,
        SaveDraft {
            id: Some(id.clone()),
            version: Some(view.summary.version),
            form: view.form.clone(),
        },
    )
    .unwrap_err();
    assert_eq!(
        err.code(),
        Code::Conflict,
        "a submitted application is no longer editable"
    );

    let actions = audit_actions(&mut admin);
    assert!(actions.contains(&("application.reveal".into(), Some("people[0].ssn".into()))));
    assert!(actions.iter().any(|(a, _)| a == "application.submit"));
}

#[test]
fn bad_input_is_refused_field_by_field_with_nothing_written() {
    let (_tmp, _dir, mut admin) = admin();
    let mut form = sample();
    form.business.ein = "00-1234567".into();
    form.people[0].ssn = "666-12-3456".into();
    form.business.legal_name = "x".repeat(1 << 20);
    let err = intake::save_draft(
        &mut admin,
        SaveDraft {
            id: None,
            version: None,
            form,
        },
    )
    .unwrap_err();
    let fields: Vec<&str> = err
        .field_issues()
        .iter()
        .map(|f| f.field.as_str())
        .collect();
    assert_eq!(
        fields,
        ["business.legal_name", "business.ein", "people[0].ssn"]
    );
    assert!(!err.message().contains("666-12") && !err.message().contains("xxxx"));
    let page = intake::list_applications(&mut admin, &ListQuery::default()).unwrap();
    assert_eq!(page.total, 0, "nothing half-written");

    let mut masked_new = sample();
    masked_new.business.ein = "••-•••1234".into();
    let err = intake::save_draft(
        &mut admin,
        SaveDraft {
            id: None,
            version: None,
            form: masked_new,
        },
    )
    .unwrap_err();
    assert_eq!(err.code(), Code::InvalidInput);
}

#[test]
fn auditors_read_masked_data_but_cannot_reveal_or_write() {
    let (_tmp, dir, mut admin) = admin();
    let view = intake::save_draft(
        &mut admin,
        SaveDraft {
            id: None,
            version: None,
            form: sample(),
        },
    )
    .unwrap();
    let mut auditor = signed_in_user(&dir, &mut admin, "audrey", "auditor");
    let seen = intake::get_application(&mut auditor, &view.summary.id).unwrap();
    assert!(!seen.can_reveal);
    assert_eq!(
        intake::reveal(&mut auditor, &view.summary.id, "people[0].ssn")
            .unwrap_err()
            .code(),
        Code::Forbidden
    );
    assert_eq!(
        intake::save_draft(
            &mut auditor,
            SaveDraft {
                id: None,
                version: None,
                form: sample()
            }
        )
        .unwrap_err()
        .code(),
        Code::Forbidden
    );
    let err = intake::reveal(&mut admin, &view.summary.id, "business.legal_name").unwrap_err();
    assert_eq!(
        err.code(),
        Code::InvalidInput,
        "only sensitive fields are revealed"
    );
    let mut locked = SessionSlot::new();
    assert_eq!(
        intake::list_applications(&mut locked, &ListQuery::default())
            .unwrap_err()
            .code(),
        Code::Unauthorized
    );
}

#[test]
fn import_keeps_good_rows_reports_bad_ones_and_lists_search_them() {
    let (_tmp, _dir, mut admin) = admin();
    let forms = demo::generate(30, 5);
    let csv = String::from_utf8(import::to_csv(&forms)).unwrap();
    let mut lines: Vec<String> = csv.lines().map(str::to_string).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let routing = header
        .iter()
        .position(|c| *c == "bank_routing_number")
        .unwrap();
    let mut cells: Vec<String> = lines[5].split(',').map(str::to_string).collect();
    cells[routing] = "021000022".into();
    lines[5] = cells.join(",");
    lines.insert(9, "too,few".into());
    let mut seen = Vec::new();
    let report = import::import(
        &mut admin,
        "batch.csv",
        lines.join("\n").as_bytes(),
        &mut |p| seen.push(p.done),
    )
    .unwrap();
    assert_eq!(
        (report.rows, report.imported, report.rejected_rows),
        (31, 29, 2)
    );
    assert_eq!(report.errors[0].row, 5);
    assert_eq!(report.errors[0].field, "bank_routing_number");
    assert!(report.errors[0].reason.contains("checksum"));
    assert_eq!(report.errors[1].row, 9);
    assert_eq!(seen.last(), Some(&31), "progress reaches the total");

    let page = intake::list_applications(
        &mut admin,
        &ListQuery {
            status: Some("submitted".into()),
            limit: Some(10),
            ..ListQuery::default()
        },
    )
    .unwrap();
    assert_eq!(page.total, 29);
    assert_eq!(page.items.len(), 10);
    let next = intake::list_applications(
        &mut admin,
        &ListQuery {
            status: Some("submitted".into()),
            limit: Some(10),
            after: page.next.clone(),
            ..ListQuery::default()
        },
    )
    .unwrap();
    assert!(next
        .items
        .iter()
        .all(|s| !page.items.iter().any(|p| p.id == s.id)));

    let with_ein = forms.iter().find(|f| !f.business.ein.is_empty()).unwrap();
    let by_ein = intake::list_applications(
        &mut admin,
        &ListQuery {
            search: Some(with_ein.business.ein.clone()),
            ..ListQuery::default()
        },
    )
    .unwrap();
    assert_eq!(by_ein.items[0].legal_name, with_ein.business.legal_name);
    let prefix: String = forms[0].business.dba.chars().take(6).collect();
    let by_name = intake::list_applications(
        &mut admin,
        &ListQuery {
            search: Some(prefix.to_lowercase()),
            ..ListQuery::default()
        },
    )
    .unwrap();
    assert!(by_name.total >= 1);

    let err = intake::list_applications(
        &mut admin,
        &ListQuery {
            status: Some("nope".into()),
            ..ListQuery::default()
        },
    )
    .unwrap_err();
    assert_eq!(err.message(), "status: is not an application status");
    let today = time::OffsetDateTime::now_utc().date();
    let day = |d: time::Date| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day());
    let mut in_range = |from: time::Date, to: time::Date| {
        let query = ListQuery {
            created_from: Some(day(from)),
            created_to: Some(day(to)),
            ..ListQuery::default()
        };
        intake::list_applications(&mut admin, &query).unwrap().total
    };
    assert_eq!(
        in_range(today, today),
        29,
        "both ends of the range are inclusive days"
    );
    let yesterday = today.previous_day().unwrap();
    assert_eq!(in_range(yesterday, yesterday), 0);
    let query = ListQuery {
        created_from: Some("25/11/2026".into()),
        ..ListQuery::default()
    };
    let err = intake::list_applications(&mut admin, &query).unwrap_err();
    assert_eq!(err.message(), "created_from: must be a date as YYYY-MM-DD");
    let err = import::import(
        &mut admin,
        "x.csv",
        b"legal_name,nonsense_column\n",
        &mut |_| {},
    )
    .unwrap_err();
    assert!(err.message().contains("unknown column nonsense_column"));
    assert!(audit_actions(&mut admin).contains(&(
        "application.import".into(),
        Some("29 imported, 2 rejected of 31".into())
    )));
}

#[test]
fn documents_are_checked_by_content_sealed_and_their_views_audited() {
    let (_tmp, _dir, mut admin) = admin();
    let view = intake::save_draft(
        &mut admin,
        SaveDraft {
            id: None,
            version: None,
            form: sample(),
        },
    )
    .unwrap();
    let id = view.summary.id;
    let png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR rest of a tiny image".to_vec();
    let meta = intake::add_document(
        &mut admin,
        &id,
        "voided_check",
        "C:\\scans\\check.png",
        &png,
    )
    .unwrap();
    assert_eq!(meta.media_type, "image/png");
    assert_eq!(meta.file_name, "check.png");

    let exe = b"MZ\x90\x00 not a pdf".to_vec();
    let err = intake::add_document(&mut admin, &id, "articles", "articles.pdf", &exe).unwrap_err();
    assert_eq!(err.message(), "file: must be a PDF, PNG or JPEG file");
    let mut huge = b"%PDF-1.7\n".to_vec();
    huge.resize(10 * 1024 * 1024 + 1, b' ');
    let err = intake::add_document(&mut admin, &id, "articles", "big.pdf", &huge).unwrap_err();
    assert_eq!(err.message(), "file: must be at most 10 MB");
    let err = intake::add_document(&mut admin, &id, "selfie", "a.png", &png).unwrap_err();
    assert!(err.message().starts_with("kind:"));

    let (got, content) = intake::document_content(&mut admin, &meta.id).unwrap();
    assert_eq!(got.id, meta.id);
    assert_eq!(content.as_slice(), png.as_slice());
    let view = intake::get_application(&mut admin, &id).unwrap();
    assert_eq!(view.documents.len(), 1);
    intake::delete_document(&mut admin, &meta.id).unwrap();
    assert!(intake::get_application(&mut admin, &id)
        .unwrap()
        .documents
        .is_empty());
    let actions = audit_actions(&mut admin);
    assert!(actions.contains(&("document.view".into(), Some(meta.id.clone()))));
    assert!(actions.contains(&("document.delete".into(), Some(meta.id))));
}

/// The sample files in docs/ are what docs/IMPORT.md tells people to copy: they must import.
/// The import checks and seals on a second thread while the first stores (batches of 1,000):
/// rows, errors and progress still line up across batches, and a broken file stores nothing.
#[test]
fn a_large_import_keeps_row_numbers_and_progress_across_batches() {
    let (_tmp, _dir, mut admin) = admin();
    let csv = String::from_utf8(demo::csv(1_203, 11)).unwrap();
    let mut lines: Vec<String> = csv.lines().map(str::to_string).collect();
    lines[2] = "short,row".into();
    lines[1_100] = "another,short,row".into();
    let mut seen = Vec::new();
    let report = import::import(
        &mut admin,
        "big.csv",
        lines.join("\n").as_bytes(),
        &mut |p| seen.push((p.done, p.total)),
    )
    .unwrap();
    assert_eq!(
        (report.rows, report.imported, report.rejected_rows),
        (1_203, 1_201, 2)
    );
    let rows: Vec<usize> = report.errors.iter().map(|e| e.row).collect();
    assert_eq!(rows, [2, 1_100], "row numbers survive the batching");
    assert_eq!(
        seen,
        [(1_000, 1_203), (1_203, 1_203)],
        "one progress report per stored batch"
    );
    let stored = intake::list_applications(&mut admin, &ListQuery::default())
        .unwrap()
        .total;
    assert_eq!(stored, 1_201);

    // A file-level problem (a missing column) is found before any batch is stored.
    let header = lines[0].replace("legal_name,", "");
    let broken = [header.as_str(), lines[1].as_str()].join("\n");
    let err = import::import(&mut admin, "broken.csv", broken.as_bytes(), &mut |_| {}).unwrap_err();
    assert_eq!(err.code(), Code::InvalidInput);
    let after = intake::list_applications(&mut admin, &ListQuery::default())
        .unwrap()
        .total;
    assert_eq!(after, 1_201, "nothing of the broken file was stored");
}

#[test]
fn the_documented_samples_import_cleanly() {
    let (_tmp, _dir, mut admin) = admin();
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/samples");
    for name in ["applications.csv", "applications.json"] {
        let report = import::import_file(&mut admin, &docs.join(name), &mut |_| {}).unwrap();
        assert_eq!(report.rejected_rows, 0, "{name}: {:?}", report.errors);
        assert!(report.imported >= 2, "{name}");
    }
}

/// Whatever lands in the data folder (vault, WAL, keyring, logs) holds no KYC value in clear.
#[test]
fn no_kyc_value_reaches_the_data_folder_in_plaintext() {
    let (tmp, _dir, mut admin) = admin();
    let mut form = sample();
    form.business.legal_name = "Zyxwvut Quokka Holdings LLC".into();
    form.people[0].first_name = "Quintessa".into();
    form.people[0].ssn = "536-22-8471".into();
    form.business.ein = "12-9876543".into();
    form.bank.account_number = "987654321012".into();
    let view = intake::save_draft(
        &mut admin,
        SaveDraft {
            id: None,
            version: None,
            form,
        },
    )
    .unwrap();
    // A failed save with bad values must not leak them into logs either.
    let mut bad = sample();
    bad.people[0].ssn = "666-77-8888".into();
    let _ = intake::save_draft(
        &mut admin,
        SaveDraft {
            id: None,
            version: None,
            form: bad,
        },
    );
    intake::reveal(&mut admin, &view.summary.id, "people[0].ssn").unwrap();
    admin.lock().unwrap(); // closes the vault: WAL checkpointed or left as it is

    let needles: [&[u8]; 8] = [
        b"Zyxwvut Quokka",
        b"Quintessa",
        b"536-22-8471",
        b"536228471",
        b"987654321012",
        b"12-9876543",
        b"129876543",
        b"666-77-8888",
    ];
    let mut files = vec![tmp.path().to_path_buf()];
    let mut scanned = 0;
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        scanned += 1;
        for needle in needles {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{} holds a KYC value in plaintext",
                path.display()
            );
        }
    }
    assert!(scanned >= 2, "the vault and its keyring were scanned");
}

/// Issue 14: a second application with an EIN, SSN or bank account already in the vault, or
/// earlier in the same file, is imported with a visible "possible duplicate" warning — or
/// skipped when asked — and the warning names the other application, never the value.
#[test]
fn an_identifier_seen_before_is_a_possible_duplicate_warning_or_skipped() {
    let (_tmp, _dir, mut admin) = admin();
    let forms = demo::generate(3, 41);
    let csv = import::to_csv(&forms);
    let first = import::import(&mut admin, "a.csv", &csv, &mut |_| {}).unwrap();
    assert_eq!(first.imported, 3);
    assert!(first.warnings.is_empty(), "{:?}", first.warnings);

    // The same EIN again, in a second file, and twice within it.
    let mut again = demo::generate(2, 42);
    again[0].business.ein = forms[1].business.ein.clone();
    again[1].business.ein = forms[1].business.ein.clone();
    let ein = forms[1].business.ein.clone();
    let report = import::import(&mut admin, "b.csv", &import::to_csv(&again), &mut |_| {}).unwrap();
    assert_eq!(report.imported, 2, "imported, with warnings");
    assert_eq!(report.warnings.len(), 2, "{:?}", report.warnings);
    assert_eq!(report.warnings[0].row, 1);
    assert_eq!(report.warnings[0].identifier, "ein");
    assert!(
        report.warnings[0]
            .message
            .starts_with("possible duplicate of application "),
        "{:?}",
        report.warnings[0]
    );
    assert_eq!(
        report.warnings[1].message, "possible duplicate of row 1 of this file (same EIN)",
        "earlier in the same file"
    );
    let json = serde_json::to_string(&report).unwrap();
    assert!(!json.contains(&ein), "the EIN is never in the report");

    // Across batches of 1,000: row 1,200 shares an EIN with row 3 of the same file.
    let mut many = demo::generate(1_200, 44);
    many[1_199].business.ein = many[2].business.ein.clone();
    let report = import::import(&mut admin, "d.csv", &import::to_csv(&many), &mut |_| {}).unwrap();
    let w = report
        .warnings
        .iter()
        .find(|w| w.row == 1_200)
        .expect("the duplicate in the second batch is found");
    assert_eq!(
        w.message,
        "possible duplicate of row 3 of this file (same EIN)"
    );
    let imported_before_skip = 5 + report.imported;

    // Skipped when asked: the report says so, nothing is stored for them.
    let mut third = demo::generate(1, 43);
    third[0].people[0].ssn = forms[0].people[0].ssn.clone();
    let report = import::import_with(
        &mut admin,
        "c.csv",
        &import::to_csv(&third),
        import::Duplicates::Skip,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!((report.imported, report.skipped_duplicates), (0, 1));
    assert!(report.warnings[0].skipped);
    assert_eq!(report.warnings[0].identifier, "ssn");
    let total = intake::list_applications(&mut admin, &ListQuery::default())
        .unwrap()
        .total;
    assert_eq!(
        total as usize, imported_before_skip,
        "the skipped one is not stored"
    );
}

/// Issue 14: every class of value the hostile-file corpus slipped through is refused with its
/// field named — in CSV and in JSON — and the value never appears in the report.
#[test]
fn hostile_values_are_refused_by_field_in_csv_and_json_without_echo() {
    let (_tmp, _dir, mut admin) = admin();
    type Set = fn(&mut ApplicationForm, &str);
    // (CSV column, JSON path, hostile value, how to put it in a form)
    let classes: &[(&str, &str, &str, Set)] = &[
        (
            "monthly_volume",
            "business_profile.monthly_volume",
            "12,5",
            |f, v| f.business.monthly_volume = v.into(),
        ),
        (
            "owner1_ownership_percent",
            "persons[1].relationship.percent_ownership",
            "24.996",
            |f, v| {
                f.people[0].ownership_percent = v.into();
                f.people[0].is_control = false;
                if let Some(other) = f.people.get_mut(1) {
                    other.is_control = true;
                }
            },
        ),
        ("owner1_dob", "", "1990-+1-+5", |f, v| {
            f.people[0].dob = v.into()
        }),
        (
            "bank_routing_number",
            "external_account.routing_number",
            "800000006",
            |f, v| f.bank.routing_number = v.into(),
        ),
        (
            "bank_routing_number",
            "external_account.routing_number",
            "000000000",
            |f, v| f.bank.routing_number = v.into(),
        ),
        (
            "website",
            "business_profile.url",
            "https://127.0.0.1/",
            |f, v| f.business.website = v.into(),
        ),
        (
            "legal_name",
            "company.name",
            "Acme\u{061C}Holdings",
            |f, v| f.business.legal_name = v.into(),
        ),
        (
            "legal_name",
            "company.name",
            "Acme\u{E0041}\u{E0042}",
            |f, v| f.business.legal_name = v.into(),
        ),
        (
            "owner1_last_name",
            "persons[0].last_name",
            "\u{3164}\u{3164}\u{3164}",
            |f, v| f.people[0].last_name = v.into(),
        ),
        (
            "email",
            "business_profile.support_email",
            "ops\u{202E}x@example.com",
            |f, v| f.business.email = v.into(),
        ),
    ];
    let sample: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../docs/samples/applications.json"),
        )
        .unwrap(),
    )
    .unwrap();
    for (column, json_path, value, set) in classes {
        let mut form = demo::generate(1, 51).remove(0);
        // Two owners so an under-25% owner can step aside as control person.
        form.people.truncate(1);
        let mut second = form.people[0].clone();
        second.id = "p2".into();
        second.first_name = "Second".into();
        second.ssn = "536-22-4411".into();
        second.ownership_percent = "0".into();
        second.is_control = false;
        form.people[0].ownership_percent = "60".into();
        form.people[0].is_control = true;
        form.people.push(second);
        set(&mut form, value);
        let report = import::import(
            &mut admin,
            "hostile.csv",
            &import::to_csv(&[form]),
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(
            report.imported, 0,
            "{column} {value:?} is refused: {report:?}"
        );
        assert!(
            report.errors.iter().any(|e| e.field == *column),
            "{value:?} is refused at {column}: {:?}",
            report.errors
        );
        let shown = serde_json::to_string(&report).unwrap();
        assert!(!shown.contains(value), "{value:?} is never echoed: {shown}");

        if json_path.is_empty() {
            continue; // dates of birth are numbers in the JSON shape
        }
        let mut doc = sample[0].clone();
        let mut node = &mut doc;
        for part in json_path.split('.') {
            node = match part.split_once('[') {
                Some((name, rest)) => {
                    let i: usize = rest.trim_end_matches(']').parse().unwrap();
                    &mut node[name][i]
                }
                None => &mut node[part],
            };
        }
        *node = serde_json::Value::String(value.to_string());
        let bytes = serde_json::to_vec(&vec![doc]).unwrap();
        let report = import::import(&mut admin, "hostile.json", &bytes, &mut |_| {}).unwrap();
        assert_eq!(report.imported, 0, "JSON {json_path} {value:?}: {report:?}");
        let shown = serde_json::to_string(&report).unwrap();
        assert!(!shown.contains(value), "{value:?} is never echoed: {shown}");
        assert!(
            !report.errors.is_empty(),
            "JSON {json_path} {value:?} is refused with a field"
        );
    }
}
