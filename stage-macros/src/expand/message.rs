//! The actor's message enum: one variant per channel, query and request.

use std::collections::HashSet;

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::Ident;

use crate::expand::{answer_type, event_type, rt, variant};
use crate::model::behaviour::{Behaviour, Handler, Kind};

/// The enum's name inside the generated `const _` block.
pub(crate) fn name() -> Ident {
    Ident::new("__Message", proc_macro2::Span::mixed_site())
}

/// The handlers that become variants: the first rule of each channel, every query
/// and request, in declaration order.
pub(crate) fn variant_handlers(b: &Behaviour) -> Vec<&Handler> {
    let mut channels = HashSet::new();
    b.handlers
        .iter()
        .filter(|h| match &h.kind {
            Kind::Rule { channel, .. } => channels.insert(channel.to_string()),
            Kind::Query | Kind::Request => true,
            _ => false,
        })
        .collect()
}

pub(crate) fn generate(b: &Behaviour, actor: &Ident) -> TokenStream {
    let rt = rt();
    let name = name();
    let variants = variant_handlers(b).into_iter().map(|h| {
        let v = variant(h);
        let event = event_type(h, actor);
        match h.kind {
            Kind::Rule { .. } => quote!(#v(#event)),
            _ => {
                let args = args_tuple_type(h, actor);
                let answer = answer_type(h, actor);
                quote!(#v(#args, #rt::ReplySender<#answer>))
            }
        }
    });
    // What is allocated per message: nothing here; the enum is moved into the
    // mailbox's node, and a reply cell for queries and requests.
    quote! {
        pub enum #name {
            #(#variants,)*
        }
    }
}

/// For a mobile actor, every type a message or an answer carries must be
/// serialisable: one check per type, spanned at the type as the user wrote it, so
/// that the error lands there. For other actors the checks hold trivially. They go in
/// the `Actor` impl, so that a behaviour on a type that is not an actor gets no more
/// errors from them.
pub(crate) fn wire_checks(b: &Behaviour, actor: &Ident) -> TokenStream {
    let rt = rt();
    let check = |ty: &syn::Type| {
        let concrete = crate::expand::concrete(ty, actor);
        quote_spanned! {ty.span()=>
            <<Self as #rt::Declared>::Mobility as #rt::Wire<#concrete>>::CARRIES;
        }
    };
    let checks = b
        .handlers
        .iter()
        .filter(|h| matches!(h.kind, Kind::Rule { .. } | Kind::Query | Kind::Request))
        .flat_map(|h| {
            let answer = match h.kind {
                Kind::Rule { .. } => None,
                _ => h.delegates.as_ref().or(h.ret.as_ref()),
            };
            h.params.iter().map(|p| &p.ty).chain(answer).map(check)
        });
    quote!(const __WIRE: () = { #(#checks)* };)
}

/// The arguments of a query or request as a tuple type (always a tuple, so that one
/// argument and several are handled alike).
pub(crate) fn args_tuple_type(h: &Handler, actor: &Ident) -> TokenStream {
    let types = h
        .params
        .iter()
        .map(|p| crate::expand::concrete(&p.ty, actor));
    quote!((#(#types,)*))
}
