//! trybuild: every accepted form compiles, every refused one fails with its message.

#[test]
fn accepted_forms_compile() {
    trybuild::TestCases::new().pass("pass/*.rs");
}

#[test]
fn refused_forms_fail_with_their_message() {
    trybuild::TestCases::new().compile_fail("fail/*/*.rs");
}
