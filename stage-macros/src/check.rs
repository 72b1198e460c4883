//! Rules about a behaviour that look at a handler as a whole or at several handlers.
//! Each rule is one function; all of them run, so every mistake is reported at once.

use std::collections::HashMap;

use quote::ToTokens;
use syn::visit::Visit;
use syn::Type;

use crate::errors::Errors;
use crate::model::behaviour::{ctx_is_mut, Behaviour, Handler, Kind, Receiver};

pub(crate) fn behaviour(errors: &Errors, behaviour: &Behaviour) {
    for handler in &behaviour.handlers {
        receiver(errors, handler);
        context(errors, handler);
        no_generics(errors, handler);
        owned_params(errors, handler);
        hook_signature(errors, handler);
        down_signature(errors, handler);
        permit_signature(errors, handler);
    }
    one_hook_each(errors, behaviour);
    channels_agree(errors, behaviour);
}

/// Queries take `&self`; requests and rules `&self` or `&mut self`; nothing takes
/// `self` by value (the actor lives on after the message) or no `self` at all.
fn receiver(errors: &Errors, h: &Handler) {
    match (&h.kind, h.receiver) {
        (Kind::Query | Kind::Permit, Receiver::Mut) => errors.spanned_at(
            h.receiver_span,
            match h.kind {
                Kind::Permit => "a permission policy cannot change state: take `&self`".to_string(),
                _ => "queries cannot change state: take `&self`, or mark this `#[request]`"
                    .to_string(),
            },
        ),
        (_, Receiver::Value) => errors.spanned_at(
            h.receiver_span,
            format!(
                "a {} borrows the actor, which lives on after the message: take `{}`",
                h.kind.describe(),
                suggested_receiver(&h.kind)
            ),
        ),
        (_, Receiver::None) => errors.spanned_at(
            h.receiver_span,
            format!(
                "a {} runs on the actor: add `{}` as its first parameter",
                h.kind.describe(),
                suggested_receiver(&h.kind)
            ),
        ),
        _ => {}
    }
}

fn suggested_receiver(kind: &Kind) -> &'static str {
    match kind {
        Kind::Query | Kind::Permit => "&self",
        _ => "&mut self",
    }
}

/// The context is `&mut Ctx<Self>`, right after `self`; a policy gets none.
fn context(errors: &Errors, h: &Handler) {
    let Some(span) = h.ctx_span else { return };
    if matches!(h.kind, Kind::Permit) {
        errors.spanned_at(
            span,
            "a permission policy takes no context: `fn permit(&self, act: &SpeechAct) -> bool`",
        );
    } else if !ctx_is_mut(&h.sig) {
        errors.spanned_at(span, "take the context as `ctx: &mut Ctx<Self>`");
    }
}

/// A handler is one message; its types must be concrete.
fn no_generics(errors: &Errors, h: &Handler) {
    if !h.sig.generics.params.is_empty() {
        errors.spanned(
            &h.sig.generics,
            format!(
                "a {} cannot be generic: its parameters become a message of one concrete type",
                h.kind.describe()
            ),
        );
    }
    for param in &h.params {
        if let Type::ImplTrait(it) = &param.ty {
            errors.spanned(
                it,
                "a handler parameter cannot be `impl Trait`: name a concrete type (messages are values of one type)",
            );
        }
    }
}

/// Parameters and answers travel in messages that outlive the caller's borrows.
fn owned_params(errors: &Errors, h: &Handler) {
    if matches!(h.kind, Kind::Permit | Kind::Down | Kind::MigrationFailed) {
        return;
    }
    let mut borrowed = Borrowed::default();
    for param in &h.params {
        if is_context(&param.ty) {
            errors.spanned(
                &param.ty,
                format!(
                    "the context comes right after `self`: write `fn {}({}, ctx: &mut Ctx<Self>, ..)`",
                    h.name,
                    suggested_receiver(&h.kind)
                ),
            );
            continue;
        }
        borrowed.visit_type(&param.ty);
    }
    for span in borrowed.found {
        errors.spanned(
            span,
            "a message cannot borrow from its sender: take an owned type (`String` for `&str`, `Vec<T>` for `&[T]`) or a `&'static` one",
        );
    }
    if let Some(ret) = &h.ret {
        let mut borrowed = Borrowed::default();
        borrowed.visit_type(ret);
        for span in borrowed.found {
            errors.spanned(
                span,
                "an answer cannot borrow from the actor: return an owned type (clone what you need)",
            );
        }
    }
}

/// References with a lifetime other than `'static`.
#[derive(Default)]
struct Borrowed {
    found: Vec<proc_macro2::TokenStream>,
}

impl<'ast> Visit<'ast> for Borrowed {
    fn visit_type_reference(&mut self, r: &'ast syn::TypeReference) {
        match &r.lifetime {
            Some(lt) if lt.ident == "static" => {}
            _ => self.found.push(r.to_token_stream()),
        }
        syn::visit::visit_type_reference(self, r);
    }
}

/// `#[birth]` and `#[stopping]` take only `self` and the context; `#[stopping]` is
/// synchronous (the actor is going; there is nothing left to wait for).
fn hook_signature(errors: &Errors, h: &Handler) {
    let name = match h.kind {
        Kind::Birth => "birth",
        Kind::Stopping => "stopping",
        Kind::Arrived => "arrived",
        _ => return,
    };
    if let Some(extra) = h.params.first() {
        errors.spanned(
            &extra.pat,
            format!("`#[{name}]` takes no message: write `fn {}(&mut self, ctx: &mut Ctx<Self>)` (the context is optional)", h.name),
        );
    }
    if let Some(ret) = &h.ret {
        errors.spanned(
            ret,
            format!("`#[{name}]` returns nothing: its result would have nobody to go to"),
        );
    }
    if h.is_async && matches!(h.kind, Kind::Stopping) {
        errors.spanned(
            h.sig.asyncness,
            "`#[stopping]` cannot be `async`: the actor is ending and takes no more turns",
        );
    }
}

/// `fn on_down(&mut self, ctx: &mut Ctx<Self>, down: Down)` and
/// `fn stayed(&mut self, ctx: &mut Ctx<Self>, error: MigrationError)`, synchronous.
fn down_signature(errors: &Errors, h: &Handler) {
    let usage = match h.kind {
        Kind::Down => {
            "a `#[down]` hook is `fn on_down(&mut self, down: Down)` (a context may come after `self`)"
        }
        Kind::MigrationFailed => {
            "a `#[migration_failed]` hook is `fn stayed(&mut self, error: MigrationError)` (a context may come after `self`)"
        }
        _ => return,
    };
    if h.params.len() != 1 {
        errors.spanned(&h.sig.inputs, usage);
    }
    if let Some(ret) = &h.ret {
        errors.spanned(ret, format!("{usage}: it returns nothing"));
    }
    if h.is_async {
        errors.spanned(h.sig.asyncness, format!("{usage}: it cannot be `async`"));
    }
}

/// `fn permit(&self, act: &SpeechAct) -> bool`.
fn permit_signature(errors: &Errors, h: &Handler) {
    if !matches!(h.kind, Kind::Permit) {
        return;
    }
    let usage = "a permission policy is `fn permit(&self, act: &SpeechAct) -> bool`";
    if h.params.len() != 1 {
        errors.spanned(&h.sig.inputs, usage);
    }
    let returns_bool = matches!(&h.ret, Some(Type::Path(p)) if p.path.is_ident("bool"));
    if !returns_bool {
        let message = format!("{usage}: it answers `true` to let the message in");
        match &h.sig.output {
            syn::ReturnType::Type(..) => errors.spanned(&h.sig.output, message),
            // Nothing written to point at: point at the name.
            syn::ReturnType::Default => errors.spanned(&h.sig.ident, message),
        }
    }
    if h.is_async {
        errors.spanned(h.sig.asyncness, format!("{usage}: it cannot be `async`"));
    }
}

/// At most one `#[birth]`, `#[stopping]` and `#[permit]`.
fn one_hook_each(errors: &Errors, b: &Behaviour) {
    let mut seen: HashMap<&'static str, &Handler> = HashMap::new();
    for h in &b.handlers {
        let key = match h.kind {
            Kind::Birth => "birth",
            Kind::Stopping => "stopping",
            Kind::Down => "down",
            Kind::Permit => "permit",
            Kind::Arrived => "arrived",
            Kind::MigrationFailed => "migration_failed",
            _ => continue,
        };
        if let Some(first) = seen.get(key) {
            errors.spanned_at(
                h.attr_span,
                format!(
                    "an actor has one `#[{key}]`; `{}` is one already: merge the two",
                    first.name
                ),
            );
        } else {
            seen.insert(key, h);
        }
    }
}

/// All rules on one channel take the same event type.
fn channels_agree(errors: &Errors, b: &Behaviour) {
    let mut first: HashMap<String, &Handler> = HashMap::new();
    for h in &b.handlers {
        let Kind::Rule { channel, .. } = &h.kind else {
            continue;
        };
        match first.get(&channel.to_string()) {
            None => {
                first.insert(channel.to_string(), h);
            }
            Some(earlier) => {
                if event_type(earlier) != event_type(h) {
                    errors.spanned(
                        &h.sig.inputs,
                        format!(
                            "every rule on channel `{channel}` must take the same event: `{}` takes ({}), `{}` takes ({})",
                            earlier.name,
                            event_type(earlier),
                            h.name,
                            event_type(h)
                        ),
                    );
                }
            }
        }
    }
}

/// The event type as written, for comparison and messages.
fn event_type(h: &Handler) -> String {
    h.params
        .iter()
        .map(|p| p.ty.to_token_stream().to_string().replace(' ', ""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether `ty` is a reference to the context (`&mut Ctx<Self>`, `&Ctx<Self>`).
fn is_context(ty: &Type) -> bool {
    let Type::Reference(reference) = ty else {
        return false;
    };
    let Type::Path(path) = &*reference.elem else {
        return false;
    };
    path.path
        .segments
        .last()
        .is_some_and(|last| last.ident == "Ctx")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(item: syn::ItemImpl) -> Vec<String> {
        let errors = Errors::new();
        let b = Behaviour::parse(&errors, item);
        behaviour(&errors, &b);
        match errors.finish() {
            Ok(()) => vec![],
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn a_mut_query_is_refused_with_advice() {
        let m = messages(syn::parse_quote!(impl A { #[query] fn q(&mut self) -> u8 { 0 } }));
        assert_eq!(
            m,
            ["queries cannot change state: take `&self`, or mark this `#[request]`"]
        );
    }

    #[test]
    fn rules_on_one_channel_must_agree() {
        let m = messages(syn::parse_quote!(impl A {
            #[on(ch)] fn a(&mut self, x: u8) {}
            #[on(ch)] fn b(&mut self, x: String) {}
        }));
        assert_eq!(m.len(), 1);
        assert!(m[0].contains("channel `ch`"), "{}", m[0]);
    }

    #[test]
    fn borrowed_parameters_are_refused_but_static_ones_pass() {
        let m = messages(syn::parse_quote!(impl A {
            #[request] fn a(&mut self, x: &str) {}
            #[request] fn b(&mut self, x: &'static str) -> &'static str { x }
        }));
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn several_mistakes_come_together() {
        let m = messages(syn::parse_quote!(impl A {
            #[birth] fn a(&mut self, x: u8) {}
            #[birth] fn b(self) {}
            #[stopping] async fn c(&mut self) {}
        }));
        assert_eq!(m.len(), 4, "{m:?}");
    }
}
