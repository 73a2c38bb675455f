//! Maps rustc error codes (and the few code-less compiler errors) to taxonomy categories.
//!
//! The table follows `ARCHITECTURE.md`: a code's category is the kind of mistake a programmer
//! would fix, not the compiler pass that found it. Codes not listed are `other-compile`.

use crate::taxonomy::Category;

/// The category for a rustc error code like `"E0425"`.
///
/// Anything that is not a known code (a lint name such as `unused_variables` that `-D warnings`
/// turned into an error, an empty string) is `other-compile`.
pub fn category_for_code(code: &str) -> Category {
    use Category::*;
    match code.trim() {
        // A name, path, import or module that does not resolve, or resolves to the wrong kind
        // of item. E0583 (`mod x;` without its file) is here: the module name is unresolved.
        "E0405" | "E0411" | "E0412" | "E0422" | "E0423" | "E0424" | "E0425" | "E0426" | "E0430"
        | "E0431" | "E0432" | "E0433" | "E0434" | "E0404" | "E0531" | "E0532" | "E0573"
        | "E0574" | "E0575" | "E0576" | "E0577" | "E0578" | "E0583" | "E0659" => UnresolvedName,

        // Types that do not agree, and inference that needs an annotation.
        "E0053" | "E0069" | "E0271" | "E0282" | "E0283" | "E0284" | "E0308" | "E0317" | "E0580"
        | "E0604" | "E0605" | "E0606" | "E0607" | "E0620" | "E0631" | "E0689" | "E0790" => {
            TypeMismatch
        }

        // Trait bounds, trait implementations and operators (an operator is a trait call).
        "E0038" | "E0046" | "E0050" | "E0117" | "E0119" | "E0185" | "E0186" | "E0204" | "E0225"
        | "E0275" | "E0276" | "E0277" | "E0323" | "E0324" | "E0325" | "E0369" | "E0407"
        | "E0437" | "E0438" | "E0600" | "E0782" => TraitBound,

        // Calling an API the wrong way: missing methods and fields, wrong argument counts,
        // private items, indexing or dereferencing what does not support it, unstable APIs.
        "E0023" | "E0026" | "E0027" | "E0057" | "E0060" | "E0061" | "E0062" | "E0063" | "E0107"
        | "E0559" | "E0560" | "E0599" | "E0603" | "E0608" | "E0609" | "E0610" | "E0614"
        | "E0615" | "E0616" | "E0618" | "E0624" | "E0658" => ApiMisuse,

        // The borrow checker: moves, conflicting borrows, mutability, values that do not live
        // long enough for a borrow.
        "E0373" | "E0381" | "E0382" | "E0384" | "E0499" | "E0500" | "E0501" | "E0502" | "E0503"
        | "E0505" | "E0506" | "E0507" | "E0508" | "E0509" | "E0510" | "E0515" | "E0524"
        | "E0594" | "E0596" | "E0597" | "E0712" | "E0713" | "E0716" => BorrowOwnership,

        // Lifetime parameters, bounds and elision.
        "E0106" | "E0195" | "E0226" | "E0227" | "E0228" | "E0261" | "E0262" | "E0263" | "E0309"
        | "E0310" | "E0311" | "E0477" | "E0478" | "E0491" | "E0495" | "E0496" | "E0521"
        | "E0581" | "E0582" | "E0621" | "E0623" | "E0637" | "E0700" | "E0726" | "E0759" => Lifetime,

        // Lexer and parser errors that carry a code (most parser errors carry none).
        "E0178" | "E0585" | "E0586" | "E0748" | "E0753" | "E0758" | "E0762" | "E0763" | "E0765"
        | "E0766" | "E0768" => Syntax,

        // A crate the code names but the manifest does not provide.
        "E0463" => Dependency,

        // Two copies of a crate, a crate built by another rustc, a stale artefact: these come
        // from the shared build cache, not from the generated code.
        "E0460" | "E0461" | "E0462" | "E0464" | "E0514" | "E0519" | "E0523" => InfraToolchain,

        _ => OtherCompile,
    }
}

/// The category for a compiler error that has no code.
///
/// Parser errors, the "lifetime may not live long enough" family of borrow-checker errors and
/// linker failures carry no code; everything else without one is `other-compile`.
pub fn category_for_uncoded(message: &str) -> Category {
    const SYNTAX_PREFIXES: [&str; 12] = [
        "expected ",
        "unexpected ",
        "unclosed delimiter",
        "mismatched closing delimiter",
        "this file contains an unclosed delimiter",
        "unterminated ",
        "unknown start of token",
        "missing `",
        "invalid format string",
        "no rules expected",
        "macro expansion ignores",
        "incorrect close delimiter",
    ];
    const LIFETIME_PHRASES: [&str; 4] = [
        "lifetime may not live long enough",
        "borrowed data escapes",
        "captured variable cannot escape",
        "is not general enough",
    ];
    let message = message.trim();
    if SYNTAX_PREFIXES.iter().any(|p| message.starts_with(p)) {
        Category::Syntax
    } else if LIFETIME_PHRASES.iter().any(|p| message.contains(p)) {
        Category::Lifetime
    } else {
        Category::OtherCompile
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Category::*;

    #[test]
    fn codes_named_in_the_design_map_to_their_categories() {
        let cases = [
            ("E0425", UnresolvedName),
            ("E0432", UnresolvedName),
            ("E0433", UnresolvedName),
            ("E0412", UnresolvedName),
            ("E0405", UnresolvedName),
            ("E0422", UnresolvedName),
            ("E0423", UnresolvedName),
            ("E0531", UnresolvedName),
            ("E0574", UnresolvedName),
            ("E0308", TypeMismatch),
            ("E0277", TraitBound),
            ("E0599", ApiMisuse),
            ("E0061", ApiMisuse),
            ("E0609", ApiMisuse),
            ("E0560", ApiMisuse),
            ("E0614", ApiMisuse),
            ("E0618", ApiMisuse),
            ("E0624", ApiMisuse),
            ("E0603", ApiMisuse),
            ("E0616", ApiMisuse),
            ("E0382", BorrowOwnership),
            ("E0499", BorrowOwnership),
            ("E0502", BorrowOwnership),
            ("E0505", BorrowOwnership),
            ("E0506", BorrowOwnership),
            ("E0507", BorrowOwnership),
            ("E0596", BorrowOwnership),
            ("E0597", BorrowOwnership),
            ("E0716", BorrowOwnership),
            ("E0384", BorrowOwnership),
            ("E0106", Lifetime),
            ("E0261", Lifetime),
            ("E0495", Lifetime),
            ("E0621", Lifetime),
            ("E0759", Lifetime),
            ("E0463", Dependency),
            ("E0464", InfraToolchain),
            ("E0514", InfraToolchain),
            ("E0004", OtherCompile),
            ("E0601", OtherCompile),
        ];
        for (code, category) in cases {
            assert_eq!(category_for_code(code), category, "{code}");
        }
    }

    #[test]
    fn unknown_codes_and_lint_names_are_other_compile() {
        for code in ["E9999", "", "unused_variables", "e0425", "E0425x"] {
            assert_eq!(category_for_code(code), OtherCompile, "{code:?}");
        }
    }

    #[test]
    fn codes_tolerate_surrounding_whitespace() {
        assert_eq!(category_for_code(" E0308\n"), TypeMismatch);
    }

    #[test]
    fn uncoded_messages_are_classified_by_their_wording() {
        let cases = [
            (
                "expected one of `.`, `;`, `?`, `else`, or an operator, found `2`",
                Syntax,
            ),
            ("this file contains an unclosed delimiter", Syntax),
            ("unexpected closing delimiter: `}`", Syntax),
            ("mismatched closing delimiter: `)`", Syntax),
            ("expected item, found `let`", Syntax),
            ("lifetime may not live long enough", Lifetime),
            ("borrowed data escapes outside of function", Lifetime),
            ("linking with `cc` failed: exit status: 1", OtherCompile),
            ("`main` function not found in crate `x`", OtherCompile),
        ];
        for (message, category) in cases {
            assert_eq!(category_for_uncoded(message), category, "{message}");
        }
    }
}
