//! `:excerpt(max, withEllipsis?)`: a plain-text excerpt of an HTML string, as PocketBase
//! makes it (tags stripped, scripts and forms skipped, whitespace collapsed, cut at `max`).

use std::sync::LazyLock;

use regex::Regex;
use scraper::{Html, Node};
use serde_json::Value;

use crate::ModelError;

/// Elements whose content never shows in an excerpt.
const EXCLUDED_TAGS: &[&str] = &[
    "head", "style", "script", "iframe", "embed", "applet", "object", "svg", "img", "picture",
    "dialog", "template", "button", "form", "textarea", "input", "select", "option",
];
/// Elements that do not start a new block (no space around them).
const INLINE_TAGS: &[&str] = &[
    "a", "abbr", "acronym", "b", "bdo", "big", "br", "button", "cite", "code", "em", "i", "label",
    "q", "small", "span", "strong", "strike", "sub", "sup", "time",
];
/// Largest `max` accepted (a bound on the work per value).
const EXCERPT_BYTES_MAX: usize = 1 << 20;

static WHITESPACE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\s+").expect("static pattern"));

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Excerpt {
    max_bytes: usize,
    with_ellipsis: bool,
}

impl Excerpt {
    /// Parse `excerpt(200,true)`; any other modifier is PocketBase's generic 400.
    pub(super) fn parse(modifier: &str) -> Result<Excerpt, ModelError> {
        let modifier = modifier.trim();
        let arguments = modifier
            .strip_prefix("excerpt(")
            .and_then(|rest| rest.strip_suffix(')'))
            .ok_or_else(ModelError::invalid_body)?;
        let arguments: Vec<&str> = arguments
            .split(',')
            .map(|argument| argument.trim().trim_matches(['"', '\'']))
            .filter(|argument| !argument.is_empty())
            .collect();
        let (max, ellipsis) = match arguments.as_slice() {
            [max] => (*max, None),
            [max, ellipsis] => (*max, Some(*ellipsis)),
            _ => return Err(ModelError::invalid_body()),
        };
        let max_bytes = max
            .parse::<usize>()
            .ok()
            .filter(|max| *max > 0)
            .ok_or_else(ModelError::invalid_body)?
            .min(EXCERPT_BYTES_MAX);
        let with_ellipsis =
            ellipsis.is_some_and(|flag| matches!(flag, "1" | "t" | "T" | "true" | "TRUE" | "True"));
        Ok(Excerpt {
            max_bytes,
            with_ellipsis,
        })
    }

    /// The excerpt of a string value; other values stay as they are.
    pub(super) fn apply(&self, value: &Value) -> Value {
        let Value::String(html) = value else {
            return value.clone();
        };
        let mut text = Collector {
            out: String::new(),
            previous_space: false,
            limit_bytes: self.max_bytes + 2,
        };
        let document = Html::parse_document(html);
        text.visit(document.tree.root());
        let full = text.out.trim();
        if full.len() <= self.max_bytes {
            return Value::String(full.to_string());
        }
        let mut cut = self.max_bytes;
        while !full.is_char_boundary(cut) {
            cut -= 1;
        }
        let mut excerpt = full[..cut].trim().to_string();
        if self.with_ellipsis {
            excerpt.push_str("...");
        }
        Value::String(excerpt)
    }
}

struct Collector {
    out: String,
    previous_space: bool,
    limit_bytes: usize,
}

impl Collector {
    fn visit(&mut self, node: ego_tree::NodeRef<'_, Node>) {
        if let Node::Text(text) = node.value() {
            let collapsed = WHITESPACE.replace_all(text, " ");
            let collapsed = if self.previous_space {
                collapsed.trim_start_matches(' ')
            } else {
                &collapsed
            };
            if !collapsed.is_empty() {
                self.previous_space = collapsed.ends_with(' ');
                self.out.push_str(collapsed);
            }
        }
        if self.out.len() > self.limit_bytes {
            return;
        }
        for child in node.children() {
            let element = match child.value() {
                Node::Element(element) => Some(element.name()),
                _ => None,
            };
            if element.is_some_and(|name| EXCLUDED_TAGS.contains(&name)) {
                continue;
            }
            let block = element.is_some_and(|name| !INLINE_TAGS.contains(&name));
            self.space_if(block);
            self.visit(child);
            self.space_if(block);
        }
    }

    fn space_if(&mut self, block: bool) {
        if block && !self.previous_space {
            self.out.push(' ');
            self.previous_space = true;
        }
    }
}
