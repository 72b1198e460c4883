//! Reads a crate's source as text and finds the imports between its files: an
//! edge `a -> b` is any `crate::b` path in `a`'s code (comments aside). Shared by
//! the `module_map` tests of `stage-runtime` and `stage-net`.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each module of `src/` (its path from `src/`, without `.rs`) and its code with
/// comments left out.
pub(crate) fn modules(src: &Path) -> BTreeMap<String, String> {
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
pub(crate) fn edges(modules: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
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
pub(crate) fn circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
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

/// The strongly connected groups of more than one file: each is a knot of files
/// that import each other, directly or through the others.
pub(crate) fn knots(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    let reach = |from: &str| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_owned()];
        while let Some(node) = todo.pop() {
            for next in graph.get(&node).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<&String, BTreeSet<String>> =
        graph.keys().map(|node| (node, reach(node))).collect();
    let mut knots: Vec<BTreeSet<String>> = Vec::new();
    for (node, reached) in &reaches {
        let knot: BTreeSet<String> = reached
            .iter()
            .filter(|other| reaches.get(other).is_some_and(|back| back.contains(*node)))
            .cloned()
            .collect();
        if knot.len() > 1 && !knots.contains(&knot) {
            knots.push(knot);
        }
    }
    knots
}

/// `src/` of the crate whose manifest is in `dir`.
pub(crate) fn source(dir: &str) -> PathBuf {
    Path::new(dir).join("src")
}

/// Panics unless the opening map of `src/lib.rs` names every file of `src/`.
pub(crate) fn assert_the_map_names_every_file(src: &Path) {
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs is readable");
    for name in modules(src).keys().filter(|name| *name != "lib") {
        let line = format!("// {name}.rs");
        assert!(lib.contains(&line), "lib.rs's map does not name {name}.rs");
    }
}
