//! Fuzzing the filter and index parsers (proptest): arbitrary text never panics and is
//! either parsed or refused with an error positioned inside the input; filters generated
//! from the grammar always parse; and anything longer or deeper than the bounds is refused.
//! `PROPTEST_CASES` sets the budget (CI runs the default; `tests/fuzz.sh` runs many more).

use edgebase_syntax::index::parse_index;
use edgebase_syntax::query::parse_filter;
use proptest::prelude::*;

/// A path: a field, a relation chain, or a request/collection macro.
fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9_]{0,8}",
        "[a-z]{1,6}\\.[a-z]{1,6}",
        Just("@request.auth.id".to_owned()),
        Just("@request.query.page".to_owned()),
        "@collection\\.[a-z]{1,6}\\.[a-z]{1,6}",
        "[a-z]{1,6}:(lower|length|each|isset)",
    ]
}

fn literal() -> impl Strategy<Value = String> {
    prop_oneof![
        "-?[0-9]{1,6}(\\.[0-9]{1,3})?",
        "'[a-zA-Z0-9 %_]{0,10}'",
        "\"[a-zA-Z0-9 %_]{0,10}\"",
        Just("true".to_owned()),
        Just("false".to_owned()),
        Just("null".to_owned()),
        Just("@now".to_owned()),
        Just("@todayStart".to_owned()),
    ]
}

fn operator() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "=", "!=", ">", ">=", "<", "<=", "~", "!~", "?=", "?!=", "?>", "?>=", "?<", "?<=", "?~",
        "?!~",
    ])
}

fn comparison() -> impl Strategy<Value = String> {
    (
        prop_oneof![path(), literal()],
        operator(),
        prop_oneof![path(), literal()],
    )
        .prop_map(|(left, op, right)| format!("{left} {op} {right}"))
}

/// Comparisons joined by `&&` and `||`, parenthesised, a few levels deep.
fn filter() -> impl Strategy<Value = String> {
    comparison().prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} && {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} || {b}")),
            inner.prop_map(|a| format!("({a})")),
        ]
    })
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(input in "\\PC{0,200}") {
        if let Err(error) = parse_filter(&input) {
            prop_assert!(!error.to_string().is_empty());
        }
    }

    #[test]
    fn filter_like_text_never_panics(input in "[a-z@.:_'\"0-9 ()&|!=<>?~%-]{0,120}") {
        let _ = parse_filter(&input);
    }

    #[test]
    fn generated_filters_parse(input in filter()) {
        let parsed = parse_filter(&input);
        prop_assert!(matches!(parsed, Ok(Some(_))), "{input:?}: {parsed:?}");
    }

    #[test]
    fn a_generated_filter_cut_short_is_refused_or_parsed_without_panic(
        input in filter(),
        cut in 0usize..200,
    ) {
        let end = input.char_indices().nth(cut).map_or(input.len(), |(at, _)| at);
        let _ = parse_filter(&input[..end]);
    }

    #[test]
    fn index_statements_never_panic(input in "\\PC{0,200}") {
        let _ = parse_index(&input);
    }

    #[test]
    fn index_like_statements_never_panic(
        input in "(CREATE )?(UNIQUE )?(INDEX )?[`\"a-z_]{0,12}( ON )?[`\"a-z_]{0,12} ?\\(?[`\"a-z_, ]{0,20}\\)?( WHERE [a-z =0-9']{0,20})?"
    ) {
        let _ = parse_index(&input);
    }
}

#[test]
fn deep_nesting_and_long_filters_are_refused() {
    let deep = format!("{}a = 1{}", "(".repeat(10_000), ")".repeat(10_000));
    assert!(parse_filter(&deep).is_err());
    let long = vec!["a = 1"; 3_000].join(" && ");
    assert!(parse_filter(&long).is_err());
}
