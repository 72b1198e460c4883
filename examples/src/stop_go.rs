//! The X/Y/Z program of seed 004 ("Actor model and process calculi"):
//!
//! - X: on `start`, send Z `stop`.
//! - Y: on `start`, send Z `go`; on `true`, send Z `go`; on `false`, stop.
//! - Z, with a count n from 0: on `stop`, send Y `false` and print n, then stop; on
//!   `go`, send Y `true` and count one more.
//!
//! In CSP, Z's guarded choice may never accept X's `stop` (starvation), and the
//! program may never print. Actors take messages in arrival order, and X's `stop` is
//! guaranteed to arrive: the program always halts, printing a count that can be
//! arbitrarily large.

use stage_runtime::prelude::*;

/// X: tells Z to stop.
#[actor]
#[derive(Debug)]
pub struct X {
    z: Addr<Z>,
}

#[behaviour]
impl X {
    #[on(start)]
    fn start(&mut self) {
        notify!(self.z, stop());
    }
}

/// Y: keeps Z going for as long as Z answers `true`.
#[actor]
#[derive(Debug)]
pub struct Y {
    z: Addr<Z>,
}

#[behaviour]
impl Y {
    #[on(start)]
    fn start(&mut self) {
        notify!(self.z, go());
    }

    #[on(answer, when = keep_going)]
    fn again(&mut self, keep_going: bool) {
        notify!(self.z, go());
    }

    #[on(answer, when = !keep_going)]
    fn done(&mut self, ctx: &mut Ctx<Self>, keep_going: bool) {
        ctx.stop();
    }
}

/// Z: counts `go`s until `stop`.
#[actor]
#[derive(Debug)]
pub struct Z {
    n: u64,
    y: Option<Addr<Y>>,
    print: Addr<Stdout>,
}

#[behaviour]
impl Z {
    #[request]
    fn meet(&mut self, y: Addr<Y>) {
        self.y = Some(y);
    }

    #[on(start)]
    fn start(&mut self) {}

    #[on(stop)]
    fn stop(&mut self, ctx: &mut Ctx<Self>) {
        if let Some(y) = &self.y {
            notify!(y, answer(false));
        }
        notify!(self.print, println(format!("count: {}", self.n)));
        ctx.stop();
    }

    #[on(go)]
    fn go(&mut self) {
        self.n += 1;
        if let Some(y) = &self.y {
            notify!(y, answer(true));
        }
    }
}

/// Creates X, Y and Z and sends each `start`.
pub async fn run(print: Addr<Stdout>) -> Result<(), SpeechError> {
    let z = spawn(Z {
        n: 0,
        y: None,
        print,
    });
    let y = spawn(Y { z: z.clone() });
    let x = spawn(X { z: z.clone() });
    request!(z, meet(y.clone())).await?;
    notify!(y, start());
    notify!(z, start());
    notify!(x, start());
    Ok(())
}
