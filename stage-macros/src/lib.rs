//! Procedural macros for Stage for Rust.
//!
//! Use them through `stage-runtime`, which re-exports them with their documentation:
//! generated code refers to `::stage_runtime::__private`, so this crate alone is not
//! enough. Each entry point converts to `proc_macro2`, calls the macro's `expand`, and
//! converts back; everything else is in `model` (parse), `check` (rules across items)
//! and `expand` (code generation).

#![forbid(unsafe_code)]

use proc_macro::TokenStream;

mod check;
mod errors;
mod expand;
mod model;

/// Marks a struct as an actor's state. See `stage_runtime::actor`.
#[proc_macro_attribute]
pub fn actor(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::actor::expand(args.into(), item.into()).into()
}

/// Declares an actor's handlers on its `impl` block. See `stage_runtime::behaviour`.
#[proc_macro_attribute]
pub fn behaviour(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::behaviour::expand(args.into(), item.into()).into()
}

/// `notify!`: an event on a channel. See `stage_runtime::notify`.
#[proc_macro]
pub fn notify(input: TokenStream) -> TokenStream {
    expand::speech::expand(model::speech::Kind::Notify, input.into()).into()
}

/// `query!`: a question. See `stage_runtime::query`.
#[proc_macro]
pub fn query(input: TokenStream) -> TokenStream {
    expand::speech::expand(model::speech::Kind::Query, input.into()).into()
}

/// `request!`: an action that may change state. See `stage_runtime::request`.
#[proc_macro]
pub fn request(input: TokenStream) -> TokenStream {
    expand::speech::expand(model::speech::Kind::Request, input.into()).into()
}

/// `join!`: a reply of several replies' answers. See `stage_runtime::join`.
#[proc_macro]
pub fn join(input: TokenStream) -> TokenStream {
    expand::join::expand(input.into()).into()
}

/// Runs `async fn main` on a stage until quiescence. See `stage_runtime::main`.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::main::expand(args.into(), item.into()).into()
}
