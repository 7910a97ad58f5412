//! Realistic, valid demo applications, deterministic for a seed: for demos, tests and the
//! benchmarks. Every value is made up but passes the same rules as real input (EIN prefixes,
//! SSN ranges, ABA checksums, ownership rules).

use domain::intake::{
    AddressForm, ApplicationForm, BankForm, BusinessForm, Mcc, MccTier, PersonForm, TermsForm,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::import::{self, ImportReport, Progress};
use crate::session::SessionSlot;
use crate::Result;

const ADJECTIVES: &[&str] = &[
    "Blue",
    "Harbor",
    "Summit",
    "Golden",
    "Maple",
    "Cedar",
    "Northern",
    "Silver",
    "Prairie",
    "Coastal",
    "Granite",
    "Lucky",
    "Bright",
    "Evergreen",
    "Urban",
    "Rustic",
    "Pioneer",
    "Sunset",
    "Riverside",
    "Copper",
];
const NOUNS: &[&str] = &[
    "Coffee",
    "Bakery",
    "Outfitters",
    "Books",
    "Fitness",
    "Florist",
    "Auto Care",
    "Pet Supply",
    "Hardware",
    "Tailors",
    "Kitchen",
    "Dental",
    "Studio",
    "Market",
    "Cyclery",
    "Salon",
    "Print Shop",
    "Tea House",
    "Games",
    "Electronics",
];
const FIRST: &[&str] = &[
    "Maria", "James", "Wei", "Aisha", "Carlos", "Priya", "John", "Fatima", "David", "Olga",
    "Kenji", "Grace", "Mohammed", "Elena", "Samuel", "Linh", "Patrick", "Ana", "Noah", "Zoe",
];
const LAST: &[&str] = &[
    "Garcia",
    "Smith",
    "Chen",
    "Okafor",
    "Rodriguez",
    "Patel",
    "Johnson",
    "Haddad",
    "Kim",
    "Novak",
    "Tanaka",
    "Williams",
    "Rahman",
    "Rossi",
    "Brown",
    "Nguyen",
    "Murphy",
    "Silva",
    "Cohen",
    "Lee",
];
const STREETS: &[&str] = &[
    "Main St",
    "Oak Ave",
    "Market St",
    "Pine St",
    "2nd Ave",
    "Elm St",
    "Broadway",
    "Park Rd",
    "Lake Dr",
    "Washington Blvd",
];
/// (city, state, ZIP prefix, phone area code)
const CITIES: &[(&str, &str, &str, &str)] = &[
    ("Austin", "TX", "787", "512"),
    ("Portland", "OR", "972", "503"),
    ("Denver", "CO", "802", "303"),
    ("Chicago", "IL", "606", "312"),
    ("Atlanta", "GA", "303", "404"),
    ("Boston", "MA", "021", "617"),
    ("Seattle", "WA", "981", "206"),
    ("Miami", "FL", "331", "305"),
    ("Phoenix", "AZ", "850", "602"),
    ("Columbus", "OH", "432", "614"),
    ("Nashville", "TN", "372", "615"),
    ("San Diego", "CA", "921", "619"),
];
const EIN_PREFIXES: &[u32] = &[
    10, 12, 20, 22, 26, 27, 30, 33, 35, 38, 41, 45, 46, 47, 52, 54, 56, 58, 61, 65, 71, 74, 81, 84,
    86, 88, 91, 93, 98,
];
const ROUTING_PREFIXES: &[u32] = &[
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 21, 22, 26, 31, 32, 61, 63, 67, 71, 72, 70,
];
const ENTITIES: &[(&str, u32)] = &[
    ("sole_proprietorship", 15),
    ("single_member_llc", 30),
    ("multi_member_llc", 20),
    ("private_corporation", 20),
    ("partnership", 8),
    ("non_profit", 5),
    ("public_corporation", 2),
];

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.gen_range(0..items.len())]
}

fn routing_number(rng: &mut StdRng) -> String {
    let head = format!(
        "{:02}{:06}",
        pick(rng, ROUTING_PREFIXES),
        rng.gen_range(0..1_000_000)
    );
    let d: Vec<u32> = head.bytes().map(|b| u32::from(b - b'0')).collect();
    let sum = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5]);
    format!("{head}{}", (10 - sum % 10) % 10)
}

fn ssn(rng: &mut StdRng) -> String {
    loop {
        let area = rng.gen_range(1..900);
        if area == 666 {
            continue;
        }
        let s = format!(
            "{area:03}-{:02}-{:04}",
            rng.gen_range(1..100),
            rng.gen_range(1..10_000)
        );
        if domain::intake::Ssn::parse(&s).is_ok() {
            return s;
        }
    }
}

fn address(rng: &mut StdRng) -> (AddressForm, &'static str) {
    let (city, state, zip, area) = *pick(rng, CITIES);
    (
        AddressForm {
            line1: format!("{} {}", rng.gen_range(1..9999), pick(rng, STREETS)),
            line2: if rng.gen_bool(0.2) {
                format!("Suite {}", rng.gen_range(100..999))
            } else {
                String::new()
            },
            city: city.into(),
            state: state.into(),
            postal_code: format!("{zip}{:02}", rng.gen_range(0..100)),
            country: "US".into(),
        },
        area,
    )
}

fn person(rng: &mut StdRng, id: usize, ownership: u32, control: bool) -> PersonForm {
    let (first, last) = (*pick(rng, FIRST), *pick(rng, LAST));
    let (addr, area) = address(rng);
    PersonForm {
        id: format!("person{id}"),
        first_name: first.into(),
        last_name: last.into(),
        title: if control {
            pick(rng, &["Owner", "CEO", "Managing Member", "President"]).to_string()
        } else {
            "Owner".into()
        },
        dob: format!(
            "{}-{:02}-{:02}",
            rng.gen_range(1950..2000),
            rng.gen_range(1..13),
            rng.gen_range(1..29)
        ),
        ssn: ssn(rng),
        address: addr,
        email: format!(
            "{}.{}{}@example.com",
            first.to_lowercase(),
            last.to_lowercase(),
            rng.gen_range(1..999)
        ),
        phone: format!("+1{area}555{:04}", rng.gen_range(0..10_000)),
        ownership_percent: if ownership == 0 {
            String::new()
        } else {
            ownership.to_string()
        },
        is_control: control,
        ..PersonForm::default()
    }
}

fn mcc(rng: &mut StdRng) -> &'static str {
    let roll = rng.gen_range(0..100);
    let tier = match roll {
        0..=1 => MccTier::Prohibited,
        2..=9 => MccTier::HighRisk,
        _ => MccTier::Standard,
    };
    let codes: Vec<&'static str> = Mcc::table()
        .filter(|m| m.tier == tier)
        .map(|m| m.code)
        .collect();
    codes[rng.gen_range(0..codes.len())]
}

/// One valid application.
fn application(rng: &mut StdRng) -> ApplicationForm {
    let total: u32 = ENTITIES.iter().map(|(_, w)| w).sum();
    let mut roll = rng.gen_range(0..total);
    let entity = ENTITIES
        .iter()
        .find(|(_, w)| {
            if roll < *w {
                true
            } else {
                roll -= w;
                false
            }
        })
        .map_or("single_member_llc", |(e, _)| e);
    let sole = entity == "sole_proprietorship";
    let name = format!("{} {}", pick(rng, ADJECTIVES), pick(rng, NOUNS));
    let suffix = match entity {
        "single_member_llc" | "multi_member_llc" => " LLC",
        "private_corporation" | "public_corporation" => " Inc.",
        "partnership" => " LP",
        "non_profit" => " Foundation",
        _ => "",
    };
    let (addr, area) = address(rng);
    let monthly = rng.gen_range(5..500) * 1_000;
    let average = rng.gen_range(20..400);
    let max = (average * rng.gen_range(2..20)).min(monthly);

    let people = if sole {
        vec![person(rng, 1, 100, true)]
    } else {
        let owners = match entity {
            "single_member_llc" => 1,
            _ => rng.gen_range(1..=3),
        };
        let mut left = 100;
        let mut people = Vec::new();
        for i in 0..owners {
            let share = if i + 1 == owners {
                left
            } else {
                rng.gen_range(25..=(left - 25 * (owners - i - 1)).min(60))
            };
            left -= share;
            people.push(person(rng, i as usize + 1, share, i == 0));
        }
        if rng.gen_bool(0.25) {
            // A hired manager as the control person, owning nothing.
            people[0].is_control = false;
            people[0].title = "Owner".into();
            people.push(person(rng, owners as usize + 1, 0, true));
        }
        people
    };
    let control = people
        .iter()
        .find(|p| p.is_control)
        .cloned()
        .unwrap_or_default();
    let legal_name = if sole {
        format!("{} {}", control.first_name, control.last_name)
    } else {
        format!("{name}{suffix}")
    };
    // Businesses of the same name exist; their domains and mailboxes do not coincide.
    let domain_name = format!(
        "{}{}",
        name.to_lowercase().replace(' ', ""),
        rng.gen_range(1..100_000)
    );
    ApplicationForm {
        business: BusinessForm {
            legal_name: legal_name.clone(),
            dba: name.clone(),
            entity_type: entity.into(),
            ein: if sole && rng.gen_bool(0.5) {
                String::new()
            } else {
                format!(
                    "{:02}-{:07}",
                    pick(rng, EIN_PREFIXES),
                    rng.gen_range(0..10_000_000)
                )
            },
            incorporation_date: format!(
                "{}-{:02}-{:02}",
                rng.gen_range(1990..2026),
                rng.gen_range(1..13),
                rng.gen_range(1..29)
            ),
            incorporation_state: addr.state.clone(),
            incorporation_country: "US".into(),
            address: addr,
            operating_address: AddressForm::default(),
            phone: format!("+1{area}555{:04}", rng.gen_range(0..10_000)),
            email: format!("hello@{domain_name}.example"),
            website: if rng.gen_bool(0.85) {
                format!("https://{domain_name}.example")
            } else {
                String::new()
            },
            mcc: mcc(rng).into(),
            product_description: format!("{name}: goods and services sold in store and online"),
            monthly_volume: monthly.to_string(),
            average_ticket: average.to_string(),
            max_ticket: max.to_string(),
            card_present_percent: (rng.gen_range(0..=10) * 10).to_string(),
        },
        bank: BankForm {
            holder_name: legal_name,
            country: "US".into(),
            routing_number: routing_number(rng),
            account_number: format!("{}", rng.gen_range(10_000_000u64..999_999_999_999)),
            account_type: if rng.gen_bool(0.9) {
                "checking"
            } else {
                "savings"
            }
            .into(),
            iban: String::new(),
        },
        terms: TermsForm {
            accepted_at: format!(
                "2026-{:02}-{:02}T{:02}:{:02}:00Z",
                rng.gen_range(1..11),
                rng.gen_range(1..29),
                rng.gen_range(0..24),
                rng.gen_range(0..60)
            ),
            signer_name: format!("{} {}", control.first_name, control.last_name),
            ip: format!("198.51.100.{}", rng.gen_range(1..255)),
            user_agent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/605.1.15".into(),
        },
        people,
    }
}

/// `count` valid applications; the same seed always gives the same applications.
pub fn generate(count: usize, seed: u64) -> Vec<ApplicationForm> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count).map(|_| application(&mut rng)).collect()
}

/// `count` applications as an import CSV.
pub fn csv(count: usize, seed: u64) -> Vec<u8> {
    import::to_csv(&generate(count, seed))
}

/// Stores `count` demo applications (marked as demo data) through the import pipeline.
pub fn seed(
    slot: &mut SessionSlot,
    count: usize,
    seed: u64,
    progress: &mut dyn FnMut(Progress),
) -> Result<ImportReport> {
    // Nothing is generated for a caller without a writing session.
    slot.require(crate::session::Access::Write, "application.demo")?;
    let content = csv(count, seed);
    import::import_as(
        slot,
        "demo.csv",
        import::ImportFrom::Bytes(&content),
        vault::applications::Source::Demo,
        import::Duplicates::Warn,
        progress,
    )
}

/// A generated application that scores low (an established card-present shop), so one approver
/// suffices: boarding demos, tests and benchmarks start from these.
pub fn low_risk(seed: u64) -> ApplicationForm {
    let mut f = generate(1, seed).remove(0);
    f.business.mcc = "5734".into();
    f.business.card_present_percent = "90".into();
    f.business.incorporation_date = "2010-01-01".into();
    f.business.monthly_volume = "20000".into();
    f.business.average_ticket = "40".into();
    f.business.max_ticket = "200".into();
    f
}

/// Saves, submits, takes and approves `form` as the signed-in user (its boarding job is queued
/// with the approval); returns the application id. For demos, tests and benchmarks.
pub fn approve(slot: &mut SessionSlot, form: ApplicationForm) -> Result<String> {
    let view = super::save_draft(
        slot,
        super::SaveDraft {
            id: None,
            version: None,
            form,
        },
    )?;
    let id = view.summary.id.clone();
    super::submit(slot, &id, view.summary.version)?;
    crate::review::assign_to_me(slot, &id, false)?;
    let version = crate::review::review_view(slot, &id)?.row.version;
    crate::review::decide(
        slot,
        crate::review::DecideInput {
            id: id.clone(),
            version,
            decision: "approve".into(),
            reasons: vec!["low_risk".into()],
            note: "Checked the file and the evidence".into(),
            fields: Vec::new(),
            blocklist: false,
            blocklist_basis: None,
            confirmed_hits: Vec::new(),
        },
    )?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use domain::intake::Completeness;
    use time::OffsetDateTime;

    use super::*;

    #[test]
    fn every_generated_application_is_valid() {
        let now = OffsetDateTime::now_utc();
        for (i, form) in generate(2_000, 7).iter().enumerate() {
            if let Err(errors) = form.check(now, Completeness::Complete) {
                panic!("application {i} is invalid: {errors:?}");
            }
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_applications() {
        assert_eq!(generate(50, 42), generate(50, 42));
        assert_ne!(generate(50, 42), generate(50, 43));
    }

    #[test]
    fn the_mix_has_every_mcc_tier_and_sole_proprietors() {
        let forms = generate(1_000, 1);
        let tier = |t: MccTier| {
            forms
                .iter()
                .filter(|f| Mcc::parse(&f.business.mcc).unwrap().info().tier == t)
                .count()
        };
        assert!(tier(MccTier::Prohibited) > 0 && tier(MccTier::HighRisk) > 0);
        assert!(forms
            .iter()
            .any(|f| f.business.entity_type == "sole_proprietorship"));
        assert!(forms.iter().any(|f| f.people.len() >= 3));
    }
}
