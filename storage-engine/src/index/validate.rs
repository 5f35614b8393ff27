//! Checking a collection's index statements before it is written, for the HTTP layer's
//! `data.indexes.N` validation errors (PocketBase's codes and messages).

use crate::index::compiled::CompiledIndex;
use crate::index::error::IndexError;
use crate::schema::CollectionSchema;

/// One index statement that cannot be used, at its position in `indexes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexProblem {
    pub position: usize,
    pub error: IndexError,
}

impl IndexProblem {
    /// PocketBase's code, e.g. `validation_invalid_index_expression`.
    pub fn code(&self) -> &'static str {
        self.error.code()
    }

    pub fn message(&self) -> String {
        self.error.to_string()
    }
}

/// Every problem with `schema`'s indexes: statements that do not parse or name unknown
/// columns, names repeated within the collection, and names another collection already uses
/// (`others` are the other collections; an entry with `schema`'s id is skipped). Index names
/// compare case-insensitively, as SQLite's do. Existing records violating a new unique index
/// are found at apply ([`crate::Rejection::UniqueViolation`]), not here.
pub fn validate_indexes(
    schema: &CollectionSchema,
    others: &[CollectionSchema],
) -> Vec<IndexProblem> {
    let mut problems = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for (position, sql) in schema.indexes.iter().enumerate() {
        let index = match CompiledIndex::compile(sql, schema) {
            Ok(index) => index,
            Err(error) => {
                problems.push(IndexProblem { position, error });
                continue;
            }
        };
        let name = index.name().to_ascii_lowercase();
        if names.contains(&name) {
            problems.push(IndexProblem {
                position,
                error: IndexError::DuplicateName {
                    index: index.name().to_owned(),
                },
            });
            continue;
        }
        names.push(name.clone());
        let elsewhere = others
            .iter()
            .filter(|other| other.id != schema.id)
            .find(|other| {
                other
                    .indexes
                    .iter()
                    .any(|sql| index_name(sql) == Some(name.clone()))
            });
        if let Some(other) = elsewhere {
            problems.push(IndexProblem {
                position,
                error: IndexError::NameUsedElsewhere {
                    index: index.name().to_owned(),
                    collection: other.name.clone(),
                },
            });
        }
    }
    problems
}

fn index_name(sql: &str) -> Option<String> {
    crate::index::definition::parse_index(sql)
        .ok()
        .map(|definition| definition.name.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(id: &str, name: &str, indexes: &[&str]) -> CollectionSchema {
        let doc = serde_json::json!({
            "id": id, "name": name,
            "fields": [{"id": "f1", "name": "slug", "type": "text"},
                       {"id": "f2", "name": "n", "type": "number"}],
            "indexes": indexes,
        });
        CollectionSchema::from_doc_json(&doc.to_string()).expect("schema")
    }

    #[test]
    fn reports_problems_by_position_with_pocketbase_codes() {
        let other = schema("c2", "others", &["CREATE INDEX idx_taken ON others (slug)"]);
        let check = |indexes: &[&str], expected: &[(usize, &str, &str)]| {
            let problems = validate_indexes(
                &schema("c1", "posts", indexes),
                std::slice::from_ref(&other),
            );
            let got: Vec<(usize, &str, String)> = problems
                .iter()
                .map(|p| (p.position, p.code(), p.message()))
                .collect();
            let expected: Vec<(usize, &str, String)> = expected
                .iter()
                .map(|(position, code, message)| (*position, *code, (*message).to_owned()))
                .collect();
            assert_eq!(got, expected, "{indexes:?}");
        };
        check(&["CREATE UNIQUE INDEX idx_a ON posts (slug)"], &[]);
        check(
            &["CREATE UNIQUE INDEX idx_x ON posts (nope)"],
            &[(
                0,
                "validation_invalid_index_expression",
                "Failed to create index idx_x - no such column: nope",
            )],
        );
        check(
            &["garbage"],
            &[(
                0,
                "validation_invalid_index_expression",
                "Invalid CREATE INDEX expression: expected CREATE",
            )],
        );
        check(
            &[
                "CREATE INDEX idx_a ON posts (slug)",
                "CREATE INDEX IDX_A ON posts (n)",
            ],
            &[(
                1,
                "validation_duplicated_index_name",
                "The index name already exists.",
            )],
        );
        check(
            &["CREATE INDEX idx_taken ON posts (slug)"],
            &[(
                0,
                "validation_existing_index_name",
                "The index name is already used in others collection.",
            )],
        );
    }
}
