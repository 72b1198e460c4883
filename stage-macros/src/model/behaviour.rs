//! `#[behaviour]` on an `impl` block: its handlers.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{
    Attribute, Expr, FnArg, Ident, ImplItem, ImplItemFn, ItemImpl, Pat, ReturnType, Token, Type,
};

use crate::errors::Errors;

/// The attributes `#[behaviour]` understands on a method.
pub(crate) const HANDLER_ATTRIBUTES: &[&str] = &[
    "on",
    "query",
    "request",
    "birth",
    "stopping",
    "down",
    "permit",
    "arrived",
    "migration_failed",
];

pub(crate) struct Behaviour {
    /// The impl block with the handler attributes removed.
    pub(crate) item: ItemImpl,
    /// The type the block is for, when it is a plain name.
    pub(crate) self_ident: Option<Ident>,
    pub(crate) handlers: Vec<Handler>,
    /// The block is for a generic type, or has generic parameters: refused,
    /// and nothing is generated for it (an `Actor` impl without the type's
    /// arguments would only add rustc's "missing generics" to the error).
    pub(crate) generic: bool,
}

#[derive(Clone)]
pub(crate) enum Kind {
    /// `#[on(channel)]` or `#[on(channel, when = guard)]`.
    Rule {
        channel: Ident,
        guard: Option<Expr>,
    },
    Query,
    Request,
    Birth,
    Stopping,
    Down,
    Permit,
    /// `#[arrived]`: after a move, on the new theatre.
    Arrived,
    /// `#[migration_failed]`: a move did not happen.
    MigrationFailed,
}

impl Kind {
    pub(crate) fn describe(&self) -> &'static str {
        match self {
            Kind::Rule { .. } => "event rule",
            Kind::Query => "query",
            Kind::Request => "request",
            Kind::Birth => "`#[birth]` hook",
            Kind::Stopping => "`#[stopping]` hook",
            Kind::Down => "`#[down]` hook",
            Kind::Permit => "`#[permit]` policy",
            Kind::Arrived => "`#[arrived]` hook",
            Kind::MigrationFailed => "`#[migration_failed]` hook",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Receiver {
    /// `&self`
    Shared,
    /// `&mut self`
    Mut,
    /// `self` or `mut self`
    Value,
    /// An associated function.
    None,
}

#[derive(Clone)]
pub(crate) struct Param {
    pub(crate) pat: Pat,
    pub(crate) ty: Type,
}

#[derive(Clone)]
pub(crate) struct Handler {
    pub(crate) kind: Kind,
    /// The attribute, for errors about the handler's role.
    pub(crate) attr_span: Span,
    pub(crate) name: Ident,
    pub(crate) receiver: Receiver,
    /// The receiver as written (or the name, for an associated function).
    pub(crate) receiver_span: Span,
    /// `ctx: &mut Ctx<Self>` right after `self`.
    pub(crate) takes_ctx: bool,
    /// The context parameter as written, when it is there.
    pub(crate) ctx_span: Option<Span>,
    pub(crate) params: Vec<Param>,
    pub(crate) ret: Option<Type>,
    /// `T` when the handler returns `Reply<T>`: it delegates its answer (SALSA's
    /// first-class continuation) to that reply.
    pub(crate) delegates: Option<Type>,
    pub(crate) is_async: bool,
    /// The `fn` signature, for errors about the whole handler.
    pub(crate) sig: syn::Signature,
}

impl Behaviour {
    pub(crate) fn parse(errors: &Errors, mut item: ItemImpl) -> Behaviour {
        const GENERIC: &str =
            "generic actors are not supported: write the behaviour for a concrete actor type";
        let mut generic = false;
        let self_ident = match &*item.self_ty {
            Type::Path(path) if path.qself.is_none() && path.path.segments.len() == 1 => {
                let segment = &path.path.segments[0];
                if !segment.arguments.is_empty() {
                    errors.spanned(&segment.arguments, GENERIC);
                    generic = true;
                }
                Some(segment.ident.clone())
            }
            other => {
                errors.spanned(
                    other,
                    "`#[behaviour]` goes on `impl YourActor { .. }`, where `YourActor` is a struct marked `#[actor]`",
                );
                None
            }
        };
        if let Some((_, trait_path, _)) = &item.trait_ {
            errors.spanned(
                trait_path,
                "`#[behaviour]` goes on an inherent `impl` block, not a trait impl: write `impl YourActor { .. }`",
            );
        }
        if !item.generics.params.is_empty() && !generic {
            errors.spanned(&item.generics.params, GENERIC);
            generic = true;
        }
        let mut handlers = Vec::new();
        for impl_item in &mut item.items {
            if let ImplItem::Fn(method) = impl_item {
                if let Some(handler) = parse_handler(errors, method) {
                    handlers.push(handler);
                }
            }
        }
        Behaviour {
            item,
            self_ident,
            handlers,
            generic,
        }
    }
}

/// Reads and removes the handler attribute of one method. `None` for a plain method
/// (a private helper) or one whose attribute is unusable.
fn parse_handler(errors: &Errors, method: &mut ImplItemFn) -> Option<Handler> {
    let mut found: Vec<Attribute> = Vec::new();
    method.attrs.retain(|attr| {
        let ours = HANDLER_ATTRIBUTES
            .iter()
            .any(|name| attr.path().is_ident(name));
        if ours {
            found.push(attr.clone());
        }
        !ours
    });
    let mut attrs = found.into_iter();
    let attr = attrs.next()?;
    for extra in attrs {
        errors.spanned(
            &extra,
            format!(
                "`{}` has one role only: it is already marked `#[{}]`; write a separate method for each role",
                method.sig.ident,
                attr_name(&attr)
            ),
        );
    }
    let kind = parse_kind(errors, &attr)?;
    if let Kind::Rule { guard: Some(_), .. } = &kind {
        // A parameter may be read by the guard alone; that is a use.
        method
            .attrs
            .push(syn::parse_quote!(#[allow(unused_variables)]));
    }
    Some(read_signature(kind, attr.span(), &method.sig))
}

fn attr_name(attr: &Attribute) -> String {
    attr.path()
        .get_ident()
        .map_or_else(String::new, ToString::to_string)
}

fn parse_kind(errors: &Errors, attr: &Attribute) -> Option<Kind> {
    let name = attr_name(attr);
    let bare = |kind: Kind| {
        if let syn::Meta::List(list) = &attr.meta {
            errors.spanned(
                &list.tokens,
                format!("`#[{name}]` takes no arguments: write `#[{name}]`"),
            );
        }
        Some(kind)
    };
    match name.as_str() {
        "on" => match attr.parse_args::<RuleArgs>() {
            Ok(args) => Some(Kind::Rule {
                channel: args.channel,
                guard: args.guard,
            }),
            Err(error) => {
                let message = if matches!(attr.meta, syn::Meta::Path(_)) {
                    syn::Error::new_spanned(
                        attr,
                        "an event rule names its channel: `#[on(channel)]` or `#[on(channel, when = guard)]`",
                    )
                } else {
                    error
                };
                errors.push(message);
                None
            }
        },
        "query" => bare(Kind::Query),
        "request" => bare(Kind::Request),
        "birth" => bare(Kind::Birth),
        "stopping" => bare(Kind::Stopping),
        "down" => bare(Kind::Down),
        "permit" => bare(Kind::Permit),
        "arrived" => bare(Kind::Arrived),
        "migration_failed" => bare(Kind::MigrationFailed),
        _ => None,
    }
}

/// `channel` or `channel, when = guard`.
struct RuleArgs {
    channel: Ident,
    guard: Option<Expr>,
}

impl Parse for RuleArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let channel: Ident = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected the channel's name: `#[on(channel)]` or `#[on(channel, when = guard)]`",
            )
        })?;
        let mut guard = None;
        while input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let key: Ident = input.parse()?;
            if key != "when" {
                return Err(syn::Error::new_spanned(
                    &key,
                    format!("unknown option `{key}` for `#[on]`: expected `when = guard`"),
                ));
            }
            if guard.is_some() {
                return Err(syn::Error::new_spanned(
                    &key,
                    "a rule has one guard: join conditions with `&&`",
                ));
            }
            input.parse::<Token![=]>()?;
            guard = Some(input.parse::<Expr>()?);
        }
        if !input.is_empty() {
            return Err(input.error(
                "unexpected tokens: write `#[on(channel)]` or `#[on(channel, when = guard)]`",
            ));
        }
        Ok(RuleArgs { channel, guard })
    }
}

fn read_signature(kind: Kind, attr_span: Span, sig: &syn::Signature) -> Handler {
    let mut inputs = sig.inputs.iter().peekable();
    let (receiver, receiver_span) = match inputs.peek() {
        Some(FnArg::Receiver(r)) => {
            let kind = match (&r.reference, &r.mutability) {
                (Some(_), Some(_)) => Receiver::Mut,
                (Some(_), None) => Receiver::Shared,
                (None, _) => Receiver::Value,
            };
            let span = r.span();
            inputs.next();
            (kind, span)
        }
        _ => (Receiver::None, sig.ident.span()),
    };
    let mut takes_ctx = false;
    let mut ctx_span = None;
    if let Some(FnArg::Typed(first)) = inputs.peek() {
        if is_ctx(&first.ty) {
            takes_ctx = true;
            ctx_span = Some(first.span());
            inputs.next();
        }
    }
    let params = inputs
        .filter_map(|arg| match arg {
            FnArg::Typed(t) => Some(Param {
                pat: (*t.pat).clone(),
                ty: (*t.ty).clone(),
            }),
            FnArg::Receiver(_) => None,
        })
        .collect();
    let ret = match &sig.output {
        ReturnType::Default => None,
        ReturnType::Type(_, ty) => Some((**ty).clone()),
    };
    let delegates = ret.as_ref().and_then(delegated_answer);
    Handler {
        kind,
        attr_span,
        name: sig.ident.clone(),
        receiver,
        receiver_span,
        takes_ctx,
        ctx_span,
        params,
        ret,
        delegates,
        is_async: sig.asyncness.is_some(),
        sig: sig.clone(),
    }
}

/// `T` in a return type `Reply<T>` (by that name, possibly qualified).
fn delegated_answer(ret: &Type) -> Option<Type> {
    let Type::Path(path) = ret else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Reply" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first() {
        Some(syn::GenericArgument::Type(answer)) if args.args.len() == 1 => Some(answer.clone()),
        _ => None,
    }
}

/// `&mut Ctx<..>` or `&Ctx<..>` (the latter is refused by a check, with advice).
pub(crate) fn is_ctx(ty: &Type) -> bool {
    let Type::Reference(reference) = ty else {
        return false;
    };
    matches!(&*reference.elem, Type::Path(path)
        if path.path.segments.last().is_some_and(|s| s.ident == "Ctx"))
}

/// Whether the context parameter is `&mut`.
pub(crate) fn ctx_is_mut(sig: &syn::Signature) -> bool {
    sig.inputs.iter().any(|arg| match arg {
        FnArg::Typed(t) => {
            matches!(&*t.ty, Type::Reference(r) if r.mutability.is_some() && is_ctx(&t.ty))
        }
        FnArg::Receiver(_) => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(item: ItemImpl) -> (Behaviour, Result<(), syn::Error>) {
        let errors = Errors::new();
        let behaviour = Behaviour::parse(&errors, item);
        (behaviour, errors.finish())
    }

    #[test]
    fn handlers_are_read_and_attributes_removed() {
        let (b, result) = parse(syn::parse_quote! {
            impl Account {
                #[on(deposit, when = amount > 10)]
                fn audit(&mut self, amount: i64) {}
                #[query]
                async fn balance(&self, ctx: &mut Ctx<Self>) -> i64 { 0 }
                fn helper(&self) {}
            }
        });
        assert!(result.is_ok());
        assert_eq!(b.handlers.len(), 2);
        let audit = &b.handlers[0];
        assert!(
            matches!(&audit.kind, Kind::Rule { channel, guard: Some(_) } if channel == "deposit")
        );
        assert_eq!(audit.params.len(), 1);
        let balance = &b.handlers[1];
        assert!(balance.is_async && balance.takes_ctx && balance.params.is_empty());
        let printed = {
            let item = &b.item;
            quote::quote!(#item).to_string()
        };
        assert!(
            !printed.contains("query") && !printed.contains("when"),
            "{printed}"
        );
    }

    #[test]
    fn unknown_rule_option_lists_the_valid_one() {
        let (_, result) = parse(syn::parse_quote! {
            impl A { #[on(ch, unless = true)] fn f(&mut self) {} }
        });
        let message = result.expect_err("bad option").to_string();
        assert!(message.contains("expected `when = guard`"), "{message}");
    }

    #[test]
    fn trait_impls_and_double_roles_are_reported_together() {
        let (_, result) = parse(syn::parse_quote! {
            impl Clone for A {
                #[query] #[request] fn f(&self) {}
            }
        });
        assert_eq!(result.expect_err("two mistakes").into_iter().count(), 2);
    }
}
