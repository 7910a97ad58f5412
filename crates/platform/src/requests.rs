//! The requests boarding sends, built from an approved (checked, complete) application.
//!
//! Every builder returns a [`Request`]: method, path and form parameters in Stripe's nested
//! `a[b][c]=` form. A test validates every request these builders can produce against Stripe's
//! published OpenAPI spec (`../shared/testdata/stripe/spec3.json`).

use std::fmt;

use domain::intake::{AddressForm, Application, EntityType, Person};
use domain::merchant::MerchantStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Delete => "DELETE",
        }
    }
}

/// Form parameters in the order they were set. Values may be KYC data: `Debug` prints the keys
/// only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` (already in `a[b]` form) unless `value` is blank.
    pub fn set(&mut self, key: impl Into<String>, value: impl AsRef<str>) -> &mut Self {
        let value = value.as_ref().trim();
        if !value.is_empty() {
            self.0.push((key.into(), value.to_string()));
        }
        self
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `application/x-www-form-urlencoded` body, as the platform receives it.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push('&');
            }
            encode_component(k, &mut out);
            out.push('=');
            encode_component(v, &mut out);
        }
        out
    }

    /// Decodes a form body (the sandbox uses this).
    pub fn decode(body: &str) -> Self {
        let mut out = Params::new();
        for pair in body.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            out.0.push((decode_component(k), decode_component(v)));
        }
        out
    }
}

impl fmt::Debug for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.keys()).finish()
    }
}

fn encode_component(s: &str, out: &mut String) {
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
}

fn decode_component(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One API call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    pub path: String,
    pub params: Params,
}

impl Request {
    fn post(path: impl Into<String>, params: Params) -> Self {
        Self {
            method: Method::Post,
            path: path.into(),
            params,
        }
    }

    /// Whether the request changes state (counts against the write rate limit and carries an
    /// idempotency key).
    pub fn is_write(&self) -> bool {
        self.method != Method::Get
    }
}

/// A value the platform would refuse that our own validation allowed, found before sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsendable {
    /// Our form field (`business.legal_name`).
    pub field: String,
    pub reason: String,
}

/// `POST /v1/accounts`: a custom account with the business, its bank account, the terms
/// acceptance, the requested capabilities and our application id in the metadata.
pub fn create_account(app: &Application<'_>, application_id: &str) -> Result<Request, Unsendable> {
    let form = app.form;
    let mut p = Params::new();
    p.set("type", "custom")
        .set("country", country_of(&form.business.address));
    account_details(&mut p, app, true)?;
    let accepted = app.accepted_at.ok_or_else(|| Unsendable {
        field: "terms.accepted_at".into(),
        reason: "is not a timestamp".into(),
    })?;
    p.set(
        "tos_acceptance[date]",
        accepted.unix_timestamp().to_string(),
    )
    .set("tos_acceptance[ip]", &form.terms.ip)
    .set("tos_acceptance[user_agent]", &form.terms.user_agent)
    .set("capabilities[card_payments][requested]", "true")
    .set("capabilities[transfers][requested]", "true")
    .set("metadata[application_id]", application_id);
    Ok(Request::post("/v1/accounts", p))
}

/// `POST /v1/accounts/{account}` after an edit of a boarded merchant's details: the business
/// profile, email, the company (or a sole proprietor's individual) and, when it changed, the
/// payout bank account (Stripe replaces the default external account).
pub fn update_details(
    app: &Application<'_>,
    account: &str,
    bank_changed: bool,
) -> Result<Request, Unsendable> {
    let mut p = Params::new();
    account_details(&mut p, app, bank_changed)?;
    Ok(Request::post(format!("/v1/accounts/{account}"), p))
}

/// `POST /v1/accounts/{account}` after a minor edit: only the contact details — the business
/// profile, email, and a company's phone and address — so nothing the platform verified (tax
/// id, name, people, bank account) is sent again.
pub fn update_contact(app: &Application<'_>, account: &str) -> Result<Request, Unsendable> {
    let form = app.form;
    let mut p = Params::new();
    let entity = profile(&mut p, app, false)?;
    if !entity.owner_is_business() {
        p.set("company[phone]", &form.business.phone);
        address(&mut p, "company[address]", &form.business.address)?;
    }
    Ok(Request::post(format!("/v1/accounts/{account}"), p))
}

/// The email, the business type (with `business_type`) and the business profile, shared by
/// every account request, in the order boarding has always sent them (a queued job's retry
/// must send the same bytes); returns the entity type.
fn profile(
    p: &mut Params,
    app: &Application<'_>,
    business_type: bool,
) -> Result<EntityType, Unsendable> {
    let b = &app.form.business;
    let entity = app.entity.ok_or_else(|| Unsendable {
        field: "business.entity_type".into(),
        reason: "is not a known entity type".into(),
    })?;
    p.set("email", &b.email);
    if business_type {
        p.set("business_type", entity.stripe().0);
    }
    p.set("business_profile[mcc]", &b.mcc)
        .set("business_profile[url]", &b.website)
        .set(
            "business_profile[name]",
            if b.dba.trim().is_empty() {
                &b.legal_name
            } else {
                &b.dba
            },
        )
        .set(
            "business_profile[product_description]",
            &b.product_description,
        )
        .set("business_profile[support_phone]", &b.phone);
    Ok(entity)
}

/// What an account says about the business, shared by creating and updating it.
fn account_details(
    p: &mut Params,
    app: &Application<'_>,
    with_bank: bool,
) -> Result<(), Unsendable> {
    let form = app.form;
    let b = &form.business;
    let entity = profile(p, app, true)?;
    let structure = entity.stripe().1;
    if entity.owner_is_business() {
        let person = app.people.first().ok_or_else(|| Unsendable {
            field: "people".into(),
            reason: "a sole proprietor needs the owner's details".into(),
        })?;
        person_params(p, "individual", person, &b.address)?;
    } else {
        max_len("business.legal_name", &b.legal_name, 100)?;
        p.set("company[name]", &b.legal_name)
            .set(
                "company[tax_id]",
                app.ein.as_ref().map_or("", |e| e.digits()),
            )
            .set("company[phone]", &b.phone);
        address(p, "company[address]", &b.address)?;
        if let Some(structure) = structure {
            p.set("company[structure]", structure);
        }
    }
    if !with_bank {
        return Ok(());
    }
    let bank = &form.bank;
    let bank_country = if bank.country.trim().is_empty() {
        "US"
    } else {
        bank.country.trim()
    };
    p.set("external_account[object]", "bank_account")
        .set("external_account[country]", bank_country)
        .set("external_account[currency]", currency_of(bank_country))
        .set("external_account[account_holder_name]", &bank.holder_name)
        .set(
            "external_account[account_holder_type]",
            if entity.owner_is_business() {
                "individual"
            } else {
                "company"
            },
        );
    if bank.iban.trim().is_empty() {
        p.set("external_account[routing_number]", &bank.routing_number)
            .set("external_account[account_number]", &bank.account_number);
    } else {
        p.set(
            "external_account[account_number]",
            bank.iban.replace(' ', ""),
        );
    }
    Ok(())
}

/// The people boarding creates with `POST /v1/accounts/{id}/persons` (none for a sole
/// proprietor, whose owner went in `individual`).
pub fn persons_to_create(app: &Application<'_>) -> usize {
    if app.owner_is_business() {
        0
    } else {
        app.people.len()
    }
}

/// `POST /v1/accounts/{account}/persons` for `form.people[index]`.
pub fn create_person(
    app: &Application<'_>,
    index: usize,
    account: &str,
    application_id: &str,
) -> Result<Request, Unsendable> {
    person_request(
        app,
        index,
        format!("/v1/accounts/{account}/persons"),
        application_id,
    )
}

/// `POST /v1/accounts/{account}/persons/{person}`: `form.people[index]` as edited.
pub fn update_person(
    app: &Application<'_>,
    index: usize,
    account: &str,
    person: &str,
    application_id: &str,
) -> Result<Request, Unsendable> {
    person_request(
        app,
        index,
        format!("/v1/accounts/{account}/persons/{person}"),
        application_id,
    )
}

/// `DELETE /v1/accounts/{account}/persons/{person}`: someone no longer owner or control person.
pub fn delete_person(account: &str, person: &str) -> Request {
    Request {
        method: Method::Delete,
        path: format!("/v1/accounts/{account}/persons/{person}"),
        params: Params::new(),
    }
}

fn person_request(
    app: &Application<'_>,
    index: usize,
    path: String,
    application_id: &str,
) -> Result<Request, Unsendable> {
    let form = app.form;
    let typed = app.people.get(index).ok_or_else(|| Unsendable {
        field: format!("people[{index}]"),
        reason: "does not exist".into(),
    })?;
    let mut p = Params::new();
    let person = typed.form;
    person_params(&mut p, "", typed, &form.business.address).map_err(|e| Unsendable {
        field: format!("people[{index}].{}", e.field),
        reason: e.reason,
    })?;
    if typed.is_beneficial_owner() {
        p.set("relationship[owner]", "true")
            .set("relationship[percent_ownership]", &person.ownership_percent);
    }
    if person.is_control {
        p.set("relationship[representative]", "true")
            .set("relationship[executive]", "true");
    }
    p.set("relationship[title]", &person.title)
        .set("metadata[application_id]", application_id)
        .set("metadata[person_index]", index.to_string());
    Ok(Request::post(path, p))
}

/// `POST /v1/accounts/{account}`: every owner, director and executive has been provided; the
/// platform can verify the account.
pub fn mark_provided(app: &Application<'_>, account: &str) -> Request {
    let mut p = Params::new();
    if persons_to_create(app) > 0 {
        p.set("company[owners_provided]", "true")
            .set("company[directors_provided]", "true")
            .set("company[executives_provided]", "true");
    } else {
        p.set("metadata[persons]", "individual");
    }
    Request::post(format!("/v1/accounts/{account}"), p)
}

/// `POST /v1/accounts/{account}` with metadata only (restrictions recorded on the platform).
pub fn update_metadata(account: &str, metadata: &[(&str, &str)]) -> Request {
    let mut p = Params::new();
    for (k, v) in metadata {
        p.0.push((format!("metadata[{k}]"), (*v).to_string()));
    }
    Request::post(format!("/v1/accounts/{account}"), p)
}

/// A merchant's status as the platform sees it. Stripe has no "suspend" switch for a custom
/// account, so: `restricted` holds payouts (manual payout schedule: money stays on the account);
/// `suspended` also removes the `card_payments` capability (no new charges); `active` requests
/// both capabilities again and pays out daily. Our status and reason code go in the metadata.
pub fn merchant_status(account: &str, status: MerchantStatus, reason: &str) -> Request {
    let mut p = Params::new();
    match status {
        MerchantStatus::Restricted => {
            p.set("settings[payouts][schedule][interval]", "manual");
        }
        MerchantStatus::Suspended => {
            p.set("capabilities[card_payments][requested]", "false");
            p.set("settings[payouts][schedule][interval]", "manual");
        }
        // A termination is sent as `reject_account`; its status here only reaches metadata.
        MerchantStatus::Active | MerchantStatus::Terminated => {
            p.set("capabilities[card_payments][requested]", "true");
            p.set("capabilities[transfers][requested]", "true");
            p.set("settings[payouts][schedule][interval]", "daily");
        }
    }
    p.set("metadata[desk_status]", status.as_str());
    p.set("metadata[desk_status_reason]", reason);
    Request::post(format!("/v1/accounts/{account}"), p)
}

/// Our processing limits in the account's metadata (Stripe has no per-account volume cap;
/// an empty value removes a key).
pub fn merchant_limits(
    account: &str,
    monthly_cap_cents: Option<i64>,
    max_ticket_cents: Option<i64>,
) -> Request {
    let mut p = Params::new();
    for (key, value) in [
        ("metadata[desk_monthly_cap_cents]", monthly_cap_cents),
        ("metadata[desk_max_ticket_cents]", max_ticket_cents),
    ] {
        p.0.push((key.into(), value.map(|v| v.to_string()).unwrap_or_default()));
    }
    Request::post(format!("/v1/accounts/{account}"), p)
}

/// A queued `update` or `reject` rebuilt from the parameters stored with it (so every retry
/// sends exactly what was first sent).
///
/// An `update` job's step says what it updates: `send` the account, `update_person:{person}`
/// or `delete_person:{person}` one platform person, `new_person:{index}` a person to create.
pub fn stored(kind: &str, step: &str, account: &str, encoded: &str) -> Option<Request> {
    let params = Params::decode(encoded);
    let person = |prefix: &str| {
        step.strip_prefix(prefix).filter(|id| {
            !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
    };
    match kind {
        "update" if step == "send" => {
            Some(Request::post(format!("/v1/accounts/{account}"), params))
        }
        "update" if step.starts_with(NEW_PERSON) => Some(Request::post(
            format!("/v1/accounts/{account}/persons"),
            params,
        )),
        "update" => {
            if let Some(id) = person(UPDATE_PERSON) {
                Some(Request::post(
                    format!("/v1/accounts/{account}/persons/{id}"),
                    params,
                ))
            } else {
                person(DELETE_PERSON).map(|id| delete_person(account, id))
            }
        }
        "reject" if step == DELETE_ACCOUNT => Some(delete_account(account)),
        "reject" => Some(Request::post(
            format!("/v1/accounts/{account}/reject"),
            params,
        )),
        _ => None,
    }
}

/// The step of the `reject` job an erasure queues: the account is deleted (see [`stored`]).
pub const DELETE_ACCOUNT: &str = "delete_account";

/// Steps of `update` jobs that touch a platform person (see [`stored`]).
pub const UPDATE_PERSON: &str = "update_person:";
pub const DELETE_PERSON: &str = "delete_person:";
pub const NEW_PERSON: &str = "new_person:";

/// `POST /v1/accounts/{account}/reject` with one of Stripe's reasons (`fraud`,
/// `terms_of_service`, `other`).
pub fn reject_account(account: &str, reason: &str) -> Request {
    let mut p = Params::new();
    p.set("reason", reason);
    Request::post(format!("/v1/accounts/{account}/reject"), p)
}

/// `DELETE /v1/accounts/{account}`: what a GDPR erasure asks of the platform for a terminated
/// merchant (no parameters; the platform answers a `deleted_account`).
pub fn delete_account(account: &str) -> Request {
    Request {
        method: Method::Delete,
        path: format!("/v1/accounts/{account}"),
        params: Params::new(),
    }
}

/// `GET /v1/accounts/{account}`.
pub fn retrieve_account(account: &str) -> Request {
    Request {
        method: Method::Get,
        path: format!("/v1/accounts/{account}"),
        params: Params::new(),
    }
}

/// `GET /v1/accounts?limit=1`: the cheapest authenticated call, for "test connection".
pub fn ping() -> Request {
    let mut p = Params::new();
    p.set("limit", "1");
    Request {
        method: Method::Get,
        path: "/v1/accounts".into(),
        params: p,
    }
}

fn person_params(
    p: &mut Params,
    prefix: &str,
    typed: &Person<'_>,
    fallback_address: &AddressForm,
) -> Result<(), Unsendable> {
    let person = typed.form;
    let key = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            let (head, rest) = k.split_once('[').map_or((k, ""), |(h, r)| (h, r));
            if rest.is_empty() {
                format!("{prefix}[{head}]")
            } else {
                format!("{prefix}[{head}][{rest}")
            }
        }
    };
    p.set(key("first_name"), &person.first_name)
        .set(key("last_name"), &person.last_name)
        .set(key("email"), &person.email)
        .set(key("phone"), &person.phone);
    if let Some(dob) = typed.dob {
        p.set(key("dob[day]"), dob.day.to_string())
            .set(key("dob[month]"), dob.month.to_string())
            .set(key("dob[year]"), dob.year.to_string());
    }
    p.set(key("id_number"), typed.id_number().unwrap_or(""));
    let home = if person.address.line1.trim().is_empty() {
        fallback_address
    } else {
        &person.address
    };
    let prefix_addr = key("address");
    address(p, &prefix_addr, home).map_err(|e| Unsendable {
        field: e.field.replace("business.address", "address"),
        reason: e.reason,
    })?;
    Ok(())
}

fn address(p: &mut Params, prefix: &str, a: &AddressForm) -> Result<(), Unsendable> {
    max_len("business.address.line1", &a.line1, 200)?;
    max_len("business.address.line2", &a.line2, 200)?;
    max_len("business.address.city", &a.city, 100)?;
    p.set(format!("{prefix}[line1]"), &a.line1)
        .set(format!("{prefix}[line2]"), &a.line2)
        .set(format!("{prefix}[city]"), &a.city)
        .set(format!("{prefix}[state]"), &a.state)
        .set(format!("{prefix}[postal_code]"), &a.postal_code)
        .set(format!("{prefix}[country]"), country_of(a));
    Ok(())
}

fn max_len(field: &str, value: &str, max: usize) -> Result<(), Unsendable> {
    if value.chars().count() > max {
        return Err(Unsendable {
            field: field.into(),
            reason: format!("the platform accepts at most {max} characters"),
        });
    }
    Ok(())
}

fn country_of(a: &AddressForm) -> &str {
    let c = a.country.trim();
    if c.is_empty() {
        "US"
    } else {
        c
    }
}

fn currency_of(country: &str) -> &'static str {
    match country {
        "US" => "usd",
        "GB" => "gbp",
        "CA" => "cad",
        "CH" => "chf",
        "AU" => "aud",
        "SE" => "sek",
        "DK" => "dkk",
        "NO" => "nok",
        "PL" => "pln",
        _ => "eur",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips_nested_keys_and_unsafe_characters() {
        let mut p = Params::new();
        p.set("company[name]", "Café & Co = 100%")
            .set("metadata[application_id]", "app_1");
        let body = p.encode();
        assert_eq!(
            body,
            "company%5Bname%5D=Caf%C3%A9+%26+Co+%3D+100%25&metadata%5Bapplication_id%5D=app_1"
        );
        assert_eq!(Params::decode(&body), p);
    }

    #[test]
    fn blank_values_are_not_sent_and_debug_shows_keys_only() {
        let mut p = Params::new();
        p.set("company[tax_id]", "123456789")
            .set("company[phone]", "  ");
        assert_eq!(p.pairs().len(), 1);
        let debug = format!("{p:?}");
        assert!(debug.contains("company[tax_id]") && !debug.contains("123456789"));
    }

    #[test]
    fn a_truncated_percent_escape_is_kept_literally() {
        assert_eq!(Params::decode("a=%4").get("a"), Some("%4"));
        assert_eq!(Params::decode("a=%zz").get("a"), Some("%zz"));
    }
}
