//! Speech by name: how a speech macro finds a handler with an error that lists the
//! handlers that exist.
//!
//! A name is encoded as a type, by its hash (`deposit` is
//! `Name<{ name_hash("deposit") }>`, a 128-bit FNV-1a). Each proxy gets a trait, indexed by that type and marked
//! `#[diagnostic::on_unimplemented]` with a note the macro writes from the behaviour:
//! the actor's channels, queries or requests, and which macro the others go with. The
//! speech macros call `proxy.__speak::<Name>(args)`; a misspelt name is then one error
//! on the user's token saying what exists, and a wrong argument a type error on the
//! argument.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

use crate::expand::message::variant_handlers;
use crate::expand::proxies::names;
use crate::expand::{answer_type, concrete, event_type, hidden, rt};
use crate::model::behaviour::{Behaviour, Handler, Kind};

/// `name` as a type (`Name<{ name_hash("name") }>`), spanned on the name so
/// that errors land there.
pub(crate) fn name_type(name: &Ident) -> TokenStream {
    let rt = rt();
    let text = name.to_string();
    let text = text.trim_start_matches("r#");
    quote_spanned!(name.span()=> #rt::Name<{ #rt::name_hash(#text) }>)
}

fn listed(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The traits, their impls and the `__speak` method of each proxy.
pub(crate) fn generate(b: &Behaviour, actor: &Ident) -> TokenStream {
    let handlers = variant_handlers(b);
    let of = |kind: fn(&Kind) -> bool| -> Vec<&Handler> {
        handlers.iter().copied().filter(|h| kind(&h.kind)).collect()
    };
    let rules = of(|k| matches!(k, Kind::Rule { .. }));
    let queries = of(|k| matches!(k, Kind::Query));
    let requests = of(|k| matches!(k, Kind::Request));
    let channel_names: Vec<String> = rules
        .iter()
        .filter_map(|h| match &h.kind {
            Kind::Rule { channel, .. } => Some(channel.to_string()),
            _ => None,
        })
        .collect();
    let query_names: Vec<String> = queries.iter().map(|h| h.name.to_string()).collect();
    let request_names: Vec<String> = requests.iter().map(|h| h.name.to_string()).collect();

    let also = |what: &str, names: &[String], with: &str| {
        if names.is_empty() {
            String::new()
        } else {
            format!("; its {what} ({}) go with `{with}!`", listed(names))
        }
    };
    let list = |what: &str, names: &[String], none: &str| {
        if names.is_empty() {
            format!("`{actor}` has no {none}")
        } else {
            format!("the {what} of `{actor}` are: {}", listed(names))
        }
    };
    let channel_note = format!(
        "{}{}{}",
        list(
            "channels",
            &channel_names,
            "channels (no `#[on(..)]` rules)"
        ),
        also("queries", &query_names, "query"),
        also("requests", &request_names, "request"),
    );
    let query_note = format!(
        "{}{}{}",
        list("queries", &query_names, "queries (no `#[query]` handlers)"),
        also("requests", &request_names, "request"),
        also("channels", &channel_names, "notify"),
    );
    let request_note = format!(
        "{}{}{}",
        list(
            "requests",
            &request_names,
            "requests (no `#[request]` handlers)"
        ),
        also("queries", &query_names, "query"),
        also("channels", &channel_names, "notify"),
    );

    // The label sits on the misspelt name, above rustc's own lines about the
    // trait: it names what exists at once.
    let label = |what: &str, names: &[String]| {
        if names.is_empty() {
            format!("`{actor}` has no {what}")
        } else {
            format!("not one of the {what} of `{actor}`: {}", listed(names))
        }
    };
    let [notify, events, query, request] = names();
    let rt = rt();
    let notify_impls = rules.iter().map(|h| {
        let (name, args, call) = call_with_args(h, actor);
        (name, quote!(type Args = #args; type Out = #rt::Sent; #call))
    });
    let event_impls = rules.iter().filter_map(|h| match &h.kind {
        Kind::Rule { channel, .. } => Some((*h, channel)),
        _ => None,
    });
    let event_impls = event_impls.map(|(h, channel)| {
        let name = name_type(channel);
        let event = event_type(h, actor);
        let value = hidden("__event");
        let items = quote! {
            type Args = #event;
            type Out = #rt::Sent;
            fn __speak(self, #value: #event) -> #rt::Sent { self.#channel(#value) }
        };
        (name, items)
    });
    let ask_impl = |h: &&Handler| {
        let (name, args, call) = call_with_args(h, actor);
        let answer = answer_type(h, actor);
        (
            name,
            quote!(type Args = #args; type Out = #rt::Reply<#answer>; #call),
        )
    };
    let query_impls = queries.iter().map(ask_impl);
    let request_impls = requests.iter().map(ask_impl);
    let speak = |proxy: &Ident,
                 trait_name: &str,
                 message: String,
                 label: String,
                 note: String,
                 impls: Vec<(TokenStream, TokenStream)>| {
        let tr = format_ident!("{}", trait_name);
        let impls = impls.into_iter().map(|(name, items)| {
            quote! {
                #[diagnostic::do_not_recommend]
                impl<'__a> #tr<#name, #actor> for #proxy<'__a> { #items }
            }
        });
        quote! {
            // The actor is a parameter so that each impl is only as visible as the
            // actor: its items name the user's types, which may be private.
            #[diagnostic::on_unimplemented(message = #message, label = #label, note = #note)]
            pub trait #tr<__N, __A> {
                type Args;
                type Out;
                fn __speak(self, args: Self::Args) -> Self::Out;
            }
            // A second impl for a name no macro writes, so that rustc never lists the
            // impls (their names are character tuples) instead of our note.
            #[diagnostic::do_not_recommend]
            impl<'__a> #tr<(), #actor> for #proxy<'__a> {
                type Args = ::core::convert::Infallible;
                type Out = ::core::convert::Infallible;
                fn __speak(self, never: Self::Args) -> Self::Out { never }
            }
            #(#impls)*
            impl<'__a> #proxy<'__a> {
                #[inline]
                pub fn __speak<__N>(
                    self,
                    args: <Self as #tr<__N, #actor>>::Args,
                ) -> <Self as #tr<__N, #actor>>::Out
                where
                    Self: #tr<__N, #actor>,
                {
                    <Self as #tr<__N, #actor>>::__speak(self, args)
                }
            }
        }
    };
    let notify_part = speak(
        &notify,
        "__SpeakNotify",
        format!("`{actor}` has no channel by this name"),
        label("channels", &channel_names),
        channel_note.clone(),
        notify_impls.collect(),
    );
    let events_part = speak(
        &events,
        "__SpeakEvents",
        format!("`{actor}` has no channel by this name"),
        label("channels", &channel_names),
        channel_note,
        event_impls.collect(),
    );
    let query_part = speak(
        &query,
        "__SpeakQuery",
        format!("`{actor}` has no query by this name"),
        label("queries", &query_names),
        query_note,
        query_impls.collect(),
    );
    let request_part = speak(
        &request,
        "__SpeakRequest",
        format!("`{actor}` has no request by this name"),
        label("requests", &request_names),
        request_note,
        request_impls.collect(),
    );
    quote!(#notify_part #events_part #query_part #request_part)
}

/// The name type, the arguments' tuple type, and `__speak` calling the typed proxy
/// method with the tuple's parts.
fn call_with_args(h: &Handler, actor: &Ident) -> (TokenStream, TokenStream, TokenStream) {
    let rt = rt();
    let method = match &h.kind {
        Kind::Rule { channel, .. } => channel,
        _ => &h.name,
    };
    let name = name_type(method);
    let types: Vec<_> = h.params.iter().map(|p| concrete(&p.ty, actor)).collect();
    let parts: Vec<Ident> = (0..types.len())
        .map(|i| hidden(&format!("__x{i}")))
        .collect();
    let out = match &h.kind {
        Kind::Rule { .. } => quote!(#rt::Sent),
        _ => {
            let answer = answer_type(h, actor);
            quote!(#rt::Reply<#answer>)
        }
    };
    let args = quote!((#(#types,)*));
    let call = quote! {
        fn __speak(self, (#(#parts,)*): #args) -> #out { self.#method(#(#parts),*) }
    };
    (name, args, call)
}
