//! `#[actor]`: the item unchanged, plus its declaration to the runtime.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use crate::errors::{to_compile_errors, Errors};
use crate::expand::rt;
use crate::model::actor::Actor;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let item: syn::Item = match syn::parse2(item.clone()) {
        Ok(item) => item,
        // Not even an item: give rustc the tokens back so it reports on them itself.
        Err(error) => {
            let error = to_compile_errors(error);
            return quote!(#item #error);
        }
    };
    let errors = Errors::new();
    let actor = Actor::parse(&errors, args, &item);
    let declaration = actor.as_ref().filter(|_| errors.is_empty()).map(declare);
    let error = errors.finish().err().map(to_compile_errors);
    // Always expand to the item, so the rest of the crate keeps type-checking.
    quote! {
        #item
        #declaration
        #error
    }
}

fn declare(actor: &Actor) -> TokenStream {
    let rt = rt();
    let ident = &actor.ident;
    let mailbox = match actor.mailbox {
        Some(n) => quote!(#rt::Option::Some(#n)),
        None => quote!(#rt::Option::None),
    };
    // Spanned on the actor's name, so that "cannot be sent between threads" lands there.
    let impl_line = quote_spanned!(ident.span()=> impl #rt::Declared for #ident);
    // `do_not_recommend`: rustc should not list every actor when one type is not.
    quote! {
        #[automatically_derived]
        #[diagnostic::do_not_recommend]
        #impl_line {
            const MAILBOX: #rt::Option<usize> = #mailbox;
        }
    }
}
