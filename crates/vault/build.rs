//! Rebuilds the crate when a team store migration is added or changed: refinery embeds the
//! folder's files at compile time, and cargo would not otherwise notice a new one.

fn main() {
    println!("cargo:rerun-if-changed=src/team/migrations");
}
