//! Sanctions screening.
//!
//! - [`ofac`] reads OFAC's official CSV files (SDN: `sdn.csv`, `alt.csv`, `add.csv`,
//!   `sdn_comments.csv`; consolidated non-SDN: `cons_prim.csv`, `cons_alt.csv`, `cons_add.csv`,
//!   `cons_comments.csv`), quirks included: `-0-` for empty, remarks that carry more a.k.a.s,
//!   dates of birth, places, nationalities and IDs, remarks continued in the comments file, the
//!   DOS end-of-file byte. A malformed file is an error naming the file and line.
//! - [`normalize`] turns a name into comparable tokens (case, diacritics, punctuation,
//!   honorifics, company suffixes).
//! - [`Index`] blocks names by token and phonetic key, so a screen compares against a few
//!   candidates rather than every name, and scores them with Jaro-Winkler per token weighted by
//!   rarity, adjusted by date of birth and country; every hit says why.
//!
//! No I/O beyond reading the list files; no storage (the api crate keeps list versions).

mod index;
pub mod normalize;
pub mod ofac;

pub use index::{Alignment, Hit, Index, Query, DEFAULT_THRESHOLD};
pub use ofac::{Entry, EntryKind, ListError, ListSource, NameKind, ParsedList};
