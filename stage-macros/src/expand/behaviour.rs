//! `#[behaviour]`: parse, check, then emit the impl block and what the runtime needs.

use proc_macro2::TokenStream;
use quote::quote;
use syn::ItemImpl;

use crate::check;
use crate::errors::{to_compile_errors, Errors};
use crate::expand::{allows, contract, message, names, proxies};
use crate::model::behaviour::{Behaviour, Kind};

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
    let impl_block = (!behaviour.generic).then(|| with_message_docs(&behaviour));
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
                type __Names = #rt::Unavailable<'static>;
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

/// The impl block, each handler's docs ending with how to send it: a `pub`
/// handler of a public actor is then found in rustdoc as the message it is.
fn with_message_docs(behaviour: &Behaviour) -> syn::ItemImpl {
    let mut item = behaviour.item.clone();
    let Some(actor) = &behaviour.self_ident else {
        return item;
    };
    let to = actor.to_string().to_lowercase();
    for impl_item in &mut item.items {
        let syn::ImplItem::Fn(method) = impl_item else {
            continue;
        };
        let Some(handler) = behaviour
            .handlers
            .iter()
            .find(|h| h.name == method.sig.ident)
        else {
            continue;
        };
        let args = crate::expand::arg_names(handler)
            .iter()
            .map(|arg| arg.to_string().trim_start_matches("__").to_owned())
            .collect::<Vec<_>>()
            .join(", ");
        let answer = || {
            let answer = crate::expand::answer_type(handler, actor).to_string();
            let answer = answer
                .replace(" < ", "<")
                .replace(" >", ">")
                .replace(" ,", ",");
            format!("`Reply<{answer}>`")
        };
        let line = match &handler.kind {
            Kind::Rule { channel, guard } => format!(
                "**Message:** an event on the channel `{channel}` of `{actor}`{}: \
                 `notify!({to}, {channel}({args}))`.",
                if guard.is_some() {
                    " (this rule fires when its guard holds)"
                } else {
                    ""
                }
            ),
            Kind::Query => format!(
                "**Message:** a query of `{actor}`: `query!({to}, {}({args}))`, \
                 answered with {}.",
                handler.name,
                answer()
            ),
            Kind::Request => format!(
                "**Message:** a request of `{actor}`: `request!({to}, {}({args}))`, \
                 answered with {}.",
                handler.name,
                answer()
            ),
            _ => continue,
        };
        let has_docs = method.attrs.iter().any(|a| a.path().is_ident("doc"));
        if has_docs {
            method.attrs.push(syn::parse_quote!(#[doc = ""]));
        }
        method.attrs.push(syn::parse_quote!(#[doc = #line]));
    }
    item
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::Errors;

    /// The doc lines of each method of the impl block as emitted.
    fn docs_of(item: ItemImpl) -> Vec<(String, Vec<String>)> {
        let errors = Errors::new();
        let behaviour = Behaviour::parse(&errors, item);
        assert!(errors.finish().is_ok());
        with_message_docs(&behaviour)
            .items
            .iter()
            .filter_map(|item| match item {
                syn::ImplItem::Fn(method) => Some(method),
                _ => None,
            })
            .map(|method| {
                let docs = method
                    .attrs
                    .iter()
                    .filter_map(|attr| match &attr.meta {
                        syn::Meta::NameValue(nv) if nv.path.is_ident("doc") => match &nv.value {
                            syn::Expr::Lit(syn::ExprLit {
                                lit: syn::Lit::Str(text),
                                ..
                            }) => Some(text.value()),
                            _ => None,
                        },
                        _ => None,
                    })
                    .collect();
                (method.sig.ident.to_string(), docs)
            })
            .collect()
    }

    #[test]
    fn each_handler_says_how_to_send_it_and_helpers_say_nothing() {
        let docs = docs_of(syn::parse_quote! {
            impl Account {
                /// Adds to the balance.
                #[on(deposit)]
                pub fn credit(&mut self, amount: i64) {}
                #[query]
                pub fn balance(&self) -> i64 { 0 }
                #[request]
                pub async fn withdraw(&mut self, ctx: &mut Ctx<Self>, amount: i64) -> Result<i64, Overdrawn> { Ok(0) }
                fn helper(&self) {}
            }
        });
        assert_eq!(
            docs[0].1,
            [
                " Adds to the balance.",
                "",
                "**Message:** an event on the channel `deposit` of `Account`: \
                 `notify!(account, deposit(amount))`."
            ]
        );
        assert_eq!(
            docs[1].1,
            [
                "**Message:** a query of `Account`: `query!(account, balance())`, \
              answered with `Reply<i64>`."
            ]
        );
        assert_eq!(
            docs[2].1,
            [
                "**Message:** a request of `Account`: `request!(account, withdraw(amount))`, \
              answered with `Reply<Result<i64, Overdrawn>>`."
            ]
        );
        assert_eq!(docs[3], ("helper".to_owned(), vec![]));
    }
}
