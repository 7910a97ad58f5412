//! The platform's names for things, mapped back to our form fields, so that an underwriter sees
//! "business.ein" where the platform said `company[tax_id]` or `person_1Ab.dob.day`.

/// Our field for a platform parameter (`company[address][line1]`) or requirement
/// (`company.address.line1`, `person_abc.dob.day`). `person_index` is the person a
/// `/persons` request was about; `persons` maps platform person ids to our people indexes.
pub fn field_for(
    name: &str,
    person_index: Option<usize>,
    persons: &[(String, usize)],
) -> Option<String> {
    let dotted = name.replace("][", ".").replace('[', ".").replace(']', "");
    let mut parts: Vec<&str> = dotted.split('.').filter(|p| !p.is_empty()).collect();
    if parts.is_empty() {
        return None;
    }
    // Requirements about a person start with its id; a /persons request's params do not.
    let person = if let Some(i) = persons
        .iter()
        .find(|(id, _)| id == parts[0])
        .map(|(_, i)| *i)
    {
        parts.remove(0);
        Some(i)
    } else if parts[0] == "individual" {
        parts.remove(0);
        Some(0)
    } else if matches!(
        parts[0],
        "representative" | "owners" | "executive" | "directors"
    ) {
        return Some("people".into());
    } else {
        person_index
    };
    if let Some(i) = person {
        return person_field(&parts).map(|f| format!("people[{i}].{f}"));
    }
    let rest = parts[1..].join(".");
    let field = match (parts[0], rest.as_str()) {
        ("email", "") => "business.email".to_string(),
        ("business_type", "") | ("company", "structure") => "business.entity_type".into(),
        ("business_profile", "mcc") => "business.mcc".into(),
        ("business_profile", "url") => "business.website".into(),
        ("business_profile", "name") => "business.dba".into(),
        ("business_profile", "product_description") => "business.product_description".into(),
        ("business_profile", "support_phone") | ("company", "phone") => "business.phone".into(),
        ("company", "name") => "business.legal_name".into(),
        ("company", "tax_id") => "business.ein".into(),
        ("company", a) if a.starts_with("address.") => format!("business.{a}"),
        ("company", "address") => "business.address".into(),
        ("external_account", "routing_number") => "bank.routing_number".into(),
        ("external_account", "account_holder_name") => "bank.holder_name".into(),
        ("external_account", "account_type") => "bank.account_type".into(),
        ("external_account", "country") => "bank.country".into(),
        ("external_account", _) => "bank.account_number".into(),
        ("tos_acceptance", "date") => "terms.accepted_at".into(),
        ("tos_acceptance", "ip") => "terms.ip".into(),
        ("tos_acceptance", "user_agent") => "terms.user_agent".into(),
        ("tos_acceptance", _) => "terms".into(),
        _ => return None,
    };
    Some(field)
}

fn person_field(parts: &[&str]) -> Option<String> {
    let rest = parts.get(1..).map(|r| r.join(".")).unwrap_or_default();
    Some(match (*parts.first()?, rest.as_str()) {
        ("first_name", _) => "first_name".into(),
        ("last_name", _) => "last_name".into(),
        ("email", _) => "email".into(),
        ("phone", _) => "phone".into(),
        ("dob", _) => "dob".into(),
        ("id_number", _) | ("ssn_last_4", _) => "ssn".into(),
        ("address", "") => "address".into(),
        ("address", a) => format!("address.{a}"),
        ("relationship", "title") => "title".into(),
        ("relationship", "percent_ownership") => "ownership_percent".into(),
        ("verification", _) => "passport_number".into(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_map_to_form_fields() {
        assert_eq!(
            field_for("company[tax_id]", None, &[]).as_deref(),
            Some("business.ein")
        );
        assert_eq!(
            field_for("company[address][postal_code]", None, &[]).as_deref(),
            Some("business.address.postal_code")
        );
        assert_eq!(
            field_for("email", None, &[]).as_deref(),
            Some("business.email")
        );
        assert_eq!(
            field_for("external_account[routing_number]", None, &[]).as_deref(),
            Some("bank.routing_number")
        );
        assert_eq!(
            field_for("email", Some(2), &[]).as_deref(),
            Some("people[2].email")
        );
        assert_eq!(
            field_for("dob[year]", Some(1), &[]).as_deref(),
            Some("people[1].dob")
        );
        assert_eq!(
            field_for("individual[id_number]", None, &[]).as_deref(),
            Some("people[0].ssn")
        );
        assert_eq!(field_for("settings[payouts]", None, &[]), None);
    }

    #[test]
    fn requirements_map_through_person_ids() {
        let persons = vec![("person_A1".to_string(), 0), ("person_B2".to_string(), 1)];
        assert_eq!(
            field_for("person_B2.dob.day", None, &persons).as_deref(),
            Some("people[1].dob")
        );
        assert_eq!(
            field_for("person_A1.address.line1", None, &persons).as_deref(),
            Some("people[0].address.line1")
        );
        assert_eq!(
            field_for("external_account", None, &persons).as_deref(),
            Some("bank.account_number")
        );
        assert_eq!(
            field_for("tos_acceptance.date", None, &persons).as_deref(),
            Some("terms.accepted_at")
        );
        assert_eq!(
            field_for("owners.first_name", None, &persons).as_deref(),
            Some("people")
        );
    }
}
