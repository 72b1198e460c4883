//! The site registry of Star-form expressions: how a receiver finds the code of
//! an expression a peer names. Today a site is named by its distance from an
//! anchor function ([`star_anchor`]) to its receiving entry (`star::star_entry`),
//! accepted only where the program's own symbol table has such an entry. A
//! registry by stable key, which two different builds share, will replace it
//! here (DESIGN section 6.2).

use std::any::{Any, TypeId};
use std::collections::HashSet;
use std::sync::OnceLock;

use crate::inbound::Incoming;
use crate::speech::SpeechError;
use crate::wire;

/// What the receiver runs for a site: checks that the site is for the receiving actor
/// type and the sender's types, decodes the captures and builds the letter (a
/// `Box<dyn StarCall<A>>`, as `Any` so that all receivers share one type).
pub(crate) type SiteReceiver =
    fn(TypeId, u64, &[u8], &mut Option<Incoming>) -> Result<Box<dyn Any + Send>, SpeechError>;

/// What the distances are measured from.
#[inline(never)]
fn star_anchor() -> u64 {
    // A body of its own, so that no identical function is merged with it.
    0x5354_4147_455f_414e
}

fn anchor_address() -> usize {
    let anchor: fn() -> u64 = star_anchor;
    anchor as usize
}

pub(crate) fn distance(entry: SiteReceiver) -> i64 {
    (entry as usize).wrapping_sub(anchor_address()) as i64
}

/// The entry at `site`, if this program has one there.
pub(crate) fn entry_at(site: i64) -> Result<SiteReceiver, SpeechError> {
    static SITES: OnceLock<Result<HashSet<i64>, String>> = OnceLock::new();
    let sites = SITES.get_or_init(read_sites).as_ref().map_err(|why| {
        wire::wire_error(format_args!(
            "this theatre cannot run Star-form expressions from afar: {why}"
        ))
    })?;
    if !sites.contains(&site) {
        return Err(wire::wire_error(
            "no Star-form expression of this program is at that site: \
             the theatres run different binaries",
        ));
    }
    let address = anchor_address().wrapping_add(site as usize) as *const ();
    // SAFETY: the program's own symbol table puts an instantiation of `star_entry`
    // at this distance from `star_anchor` (`read_sites`), and the loader moves the
    // program as a whole, so `address` is that function, whose type is `SiteReceiver`.
    Ok(unsafe { std::mem::transmute::<*const (), SiteReceiver>(address) })
}

/// Without the `star-sites` feature there is no symbol reader: no site is known.
#[cfg(not(feature = "star-sites"))]
fn read_sites() -> Result<HashSet<i64>, String> {
    Err(
        "stage-runtime was built without its `star-sites` feature (the symbol-table \
         reader that checks where an expression's code lies)"
            .to_owned(),
    )
}

/// The distances from `star_anchor` to every instantiation of `star_entry`, from the
/// program's symbol table.
#[cfg(feature = "star-sites")]
fn read_sites() -> Result<HashSet<i64>, String> {
    use object::{Object, ObjectSymbol, SymbolKind};

    let exe =
        std::env::current_exe().map_err(|e| format!("the program's file cannot be found ({e})"))?;
    let file = std::fs::File::open(&exe)
        .map_err(|e| format!("the program's file {} cannot be read ({e})", exe.display()))?;
    let cache = object::ReadCache::new(file);
    let program = object::File::parse(&cache).map_err(|e| {
        format!(
            "the program's file {} cannot be parsed ({e})",
            exe.display()
        )
    })?;
    let mut anchor = None;
    let mut entries = Vec::new();
    for symbol in program.symbols() {
        if symbol.kind() != SymbolKind::Text {
            continue;
        }
        let Ok(name) = symbol.name() else { continue };
        if !name.contains("star_anchor") && !name.contains("star_entry") {
            continue;
        }
        let path = format!("{:#}", rustc_demangle::demangle(name));
        if path == "stage_runtime::star::sites::star_anchor" {
            anchor = Some(symbol.address());
        } else if is_entry(&path) {
            entries.push(symbol.address());
        }
    }
    let Some(anchor) = anchor else {
        return Err(format!(
            "the symbol table of {} was stripped (keep it: `strip = \"debuginfo\"` or \
             `\"none\"` in the Cargo profile)",
            exe.display()
        ));
    };
    Ok(entries
        .into_iter()
        .map(|entry| entry.wrapping_sub(anchor) as i64)
        .collect())
}

/// Whether a demangled symbol is an instantiation of `star_entry` itself (not a
/// closure or item inside one, whose path goes on after it).
#[cfg(feature = "star-sites")]
fn is_entry(path: &str) -> bool {
    const ENTRY: &str = "stage_runtime::star::star_entry";
    path == ENTRY
        || (path.starts_with(ENTRY)
            && path[ENTRY.len()..].starts_with("::<")
            && path.ends_with('>'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(not(feature = "star-sites"))]
    #[test]
    fn without_the_symbol_reader_every_site_is_refused_with_the_reason() {
        let refused = entry_at(0).map(drop);
        assert!(
            matches!(&refused, Err(error) if error.to_string().contains("`star-sites` feature")),
            "{refused:?}"
        );
    }

    #[cfg(feature = "star-sites")]
    #[test]
    fn an_entry_is_the_function_itself_not_what_lies_inside_it() {
        assert!(is_entry("stage_runtime::star::star_entry"));
        assert!(is_entry(
            "stage_runtime::star::star_entry::<a::B, (), c::D>"
        ));
        assert!(!is_entry(
            "stage_runtime::star::star_entry::<a::B>::{{closure}}"
        ));
        assert!(!is_entry("stage_runtime::star::star_entry_other"));
    }
}
