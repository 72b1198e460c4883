//! Replies are plain futures: they can be awaited from async-std and tokio, whose
//! executors know nothing of the stage.

use stage_runtime::prelude::*;

#[actor]
struct Echo {
    calls: u32,
}

#[behaviour]
impl Echo {
    #[request]
    fn echo(&mut self, word: String) -> String {
        self.calls += 1;
        format!("{word} #{}", self.calls)
    }

    #[query]
    async fn calls(&self) -> u32 {
        self.calls
    }
}

#[test]
fn a_reply_awaited_from_async_std() {
    let echo = spawn(Echo { calls: 0 });
    async_std::task::block_on(async {
        let first = async_std::task::spawn({
            let echo = echo.clone();
            async move { request!(echo, echo("hi".into())).await }
        });
        assert_eq!(first.await.as_deref(), Ok("hi #1"));
        assert_eq!(query!(echo, calls()).await, Ok(1));
    });
}

#[tokio::test(flavor = "current_thread")]
async fn a_reply_awaited_from_tokio_current_thread() {
    let echo = spawn(Echo { calls: 0 });
    assert_eq!(
        request!(echo, echo("a".into())).await.as_deref(),
        Ok("a #1")
    );
    assert_eq!(query!(echo, calls()).await, Ok(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_replies_awaited_from_tokio_tasks() {
    let echo = spawn(Echo { calls: 0 });
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let echo = echo.clone();
            tokio::spawn(async move { request!(echo, echo(format!("{i}"))).await })
        })
        .collect();
    for task in tasks {
        assert!(task.await.expect("task").is_ok());
    }
    assert_eq!(query!(echo, calls()).await, Ok(100));
}
