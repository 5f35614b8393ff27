//! A collection compiled once per stored version and shared by every reader: its schema,
//! its API rules parsed, its index statements compiled. Apply, queries, rule checks and the
//! node's service layer all take it from one bounded cache, so a request's hot path never
//! re-reads a collection's JSON or re-parses its rules.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::index::compiled::{compile_indexes, CompiledIndex};
use crate::index::IndexError;
use crate::query::{parse_filter, Expr, FilterError};
use crate::schema::{CollectionSchema, RuleTexts};
use crate::{Rejection, StoredCollection};

/// Most collections kept compiled; past it the cache starts over (a rare, cheap reset).
const COMPILED_COLLECTIONS_MAX: usize = 4_096;

/// One API rule, parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// `null`: only superusers pass.
    SuperusersOnly,
    /// `""`: everyone passes.
    Everyone,
    /// A filter the record must match.
    Filter(Arc<Expr>),
    /// A stored rule that does not parse (saved before rules were checked on save).
    Unparsable(FilterError),
}

impl Rule {
    fn compile(text: Option<&str>) -> Rule {
        match text {
            None => Rule::SuperusersOnly,
            Some(text) => match parse_filter(text) {
                Ok(None) => Rule::Everyone,
                Ok(Some(expr)) => Rule::Filter(Arc::new(expr)),
                Err(error) => Rule::Unparsable(error),
            },
        }
    }
}

/// Every API rule of a collection; the auth rules are [`Rule::SuperusersOnly`] on
/// collections that are not auth collections.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectionRules {
    pub list: Rule,
    pub view: Rule,
    pub create: Rule,
    pub update: Rule,
    pub delete: Rule,
    pub auth: Rule,
    pub manage: Rule,
    /// The rule that says when a sign-in needs a second factor (`mfa.rule`; `""` always).
    pub mfa: Rule,
}

impl CollectionRules {
    fn compile(texts: &RuleTexts) -> CollectionRules {
        CollectionRules {
            list: Rule::compile(texts.list.as_deref()),
            view: Rule::compile(texts.view.as_deref()),
            create: Rule::compile(texts.create.as_deref()),
            update: Rule::compile(texts.update.as_deref()),
            delete: Rule::compile(texts.delete.as_deref()),
            auth: Rule::compile(texts.auth.as_deref()),
            manage: Rule::compile(texts.manage.as_deref()),
            mfa: Rule::compile(texts.mfa.as_ref().and_then(|mfa| mfa.rule.as_deref())),
        }
    }
}

/// A collection as every layer uses it, compiled from one stored document.
#[derive(Debug)]
pub struct CompiledCollection {
    /// The stored document it was compiled from (the cache's key beside the id).
    doc_json: String,
    schema: CollectionSchema,
    rules: CollectionRules,
    /// The index statements compiled, or why they cannot be (which apply refuses to store).
    indexes: Result<Arc<[CompiledIndex]>, Rejection>,
}

impl CompiledCollection {
    /// Compile a collection document; `id` and `name` are the stored ones (they win over
    /// the document's).
    pub fn compile(
        id: &str,
        name: &str,
        doc_json: &str,
    ) -> Result<CompiledCollection, serde_json::Error> {
        let (mut schema, texts) = CollectionSchema::with_rules_from_doc_json(doc_json)?;
        schema.id = id.to_owned();
        schema.name = name.to_owned();
        let indexes = index_set(&schema);
        Ok(CompiledCollection {
            doc_json: doc_json.to_owned(),
            rules: CollectionRules::compile(&texts),
            schema,
            indexes,
        })
    }

    pub fn schema(&self) -> &CollectionSchema {
        &self.schema
    }

    pub fn rules(&self) -> &CollectionRules {
        &self.rules
    }

    /// The compiled indexes, or the rejection that keeps an unusable statement (or two
    /// indexes sharing a name) out of the state.
    pub fn indexes(&self) -> Result<&[CompiledIndex], &Rejection> {
        self.indexes.as_deref()
    }

    pub(crate) fn index_set(&self) -> Result<Arc<[CompiledIndex]>, Rejection> {
        self.indexes.clone()
    }
}

fn index_set(schema: &CollectionSchema) -> Result<Arc<[CompiledIndex]>, Rejection> {
    let indexes = compile_indexes(schema).map_err(|error| Rejection::InvalidIndex {
        index: index_name_of(&error),
        message: error.to_string(),
    })?;
    for (position, index) in indexes.iter().enumerate() {
        let repeated = indexes[..position]
            .iter()
            .any(|earlier| earlier.name().eq_ignore_ascii_case(index.name()));
        if repeated {
            return Err(Rejection::InvalidIndex {
                index: index.name().to_owned(),
                message: "The index name already exists.".into(),
            });
        }
    }
    Ok(indexes.into())
}

fn index_name_of(error: &IndexError) -> String {
    match error {
        IndexError::Syntax(_) => String::new(),
        IndexError::Expression { index }
        | IndexError::Collation { index, .. }
        | IndexError::UnknownColumn { index, .. }
        | IndexError::Condition { index, .. }
        | IndexError::DuplicateName { index }
        | IndexError::NameUsedElsewhere { index, .. }
        | IndexError::TooManyColumns { index, .. } => index.clone(),
    }
}

/// The compiled collections, by id. An entry is reused only while the document it was
/// compiled from is byte for byte the one asked about, so a change applied on any node (or
/// a document proposed but rejected) is never answered from a stale compile.
#[derive(Default)]
pub struct CompiledCollections {
    entries: Mutex<HashMap<String, Arc<CompiledCollection>>>,
}

impl CompiledCollections {
    /// The compiled form of a stored collection.
    pub fn stored(
        &self,
        stored: &StoredCollection,
    ) -> Result<Arc<CompiledCollection>, serde_json::Error> {
        self.get(&stored.id, &stored.name, &stored.doc_json)
    }

    /// The compiled form of the document `doc_json` of collection `id`.
    pub fn get(
        &self,
        id: &str,
        name: &str,
        doc_json: &str,
    ) -> Result<Arc<CompiledCollection>, serde_json::Error> {
        if let Some(found) = self.lock().get(id) {
            if found.doc_json == doc_json && found.schema.name == name {
                return Ok(found.clone());
            }
        }
        let compiled = Arc::new(CompiledCollection::compile(id, name, doc_json)?);
        let mut entries = self.lock();
        if entries.len() >= COMPILED_COLLECTIONS_MAX {
            entries.clear();
        }
        entries.insert(id.to_owned(), compiled.clone());
        Ok(compiled)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<CompiledCollection>>> {
        // A panic while holding the lock leaves only a cache behind: keep using it.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POSTS: &str = r#"{"id":"pbc_1","name":"posts","type":"base",
        "listRule":"","viewRule":"title != ''","createRule":null,"updateRule":"(",
        "indexes":["CREATE INDEX idx_title ON posts (title)"],
        "fields":[{"id":"text1","name":"title","type":"text"}]}"#;

    #[test]
    fn compiles_rules_and_indexes_once_per_document() {
        let cache = CompiledCollections::default();
        let first = cache.get("pbc_1", "posts", POSTS).expect("compiles");
        let rules = first.rules();
        assert_eq!(rules.list, Rule::Everyone);
        assert!(matches!(rules.view, Rule::Filter(_)));
        assert_eq!(rules.create, Rule::SuperusersOnly);
        assert!(matches!(rules.update, Rule::Unparsable(_)));
        assert_eq!(rules.manage, Rule::SuperusersOnly);
        assert_eq!(first.indexes().expect("valid").len(), 1);

        let again = cache.get("pbc_1", "posts", POSTS).expect("compiles");
        assert!(
            Arc::ptr_eq(&first, &again),
            "same document: the same compile"
        );

        let changed = POSTS.replace(r#""listRule":"""#, r#""listRule":null"#);
        let recompiled = cache.get("pbc_1", "posts", &changed).expect("compiles");
        assert!(
            !Arc::ptr_eq(&first, &recompiled),
            "a new document: compiled again"
        );
        assert_eq!(recompiled.rules().list, Rule::SuperusersOnly);

        let renamed = cache.get("pbc_1", "articles", &changed).expect("compiles");
        assert_eq!(renamed.schema().name, "articles");
    }

    #[test]
    fn an_unusable_index_is_a_rejection_kept_with_the_compile() {
        let doc = POSTS.replace("(title)", "(missing)");
        let compiled = CompiledCollection::compile("pbc_1", "posts", &doc).expect("compiles");
        assert!(matches!(
            compiled.indexes(),
            Err(Rejection::InvalidIndex { index, .. }) if index == "idx_title"
        ));
    }
}
