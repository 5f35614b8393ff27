//! Parsing PocketBase's index statements:
//! `CREATE [UNIQUE] INDEX [IF NOT EXISTS] name ON table (col [COLLATE c] [ASC|DESC], ...)
//! [WHERE condition]`, with any of SQLite's identifier quotes and case-insensitive keywords.

use crate::index::error::IndexError;

/// Longest index statement accepted, in bytes.
pub const INDEX_SQL_BYTES_MAX: usize = 4_096;
/// Most columns in one index.
pub const INDEX_COLUMNS_MAX: usize = 16;

/// How a text column compares inside an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collation {
    /// Byte order (SQLite's default).
    Binary,
    /// ASCII letters folded to lower case (SQLite's NOCASE folds nothing else).
    NoCase,
}

/// Which way a column sorts inside an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Ascending,
    Descending,
}

/// One column of an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexColumn {
    pub name: String,
    pub collation: Collation,
    pub direction: Direction,
}

/// A parsed index statement. `condition` is the raw SQL of the `WHERE` clause, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexDefinition {
    pub name: String,
    pub unique: bool,
    pub table: String,
    pub columns: Vec<IndexColumn>,
    pub condition: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// A bare word (keyword or name).
    Word(String),
    /// A quoted name (`"x"`, `` `x` ``, `[x]`, `'x'`).
    Quoted(String),
    Open,
    Close,
    Comma,
    Dot,
}

/// Parse one index statement.
pub fn parse_index(sql: &str) -> Result<IndexDefinition, IndexError> {
    if sql.len() > INDEX_SQL_BYTES_MAX {
        return Err(IndexError::Syntax(format!(
            "longer than {INDEX_SQL_BYTES_MAX} bytes"
        )));
    }
    let (tokens, where_at) = tokenize(sql)?;
    let mut cursor = Cursor { tokens, next: 0 };
    cursor.keyword("CREATE")?;
    let unique = cursor.eat_keyword("UNIQUE");
    cursor.keyword("INDEX")?;
    if cursor.eat_keyword("IF") {
        cursor.keyword("NOT")?;
        cursor.keyword("EXISTS")?;
    }
    let mut name = cursor.name("the index name")?;
    if cursor.eat(&Token::Dot) {
        // `schema.name`: the schema part is ignored, as there is only one.
        name = cursor.name("the index name")?;
    }
    cursor.keyword("ON")?;
    let table = cursor.name("the table name")?;
    if !cursor.eat(&Token::Open) {
        return Err(IndexError::Syntax("expected ( after the table name".into()));
    }
    let mut columns = Vec::new();
    loop {
        let column_name = cursor.name("a column name")?;
        if cursor.peek() == Some(&Token::Open) {
            return Err(IndexError::Expression { index: name });
        }
        let mut collation = Collation::Binary;
        if cursor.eat_keyword("COLLATE") {
            let collation_name = cursor.name("a collation name")?;
            collation = match collation_name.to_ascii_uppercase().as_str() {
                "BINARY" => Collation::Binary,
                "NOCASE" => Collation::NoCase,
                _ => {
                    return Err(IndexError::Collation {
                        index: name,
                        collation: collation_name,
                    })
                }
            };
        }
        let direction = if cursor.eat_keyword("DESC") {
            Direction::Descending
        } else {
            cursor.eat_keyword("ASC");
            Direction::Ascending
        };
        columns.push(IndexColumn {
            name: column_name,
            collation,
            direction,
        });
        if columns.len() > INDEX_COLUMNS_MAX {
            return Err(IndexError::TooManyColumns {
                index: name,
                max: INDEX_COLUMNS_MAX,
            });
        }
        if cursor.eat(&Token::Comma) {
            continue;
        }
        if cursor.eat(&Token::Close) {
            break;
        }
        return Err(match cursor.peek() {
            Some(Token::Word(_) | Token::Quoted(_) | Token::Dot) => {
                IndexError::Expression { index: name }
            }
            _ => IndexError::Syntax("expected , or ) after a column".into()),
        });
    }
    let condition = match where_at {
        Some(at) if cursor.next == cursor.tokens.len() => {
            let condition = sql[at..].trim();
            if condition.is_empty() {
                return Err(IndexError::Syntax("empty WHERE clause".into()));
            }
            Some(condition.to_owned())
        }
        _ => {
            if cursor.next != cursor.tokens.len() {
                return Err(IndexError::Syntax(
                    "unexpected text after the columns".into(),
                ));
            }
            None
        }
    };
    Ok(IndexDefinition {
        name,
        unique,
        table,
        columns,
        condition,
    })
}

struct Cursor {
    tokens: Vec<Token>,
    next: usize,
}

impl Cursor {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next)
    }

    fn eat(&mut self, token: &Token) -> bool {
        if self.peek() == Some(token) {
            self.next += 1;
            return true;
        }
        false
    }

    fn eat_keyword(&mut self, keyword: &str) -> bool {
        match self.peek() {
            Some(Token::Word(word)) if word.eq_ignore_ascii_case(keyword) => {
                self.next += 1;
                true
            }
            _ => false,
        }
    }

    fn keyword(&mut self, keyword: &str) -> Result<(), IndexError> {
        if self.eat_keyword(keyword) {
            return Ok(());
        }
        Err(IndexError::Syntax(format!("expected {keyword}")))
    }

    fn name(&mut self, what: &str) -> Result<String, IndexError> {
        match self.peek() {
            Some(Token::Word(word) | Token::Quoted(word)) if !word.is_empty() => {
                let word = word.clone();
                self.next += 1;
                Ok(word)
            }
            _ => Err(IndexError::Syntax(format!("expected {what}"))),
        }
    }
}

/// Tokens up to a top-level `WHERE` keyword, and the byte offset just after it.
fn tokenize(sql: &str) -> Result<(Vec<Token>, Option<usize>), IndexError> {
    let mut tokens = Vec::new();
    let mut chars = sql.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '(' => tokens.push(Token::Open),
            ')' => tokens.push(Token::Close),
            ',' => tokens.push(Token::Comma),
            '.' => tokens.push(Token::Dot),
            ';' => {
                if chars.all(|(_, rest)| rest.is_whitespace()) {
                    break;
                }
                return Err(IndexError::Syntax("text after ;".into()));
            }
            '"' | '`' | '\'' | '[' => {
                let close = if c == '[' { ']' } else { c };
                let mut name = String::new();
                let mut closed = false;
                while let Some((_, inner)) = chars.next() {
                    if inner == close {
                        // A doubled quote stands for itself (not inside brackets).
                        if close != ']' && chars.peek().map(|(_, next)| *next) == Some(close) {
                            chars.next();
                            name.push(close);
                            continue;
                        }
                        closed = true;
                        break;
                    }
                    name.push(inner);
                }
                if !closed {
                    return Err(IndexError::Syntax("unterminated quoted name".into()));
                }
                tokens.push(Token::Quoted(name));
            }
            c if c.is_alphanumeric() || c == '_' => {
                let mut word = String::from(c);
                let mut end = at + c.len_utf8();
                while let Some((next_at, next)) = chars.peek().copied() {
                    if next.is_alphanumeric() || next == '_' || next == '$' {
                        word.push(next);
                        chars.next();
                        end = next_at + next.len_utf8();
                    } else {
                        break;
                    }
                }
                if word.eq_ignore_ascii_case("WHERE") {
                    return Ok((tokens, Some(end)));
                }
                tokens.push(Token::Word(word));
            }
            other => {
                return Err(IndexError::Syntax(format!(
                    "unexpected character {other:?}"
                )));
            }
        }
    }
    Ok((tokens, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, collation: Collation, direction: Direction) -> IndexColumn {
        IndexColumn {
            name: name.into(),
            collation,
            direction,
        }
    }

    #[test]
    fn parses_pocketbase_index_statements() {
        use Collation::*;
        use Direction::*;
        let check = |sql: &str, expected: Result<IndexDefinition, IndexError>| {
            assert_eq!(parse_index(sql), expected, "{sql}");
        };
        let definition =
            |name: &str, unique: bool, columns: Vec<IndexColumn>, condition: Option<&str>| {
                Ok(IndexDefinition {
                    name: name.into(),
                    unique,
                    table: "posts".into(),
                    columns,
                    condition: condition.map(str::to_owned),
                })
            };
        check(
            "CREATE UNIQUE INDEX `idx_a` ON `posts` (`slug`)",
            definition("idx_a", true, vec![column("slug", Binary, Ascending)], None),
        );
        check(
            "create index if not exists \"idx_b\" on [posts] (a, b COLLATE nocase, c DESC)",
            definition(
                "idx_b",
                false,
                vec![
                    column("a", Binary, Ascending),
                    column("b", NoCase, Ascending),
                    column("c", Binary, Descending),
                ],
                None,
            ),
        );
        check(
            "CREATE INDEX idx_c ON posts (n ASC) WHERE n > 3 AND slug != ''",
            definition(
                "idx_c",
                false,
                vec![column("n", Binary, Ascending)],
                Some("n > 3 AND slug != ''"),
            ),
        );
        check(
            "CREATE INDEX main.idx_d ON posts (a);",
            definition("idx_d", false, vec![column("a", Binary, Ascending)], None),
        );
        check(
            "CREATE INDEX idx_e ON posts (lower(a))",
            Err(IndexError::Expression {
                index: "idx_e".into(),
            }),
        );
        check(
            "CREATE INDEX idx_f ON posts (a COLLATE rtrim)",
            Err(IndexError::Collation {
                index: "idx_f".into(),
                collation: "rtrim".into(),
            }),
        );
        check("garbage", Err(IndexError::Syntax("expected CREATE".into())));
        check(
            "CREATE INDEX idx_g ON posts a",
            Err(IndexError::Syntax("expected ( after the table name".into())),
        );
        check(
            "CREATE INDEX idx_h ON posts (a",
            Err(IndexError::Syntax("expected , or ) after a column".into())),
        );
        check(
            "CREATE INDEX idx_i ON posts (a) WHERE",
            Err(IndexError::Syntax("empty WHERE clause".into())),
        );
        check(
            "CREATE TABLE x (a)",
            Err(IndexError::Syntax("expected INDEX".into())),
        );
    }

    #[test]
    fn bounds_the_statement() {
        let long = format!("CREATE INDEX i ON t ({})", "a,".repeat(3_000));
        assert!(matches!(parse_index(&long), Err(IndexError::Syntax(_))));
        let many = format!(
            "CREATE INDEX i ON t ({}z)",
            (0..20).map(|n| format!("c{n},")).collect::<String>()
        );
        assert!(matches!(
            parse_index(&many),
            Err(IndexError::TooManyColumns { .. })
        ));
    }
}
