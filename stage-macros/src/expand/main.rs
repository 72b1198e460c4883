//! `#[stage_runtime::main]`: run the async body on a stage until quiescence.

use proc_macro2::TokenStream;
use quote::quote;
use syn::ItemFn;

use crate::errors::{to_compile_errors, Errors};
use crate::expand::rt;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut function: ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(_) => {
            let error = syn::Error::new_spanned(
                &item,
                "`#[stage_runtime::main]` goes on `async fn main() { .. }`",
            );
            let error = to_compile_errors(error);
            return quote!(#item #error);
        }
    };
    let errors = Errors::new();
    if !args.is_empty() {
        errors.spanned(&args, "`#[stage_runtime::main]` takes no arguments");
    }
    // Another runtime's `main` attribute: below this one it is still on the
    // function; above it, it has already turned the `async fn` into a plain one
    // that starts that runtime.
    let other_main = function.attrs.iter().find(|attr| {
        let path = attr.path();
        path.segments.len() > 1
            && path
                .segments
                .last()
                .is_some_and(|last| last.ident == "main")
            && path
                .segments
                .first()
                .is_some_and(|first| first.ident != "stage_runtime")
    });
    if let Some(attr) = other_main {
        errors.spanned(attr, two_runtimes(attr.path()));
    } else if function.sig.asyncness.is_none() && starts_tokio(&function.block) {
        errors.spanned(
            function.sig.fn_token,
            two_runtimes(&syn::parse_quote!(tokio::main)),
        );
    } else if function.sig.asyncness.is_none() {
        errors.spanned(
            function.sig.fn_token,
            "`#[stage_runtime::main]` runs an `async fn`: write `async fn main()`",
        );
    }
    if !function.sig.inputs.is_empty() {
        errors.spanned(
            &function.sig.inputs,
            "`main` takes no arguments: read them with `std::env::args()` inside",
        );
    }
    if !function.sig.generics.params.is_empty() {
        errors.spanned(&function.sig.generics, "`main` cannot be generic");
    }
    if let Err(error) = errors.finish() {
        let error = to_compile_errors(error);
        // A stand-in, so rustc does not add "`main` function not found" to the errors.
        let name = &function.sig.ident;
        return quote!(#error fn #name() {});
    }
    let rt = rt();
    function.sig.asyncness = None;
    let body = &function.block;
    function.block = syn::parse_quote!({
        #rt::run_main(async move #body)
    });
    quote!(#function)
}

/// The error for `#[stage_runtime::main]` together with another runtime's `main`.
fn two_runtimes(other: &syn::Path) -> String {
    let other = quote!(#other).to_string().replace(' ', "");
    format!(
        "`#[{other}]` and `#[stage_runtime::main]` each make `main` start a runtime: keep one. \
         Replies are futures that any executor can await, so under `#[{other}]` spawn \
         actors on a `Stage` you build (`Stage::new()`, and `stage.set_default()` for the \
         free `spawn`)"
    )
}

/// Whether a plain `fn`'s body starts a tokio runtime: what `#[tokio::main]`,
/// expanded first, leaves of an `async fn main`.
fn starts_tokio(body: &syn::Block) -> bool {
    let tokens: Vec<String> = quote!(#body).into_iter().flat_map(flatten).collect();
    tokens
        .windows(4)
        .any(|w| w[0] == "tokio" && w[1] == ":" && w[2] == ":" && w[3] == "runtime")
}

/// Every token of `tree`, groups opened, as text.
fn flatten(tree: proc_macro2::TokenTree) -> Vec<String> {
    match tree {
        proc_macro2::TokenTree::Group(group) => {
            group.stream().into_iter().flat_map(flatten).collect()
        }
        other => vec![other.to_string()],
    }
}
