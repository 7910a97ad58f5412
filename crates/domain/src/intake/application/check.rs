//! Checking a form: every field parsed into its typed value and written back normalised, with
//! every problem named by its field path.

use super::*;

/// Collects the problems of one check.
struct Checker {
    errors: Vec<FieldError>,
    complete: bool,
}

impl Checker {
    /// Parses a filled field (or reports a missing required one) and returns the normalised
    /// text; a blank optional field stays blank.
    fn field<T>(
        &mut self,
        path: &str,
        value: &str,
        required: bool,
        parse: impl FnOnce(&str) -> Result<T, FieldError>,
        show: impl FnOnce(T) -> String,
    ) -> String {
        if value.trim().is_empty() {
            if required && self.complete {
                self.errors.push(FieldError::new(path, "is required"));
            }
            return String::new();
        }
        match parse(value) {
            Ok(v) => show(v),
            Err(e) => {
                self.errors.push(e.at(path));
                value.to_string()
            }
        }
    }

    fn text(&mut self, path: &str, value: &str, max: usize, required: bool) -> String {
        self.field(path, value, required, |v| clean_text("", v, max), |v| v)
    }

    fn error(&mut self, path: impl Into<String>, reason: impl Into<String>) {
        self.errors.push(FieldError::new(path, reason));
    }

    fn address(&mut self, path: &str, a: &AddressForm, required: bool) -> AddressForm {
        let country = self.field(
            &format!("{path}.country"),
            &a.country,
            required,
            |v| CountryCode::parse("", v),
            |c| c.as_str().to_string(),
        );
        let us = country == "US";
        AddressForm {
            line1: self.text(&format!("{path}.line1"), &a.line1, 100, required),
            line2: self.text(&format!("{path}.line2"), &a.line2, 100, false),
            city: self.text(&format!("{path}.city"), &a.city, 60, required),
            state: if us {
                self.field(
                    &format!("{path}.state"),
                    &a.state,
                    required,
                    UsState::parse,
                    |s| s.as_str().to_string(),
                )
            } else {
                self.text(&format!("{path}.state"), &a.state, 60, false)
            },
            postal_code: if us {
                self.field(
                    &format!("{path}.postal_code"),
                    &a.postal_code,
                    required,
                    ZipCode::parse,
                    |z| z.as_str().to_string(),
                )
            } else {
                self.text(&format!("{path}.postal_code"), &a.postal_code, 16, false)
            },
            country,
        }
    }
}

fn is_blank(a: &AddressForm) -> bool {
    [
        &a.line1,
        &a.line2,
        &a.city,
        &a.state,
        &a.postal_code,
        &a.country,
    ]
    .iter()
    .all(|f| f.trim().is_empty())
}

/// A calendar date `YYYY-MM-DD` not after `today`.
fn past_date(input: &str, today: Date) -> Result<Date, FieldError> {
    let bad = || FieldError::new("", "must be a date as YYYY-MM-DD");
    let mut parts = input.trim().splitn(3, '-');
    let mut next = |len: usize| {
        parts
            .next()
            .filter(|p| p.len() == len && p.chars().all(|c| c.is_ascii_digit()))
            .and_then(|p| p.parse::<i32>().ok())
    };
    let (y, m, d) = (next(4), next(2), next(2));
    let (Some(y), Some(m), Some(d)) = (y, m, d) else {
        return Err(bad());
    };
    let month = u8::try_from(m)
        .ok()
        .and_then(|m| Month::try_from(m).ok())
        .ok_or_else(bad)?;
    let date = Date::from_calendar_date(y, month, u8::try_from(d).map_err(|_| bad())?)
        .map_err(|_| bad())?;
    if y < 1800 {
        return Err(FieldError::new("", "must be after 1800"));
    }
    if date > today {
        return Err(FieldError::new("", "must not be in the future"));
    }
    Ok(date)
}

fn id_ok(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 40
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl ApplicationForm {
    /// Checks every field; returns the normalised form, or every problem found.
    pub fn check(
        &self,
        now: OffsetDateTime,
        completeness: Completeness,
    ) -> Result<ApplicationForm, Vec<FieldError>> {
        let today = now.date();
        let mut c = Checker {
            errors: Vec::new(),
            complete: completeness == Completeness::Complete,
        };
        let b = &self.business;
        let entity = c.field(
            "business.entity_type",
            &b.entity_type,
            true,
            |v| {
                EntityType::parse(v).ok_or_else(|| {
                    FieldError::new(
                        "",
                        "must be one of sole_proprietorship, single_member_llc, multi_member_llc, \
                         private_corporation, public_corporation, partnership, non_profit, \
                         government_entity",
                    )
                })
            },
            |e| e.as_str().to_string(),
        );
        let sole = EntityType::parse(&entity).is_some_and(EntityType::owner_is_business);
        let incorporation_country = c.field(
            "business.incorporation_country",
            &b.incorporation_country,
            !sole,
            |v| CountryCode::parse("", v),
            |v| v.as_str().to_string(),
        );
        let business = BusinessForm {
            legal_name: c.text("business.legal_name", &b.legal_name, 200, true),
            dba: c.text("business.dba", &b.dba, 200, false),
            ein: c.field("business.ein", &b.ein, !sole, Ein::parse, |e| e.to_string()),
            incorporation_date: c.field(
                "business.incorporation_date",
                &b.incorporation_date,
                !sole,
                |v| past_date(v, today),
                |d| d.to_string(),
            ),
            incorporation_state: if incorporation_country == "US" {
                c.field(
                    "business.incorporation_state",
                    &b.incorporation_state,
                    !sole,
                    UsState::parse,
                    |s| s.as_str().to_string(),
                )
            } else {
                c.text(
                    "business.incorporation_state",
                    &b.incorporation_state,
                    60,
                    false,
                )
            },
            incorporation_country,
            address: c.address("business.address", &b.address, true),
            operating_address: if is_blank(&b.operating_address) {
                AddressForm::default()
            } else {
                let saved = c.complete;
                c.complete = true;
                let a = c.address("business.operating_address", &b.operating_address, true);
                c.complete = saved;
                a
            },
            phone: c.field("business.phone", &b.phone, true, Phone::parse, |p| {
                p.as_str().to_string()
            }),
            email: c.field("business.email", &b.email, true, Email::parse, |e| {
                e.as_str().to_string()
            }),
            website: c.field(
                "business.website",
                &b.website,
                false,
                WebsiteUrl::parse,
                |w| w.as_str().to_string(),
            ),
            mcc: c.field("business.mcc", &b.mcc, true, Mcc::parse, |m| {
                m.code().to_string()
            }),
            product_description: c.text(
                "business.product_description",
                &b.product_description,
                500,
                true,
            ),
            monthly_volume: c.field(
                "business.monthly_volume",
                &b.monthly_volume,
                true,
                Amount::parse,
                |a| a.to_string(),
            ),
            average_ticket: c.field(
                "business.average_ticket",
                &b.average_ticket,
                true,
                Amount::parse,
                |a| a.to_string(),
            ),
            max_ticket: c.field(
                "business.max_ticket",
                &b.max_ticket,
                true,
                Amount::parse,
                |a| a.to_string(),
            ),
            card_present_percent: c.field(
                "business.card_present_percent",
                &b.card_present_percent,
                true,
                |v| Percent::parse("", v),
                |p| p.to_string(),
            ),
            entity_type: entity,
        };
        if let (Ok(avg), Ok(max)) = (
            Amount::parse(&business.average_ticket),
            Amount::parse(&business.max_ticket),
        ) {
            if avg > max {
                c.error(
                    "business.average_ticket",
                    "must not be more than the maximum ticket",
                );
            }
        }
        if let (Ok(avg), Ok(volume)) = (
            Amount::parse(&business.average_ticket),
            Amount::parse(&business.monthly_volume),
        ) {
            if avg > volume {
                c.error(
                    "business.average_ticket",
                    "must not be more than the monthly volume",
                );
            }
        }

        let people = self.check_people(&mut c, today, sole);
        let bank = self.check_bank(&mut c);
        let t = &self.terms;
        let terms = TermsForm {
            accepted_at: c.field(
                "terms.accepted_at",
                &t.accepted_at,
                true,
                |v| {
                    let at = OffsetDateTime::parse(v.trim(), &Rfc3339).map_err(|_| {
                        FieldError::new("", "must be a timestamp like 2026-01-31T14:05:00Z")
                    })?;
                    if at > now + time::Duration::minutes(5) {
                        return Err(FieldError::new("", "must not be in the future"));
                    }
                    Ok(at)
                },
                |at| at.format(&Rfc3339).unwrap_or_default(),
            ),
            signer_name: c.text("terms.signer_name", &t.signer_name, 100, true),
            ip: c.field(
                "terms.ip",
                &t.ip,
                true,
                |v| {
                    v.trim()
                        .parse::<IpAddr>()
                        .map_err(|_| FieldError::new("", "must be an IPv4 or IPv6 address"))
                },
                |ip| ip.to_string(),
            ),
            user_agent: c.text("terms.user_agent", &t.user_agent, 512, true),
        };

        if c.errors.is_empty() {
            Ok(ApplicationForm {
                business,
                people,
                bank,
                terms,
            })
        } else {
            Err(c.errors)
        }
    }

    fn check_people(&self, c: &mut Checker, today: Date, sole: bool) -> Vec<PersonForm> {
        let today = (today.year(), u8::from(today.month()), today.day());
        if self.people.len() > MAX_PEOPLE {
            c.error(
                "people",
                format!(
                    "at most {MAX_PEOPLE} people: the owners of 25% or more and one control person"
                ),
            );
            return Vec::new();
        }
        if c.complete && self.people.is_empty() {
            c.error("people", "add the owners and the control person");
        }
        if sole && self.people.len() > 1 {
            c.error(
                "people",
                "a sole proprietorship has exactly one person: its owner",
            );
        }
        let controls = self.people.iter().filter(|p| p.is_control || sole).count();
        if (controls > 1 && !sole) || (c.complete && controls == 0 && !self.people.is_empty()) {
            c.error("people", "exactly one person must be the control person");
        }
        let mut total = 0u32;
        let mut out = Vec::with_capacity(self.people.len());
        for (i, p) in self.people.iter().enumerate() {
            let at = |f: &str| format!("people[{i}].{f}");
            if !id_ok(&p.id) {
                c.error(at("id"), "must be 1–40 letters, digits, - or _");
            }
            let ownership = if sole {
                "100".to_string()
            } else {
                c.field(
                    &at("ownership_percent"),
                    &p.ownership_percent,
                    false,
                    |v| Percent::parse("", v),
                    |v| v.to_string(),
                )
            };
            let pct = Percent::parse("", &ownership).ok();
            total += pct.map_or(0, Percent::ten_thousandths);
            let owner = pct.is_some_and(|p| !p.is_zero());
            if owner && !p.is_control && pct.is_some_and(|p| !p.at_least(25)) {
                c.error(
                    at("ownership_percent"),
                    "beneficial owners own 25% or more; someone who owns less is collected only as the control person",
                );
            }
            if c.complete && !owner && !p.is_control {
                c.error(
                    at("ownership_percent"),
                    "is required for an owner who is not the control person",
                );
            }
            let ssn = c.field(&at("ssn"), &p.ssn, false, Ssn::parse, |s| s.to_string());
            let itin = c.field(&at("itin"), &p.itin, false, Itin::parse, |s| s.to_string());
            let passport_number = c.field(
                &at("passport_number"),
                &p.passport_number,
                false,
                PassportNumber::parse,
                |s| s.as_str().to_string(),
            );
            let passport_country = c.field(
                &at("passport_country"),
                &p.passport_country,
                false,
                |v| CountryCode::parse("", v),
                |v| v.as_str().to_string(),
            );
            if !ssn.is_empty() && !itin.is_empty() {
                c.error(at("itin"), "give an SSN or an ITIN, not both");
            }
            if !passport_number.is_empty() && passport_country.is_empty() && c.complete {
                c.error(at("passport_country"), "is required with a passport number");
            }
            let address = c.address(&at("address"), &p.address, true);
            if c.complete && ssn.is_empty() && itin.is_empty() && passport_number.is_empty() {
                let reason = if address.country == "US" {
                    "is required: an SSN or an ITIN for a US person"
                } else {
                    "is required: an SSN, an ITIN or a passport number"
                };
                c.error(at("ssn"), reason);
            }
            out.push(PersonForm {
                id: p.id.clone(),
                first_name: c.text(&at("first_name"), &p.first_name, 100, true),
                last_name: c.text(&at("last_name"), &p.last_name, 100, true),
                title: c.text(&at("title"), &p.title, 100, p.is_control),
                dob: c.field(
                    &at("dob"),
                    &p.dob,
                    true,
                    |v| DateOfBirth::parse(v, today),
                    |d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day),
                ),
                ssn,
                itin,
                passport_number,
                passport_country,
                address,
                email: c.field(&at("email"), &p.email, true, Email::parse, |e| {
                    e.as_str().to_string()
                }),
                phone: c.field(&at("phone"), &p.phone, false, Phone::parse, |v| {
                    v.as_str().to_string()
                }),
                ownership_percent: ownership,
                is_control: p.is_control || sole,
            });
        }
        if total > Percent::ALL {
            c.error("people", "ownership adds up to more than 100%");
        }
        out
    }

    fn check_bank(&self, c: &mut Checker) -> BankForm {
        let k = &self.bank;
        let country = c.field(
            "bank.country",
            &k.country,
            true,
            |v| CountryCode::parse("", v),
            |v| v.as_str().to_string(),
        );
        let us = country == "US" || country.is_empty();
        BankForm {
            holder_name: c.text("bank.holder_name", &k.holder_name, 100, true),
            routing_number: c.field(
                "bank.routing_number",
                &k.routing_number,
                us,
                RoutingNumber::parse,
                |r| r.as_str().to_string(),
            ),
            account_number: c.field(
                "bank.account_number",
                &k.account_number,
                us,
                AccountNumber::parse,
                |a| a.as_str().to_string(),
            ),
            account_type: c.field(
                "bank.account_type",
                &k.account_type,
                us,
                |v| {
                    BankAccountType::parse(v)
                        .ok_or_else(|| FieldError::new("", "must be checking or savings"))
                },
                |t| t.as_str().to_string(),
            ),
            iban: c.field("bank.iban", &k.iban, !us, Iban::parse, |i| {
                i.as_str().to_string()
            }),
            country,
        }
    }
}
