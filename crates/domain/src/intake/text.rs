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

/// Characters that hide, fill or reorder text — by Unicode property, not a hand list:
/// Default_Ignorable_Code_Point (zero-width characters, TAG characters, the Hangul fillers,
/// variation selectors, U+061C…) and Bidi_Control (the embeddings, overrides and isolates).
pub fn is_hidden_or_bidi(c: char) -> bool {
    use icu_properties::props::{BidiControl, DefaultIgnorableCodePoint};
    use icu_properties::CodePointSetData;
    CodePointSetData::new::<DefaultIgnorableCodePoint>().contains(c)
        || CodePointSetData::new::<BidiControl>().contains(c)
}

/// The one spelling a text is stored, searched, blind-indexed and screened in: Unicode NFC
/// (composed and decomposed spellings of one name become one).
pub fn nfc(text: &str) -> String {
    icu_normalizer::ComposingNormalizerBorrowed::new_nfc()
        .normalize(text)
        .into_owned()
}

/// Refuses `input` (reported as `field`) when it holds a control character (other than tab
/// and line breaks) or a hidden or text-direction character.
pub fn refuse_hidden(field: &str, input: &str) -> Result<(), FieldError> {
    if input
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    if input.chars().any(is_hidden_or_bidi) {
        return Err(FieldError::new(
            field,
            "must not contain invisible, filler or text-direction characters",
        ));
    }
    Ok(())
}

/// Free text (names, descriptions): trimmed, inner runs of whitespace folded to one space, in
/// NFC, at most `max_chars` characters; control, default-ignorable (invisible, filler, tag) and
/// bidi-control characters are refused. Markup is kept as typed — it is text, shown as text.
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
    refuse_hidden(field, input)?;
    let folded = nfc(&input.split_whitespace().collect::<Vec<_>>().join(" "));
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
    fn composed_and_decomposed_spellings_are_one_text() {
        let composed = clean_text("last name", "Jos\u{00E9}", 100).unwrap();
        let decomposed = clean_text("last name", "Jose\u{0301}", 100).unwrap();
        assert_eq!(composed, decomposed, "stored in NFC");
        assert_eq!(composed, "Jos\u{00E9}");
    }

    #[test]
    fn refuses_hidden_characters_and_empty_and_huge_input() {
        let e = clean_text("legal name", "Acme\u{202E}lag", 100).unwrap_err();
        assert_eq!(e.field, "legal name");
        assert!(e.reason.contains("text-direction"));
        assert!(clean_text("legal name", "Ac\u{200B}me", 100).is_err());
        for hidden in [
            "Acme\u{061C}Co",         // ARABIC LETTER MARK
            "Acme\u{E0041}\u{E0042}", // TAG characters
            "\u{3164}\u{3164}",       // HANGUL FILLER only: renders blank
            "Acme\u{2066}x\u{2069}",  // isolates
            "Acme\u{180E}",           // MONGOLIAN VOWEL SEPARATOR
            "A\u{FE0F}cme",           // a variation selector
        ] {
            let e = clean_text("legal name", hidden, 100).unwrap_err();
            assert!(e.reason.contains("invisible"), "{hidden:?}: {e}");
        }
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
