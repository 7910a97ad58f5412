use super::*;
use crate::ofac::parse_dir;
use crate::ofac::tests::shared;

fn small() -> Option<Index> {
    let dir = shared("ofac-small")?;
    Some(Index::build(parse_dir(&dir).unwrap().remove(0).entries))
}

fn top(index: &Index, q: &Query<'_>) -> Option<Hit> {
    index.screen(q, 0.5).into_iter().next()
}

#[test]
fn reordered_names_match_with_an_explanation() {
    let Some(index) = small() else { return };
    let hit = top(
        &index,
        &Query {
            name: "Elvis Logan Morey",
            ..Query::default()
        },
    )
    .unwrap();
    assert_eq!(hit.uid, "sdn:10278");
    assert!(hit.score >= DEFAULT_THRESHOLD, "{hit:?}");
    assert_eq!(hit.name_kind, NameKind::Primary);
    assert!(hit.alignment.iter().all(|a| a.similarity == 1.0));
}

#[test]
fn typos_diacritics_and_akas_match() {
    let Some(index) = small() else { return };
    for (query, uid) in [
        ("Elvis Logan Morrey", "sdn:10278"),
        ("Élvis Lógan Morey", "sdn:10278"),
        ("Burton Burgess", "sdn:10278"),
        ("Iran Aircraft Manufacturing Industrial Co.", "sdn:11195"),
    ] {
        let hit = top(
            &index,
            &Query {
                name: query,
                ..Query::default()
            },
        )
        .unwrap_or_else(|| panic!("{query}: no hit"));
        assert_eq!(hit.uid, uid, "{query}");
        assert!(hit.score >= DEFAULT_THRESHOLD, "{query}: {}", hit.score);
    }
    let aka = top(
        &index,
        &Query {
            name: "Burton Burgess",
            ..Query::default()
        },
    )
    .unwrap();
    assert_eq!(aka.name_kind, NameKind::Aka);
    assert_eq!(aka.matched_name, "BURTON BURGESS");
}

#[test]
fn unrelated_names_do_not_hit() {
    let Some(index) = small() else { return };
    for query in ["Maria Garcia", "Blue Harbor Coffee", "Elvis Presley"] {
        let hits = index.screen(
            &Query {
                name: query,
                ..Query::default()
            },
            DEFAULT_THRESHOLD,
        );
        assert!(hits.is_empty(), "{query}: {hits:?}");
    }
}

#[test]
fn date_of_birth_and_country_move_the_score_and_say_so() {
    let Some(index) = small() else { return };
    let base = top(
        &index,
        &Query {
            name: "Elvis Logan Morey",
            ..Query::default()
        },
    )
    .unwrap();
    let same = top(
        &index,
        &Query {
            name: "Elvis Logan Morey",
            birth_year: Some(1963),
            country: Some("BZ"),
            ..Query::default()
        },
    )
    .unwrap();
    let other = top(
        &index,
        &Query {
            name: "Elvis Logan Morey",
            birth_year: Some(1990),
            ..Query::default()
        },
    )
    .unwrap();
    assert!(same.score > base.score || same.score == 1.0);
    assert!(other.score < base.score);
    assert!(same.adjustments.iter().any(|a| a.contains("1963 matches")));
    assert!(same.adjustments.iter().any(|a| a.contains("BZ appears")));
    assert!(other.adjustments[0].contains("differs"));
    let people_only = index.screen(
        &Query {
            name: "Iran Aircraft Manufacturing Industrial",
            individual: Some(true),
            ..Query::default()
        },
        0.8,
    );
    assert!(
        people_only.is_empty(),
        "a person is not screened against companies"
    );
}
