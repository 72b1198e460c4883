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
    if function.sig.asyncness.is_none() {
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
