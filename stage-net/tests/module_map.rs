//! The crate's house rules, checked on its own source: no import circle among its
//! files, and `lib.rs`'s map names every file.
//!
//! A circle means two files hide a third concept between them.

#[path = "../../stage-runtime/tests/support/import_graph.rs"]
mod import_graph;

use std::collections::BTreeMap;

use import_graph::{assert_the_map_names_every_file, circle, edges, modules, source};

#[test]
fn no_import_circle_among_the_crates_files() {
    let src = source(env!("CARGO_MANIFEST_DIR"));
    let graph = edges(&modules(&src));
    assert!(graph.len() > 10, "the source was not found: {graph:?}");
    if let Some(found) = circle(&graph) {
        panic!("an import circle: {}", found.join(" -> "));
    }
}

#[test]
fn the_map_in_lib_rs_names_every_file() {
    assert_the_map_names_every_file(&source(env!("CARGO_MANIFEST_DIR")));
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
