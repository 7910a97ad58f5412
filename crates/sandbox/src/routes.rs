//! The request router: one match over method and path for the platform API, acting on the
//! in-memory accounts and persons.

use super::*;

pub(super) fn route(
    inner: &mut Inner,
    options: &Options,
    method: &Method,
    path: &str,
    params: &Params,
    now: Instant,
) -> Result<(u16, Value), Refusal> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method.as_str(), parts.as_slice()) {
        ("POST", ["v1", "accounts"]) => {
            check_account_params(params, true)?;
            let id = new_id(&mut inner.rng, "acct");
            let flat: BTreeMap<String, String> = params.pairs().iter().cloned().collect();
            if let Some(app) = flat.get("metadata[application_id]") {
                *inner
                    .stats
                    .accounts_per_application
                    .entry(app.clone())
                    .or_default() += 1;
            }
            inner.stats.accounts += 1;
            inner.accounts.insert(
                id.clone(),
                Account {
                    id: id.clone(),
                    created: unix_now(),
                    changed_at: now,
                    params: flat,
                    persons: Vec::new(),
                },
            );
            inner.order.push(id.clone());
            Ok((200, render_account(&inner.accounts[&id], options, now)))
        }
        ("GET", ["v1", "accounts"]) => {
            let limit = params
                .get("limit")
                .and_then(|l| l.parse::<usize>().ok())
                .unwrap_or(10)
                .clamp(1, 100);
            let data: Vec<Value> = inner
                .order
                .iter()
                .rev()
                .take(limit)
                .filter_map(|id| inner.accounts.get(id))
                .map(|a| render_account(a, options, now))
                .collect();
            Ok((
                200,
                json!({"object": "list", "url": "/v1/accounts", "has_more": inner.order.len() > limit, "data": data}),
            ))
        }
        ("GET", ["v1", "accounts", id]) => {
            let a = inner
                .accounts
                .get(*id)
                .ok_or_else(|| missing("account", "account"))?;
            Ok((200, render_account(a, options, now)))
        }
        ("POST", ["v1", "accounts", id]) => {
            check_account_params(params, false)?;
            let a = inner
                .accounts
                .get_mut(*id)
                .ok_or_else(|| missing("account", "account"))?;
            let material = params.keys().any(|k| !k.starts_with("metadata["));
            for (k, v) in params.pairs() {
                a.params.insert(k.clone(), v.clone());
            }
            if material {
                a.changed_at = now;
            }
            Ok((200, render_account(a, options, now)))
        }
        ("POST", ["v1", "accounts", id, "persons"]) => {
            check_roots(params, PERSON_ROOTS)?;
            check_email(params, "email")?;
            if let Some(p) = params.get("relationship[percent_ownership]") {
                if !p.parse::<f64>().is_ok_and(|v| (0.0..=100.0).contains(&v)) {
                    return Err(invalid(
                        "relationship[percent_ownership]",
                        "Must be a number between 0 and 100.",
                    ));
                }
            }
            let pid = new_id(&mut inner.rng, "person");
            let a = inner
                .accounts
                .get_mut(*id)
                .ok_or_else(|| missing("account", "account"))?;
            a.persons.push(Person {
                id: pid,
                created: unix_now(),
                changed_at: now,
                params: params.pairs().iter().cloned().collect(),
            });
            a.changed_at = now;
            inner.stats.persons += 1;
            let a = &inner.accounts[*id];
            let person = a.persons.last().expect("just pushed");
            Ok((200, render_person(a, person, options, now)))
        }
        ("POST", ["v1", "accounts", id, "persons", pid]) => {
            check_roots(params, PERSON_ROOTS)?;
            check_email(params, "email")?;
            let a = inner
                .accounts
                .get_mut(*id)
                .ok_or_else(|| missing("account", "account"))?;
            let person = a
                .persons
                .iter_mut()
                .find(|p| p.id == *pid)
                .ok_or_else(|| missing("person", "person"))?;
            for (k, v) in params.pairs() {
                person.params.insert(k.clone(), v.clone());
            }
            person.changed_at = now;
            a.changed_at = now;
            let a = &inner.accounts[*id];
            let person = a
                .persons
                .iter()
                .find(|p| p.id == *pid)
                .expect("found above");
            Ok((200, render_person(a, person, options, now)))
        }
        ("DELETE", ["v1", "accounts", id, "persons", pid]) => {
            let a = inner
                .accounts
                .get_mut(*id)
                .ok_or_else(|| missing("account", "account"))?;
            let before = a.persons.len();
            a.persons.retain(|p| p.id != *pid);
            if a.persons.len() == before {
                return Err(missing("person", "person"));
            }
            a.changed_at = now;
            Ok((200, json!({"id": pid, "object": "person", "deleted": true})))
        }
        ("DELETE", ["v1", "accounts", id]) => {
            // Test mode deletes any account at once (live mode: only with zero balances; this
            // platform holds no balances).
            if !params.is_empty() {
                return Err(invalid(
                    "params",
                    "Received unknown parameters for deleting an account.",
                ));
            }
            inner
                .accounts
                .remove(*id)
                .ok_or_else(|| missing("account", "account"))?;
            inner.order.retain(|a| a != id);
            inner.stats.deleted_accounts += 1;
            Ok((200, json!({"id": id, "object": "account", "deleted": true})))
        }
        ("GET", ["v1", "accounts", id, "persons"]) => {
            let a = inner
                .accounts
                .get(*id)
                .ok_or_else(|| missing("account", "account"))?;
            let data: Vec<Value> = a
                .persons
                .iter()
                .map(|p| render_person(a, p, options, now))
                .collect();
            Ok((
                200,
                json!({"object": "list", "url": format!("/v1/accounts/{id}/persons"), "has_more": false, "data": data}),
            ))
        }
        ("POST", ["v1", "accounts", id, "reject"]) => {
            let reason = params.get("reason").unwrap_or("");
            if !matches!(reason, "fraud" | "terms_of_service" | "other") {
                return Err(invalid(
                    "reason",
                    "Must be one of fraud, terms_of_service, other.",
                ));
            }
            let a = inner
                .accounts
                .get_mut(*id)
                .ok_or_else(|| missing("account", "account"))?;
            a.params.insert("__rejected".into(), reason.into());
            Ok((200, render_account(a, options, now)))
        }
        _ => Err(Refusal {
            status: 404,
            kind: "invalid_request_error",
            code: None,
            param: None,
            message: format!("Unrecognized request URL ({} {}).", method, path),
        }),
    }
}

/// `a[b][c]=v` pairs with a given prefix → nested JSON (booleans and numbers typed).
pub(super) fn nest(params: &BTreeMap<String, String>, prefix: &str) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in params {
        let Some(rest) = k.strip_prefix(prefix) else {
            continue;
        };
        let path: Vec<String> = rest
            .trim_start_matches('[')
            .trim_end_matches(']')
            .split("][")
            .map(str::to_string)
            .collect();
        if path.iter().any(String::is_empty) {
            continue;
        }
        let leaf = path.last().map(String::as_str).unwrap_or("");
        let value = match (leaf, v.as_str()) {
            (_, "true") => json!(true),
            (_, "false") => json!(false),
            ("day" | "month" | "year" | "date", n) => {
                n.parse::<i64>().map(Value::from).unwrap_or(json!(n))
            }
            ("percent_ownership", n) => n.parse::<f64>().map(Value::from).unwrap_or(json!(n)),
            _ => json!(v),
        };
        let mut node = &mut out;
        for p in &path[..path.len() - 1] {
            node = node
                .entry(p.clone())
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .expect("objects all the way down");
        }
        node.insert(leaf.to_string(), value);
    }
    out
}
