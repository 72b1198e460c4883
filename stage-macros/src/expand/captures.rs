//! The values a Star-form expression captures from its caller.
//!
//! DESIGN section 3: every free name of the expression other than the export
//! selection is a value moved in from the caller, and serialised when the target is
//! remote. So the macro gathers those names and passes them as one tuple beside a
//! closure that captures nothing: the tuple can be encoded, and the closure's code
//! found again by the receiving theatre (see `stage-runtime`'s `star` module).
//!
//! A name is a capture when it is a lone lowercase identifier used as a value, not
//! bound inside the expression (`let`, closure parameters, `match` arms, `if let`,
//! `while let`, `for`), and not called (`helper(x)` calls a function). A name this
//! misses (one inside a format string, `self`, a called closure) is still captured
//! by the closure itself, as before: the expression then runs locally as written and
//! only refuses to cross the wire, saying why.

use std::collections::HashSet;

use proc_macro2::TokenStream;
use syn::punctuated::Punctuated;
use syn::visit::Visit;
use syn::{Expr, Ident, Pat, Stmt, Token};

/// The names `body` captures, in the order of their first use.
pub(crate) fn captures(body: &Expr, selection: &[Ident]) -> Vec<Ident> {
    let mut finder = Finder {
        selected: selection.iter().map(ToString::to_string).collect(),
        scopes: vec![HashSet::new()],
        seen: HashSet::new(),
        found: Vec::new(),
    };
    finder.visit_expr(body);
    finder.found
}

struct Finder {
    selected: HashSet<String>,
    /// The names bound inside the expression, innermost scope last.
    scopes: Vec<HashSet<String>>,
    seen: HashSet<String>,
    found: Vec<Ident>,
}

impl Finder {
    fn bound(&self, name: &str) -> bool {
        self.scopes.iter().any(|scope| scope.contains(name))
    }

    fn bind(&mut self, pat: &Pat) {
        let mut names = Vec::new();
        bindings(pat, &mut names);
        if let Some(scope) = self.scopes.last_mut() {
            scope.extend(names);
        }
    }

    fn scoped(&mut self, f: impl FnOnce(&mut Self)) {
        self.scopes.push(HashSet::new());
        f(self);
        self.scopes.pop();
    }

    fn name(&mut self, ident: &Ident) {
        let name = ident.to_string();
        let lowercase = name
            .trim_start_matches("r#")
            .starts_with(|c: char| c.is_lowercase() || c == '_');
        if !lowercase
            || name == "self"
            || name == "_"
            || self.selected.contains(&name)
            || self.bound(&name)
            || !self.seen.insert(name)
        {
            return;
        }
        self.found.push(ident.clone());
    }
}

/// The names `pat` binds. A lone uppercase identifier is a constant or a unit
/// variant (`None`), not a binding.
fn bindings(pat: &Pat, out: &mut Vec<String>) {
    match pat {
        Pat::Ident(p) => {
            let name = p.ident.to_string();
            if name.starts_with(|c: char| c.is_lowercase() || c == '_') {
                out.push(name);
            }
            if let Some((_, sub)) = &p.subpat {
                bindings(sub, out);
            }
        }
        Pat::Or(p) => p.cases.iter().for_each(|case| bindings(case, out)),
        Pat::Paren(p) => bindings(&p.pat, out),
        Pat::Reference(p) => bindings(&p.pat, out),
        Pat::Slice(p) => p.elems.iter().for_each(|elem| bindings(elem, out)),
        Pat::Struct(p) => p.fields.iter().for_each(|field| bindings(&field.pat, out)),
        Pat::Tuple(p) => p.elems.iter().for_each(|elem| bindings(elem, out)),
        Pat::TupleStruct(p) => p.elems.iter().for_each(|elem| bindings(elem, out)),
        Pat::Type(p) => bindings(&p.pat, out),
        _ => {}
    }
}

impl<'ast> Visit<'ast> for Finder {
    fn visit_expr_path(&mut self, path: &'ast syn::ExprPath) {
        if path.qself.is_none() {
            if let Some(ident) = path.path.get_ident() {
                self.name(ident);
            }
        }
    }

    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        // `helper(x)` calls a function (or a selected handler): only the arguments
        // can be captures.
        match &*call.func {
            Expr::Path(func) if func.qself.is_none() && func.path.get_ident().is_some() => {}
            func => self.visit_expr(func),
        }
        for arg in &call.args {
            self.visit_expr(arg);
        }
    }

    fn visit_block(&mut self, block: &'ast syn::Block) {
        self.scoped(|this| {
            for stmt in &block.stmts {
                match stmt {
                    Stmt::Local(local) => {
                        if let Some(init) = &local.init {
                            this.visit_expr(&init.expr);
                            if let Some((_, diverge)) = &init.diverge {
                                this.visit_expr(diverge);
                            }
                        }
                        this.bind(&local.pat);
                    }
                    // A nested item's name is bound; its body is its own.
                    Stmt::Item(item) => {
                        if let Some(name) = item_name(item) {
                            if let Some(scope) = this.scopes.last_mut() {
                                scope.insert(name);
                            }
                        }
                    }
                    Stmt::Expr(expr, _) => this.visit_expr(expr),
                    Stmt::Macro(mac) => this.visit_macro(&mac.mac),
                }
            }
        });
    }

    fn visit_expr_closure(&mut self, closure: &'ast syn::ExprClosure) {
        self.scoped(|this| {
            closure.inputs.iter().for_each(|pat| this.bind(pat));
            this.visit_expr(&closure.body);
        });
    }

    fn visit_expr_match(&mut self, expr: &'ast syn::ExprMatch) {
        self.visit_expr(&expr.expr);
        for arm in &expr.arms {
            self.scoped(|this| {
                this.bind(&arm.pat);
                if let Some((_, guard)) = &arm.guard {
                    this.visit_expr(guard);
                }
                this.visit_expr(&arm.body);
            });
        }
    }

    fn visit_expr_if(&mut self, expr: &'ast syn::ExprIf) {
        // `if let` binds in the condition (and a `&&` chain after it) and the block.
        self.scoped(|this| {
            this.visit_expr(&expr.cond);
            this.visit_block(&expr.then_branch);
        });
        if let Some((_, otherwise)) = &expr.else_branch {
            self.visit_expr(otherwise);
        }
    }

    fn visit_expr_while(&mut self, expr: &'ast syn::ExprWhile) {
        self.scoped(|this| {
            this.visit_expr(&expr.cond);
            this.visit_block(&expr.body);
        });
    }

    fn visit_expr_let(&mut self, expr: &'ast syn::ExprLet) {
        self.visit_expr(&expr.expr);
        self.bind(&expr.pat);
    }

    fn visit_expr_for_loop(&mut self, expr: &'ast syn::ExprForLoop) {
        self.visit_expr(&expr.expr);
        self.scoped(|this| {
            this.bind(&expr.pat);
            this.visit_block(&expr.body);
        });
    }

    /// Macros such as `format!` and `vec!` take comma-separated expressions; their
    /// names are found as in the expression, and so are the names a format string
    /// uses (`"{note}"`). Other macros' tokens are not read.
    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        let parser = Punctuated::<Expr, Token![,]>::parse_terminated;
        let Ok(args) = syn::parse::Parser::parse2(parser, mac.tokens.clone()) else {
            return;
        };
        for arg in &args {
            match arg {
                Expr::Assign(assign) => self.visit_expr(&assign.right),
                arg => self.visit_expr(arg),
            }
        }
        // `name = value` arguments name values of the macro's own.
        let named: HashSet<String> = args
            .iter()
            .filter_map(|arg| match arg {
                Expr::Assign(assign) => match &*assign.left {
                    Expr::Path(path) => path.path.get_ident().map(ToString::to_string),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        let format = args.iter().find_map(|arg| match arg {
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(format),
                ..
            }) => Some(format),
            _ => None,
        });
        if let Some(format) = format {
            for name in format_names(&format.value()) {
                if !named.contains(&name) {
                    self.name(&Ident::new(&name, format.span()));
                }
            }
        }
    }

    // Types, generic arguments and struct literals' field names hold no values.
    fn visit_type(&mut self, _: &'ast syn::Type) {}

    fn visit_member(&mut self, _: &'ast syn::Member) {}
}

/// The names a format string uses inline: `"{note} {n:>4} {{x}} {0}"` uses `note`
/// and `n`.
fn format_names(format: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = format;
    while let Some(open) = rest.find('{') {
        rest = &rest[open + 1..];
        if let Some(after) = rest.strip_prefix('{') {
            rest = after;
            continue;
        }
        let end = rest.find(['}', ':']).unwrap_or(rest.len());
        let name = rest[..end].trim();
        let is_name = name.starts_with(|c: char| c.is_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_alphanumeric() || c == '_');
        if is_name {
            names.push(name.to_owned());
        }
        rest = &rest[end..];
    }
    names
}

fn item_name(item: &syn::Item) -> Option<String> {
    let ident = match item {
        syn::Item::Const(i) => &i.ident,
        syn::Item::Fn(i) => &i.sig.ident,
        syn::Item::Static(i) => &i.ident,
        syn::Item::Struct(i) => &i.ident,
        syn::Item::Enum(i) => &i.ident,
        _ => return None,
    };
    Some(ident.to_string())
}

/// `(a, b,)`: the captured names as a tuple expression.
pub(crate) fn tuple(names: &[Ident]) -> TokenStream {
    quote::quote!((#(#names,)*))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(expr: &str, selection: &[&str]) -> Vec<String> {
        let body: Expr = syn::parse_str(expr).unwrap();
        let selection: Vec<Ident> = selection
            .iter()
            .map(|s| Ident::new(s, proc_macro2::Span::call_site()))
            .collect();
        captures(&body, &selection)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn free_names_are_captures_and_selected_calls_are_not() {
        assert_eq!(
            found("average(a, b) * volume(a, k)", &["average", "volume"]),
            ["a", "b", "k"]
        );
        assert_eq!(
            found("set(current() * rate / 100)", &["set", "current"]),
            ["rate"]
        );
    }

    #[test]
    fn names_bound_inside_are_not_captures() {
        assert_eq!(found("{ let t = k * 2; t + j }", &[]), ["k", "j"]);
        assert_eq!(
            found("xs.iter().map(|x| x * k).sum::<u64>()", &[]),
            ["xs", "k"]
        );
        assert_eq!(
            found("match v { Some(n) => n + k, None => z }", &[]),
            ["v", "k", "z"]
        );
        assert_eq!(
            found("if let Some(n) = v { n } else { n2 }", &[]),
            ["v", "n2"]
        );
        assert_eq!(
            found("for i in 0..n { total(i, s) }", &["total"]),
            ["n", "s"]
        );
        assert_eq!(found("{ let k = k + 1; k }", &[]), ["k"]);
    }

    #[test]
    fn functions_constants_paths_and_fields_are_not_captures() {
        assert_eq!(found("helper(k) + MAX + std::u8::MAX as u64", &[]), ["k"]);
        assert_eq!(found("p.x + Point { x: q, y }.y", &[]), ["p", "q", "y"]);
        assert_eq!(found("format!(\"{}\", k) + &self.name", &[]), ["k"]);
    }

    #[test]
    fn names_inside_format_strings_are_captures() {
        assert_eq!(
            found(
                "format!(\"{note} {n:>4} {{x}} {0} {w}\", owner(), w = 1)",
                &["owner"]
            ),
            ["note", "n"]
        );
        assert_eq!(format_names("{a}{{b}}{c:?}{ d }{}{1}"), ["a", "c", "d"]);
    }
}
