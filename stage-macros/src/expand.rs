//! Code generation, from checked models only. One file per output.

pub(crate) mod actor;
pub(crate) mod behaviour;
mod captures;
mod contract;
mod dispatch;
pub(crate) mod join;
pub(crate) mod main;
mod message;
pub(crate) mod names;
mod proxies;
pub(crate) mod speech;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::visit_mut::VisitMut;
use syn::{Ident, Type};

use crate::model::behaviour::{Handler, Kind};

/// The one path generated code reaches the runtime through:
/// `::<name>::__private`, where `<name>` is what the calling crate's `Cargo.toml`
/// calls `stage-runtime` (`stage_runtime`, or a rename such as
/// `stage = { package = "stage-runtime" }`). Inside `stage-runtime` itself, and when
/// the manifest cannot tell (a re-export through another crate), `stage_runtime`.
pub(crate) fn rt() -> TokenStream {
    let name = match proc_macro_crate::crate_name("stage-runtime") {
        Ok(proc_macro_crate::FoundCrate::Name(name)) => name,
        Ok(proc_macro_crate::FoundCrate::Itself) | Err(_) => "stage_runtime".to_string(),
    };
    let krate = Ident::new(&name, Span::call_site());
    quote!(::#krate::__private)
}

/// The lints generated items are exempt from (they follow the user's names, and
/// may leave parts unused).
pub(crate) fn allows() -> TokenStream {
    quote! {
        #[allow(
            non_camel_case_types,
            non_snake_case,
            dead_code,
            unused,
            unreachable_pub,
            private_interfaces,
            private_bounds,
            missing_docs,
            missing_debug_implementations,
            clippy::all,
            clippy::pedantic,
        )]
    }
}

/// A name only generated code sees (`mixed_site` hygiene: user code cannot name it).
pub(crate) fn hidden(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

/// The message variant of a handler.
pub(crate) fn variant(h: &Handler) -> Ident {
    match &h.kind {
        Kind::Rule { channel, .. } => format_ident!("__on_{}", channel),
        Kind::Query => format_ident!("__query_{}", h.name),
        Kind::Request => format_ident!("__request_{}", h.name),
        _ => format_ident!("__hook_{}", h.name),
    }
}

/// `ty` with `Self` replaced by the actor's name, for code outside the impl block.
pub(crate) fn concrete(ty: &Type, actor: &Ident) -> Type {
    struct ReplaceSelf<'a>(&'a Ident);
    impl VisitMut for ReplaceSelf<'_> {
        fn visit_path_mut(&mut self, path: &mut syn::Path) {
            if let Some(first) = path.segments.first_mut() {
                if first.ident == "Self" {
                    first.ident = Ident::new(&self.0.to_string(), first.ident.span());
                }
            }
            syn::visit_mut::visit_path_mut(self, path);
        }
    }
    let mut ty = ty.clone();
    ReplaceSelf(actor).visit_type_mut(&mut ty);
    ty
}

/// The types of a handler's parameters as one type: `()`, `T`, or `(T1, T2, ..)`.
pub(crate) fn event_type(h: &Handler, actor: &Ident) -> TokenStream {
    let types: Vec<Type> = h.params.iter().map(|p| concrete(&p.ty, actor)).collect();
    match types.as_slice() {
        [single] => quote!(#single),
        many => quote!((#(#many,)*)),
    }
}

/// The type of the answer: the return type (`T` for a delegating `Reply<T>`), or `()`.
pub(crate) fn answer_type(h: &Handler, actor: &Ident) -> TokenStream {
    match h.delegates.as_ref().or(h.ret.as_ref()) {
        Some(ty) => {
            let ty = concrete(ty, actor);
            quote!(#ty)
        }
        None => quote!(()),
    }
}

/// Names for a handler's arguments in generated signatures: the user's when the
/// parameter is a plain name (better messages from rustc), otherwise positional.
pub(crate) fn arg_names(h: &Handler) -> Vec<Ident> {
    h.params
        .iter()
        .enumerate()
        .map(|(i, p)| match &p.pat {
            syn::Pat::Ident(pi) if pi.by_ref.is_none() && pi.subpat.is_none() => {
                Ident::new(&pi.ident.to_string(), Span::mixed_site())
            }
            _ => hidden(&format!("__arg{i}")),
        })
        .collect()
}
