//! Splitting a filter into tokens. Positions are character offsets, for error messages.

use crate::query::error::FilterError;

#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    /// A name, a path or a macro: `title`, `author.name`, `@request.auth.id`, `tags:each`.
    Identifier(String),
    Text(String),
    Number(f64),
    Operator(&'static str),
    And,
    Or,
    OpenParen,
    CloseParen,
    Comma,
    /// A placeholder `{:name}` for a value bound by the caller (server-side filters only).
    Param(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Spanned {
    pub token: Token,
    pub position: usize,
}

/// Longest operators first, so `?!~` is not read as `?!` and `~`.
const OPERATORS: &[&str] = &[
    "?!=", "?>=", "?<=", "?!~", "!=", ">=", "<=", "!~", "?=", "?>", "?<", "?~", "=", ">", "<", "~",
];

fn is_identifier_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | ':' | '@')
}

pub fn tokenize(input: &str) -> Result<Vec<Spanned>, FilterError> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        let token = match c {
            '(' => {
                i += 1;
                Token::OpenParen
            }
            ')' => {
                i += 1;
                Token::CloseParen
            }
            ',' => {
                i += 1;
                Token::Comma
            }
            '&' if chars.get(i + 1) == Some(&'&') => {
                i += 2;
                Token::And
            }
            '|' if chars.get(i + 1) == Some(&'|') => {
                i += 2;
                Token::Or
            }
            '{' if chars.get(i + 1) == Some(&':') => {
                let mut end = i + 2;
                while end < chars.len() && (chars[end].is_alphanumeric() || chars[end] == '_') {
                    end += 1;
                }
                if end == i + 2 || chars.get(end) != Some(&'}') {
                    return Err(FilterError::at(start, "a placeholder is {:name}"));
                }
                let name: String = chars[i + 2..end].iter().collect();
                i = end + 1;
                Token::Param(name)
            }
            '\'' | '"' => {
                let (text, end) = quoted(&chars, i)?;
                i = end;
                Token::Text(text)
            }
            c if c.is_ascii_digit()
                || (c == '-' && chars.get(i + 1).is_some_and(|next| next.is_ascii_digit())) =>
            {
                let mut end = i + 1;
                while end < chars.len() && (chars[end].is_ascii_digit() || chars[end] == '.') {
                    end += 1;
                }
                let text: String = chars[i..end].iter().collect();
                let number = text
                    .parse::<f64>()
                    .map_err(|_| FilterError::at(start, format!("invalid number {text:?}")))?;
                i = end;
                Token::Number(number)
            }
            c if is_identifier_char(c) => {
                let mut end = i;
                while end < chars.len() && is_identifier_char(chars[end]) {
                    end += 1;
                }
                let text: String = chars[i..end].iter().collect();
                i = end;
                Token::Identifier(text)
            }
            _ => {
                let rest: String = chars[i..chars.len().min(i + 3)].iter().collect();
                let operator = OPERATORS
                    .iter()
                    .find(|operator| rest.starts_with(**operator))
                    .ok_or_else(|| FilterError::at(start, format!("unexpected character {c:?}")))?;
                i += operator.chars().count();
                Token::Operator(operator)
            }
        };
        tokens.push(Spanned {
            token,
            position: start,
        });
    }
    Ok(tokens)
}

/// A quoted string starting at `start`; a backslash escapes the quote character.
fn quoted(chars: &[char], start: usize) -> Result<(String, usize), FilterError> {
    let quote = chars[start];
    let mut text = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            // Only the quote itself is unescaped; other escapes (`\%`, `\_`) are kept for
            // LIKE patterns, as PocketBase's scanner does.
            '\\' if i + 1 < chars.len() => {
                if chars[i + 1] != quote {
                    text.push('\\');
                }
                text.push(chars[i + 1]);
                i += 2;
            }
            c if c == quote => return Ok((text, i + 1)),
            c => {
                text.push(c);
                i += 1;
            }
        }
    }
    Err(FilterError::at(start, "unterminated string"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(input: &str) -> Vec<Token> {
        tokenize(input)
            .expect("valid")
            .into_iter()
            .map(|spanned| spanned.token)
            .collect()
    }

    #[test]
    fn tokens() {
        assert_eq!(
            kinds("a.b?!=-1.5 && (c~'x\\'y' || d:lower!~\"z\") // note"),
            vec![
                Token::Identifier("a.b".into()),
                Token::Operator("?!="),
                Token::Number(-1.5),
                Token::And,
                Token::OpenParen,
                Token::Identifier("c".into()),
                Token::Operator("~"),
                Token::Text("x'y".into()),
                Token::Or,
                Token::Identifier("d:lower".into()),
                Token::Operator("!~"),
                Token::Text("z".into()),
                Token::CloseParen,
            ]
        );
    }

    #[test]
    fn errors_name_positions() {
        assert_eq!(tokenize("a = 'open").unwrap_err().position, 4);
        assert_eq!(tokenize("a # b").unwrap_err().position, 2);
    }
}
