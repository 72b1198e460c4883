//! `#[actor(...)]` on a struct.

use proc_macro2::TokenStream;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, Item, Lit, Meta, Token};

use crate::errors::Errors;

/// The options of `#[actor(...)]`.
pub(crate) const OPTIONS: &str = "`mailbox = N`, `mobile`, `balance`";

pub(crate) struct Actor {
    pub(crate) ident: Ident,
    pub(crate) mailbox: Option<usize>,
    /// `#[actor(mobile)]`: state and messages serialisable.
    pub(crate) mobile: bool,
    /// `#[actor(mobile, balance)]`: the theatre's load balancer may move it.
    pub(crate) balance: bool,
}

impl Actor {
    /// Parses the attribute's arguments and the item it is on. `None` when the item
    /// cannot be an actor at all (its errors are in `errors`).
    pub(crate) fn parse(errors: &Errors, args: TokenStream, item: &Item) -> Option<Actor> {
        let ident = match item {
            Item::Struct(s) => {
                check_not_generic(errors, &s.generics);
                s.ident.clone()
            }
            Item::Enum(e) => {
                check_not_generic(errors, &e.generics);
                e.ident.clone()
            }
            Item::Union(u) => {
                errors.spanned(
                    u.union_token,
                    "an actor cannot be a union: its state is dropped and moved between threads; use a struct or an enum",
                );
                return None;
            }
            other => {
                errors.spanned(
                    other,
                    "`#[actor]` goes on the struct (or enum) that holds the actor's state; put the handlers in an `impl` block marked `#[behaviour]`",
                );
                return None;
            }
        };
        let Options {
            mailbox,
            mobile,
            balance,
        } = parse_options(errors, args);
        Some(Actor {
            ident,
            mailbox,
            mobile,
            balance,
        })
    }
}

fn check_not_generic(errors: &Errors, generics: &syn::Generics) {
    if let Some(param) = generics.params.first() {
        let what = match param {
            syn::GenericParam::Lifetime(_) => {
                "an actor cannot borrow: its state outlives every caller; own the data instead of holding a lifetime"
            }
            _ => "generic actors are not supported: each actor type needs one concrete message type; write a concrete struct (a type alias of a generic one will not do either)",
        };
        errors.spanned(&generics.params, what);
    }
}

#[derive(Default)]
struct Options {
    mailbox: Option<usize>,
    mobile: bool,
    balance: bool,
}

fn parse_options(errors: &Errors, args: TokenStream) -> Options {
    let metas = match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args) {
        Ok(metas) => metas,
        Err(error) => {
            errors.push(error);
            return Options::default();
        }
    };
    let mut mailbox = None;
    let mut mobile = false;
    let mut balance = None;
    for meta in metas {
        match &meta {
            Meta::NameValue(nv) if nv.path.is_ident("mailbox") => {
                if mailbox.is_some() {
                    errors.spanned(&nv.path, "`mailbox` is given twice");
                }
                mailbox = parse_capacity(errors, &nv.value);
            }
            Meta::Path(path) if path.is_ident("mailbox") => {
                errors.spanned(path, "`mailbox` needs a capacity: `#[actor(mailbox = 64)]`");
            }
            Meta::Path(path) if path.is_ident("mobile") => {
                if mobile {
                    errors.spanned(path, "`mobile` is given twice");
                }
                mobile = true;
            }
            Meta::Path(path) if path.is_ident("balance") => {
                if balance.is_some() {
                    errors.spanned(path, "`balance` is given twice");
                }
                balance = Some(path.clone());
            }
            other => {
                let path = other.path();
                errors.spanned(
                    path,
                    format!(
                        "unknown option `{}` for `#[actor]`: expected {OPTIONS}",
                        quote::quote!(#path).to_string().replace(' ', "")
                    ),
                );
            }
        }
    }
    if let Some(path) = balance.as_ref().filter(|_| !mobile) {
        errors.spanned(
            path,
            "`balance` needs `mobile`: the load balancer moves an actor between theatres, so its state must travel; write `#[actor(mobile, balance)]`",
        );
    }
    Options {
        mailbox,
        mobile,
        balance: balance.is_some(),
    }
}

fn parse_capacity(errors: &Errors, value: &Expr) -> Option<usize> {
    if let Expr::Lit(lit) = value {
        if let Lit::Int(int) = &lit.lit {
            match int.base10_parse::<usize>() {
                Ok(0) => errors.spanned(int, "a mailbox needs room for at least one message"),
                Ok(n) => return Some(n),
                Err(error) => errors.push(error),
            }
            return None;
        }
    }
    errors.spanned(
        value,
        "the mailbox capacity is an integer literal: `mailbox = 64`",
    );
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn parse(args: TokenStream, item: Item) -> (Option<Actor>, Result<(), syn::Error>) {
        let errors = Errors::new();
        let actor = Actor::parse(&errors, args, &item);
        (actor, errors.finish())
    }

    #[test]
    fn mailbox_option_is_read() {
        let (actor, result) = parse(
            quote!(mailbox = 8),
            syn::parse_quote!(
                struct A;
            ),
        );
        assert!(result.is_ok());
        let actor = actor.expect("an actor");
        assert_eq!(actor.mailbox, Some(8));
        assert!(!actor.mobile);
    }

    #[test]
    fn mobile_is_a_flag_and_given_once() {
        let (actor, result) = parse(
            quote!(mobile, mailbox = 4),
            syn::parse_quote!(
                struct A;
            ),
        );
        assert!(result.is_ok());
        assert!(actor.is_some_and(|a| a.mobile && a.mailbox == Some(4)));

        let (_, result) = parse(
            quote!(mobile, mobile),
            syn::parse_quote!(
                struct A;
            ),
        );
        let error = result.expect_err("given twice");
        assert!(error.to_string().contains("given twice"));
    }

    #[test]
    fn balance_needs_mobile() {
        let (actor, result) = parse(
            quote!(mobile, balance),
            syn::parse_quote!(
                struct A;
            ),
        );
        assert!(result.is_ok());
        assert!(actor.is_some_and(|a| a.mobile && a.balance));

        let (_, result) = parse(
            quote!(balance),
            syn::parse_quote!(
                struct A;
            ),
        );
        let error = result.expect_err("balance alone");
        assert!(error.to_string().contains("needs `mobile`"));
    }

    #[test]
    fn every_bad_option_is_reported_at_once() {
        let (_, result) = parse(
            quote!(mailbox = 0, colour = 3),
            syn::parse_quote!(
                struct A<T>(T);
            ),
        );
        let error = result.expect_err("three mistakes");
        assert_eq!(error.into_iter().count(), 3);
    }
}
