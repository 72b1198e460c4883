//! The `Actor` impl (the runtime's view of the actor), the speech contract, and the
//! exports Star-form expressions call.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::Ident;

use crate::expand::dispatch::{
    arms, describe_arms, hook_call, hook_call_with, hook_turn, refuse_arms,
};
use crate::expand::proxies::names;
use crate::expand::{answer_type, arg_names, concrete, export_name, hidden, message, rt};
use crate::model::behaviour::{Behaviour, Kind, Receiver};

pub(crate) fn generate(b: &Behaviour, actor: &Ident) -> TokenStream {
    let rt = rt();
    let msg = message::name();
    let [notify, events, query, request] = names();
    let ctx = hidden("__ctx");
    let msg_var = hidden("__msg");
    let error = hidden("__error");
    let this = Ident::new("self", proc_macro2::Span::call_site());
    let dispatch_arms = arms(b, actor);
    let describe = describe_arms(b);
    let refuse = refuse_arms(b);

    let birth = b.handlers.iter().find(|h| matches!(h.kind, Kind::Birth)).map(|h| {
        let body = hook_turn(h, actor);
        quote! {
            fn __birth<'__t>(&'__t mut self, #ctx: &'__t mut #rt::Ctx<Self>) -> #rt::Turn<'__t> {
                #body
            }
        }
    });
    let stopping = b
        .handlers
        .iter()
        .find(|h| matches!(h.kind, Kind::Stopping))
        .map(|h| {
            let body = hook_call(h, actor);
            quote! {
                fn __stopping(&mut self, #ctx: &mut #rt::Ctx<Self>) { #body }
            }
        });
    let down = b
        .handlers
        .iter()
        .find(|h| matches!(h.kind, Kind::Down))
        .map(|h| {
            let notice = hidden("__notice");
            let body = hook_call_with(h, actor, &[quote!(#notice)]);
            quote! {
                const __HAS_DOWN: bool = true;
                fn __down(&mut self, #ctx: &mut #rt::Ctx<Self>, #notice: #rt::Down) { #body }
            }
        });
    let permit = b
        .handlers
        .iter()
        .find(|h| matches!(h.kind, Kind::Permit))
        .map(|h| {
            let name = &h.name;
            let act = hidden("__act");
            quote! {
                const __HAS_PERMIT: bool = true;
                fn __permit(&self, #act: &#rt::SpeechAct) -> bool { #actor::#name(#this, #act) }
            }
        });
    // Spanned on the user's type: "`X` is not an actor" lands on `impl X`.
    let impl_line = quote_spanned!(actor.span()=> impl #rt::Actor for #actor);
    let speech_line = quote_spanned!(actor.span()=> impl #rt::Speech for #actor);
    quote! {
        #[automatically_derived]
        #impl_line {
            type __Message = #msg;
            type __Notify<'__a> = #notify<'__a>;
            type __Events<'__a> = #events<'__a>;
            type __Query<'__a> = #query<'__a>;
            type __Request<'__a> = #request<'__a>;

            #[inline]
            fn __notify(addr: &#rt::Addr<Self>) -> #notify<'_> { #notify(addr) }
            #[inline]
            fn __events(addr: &#rt::Addr<Self>) -> #events<'_> { #events(addr) }
            #[inline]
            fn __query(addr: &#rt::Addr<Self>) -> #query<'_> { #query(addr) }
            #[inline]
            fn __request(addr: &#rt::Addr<Self>) -> #request<'_> { #request(addr) }

            fn __dispatch<'__t>(
                &'__t mut self,
                #ctx: &'__t mut #rt::Ctx<Self>,
                #msg_var: #msg,
            ) -> #rt::Turn<'__t> {
                match #msg_var {
                    #(#dispatch_arms,)*
                }
            }

            fn __describe(#msg_var: &#msg) -> (#rt::SpeechKind, &'static str) {
                match *#msg_var {
                    #(#describe,)*
                }
            }

            fn __refuse(#msg_var: #msg, #error: #rt::SpeechError) {
                match #msg_var {
                    #(#refuse,)*
                }
            }

            #permit
            #birth
            #stopping
            #down
        }

        #[automatically_derived]
        #speech_line {}
    }
}

/// For each synchronous, non-delegating query and request, an inherent method with a uniform shape
/// (`&self` or `&mut self`, then the context, then the arguments) for Star-form
/// expressions to call.
pub(crate) fn exports(b: &Behaviour, actor: &Ident) -> TokenStream {
    let rt = rt();
    let ctx = hidden("__ctx");
    let this = Ident::new("self", proc_macro2::Span::call_site());
    let methods = b
        .handlers
        .iter()
        .filter(|h| {
            matches!(h.kind, Kind::Query | Kind::Request) && !h.is_async && h.delegates.is_none()
        })
        .map(|h| {
            let export = export_name(&h.name);
            let name = &h.name;
            let receiver = match h.receiver {
                Receiver::Mut => quote!(&mut self),
                _ => quote!(&self),
            };
            let names = arg_names(h);
            let types = h.params.iter().map(|p| concrete(&p.ty, actor));
            let answer = answer_type(h, actor);
            let pass_ctx = h.takes_ctx.then(|| quote!(#ctx,));
            quote! {
                #[doc(hidden)]
                #[inline]
                pub fn #export(#receiver, #ctx: &mut #rt::Ctx<#actor>, #(#names: #types),*) -> #answer {
                    #actor::#name(#this, #pass_ctx #(#names),*)
                }
            }
        });
    quote! {
        impl #actor {
            #(#methods)*
        }
    }
}
