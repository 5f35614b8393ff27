//! An index statement bound to a collection's fields: which field each column reads, how
//! its values are encoded, and the partial index's condition. Computes a record's entry.

use crate::index::condition::{field_named, IndexCondition};
use crate::index::definition::{parse_index, IndexColumn, IndexDefinition};
use crate::index::error::IndexError;
use crate::index::value::IndexValue;
use crate::keys;
use crate::schema::{CollectionSchema, FieldInfo, FieldShape};

/// One column of a compiled index.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledColumn {
    pub column: IndexColumn,
    /// The field the column reads (`id` reads the record id).
    pub field: FieldInfo,
}

/// An index ready to compute entries.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledIndex {
    pub definition: IndexDefinition,
    pub columns: Vec<CompiledColumn>,
    pub condition: Option<IndexCondition>,
}

/// A record's entry in one index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    pub key: Vec<u8>,
    /// Whether the key excludes the record id, so another record with the same key conflicts
    /// (a unique index with no NULL column; NULLs never conflict, as in SQLite).
    pub exclusive: bool,
}

impl CompiledIndex {
    /// Parse `sql` and bind it to `schema`'s fields.
    pub fn compile(sql: &str, schema: &CollectionSchema) -> Result<CompiledIndex, IndexError> {
        let definition = parse_index(sql)?;
        let mut columns = Vec::with_capacity(definition.columns.len());
        for column in &definition.columns {
            let field =
                column_field(schema, &column.name).ok_or_else(|| IndexError::UnknownColumn {
                    index: definition.name.clone(),
                    column: column.name.clone(),
                })?;
            columns.push(CompiledColumn {
                column: column.clone(),
                field,
            });
        }
        let condition = match &definition.condition {
            Some(sql) => Some(IndexCondition::compile(&definition.name, sql, schema)?),
            None => None,
        };
        Ok(CompiledIndex {
            definition,
            columns,
            condition,
        })
    }

    pub fn name(&self) -> &str {
        &self.definition.name
    }

    /// The column values of a record, in column order.
    pub fn values(
        &self,
        record_id: &str,
        record: &serde_json::Map<String, serde_json::Value>,
    ) -> Vec<IndexValue> {
        self.columns
            .iter()
            .map(|column| column_value(&column.field, record_id, record))
            .collect()
    }

    /// The record's entry, or `None` when a partial index's condition excludes it.
    pub fn entry(
        &self,
        collection_id: &str,
        record_id: &str,
        record: &serde_json::Map<String, serde_json::Value>,
    ) -> Option<IndexEntry> {
        if let Some(condition) = &self.condition {
            if !condition.matches(record) {
                return None;
            }
        }
        let values = self.values(record_id, record);
        let mut key = keys::index_prefix(collection_id, self.name());
        for (value, column) in values.iter().zip(&self.columns) {
            value.encode_key(column.column.collation, column.column.direction, &mut key);
        }
        let exclusive = self.definition.unique && !values.iter().any(IndexValue::is_null);
        if !exclusive {
            key.extend_from_slice(record_id.as_bytes());
        }
        Some(IndexEntry { key, exclusive })
    }
}

/// Compile every index statement of `schema`, failing on the first that cannot be used.
pub fn compile_indexes(schema: &CollectionSchema) -> Result<Vec<CompiledIndex>, IndexError> {
    schema
        .indexes
        .iter()
        .map(|sql| CompiledIndex::compile(sql, schema))
        .collect()
}

fn column_field(schema: &CollectionSchema, name: &str) -> Option<FieldInfo> {
    if let Some(field) = field_named(schema, name) {
        return Some(field.clone());
    }
    name.eq_ignore_ascii_case("id").then(|| FieldInfo {
        id: String::new(),
        name: "id".into(),
        type_name: "text".into(),
        shape: FieldShape::Text,
        multiple: false,
        relation_collection_id: None,
        cascade_delete: false,
        hidden: false,
    })
}

fn column_value(
    field: &FieldInfo,
    record_id: &str,
    record: &serde_json::Map<String, serde_json::Value>,
) -> IndexValue {
    if field.name == "id" {
        return IndexValue::Text(record_id.to_owned());
    }
    IndexValue::from_field(field, record.get(&field.name))
}
