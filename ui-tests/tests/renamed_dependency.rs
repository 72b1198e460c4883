//! The macros work when a crate depends on `stage-runtime` under another name: the
//! generated code finds the runtime by the name in that crate's `Cargo.toml`.

use std::path::Path;
use std::process::Command;

#[test]
fn every_macro_works_with_the_runtime_renamed() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = here.join("renamed/Cargo.toml");
    // Beside trybuild's own build directory, under the workspace's target.
    let target = here.join("../target/tests/renamed");
    let output = Command::new(env!("CARGO"))
        .args(["run", "--quiet", "--manifest-path"])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "the renamed-dependency crate failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "Ok(12) Ok(24) Ok((12, 12))\n"
    );
}
