#[stage_runtime::main]
#[tokio::main]
async fn main() {}
