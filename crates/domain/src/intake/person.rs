use std::fmt;

use super::text::{digits, FieldError};

fn split(d: &str) -> (u16, u8, u16) {
    (
        d[..3].parse().unwrap_or(0),
        d[3..5].parse().unwrap_or(0),
        d[5..].parse().unwrap_or(0),
    )
}

/// A US Social Security Number that could have been issued.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Ssn(String);

/// Numbers published in advertising or otherwise known never to be valid.
const KNOWN_INVALID_SSNS: [&str; 3] = ["078051120", "219099999", "123456789"];

impl Ssn {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        const FIELD: &str = "SSN";
        let d = digits(FIELD, input, &['-', ' '])?;
        if d.len() != 9 {
            return Err(FieldError::new(FIELD, "must be 9 digits"));
        }
        let (area, group, serial) = split(&d);
        if area == 0 || area == 666 || area >= 900 {
            return Err(FieldError::new(
                FIELD,
                "has an area number that is never issued (000, 666, 900–999)",
            ));
        }
        if group == 0 {
            return Err(FieldError::new(
                FIELD,
                "has group number 00, which is never issued",
            ));
        }
        if serial == 0 {
            return Err(FieldError::new(
                FIELD,
                "has serial number 0000, which is never issued",
            ));
        }
        if KNOWN_INVALID_SSNS.contains(&d.as_str()) {
            return Err(FieldError::new(
                FIELD,
                "is a published example number, not a real SSN",
            ));
        }
        Ok(Self(d))
    }

    pub fn digits(&self) -> &str {
        &self.0
    }

    pub fn last4(&self) -> &str {
        &self.0[5..]
    }
}

impl fmt::Debug for Ssn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ssn(•••-••-{})", self.last4())
    }
}

/// An IRS Individual Taxpayer Identification Number: 9xx-[50–65, 70–88, 90–92, 94–99]-xxxx.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Itin(String);

impl Itin {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        const FIELD: &str = "ITIN";
        let d = digits(FIELD, input, &['-', ' '])?;
        if d.len() != 9 {
            return Err(FieldError::new(FIELD, "must be 9 digits"));
        }
        let (area, group, _) = split(&d);
        if !(900..=999).contains(&area) || !matches!(group, 50..=65 | 70..=88 | 90..=92 | 94..=99) {
            return Err(FieldError::new(
                FIELD,
                "is not in an ITIN range (9XX-50..99-XXXX)",
            ));
        }
        Ok(Self(d))
    }

    pub fn digits(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Itin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Itin(•••-••-{})", &self.0[5..])
    }
}

/// `123-45-6789`: the canonical way an SSN or ITIN is stored and typed.
fn dashed(d: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{}-{}-{}", &d[..3], &d[3..5], &d[5..])
}

impl fmt::Display for Ssn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        dashed(&self.0, f)
    }
}

impl fmt::Display for Itin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        dashed(&self.0, f)
    }
}

/// A passport number: 5–20 letters and digits (ICAO 9303 allows up to 9 in the MRZ; national
/// formats vary, so only the shape is checked). Stored upper-case without spaces.
#[derive(Clone, PartialEq, Eq)]
pub struct PassportNumber(String);

impl PassportNumber {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        const FIELD: &str = "passport number";
        let s: String = input
            .trim()
            .chars()
            .filter(|c| *c != ' ')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if !s.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(FieldError::new(
                FIELD,
                "may contain only letters and digits",
            ));
        }
        if !(5..=20).contains(&s.len()) {
            return Err(FieldError::new(FIELD, "must be 5 to 20 letters and digits"));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PassportNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PassportNumber(…)")
    }
}

/// A date of birth of someone at least 18 years old (and born after 1900) on `today`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateOfBirth {
    pub year: i32,
    pub month: u8,
    pub day: u8,
}

fn days_in_month(year: i32, month: u8) -> u8 {
    let leap = (year.rem_euclid(4) == 0 && year.rem_euclid(100) != 0) || year.rem_euclid(400) == 0;
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => 0,
    }
}

impl DateOfBirth {
    /// Parses `YYYY-MM-DD` of someone at least 18 on `today` (`(year, month, day)`).
    pub fn parse(input: &str, today: (i32, u8, u8)) -> Result<Self, FieldError> {
        let dob = Self::parse_date(input)?;
        if dob.age_on(today) < 18 {
            return Err(FieldError::new(
                Self::FIELD,
                "the person must be at least 18 years old",
            ));
        }
        Ok(dob)
    }

    const FIELD: &'static str = "date of birth";

    /// Parses `YYYY-MM-DD` (a real day, after 1900) without the age rule: a stored date of
    /// birth, checked for age when it was stored.
    pub fn parse_date(input: &str) -> Result<Self, FieldError> {
        const FIELD: &str = DateOfBirth::FIELD;
        let bad = || FieldError::new(FIELD, "must be a date as YYYY-MM-DD");
        let text = input.trim();
        // Digits and two hyphens only: no signs, no spaces (`1990-+1-+5` is no date).
        if !text.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
            return Err(bad());
        }
        let mut parts = text.splitn(3, '-');
        let year: i32 = parts
            .next()
            .filter(|p| p.len() == 4)
            .and_then(|p| p.parse().ok())
            .ok_or_else(bad)?;
        let month: u8 = parts
            .next()
            .filter(|p| p.len() == 2)
            .and_then(|p| p.parse().ok())
            .ok_or_else(bad)?;
        let day: u8 = parts
            .next()
            .filter(|p| p.len() == 2)
            .and_then(|p| p.parse().ok())
            .ok_or_else(bad)?;
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return Err(bad());
        }
        if year < 1900 {
            return Err(FieldError::new(FIELD, "must be after 1900"));
        }
        Ok(Self { year, month, day })
    }

    /// Age in whole years on `today` (`(year, month, day)`).
    pub fn age_on(self, today: (i32, u8, u8)) -> i32 {
        let (ty, tm, td) = today;
        let mut age = ty - self.year;
        if (tm, td) < (self.month, self.day) {
            age -= 1;
        }
        age
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssn_rules() {
        let s = Ssn::parse("536-22-1234").unwrap();
        assert_eq!(s.last4(), "1234");
        assert!(!format!("{s:?}").contains("536"), "Debug masks the SSN");
        for (bad, why) in [
            ("000-12-3456", "area"),
            ("666-12-3456", "area"),
            ("912-12-3456", "area"),
            ("536-00-1234", "group"),
            ("536-22-0000", "serial"),
            ("078-05-1120", "published"),
            ("219-09-9999", "published"),
            ("53622123", "9 digits"),
        ] {
            let e = Ssn::parse(bad).unwrap_err();
            assert_eq!(e.field, "SSN");
            assert!(e.reason.contains(why), "{bad}: {e}");
            assert!(
                !e.to_string().contains(&bad[..3]) || why == "area",
                "no echo of the value: {e}"
            );
        }
    }

    #[test]
    fn itin_ranges() {
        assert!(Itin::parse("912-70-1234").is_ok());
        assert!(
            Itin::parse("912-93-1234").is_err(),
            "93 is not an ITIN group"
        );
        assert!(Itin::parse("812-70-1234").is_err());
    }

    #[test]
    fn dob_needs_adults_and_real_dates() {
        let today = (2026, 11, 25);
        assert!(DateOfBirth::parse("2008-11-25", today).is_ok(), "18 today");
        assert!(DateOfBirth::parse("2008-11-26", today)
            .unwrap_err()
            .reason
            .contains("18"));
        assert!(DateOfBirth::parse("1990-02-30", today).is_err());
        assert!(DateOfBirth::parse("2000-02-29", today).is_ok(), "leap day");
        assert!(DateOfBirth::parse("1899-12-31", today).is_err());
        assert!(DateOfBirth::parse("25/11/1990", today).is_err());
        for signed in [
            "1990-+1-+5",
            "1990-01- 5",
            "+990-01-05",
            "1990--1-05",
            "1990-0 1-05",
        ] {
            assert!(DateOfBirth::parse(signed, today).is_err(), "{signed}");
        }
    }
}
