//! How an account and its persons are shown: Stripe's object shape, with requirements that
//! move from pending to verified after `verify_after`, and its test values that fail.

use super::*;

pub(super) struct Reqs {
    currently_due: Vec<String>,
    pending: Vec<String>,
    errors: Vec<Value>,
}

pub(super) fn person_reqs(
    prefix: &str,
    p: &BTreeMap<String, String>,
    key: &str,
    pending_over: bool,
    r: &mut Reqs,
) {
    let get = |k: &str| p.get(&format!("{key}{k}")).map(String::as_str);
    let dob = (get("[dob][year]"), get("[dob][month]"), get("[dob][day]"));
    if get("[first_name]").is_none() {
        r.currently_due.push(format!("{prefix}.first_name"));
    }
    match dob {
        (Some("1900"), Some("1"), Some("1")) => {
            r.currently_due
                .push(format!("{prefix}.verification.document"));
            r.errors.push(json!({
                "requirement": format!("{prefix}.verification.document"),
                "code": "verification_failed_keyed_identity",
                "reason": "The person's keyed-in identity information could not be verified."
            }));
        }
        (Some("1901"), Some("1"), Some("1")) => {}
        (None, _, _) => r.currently_due.push(format!("{prefix}.dob.day")),
        _ if !pending_over => {
            r.pending.push(format!("{prefix}.dob.day"));
            r.pending.push(format!("{prefix}.id_number"));
        }
        _ => {}
    }
}

pub(super) fn requirements(a: &Account, options: &Options, now: Instant) -> (Value, String) {
    let pending_over = now.duration_since(a.changed_at) >= options.verify_after;
    let p = &a.params;
    let mut r = Reqs {
        currently_due: Vec::new(),
        pending: Vec::new(),
        errors: Vec::new(),
    };
    let individual = p.get("business_type").map(String::as_str) == Some("individual");
    if individual {
        // the map is keyed `individual[...]`; person_reqs reads through the prefix
        let mut flat = BTreeMap::new();
        for (k, v) in p.iter().filter(|(k, _)| k.starts_with("individual[")) {
            flat.insert(k.clone(), v.clone());
        }
        person_reqs("individual", &flat, "individual", pending_over, &mut r);
    } else {
        if !a.persons.iter().any(|x| {
            x.params
                .get("relationship[representative]")
                .map(String::as_str)
                == Some("true")
        }) {
            r.currently_due.push("representative.first_name".into());
        }
        if p.get("company[owners_provided]").map(String::as_str) != Some("true") {
            r.currently_due.push("company.owners_provided".into());
        }
        match p.get("company[tax_id]").map(String::as_str) {
            None => r.currently_due.push("company.tax_id".into()),
            Some("111111111") => {
                r.currently_due.push("company.tax_id".into());
                r.errors.push(json!({"requirement": "company.tax_id", "code": "verification_failed_tax_id_not_issued", "reason": "The tax ID was not issued."}));
            }
            Some("000000000") => {}
            Some(_) if !pending_over => r.pending.push("company.tax_id".into()),
            Some(_) => {}
        }
        for person in &a.persons {
            let over = now.duration_since(person.changed_at) >= options.verify_after;
            let mut flat = BTreeMap::new();
            for (k, v) in &person.params {
                flat.insert(format!("p[{}]{}", root(k), &k[root(k).len()..]), v.clone());
            }
            person_reqs(&person.id, &flat, "p", over, &mut r);
        }
    }
    match p
        .get("external_account[account_number]")
        .map(String::as_str)
    {
        Some("000111111116") => {
            r.currently_due.push("external_account".into());
            r.errors.push(json!({"requirement": "external_account", "code": "verification_failed_other", "reason": "no_account: The bank account doesn't exist or is invalid."}));
        }
        Some("000111111113") => {
            r.currently_due.push("external_account".into());
            r.errors.push(json!({"requirement": "external_account", "code": "verification_failed_other", "reason": "account_closed: The bank account has been closed."}));
        }
        None => r.currently_due.push("external_account".into()),
        _ => {}
    }
    if p.get("tos_acceptance[date]").is_none() {
        r.currently_due.push("tos_acceptance.date".into());
    }
    let rejected = p.get("__rejected");
    let disabled = if let Some(reason) = rejected {
        Some(format!("rejected.{reason}"))
    } else if !r.currently_due.is_empty() {
        Some("requirements.past_due".to_string())
    } else if !r.pending.is_empty() {
        Some("requirements.pending_verification".to_string())
    } else {
        None
    };
    let capability = match (&rejected, &disabled) {
        (Some(_), _) => "inactive",
        (None, None) => "active",
        (None, Some(d)) if d == "requirements.pending_verification" => "pending",
        _ => "inactive",
    };
    let value = json!({
        "alternatives": [],
        "current_deadline": null,
        "currently_due": r.currently_due,
        "eventually_due": r.currently_due,
        "past_due": r.currently_due,
        "pending_verification": r.pending,
        "errors": r.errors,
        "disabled_reason": disabled,
    });
    (value, capability.to_string())
}

pub(super) fn render_account(a: &Account, options: &Options, now: Instant) -> Value {
    let p = &a.params;
    let (reqs, capability) = requirements(a, options, now);
    let mut company = nest(p, "company");
    let tax = company.remove("tax_id").is_some();
    company.insert("tax_id_provided".into(), json!(tax));
    let mut external = nest(p, "external_account");
    let number = external
        .remove("account_number")
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    external.remove("object");
    external.insert("id".into(), json!(format!("ba_{}", &a.id[5..])));
    external.insert("object".into(), json!("bank_account"));
    external.insert("account".into(), json!(a.id));
    external.insert(
        "last4".into(),
        json!(number
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<String>()),
    );
    external.insert(
        "status".into(),
        json!(if number == "000111111116" {
            "errored"
        } else {
            "new"
        }),
    );
    external.insert("metadata".into(), json!({}));
    let requested: Vec<&str> = ["card_payments", "transfers"]
        .into_iter()
        .filter(|c| {
            p.get(&format!("capabilities[{c}][requested]"))
                .map(String::as_str)
                == Some("true")
        })
        .collect();
    let capabilities: Map<String, Value> = requested
        .iter()
        .map(|c| (c.to_string(), json!(capability)))
        .collect();
    let active = capability == "active";
    let mut account = json!({
        "id": a.id,
        "object": "account",
        "type": p.get("type"),
        "country": p.get("country"),
        "email": p.get("email"),
        "business_type": p.get("business_type"),
        "business_profile": nest(p, "business_profile"),
        "capabilities": capabilities,
        "charges_enabled": active && requested.contains(&"card_payments"),
        "payouts_enabled": active && requested.contains(&"transfers"),
        "details_submitted": true,
        "created": a.created,
        "default_currency": external.get("currency").cloned().unwrap_or(json!("usd")),
        "external_accounts": {"object": "list", "data": [Value::Object(external)], "has_more": false, "url": format!("/v1/accounts/{}/external_accounts", a.id)},
        "metadata": nest(p, "metadata"),
        "requirements": reqs,
        "tos_acceptance": nest(p, "tos_acceptance"),
    });
    if p.get("business_type").map(String::as_str) == Some("individual") {
        let mut ind = nest(p, "individual");
        let id_number = ind.remove("id_number").is_some();
        ind.insert("id".into(), json!(format!("person_{}", &a.id[5..])));
        ind.insert("object".into(), json!("person"));
        ind.insert("account".into(), json!(a.id));
        ind.insert("created".into(), json!(a.created));
        ind.insert("id_number_provided".into(), json!(id_number));
        ind.insert("ssn_last_4_provided".into(), json!(id_number));
        account["individual"] = Value::Object(ind);
    } else {
        account["company"] = Value::Object(company);
    }
    account
}

pub(super) fn render_person(
    a: &Account,
    person: &Person,
    options: &Options,
    now: Instant,
) -> Value {
    let mut flat = BTreeMap::new();
    for (k, v) in &person.params {
        flat.insert(format!("p[{}]{}", root(k), &k[root(k).len()..]), v.clone());
    }
    let mut r = Reqs {
        currently_due: Vec::new(),
        pending: Vec::new(),
        errors: Vec::new(),
    };
    let over = now.duration_since(person.changed_at) >= options.verify_after;
    person_reqs("person", &flat, "p", over, &mut r);
    let mut out = nest(&flat, "p");
    let id_number = out.remove("id_number").is_some();
    out.insert("id".into(), json!(person.id));
    out.insert("object".into(), json!("person"));
    out.insert("account".into(), json!(a.id));
    out.insert("created".into(), json!(person.created));
    out.insert("id_number_provided".into(), json!(id_number));
    out.insert("ssn_last_4_provided".into(), json!(id_number));
    out.insert(
        "requirements".into(),
        json!({"currently_due": r.currently_due, "eventually_due": r.currently_due, "past_due": r.currently_due, "pending_verification": r.pending, "errors": r.errors}),
    );
    Value::Object(out)
}
