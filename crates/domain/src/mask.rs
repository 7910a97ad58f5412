//! Masked display of sensitive values: every letter and digit but the last few becomes a dot,
//! separators stay, so `078-05-1120` shows as `•••-••-1120`.

/// Masks all but the last `visible` letters/digits of `value`, keeping separators in place.
/// Short values (no more than `visible` letters/digits) are masked entirely.
pub fn mask_tail(value: &str, visible: usize) -> String {
    let significant = value.chars().filter(|c| c.is_alphanumeric()).count();
    let keep_from = if significant <= visible {
        usize::MAX
    } else {
        significant - visible
    };
    let mut seen = 0;
    value
        .chars()
        .map(|c| {
            if !c.is_alphanumeric() {
                return c;
            }
            seen += 1;
            if seen > keep_from {
                c
            } else {
                '•'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_four_and_the_separators() {
        assert_eq!(mask_tail("078-05-1120", 4), "•••-••-1120");
        assert_eq!(mask_tail("12-3456789", 4), "••-•••6789");
        assert_eq!(mask_tail("000123456789", 4), "••••••••6789");
    }

    #[test]
    fn short_values_are_fully_masked() {
        assert_eq!(
            mask_tail("1234", 4),
            "••••",
            "showing all four would reveal everything"
        );
        assert_eq!(mask_tail("", 4), "");
    }
}
