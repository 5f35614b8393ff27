//! What the storage engine knows of a collection's definition: its fields' names, ids and
//! value shapes, its rules and its index statements, read from the stored PocketBase JSON.
//!
//! Filters, indexes and record migrations need this much of the record model; everything
//! else in the document (options, auth settings) stays opaque here.

use serde::Deserialize;

/// How a field's values compare and sort. PocketBase field types map onto these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldShape {
    /// text, email, url, editor, password, select (single), file (single).
    Text,
    Number,
    Bool,
    /// date and autodate: `YYYY-MM-DD HH:MM:SS.sssZ` strings, ordered as text.
    Date,
    /// json and geoPoint: any JSON value.
    Json,
    /// relation (single or multiple).
    Relation,
}

/// One field of a collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldInfo {
    pub id: String,
    pub name: String,
    /// PocketBase's type name (`text`, `relation`, ...).
    pub type_name: String,
    pub shape: FieldShape,
    /// Whether the value is a list (select, relation and file with `maxSelect` above 1).
    pub multiple: bool,
    /// For relations: the related collection's id.
    pub relation_collection_id: Option<String>,
    /// For relations: deleting the related record deletes this one.
    pub cascade_delete: bool,
    pub hidden: bool,
}

/// A collection definition as the storage engine reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionSchema {
    pub id: String,
    pub name: String,
    /// `base`, `auth` or `view`.
    pub type_name: String,
    pub fields: Vec<FieldInfo>,
    /// PocketBase's index statements (`CREATE [UNIQUE] INDEX ...`), as written.
    pub indexes: Vec<String>,
}

/// A collection's API rules as stored: `None` is superusers only, `""` everyone, anything
/// else a filter. The auth rules are empty for other collection types.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct RuleTexts {
    #[serde(rename = "listRule", default)]
    pub list: Option<String>,
    #[serde(rename = "viewRule", default)]
    pub view: Option<String>,
    #[serde(rename = "createRule", default)]
    pub create: Option<String>,
    #[serde(rename = "updateRule", default)]
    pub update: Option<String>,
    #[serde(rename = "deleteRule", default)]
    pub delete: Option<String>,
    #[serde(rename = "authRule", default)]
    pub auth: Option<String>,
    #[serde(rename = "manageRule", default)]
    pub manage: Option<String>,
    #[serde(default)]
    pub mfa: Option<MfaRuleText>,
}

/// The rule inside an auth collection's `mfa` options.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct MfaRuleText {
    #[serde(default)]
    pub rule: Option<String>,
}

impl CollectionSchema {
    /// Read the schema out of a stored collection document.
    pub fn from_doc_json(doc_json: &str) -> Result<CollectionSchema, serde_json::Error> {
        Ok(Self::with_rules_from_doc_json(doc_json)?.0)
    }

    /// The schema and the rule texts, from one parse of the stored document.
    pub fn with_rules_from_doc_json(
        doc_json: &str,
    ) -> Result<(CollectionSchema, RuleTexts), serde_json::Error> {
        let raw: RawCollection = serde_json::from_str(doc_json)?;
        let schema = CollectionSchema {
            id: raw.id,
            name: raw.name,
            type_name: raw.kind,
            fields: raw.fields.into_iter().map(RawField::into_info).collect(),
            indexes: raw.indexes,
        };
        Ok((schema, raw.rules))
    }

    pub fn field(&self, name: &str) -> Option<&FieldInfo> {
        self.fields.iter().find(|field| field.name == name)
    }

    pub fn field_by_id(&self, id: &str) -> Option<&FieldInfo> {
        self.fields.iter().find(|field| field.id == id)
    }
}

#[derive(Deserialize)]
struct RawCollection {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    fields: Vec<RawField>,
    #[serde(default)]
    indexes: Vec<String>,
    #[serde(flatten)]
    rules: RuleTexts,
}

#[derive(Deserialize)]
struct RawField {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(rename = "maxSelect", default)]
    max_select: Option<f64>,
    #[serde(rename = "collectionId", default)]
    collection_id: Option<String>,
    #[serde(rename = "cascadeDelete", default)]
    cascade_delete: bool,
    #[serde(default)]
    hidden: bool,
}

impl RawField {
    fn into_info(self) -> FieldInfo {
        let shape = match self.kind.as_str() {
            "number" => FieldShape::Number,
            "bool" => FieldShape::Bool,
            "date" | "autodate" => FieldShape::Date,
            "json" | "geoPoint" => FieldShape::Json,
            "relation" => FieldShape::Relation,
            _ => FieldShape::Text,
        };
        let multi_capable = matches!(self.kind.as_str(), "select" | "relation" | "file");
        let multiple = multi_capable && self.max_select.is_some_and(|max| max > 1.0);
        FieldInfo {
            id: self.id,
            name: self.name,
            type_name: self.kind,
            shape,
            multiple,
            relation_collection_id: self.collection_id.filter(|id| !id.is_empty()),
            cascade_delete: self.cascade_delete,
            hidden: self.hidden,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_shapes_and_multiplicity() {
        let (schema, rules) = CollectionSchema::with_rules_from_doc_json(
            r#"{"id":"pbc_1","name":"posts","type":"base","listRule":"","viewRule":null,
                "manageRule":"id = 'x'","mfa":{"enabled":false,"rule":""},
                "indexes":["CREATE UNIQUE INDEX idx_a ON posts (slug)"],
                "fields":[
                  {"id":"text1","name":"slug","type":"text"},
                  {"id":"rel1","name":"tags","type":"relation","collectionId":"pbc_2","maxSelect":5},
                  {"id":"sel1","name":"state","type":"select","maxSelect":1,"values":["a"]},
                  {"id":"n1","name":"n","type":"number","onlyInt":true}
                ]}"#,
        )
        .expect("valid");
        assert_eq!(rules.list.as_deref(), Some(""));
        assert_eq!(rules.view, None);
        assert_eq!(rules.create, None);
        assert_eq!(rules.manage.as_deref(), Some("id = 'x'"));
        assert_eq!(rules.mfa.and_then(|mfa| mfa.rule).as_deref(), Some(""));
        let tags = schema.field("tags").expect("tags");
        assert!(tags.multiple);
        assert_eq!(tags.shape, FieldShape::Relation);
        assert_eq!(tags.relation_collection_id.as_deref(), Some("pbc_2"));
        assert!(!schema.field("state").expect("state").multiple);
        assert_eq!(schema.field("n").expect("n").shape, FieldShape::Number);
        assert_eq!(schema.indexes.len(), 1);
    }
}
