//! The typed proxies the speech macros resolve against.
//!
//! Each proxy has a typed method per handler (`deposit(self, amount: i64)`); the
//! speech macros reach them through `__speak::<Name>` (see `names.rs`), so that a
//! misspelt name is reported with the names that exist, and a wrong argument is a
//! type error at that argument. Four proxies: short-form events (`__Notify`),
//! Star-form events, whose value is the channel's whole event (`__Events`), queries
//! and requests.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::Ident;

use crate::expand::message::{self, variant_handlers};
use crate::expand::{answer_type, arg_names, concrete, event_type, hidden, rt, variant};
use crate::model::behaviour::{Behaviour, Handler, Kind};

pub(crate) fn names() -> [Ident; 4] {
    ["__Notify", "__Events", "__Query", "__Request"].map(hidden)
}

pub(crate) fn generate(b: &Behaviour, actor: &Ident) -> TokenStream {
    let rt = rt();
    let [notify, events, query, request] = names();
    let handlers = variant_handlers(b);
    let rules: Vec<&Handler> = handlers
        .iter()
        .copied()
        .filter(|h| matches!(h.kind, Kind::Rule { .. }))
        .collect();
    let notify_methods = rules.iter().map(|h| notify_method(h, actor));
    let event_methods = rules.iter().map(|h| event_method(h, actor));
    let query_methods = handlers
        .iter()
        .filter(|h| matches!(h.kind, Kind::Query))
        .map(|h| ask_method(h, actor));
    let request_methods = handlers
        .iter()
        .filter(|h| matches!(h.kind, Kind::Request))
        .map(|h| ask_method(h, actor));
    let structs = [
        (&notify, quote!(#(#notify_methods)*)),
        (&events, quote!(#(#event_methods)*)),
        (&query, quote!(#(#query_methods)*)),
        (&request, quote!(#(#request_methods)*)),
    ]
    .into_iter()
    .map(|(name, methods)| {
        quote! {
            pub struct #name<'__a>(pub &'__a #rt::Addr<#actor>);
            impl<'__a> #name<'__a> {
                #methods
            }
        }
    });
    quote!(#(#structs)*)
}

/// `channel(args..)`: the short form.
fn notify_method(h: &Handler, actor: &Ident) -> TokenStream {
    let rt = rt();
    let Kind::Rule { channel, .. } = &h.kind else {
        return TokenStream::new();
    };
    let msg = message::name();
    let v = variant(h);
    let names = arg_names(h);
    let types = h.params.iter().map(|p| {
        let ty = concrete(&p.ty, actor);
        quote_spanned!(p.pat_span()=> #ty)
    });
    let event = match names.as_slice() {
        [single] => quote!(#single),
        many => quote!((#(#many,)*)),
    };
    quote! {
        #[inline]
        pub fn #channel(self, #(#names: #types),*) -> #rt::Sent {
            self.0.__tell(#msg::#v(#event))
        }
    }
}

/// `channel(event)`: Star's form, the event as one value.
fn event_method(h: &Handler, actor: &Ident) -> TokenStream {
    let rt = rt();
    let Kind::Rule { channel, .. } = &h.kind else {
        return TokenStream::new();
    };
    let msg = message::name();
    let v = variant(h);
    let event = event_type(h, actor);
    let value = hidden("__event");
    quote! {
        #[inline]
        pub fn #channel(self, #value: #event) -> #rt::Sent {
            self.0.__tell(#msg::#v(#value))
        }
    }
}

/// `handler(args..)` for a query or request.
fn ask_method(h: &Handler, actor: &Ident) -> TokenStream {
    let rt = rt();
    let msg = message::name();
    let v = variant(h);
    let name = &h.name;
    let names = arg_names(h);
    let types = h.params.iter().map(|p| {
        let ty = concrete(&p.ty, actor);
        quote_spanned!(p.pat_span()=> #ty)
    });
    let answer = answer_type(h, actor);
    let reply = hidden("__reply");
    quote! {
        #[inline]
        pub fn #name(self, #(#names: #types),*) -> #rt::Reply<#answer> {
            self.0.__ask(move |#reply| #msg::#v((#(#names,)*), #reply))
        }
    }
}

impl crate::model::behaviour::Param {
    fn pat_span(&self) -> proc_macro2::Span {
        syn::spanned::Spanned::span(&self.ty)
    }
}
