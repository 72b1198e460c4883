//! `join!(r1, r2, ..)`: SALSA's join continuation over replies of any types.

use proc_macro2::TokenStream;
use quote::quote;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, Token};

use crate::expand::{hidden, rt};

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let replies = match Punctuated::<Expr, Token![,]>::parse_terminated.parse2(input) {
        Ok(replies) => replies,
        Err(error) => return error.to_compile_error(),
    };
    if replies.is_empty() {
        return syn::Error::new(
            proc_macro2::Span::call_site(),
            "`join!` needs at least one reply: `join!(query!(a, x()), query!(b, y()))`",
        )
        .to_compile_error();
    }
    let rt = rt();
    let replies: Vec<&Expr> = replies.iter().collect();
    let names: Vec<Ident> = (0..replies.len())
        .map(|i| hidden(&format!("__reply{i}")))
        .collect();
    let answers: Vec<Ident> = (0..replies.len())
        .map(|i| hidden(&format!("__answer{i}")))
        .collect();
    // The replies are evaluated here, in order (their messages are sent now); the
    // answers are awaited on the stage, in order, and the first failure fails all.
    quote! {{
        let (#(#names,)*) = (#(#replies,)*);
        #rt::spawn_reply(async move {
            #(
                let #answers = match #names.await {
                    #rt::Result::Ok(answer) => answer,
                    #rt::Result::Err(error) => return #rt::Result::Err(error),
                };
            )*
            #rt::Result::Ok((#(#answers,)*))
        })
    }}
}
