use std::collections::HashMap;
use std::path::PathBuf;

use super::*;

/// The shared OFAC test data, when this checkout sits beside it.
pub(crate) fn shared(set: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/sanctions")
        .join(set);
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: {} is absent", dir.display());
        None
    }
}

fn files(pairs: &[(&str, &str)]) -> HashMap<String, Vec<u8>> {
    pairs
        .iter()
        .map(|(n, c)| (n.to_string(), c.as_bytes().to_vec()))
        .collect()
}

const SDN: &str = "10278,\"LOGAN MOREY, Elvis Angus\",\"individual\",\"SDNT\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,\"DOB 28 Jul 1963; POB Toledo District, Belize; Passport P0017003 (Belize); a.k.a. 'BURTON BURGESS'.\"\r\n\
11195,\"IRAN AIRCRAFT MANUFACTURING INDUSTRIAL COMPANY\",-0- ,\"NPWMD] [IFSR\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,\"a.k.a. 'HESA'; Linked To: MINISTRY OF DEFENSE.\"\r\n\x1a";

#[test]
fn parses_names_remarks_and_quirks() {
    let list = parse(
        ListSource::Sdn,
        &files(&[
            ("sdn.csv", SDN),
            (
                "alt.csv",
                "10278,10416,\"aka\",\"KARADH AL-HASSAN\",-0- \r\n",
            ),
            (
                "add.csv",
                "11195,16310,\"P.O. Box 83145-311\",\"Esfahan\",\"Iran\",-0- \r\n",
            ),
            ("sdn_comments.csv", "10278,\" nationality Belize\"\r\n"),
        ]),
    )
    .unwrap();
    assert_eq!(list.entries.len(), 2);
    let logan = &list.entries[0];
    assert_eq!(logan.uid, "sdn:10278");
    assert_eq!(logan.kind, EntryKind::Individual);
    let names: Vec<(&str, NameKind, bool)> = logan
        .names
        .iter()
        .map(|n| (n.text.as_str(), n.kind, n.from_remarks))
        .collect();
    assert_eq!(
        names,
        [
            ("LOGAN MOREY, Elvis Angus", NameKind::Primary, false),
            ("BURTON BURGESS", NameKind::Aka, true),
            ("KARADH AL-HASSAN", NameKind::Aka, false),
        ]
    );
    assert_eq!(logan.dobs, ["28 Jul 1963"]);
    assert_eq!(logan.birth_years, [1963]);
    assert!(
        logan.countries.contains(&"Belize".to_string()),
        "POB and the continued remarks"
    );
    assert_eq!(logan.ids[0].kind, "Passport");
    assert_eq!(logan.ids[0].number, "P0017003");
    let iran = &list.entries[1];
    assert_eq!(iran.kind, EntryKind::Entity);
    assert_eq!(iran.programs, ["NPWMD", "IFSR"]);
    assert_eq!(iran.countries, ["Iran"], "from the address file");
    assert_eq!(list.files.len(), 4);

    // A row about an entity the primary file does not have is skipped and counted.
    let orphan = parse(
        ListSource::Sdn,
        &files(&[
            ("sdn.csv", SDN),
            ("alt.csv", "999,1,\"aka\",\"NOBODY\",-0-\r\n"),
        ]),
    )
    .unwrap();
    assert_eq!(orphan.files[1].orphans, 1);
}

#[test]
fn malformed_files_name_the_file_and_line() {
    let cases: [(&str, &str, &str, u64, &str); 5] = [
        (
            "sdn.csv",
            "1,\"A\",\"individual\",-0-\r\n",
            "sdn.csv",
            1,
            "has 4 fields; expected 12",
        ),
        (
            "sdn.csv",
            "x,\"A\",-0-,-0-,-0-,-0-,-0-,-0-,-0-,-0-,-0-,-0-\r\n",
            "sdn.csv",
            1,
            "ent_num is not a number",
        ),
        (
            "alt.csv",
            "10278,1,\"aka\"\r\n",
            "alt.csv",
            1,
            "has 3 fields; expected 5",
        ),
        ("alt.csv", "NOT UTF-8", "alt.csv", 1, "UTF-8"),
        (
            "sdn.csv",
            "10278,\"A\",\"individual\",\"X\",-0-,-0-,-0-,-0-,-0-,-0-,-0-,\"cut off here",
            "sdn.csv",
            1,
            "truncated",
        ),
    ];
    for (file, content, want_file, want_line, want) in cases {
        let mut f = files(&[("sdn.csv", SDN)]);
        let mut bytes = content.as_bytes().to_vec();
        if content == "NOT UTF-8" {
            bytes = b"10278,1,\"aka\",\"B\xC3\",-0-\r\n".to_vec();
        }
        f.insert(file.to_string(), bytes);
        let err = parse(ListSource::Sdn, &f).unwrap_err();
        assert_eq!(
            (err.file.as_str(), err.line),
            (want_file, want_line),
            "{err}"
        );
        assert!(err.reason.contains(want), "{err}");
    }
    let err = parse(ListSource::Sdn, &HashMap::new()).unwrap_err();
    assert_eq!(err.to_string(), "sdn.csv: is missing");
}

#[test]
fn reads_the_real_sdn_and_consolidated_files() {
    let Some(dir) = shared("ofac-sdn-2021") else {
        return;
    };
    let lists = parse_dir(&dir).unwrap();
    assert_eq!(lists.len(), 1);
    let sdn = &lists[0];
    assert_eq!(sdn.source, ListSource::Sdn);
    assert_eq!(sdn.entries.len(), 8976, "every line of sdn.csv");
    let names: usize = sdn.entries.iter().map(|e| e.names.len()).sum();
    assert!(names > 20_000, "primary names and alternates: {names}");
    assert!(
        sdn.entries
            .iter()
            .filter(|e| !e.birth_years.is_empty())
            .count()
            > 3_000
    );
    let Some(dir) = shared("ofac-consolidated") else {
        return;
    };
    let cons = parse_dir(&dir).unwrap();
    assert_eq!(cons[0].source, ListSource::Consolidated);
    assert_eq!(cons[0].entries.len(), 442);
}
