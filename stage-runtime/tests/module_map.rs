//! The runtime's house rules, checked on its own source: the scheduler holds
//! workers and nothing else (it imports no other file of the crate, so no circle
//! can pass through it); the network seam's traits (`fabric.rs`) stand on the
//! identity and the speech types alone; and `lib.rs`'s map names every file.

mod support {
    pub(crate) mod import_graph;
}

use support::import_graph::{assert_the_map_names_every_file, edges, knots, modules, source};

#[test]
fn the_scheduler_imports_nothing_of_the_crate() {
    let graph = edges(&modules(&source(env!("CARGO_MANIFEST_DIR"))));
    let imports = graph.get("scheduler").expect("scheduler.rs is found");
    assert!(imports.is_empty(), "scheduler.rs imports {imports:?}");
    for knot in knots(&graph) {
        assert!(
            !knot.contains("scheduler"),
            "the scheduler is in a circle: {knot:?}"
        );
    }
}

#[test]
fn the_network_seam_stands_on_identities_and_speech_alone() {
    let graph = edges(&modules(&source(env!("CARGO_MANIFEST_DIR"))));
    let imports = graph.get("fabric").expect("fabric.rs is found");
    let allowed = ["id", "speech", "supervision"];
    for import in imports {
        assert!(
            allowed.contains(&import.as_str()),
            "fabric.rs imports {import}, beyond {allowed:?}"
        );
    }
    for knot in knots(&graph) {
        for leaf in ["fabric", "id", "speaker", "mailbox", "deadlock"] {
            assert!(!knot.contains(leaf), "{leaf}.rs is in a circle: {knot:?}");
        }
    }
}

#[test]
fn the_map_in_lib_rs_names_every_file() {
    assert_the_map_names_every_file(&source(env!("CARGO_MANIFEST_DIR")));
}
