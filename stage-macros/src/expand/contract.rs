//! The `Actor` impl (the runtime's view of the actor), the speech contract, and the
//! exports Star-form expressions call.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::Ident;

use crate::expand::dispatch::{
    arms, describe_arms, hook_call, hook_call_with, hook_turn, refuse_arms,
};
use crate::expand::names::name_type;
use crate::expand::proxies::names;
use crate::expand::{answer_type, concrete, hidden, message, rt};
use crate::model::behaviour::{Behaviour, Handler, Kind};

/// The struct with a field per handler name (see `Actor::__Names`): its name,
/// and its definition.
fn handler_names(b: &Behaviour, actor: &Ident) -> (Ident, TokenStream) {
    let name = quote::format_ident!("{}Handlers", actor);
    let mut fields: Vec<Ident> = Vec::new();
    for h in &b.handlers {
        let field = match &h.kind {
            Kind::Rule { channel, .. } => channel,
            Kind::Query | Kind::Request => &h.name,
            _ => continue,
        };
        if !fields.iter().any(|known| known == field) {
            fields.push(field.clone());
        }
    }
    let def = quote! {
        #[allow(non_camel_case_types, dead_code)]
        #[doc(hidden)]
        pub struct #name { #(pub #fields: (),)* }
    };
    (name, def)
}

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
            fn __birth<'__t>(&'__t mut self, #ctx: &'__t mut #rt::Ctx<Self>) -> #rt::Waiting<'__t> {
                #body
            }
        }
    });
    let arrived = b
        .handlers
        .iter()
        .find(|h| matches!(h.kind, Kind::Arrived))
        .map(|h| {
            let body = hook_turn(h, actor);
            // At the attribute: "`X` cannot move between theatres: it is not mobile".
            let check = quote_spanned!(h.attr_span=> {
                fn __must_be_mobile<__T: #rt::MobileKind>() {}
                __must_be_mobile::<<Self as #rt::Declared>::Mobility>();
            });
            quote! {
                fn __arrived<'__t>(&'__t mut self, #ctx: &'__t mut #rt::Ctx<Self>) -> #rt::Waiting<'__t> {
                    #check
                    #body
                }
            }
        });
    let migration_failed = b
        .handlers
        .iter()
        .find(|h| matches!(h.kind, Kind::MigrationFailed))
        .map(|h| {
            let why = hidden("__why");
            let body = hook_call_with(h, actor, &[quote!(#why)]);
            let check = quote_spanned!(h.attr_span=> {
                fn __must_be_mobile<__T: #rt::MobileKind>() {}
                __must_be_mobile::<<Self as #rt::Declared>::Mobility>();
            });
            quote! {
                fn __migration_failed(&mut self, #ctx: &mut #rt::Ctx<Self>, #why: #rt::MigrationError) {
                    #check
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
    let wire = crate::expand::message::wire_checks(b, actor);
    let codec = crate::expand::message::wire_codec(b, actor);
    let speech_line = quote_spanned!(actor.span()=> impl #rt::Speech for #actor);
    let (names_struct, names_def) = handler_names(b, actor);
    quote! {
        #names_def
        #[automatically_derived]
        #[diagnostic::do_not_recommend]
        #impl_line {
            type __Message = #msg;
            type __Notify<'__a> = #notify<'__a>;
            type __Events<'__a> = #events<'__a>;
            type __Query<'__a> = #query<'__a>;
            type __Request<'__a> = #request<'__a>;
            type __Names = #names_struct;

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
            ) -> #rt::Waiting<'__t> {
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

            #wire
            #codec
            #permit
            #birth
            #stopping
            #arrived
            #migration_failed
            #down
        }

        #[automatically_derived]
        #speech_line {}
    }
}

/// What Star-form expressions call: the synchronous, non-delegating queries (through
/// `&self`) and requests (through `&mut self`), by name, with a note listing them
/// when a name is not one of them (see `names.rs`).
pub(crate) fn exports(b: &Behaviour, actor: &Ident) -> TokenStream {
    let rt = rt();
    let ctx = hidden("__ctx");
    let this = Ident::new("self", proc_macro2::Span::call_site());
    let callable = |kind: fn(&Kind) -> bool| -> Vec<&Handler> {
        b.handlers
            .iter()
            .filter(|h| kind(&h.kind) && !h.is_async && h.delegates.is_none())
            .collect()
    };
    let queries = callable(|k| matches!(k, Kind::Query));
    let requests = callable(|k| matches!(k, Kind::Request));
    let listed = |hs: &[&Handler]| {
        hs.iter()
            .map(|h| format!("`{}`", h.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let or_none = |hs: &[&Handler]| {
        if hs.is_empty() {
            "none".to_string()
        } else {
            listed(hs)
        }
    };
    let query_note = format!(
        "a Star-form query can call these queries of `{actor}`: {}{}; `async` and delegating handlers cannot run inside an expression: use the short form",
        or_none(&queries),
        if requests.is_empty() {
            String::new()
        } else {
            format!("; its requests ({}) may change state: call them from `request!(.. 's name to ..)`", listed(&requests))
        }
    );
    let both: Vec<&Handler> = queries.iter().chain(&requests).copied().collect();
    let request_note = format!(
        "a Star-form request can call these handlers of `{actor}`: {}; `async` and delegating handlers cannot run inside an expression: use the short form",
        or_none(&both)
    );
    let export_impl = |tr: &Ident, receiver: TokenStream, h: &Handler| {
        let name = name_type(&h.name);
        let method = &h.name;
        let types: Vec<_> = h.params.iter().map(|p| concrete(&p.ty, actor)).collect();
        let parts: Vec<Ident> = (0..types.len())
            .map(|i| hidden(&format!("__x{i}")))
            .collect();
        let answer = answer_type(h, actor);
        let pass_ctx = h.takes_ctx.then(|| quote!(#ctx,));
        quote! {
            #[diagnostic::do_not_recommend]
            impl #tr<#name, #actor> for #actor {
                type Args = (#(#types,)*);
                type Out = #answer;
                #[inline]
                fn __export(#receiver, #ctx: &mut #rt::Ctx<#actor>, (#(#parts,)*): Self::Args) -> #answer {
                    #actor::#method(#this, #pass_ctx #(#parts),*)
                }
            }
        }
    };
    let query_tr = hidden("__ExportQuery");
    let request_tr = hidden("__ExportRequest");
    let query_impls = queries
        .iter()
        .map(|h| export_impl(&query_tr, quote!(&self), h));
    let request_impls = both
        .iter()
        .map(|h| export_impl(&request_tr, quote!(&mut self), h));
    let message_q = format!("`{actor}` has no query by this name for a Star-form expression");
    let message_r = format!("`{actor}` has no handler by this name for a Star-form request");
    let label = format!("not callable on `{actor}` here");
    quote! {
        #[diagnostic::on_unimplemented(message = #message_q, label = #label, note = #query_note)]
        pub trait #query_tr<__N, __A> {
            type Args;
            type Out;
            fn __export(&self, ctx: &mut #rt::Ctx<#actor>, args: Self::Args) -> Self::Out;
        }
        #[diagnostic::on_unimplemented(message = #message_r, label = #label, note = #request_note)]
        pub trait #request_tr<__N, __A> {
            type Args;
            type Out;
            fn __export(&mut self, ctx: &mut #rt::Ctx<#actor>, args: Self::Args) -> Self::Out;
        }
        // A second impl for a name no macro writes keeps rustc's note ours (see names.rs).
        #[diagnostic::do_not_recommend]
        impl #query_tr<(), #actor> for #actor {
            type Args = ::core::convert::Infallible;
            type Out = ::core::convert::Infallible;
            fn __export(&self, _: &mut #rt::Ctx<#actor>, never: Self::Args) -> Self::Out { never }
        }
        #[diagnostic::do_not_recommend]
        impl #request_tr<(), #actor> for #actor {
            type Args = ::core::convert::Infallible;
            type Out = ::core::convert::Infallible;
            fn __export(&mut self, _: &mut #rt::Ctx<#actor>, never: Self::Args) -> Self::Out { never }
        }
        #(#query_impls)*
        #(#request_impls)*
        impl #actor {
            #[doc(hidden)]
            #[inline]
            pub fn __export_query<__N>(
                &self,
                #ctx: &mut #rt::Ctx<#actor>,
                args: <Self as #query_tr<__N, #actor>>::Args,
            ) -> <Self as #query_tr<__N, #actor>>::Out
            where
                Self: #query_tr<__N, #actor>,
            {
                <Self as #query_tr<__N, #actor>>::__export(self, #ctx, args)
            }

            #[doc(hidden)]
            #[inline]
            pub fn __export_request<__N>(
                &mut self,
                #ctx: &mut #rt::Ctx<#actor>,
                args: <Self as #request_tr<__N, #actor>>::Args,
            ) -> <Self as #request_tr<__N, #actor>>::Out
            where
                Self: #request_tr<__N, #actor>,
            {
                <Self as #request_tr<__N, #actor>>::__export(self, #ctx, args)
            }
        }
    }
}
