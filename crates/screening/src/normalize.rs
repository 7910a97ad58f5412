//! Names to comparable tokens: Unicode compatibility decomposition with the combining marks
//! dropped (é → e), lower case, every non-alphanumeric character a separator, honorifics and
//! company-form suffixes removed. Word order is not kept: "LOGAN MOREY, Elvis Angus" and
//! "Elvis Logan Morey" share their tokens.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Words that say nothing about who someone is.
const HONORIFICS: &[&str] = &[
    "mr", "mrs", "ms", "miss", "dr", "prof", "sir", "sheikh", "shaykh", "haji", "hajji", "mullah",
    "general", "gen", "col", "colonel", "capt", "captain",
];

/// Legal-form words and their abbreviations (after punctuation became spaces: "S.A." → "s a").
const COMPANY_FORMS: &[&str] = &[
    "llc",
    "ltd",
    "limited",
    "inc",
    "incorporated",
    "corp",
    "corporation",
    "co",
    "company",
    "plc",
    "llp",
    "lp",
    "gmbh",
    "ag",
    "sa",
    "sas",
    "sarl",
    "srl",
    "spa",
    "bv",
    "nv",
    "jsc",
    "ojsc",
    "pjsc",
    "cjsc",
    "zao",
    "ooo",
    "oao",
    "pao",
    "fze",
    "fzco",
    "fzc",
    "pte",
    "pty",
    "bhd",
    "sdn",
    "cv",
    "de",
    "the",
    "and",
];

/// Two-letter forms that appear split by punctuation: "S.A." → ["s", "a"].
const SPLIT_FORMS: &[[&str; 2]] = &[["s", "a"], ["s", "l"], ["c", "v"], ["l", "l"]];

/// The folded text: no diacritics, lower case, separators as single spaces.
pub fn fold(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut space = true;
    for c in name.nfkd().filter(|c| !is_combining_mark(*c)) {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
            space = false;
        } else if c == '\'' || c == '’' {
            // O'Brien → obrien
        } else if !space {
            out.push(' ');
            space = true;
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// The tokens of a name that identify it.
pub fn tokens(name: &str) -> Vec<String> {
    let folded = fold(name);
    let raw: Vec<&str> = folded.split(' ').filter(|t| !t.is_empty()).collect();
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if i + 1 < raw.len()
            && SPLIT_FORMS
                .iter()
                .any(|f| f[0] == raw[i] && f[1] == raw[i + 1])
        {
            i += 2;
            continue;
        }
        let t = raw[i];
        i += 1;
        if t.chars().count() < 2 || HONORIFICS.contains(&t) || COMPANY_FORMS.contains(&t) {
            continue;
        }
        out.push(t.to_string());
    }
    if out.is_empty() {
        // A name made only of stop words ("The Company") still has to match itself.
        out = raw.iter().map(|t| t.to_string()).collect();
    }
    out
}

/// American Soundex of an ASCII-letter token (`robert` → `r163`); other tokens are their own key.
pub fn phonetic(token: &str) -> String {
    let mut chars = token.chars().filter(char::is_ascii_alphabetic);
    let Some(first) = chars.next() else {
        return token.to_string();
    };
    let code = |c: char| match c {
        'b' | 'f' | 'p' | 'v' => '1',
        'c' | 'g' | 'j' | 'k' | 'q' | 's' | 'x' | 'z' => '2',
        'd' | 't' => '3',
        'l' => '4',
        'm' | 'n' => '5',
        'r' => '6',
        'h' | 'w' => '-', // h and w do not separate equal codes
        _ => '0',         // vowels separate equal codes
    };
    let mut out = String::from(first);
    let mut last = code(first);
    for c in chars {
        let k = code(c);
        match k {
            '-' => continue,
            '0' => last = '0',
            _ if k != last => {
                out.push(k);
                last = k;
                if out.len() == 4 {
                    break;
                }
            }
            _ => {}
        }
    }
    while out.len() < 4 {
        out.push('0');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_removes_case_diacritics_and_punctuation() {
        assert_eq!(
            fold("  José  MARÍA Núñez-O'Brien "),
            "jose maria nunez obrien"
        );
        assert_eq!(fold("ＡＢＣ"), "abc", "full-width letters fold too");
    }

    #[test]
    fn tokens_drop_honorifics_and_company_forms_in_any_order() {
        assert_eq!(
            tokens("LOGAN MOREY, Elvis Angus"),
            ["logan", "morey", "elvis", "angus"]
        );
        assert_eq!(tokens("Dr. Elvis Logan Morey"), ["elvis", "logan", "morey"]);
        assert_eq!(
            tokens("Banco Nacional de Cuba S.A."),
            ["banco", "nacional", "cuba"]
        );
        assert_eq!(
            tokens("AIRCRAFT, AVIONICS, PARTS & SUPPORT LTD."),
            ["aircraft", "avionics", "parts", "support"]
        );
        assert_eq!(tokens("The Company"), ["the", "company"], "never empty");
    }

    #[test]
    fn soundex_groups_spellings() {
        assert_eq!(phonetic("robert"), "r163");
        assert_eq!(phonetic("rupert"), "r163");
        assert_eq!(phonetic("ashcraft"), "a261");
        assert_eq!(phonetic("tymczak"), "t522");
        assert_eq!(phonetic("mohammed"), phonetic("muhammad"));
        assert_eq!(phonetic("1234"), "1234");
    }
}
