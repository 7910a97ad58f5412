use super::text::FieldError;

/// An email address: one `@`, a non-empty local part, a dotted domain, no spaces; at most 254.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        const FIELD: &str = "email";
        let s = input.trim();
        let bad = || FieldError::new(FIELD, "must look like name@example.com");
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        super::text::refuse_hidden(FIELD, s)?;
        let s = super::text::nfc(s);
        let (local, domain) = s.split_once('@').ok_or_else(bad)?;
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty() && l.len() <= 63 && !l.starts_with('-') && !l.ends_with('-')
            })
            && labels
                .iter()
                .all(|l| l.chars().all(|c| c.is_alphanumeric() || c == '-'));
        if local.is_empty() || local.len() > 64 || domain.contains('@') || !domain_ok {
            return Err(bad());
        }
        Ok(Self(format!("{local}@{}", domain.to_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A phone number in E.164 form: `+`, country code, 8–15 digits in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        const FIELD: &str = "phone";
        let s = input.trim();
        let Some(rest) = s.strip_prefix('+') else {
            return Err(FieldError::new(
                FIELD,
                "must start with + and the country code (E.164)",
            ));
        };
        let mut d = String::new();
        for c in rest.chars() {
            match c {
                '0'..='9' => d.push(c),
                ' ' | '-' | '(' | ')' | '.' => {}
                _ => {
                    return Err(FieldError::new(
                        FIELD,
                        "may contain only digits after the +",
                    ))
                }
            }
        }
        if !(8..=15).contains(&d.len()) || d.starts_with('0') {
            return Err(FieldError::new(
                FIELD,
                "must have 8 to 15 digits after the + (E.164)",
            ));
        }
        Ok(Self(format!("+{d}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A website: http(s) URL with a dotted host, no credentials, at most 2,000 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebsiteUrl(String);

impl WebsiteUrl {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        const FIELD: &str = "website";
        let s = input.trim();
        let bad = |why: &str| FieldError::new(FIELD, why.to_string());
        super::text::refuse_hidden(FIELD, s)?;
        if s.len() > 2000 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("must be a web address without spaces"));
        }
        let lower = s.to_ascii_lowercase();
        let rest = lower
            .strip_prefix("https://")
            .or_else(|| lower.strip_prefix("http://"))
            .ok_or_else(|| bad("must start with https:// or http://"))?;
        let host_port = rest.split(['/', '?', '#']).next().unwrap_or("");
        if host_port.contains('@') {
            return Err(bad("must not contain a user name or password"));
        }
        if host_port.starts_with('[') {
            return Err(bad("must name a domain, not an IP address"));
        }
        let host = host_port.split(':').next().unwrap_or("");
        let labels: Vec<&str> = host.split('.').collect();
        if labels.len() < 2
            || labels
                .iter()
                .any(|l| l.is_empty() || !l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        {
            return Err(bad("must have a domain name such as example.com"));
        }
        // A registrable domain ends in a top-level domain of letters (or an IDN's xn--): an
        // IPv4 literal (`127.0.0.1`) or an all-digit host names no business.
        let tld = labels[labels.len() - 1];
        let tld_ok = (tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()))
            || tld.starts_with("xn--");
        if !tld_ok {
            return Err(bad("must name a domain, not an IP address"));
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// ISO 3166-1 alpha-2 country codes.
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS \
BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM \
FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP \
KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV \
MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD \
SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC \
VE VG VI VN VU WF WS YE YT ZA ZM ZW";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    pub fn parse(field: &'static str, input: &str) -> Result<Self, FieldError> {
        let s = input.trim().to_ascii_uppercase();
        if s.len() == 2 && COUNTRIES.split_whitespace().any(|c| c == s) {
            let b = s.as_bytes();
            Ok(Self([b[0], b[1]]))
        } else {
            Err(FieldError::new(
                field,
                "must be a two-letter ISO 3166 country code",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

/// US states, DC and territories (USPS codes).
const US_STATES: &str = "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM \
NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY AS GU MP PR VI";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UsState([u8; 2]);

impl UsState {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s = input.trim().to_ascii_uppercase();
        if s.len() == 2 && US_STATES.split_whitespace().any(|c| c == s) {
            let b = s.as_bytes();
            Ok(Self([b[0], b[1]]))
        } else {
            Err(FieldError::new(
                "state",
                "must be a two-letter US state code",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

/// A US ZIP code: 5 digits or ZIP+4.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipCode(String);

impl ZipCode {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s = input.trim();
        let ok = match s.len() {
            5 => s.chars().all(|c| c.is_ascii_digit()),
            10 => {
                s.as_bytes()[5] == b'-'
                    && s[..5]
                        .chars()
                        .chain(s[6..].chars())
                        .all(|c| c.is_ascii_digit())
            }
            _ => false,
        };
        if ok {
            Ok(Self(s.to_string()))
        } else {
            Err(FieldError::new(
                "postal code",
                "must be a ZIP code (12345 or 12345-6789)",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse(" Ops@Example.COM ").unwrap().as_str(),
            "Ops@example.com"
        );
        for bad in [
            "nobody",
            "a@b",
            "a b@example.com",
            "@example.com",
            "a@@example.com",
            "a@-x.com",
            "ops\u{202E}moc@example.com",
            "o\u{200B}ps@example.com",
        ] {
            assert_eq!(Email::parse(bad).unwrap_err().field, "email", "{bad}");
        }
    }

    #[test]
    fn phones_are_e164() {
        assert_eq!(
            Phone::parse("+1 (415) 555-0100").unwrap().as_str(),
            "+14155550100"
        );
        assert!(Phone::parse("415 555 0100")
            .unwrap_err()
            .reason
            .contains("E.164"));
        assert!(Phone::parse("+1234").is_err());
        assert!(Phone::parse("+1415555010x").is_err());
    }

    #[test]
    fn websites() {
        assert!(WebsiteUrl::parse("https://shop.example.com/about").is_ok());
        assert!(WebsiteUrl::parse("ftp://example.com").is_err());
        assert!(WebsiteUrl::parse("https://localhost").is_err());
        assert!(WebsiteUrl::parse("https://user:pw@example.com")
            .unwrap_err()
            .reason
            .contains("password"));
        assert!(WebsiteUrl::parse("javascript:alert(1)").is_err());
        for ip in [
            "https://127.0.0.1/",
            "http://192.0.2.10:8080/shop",
            "https://[::1]/",
            "https://10.0.0.1",
        ] {
            assert!(
                WebsiteUrl::parse(ip)
                    .unwrap_err()
                    .reason
                    .contains("not an IP address"),
                "{ip}"
            );
        }
        assert!(WebsiteUrl::parse("https://xn--bcher-kva.example/").is_ok());
        assert!(WebsiteUrl::parse("https://shop.example.com/\u{202E}x").is_err());
    }

    #[test]
    fn countries_states_and_zips() {
        assert_eq!(CountryCode::parse("country", "us").unwrap().as_str(), "US");
        assert!(CountryCode::parse("country", "XX").is_err());
        assert_eq!(UsState::parse("ca").unwrap().as_str(), "CA");
        assert!(UsState::parse("ZZ").is_err());
        assert!(ZipCode::parse("94107").is_ok());
        assert!(ZipCode::parse("94107-1234").is_ok());
        assert!(ZipCode::parse("9410").is_err());
        assert!(ZipCode::parse("94107 1234").is_err());
    }
}
