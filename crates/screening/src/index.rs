//! The screening index: every list name tokenised once, blocked by token and Soundex key, with
//! token weights from how rare each token is across the lists.
//!
//! A screen tokenises the query, gathers the names that share a blocking key with it (the token,
//! its Soundex code, its first and last three letters; keys so common they say nothing are
//! skipped), drops those that could not reach the threshold even if every reached token matched, and scores each candidate name:
//!
//! - each query token is aligned with its most similar name token (Jaro-Winkler; below 0.80
//!   counts as no match), and each name token with its most similar query token;
//! - both directions are averaged with rarer tokens weighing more (inverse document frequency),
//!   and the two directions averaged — so extra or missing middle names cost a little, a
//!   different surname costs a lot, and word order does not matter;
//! - a date of birth or a country, when the query has one and the entry does too, raises or
//!   lowers the score.

use std::collections::HashMap;

use serde::Serialize;

use crate::normalize::{phonetic, tokens};
use crate::ofac::{Entry, EntryKind, NameKind};

/// The score at or above which a name is a hit, unless an admin sets another.
pub const DEFAULT_THRESHOLD: f64 = 0.88;

/// Token similarity below this is treated as no match at all.
const TOKEN_FLOOR: f64 = 0.80;

/// The query side counts more: every typed token should be explained by the listed name,
/// while a listed middle name the applicant did not give costs less.
const FORWARD: f64 = 0.7;

/// Blocking keys shared by more names than this are skipped (they would make every name a
/// candidate); a name is still found through its rarer tokens.
const MAX_POSTING: usize = 2_000;

struct IndexedName {
    entry: u32,
    name: u16,
    tokens: Vec<u32>,
}

/// What to screen.
#[derive(Debug, Clone, Default)]
pub struct Query<'a> {
    pub name: &'a str,
    /// Year of birth (or of registration for a business), when known.
    pub birth_year: Option<i32>,
    /// Country name or ISO code, when known.
    pub country: Option<&'a str>,
    /// Individuals are screened against individuals and entities against the rest; `None`
    /// screens against everything.
    pub individual: Option<bool>,
}

/// One aligned token pair.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alignment {
    pub query_token: String,
    /// `None` when nothing in the listed name came close.
    pub list_token: Option<String>,
    pub similarity: f64,
}

/// A listed name that matched, with why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub uid: String,
    pub entry_name: String,
    pub matched_name: String,
    pub name_kind: NameKind,
    pub programs: Vec<String>,
    pub score: f64,
    /// The score from names alone, before date of birth and country.
    pub name_score: f64,
    pub alignment: Vec<Alignment>,
    /// Why the score moved: `date of birth 1963 matches`, `country Iran differs`…
    pub adjustments: Vec<String>,
    /// Digest of the entry's names, dates and countries (a disposition holds while it is equal).
    pub fingerprint: String,
}

pub struct Index {
    entries: Vec<Entry>,
    names: Vec<IndexedName>,
    vocab: HashMap<String, u32>,
    token_text: Vec<String>,
    idf: Vec<f64>,
    postings: HashMap<String, Vec<u32>>,
}

/// The keys a token is found by: itself, its Soundex code, and for tokens of four letters or
/// more its first and last three (so one typo inside a name still finds it).
fn blocking_keys(token: &str) -> Vec<String> {
    let mut keys = vec![format!("t:{token}"), format!("p:{}", phonetic(token))];
    let chars: Vec<char> = token.chars().collect();
    if chars.len() >= 4 {
        keys.push(format!("a:{}", chars[..3].iter().collect::<String>()));
        keys.push(format!(
            "z:{}",
            chars[chars.len() - 3..].iter().collect::<String>()
        ));
    }
    keys
}

fn jaro_winkler(a: &str, b: &str) -> f64 {
    if a == b {
        1.0
    } else {
        strsim::jaro_winkler(a, b)
    }
}

/// ISO codes of the countries a payfac's applicants use most, for comparing with OFAC's names.
const ISO_NAMES: &[(&str, &str)] = &[
    ("US", "united states"),
    ("GB", "united kingdom"),
    ("CA", "canada"),
    ("MX", "mexico"),
    ("DE", "germany"),
    ("FR", "france"),
    ("ES", "spain"),
    ("IT", "italy"),
    ("RU", "russia"),
    ("CN", "china"),
    ("IR", "iran"),
    ("KP", "korea north"),
    ("SY", "syria"),
    ("CU", "cuba"),
    ("VE", "venezuela"),
    ("CO", "colombia"),
    ("AE", "united arab emirates"),
    ("TR", "turkey"),
    ("LB", "lebanon"),
    ("IQ", "iraq"),
    ("AF", "afghanistan"),
    ("PK", "pakistan"),
    ("IN", "india"),
    ("BZ", "belize"),
    ("PA", "panama"),
    ("UA", "ukraine"),
    ("BY", "belarus"),
];

fn country_key(text: &str) -> String {
    let folded = crate::normalize::fold(text);
    ISO_NAMES
        .iter()
        .find(|(iso, _)| iso.eq_ignore_ascii_case(text.trim()))
        .map_or(folded, |(_, name)| (*name).to_string())
}

impl Index {
    /// Indexes every name of every entry.
    pub fn build(entries: Vec<Entry>) -> Index {
        let mut vocab: HashMap<String, u32> = HashMap::new();
        let mut token_text = Vec::new();
        let mut names = Vec::new();
        let mut df: Vec<u32> = Vec::new();
        for (e, entry) in entries.iter().enumerate() {
            for (n, name) in entry.names.iter().enumerate() {
                let mut ids: Vec<u32> = tokens(&name.text)
                    .into_iter()
                    .map(|t| {
                        *vocab.entry(t.clone()).or_insert_with(|| {
                            token_text.push(t);
                            df.push(0);
                            (token_text.len() - 1) as u32
                        })
                    })
                    .collect();
                let mut seen = ids.clone();
                seen.sort_unstable();
                seen.dedup();
                for &t in &seen {
                    df[t as usize] += 1;
                }
                ids.dedup();
                names.push(IndexedName {
                    entry: e as u32,
                    name: n as u16,
                    tokens: ids,
                });
            }
        }
        let total = names.len().max(1) as f64;
        let idf: Vec<f64> = df
            .iter()
            .map(|&d| (1.0 + total / f64::from(d.max(1))).ln())
            .collect();
        let mut postings: HashMap<String, Vec<u32>> = HashMap::new();
        for (i, name) in names.iter().enumerate() {
            let mut keys: Vec<String> = Vec::with_capacity(name.tokens.len() * 2);
            for &t in &name.tokens {
                keys.extend(blocking_keys(&token_text[t as usize]));
            }
            keys.sort_unstable();
            keys.dedup();
            for k in keys {
                postings.entry(k).or_default().push(i as u32);
            }
        }
        Index {
            entries,
            names,
            vocab,
            token_text,
            idf,
            postings,
        }
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// How many names (primary and alternate) are indexed.
    pub fn name_count(&self) -> usize {
        self.names.len()
    }

    /// A query token's weight: the idf of the same token in the lists, or the highest weight
    /// for a token the lists never use (it can only match something similar, which is rare).
    fn weight_of(&self, token: &str) -> f64 {
        self.vocab.get(token).map_or_else(
            || self.idf.iter().copied().fold(1.0, f64::max),
            |&t| self.idf[t as usize],
        )
    }

    /// Every list name scoring at least `threshold` against the query, best first, at most
    /// one hit per entry (its best name).
    pub fn screen(&self, query: &Query<'_>, threshold: f64) -> Vec<Hit> {
        let q_tokens = tokens(query.name);
        if q_tokens.is_empty() {
            return Vec::new();
        }
        let q_weights: Vec<f64> = q_tokens.iter().map(|t| self.weight_of(t)).collect();
        let total_weight: f64 = q_weights.iter().sum();
        // For each candidate name, the weight of the query tokens that reached it by a key.
        let mut reached: HashMap<u32, f64> = HashMap::new();
        for (t, w) in q_tokens.iter().zip(&q_weights) {
            let mut via: Vec<u32> = Vec::new();
            for key in blocking_keys(t) {
                if let Some(list) = self.postings.get(&key) {
                    if list.len() <= MAX_POSTING {
                        via.extend_from_slice(list);
                    }
                }
            }
            via.sort_unstable();
            via.dedup();
            for c in via {
                *reached.entry(c).or_insert(0.0) += w;
            }
        }
        // Upper bound of the name score if every token that reached the name matched exactly
        // and nothing else matched: names that cannot reach the threshold are not scored.
        let mut candidates: Vec<u32> = reached
            .into_iter()
            .filter(|(_, w)| FORWARD * (w / total_weight) + (1.0 - FORWARD) + 0.08 >= threshold)
            .map(|(c, _)| c)
            .collect();
        candidates.sort_unstable();

        let mut best: HashMap<u32, Hit> = HashMap::new();
        for c in candidates {
            let name = &self.names[c as usize];
            let entry = &self.entries[name.entry as usize];
            if let Some(individual) = query.individual {
                if individual != (entry.kind == EntryKind::Individual) {
                    continue;
                }
            }
            let (name_score, alignment) = self.score(&q_tokens, &q_weights, &name.tokens);
            // Cheap cut before adjustments: nothing can lift a score by more than 0.08.
            if name_score + 0.08 < threshold {
                continue;
            }
            let (score, adjustments) = adjust(name_score, entry, query);
            if score < threshold {
                continue;
            }
            let listed = &entry.names[name.name as usize];
            let hit = Hit {
                uid: entry.uid.clone(),
                entry_name: entry.names[0].text.clone(),
                matched_name: listed.text.clone(),
                name_kind: listed.kind,
                programs: entry.programs.clone(),
                score,
                name_score,
                alignment,
                adjustments,
                fingerprint: entry.fingerprint(),
            };
            match best.get(&name.entry) {
                Some(existing) if existing.score >= hit.score => {}
                _ => {
                    best.insert(name.entry, hit);
                }
            }
        }
        let mut hits: Vec<Hit> = best.into_values().collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.uid.cmp(&b.uid)));
        hits
    }

    fn score(&self, q: &[String], q_weights: &[f64], name: &[u32]) -> (f64, Vec<Alignment>) {
        // Every pair once; both directions read the same matrix.
        let sims: Vec<f64> = q
            .iter()
            .flat_map(|qt| {
                name.iter()
                    .map(move |&nt| jaro_winkler(qt, &self.token_text[nt as usize]))
            })
            .collect();
        let at = |i: usize, j: usize| sims[i * name.len() + j];
        let floor = |s: f64| if s >= TOKEN_FLOOR { s } else { 0.0 };
        let mut alignment = Vec::with_capacity(q.len());
        let (mut forward, mut forward_w) = (0.0, 0.0);
        for (i, (qt, w)) in q.iter().zip(q_weights).enumerate() {
            let (j, top) = (0..name.len())
                .map(|j| (j, at(i, j)))
                .fold((usize::MAX, 0.0), |a, b| if b.1 > a.1 { b } else { a });
            let sim = floor(top);
            forward += w * sim;
            forward_w += w;
            alignment.push(Alignment {
                query_token: qt.clone(),
                list_token: (sim > 0.0).then(|| self.token_text[name[j] as usize].clone()),
                similarity: (sim * 1000.0).round() / 1000.0,
            });
        }
        let (mut backward, mut backward_w) = (0.0, 0.0);
        for (j, &nt) in name.iter().enumerate() {
            let top = (0..q.len()).map(|i| at(i, j)).fold(0.0, f64::max);
            let w = self.idf[nt as usize];
            backward += w * floor(top);
            backward_w += w;
        }
        let f = if forward_w > 0.0 {
            forward / forward_w
        } else {
            0.0
        };
        let b = if backward_w > 0.0 {
            backward / backward_w
        } else {
            0.0
        };
        (FORWARD * f + (1.0 - FORWARD) * b, alignment)
    }
}

fn adjust(name_score: f64, entry: &Entry, query: &Query<'_>) -> (f64, Vec<String>) {
    let mut score = name_score;
    let mut why = Vec::new();
    if let Some(year) = query.birth_year {
        if !entry.birth_years.is_empty() {
            if entry.birth_years.contains(&year) {
                score += 0.05;
                why.push(format!(
                    "date of birth {year} matches the listed one (+0.05)"
                ));
            } else if entry.birth_years.iter().any(|y| (y - year).abs() <= 1) {
                why.push(format!(
                    "date of birth {year} is within a year of the listed one"
                ));
            } else {
                score -= 0.15;
                why.push(format!(
                    "date of birth {year} differs from the listed ones (−0.15)"
                ));
            }
        }
    }
    if let Some(country) = query.country.filter(|c| !c.trim().is_empty()) {
        if !entry.countries.is_empty() {
            let wanted = country_key(country);
            if entry.countries.iter().any(|c| country_key(c) == wanted) {
                score += 0.03;
                why.push(format!("country {country} appears on the entry (+0.03)"));
            } else {
                score -= 0.05;
                why.push(format!("country {country} is not on the entry (−0.05)"));
            }
        }
    }
    (score.clamp(0.0, 1.0), why)
}

#[cfg(test)]
mod tests;
