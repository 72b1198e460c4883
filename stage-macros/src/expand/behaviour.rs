//! `#[behaviour]`: parse, check, then emit the impl block and what the runtime needs.

use proc_macro2::TokenStream;
use quote::quote;
use syn::ItemImpl;

use crate::check;
use crate::errors::{to_compile_errors, Errors};
use crate::expand::{allows, contract, message, names, proxies};
use crate::model::behaviour::Behaviour;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let errors = Errors::new();
    if !args.is_empty() {
        errors.spanned(
            &args,
            "`#[behaviour]` takes no arguments; options go on `#[actor(..)]`",
        );
    }
    let item: ItemImpl = match syn::parse2(item.clone()) {
        Ok(item) => item,
        Err(_) => {
            let _ = errors.finish();
            let error = syn::Error::new_spanned(
                &item,
                "`#[behaviour]` goes on an `impl` block: `#[behaviour] impl YourActor { .. }`",
            );
            let error = to_compile_errors(error);
            return quote!(#item #error);
        }
    };
    let behaviour = Behaviour::parse(&errors, item);
    check::behaviour(&errors, &behaviour);
    let generated = match (&behaviour.self_ident, errors.is_empty()) {
        (Some(actor), true) => Some(generate(&behaviour, actor)),
        (Some(actor), false) if !behaviour.generic => Some(fallback(actor)),
        _ => None,
    };
    let error = errors.finish().err().map(to_compile_errors);
    // The impl block, without our attributes, is emitted even when there are errors,
    // so that its methods keep type-checking and the IDE keeps working; but not
    // for a generic actor, whose handlers' `Ctx<Self>` would each add "has no
    // behaviour" to the one real mistake.
    let impl_block = (!behaviour.generic).then_some(&behaviour.item);
    quote! {
        #impl_block
        #generated
        #error
    }
}

/// With errors in the block, an `Actor` impl without handlers still, so that the
/// handlers' own signatures (`ctx: &mut Ctx<Self>`) and the actor's uses elsewhere do
/// not add "`X` has no behaviour" to the real mistakes.
fn fallback(actor: &syn::Ident) -> TokenStream {
    let rt = crate::expand::rt();
    let allows = allows();
    quote! {
        #allows
        const _: () = {
            #[automatically_derived]
            #[diagnostic::do_not_recommend]
            impl #rt::Actor for #actor {
                type __Message = ::core::convert::Infallible;
                type __Notify<'__a> = #rt::Unavailable<'__a>;
                type __Events<'__a> = #rt::Unavailable<'__a>;
                type __Query<'__a> = #rt::Unavailable<'__a>;
                type __Request<'__a> = #rt::Unavailable<'__a>;
                fn __notify(_: &#rt::Addr<Self>) -> #rt::Unavailable<'_> { #rt::Unavailable::new() }
                fn __events(_: &#rt::Addr<Self>) -> #rt::Unavailable<'_> { #rt::Unavailable::new() }
                fn __query(_: &#rt::Addr<Self>) -> #rt::Unavailable<'_> { #rt::Unavailable::new() }
                fn __request(_: &#rt::Addr<Self>) -> #rt::Unavailable<'_> { #rt::Unavailable::new() }
                fn __dispatch<'__t>(
                    &'__t mut self,
                    _: &'__t mut #rt::Ctx<Self>,
                    never: ::core::convert::Infallible,
                ) -> #rt::Waiting<'__t> {
                    match never {}
                }
                fn __describe(never: &::core::convert::Infallible) -> (#rt::SpeechKind, &'static str) {
                    match *never {}
                }
                fn __refuse(never: ::core::convert::Infallible, _: #rt::SpeechError) {
                    match never {}
                }
            }
        };
    }
}

fn generate(b: &Behaviour, actor: &syn::Ident) -> TokenStream {
    let allows = allows();
    let message = message::generate(b, actor);
    let proxies = proxies::generate(b, actor);
    let by_name = names::generate(b, actor);
    let actor_impl = contract::generate(b, actor);
    let exports = contract::exports(b, actor);
    quote! {
        #allows
        const _: () = {
            #message
            #proxies
            #by_name
            #actor_impl
            #exports
        };
    }
}
