#[tokio::main]
#[stage_runtime::main]
async fn main() {}
