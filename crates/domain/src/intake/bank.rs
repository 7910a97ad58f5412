use std::fmt;

use super::text::{digits, FieldError};

/// A US ABA routing transit number: 9 digits, a Federal Reserve prefix, and the ABA checksum.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RoutingNumber(String);

impl RoutingNumber {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        const FIELD: &str = "routing number";
        let d = digits(FIELD, input, &[' ', '-'])?;
        if d.len() != 9 {
            return Err(FieldError::new(FIELD, "must be 9 digits"));
        }
        if d.bytes().all(|b| b == b'0') {
            return Err(FieldError::new(FIELD, "must not be all zeros"));
        }
        // 00–12 banks, 21–32 thrifts, 61–72 electronic; 80 (traveller's cheques) and the rest
        // cannot receive ACH credits.
        let prefix: u8 = d[..2].parse().unwrap_or(99);
        if !matches!(prefix, 0..=12 | 21..=32 | 61..=72) {
            return Err(FieldError::new(
                FIELD,
                "does not start with a routing prefix that receives ACH (00–12, 21–32, 61–72)",
            ));
        }
        let n: Vec<u32> = d.bytes().map(|b| u32::from(b - b'0')).collect();
        let sum = 3 * (n[0] + n[3] + n[6]) + 7 * (n[1] + n[4] + n[7]) + (n[2] + n[5] + n[8]);
        if !sum.is_multiple_of(10) {
            return Err(FieldError::new(FIELD, "fails the ABA checksum"));
        }
        Ok(Self(d))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RoutingNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RoutingNumber({})", self.0)
    }
}

/// A US bank account number: 4–17 digits (the range ACH accepts).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AccountNumber(String);

impl AccountNumber {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        const FIELD: &str = "account number";
        let d = digits(FIELD, input, &[' ', '-'])?;
        if !(4..=17).contains(&d.len()) {
            return Err(FieldError::new(FIELD, "must be 4 to 17 digits"));
        }
        if d.bytes().all(|b| b == b'0') {
            return Err(FieldError::new(FIELD, "must not be all zeros"));
        }
        Ok(Self(d))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn last4(&self) -> &str {
        &self.0[self.0.len() - 4..]
    }
}

impl fmt::Debug for AccountNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountNumber(…{})", self.last4())
    }
}

/// Checking or savings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BankAccountType {
    Checking,
    Savings,
}

impl BankAccountType {
    pub fn parse(input: &str) -> Option<Self> {
        match input.trim().to_ascii_lowercase().as_str() {
            "checking" => Some(Self::Checking),
            "savings" => Some(Self::Savings),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Checking => "checking",
            Self::Savings => "savings",
        }
    }
}

/// An International Bank Account Number with a valid mod-97 check.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Iban(String);

/// IBAN lengths by country (ISO 13616 registry, the countries a payfac meets most).
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AT", 20),
    ("BE", 16),
    ("BG", 22),
    ("CH", 21),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DK", 18),
    ("EE", 20),
    ("ES", 24),
    ("FI", 18),
    ("FR", 27),
    ("GB", 22),
    ("GR", 27),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IS", 26),
    ("IT", 27),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("MT", 31),
    ("NL", 18),
    ("NO", 15),
    ("PL", 28),
    ("PT", 25),
    ("RO", 24),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
];

impl Iban {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        const FIELD: &str = "IBAN";
        let s: String = input
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        if !s.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(FieldError::new(
                FIELD,
                "may contain only letters and digits",
            ));
        }
        let country = s.get(..2).unwrap_or("");
        let Some(&(_, len)) = IBAN_LENGTHS.iter().find(|(c, _)| *c == country) else {
            return Err(FieldError::new(
                FIELD,
                "has a country code we do not accept",
            ));
        };
        if s.len() != len {
            return Err(FieldError::new(
                FIELD,
                format!("must be {len} characters for this country"),
            ));
        }
        if matches!(&s[2..4], "00" | "01" | "99") {
            return Err(FieldError::new(
                FIELD,
                "has check digits (00, 01 or 99) that are never issued",
            ));
        }
        let rearranged = s[4..].chars().chain(s[..4].chars());
        let mut rem: u32 = 0;
        for c in rearranged {
            let v = c.to_digit(36).unwrap_or(0);
            rem = if v >= 10 {
                (rem * 100 + v) % 97
            } else {
                (rem * 10 + v) % 97
            };
        }
        if rem != 1 {
            return Err(FieldError::new(FIELD, "fails the mod-97 check"));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Iban {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Iban({}••••)", &self.0[..4])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_numbers_need_prefix_and_checksum() {
        // Public, well-known routing numbers.
        for ok in ["021000021", "011000015", "121000358", "322271627"] {
            assert!(RoutingNumber::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            RoutingNumber::parse("021000022").unwrap_err().reason,
            "fails the ABA checksum"
        );
        assert!(RoutingNumber::parse("991000021")
            .unwrap_err()
            .reason
            .contains("prefix"));
        assert_eq!(
            RoutingNumber::parse("02100002").unwrap_err().reason,
            "must be 9 digits"
        );
        // Checksum-valid, but traveller's cheques (80) and all zeros receive no ACH.
        assert!(RoutingNumber::parse("800000006")
            .unwrap_err()
            .reason
            .contains("prefix"));
        assert_eq!(
            RoutingNumber::parse("000000000").unwrap_err().reason,
            "must not be all zeros"
        );
    }

    #[test]
    fn ibans_need_country_length_and_mod97() {
        assert!(Iban::parse("GB82 WEST 1234 5698 7654 32").is_ok());
        assert!(Iban::parse("DE89370400440532013000").is_ok());
        assert_eq!(
            Iban::parse("GB82WEST12345698765433").unwrap_err().reason,
            "fails the mod-97 check"
        );
        assert!(Iban::parse("GB82WEST123456987654")
            .unwrap_err()
            .reason
            .contains("22 characters"));
        for never in [
            "GB00WEST12345698765432",
            "GB01WEST12345698765432",
            "GB99WEST12345698765432",
        ] {
            assert!(
                Iban::parse(never)
                    .unwrap_err()
                    .reason
                    .contains("never issued"),
                "{never}"
            );
        }
        assert!(Iban::parse("ZZ82WEST12345698765432")
            .unwrap_err()
            .reason
            .contains("country"));
    }
}
