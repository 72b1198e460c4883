//! `notify!`, `query!` and `request!`, in the short form and in Star's form.
//!
//! ```text
//! short:  notify!(acct, deposit(100))      query!(acct, balance())      request!(acct, withdraw(5))
//! Star:   notify!(acct with 100 on deposit)
//!         query!(stocker 's average 'n volume with average(a, b) * volume(a, b))
//!         request!(bank 's set_balance 'n current_balance to set_balance(current_balance() * 2))
//! ```

use proc_macro2::Span;
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, Lifetime, Token};

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Notify,
    Query,
    Request,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Notify => "notify",
            Kind::Query => "query",
            Kind::Request => "request",
        }
    }

    fn short_example(self) -> &'static str {
        match self {
            Kind::Notify => "`notify!(actor, channel(args))`",
            Kind::Query => "`query!(actor, handler(args))`",
            Kind::Request => "`request!(actor, handler(args))`",
        }
    }

    fn star_example(self) -> &'static str {
        match self {
            Kind::Notify => "`notify!(actor with value on channel)`",
            Kind::Query => "`query!(actor 's handler with handler(args))`",
            Kind::Request => "`request!(actor 's handler to handler(args))`",
        }
    }

    /// The word before the Star form's expression.
    fn star_word(self) -> &'static str {
        match self {
            Kind::Notify | Kind::Query => "with",
            Kind::Request => "to",
        }
    }
}

pub(crate) enum SpeechCall {
    /// `actor, name(args..)`
    Short {
        target: Expr,
        name: Ident,
        args: Vec<Expr>,
    },
    /// `actor with value on channel`
    StarNotify {
        target: Expr,
        value: Expr,
        channel: Ident,
    },
    /// `actor 's a 'n b with expr` / `actor 's a to action`
    Star {
        target: Expr,
        selection: Vec<Ident>,
        body: Expr,
    },
}

impl SpeechCall {
    pub(crate) fn parse(kind: Kind, tokens: proc_macro2::TokenStream) -> syn::Result<SpeechCall> {
        let parser = |input: ParseStream<'_>| parse_call(kind, input);
        parser.parse2(tokens)
    }
}

fn parse_call(kind: Kind, input: ParseStream<'_>) -> syn::Result<SpeechCall> {
    if input.is_empty() {
        return Err(input.error(format!(
            "`{}!` needs an actor and a message: {} or {}",
            kind.name(),
            kind.short_example(),
            kind.star_example()
        )));
    }
    let target: Expr = input.parse()?;
    if input.peek(Token![,]) {
        input.parse::<Token![,]>()?;
        return parse_short(kind, target, input);
    }
    let selection = parse_selection(kind, input)?;
    let word: Ident = input.parse().map_err(|e| {
        syn::Error::new(
            e.span(),
            format!(
                "expected `,` for the short form {} or `{}` for Star's form {}",
                kind.short_example(),
                kind.star_word(),
                kind.star_example()
            ),
        )
    })?;
    match (kind, word.to_string().as_str()) {
        (Kind::Notify, "with") | (Kind::Query, "with") | (Kind::Request, "to") => {}
        (Kind::Query, "to") => {
            return Err(syn::Error::new_spanned(
                &word,
                "a query is written with `with`: `query!(actor 's handler with handler(args))`; `to` is for `request!`",
            ))
        }
        (Kind::Request, "with") => {
            return Err(syn::Error::new_spanned(
                &word,
                "a request is written with `to`: `request!(actor 's handler to handler(args))`; `with` is for `query!` and `notify!`",
            ))
        }
        _ => {
            return Err(syn::Error::new_spanned(
                &word,
                format!(
                    "expected `,` for the short form {} or `{}` for Star's form {}",
                    kind.short_example(),
                    kind.star_word(),
                    kind.star_example()
                ),
            ))
        }
    }
    let body: Expr = input.parse()?;
    if kind == Kind::Notify {
        let missing_on =
            "expected `on channel` after the event: `notify!(actor with value on channel)`";
        if input.is_empty() {
            // At the end of the input syn would point at the whole call; point at the
            // event, after which `on` belongs.
            return Err(syn::Error::new_spanned(&body, missing_on));
        }
        let on: Ident = input
            .parse()
            .map_err(|e| syn::Error::new(e.span(), missing_on))?;
        if on != "on" {
            return Err(syn::Error::new_spanned(&on, missing_on));
        }
        let channel: Ident = input
            .parse()
            .map_err(|e| syn::Error::new(e.span(), "expected the channel's name after `on`"))?;
        expect_end(input)?;
        return Ok(SpeechCall::StarNotify {
            target,
            value: body,
            channel,
        });
    }
    expect_end(input)?;
    Ok(SpeechCall::Star {
        target,
        selection,
        body,
    })
}

fn parse_short(kind: Kind, target: Expr, input: ParseStream<'_>) -> syn::Result<SpeechCall> {
    let name: Ident = input.parse().map_err(|e| {
        syn::Error::new(
            e.span(),
            format!(
                "expected the message after the comma: {}",
                kind.short_example()
            ),
        )
    })?;
    if !input.peek(syn::token::Paren) {
        return Err(syn::Error::new_spanned(
            &name,
            format!("write the message as a call, with its arguments in parentheses: `{name}(..)`"),
        ));
    }
    let content;
    syn::parenthesized!(content in input);
    let args = Punctuated::<Expr, Token![,]>::parse_terminated(&content)?;
    if input.peek(Token![,]) {
        input.parse::<Token![,]>()?;
    }
    expect_end(input)?;
    Ok(SpeechCall::Short {
        target,
        name,
        args: args.into_iter().collect(),
    })
}

/// `'s name ('n name)*`, or nothing.
fn parse_selection(kind: Kind, input: ParseStream<'_>) -> syn::Result<Vec<Ident>> {
    let mut selection = Vec::new();
    if !input.peek(syn::Lifetime) {
        return Ok(selection);
    }
    let first: Lifetime = input.parse()?;
    if first.ident != "s" {
        return Err(syn::Error::new_spanned(
            &first,
            "an export selection starts with `'s`: `actor 's handler 'n other`",
        ));
    }
    if kind == Kind::Notify {
        return Err(syn::Error::new_spanned(
            &first,
            "`notify!` has no export selection: write `notify!(actor with value on channel)`",
        ));
    }
    selection.push(parse_selected(input, first.span())?);
    while input.peek(syn::Lifetime) {
        let next: Lifetime = input.parse()?;
        if next.ident != "n" {
            return Err(syn::Error::new_spanned(
                &next,
                "more handlers are joined with `'n`: `actor 's average 'n volume`",
            ));
        }
        selection.push(parse_selected(input, next.span())?);
    }
    Ok(selection)
}

fn parse_selected(input: ParseStream<'_>, after: Span) -> syn::Result<Ident> {
    input
        .parse::<Ident>()
        .map_err(|_| syn::Error::new(after, "expected a handler's name after the quote"))
}

fn expect_end(input: ParseStream<'_>) -> syn::Result<()> {
    if input.is_empty() {
        Ok(())
    } else {
        Err(input.error("unexpected tokens after the speech action"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn short_form() {
        let call = SpeechCall::parse(Kind::Query, quote!(acct, balance(1, x))).expect("parses");
        assert!(
            matches!(call, SpeechCall::Short { name, args, .. } if name == "balance" && args.len() == 2)
        );
    }

    #[test]
    fn star_query_with_selection() {
        let call = SpeechCall::parse(
            Kind::Query,
            quote!(stocker 's average 'n volume with average(a, b) * volume(a, b)),
        )
        .expect("parses");
        let SpeechCall::Star { selection, .. } = call else {
            panic!("Star form expected");
        };
        let names: Vec<String> = selection.iter().map(ToString::to_string).collect();
        assert_eq!(names, ["average", "volume"]);
    }

    #[test]
    fn star_notify() {
        let call = SpeechCall::parse(Kind::Notify, quote!(ping with format!("hi") on ear))
            .expect("parses");
        assert!(matches!(call, SpeechCall::StarNotify { channel, .. } if channel == "ear"));
    }

    #[test]
    fn misplaced_words_say_what_to_write() {
        let message = |kind, tokens| match SpeechCall::parse(kind, tokens) {
            Ok(_) => String::new(),
            Err(error) => error.to_string(),
        };
        assert!(message(Kind::Request, quote!(bank 's f with f())).contains("written with `to`"));
        assert!(message(Kind::Notify, quote!(ping with 1 ear)).contains("expected `on channel`"));
        assert!(message(Kind::Notify, quote!(ping "x" on ear)).contains("expected `,`"));
        assert!(message(Kind::Query, quote!(acct, balance)).contains("`balance(..)`"));
    }
}
