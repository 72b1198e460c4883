//! Star's stock ticker (Actors chapter, program "A Stock Actor") and its query with an
//! export selection:
//!
//! ```text
//! fun stocker() is actor{
//!   on (Price,When) on tick do extend prices with (Price,When);
//!   fun average(Frm,To) is valof{ .. }
//!   prc clear(Frm,To) do delete ((Pr,W) where Frm=<W and W<To) in prices;
//! }
//! query stocker's average 'n volume with average(34,10)*volume(34,10)
//! ```
//!
//! Rust needs a space before the quote: `stocker 's average 'n volume`, because since
//! Rust 2021 the lexer rejects `stocker's` before any macro sees it.

use stage_runtime::prelude::*;

/// Recent trades: price and time.
#[actor]
#[derive(Debug)]
pub struct Stocker {
    prices: Vec<(f64, u64)>,
}

impl Stocker {
    /// A stocker that has seen no trade.
    pub fn new() -> Self {
        Stocker { prices: Vec::new() }
    }

    fn between(&self, frm: u64, to: u64) -> impl Iterator<Item = f64> + '_ {
        self.prices
            .iter()
            .filter(move |(_, when)| frm <= *when && *when < to)
            .map(|(price, _)| *price)
    }
}

impl Default for Stocker {
    fn default() -> Self {
        Stocker::new()
    }
}

#[behaviour]
impl Stocker {
    /// `on (Price,When) on tick do extend prices with (Price,When)`.
    #[on(tick)]
    fn tick(&mut self, (price, when): (f64, u64)) {
        self.prices.push((price, when));
    }

    /// The average price of the trades in `[frm, to)`; 0 when there were none.
    #[query]
    fn average(&self, frm: u64, to: u64) -> f64 {
        let prices: Vec<f64> = self.between(frm, to).collect();
        if prices.is_empty() {
            0.0
        } else {
            prices.iter().sum::<f64>() / prices.len() as f64
        }
    }

    /// The number of trades in `[frm, to)`.
    #[query]
    fn volume(&self, frm: u64, to: u64) -> f64 {
        self.between(frm, to).count() as f64
    }

    /// `prc clear(Frm,To) do delete ((Pr,W) where Frm=<W and W<To) in prices`.
    #[request]
    fn clear(&mut self, frm: u64, to: u64) {
        self.prices
            .retain(|(_, when)| !(frm <= *when && *when < to));
    }
}

/// Feeds the stocker a few trades and asks Star's question.
pub async fn run(standard_output: Addr<Stdout>) -> Result<f64, SpeechError> {
    let stocker = spawn(Stocker::new());
    for (price, when) in [(10.0, 5), (12.0, 11), (14.0, 20), (18.0, 33), (30.0, 40)] {
        notify!(stocker, tick((price, when)));
    }
    let (frm, to) = (10, 34);
    let value =
        query!(stocker 's average 'n volume with average(frm, to) * volume(frm, to)).await?;
    let say = |line: String| request!(standard_output, println(line));
    say(format!("average(10, 34) * volume(10, 34) = {value}")).await?;
    request!(stocker, clear(0, 15)).await?;
    let after = query!(stocker 's average with average(frm, to)).await?;
    say(format!("after clear(0, 15): average(10, 34) = {after}")).await?;
    Ok(value)
}
