use domain::intake::Completeness;
use time::OffsetDateTime;

use super::*;
use crate::intake::demo;

fn checked(rows: Rows) -> Rows {
    let now = OffsetDateTime::now_utc();
    rows.into_iter()
        .map(|(row, r)| (row, r.and_then(|f| f.check(now, Completeness::Complete))))
        .collect()
}

fn lines(csv: &[u8]) -> Vec<String> {
    String::from_utf8(csv.to_vec())
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn generated_csv_reads_back_to_the_same_forms() {
    let forms = demo::generate(200, 3);
    let rows = checked(parse_csv(&to_csv(&forms)).unwrap());
    assert_eq!(rows.len(), 200);
    let now = OffsetDateTime::now_utc();
    for ((row, parsed), original) in rows.into_iter().zip(&forms) {
        let parsed = parsed.unwrap_or_else(|e| panic!("row {row}: {e:?}"));
        let mut expected = original.check(now, Completeness::Complete).unwrap();
        for (i, p) in expected.people.iter_mut().enumerate() {
            p.id = format!("owner{}", i + 1);
        }
        assert_eq!(parsed, expected, "row {row}");
    }
}

#[test]
fn a_bad_row_names_its_row_and_column() {
    let csv = to_csv(&demo::generate(3, 9));
    let mut l = lines(&csv);
    let header: Vec<&str> = l[0].split(',').collect();
    let ein = header.iter().position(|c| *c == "ein").unwrap();
    let mut cells: Vec<String> = l[2].split(',').map(str::to_string).collect();
    cells[ein] = "00-1234567".into();
    l[2] = cells.join(",");
    let rows = checked(parse_csv(l.join("\n").as_bytes()).unwrap());
    assert!(rows[0].1.is_ok() && rows[2].1.is_ok());
    let errors = rows[1].1.as_ref().unwrap_err();
    assert_eq!(rows[1].0, 2);
    assert_eq!(csv_column(&errors[0].field), "ein");
    assert!(errors[0].reason.contains("prefix"));
    assert_eq!(csv_column("people[1].ssn"), "owner2_ssn");
    assert_eq!(csv_column("people[0].address.city"), "owner1_address_city");
}

#[test]
fn missing_unknown_and_duplicate_columns_reject_the_file() {
    let csv = to_csv(&demo::generate(1, 1));
    let l = lines(&csv);
    let without_ein = l[0].replace(",ein,", ",");
    let err = parse_csv(without_ein.as_bytes()).err().unwrap();
    assert!(err.message().contains("missing columns: ein"), "{err}");

    let unknown = format!("{},favourite_colour", l[0]);
    let err = parse_csv(unknown.as_bytes()).err().unwrap();
    assert!(
        err.message().contains("unknown column favourite_colour"),
        "{err}"
    );

    let twice = format!("{},dba", l[0]);
    assert!(parse_csv(twice.as_bytes())
        .err()
        .unwrap()
        .message()
        .contains("twice"));

    let partial_group = format!("{},owner5_first_name", l[0]);
    let err = parse_csv(partial_group.as_bytes()).err().unwrap();
    assert!(err.message().contains("owner5_ssn"), "{err}");
}

#[test]
fn wrong_field_counts_and_non_utf8_are_row_errors() {
    let csv = to_csv(&demo::generate(2, 5));
    let mut bytes = lines(&csv)[..2].join("\n").into_bytes();
    bytes.extend_from_slice(b"\nonly,three,fields\n");
    let mut row3 = lines(&csv)[2].clone().into_bytes();
    row3[0] = 0xFF; // the first cell is the legal name
    bytes.extend_from_slice(&row3);
    let rows = checked(parse_csv(&bytes).unwrap());
    assert_eq!(rows.len(), 3);
    assert!(rows[0].1.is_ok());
    let e = rows[1].1.as_ref().unwrap_err();
    assert_eq!(e[0].field, "row");
    assert!(e[0].reason.contains("has 3 fields"));
    let e = rows[2].1.as_ref().unwrap_err();
    assert_eq!(e[0].field, "legal_name");
    assert!(e[0].reason.contains("UTF-8"));
}

#[test]
fn hostile_text_in_a_csv_is_refused_by_field() {
    let csv = to_csv(&demo::generate(1, 5));
    let l = lines(&csv);
    let header: Vec<&str> = l[0].split(',').collect();
    let dba = header.iter().position(|c| *c == "dba").unwrap();
    let mut cells: Vec<String> = l[1].split(',').map(str::to_string).collect();
    cells[dba] = "Shop\u{202E}gpj.exe".into();
    let text = format!("{}\n{}", l[0], cells.join(","));
    let rows = checked(parse_csv(text.as_bytes()).unwrap());
    let e = rows[0].1.as_ref().unwrap_err();
    assert_eq!(csv_column(&e[0].field), "dba");
    assert!(!e[0].reason.contains("Shop"));
}

fn stripe_account() -> serde_json::Value {
    serde_json::json!({
        "business_type": "company",
        "company": {
            "name": "Blue Harbor Coffee LLC",
            "structure": "multi_member_llc",
            "tax_id": "12-3456789",
            "phone": "+15125550100",
            "incorporation": {"date": "2015-06-01", "state": "TX", "country": "US"},
            "address": {"line1": "1 Main St", "city": "Austin", "state": "TX", "postal_code": "78701", "country": "US"}
        },
        "business_profile": {
            "name": "Blue Harbor", "mcc": 5814, "url": "https://blueharbor.example",
            "product_description": "Coffee", "support_email": "hi@blueharbor.example",
            "monthly_volume": 40000, "average_ticket": 12.5, "max_ticket": 300, "card_present_percent": 80
        },
        "persons": [{
            "first_name": "Maria", "last_name": "Garcia", "email": "maria@example.com",
            "dob": {"day": 4, "month": 7, "year": 1985}, "id_number": "536-22-1234",
            "address": {"line1": "2 Oak Ave", "city": "Austin", "state": "TX", "postal_code": "78702", "country": "US"},
            "relationship": {"owner": true, "percent_ownership": 100, "representative": true, "title": "CEO"}
        }],
        "external_account": {"account_holder_name": "Blue Harbor Coffee LLC", "country": "US",
            "routing_number": "021000021", "account_number": "000123456789", "account_type": "checking"},
        "tos_acceptance": {"date": 1780000000, "ip": "203.0.113.9", "user_agent": "Mozilla/5.0"}
    })
}

#[test]
fn stripe_shaped_json_maps_onto_the_form() {
    let text = serde_json::to_vec(&vec![stripe_account()]).unwrap();
    let rows = checked(parse_json(&text).unwrap());
    let form = rows[0].1.as_ref().unwrap();
    assert_eq!(form.business.entity_type, "multi_member_llc");
    assert_eq!(form.business.mcc, "5814");
    assert_eq!(form.business.average_ticket, "12.50");
    assert_eq!(form.people[0].dob, "1985-07-04");
    assert!(form.people[0].is_control);
    assert_eq!(
        form.terms.signer_name, "Maria Garcia",
        "the representative signs"
    );
    assert_eq!(form.terms.accepted_at, "2026-05-28T20:26:40Z");
}

#[test]
fn json_with_wrong_types_names_the_path_and_never_the_value() {
    let mut bad = stripe_account();
    bad["company"]["name"] = serde_json::json!({"nested": "Secret Name"});
    bad["persons"][0]["relationship"]["owner"] = serde_json::json!("yes");
    bad["tos_acceptance"]["date"] = serde_json::json!([1]);
    let mut also_bad = stripe_account();
    also_bad["company"]["structure"] = serde_json::json!("");
    let text = serde_json::to_vec(&vec![bad, also_bad, serde_json::json!(7)]).unwrap();
    let rows = parse_json(&text).unwrap();
    let e = rows[0].1.as_ref().unwrap_err();
    let fields: Vec<&str> = e.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "company.name",
            "tos_acceptance.date",
            "persons[0].relationship.owner"
        ]
    );
    assert!(e.iter().all(|e| !e.reason.contains("Secret")));
    assert_eq!(
        rows[1].1.as_ref().unwrap_err()[0].field,
        "company.structure"
    );
    assert_eq!(rows[2].1.as_ref().unwrap_err()[0].field, "row");
    assert_eq!(json_path("people[0].ssn"), "persons[0].id_number");
    assert_eq!(json_path("business.ein"), "company.tax_id");
}

#[test]
fn broken_json_is_a_file_error_without_the_content() {
    let err = parse_json(br#"[{"company": {"name": "Secret Name"#)
        .err()
        .unwrap();
    assert!(err.message().contains("line 1"), "{err}");
    assert!(!err.message().contains("Secret"));
    assert!(parse_json(b"42").is_err());
}

#[test]
fn format_comes_from_the_name_then_the_content() {
    assert_eq!(Format::detect("a.JSON", b"x"), Format::Json);
    assert_eq!(Format::detect("a.csv", b"[1]"), Format::Csv);
    assert_eq!(Format::detect("upload", b"  [1]"), Format::Json);
    assert_eq!(Format::detect("upload", b"legal_name,dba"), Format::Csv);
}

#[test]
fn column_names_are_matched_exactly_with_no_numeric_aliasing() {
    let csv = to_csv(&demo::generate(1, 1));
    let l = lines(&csv);
    // `owner01_ssn` beside `owner1_ssn` would fill the same value and one would silently win.
    let aliased = format!("{},owner01_ssn", l[0]);
    let err = parse_csv(aliased.as_bytes()).err().unwrap();
    assert!(
        err.message().contains("unknown column owner01_ssn"),
        "{err}"
    );
    let err = parse_csv(l[0].replace("owner1_ssn", "owner+1_ssn").as_bytes())
        .err()
        .unwrap();
    assert!(err.message().contains("unknown column"), "{err}");
}

#[test]
fn an_unclosed_quote_is_reported_where_it_opened_with_the_rows_it_swallowed() {
    let csv = to_csv(&demo::generate(5, 2));
    let mut l = lines(&csv);
    // Row 2's legal name opens a quote that is never closed: rows 3 to 5 vanish into it.
    l[2] = format!("\"{}", l[2]);
    let rows = parse_csv(l.join("\n").as_bytes()).unwrap();
    assert_eq!(rows.len(), 2, "row 1, then the row that swallowed the rest");
    assert!(rows[0].1.is_ok());
    assert_eq!(rows[1].0, 2, "reported at the row where the quote opened");
    let e = &rows[1].1.as_ref().unwrap_err()[0];
    assert_eq!(e.field, "row");
    assert!(e.reason.contains("next 3 line(s)"), "{e}");
}

#[test]
fn a_headerless_file_never_echoes_its_first_cells() {
    let csv = to_csv(&demo::generate(2, 4));
    let l = lines(&csv);
    let first_row = &l[1];
    let err = parse_csv(format!("{first_row}\n{}", l[2]).as_bytes())
        .err()
        .unwrap();
    let first_cell = first_row.split(',').next().unwrap();
    assert!(
        !err.message().contains(first_cell),
        "the first cell is not quoted: {err}"
    );
    assert!(err.message().contains("header row missing"), "{err}");
    // An SSN where a column name should be.
    let err = parse_csv(b"536-22-1234,legal_name\n").err().unwrap();
    assert!(!err.message().contains("536"), "{err}");
}
