//! `#[actor]`: the item unchanged, plus its declaration to the runtime.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;

use crate::errors::{to_compile_errors, Errors};
use crate::expand::rt;
use crate::model::actor::Actor;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut item: syn::Item = match syn::parse2(item.clone()) {
        Ok(item) => item,
        // Not even an item: give rustc the tokens back so it reports on them itself.
        Err(error) => {
            let error = to_compile_errors(error);
            return quote!(#item #error);
        }
    };
    let errors = Errors::new();
    let actor = Actor::parse(&errors, args, &item);
    if actor.as_ref().is_some_and(|actor| actor.mobile) {
        derive_serde(&mut item);
    }
    let declaration = actor.as_ref().filter(|_| errors.is_empty()).map(declare);
    let error = errors.finish().err().map(to_compile_errors);
    // Always expand to the item, so the rest of the crate keeps type-checking.
    quote! {
        #item
        #declaration
        #error
    }
}

fn declare(actor: &Actor) -> TokenStream {
    let rt = rt();
    let ident = &actor.ident;
    let mobility = if actor.mobile {
        quote!(#rt::Mobile)
    } else {
        quote!(#rt::Local)
    };
    let mailbox = match actor.mailbox {
        Some(n) => quote!(#rt::Option::Some(#n)),
        None => quote!(#rt::Option::None),
    };
    let balance = actor.balance.then(|| {
        quote!(
            const BALANCE: bool = true;
        )
    });
    // Spanned on the actor's name, so that "cannot be sent between threads" lands there.
    let impl_line = quote_spanned!(ident.span()=> impl #rt::Declared for #ident);
    // A mobile actor's state is its snapshot, and its type is registered so
    // that a theatre of the same program can rebuild it.
    let snapshot = actor.mobile.then(|| {
        let state = syn::Ident::new("__state", proc_macro2::Span::call_site());
        quote! {
            fn __snapshot(&self) -> #rt::Result<::std::vec::Vec<u8>, #rt::MigrationError> {
                #rt::snapshot(self)
            }
            fn __restore(#state: &[u8]) -> #rt::Result<Self, #rt::MigrationError> {
                #rt::restore(#state)
            }
        }
    });
    let register = actor.mobile.then(|| {
        quote! {
            #rt::inventory::submit! { #rt::MobileType::of::<#ident>() }
        }
    });
    // `do_not_recommend`: rustc should not list every actor when one type is not.
    quote! {
        #[automatically_derived]
        #[diagnostic::do_not_recommend]
        #impl_line {
            const MAILBOX: #rt::Option<usize> = #mailbox;
            type Mobility = #mobility;
            #balance
            fn __kind() -> &'static #rt::Kind {
                static KIND: #rt::Kind = #rt::Kind::new();
                &KIND
            }
            #snapshot
        }
        #register
    }
}

/// A mobile actor's state is serialisable: serde's derive, through the runtime's
/// re-export (the user's crate need not depend on serde). A field that is not
/// serialisable gets serde's error at the field; `#[serde(skip)]` and the other
/// serde attributes work on the fields as usual.
fn derive_serde(item: &mut syn::Item) {
    let rt = rt();
    let rt_path = rt.to_string().replace(' ', "");
    let attrs = match item {
        syn::Item::Struct(s) => {
            s.fields
                .iter_mut()
                .for_each(|f| through_portable(&rt_path, f));
            &mut s.attrs
        }
        syn::Item::Enum(e) => {
            e.variants
                .iter_mut()
                .flat_map(|v| v.fields.iter_mut())
                .for_each(|f| through_portable(&rt_path, f));
            &mut e.attrs
        }
        _ => return,
    };
    let serde_path = format!("{rt_path}::serde");
    // First, so that serde's helper attributes the user wrote come after the derive
    // that introduces them.
    attrs.insert(0, syn::parse_quote!(#[serde(crate = #serde_path)]));
    attrs.insert(
        0,
        syn::parse_quote!(#[derive(#rt::serde::Serialize, #rt::serde::Deserialize)]),
    );
}

/// A field is (de)serialised through the runtime's `Portable`, whose one error (at the
/// field's type) replaces the several serde's derive gives. A field the user already
/// tells serde how to handle (`with`, `skip`, ..) is left as written.
fn through_portable(rt_path: &str, field: &mut syn::Field) {
    if field.attrs.iter().any(takes_over_serde) {
        return;
    }
    let ty = &field.ty;
    let ty = ty.to_token_stream().to_string();
    // At the field's name: "this field cannot cross the wire".
    let span = match &field.ident {
        Some(ident) => ident.span(),
        None => field.ty.span(),
    };
    let ser = syn::LitStr::new(&format!("<{ty} as {rt_path}::Portable>::ser"), span);
    let de = syn::LitStr::new(&format!("<{ty} as {rt_path}::Portable>::de"), span);
    field.attrs.push(
        syn::parse_quote_spanned!(span=> #[serde(serialize_with = #ser, deserialize_with = #de)]),
    );
}

/// The serde field options that say how the field is (de)serialised, or that it is not.
const TAKE_OVER: &[&str] = &[
    "with",
    "serialize_with",
    "deserialize_with",
    "skip",
    "skip_serializing",
    "skip_deserializing",
    "getter",
];

/// Whether `attr` is a `#[serde(..)]` with one of [`TAKE_OVER`]. An attribute that
/// does not parse is left to serde, which reports it.
fn takes_over_serde(attr: &syn::Attribute) -> bool {
    use syn::punctuated::Punctuated;
    if !attr.path().is_ident("serde") {
        return false;
    }
    attr.parse_args_with(Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated)
        .is_ok_and(|metas| {
            metas
                .iter()
                .any(|meta| TAKE_OVER.iter().any(|name| meta.path().is_ident(name)))
        })
}

#[cfg(test)]
mod tests {
    use super::takes_over_serde;

    #[test]
    fn only_options_that_handle_the_field_take_it_over() {
        let takes = |attr: syn::Attribute| takes_over_serde(&attr);
        assert!(takes(syn::parse_quote!(#[serde(skip)])));
        assert!(takes(
            syn::parse_quote!(#[serde(default, with = "my::codec")])
        ));
        assert!(takes(syn::parse_quote!(#[serde(deserialize_with = "f")])));
        // Options whose names merely contain `skip` or `with` do not.
        assert!(!takes(
            syn::parse_quote!(#[serde(skip_serializing_if = "Option::is_none")])
        ));
        assert!(!takes(syn::parse_quote!(#[serde(rename = "with_skip")])));
        assert!(!takes(syn::parse_quote!(#[doc = "skip"])));
    }
}
