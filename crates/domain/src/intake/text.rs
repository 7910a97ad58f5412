use std::fmt;

/// A value that failed a rule: which field, and which rule. Never the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's path in the form, e.g. `business.ein` or `people[1].ssn`.
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The same rule failure, reported at a form path instead of the value's own name.
    pub fn at(self, path: impl Into<String>) -> Self {
        Self {
            field: path.into(),
            reason: self.reason,
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for FieldError {}

/// Characters that hide or reorder text: zero-width characters and bidirectional overrides.
fn is_invisible_or_bidi(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}'
    )
}

/// Free text (names, descriptions): trimmed, inner runs of whitespace folded to one space, at
/// most `max_chars` characters; control, zero-width and bidi-override characters are refused.
/// Markup is kept as typed — it is text, and is shown as text.
pub fn clean_text(
    field: &'static str,
    input: &str,
    max_chars: usize,
) -> Result<String, FieldError> {
    // Bound the work before looking at every character of a huge input.
    if input.len() > max_chars * 4 + 64 {
        return Err(FieldError::new(
            field,
            format!("must be at most {max_chars} characters"),
        ));
    }
    if input
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    if input.chars().any(is_invisible_or_bidi) {
        return Err(FieldError::new(
            field,
            "must not contain invisible or text-direction characters",
        ));
    }
    let folded = input.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded.is_empty() {
        return Err(FieldError::new(field, "is required"));
    }
    if folded.chars().count() > max_chars {
        return Err(FieldError::new(
            field,
            format!("must be at most {max_chars} characters"),
        ));
    }
    Ok(folded)
}

/// The ASCII digits of `input`, allowing only the given separators between them.
pub(crate) fn digits(
    field: &'static str,
    input: &str,
    separators: &[char],
) -> Result<String, FieldError> {
    let mut out = String::with_capacity(input.len());
    for c in input.trim().chars() {
        if c.is_ascii_digit() {
            out.push(c);
        } else if !separators.contains(&c) {
            return Err(FieldError::new(
                field,
                "may contain only digits and separators",
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_whitespace_and_keeps_markup_as_text() {
        assert_eq!(
            clean_text("legal name", "  Acme \t Widgets  ", 100).unwrap(),
            "Acme Widgets"
        );
        assert_eq!(
            clean_text("legal name", "<script>alert(1)</script>", 100).unwrap(),
            "<script>alert(1)</script>",
            "stored as typed; the UI renders it inert"
        );
    }

    #[test]
    fn refuses_hidden_characters_and_empty_and_huge_input() {
        let e = clean_text("legal name", "Acme\u{202E}lag", 100).unwrap_err();
        assert_eq!(e.field, "legal name");
        assert!(e.reason.contains("text-direction"));
        assert!(clean_text("legal name", "Ac\u{200B}me", 100).is_err());
        assert!(clean_text("legal name", "Acme\u{0007}", 100).is_err());
        assert_eq!(
            clean_text("legal name", "   ", 100).unwrap_err().reason,
            "is required"
        );
        let huge = "x".repeat(1 << 20);
        assert!(clean_text("legal name", &huge, 100)
            .unwrap_err()
            .reason
            .contains("at most 100"));
    }
}
