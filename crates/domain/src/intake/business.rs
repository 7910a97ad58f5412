use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::text::{digits, FieldError};

/// A US Employer Identification Number: 9 digits with a prefix the IRS assigns.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Ein(String);

/// Prefixes the IRS does not assign (IRS EIN prefix table).
const UNUSED_EIN_PREFIXES: [&str; 13] = [
    "00", "07", "08", "09", "17", "18", "19", "28", "29", "49", "69", "70", "78",
];
const MORE_UNUSED_EIN_PREFIXES: [&str; 4] = ["79", "89", "96", "97"];

impl Ein {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        const FIELD: &str = "EIN";
        let d = digits(FIELD, input, &['-', ' '])?;
        if d.len() != 9 {
            return Err(FieldError::new(FIELD, "must be 9 digits"));
        }
        let prefix = &d[..2];
        if UNUSED_EIN_PREFIXES.contains(&prefix) || MORE_UNUSED_EIN_PREFIXES.contains(&prefix) {
            return Err(FieldError::new(
                FIELD,
                "has a prefix the IRS does not assign",
            ));
        }
        Ok(Self(d))
    }

    /// The 9 digits without separator: what blind indexes and the platform take.
    pub fn digits(&self) -> &str {
        &self.0
    }

    pub fn last4(&self) -> &str {
        &self.0[5..]
    }
}

impl fmt::Display for Ein {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", &self.0[..2], &self.0[2..])
    }
}

impl fmt::Debug for Ein {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ein(••-•••{})", self.last4())
    }
}

/// The legal form of the business, as Stripe models it (`business_type` + `company.structure`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityType {
    SoleProprietorship,
    SingleMemberLlc,
    MultiMemberLlc,
    PrivateCorporation,
    PublicCorporation,
    Partnership,
    NonProfit,
    GovernmentEntity,
}

impl EntityType {
    pub const ALL: [EntityType; 8] = [
        EntityType::SoleProprietorship,
        EntityType::SingleMemberLlc,
        EntityType::MultiMemberLlc,
        EntityType::PrivateCorporation,
        EntityType::PublicCorporation,
        EntityType::Partnership,
        EntityType::NonProfit,
        EntityType::GovernmentEntity,
    ];

    /// The snake_case name used in forms, files and storage.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityType::SoleProprietorship => "sole_proprietorship",
            EntityType::SingleMemberLlc => "single_member_llc",
            EntityType::MultiMemberLlc => "multi_member_llc",
            EntityType::PrivateCorporation => "private_corporation",
            EntityType::PublicCorporation => "public_corporation",
            EntityType::Partnership => "partnership",
            EntityType::NonProfit => "non_profit",
            EntityType::GovernmentEntity => "government_entity",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        let wanted = input.trim().to_ascii_lowercase();
        Self::ALL.into_iter().find(|e| e.as_str() == wanted)
    }

    /// Stripe's `business_type` and `company.structure` (API 2020-08-27).
    pub fn stripe(self) -> (&'static str, Option<&'static str>) {
        match self {
            EntityType::SoleProprietorship => ("individual", None),
            EntityType::SingleMemberLlc => ("company", Some("single_member_llc")),
            EntityType::MultiMemberLlc => ("company", Some("multi_member_llc")),
            EntityType::PrivateCorporation => ("company", Some("private_corporation")),
            EntityType::PublicCorporation => ("company", Some("public_corporation")),
            EntityType::Partnership => ("company", Some("private_partnership")),
            EntityType::NonProfit => ("non_profit", None),
            EntityType::GovernmentEntity => ("government_entity", None),
        }
    }

    /// A sole proprietor's owner is the business; no separate owners are collected.
    pub fn owner_is_business(self) -> bool {
        matches!(self, EntityType::SoleProprietorship)
    }
}

/// How the card brands and our policy treat a merchant category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MccTier {
    Standard,
    /// Card-brand high-risk: enhanced due diligence.
    HighRisk,
    /// Not boarded under this payfac's program.
    Prohibited,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MccInfo {
    pub code: &'static str,
    pub description: &'static str,
    pub tier: MccTier,
}

const MCC_TABLE: &str = include_str!("mcc.csv");

fn mcc_table() -> &'static [MccInfo] {
    static TABLE: OnceLock<Vec<MccInfo>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut rows: Vec<MccInfo> = MCC_TABLE
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|line| {
                let mut parts = line.splitn(3, ',');
                let code = parts.next()?.trim();
                let tier = match parts.next()?.trim() {
                    "high_risk" => MccTier::HighRisk,
                    "prohibited" => MccTier::Prohibited,
                    _ => MccTier::Standard,
                };
                Some(MccInfo {
                    code,
                    description: parts.next()?.trim(),
                    tier,
                })
            })
            .collect();
        rows.sort_by(|a, b| a.code.cmp(b.code));
        rows
    })
}

/// A Merchant Category Code from the bundled table.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mcc(&'static str);

impl Mcc {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        const FIELD: &str = "MCC";
        let code = input.trim();
        if code.len() != 4 || !code.chars().all(|c| c.is_ascii_digit()) {
            return Err(FieldError::new(FIELD, "must be 4 digits"));
        }
        let table = mcc_table();
        table
            .binary_search_by(|m| m.code.cmp(code))
            .ok()
            .map(|i| Self(table[i].code))
            .ok_or_else(|| FieldError::new(FIELD, "is not a merchant category code we know"))
    }

    pub fn code(&self) -> &'static str {
        self.0
    }

    pub fn info(&self) -> MccInfo {
        let table = mcc_table();
        table
            .binary_search_by(|m| m.code.cmp(self.0))
            .map(|i| table[i])
            .unwrap_or(MccInfo {
                code: self.0,
                description: "",
                tier: MccTier::Standard,
            })
    }

    /// Every code in the bundled table, in code order (parsed once).
    pub fn table() -> impl Iterator<Item = MccInfo> {
        mcc_table().iter().copied()
    }
}

/// A percentage, 0–100, exactly as typed: up to 4 decimals, kept in ten-thousandths of a
/// percent. Nothing is rounded: 24.996 is below 25, and three owners at 33.334 are over 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Percent(u32);

impl Percent {
    /// Decimal places a percentage may have.
    pub const DECIMALS: usize = 4;
    const SCALE: u32 = 10_000;

    pub fn parse(field: &'static str, input: &str) -> Result<Self, FieldError> {
        let text = input.trim();
        let text = text.strip_suffix('%').map_or(text, str::trim_end);
        let bad = || FieldError::new(field, "must be a number from 0 to 100");
        let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
        if whole.is_empty()
            || whole.len() > 3
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || (text.contains('.') && frac.is_empty())
        {
            return Err(bad());
        }
        if frac.len() > Self::DECIMALS {
            return Err(FieldError::new(field, "must have at most 4 decimals"));
        }
        let whole: u32 = whole.parse().map_err(|_| bad())?;
        let frac: u32 = format!("{frac:0<4}").parse().map_err(|_| bad())?;
        let value = whole * Self::SCALE + frac;
        if value > 100 * Self::SCALE {
            return Err(bad());
        }
        Ok(Self(value))
    }

    /// The exact value in ten-thousandths of a percent (25% = 250000).
    pub fn ten_thousandths(self) -> u32 {
        self.0
    }

    /// The whole percent, rounded down.
    pub fn whole(self) -> u32 {
        self.0 / Self::SCALE
    }

    pub fn at_least(self, whole: u32) -> bool {
        self.0 >= whole * Self::SCALE
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// 100%, in [`Self::ten_thousandths`].
    pub const ALL: u32 = 100 * Self::SCALE;
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, frac) = (self.0 / Self::SCALE, self.0 % Self::SCALE);
        if frac == 0 {
            write!(f, "{whole}")
        } else {
            let digits = format!("{frac:04}");
            write!(f, "{whole}.{}", digits.trim_end_matches('0'))
        }
    }
}

/// An amount of US dollars, in cents: at most 2 decimals, up to one billion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Amount(u64);

impl Amount {
    pub const MAX_CENTS: u64 = 100_000_000_000;

    /// Parses `1234.5`, `$1,234.50`, `1 234`: one optional decimal point with at most two
    /// decimals, and thousands separators (`,` or a space, not both) only in valid groups —
    /// `12,5` is refused, never read as 125.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        const FIELD: &str = "amount";
        let bad = || FieldError::new(FIELD, "must be an amount in dollars, like 1250.00");
        let s = input.trim();
        let s = s.strip_prefix('$').map_or(s, str::trim_start);
        let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
        if s.contains('.') && frac.is_empty() {
            return Err(bad());
        }
        let separator = match (whole.contains(','), whole.contains(' ')) {
            (true, true) => return Err(bad()),
            (true, false) => Some(','),
            (false, true) => Some(' '),
            (false, false) => None,
        };
        let whole: String = match separator {
            None => whole.to_string(),
            Some(sep) => {
                let groups: Vec<&str> = whole.split(sep).collect();
                let first_ok = (1..=3).contains(&groups[0].len());
                let rest_ok = groups[1..].iter().all(|g| g.len() == 3);
                if !first_ok || !rest_ok {
                    return Err(FieldError::new(
                        FIELD,
                        "has thousands separators in the wrong places (use 1,250.00 or 1250.00)",
                    ));
                }
                groups.concat()
            }
        };
        if whole.is_empty()
            || whole.len() > 12
            || frac.len() > 2
            || !whole.chars().all(|c| c.is_ascii_digit())
            || !frac.chars().all(|c| c.is_ascii_digit())
        {
            return Err(bad());
        }
        let whole: u64 = whole.parse().map_err(|_| bad())?;
        let frac: u64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
        let cents = whole
            .checked_mul(100)
            .and_then(|c| c.checked_add(frac))
            .ok_or_else(bad)?;
        if cents > Self::MAX_CENTS {
            return Err(FieldError::new(FIELD, "must be at most 1,000,000,000.00"));
        }
        Ok(Self(cents))
    }

    pub fn cents(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ein_accepts_both_spellings_and_rejects_unassigned_prefixes() {
        let e = Ein::parse("12-3456789").unwrap();
        assert_eq!(e.digits(), "123456789");
        assert_eq!(e.to_string(), "12-3456789");
        assert_eq!(Ein::parse(" 123456789 ").unwrap(), e);
        for prefix in [
            "00", "07", "08", "09", "17", "18", "19", "28", "29", "49", "69", "70", "78", "79",
            "89", "96", "97",
        ] {
            let err = Ein::parse(&format!("{prefix}-1234567")).unwrap_err();
            assert_eq!(err.field, "EIN");
            assert!(err.reason.contains("prefix"), "{prefix}: {err}");
        }
        assert_eq!(
            Ein::parse("12-345678").unwrap_err().reason,
            "must be 9 digits"
        );
        assert!(Ein::parse("12-34567a9").is_err());
        assert!(!format!("{e:?}").contains("12345"), "Debug masks the EIN");
    }

    #[test]
    fn entity_types_map_to_stripe() {
        assert_eq!(
            EntityType::SoleProprietorship.stripe(),
            ("individual", None)
        );
        assert_eq!(
            EntityType::MultiMemberLlc.stripe(),
            ("company", Some("multi_member_llc"))
        );
        assert_eq!(EntityType::NonProfit.stripe().0, "non_profit");
    }

    #[test]
    fn mcc_comes_from_the_table_with_its_tier() {
        let m = Mcc::parse("5812").unwrap();
        assert_eq!(m.info().tier, MccTier::Standard);
        assert!(!m.info().description.is_empty());
        for high in [
            "5122", "5912", "5962", "5966", "5967", "5993", "7273", "7995",
        ] {
            assert_eq!(
                Mcc::parse(high).unwrap().info().tier,
                MccTier::HighRisk,
                "{high}"
            );
        }
        assert_eq!(
            Mcc::parse("0000").unwrap_err().reason,
            "is not a merchant category code we know"
        );
        assert_eq!(Mcc::parse("581").unwrap_err().reason, "must be 4 digits");
        assert!(Mcc::table().count() > 100, "a real table is bundled");
    }

    #[test]
    fn amounts_take_separators_only_in_valid_groups() {
        let cents = |t: &str| Amount::parse(t).map(Amount::cents);
        assert_eq!(cents("1234.5"), Ok(123_450));
        assert_eq!(cents("$1,234.50"), Ok(123_450));
        assert_eq!(cents("1 234"), Ok(123_400));
        assert_eq!(cents("1,234,567"), Ok(123_456_700));
        for bad in [
            "12,5",
            "1,2345",
            ",123",
            "1,23.00",
            "1.2.3",
            "1 234,567",
            "12.",
            "1.234",
            "+5",
            "-5",
            "1e3",
        ] {
            let e = Amount::parse(bad).unwrap_err();
            assert_eq!(e.field, "amount", "{bad}");
            assert!(!e.reason.contains(bad), "no echo: {e}");
        }
    }

    #[test]
    fn percent_parses_and_bounds() {
        assert_eq!(
            Percent::parse("ownership", "25").unwrap().ten_thousandths(),
            250_000
        );
        assert_eq!(
            Percent::parse("ownership", "33.33%")
                .unwrap()
                .ten_thousandths(),
            333_300
        );
        let p = Percent::parse("ownership", "24.996").unwrap();
        assert!(!p.at_least(25), "24.996 is below 25: nothing is rounded");
        assert_eq!(p.to_string(), "24.996", "kept as typed");
        assert_eq!(
            Percent::parse("ownership", "33.3340").unwrap().to_string(),
            "33.334"
        );
        assert!(Percent::parse("ownership", "12.34567")
            .unwrap_err()
            .reason
            .contains("4 decimals"));
        for bad in ["+5", " - 5", "1e1", "5.", ".5", "0x10", "inf", "100.0001"] {
            assert!(Percent::parse("ownership", bad).is_err(), "{bad}");
        }
        assert!(Percent::parse("ownership", "25").unwrap().at_least(25));
        assert!(!Percent::parse("ownership", "24.99").unwrap().at_least(25));
        assert!(Percent::parse("ownership", "101").is_err());
        assert!(Percent::parse("ownership", "-1").is_err());
        assert!(Percent::parse("ownership", "NaN").is_err());
    }
}
