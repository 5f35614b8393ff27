//! Parsing PocketBase's filter language into [`Expr`]: comparisons (`=`, `!=`, `>`, `>=`,
//! `<`, `<=`, `~`, `!~` and their any-of `?` forms) joined by `&&` (binding tighter) and
//! `||`, with parentheses, literals, paths, modifiers, datetime macros and functions.
//! Every input is bounded: length, nesting depth, number of comparisons and arguments.

use crate::query::ast::{
    CompareKind, CompareOp, DateMacro, Expr, Function, Modifier, Operand, Path, PathRoot,
};
use crate::query::error::FilterError;
use crate::query::lexer::{tokenize, Spanned, Token};

/// Longest filter accepted, in characters.
pub const FILTER_LENGTH_MAX: usize = 10_000;
/// Deepest parenthesis nesting accepted.
pub const NESTING_DEPTH_MAX: usize = 32;
/// Most comparisons in one filter.
pub const COMPARISONS_MAX: usize = 500;
/// Most arguments of one function call.
const ARGUMENTS_MAX: usize = 8;

/// Parse a filter. An empty (or comment-only) filter is `None`: it matches everything. A
/// placeholder (`{:name}`) is refused: only server-side code binds values.
pub fn parse_filter(input: &str) -> Result<Option<Expr>, FilterError> {
    parse(input, None)
}

/// What a placeholder `{:name}` stands for, given its name (`None`: no such value).
pub type Binder<'a> = &'a dyn Fn(&str) -> Option<Operand>;

/// Parse a filter whose placeholders (`{:name}`) take the values `bind` gives them, as
/// PocketBase's server-side finds do: a bound value is a literal, never filter syntax.
pub fn parse_filter_with_params(
    input: &str,
    bind: Binder<'_>,
) -> Result<Option<Expr>, FilterError> {
    parse(input, Some(bind))
}

fn parse(input: &str, bind: Option<Binder<'_>>) -> Result<Option<Expr>, FilterError> {
    let length = input.chars().count();
    if length > FILTER_LENGTH_MAX {
        return Err(FilterError::at(
            FILTER_LENGTH_MAX,
            format!("the filter is longer than {FILTER_LENGTH_MAX} characters"),
        ));
    }
    let tokens = tokenize(input)?;
    if tokens.is_empty() {
        return Ok(None);
    }
    let mut parser = Parser {
        tokens,
        next: 0,
        end: length,
        comparisons: 0,
        bind,
    };
    let expr = parser.or_expr(0)?;
    match parser.peek() {
        None => Ok(Some(expr)),
        Some(extra) => Err(FilterError::at(
            extra.position,
            "unexpected token after the end of the expression",
        )),
    }
}

struct Parser<'a> {
    tokens: Vec<Spanned>,
    next: usize,
    end: usize,
    comparisons: usize,
    bind: Option<Binder<'a>>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Spanned> {
        self.tokens.get(self.next)
    }

    fn bump(&mut self) -> Option<Spanned> {
        let token = self.tokens.get(self.next).cloned();
        self.next += 1;
        token
    }

    fn position(&self) -> usize {
        self.peek().map_or(self.end, |token| token.position)
    }

    fn or_expr(&mut self, depth: usize) -> Result<Expr, FilterError> {
        let mut left = self.and_expr(depth)?;
        while matches!(
            self.peek(),
            Some(Spanned {
                token: Token::Or,
                ..
            })
        ) {
            self.bump();
            let right = self.and_expr(depth)?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self, depth: usize) -> Result<Expr, FilterError> {
        let mut left = self.primary(depth)?;
        while matches!(
            self.peek(),
            Some(Spanned {
                token: Token::And,
                ..
            })
        ) {
            self.bump();
            let right = self.primary(depth)?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn primary(&mut self, depth: usize) -> Result<Expr, FilterError> {
        if matches!(
            self.peek(),
            Some(Spanned {
                token: Token::OpenParen,
                ..
            })
        ) {
            let open = self.bump().map_or(self.end, |token| token.position);
            if depth + 1 > NESTING_DEPTH_MAX {
                return Err(FilterError::at(
                    open,
                    format!("parentheses nest deeper than {NESTING_DEPTH_MAX}"),
                ));
            }
            let inner = self.or_expr(depth + 1)?;
            return match self.bump() {
                Some(Spanned {
                    token: Token::CloseParen,
                    ..
                }) => Ok(inner),
                _ => Err(FilterError::at(open, "unclosed parenthesis")),
            };
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, FilterError> {
        self.comparisons += 1;
        if self.comparisons > COMPARISONS_MAX {
            return Err(FilterError::at(
                self.position(),
                format!("more than {COMPARISONS_MAX} comparisons"),
            ));
        }
        let left = self.operand()?;
        let position = self.position();
        let op = match self.bump() {
            Some(Spanned {
                token: Token::Operator(symbol),
                ..
            }) => compare_op(symbol),
            _ => return Err(FilterError::at(position, "expected a comparison operator")),
        };
        let right = self.operand()?;
        Ok(Expr::Compare { left, op, right })
    }

    fn operand(&mut self) -> Result<Operand, FilterError> {
        let position = self.position();
        match self.bump() {
            Some(Spanned {
                token: Token::Text(text),
                ..
            }) => Ok(Operand::Text(text)),
            Some(Spanned {
                token: Token::Number(number),
                ..
            }) => Ok(Operand::Number(number)),
            Some(Spanned {
                token: Token::Param(name),
                ..
            }) => match self.bind {
                None => Err(FilterError::at(
                    position,
                    "placeholders ({:name}) are only allowed in server-side filters",
                )),
                Some(bind) => bind(&name).ok_or_else(|| {
                    FilterError::at(position, format!("no value given for {{:{name}}}"))
                }),
            },
            Some(Spanned {
                token: Token::Identifier(name),
                ..
            }) => {
                if matches!(
                    self.peek(),
                    Some(Spanned {
                        token: Token::OpenParen,
                        ..
                    })
                ) {
                    self.call(&name, position)
                } else {
                    identifier(&name, position)
                }
            }
            _ => Err(FilterError::at(position, "expected a value or a field")),
        }
    }

    fn call(&mut self, name: &str, position: usize) -> Result<Operand, FilterError> {
        let function = match name {
            "geoDistance" => Function::GeoDistance,
            "strftime" => Function::Strftime,
            other => {
                return Err(FilterError::at(
                    position,
                    format!("unknown function {other:?}"),
                ))
            }
        };
        self.bump(); // (
        let mut args = Vec::new();
        if matches!(
            self.peek(),
            Some(Spanned {
                token: Token::CloseParen,
                ..
            })
        ) {
            self.bump();
        } else {
            loop {
                if args.len() == ARGUMENTS_MAX {
                    return Err(FilterError::at(self.position(), "too many arguments"));
                }
                args.push(self.operand()?);
                let at = self.position();
                match self.bump() {
                    Some(Spanned {
                        token: Token::Comma,
                        ..
                    }) => {}
                    Some(Spanned {
                        token: Token::CloseParen,
                        ..
                    }) => break,
                    _ => return Err(FilterError::at(at, "expected ',' or ')'")),
                }
            }
        }
        let arity_ok = match function {
            Function::GeoDistance => args.len() == 4,
            Function::Strftime => (2..=ARGUMENTS_MAX).contains(&args.len()),
        };
        if !arity_ok {
            return Err(FilterError::at(
                position,
                format!("wrong number of arguments to {name}"),
            ));
        }
        Ok(Operand::Call { function, args })
    }
}

fn compare_op(symbol: &str) -> CompareOp {
    let any_of = symbol.starts_with('?');
    let kind = match symbol.trim_start_matches('?') {
        "=" => CompareKind::Eq,
        "!=" => CompareKind::NotEq,
        ">" => CompareKind::Greater,
        ">=" => CompareKind::GreaterOrEq,
        "<" => CompareKind::Less,
        "<=" => CompareKind::LessOrEq,
        "~" => CompareKind::Like,
        _ => CompareKind::NotLike,
    };
    CompareOp { kind, any_of }
}

fn date_macro(name: &str) -> Option<DateMacro> {
    Some(match name {
        "@now" => DateMacro::Now,
        "@yesterday" => DateMacro::Yesterday,
        "@tomorrow" => DateMacro::Tomorrow,
        "@second" => DateMacro::Second,
        "@minute" => DateMacro::Minute,
        "@hour" => DateMacro::Hour,
        "@weekday" => DateMacro::Weekday,
        "@day" => DateMacro::Day,
        "@month" => DateMacro::Month,
        "@year" => DateMacro::Year,
        "@todayStart" => DateMacro::TodayStart,
        "@todayEnd" => DateMacro::TodayEnd,
        "@monthStart" => DateMacro::MonthStart,
        "@monthEnd" => DateMacro::MonthEnd,
        "@yearStart" => DateMacro::YearStart,
        "@yearEnd" => DateMacro::YearEnd,
        _ => return None,
    })
}

fn modifier(name: &str) -> Option<Modifier> {
    Some(match name {
        "isset" => Modifier::IsSet,
        "changed" => Modifier::Changed,
        "length" => Modifier::Length,
        "each" => Modifier::Each,
        "lower" => Modifier::Lower,
        _ => return None,
    })
}

/// A bare word: a literal keyword, a macro, or a path with an optional modifier.
fn identifier(text: &str, position: usize) -> Result<Operand, FilterError> {
    match text {
        "true" => return Ok(Operand::Bool(true)),
        "false" => return Ok(Operand::Bool(false)),
        "null" => return Ok(Operand::Null),
        _ => {}
    }
    if let Some(found) = date_macro(text) {
        return Ok(Operand::Macro(found));
    }
    let (body, modifier) = match text.rsplit_once(':') {
        Some((body, suffix)) if modifier(suffix).is_some() => (body, modifier(suffix)),
        _ => (text, None),
    };
    let invalid = || FilterError::at(position, format!("invalid field or macro {text:?}"));
    let mut parts = body.split('.');
    let (root, rest): (PathRoot, Vec<&str>) = if body.starts_with('@') {
        match (parts.next(), parts.next()) {
            (Some("@request"), Some(part)) => {
                let root = match part {
                    "auth" => PathRoot::RequestAuth,
                    "body" => PathRoot::RequestBody,
                    "query" => PathRoot::RequestQuery,
                    "headers" => PathRoot::RequestHeaders,
                    "method" => PathRoot::RequestMethod,
                    "context" => PathRoot::RequestContext,
                    _ => return Err(invalid()),
                };
                (root, parts.collect())
            }
            (Some("@collection"), Some(part)) => {
                let (name, alias) = match part.split_once(':') {
                    Some((name, alias)) => (name, Some(alias.to_string())),
                    None => (part, None),
                };
                if !is_name(name) || alias.as_deref().is_some_and(|alias| !is_name(alias)) {
                    return Err(invalid());
                }
                let rest: Vec<&str> = parts.collect();
                if rest.is_empty() {
                    return Err(invalid());
                }
                (
                    PathRoot::Collection {
                        name: name.to_string(),
                        alias,
                    },
                    rest,
                )
            }
            _ => return Err(invalid()),
        }
    } else {
        (PathRoot::Record, parts.collect())
    };
    let needs_segments = !matches!(root, PathRoot::RequestMethod | PathRoot::RequestContext);
    if (needs_segments && rest.is_empty()) || (!needs_segments && !rest.is_empty()) {
        return Err(invalid());
    }
    if !rest.iter().all(|segment| is_name(segment)) {
        return Err(invalid());
    }
    Ok(Operand::Path(Path {
        root,
        segments: rest.into_iter().map(String::from).collect(),
        modifier,
    }))
}

fn is_name(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(root: PathRoot, segments: &[&str], modifier: Option<Modifier>) -> Operand {
        Operand::Path(Path {
            root,
            segments: segments.iter().map(|s| s.to_string()).collect(),
            modifier,
        })
    }

    fn compare(left: Operand, kind: CompareKind, any_of: bool, right: Operand) -> Expr {
        Expr::Compare {
            left,
            op: CompareOp { kind, any_of },
            right,
        }
    }

    #[test]
    fn placeholders_bind_literals_on_the_server_only() {
        let bind = |name: &str| match name {
            "title" => Some(Operand::Text("it's \\ 'quoted' || x = 1".into())),
            "n" => Some(Operand::Number(3.0)),
            _ => None,
        };
        let parsed = parse_filter_with_params("title = {:title} && n > {:n}", &bind)
            .expect("parses")
            .expect("a filter");
        let record = |name: &str| path(PathRoot::Record, &[name], None);
        assert_eq!(
            parsed,
            Expr::And(
                Box::new(compare(
                    record("title"),
                    CompareKind::Eq,
                    false,
                    Operand::Text("it's \\ 'quoted' || x = 1".into())
                )),
                Box::new(compare(
                    record("n"),
                    CompareKind::Greater,
                    false,
                    Operand::Number(3.0)
                )),
            )
        );
        assert!(parse_filter_with_params("title = {:missing}", &bind).is_err());
        assert!(parse_filter_with_params("title = {:}", &bind).is_err());
        assert!(parse_filter_with_params("title = {:title", &bind).is_err());
        assert!(parse_filter("title = {:title}").is_err());
    }

    #[test]
    fn parses_pocketbase_filters() {
        let record = |segments: &[&str]| path(PathRoot::Record, segments, None);
        let cases: Vec<(&str, Expr)> = vec![
            (
                "title = 'x'",
                compare(
                    record(&["title"]),
                    CompareKind::Eq,
                    false,
                    Operand::Text("x".into()),
                ),
            ),
            (
                "views >= 10",
                compare(
                    record(&["views"]),
                    CompareKind::GreaterOrEq,
                    false,
                    Operand::Number(10.0),
                ),
            ),
            (
                "tags ?~ \"a\"",
                compare(
                    record(&["tags"]),
                    CompareKind::Like,
                    true,
                    Operand::Text("a".into()),
                ),
            ),
            (
                "author.name != null",
                compare(
                    record(&["author", "name"]),
                    CompareKind::NotEq,
                    false,
                    Operand::Null,
                ),
            ),
            (
                "comments_via_post.message ?!~ 'spam'",
                compare(
                    record(&["comments_via_post", "message"]),
                    CompareKind::NotLike,
                    true,
                    Operand::Text("spam".into()),
                ),
            ),
            (
                "owner = @request.auth.id",
                compare(
                    record(&["owner"]),
                    CompareKind::Eq,
                    false,
                    path(PathRoot::RequestAuth, &["id"], None),
                ),
            ),
            (
                "@request.body.title:isset = false",
                compare(
                    path(PathRoot::RequestBody, &["title"], Some(Modifier::IsSet)),
                    CompareKind::Eq,
                    false,
                    Operand::Bool(false),
                ),
            ),
            (
                "@request.method = 'GET'",
                compare(
                    path(PathRoot::RequestMethod, &[], None),
                    CompareKind::Eq,
                    false,
                    Operand::Text("GET".into()),
                ),
            ),
            (
                "created > @todayStart",
                compare(
                    record(&["created"]),
                    CompareKind::Greater,
                    false,
                    Operand::Macro(DateMacro::TodayStart),
                ),
            ),
            (
                "@collection.posts:p.author ?= id",
                compare(
                    path(
                        PathRoot::Collection {
                            name: "posts".into(),
                            alias: Some("p".into()),
                        },
                        &["author"],
                        None,
                    ),
                    CompareKind::Eq,
                    true,
                    record(&["id"]),
                ),
            ),
            (
                "tags:length > 2",
                compare(
                    path(PathRoot::Record, &["tags"], Some(Modifier::Length)),
                    CompareKind::Greater,
                    false,
                    Operand::Number(2.0),
                ),
            ),
            (
                "geoDistance(lon, lat, 1.5, -2) < 25",
                compare(
                    Operand::Call {
                        function: Function::GeoDistance,
                        args: vec![
                            record(&["lon"]),
                            record(&["lat"]),
                            Operand::Number(1.5),
                            Operand::Number(-2.0),
                        ],
                    },
                    CompareKind::Less,
                    false,
                    Operand::Number(25.0),
                ),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_filter(input), Ok(Some(expected)), "{input}");
        }
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let a = || {
            compare(
                path(PathRoot::Record, &["a"], None),
                CompareKind::Eq,
                false,
                Operand::Number(1.0),
            )
        };
        let expected = Expr::Or(
            Box::new(a()),
            Box::new(Expr::And(Box::new(a()), Box::new(a()))),
        );
        assert_eq!(
            parse_filter("a = 1 || a = 1 && a = 1"),
            Ok(Some(expected.clone()))
        );
        assert_eq!(
            parse_filter("(a = 1) || ((a = 1) && a = 1) // trailing note"),
            Ok(Some(expected))
        );
        assert_eq!(parse_filter("  // nothing "), Ok(None));
    }

    #[test]
    fn rejects_bad_filters_with_a_position() {
        for (input, position) in [
            ("title =", 7),
            ("= 1", 0),
            ("(a = 1", 0),
            ("a = 1)", 5),
            ("a = 1 &&", 8),
            ("a == 1", 3),
            ("@request.nope = 1", 0),
            ("@collection.posts = 1", 0),
            ("unknownFn(1) = 1", 0),
            ("geoDistance(1) = 1", 0),
            ("a..b = 1", 0),
        ] {
            let error = parse_filter(input).expect_err(input);
            assert_eq!(error.position, position, "{input}: {error}");
        }
    }

    #[test]
    fn bombs_are_bounded() {
        let deep = format!(
            "{}a = 1{}",
            "(".repeat(NESTING_DEPTH_MAX + 1),
            ")".repeat(NESTING_DEPTH_MAX + 1)
        );
        assert!(parse_filter(&deep).is_err());
        let ok_depth = format!(
            "{}a = 1{}",
            "(".repeat(NESTING_DEPTH_MAX),
            ")".repeat(NESTING_DEPTH_MAX)
        );
        assert!(parse_filter(&ok_depth).is_ok());
        let wide = vec!["a = 1"; COMPARISONS_MAX + 1].join(" || ");
        assert!(parse_filter(&wide).is_err());
        assert!(parse_filter(&"a".repeat(FILTER_LENGTH_MAX + 1)).is_err());
    }
}
