use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_lite::StreamExt;

use crate::prelude::*;
use crate::Recipient;

/// Identifies one timer of a [`Timer`] driver, to cancel it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimerId(u64);

/// What a timer delivers to its recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tick {
    /// The timer that fired.
    pub timer: TimerId,
    /// How many times it has fired, this one included (always 1 for `after`).
    pub count: u64,
}

/// A driver actor for time: notifies a recipient after a delay, or every period.
///
/// Requests: `after(delay, to) -> TimerId`, `every(period, to) -> TimerId`,
/// `cancel(timer) -> bool`. Timers fire in the order of their deadlines. Firing goes
/// through the driver itself, so once `cancel` has answered `true`, that timer never
/// fires again; `false` means it had fired (an `after`) or was unknown. A timer whose
/// recipient has stopped is dropped. Pending timers count as work: a program does not
/// end (quiesce) while one can still fire.
///
/// # Examples
///
/// ```
/// use stage_runtime::prelude::*;
/// use stage_runtime::drivers::{Tick, Timer};
/// use std::time::Duration;
///
/// #[actor]
/// struct Sleeper { woke: u64 }
///
/// #[behaviour]
/// impl Sleeper {
///     #[on(wake)]
///     fn wake(&mut self, tick: Tick) { self.woke = tick.count; }
///     #[query]
///     fn woke(&self) -> u64 { self.woke }
/// }
///
/// let stage = Stage::new();
/// let timer = stage.spawn(Timer::new());
/// let sleeper = stage.spawn(Sleeper { woke: 0 });
/// request!(timer, after(Duration::from_millis(5), recipient!(sleeper, wake))).wait().unwrap();
/// stage.wait_quiescent();
/// assert_eq!(query!(sleeper, woke()).wait(), Ok(1));
/// ```
#[actor]
pub struct Timer {
    next: u64,
    live: HashMap<TimerId, Armed>,
}

struct Armed {
    to: Recipient<Tick>,
    repeat: bool,
    count: u64,
    cancelled: Arc<AtomicBool>,
}

impl Timer {
    /// A timer driver with no timers.
    pub fn new() -> Self {
        Timer {
            next: 0,
            live: HashMap::new(),
        }
    }

    fn arm(
        &mut self,
        ctx: &mut Ctx<Self>,
        to: Recipient<Tick>,
        wait: Duration,
        repeat: bool,
    ) -> TimerId {
        self.next += 1;
        let id = TimerId(self.next);
        let cancelled = Arc::new(AtomicBool::new(false));
        self.live.insert(
            id,
            Armed {
                to,
                repeat,
                count: 0,
                cancelled: Arc::clone(&cancelled),
            },
        );
        let me = ctx.addr();
        ctx.stage().spawn_future(async move {
            if repeat {
                let mut ticks = async_io::Timer::interval(wait);
                while !cancelled.load(Ordering::Acquire) {
                    ticks.next().await;
                    if cancelled.load(Ordering::Acquire)
                        || me.own(move |t: &mut Timer, _| t.fire(id)).is_err()
                    {
                        break;
                    }
                }
            } else {
                async_io::Timer::after(wait).await;
                if !cancelled.load(Ordering::Acquire) {
                    let _ = me.own(move |t: &mut Timer, _| t.fire(id));
                }
            }
        });
        id
    }

    /// Runs on the driver's turn: serialised with `cancel`.
    fn fire(&mut self, id: TimerId) {
        let Some(armed) = self.live.get_mut(&id) else {
            return;
        };
        armed.count += 1;
        let tick = Tick {
            timer: id,
            count: armed.count,
        };
        let delivered = armed.to.send(tick).is_ok();
        if !armed.repeat || !delivered {
            if let Some(armed) = self.live.remove(&id) {
                armed.cancelled.store(true, Ordering::Release);
            }
        }
    }
}

impl Default for Timer {
    fn default() -> Self {
        Timer::new()
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer")
            .field("armed", &self.live.len())
            .finish()
    }
}

#[behaviour]
impl Timer {
    /// Notifies `to` once, after `delay`.
    #[request]
    pub fn after(&mut self, ctx: &mut Ctx<Self>, delay: Duration, to: Recipient<Tick>) -> TimerId {
        self.arm(ctx, to, delay, false)
    }

    /// Notifies `to` every `period`, until cancelled.
    #[request]
    pub fn every(&mut self, ctx: &mut Ctx<Self>, period: Duration, to: Recipient<Tick>) -> TimerId {
        self.arm(ctx, to, period.max(Duration::from_micros(1)), true)
    }

    /// Cancels `timer`: `true` if it will never fire again.
    #[request]
    pub fn cancel(&mut self, timer: TimerId) -> bool {
        match self.live.remove(&timer) {
            Some(armed) => {
                armed.cancelled.store(true, Ordering::Release);
                true
            }
            None => false,
        }
    }

    /// How many timers are armed.
    #[query]
    pub fn armed(&self) -> usize {
        self.live.len()
    }
}
