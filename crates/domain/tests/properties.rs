//! Properties of the intake parsers over arbitrary input.

use desk_domain::intake::{
    clean_text, Amount, Ein, Iban, Mcc, Percent, Phone, RoutingNumber, Ssn, WebsiteUrl,
};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// No parser panics, whatever it is given, and every error names its field.
    #[test]
    fn parsers_never_panic(s in "\\PC{0,64}") {
        for field in [
            Ein::parse(&s).err().map(|e| e.field),
            Ssn::parse(&s).err().map(|e| e.field),
            RoutingNumber::parse(&s).err().map(|e| e.field),
            Iban::parse(&s).err().map(|e| e.field),
            Mcc::parse(&s).err().map(|e| e.field),
            Phone::parse(&s).err().map(|e| e.field),
            WebsiteUrl::parse(&s).err().map(|e| e.field),
        ].into_iter().flatten() {
            prop_assert!(!field.is_empty());
        }
    }

    /// Cleaned text is trimmed, has single spaces, no control or hidden characters, and
    /// cleaning it again changes nothing.
    #[test]
    fn clean_text_is_idempotent_and_safe(s in ".{0,200}") {
        if let Ok(t) = clean_text("name", &s, 500) {
            prop_assert_eq!(t.trim(), t.as_str());
            prop_assert!(!t.contains("  "));
            prop_assert!(!t.chars().any(|c| c.is_control()));
            prop_assert_eq!(clean_text("name", &t, 500).unwrap(), t);
        }
    }

    /// An EIN with an assigned prefix always parses, and its display form parses back to it.
    #[test]
    fn ein_round_trips(prefix in 10u32..=99, rest in 0u32..10_000_000) {
        let digits = format!("{prefix:02}{rest:07}");
        if let Ok(ein) = Ein::parse(&digits) {
            prop_assert_eq!(Ein::parse(&ein.to_string()).unwrap(), ein.clone());
            prop_assert_eq!(ein.digits(), digits.as_str());
        }
    }

    /// For any 8 leading digits with a prefix that receives ACH, exactly one check digit passes
    /// ABA; with prefix 80 (traveller's cheques) or an unassigned one, none does.
    #[test]
    fn exactly_one_routing_check_digit(prefix in prop::sample::select(vec![1u32, 5, 11, 21, 26, 32, 61, 67, 72]), mid in 0u32..1_000_000) {
        let head = format!("{prefix:02}{mid:06}");
        let valid = (0..10).filter(|d| RoutingNumber::parse(&format!("{head}{d}")).is_ok()).count();
        prop_assert_eq!(valid, 1);
    }

    #[test]
    fn no_routing_number_outside_the_ach_prefixes(prefix in prop::sample::select(vec![13u32, 20, 33, 60, 73, 80, 99]), mid in 0u32..1_000_000) {
        let head = format!("{prefix:02}{mid:06}");
        let valid = (0..10).filter(|d| RoutingNumber::parse(&format!("{head}{d}")).is_ok()).count();
        prop_assert_eq!(valid, 0);
    }

    /// Valid SSNs keep their digits, with or without dashes.
    #[test]
    fn ssn_dash_forms_agree(area in 1u32..900, group in 1u32..100, serial in 1u32..10_000) {
        let plain = format!("{area:03}{group:02}{serial:04}");
        let dashed = format!("{area:03}-{group:02}-{serial:04}");
        prop_assert_eq!(Ssn::parse(&plain).ok(), Ssn::parse(&dashed).ok());
    }

    /// Any amount in cents shows as dollars that parse back to the same cents.
    #[test]
    fn amounts_round_trip(cents in 0u64..=Amount::MAX_CENTS) {
        let a = Amount::parse(&format!("{}.{:02}", cents / 100, cents % 100)).unwrap();
        prop_assert_eq!(a.cents(), cents);
        prop_assert_eq!(Amount::parse(&a.to_string()).unwrap(), a);
    }

    /// A percentage with up to four decimals is kept exactly and shows in a form that parses
    /// back to itself.
    #[test]
    fn percents_round_trip(t in 0u32..=1_000_000) {
        let p = Percent::parse("ownership", &format!("{}.{:04}", t / 10_000, t % 10_000)).unwrap();
        prop_assert_eq!(p.ten_thousandths(), t);
        prop_assert_eq!(Percent::parse("ownership", &p.to_string()).unwrap(), p);
    }

    /// Masking keeps the length and shows exactly the last four digits of a longer value
    /// (a value of four or fewer is masked whole — see `mask_tail`).
    #[test]
    fn masking_never_shows_more_than_four(value in "[0-9]{5,17}") {
        let m = desk_domain::mask::mask_tail(&value, 4);
        prop_assert_eq!(m.chars().count(), value.chars().count());
        prop_assert_eq!(m.chars().filter(|c| c.is_ascii_digit()).count(), 4);
        prop_assert!(m.ends_with(&value[value.len() - 4..]));
    }
}
