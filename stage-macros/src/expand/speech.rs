//! `notify!`, `query!`, `request!`.
//!
//! The short form becomes a method call on the actor's typed proxy (see
//! `proxies.rs`). Star's form becomes a call of the speech contract with a `move`
//! closure that runs inside the actor: each call of a selected handler in the
//! expression is rewritten to call that handler on the actor, and every other free
//! name is captured from the caller.

use std::collections::HashSet;

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use quote::{quote, quote_spanned};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::visit_mut::VisitMut;
use syn::{Expr, Ident, Token};

use crate::expand::captures;
use crate::expand::names::name_type;
use crate::expand::{hidden, rt};
use crate::model::speech::{Kind, SpeechCall};

pub(crate) fn expand(kind: Kind, input: TokenStream) -> TokenStream {
    match SpeechCall::parse(kind, input) {
        Ok(call) => generate(kind, call),
        Err(error) => error.to_compile_error(),
    }
}

/// `body` with `__to` bound to the target as an address: borrowed from an `Addr`, or
/// a promise made from a `Reply<Addr<_>>` (pipelining). A `match` rather than a `let`,
/// so that a temporary target (`ctx.addr()`) lives as long as the borrow of it.
fn with_target(target: &Expr, body: TokenStream) -> TokenStream {
    let rt = rt();
    let to = hidden("__to");
    quote! {{
        #[allow(unused_imports)]
        use #rt::{ViaRef as _, ViaValue as _};
        match (#target).__speech_target() {
            #to => { #body }
        }
    }}
}

/// The handler's name as a field of the actor's names (`Actor::__Names`), in
/// code that never runs: a misspelt name then also gets rustc's "a field with a
/// similar name exists", after the list the speech trait's error gives. (After
/// the call, so that a target that is no address is reported at the call.)
fn did_you_mean(name: &Ident) -> TokenStream {
    let rt = rt();
    let to = hidden("__to");
    let field = quote_spanned!(name.span()=> #name);
    quote! {
        if false {
            let _ = &#rt::names(&#to).#field;
        }
    }
}

fn generate(kind: Kind, call: SpeechCall) -> TokenStream {
    let rt = rt();
    let to = hidden("__to");
    match call {
        SpeechCall::Short { target, name, args } => {
            let proxy = match kind {
                Kind::Notify => quote!(notify),
                Kind::Query => quote!(query),
                Kind::Request => quote!(request),
            };
            let proxy = quote_spanned!(Span::mixed_site()=> #rt::#proxy);
            let name_ty = name_type(&name);
            let speak = Ident::new("__speak", name.span());
            // The tuple on the name too: a wrong argument count is reported there.
            let args = quote_spanned!(name.span()=> (#(#args,)*));
            let said = hidden("__said");
            let check = did_you_mean(&name);
            with_target(
                &target,
                quote!(let #said = #proxy(&#to).#speak::<#name_ty>(#args); #check #said),
            )
        }
        SpeechCall::StarNotify {
            target,
            value,
            channel,
        } => {
            let name_ty = name_type(&channel);
            let speak = Ident::new("__speak", channel.span());
            let said = hidden("__said");
            let check = did_you_mean(&channel);
            with_target(
                &target,
                quote!(let #said = #rt::events(&#to).#speak::<#name_ty>(#value); #check #said),
            )
        }
        SpeechCall::Star {
            target,
            selection,
            mut body,
        } => {
            let captured = captures::captures(&body, &selection);
            let mut rewrite = Exports {
                via: match kind {
                    Kind::Query => "__export_query",
                    _ => "__export_request",
                },
                selected: selection.iter().map(ToString::to_string).collect(),
                called: HashSet::new(),
                misused: Vec::new(),
            };
            rewrite.visit_expr_mut(&mut body);
            let mut errors = TokenStream::new();
            for name in &selection {
                if !rewrite.called.contains(&name.to_string()) {
                    errors.extend(
                        syn::Error::new_spanned(
                            name,
                            format!("`{name}` is in the export selection but the expression never calls it: remove it, or call `{name}(..)`"),
                        )
                        .to_compile_error(),
                    );
                }
            }
            for misuse in rewrite.misused {
                errors.extend(misuse.to_compile_error());
            }
            let make = match kind {
                Kind::Query => quote!(star_query),
                _ => quote!(star_request),
            };
            let actor = hidden("__actor");
            let ctx = hidden("__ctx");
            let star = hidden("__star");
            let site = hidden("__site");
            // The captured values travel as one tuple beside a closure that captures
            // nothing more (see `captures.rs`); `mut`, as the caller's variables may
            // have been.
            let values = captures::tuple(&captured);
            let checks: Vec<TokenStream> = selection.iter().map(did_you_mean).collect();
            let pattern = quote!((#(mut #captured,)*));
            let call = quote! {
                #[allow(unused_mut)]
                let #star = #rt::#make(
                    #rt::target(&#to),
                    #values,
                    move |#pattern, #actor, #ctx| { let _ = &#ctx; (#body) },
                );
                #[allow(unused_imports)]
                use #rt::{LocalStar as _, PortableStar as _};
                let #site = (&#star).__site();
                #(#checks)*
                #rt::send_star(#star, #site)
            };
            let call = with_target(&target, call);
            quote! {{
                #errors
                #call
            }}
        }
    }
}

/// Rewrites `name(args..)` for each selected `name` into a call of the handler on the
/// actor, with the arguments evaluated first (so nested calls never hold two borrows
/// of the actor at once).
struct Exports {
    /// `__export_query` or `__export_request`.
    via: &'static str,
    selected: HashSet<String>,
    called: HashSet<String>,
    misused: Vec<syn::Error>,
}

impl Exports {
    /// The rewritten call, when `expr` calls a selected handler.
    fn rewrite_call(&mut self, expr: &mut Expr) -> Option<Expr> {
        let Expr::Call(call) = expr else { return None };
        let Expr::Path(func) = &*call.func else {
            return None;
        };
        if func.qself.is_some() {
            return None;
        }
        let name = func.path.get_ident()?.clone();
        if !self.selected.contains(&name.to_string()) {
            return None;
        }
        // The arguments may call handlers too: rewrite them first.
        for arg in call.args.iter_mut() {
            self.visit_expr_mut(arg);
        }
        self.called.insert(name.to_string());
        let actor = hidden("__actor");
        let ctx = hidden("__ctx");
        // On the user's token, so that rustc's error about the name lands there.
        let via = Ident::new(self.via, name.span());
        let name_ty = name_type(&name);
        let args: Vec<&Expr> = call.args.iter().collect();
        let temps: Vec<Ident> = (0..args.len())
            .map(|i| hidden(&format!("__x{i}")))
            .collect();
        let method_call =
            quote_spanned!(name.span()=> #actor.#via::<#name_ty>(#ctx, (#(#temps,)*)));
        // Parenthesised: a bare block would end a statement (`{ .. } * 2`).
        Some(syn::parse_quote!(({
            let (#(#temps,)*) = (#(#args,)*);
            #method_call
        })))
    }
}

impl VisitMut for Exports {
    /// Macros such as `format!` and `vec!` take comma-separated expressions; those are
    /// rewritten too. Other macros' tokens are left as written.
    fn visit_macro_mut(&mut self, mac: &mut syn::Macro) {
        let parser = Punctuated::<Expr, Token![,]>::parse_terminated;
        if let Ok(mut args) = parser.parse2(mac.tokens.clone()) {
            for arg in args.iter_mut() {
                self.visit_expr_mut(arg);
            }
            mac.tokens = args.into_token_stream();
        }
    }

    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        if let Some(rewritten) = self.rewrite_call(expr) {
            *expr = rewritten;
            return;
        }
        if let Expr::Path(path) = expr {
            if let Some(name) = path.path.get_ident() {
                if self.selected.contains(&name.to_string()) {
                    self.misused.push(syn::Error::new_spanned(
                        name,
                        format!("`{name}` names one of the actor's handlers here: call it, as `{name}(..)`"),
                    ));
                }
            }
            return;
        }
        syn::visit_mut::visit_expr_mut(self, expr);
    }
}
