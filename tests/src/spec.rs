//! Validation against Stripe's published OpenAPI spec (`../shared/testdata/stripe/spec3.json`):
//! form-encoded requests against the operation's request schema, JSON answers against a
//! component schema. Enough of OpenAPI for Stripe's spec: `$ref`, `anyOf`, `nullable`, objects
//! with known properties, `required`, enums, `maxLength`, integer/number/boolean, arrays.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

pub struct Spec {
    root: Value,
}

/// A form body as a tree (`a[b][c]=v` → a → b → c = v).
#[derive(Debug)]
enum Form {
    Leaf(String),
    Map(BTreeMap<String, Form>),
}

pub fn spec_path() -> PathBuf {
    crate::paths::workspace_root().join("../shared/testdata/stripe/spec3.json")
}

fn insert(tree: &mut BTreeMap<String, Form>, parts: &[String], v: &str) -> Result<(), ()> {
    match parts {
        [] => Err(()),
        [leaf] => {
            tree.insert(leaf.clone(), Form::Leaf(v.to_string()));
            Ok(())
        }
        [head, rest @ ..] => match tree
            .entry(head.clone())
            .or_insert_with(|| Form::Map(BTreeMap::new()))
        {
            Form::Map(m) => insert(m, rest, v),
            Form::Leaf(_) => Err(()),
        },
    }
}

impl Spec {
    /// `None` (with a message) when the shared folder is absent.
    pub fn load() -> Option<Spec> {
        let path = spec_path();
        match std::fs::read(&path) {
            Ok(bytes) => Some(Spec {
                root: serde_json::from_slice(&bytes).expect("spec3.json parses"),
            }),
            Err(_) => {
                eprintln!("skipping: {} is absent", path.display());
                None
            }
        }
    }

    fn resolve<'a>(&'a self, mut schema: &'a Value) -> &'a Value {
        while let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            let name = r.trim_start_matches("#/components/schemas/");
            schema = &self.root["components"]["schemas"][name];
        }
        schema
    }

    fn operation(&self, method: &str, path: &str) -> Option<&Value> {
        let want: Vec<&str> = path.trim_matches('/').split('/').collect();
        let paths = self.root["paths"].as_object()?;
        let (_, item) = paths.iter().find(|(template, _)| {
            let t: Vec<&str> = template.trim_matches('/').split('/').collect();
            t.len() == want.len()
                && t.iter()
                    .zip(&want)
                    .all(|(a, b)| a == b || (a.starts_with('{') && a.ends_with('}')))
        })?;
        item.get(method.to_ascii_lowercase())
    }

    /// Every problem with a request (empty = valid).
    pub fn check_request(
        &self,
        method: &str,
        path: &str,
        pairs: &[(String, String)],
    ) -> Vec<String> {
        let Some(op) = self.operation(method, path) else {
            return vec![format!("{method} {path} is not in the spec")];
        };
        if method == "GET" {
            let names: Vec<&str> = op["parameters"]
                .as_array()
                .map(|ps| ps.iter().filter_map(|p| p["name"].as_str()).collect())
                .unwrap_or_default();
            return pairs
                .iter()
                .filter(|(k, _)| !names.contains(&k.split('[').next().unwrap_or(k)))
                .map(|(k, _)| format!("{k}: not a query parameter of GET {path}"))
                .collect();
        }
        let schema = &op["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"];
        let mut tree = BTreeMap::new();
        let mut problems = Vec::new();
        for (k, v) in pairs {
            let mut parts: Vec<String> = vec![k.split('[').next().unwrap_or(k).to_string()];
            if let Some(rest) = k.find('[').map(|i| &k[i..]) {
                parts.extend(
                    rest.trim_start_matches('[')
                        .trim_end_matches(']')
                        .split("][")
                        .map(str::to_string),
                );
            }
            if insert(&mut tree, &parts, v).is_err() {
                problems.push(format!("{k}: both a value and an object"));
            }
        }
        self.check_form(schema, &Form::Map(tree), "", &mut problems);
        problems
    }

    fn check_form(&self, schema: &Value, node: &Form, at: &str, problems: &mut Vec<String>) {
        let schema = self.resolve(schema);
        if let Some(variants) = schema.get("anyOf").and_then(Value::as_array) {
            let mut best: Option<Vec<String>> = None;
            for v in variants {
                let mut p = Vec::new();
                self.check_form(v, node, at, &mut p);
                if p.is_empty() {
                    return;
                }
                if best.as_ref().is_none_or(|b| p.len() < b.len()) {
                    best = Some(p);
                }
            }
            problems.extend(best.unwrap_or_default());
            return;
        }
        // A bank-account dictionary where the spec says "token string" (Stripe documents both).
        if at == "external_account" {
            if let Form::Map(_) = node {
                let bank = &self.root["paths"]["/v1/tokens"]["post"]["requestBody"]["content"]
                    ["application/x-www-form-urlencoded"]["schema"]["properties"]["bank_account"];
                let mut m = bank.clone();
                m["properties"]["object"] =
                    serde_json::json!({"type": "string", "enum": ["bank_account"]});
                self.check_form(&m, node, "external_account[]", problems);
                return;
            }
        }
        let kind = schema.get("type").and_then(Value::as_str).unwrap_or("");
        match (kind, node) {
            ("object", Form::Map(m)) => {
                let props = schema.get("properties").and_then(Value::as_object);
                for (k, child) in m {
                    let path = if at.is_empty() {
                        k.clone()
                    } else {
                        format!("{at}[{k}]")
                    };
                    // Without properties the object is free-form (metadata).
                    if let Some(p) = props {
                        match p.get(k) {
                            Some(s) => self.check_form(s, child, &path, problems),
                            None => problems.push(format!("{path}: unknown parameter")),
                        }
                    }
                }
                if let Some(req) = schema.get("required").and_then(Value::as_array) {
                    for r in req.iter().filter_map(Value::as_str) {
                        if !m.contains_key(r) {
                            problems.push(format!("{at}[{r}]: required"));
                        }
                    }
                }
            }
            (_, Form::Leaf(v)) => self.check_leaf(schema, kind, v, at, problems),
            (k, Form::Map(_)) => problems.push(format!("{at}: expected {k}, got an object")),
        }
    }

    fn check_leaf(
        &self,
        schema: &Value,
        kind: &str,
        v: &str,
        at: &str,
        problems: &mut Vec<String>,
    ) {
        let ok = match kind {
            "string" => {
                if let Some(max) = schema.get("maxLength").and_then(Value::as_u64) {
                    if v.chars().count() as u64 > max {
                        problems.push(format!("{at}: longer than {max}"));
                    }
                }
                true
            }
            "integer" => v.parse::<i64>().is_ok(),
            "number" => v.parse::<f64>().is_ok(),
            "boolean" => v == "true" || v == "false",
            "object" => false,
            _ => true,
        };
        if !ok {
            problems.push(format!("{at}: not a valid {kind}"));
        }
        if let Some(e) = schema.get("enum").and_then(Value::as_array) {
            if !e.iter().any(|x| x.as_str() == Some(v)) {
                problems.push(format!("{at}: {v:?} is not one of {e:?}"));
            }
        }
    }

    /// Every problem with a JSON answer against a component schema (`account`, `person`, `error`).
    pub fn check_response(&self, component: &str, value: &Value) -> Vec<String> {
        let schema = &self.root["components"]["schemas"][component];
        let mut problems = Vec::new();
        self.check_json(schema, value, component, &mut problems);
        problems
    }

    fn check_json(&self, schema: &Value, value: &Value, at: &str, problems: &mut Vec<String>) {
        let schema = self.resolve(schema);
        if value.is_null() {
            if schema.get("nullable").and_then(Value::as_bool) != Some(true) {
                problems.push(format!("{at}: null where the spec does not allow it"));
            }
            return;
        }
        if let Some(variants) = schema.get("anyOf").and_then(Value::as_array) {
            let mut best: Option<Vec<String>> = None;
            for v in variants {
                let mut p = Vec::new();
                self.check_json(v, value, at, &mut p);
                if p.is_empty() {
                    return;
                }
                if best.as_ref().is_none_or(|b| p.len() < b.len()) {
                    best = Some(p);
                }
            }
            problems.extend(best.unwrap_or_default());
            return;
        }
        let kind = schema.get("type").and_then(Value::as_str).unwrap_or("");
        match kind {
            "object" => {
                let Some(obj) = value.as_object() else {
                    problems.push(format!("{at}: expected an object"));
                    return;
                };
                if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                    for (k, v) in obj {
                        match props.get(k) {
                            Some(s) => self.check_json(s, v, &format!("{at}.{k}"), problems),
                            None => problems.push(format!("{at}.{k}: not in the spec")),
                        }
                    }
                }
                if let Some(req) = schema.get("required").and_then(Value::as_array) {
                    for r in req.iter().filter_map(Value::as_str) {
                        if !obj.contains_key(r) {
                            problems.push(format!("{at}.{r}: required"));
                        }
                    }
                }
            }
            "array" => match value.as_array() {
                Some(items) => {
                    for (i, item) in items.iter().enumerate() {
                        self.check_json(&schema["items"], item, &format!("{at}[{i}]"), problems);
                    }
                }
                None => problems.push(format!("{at}: expected an array")),
            },
            "string" => match value.as_str() {
                Some(s) => {
                    if let Some(e) = schema.get("enum").and_then(Value::as_array) {
                        if !e.iter().any(|x| x.as_str() == Some(s)) {
                            problems.push(format!("{at}: {s:?} is not one of the spec's values"));
                        }
                    }
                }
                None => problems.push(format!("{at}: expected a string")),
            },
            "integer" if !value.is_i64() && !value.is_u64() => {
                problems.push(format!("{at}: expected an integer"))
            }
            "number" if !value.is_number() => problems.push(format!("{at}: expected a number")),
            "boolean" if !value.is_boolean() => problems.push(format!("{at}: expected a boolean")),
            _ => {}
        }
    }
}
