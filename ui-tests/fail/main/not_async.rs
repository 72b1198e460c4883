#[stage_runtime::main]
fn main() {}
