//! A cheap test on a record's stored bytes before its JSON is parsed, for scans filtered by
//! `~` on a text field: `title ~ 'abc'` can only hold when `abc` appears somewhere in the
//! record's bytes (ASCII letters in any case, as SQLite's LIKE folds them). A record without
//! it is skipped unparsed; one with it is parsed and the whole filter decides, so the test
//! only ever skips records the filter would reject.
//!
//! It is sound because of what it looks at: only a top-level AND term (every term must hold),
//! `field ~ 'literal'` or `field ?~ 'literal'` on a text-shaped field of the record itself
//! (not `id`, which is not in the document; not a relation path, whose value lives in
//! another record), and only the pattern's literal runs of printable ASCII other than `"` and
//! `\`, which a JSON string holds byte for byte, unescaped.

use aho_corasick::AhoCorasick;
use edgebase_syntax::query::ast::{CompareKind, Expr, Operand};

use crate::query::plan::{conjuncts, own_field};

use crate::schema::{CollectionSchema, FieldShape};

/// Shorter runs skip too little to pay for the search.
const NEEDLE_CHARS_MIN: usize = 2;

pub(crate) struct RawPrefilter {
    /// Each must occur (ASCII case-insensitively) in a record's bytes.
    needles: Vec<AhoCorasick>,
}

impl RawPrefilter {
    /// The test `filter` allows on `schema`'s records, if any.
    pub(crate) fn for_filter(filter: Option<&Expr>, schema: &CollectionSchema) -> Option<Self> {
        let mut terms = Vec::new();
        conjuncts(filter?, &mut terms);
        let mut needles = Vec::new();
        for term in terms {
            for run in like_runs(term, schema) {
                let needle = AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .build([run.as_bytes()])
                    .ok()?;
                needles.push(needle);
            }
        }
        (!needles.is_empty()).then_some(RawPrefilter { needles })
    }

    /// Whether a record stored as `raw` may match (false: it cannot).
    pub(crate) fn admits(&self, raw: &[u8]) -> bool {
        self.needles.iter().all(|needle| needle.is_match(raw))
    }
}

/// The literal runs a `~` term requires of the record's bytes (none for any other term).
fn like_runs(term: &Expr, schema: &CollectionSchema) -> Vec<String> {
    let Expr::Compare { left, op, right } = term else {
        return Vec::new();
    };
    if op.kind != CompareKind::Like {
        return Vec::new();
    }
    let (Operand::Path(path), Operand::Text(pattern)) = (left, right) else {
        return Vec::new();
    };
    let Some(name) = own_field(path) else {
        return Vec::new();
    };
    if name == "id" || schema.field(name).map(|field| field.shape) != Some(FieldShape::Text) {
        return Vec::new();
    }
    pattern_runs(pattern)
}

/// The runs of a LIKE pattern (as `~` builds it: `%` and `_` are wildcards, `\` escapes the
/// next character) made only of characters a JSON string holds unescaped and ASCII.
fn pattern_runs(pattern: &str) -> Vec<String> {
    let mut runs = Vec::new();
    let mut run = String::new();
    let mut chars = pattern.chars();
    let mut end_run = |run: &mut String| {
        if run.chars().count() >= NEEDLE_CHARS_MIN {
            runs.push(std::mem::take(run));
        } else {
            run.clear();
        }
    };
    while let Some(c) = chars.next() {
        let literal = match c {
            '%' | '_' => None,
            '\\' => chars.next(),
            c => Some(c),
        };
        match literal {
            Some(c) if c.is_ascii() && !c.is_ascii_control() && c != '"' && c != '\\' => {
                run.push(c)
            }
            _ => end_run(&mut run),
        }
    }
    end_run(&mut run);
    runs
}

#[cfg(test)]
mod tests {
    use super::pattern_runs;

    #[test]
    fn runs_of_a_pattern() {
        assert_eq!(pattern_runs("abc"), vec!["abc"]);
        assert_eq!(pattern_runs("ab%cd_e"), vec!["ab", "cd"]);
        assert_eq!(pattern_runs(r"50\%off"), vec!["50%off"]);
        assert_eq!(pattern_runs("say \"hi\" now"), vec!["say ", "hi", " now"]);
        assert_eq!(pattern_runs("café au lait"), vec!["caf", " au lait"]);
        assert_eq!(pattern_runs("a\nbc"), vec!["bc"]);
        assert!(pattern_runs("%_a").is_empty());
    }
}
