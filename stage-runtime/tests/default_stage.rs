//! Threads that run no stage (a tokio task, a thread of the program's own) reach
//! the stage `#[stage_runtime::main]` started, not a second stage beside it.

use stage_runtime::prelude::*;

/// Says which stage runs it.
#[actor]
struct Where;

#[behaviour]
impl Where {
    #[query]
    fn stage(&self) -> String {
        Stage::current().name().to_owned()
    }
}

#[test]
fn spawn_from_a_tokio_task_or_a_plain_thread_reaches_the_stage_of_main() {
    // What `#[stage_runtime::main] async fn main()` expands to.
    let (thread, task) = stage_runtime::__private::run_main(async {
        assert_eq!(Stage::current().name(), "stage");
        let thread = std::thread::spawn(|| query!(spawn(Where), stage()).wait())
            .join()
            .unwrap();
        let tokio = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let task = tokio.block_on(async {
            tokio::spawn(async { query!(spawn(Where), stage()).await })
                .await
                .unwrap()
        });
        (thread, task)
    });
    assert_eq!(thread.as_deref(), Ok("stage"));
    assert_eq!(task.as_deref(), Ok("stage"));
    // Once main's stage has ended, such a thread gets the process's default one.
    let after = std::thread::spawn(|| Stage::current().name().to_owned())
        .join()
        .unwrap();
    assert_eq!(after, "stage-default");
    assert!(format!("{:?}", Stage::current()).contains(r#"name: "stage-default""#));
}
