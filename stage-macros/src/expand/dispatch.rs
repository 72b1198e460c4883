//! The dispatch `match`: which handlers run for a message, and how the answer goes
//! back.

use std::collections::HashSet;

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::visit::Visit;
use syn::visit_mut::VisitMut;
use syn::{Expr, Ident, Pat};

use crate::expand::message::{self, variant_handlers};
use crate::expand::{hidden, rt, variant};
use crate::model::behaviour::{Behaviour, Handler, Kind};

/// The arms of `__dispatch`, one per variant.
pub(crate) fn arms(b: &Behaviour, actor: &Ident) -> Vec<TokenStream> {
    variant_handlers(b)
        .into_iter()
        .map(|first| match &first.kind {
            Kind::Rule { channel, .. } => {
                let rules: Vec<&Handler> = b
                    .handlers
                    .iter()
                    .filter(|h| matches!(&h.kind, Kind::Rule { channel: c, .. } if c == channel))
                    .collect();
                rule_arm(first, &rules, actor)
            }
            _ => ask_arm(first, actor),
        })
        .collect()
}

/// How a handler is called: `Actor::name(self, ctx?, args..)`.
fn call(h: &Handler, actor: &Ident, args: &[TokenStream]) -> TokenStream {
    let name = &h.name;
    let this = Ident::new("self", proc_macro2::Span::call_site());
    let ctx = h.takes_ctx.then(|| {
        let ctx = hidden("__ctx");
        quote!(#ctx,)
    });
    let call = quote_spanned!(h.name.span()=> #actor::#name);
    let awaited = h.is_async.then(|| quote!(.await));
    quote!(#call(#this, #ctx #(#args),*) #awaited)
}

/// A channel: evaluate every rule's guard on the event first, then fire the rules
/// whose guard held, in declaration order. All but the last firing rule get a clone.
fn rule_arm(first: &Handler, rules: &[&Handler], actor: &Ident) -> TokenStream {
    let rt = rt();
    let msg = message::name();
    let v = variant(first);
    let event = hidden("__event");
    let fires: Vec<Ident> = (0..rules.len())
        .map(|i| hidden(&format!("__fire{i}")))
        .collect();
    let guards = rules.iter().zip(&fires).map(|(h, fire)| {
        let value = match &h.kind {
            Kind::Rule {
                guard: Some(guard), ..
            } => guard_expr(h, guard, &event),
            _ => quote!(true),
        };
        quote!(let #fire: bool = #value;)
    });
    let last = rules.len().saturating_sub(1);
    let firings = rules.iter().zip(&fires).enumerate().map(|(i, (h, fire))| {
        let value = if i == last {
            quote!(#event)
        } else {
            quote!(#rt::Clone::clone(&#event))
        };
        let args = hidden("__args");
        let call = match h.params.len() {
            1 => call(h, actor, &[quote!(#value)]),
            n => {
                let parts: Vec<Ident> = (0..n).map(|k| hidden(&format!("__a{k}"))).collect();
                let names: Vec<TokenStream> = parts.iter().map(|p| quote!(#p)).collect();
                let inner = call(h, actor, &names);
                quote!({ let #args = #value; let (#(#parts,)*) = #args; #inner })
            }
        };
        quote!(if #fire { #call; })
    });
    let body = quote! {
        #(#guards)*
        #(#firings)*
    };
    if rules.iter().any(|h| h.is_async) {
        quote!(#msg::#v(#event) => #rt::Some(#rt::Box::pin(async move { #body })))
    } else {
        quote!(#msg::#v(#event) => { #body #rt::None })
    }
}

/// The guard, with the rule's parameters bound by reference to the event and each use
/// of them read through the reference (`amount > 10` reads `*amount`).
fn guard_expr(h: &Handler, guard: &Expr, event: &Ident) -> TokenStream {
    let mut bound = BoundNames::default();
    let mut patterns: Vec<Pat> = Vec::new();
    for param in &h.params {
        let mut pat = param.pat.clone();
        StripMut.visit_pat_mut(&mut pat);
        bound.visit_pat(&pat);
        patterns.push(pat);
    }
    let mut guard = guard.clone();
    ReadThrough(&bound.names).visit_expr_mut(&mut guard);
    let binding = match patterns.as_slice() {
        [] => quote!(),
        [single] => quote!(let #single = &#event;),
        many => quote!(let (#(#many,)*) = &#event;),
    };
    quote!({ #binding #guard })
}

/// Names a pattern binds.
#[derive(Default)]
struct BoundNames {
    names: HashSet<String>,
}

impl<'ast> Visit<'ast> for BoundNames {
    fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
        self.names.insert(p.ident.to_string());
        syn::visit::visit_pat_ident(self, p);
    }
}

/// `mut x` would move out of the borrowed event; the guard only reads.
struct StripMut;

impl VisitMut for StripMut {
    fn visit_pat_ident_mut(&mut self, p: &mut syn::PatIdent) {
        p.mutability = None;
        p.by_ref = None;
        syn::visit_mut::visit_pat_ident_mut(self, p);
    }
}

/// Replaces each use of a bound name with `(*name)`.
struct ReadThrough<'a>(&'a HashSet<String>);

impl VisitMut for ReadThrough<'_> {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        if let Expr::Path(path) = expr {
            if path.qself.is_none() {
                if let Some(ident) = path.path.get_ident() {
                    if self.0.contains(&ident.to_string()) {
                        *expr = syn::parse_quote_spanned!(ident.span()=> (*#ident));
                        return;
                    }
                }
            }
        }
        syn::visit_mut::visit_expr_mut(self, expr);
    }
}

/// A query or request: run the handler, send its answer.
fn ask_arm(h: &Handler, actor: &Ident) -> TokenStream {
    let rt = rt();
    let msg = message::name();
    let v = variant(h);
    let reply = hidden("__reply");
    let parts: Vec<Ident> = (0..h.params.len())
        .map(|k| hidden(&format!("__a{k}")))
        .collect();
    let args: Vec<TokenStream> = parts.iter().map(|p| quote!(#p)).collect();
    let call = call(h, actor, &args);
    let answer = hidden("__answer");
    let rt_answer = if h.delegates.is_some() {
        // The caller's answer is whatever the returned reply yields; the actor is free
        // for its next message at once.
        quote!(#rt::delegate(#reply, #answer);)
    } else {
        quote!(#reply.send(#answer);)
    };
    let body = quote! {
        let #answer = #call;
        #rt_answer
    };
    if h.is_async {
        quote!(#msg::#v((#(#parts,)*), #reply) => #rt::Some(#rt::Box::pin(async move { #body })))
    } else {
        quote!(#msg::#v((#(#parts,)*), #reply) => { #body #rt::None })
    }
}

/// `__describe`'s arms: the speech kind and name of each variant.
pub(crate) fn describe_arms(b: &Behaviour) -> Vec<TokenStream> {
    let rt = rt();
    let msg = message::name();
    variant_handlers(b)
        .into_iter()
        .map(|h| {
            let v = variant(h);
            let (kind, name) = match &h.kind {
                Kind::Rule { channel, .. } => (quote!(Notify), channel.to_string()),
                Kind::Query => (quote!(Query), h.name.to_string()),
                _ => (quote!(Request), h.name.to_string()),
            };
            quote!(#msg::#v(..) => (#rt::SpeechKind::#kind, #name))
        })
        .collect()
}

/// `__refuse`'s arms: answer the reply (if any) with the error.
pub(crate) fn refuse_arms(b: &Behaviour) -> Vec<TokenStream> {
    let msg = message::name();
    let error = hidden("__error");
    variant_handlers(b)
        .into_iter()
        .map(|h| {
            let v = variant(h);
            match h.kind {
                Kind::Rule { .. } => quote!(#msg::#v(_) => {}),
                _ => {
                    let reply = hidden("__reply");
                    quote!(#msg::#v(_, #reply) => #reply.fail(#error))
                }
            }
        })
        .collect()
}

/// The body of a lifecycle hook (`#[birth]`), which may be `async`.
pub(crate) fn hook_turn(h: &Handler, actor: &Ident) -> TokenStream {
    let rt = rt();
    let call = call(h, actor, &[]);
    if h.is_async {
        quote!(#rt::Some(#rt::Box::pin(async move { #call; })))
    } else {
        quote!({ #call; #rt::None })
    }
}

/// The body of `#[stopping]` (synchronous).
pub(crate) fn hook_call(h: &Handler, actor: &Ident) -> TokenStream {
    hook_call_with(h, actor, &[])
}

/// The body of a synchronous hook that takes arguments (`#[down]`).
pub(crate) fn hook_call_with(h: &Handler, actor: &Ident, args: &[TokenStream]) -> TokenStream {
    let call = call(h, actor, args);
    quote!(#call;)
}
