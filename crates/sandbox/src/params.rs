//! Which parameters the sandbox accepts, as Stripe would: known roots only, well-formed
//! emails, the account fields a create or an update may carry.

use super::*;

pub(super) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

pub(super) fn new_id(rng: &mut StdRng, prefix: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let tail: String = (0..16)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{prefix}_{tail}")
}

pub(super) const ACCOUNT_ROOTS: &[&str] = &[
    "type",
    "country",
    "email",
    "business_type",
    "business_profile",
    "company",
    "individual",
    "external_account",
    "tos_acceptance",
    "capabilities",
    "metadata",
    "default_currency",
    "settings",
];
pub(super) const PERSON_ROOTS: &[&str] = &[
    "first_name",
    "last_name",
    "email",
    "phone",
    "dob",
    "id_number",
    "ssn_last_4",
    "address",
    "relationship",
    "metadata",
    "nationality",
];

pub(super) fn root(key: &str) -> &str {
    key.split('[').next().unwrap_or(key)
}

pub(super) fn check_roots(params: &Params, allowed: &[&str]) -> Result<(), Refusal> {
    if let Some(k) = params.keys().find(|k| !allowed.contains(&root(k))) {
        return Err(invalid(
            k,
            format!("Received unknown parameter: {}", root(k)),
        ));
    }
    Ok(())
}

pub(super) fn check_email(params: &Params, key: &str) -> Result<(), Refusal> {
    if let Some(email) = params.get(key) {
        let domain = email.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
        if !domain.contains('.') || domain.to_ascii_lowercase().ends_with(".invalid") {
            // Stripe quotes the value back, as here: the client must keep such messages sealed.
            return Err(invalid(key, format!("Invalid email address: {email}")));
        }
    }
    Ok(())
}

pub(super) fn check_account_params(params: &Params, creating: bool) -> Result<(), Refusal> {
    check_roots(params, ACCOUNT_ROOTS)?;
    if creating {
        match params.get("type") {
            Some("custom") => {}
            Some(_) => return Err(invalid("type", "Only custom accounts can be created here.")),
            None => return Err(invalid("type", "Missing required param: type.")),
        }
        if params.get("external_account[account_number]").is_none() {
            return Err(invalid(
                "external_account",
                "Missing required param: external_account[account_number].",
            ));
        }
    }
    check_email(params, "email")?;
    if let Some(mcc) = params.get("business_profile[mcc]") {
        if mcc.len() != 4 || !mcc.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(
                "business_profile[mcc]",
                "Invalid MCC: must be 4 digits.",
            ));
        }
    }
    if let Some(tax) = params.get("company[tax_id]") {
        if tax.len() != 9 || !tax.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("company[tax_id]", "The tax ID must be 9 digits."));
        }
    }
    if let Some(url) = params.get("business_profile[url]") {
        let ok = (url.starts_with("https://") || url.starts_with("http://"))
            && url.split("//").nth(1).is_some_and(|h| h.contains('.'));
        if !ok {
            return Err(invalid("business_profile[url]", "Not a valid URL"));
        }
    }
    Ok(())
}
