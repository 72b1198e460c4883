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

/// `__encode` and `__decode`: a message to and from the wire, for an actor on
/// another theatre. A handler is named by its position among the variants.
///
/// Each argument and answer goes through `<<Self as Declared>::Mobility as Wire<T>>`,
/// every token of the path spanned at the type as the user wrote it: rustc then
/// reports a type that cannot cross at that type, where [`wire_checks`] reports it,
/// and shows the error once. (A path whose tokens come from different places is
/// reported at the attribute, a second time.) On an encoding error the writer, which
/// holds the reply, answers it with the error it recorded.
pub(crate) fn wire_codec(b: &Behaviour, actor: &Ident) -> TokenStream {
    let rt = rt();
    let name = name();
    let msg = crate::expand::hidden("__msg");
    let writer = crate::expand::hidden("__args");
    let reader = crate::expand::hidden("__reader");
    let reply = crate::expand::hidden("__reply");
    let variant_var = crate::expand::hidden("__variant");
    let bytes = crate::expand::hidden("__bytes");
    let incoming = crate::expand::hidden("__incoming");
    let codec = crate::expand::hidden("__codec");
    // Spanned where it is used, like the rest of each `Wire` path: a path whose
    // tokens come from different places is reported at the attribute.
    let mobility =
        |span: proc_macro2::Span| quote_spanned!(span=> <Self as #rt::Declared>::Mobility);
    let mut encode = Vec::new();
    let mut decode = Vec::new();
    for (index, h) in variant_handlers(b).into_iter().enumerate() {
        let Ok(index) = u16::try_from(index) else {
            break;
        };
        let v = variant(h);
        let count = h.params.len() as u32;
        let names: Vec<Ident> = (0..h.params.len())
            .map(|i| crate::expand::hidden(&format!("__a{i}")))
            .collect();
        let types: Vec<syn::Type> = h
            .params
            .iter()
            .map(|p| crate::expand::concrete(&p.ty, actor))
            .collect();
        let puts = names.iter().zip(&h.params).zip(&types).map(|((n, p), ty)| {
            let mobility = mobility(p.ty.span());
            quote_spanned! {p.ty.span()=>
                <#mobility as #rt::Wire<#ty>>::put(&#n, &mut #writer)?;
            }
        });
        let takes = names.iter().zip(&h.params).zip(&types).map(|((n, p), ty)| {
            let mobility = mobility(p.ty.span());
            quote_spanned! {p.ty.span()=>
                let #n = <#mobility as #rt::Wire<#ty>>::take(#reader.decoder())?;
            }
        });
        let tuple = quote!((#(#names,)*));
        match h.kind {
            Kind::Rule { .. } => {
                let pattern = match names.as_slice() {
                    [single] => quote!(#single),
                    _ => tuple.clone(),
                };
                encode.push(quote! {
                    #name::#v(#pattern) => {
                        let mut #writer = #rt::remote::ArgWriter::new(#count);
                        #(#puts)*
                        #rt::Result::Ok(#writer.tell(#index))
                    }
                });
                decode.push(quote! {
                    #index => {
                        let mut #reader = #rt::remote::ArgReader::new(#bytes, #count)?;
                        #(#takes)*
                        #reader.finish()?;
                        #rt::Result::Ok(#name::#v(#pattern))
                    }
                });
            }
            _ => {
                let answer = answer_type(h, actor);
                let answer_span = h
                    .delegates
                    .as_ref()
                    .or(h.ret.as_ref())
                    .map_or_else(proc_macro2::Span::call_site, |t| t.span());
                let mobility = mobility(answer_span);
                let taker = quote_spanned! {answer_span=>
                    let #codec = #writer.record(<#mobility as #rt::Wire<#answer>>::taker())?;
                };
                let putter = quote_spanned! {answer_span=>
                    let #codec = <#mobility as #rt::Wire<#answer>>::putter()?;
                };
                encode.push(quote! {
                    #name::#v(#tuple, #reply) => {
                        let mut #writer = #rt::remote::ArgWriter::ask(#count, #reply);
                        #(#puts)*
                        #taker
                        #rt::Result::Ok(#writer.ask_with(#index, #codec))
                    }
                });
                decode.push(quote! {
                    #index => {
                        let mut #reader = #rt::remote::ArgReader::new(#bytes, #count)?;
                        #(#takes)*
                        #reader.finish()?;
                        #putter
                        let #reply = #rt::remote::respond_with(#incoming, #codec)?;
                        #rt::Result::Ok(#name::#v(#tuple, #reply))
                    }
                });
            }
        }
    }
    quote! {
        fn __encode(#msg: #name) -> #rt::Result<#rt::remote::Body, #rt::SpeechError> {
            match #msg {
                #(#encode)*
            }
        }

        fn __decode(
            #variant_var: u16,
            #bytes: &[u8],
            #incoming: &mut #rt::Option<#rt::remote::Incoming>,
        ) -> #rt::Result<#name, #rt::SpeechError> {
            match #variant_var {
                #(#decode)*
                _ => #rt::Result::Err(#rt::remote::unknown_variant(#variant_var)),
            }
        }
    }
}
