//! Compile-time tests of the Stage macros, run by `tests/ui.rs` with trybuild:
//! `pass/` holds programs that must compile, `fail/<macro>/` programs that must not,
//! each with the exact error it must produce (`.stderr`).
