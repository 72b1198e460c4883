//! Hewitt's storage cell (seed 003):
//!
//! ```text
//! let x = Cell.Create[5] in {x.write[7], x.write[9], x.read[]}
//! ```
//!
//! The three messages are sent concurrently, so the read may see 5, 7 or 9: the cell
//! serialises them in arrival order, one at a time.

use stage_runtime::prelude::*;

/// A cell holding one value.
#[actor]
#[derive(Debug)]
pub struct StorageCell {
    contents: i64,
}

impl StorageCell {
    /// `Cell.Create[contents]`.
    pub fn create(contents: i64) -> Self {
        StorageCell { contents }
    }
}

#[behaviour]
impl StorageCell {
    #[request]
    fn write(&mut self, contents: i64) {
        self.contents = contents;
    }

    #[query]
    fn read(&self) -> i64 {
        self.contents
    }
}

/// Runs Hewitt's expression on `stage` and returns what the read saw.
pub async fn run(stage: &Stage, standard_output: Addr<Stdout>) -> Result<i64, SpeechError> {
    let x = stage.spawn(StorageCell::create(5));
    // `{a, b, c}`: three concurrent speech actions, each from its own task.
    let write7 = stage.spawn_task({
        let x = x.clone();
        async move { request!(x, write(7)).await }
    });
    let write9 = stage.spawn_task({
        let x = x.clone();
        async move { request!(x, write(9)).await }
    });
    let read = stage.spawn_task(async move { query!(x, read()).await });
    write7.await??;
    write9.await??;
    let seen = read.await??;
    request!(standard_output, println(format!("x.read[] = {seen}"))).await?;
    Ok(seen)
}
