//! The crate's house rules, checked on its own source: no import circle among its
//! files, and `lib.rs`'s map names every file.
//!
//! An edge `a -> b` is any `crate::b` path in `a`'s code (comments aside). A
//! circle means two files hide a third concept between them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each module of `src/` (its path from `src/`, without `.rs`) and its code with
/// comments left out.
fn modules(src: &Path) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("src/ is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_some_and(|e| e == "rs") {
                let name = path
                    .strip_prefix(src)
                    .expect("under src/")
                    .with_extension("")
                    .to_string_lossy()
                    .replace('\\', "/");
                let text = std::fs::read_to_string(&path).expect("a source file is readable");
                let code: String = text
                    .lines()
                    .filter(|line| !line.trim_start().starts_with("//"))
                    .collect::<Vec<_>>()
                    .join("\n");
                found.insert(name, code);
            }
        }
    }
    found
}

/// The crate's top-level modules each module's code names through `crate::`.
fn edges(modules: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let top = |name: &str| name.split('/').next().unwrap_or(name).to_owned();
    let tops: BTreeSet<String> = modules.keys().map(|m| top(m)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, code) in modules {
        let from = top(name);
        let to = graph.entry(from.clone()).or_default();
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + "crate::".len()..];
            let target: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            // `use crate::{a, b}` names several.
            let targets: Vec<String> = if rest.starts_with('{') {
                let inner = &rest[1..rest.find('}').unwrap_or(rest.len())];
                inner
                    .split(',')
                    .map(|t| t.trim().split("::").next().unwrap_or("").to_owned())
                    .collect()
            } else {
                vec![target]
            };
            for target in targets {
                if target != from && tops.contains(&target) && target != "lib" {
                    to.insert(target);
                }
            }
        }
    }
    graph
}

/// A circle in `graph`, if it has one.
fn circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut found = path[at..].to_vec();
            found.push(node.to_owned());
            return Some(found);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_import_circle_among_the_crates_files() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = edges(&modules(&src));
    assert!(graph.len() > 10, "the source was not found: {graph:?}");
    if let Some(found) = circle(&graph) {
        panic!("an import circle: {}", found.join(" -> "));
    }
}

#[test]
fn the_map_in_lib_rs_names_every_file() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs is readable");
    for name in modules(&src).keys().filter(|name| *name != "lib") {
        let line = format!("// {name}.rs");
        assert!(lib.contains(&line), "lib.rs's map does not name {name}.rs");
    }
}

#[test]
fn the_checker_finds_a_circle() {
    let mut modules = BTreeMap::new();
    modules.insert("a".to_owned(), "use crate::b::X;".to_owned());
    modules.insert("b".to_owned(), "use crate::{c, d::Y};".to_owned());
    modules.insert("c".to_owned(), "fn f() { crate::a::g() }".to_owned());
    modules.insert("d".to_owned(), String::new());
    let graph = edges(&modules);
    assert_eq!(
        circle(&graph),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    modules.insert("c".to_owned(), "// crate::a::g()".to_owned());
    let code_only: BTreeMap<String, String> = modules
        .into_iter()
        .map(|(n, c)| {
            let c = c
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<String>();
            (n, c)
        })
        .collect();
    assert_eq!(circle(&edges(&code_only)), None);
}
