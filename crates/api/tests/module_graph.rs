//! No module of `crates/api/src` imports, directly or through others, a module that imports it
//! back (issue 15). The graph is read from the source: every `crate::name` path outside
//! comments and outside `#[cfg(test)]` modules is an edge to the top-level module `name`.

// A panic in a test is a failed test: unwrap is the clearest way to say "this must work".
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Graph = BTreeMap<String, BTreeSet<String>>;

/// The source without `//` comments and without `#[cfg(test)] mod … { … }` blocks.
fn production_code(source: &str) -> String {
    let mut out = String::new();
    let mut lines = source.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim() == "#[cfg(test)]" {
            if let Some(next) = lines.peek() {
                if next.trim_start().starts_with("mod ") && next.trim_end().ends_with('{') {
                    // Skip to the matching closing brace (test modules hold no raw strings
                    // with braces; a miscount would only hide edges from a test module).
                    let mut depth = 0i32;
                    for l in lines.by_ref() {
                        depth += l.matches('{').count() as i32 - l.matches('}').count() as i32;
                        if depth <= 0 {
                            break;
                        }
                    }
                    continue;
                }
            }
        }
        let code = match line.find("//") {
            Some(i) if !line[..i].contains('"') => &line[..i],
            _ => line,
        };
        out.push_str(code);
        out.push('\n');
    }
    out
}

/// `crate::a`, `crate::{a, b::c}` → a, b.
fn imports(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for part in group[..end].split(',') {
                let name: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                found.insert(name);
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            found.insert(name);
        }
    }
    found
}

fn graph_of(src: &Path) -> Graph {
    let mut graph = Graph::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("rs") {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap();
            let top = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string();
            if top == "lib" {
                continue;
            }
            let code = production_code(&std::fs::read_to_string(&path).unwrap());
            graph
                .entry(top.clone())
                .or_default()
                .extend(imports(&code).into_iter().filter(|m| *m != top));
        }
    }
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    for deps in graph.values_mut() {
        deps.retain(|d| modules.contains(d));
    }
    graph
}

/// Every cycle, as a path `a -> b -> … -> a`, found from each module.
fn cycles(graph: &Graph) -> Vec<String> {
    let mut found = Vec::new();
    for start in graph.keys() {
        // Depth-first search for a path back to `start`.
        let mut stack: Vec<(String, Vec<String>)> = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((node, path)) = stack.pop() {
            for next in graph.get(&node).into_iter().flatten() {
                if next == start {
                    found.push(format!("{} -> {start}", path.join(" -> ")));
                    stack.clear();
                    break;
                }
                if seen.insert(next.clone()) {
                    let mut p = path.clone();
                    p.push(next.clone());
                    stack.push((next.clone(), p));
                }
            }
        }
    }
    found
}

#[test]
fn the_api_modules_import_each_other_without_a_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = graph_of(&src);
    assert!(graph.len() > 10, "the modules were read: {graph:?}");
    assert!(
        graph["screening"].contains("checks"),
        "edges were read: {graph:?}"
    );
    let found = cycles(&graph);
    assert!(found.is_empty(), "module cycles: {found:#?}");
}

#[test]
fn the_check_finds_a_cycle_through_another_module_and_ignores_comments_and_tests() {
    let mut graph = Graph::new();
    let code_a = "use crate::b::x;\n// crate::c is only named here\n";
    let code_b = "fn f() { crate::c::y(); }\n#[cfg(test)]\nmod tests {\n    use crate::a;\n}\n";
    let code_c = "use crate::{a, b};\n";
    for (name, code) in [("a", code_a), ("b", code_b), ("c", code_c)] {
        graph.insert(name.into(), imports(&production_code(code)));
    }
    assert_eq!(graph["a"], BTreeSet::from(["b".to_string()]));
    assert_eq!(graph["b"], BTreeSet::from(["c".to_string()]));
    let found = cycles(&graph);
    assert!(found.iter().any(|c| c == "a -> b -> c -> a"), "{found:?}");
    graph.get_mut("c").unwrap().clear();
    assert!(cycles(&graph).is_empty());
}
