use stage_runtime::prelude::*;

fn main() {
    let acct = 42;
    notify!(acct, deposit(5));
}
