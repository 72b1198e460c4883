//! Stage's shopping cart (section 3, "ordering"):
//!
//! ```text
//! cart.add("beans") cart.add("bread") cart.add("milk")
//! total = cart.total()
//! ```
//!
//! The three `add`s arrive in the order sent, and `total` cannot be received before
//! them: it always sees all three.

use stage_runtime::prelude::*;

/// A shopping cart.
#[actor]
#[derive(Debug)]
pub struct ShoppingCart {
    items: Vec<(String, u32)>,
}

impl ShoppingCart {
    /// An empty cart.
    pub fn new() -> Self {
        ShoppingCart { items: Vec::new() }
    }
}

impl Default for ShoppingCart {
    fn default() -> Self {
        ShoppingCart::new()
    }
}

#[behaviour]
impl ShoppingCart {
    #[on(add)]
    fn add(&mut self, item: String, pence: u32) {
        self.items.push((item, pence));
    }

    /// The number of items and their total price in pence.
    #[query]
    fn total(&self) -> (usize, u32) {
        (self.items.len(), self.items.iter().map(|(_, p)| p).sum())
    }
}

/// A customer who fills a cart and asks for the total.
#[actor]
#[derive(Debug)]
pub struct Customer {
    cart: Addr<ShoppingCart>,
}

#[behaviour]
impl Customer {
    #[request]
    async fn shop(&mut self) -> Result<(usize, u32), SpeechError> {
        notify!(self.cart, add("beans".to_string(), 65));
        notify!(self.cart, add("bread".to_string(), 145));
        notify!(self.cart, add("milk".to_string(), 99));
        query!(self.cart, total()).await
    }
}

/// One customer, one cart; prints the total.
pub async fn run(standard_output: Addr<Stdout>) -> Result<(usize, u32), SpeechError> {
    let cart = spawn(ShoppingCart::new());
    let customer = spawn(Customer { cart });
    let (items, pence) = request!(customer, shop()).await??;
    request!(
        standard_output,
        println(format!(
            "total: {items} items, £{}.{:02}",
            pence / 100,
            pence % 100
        ))
    )
    .await?;
    Ok((items, pence))
}
