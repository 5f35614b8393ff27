//! Collections and their fields, in PocketBase 0.40's JSON shape.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CollectionType {
    #[default]
    Base,
    Auth,
    View,
}

impl CollectionType {
    pub fn as_str(self) -> &'static str {
        match self {
            CollectionType::Base => "base",
            CollectionType::Auth => "auth",
            CollectionType::View => "view",
        }
    }
}

/// A collection definition. Rules are `None` for "superusers only" and `Some("")` for
/// "anyone". Type-specific options (auth settings and the like) stay in `options`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Collection {
    #[serde(default)]
    pub id: String,
    #[serde(rename = "listRule", default)]
    pub list_rule: Option<String>,
    #[serde(rename = "viewRule", default)]
    pub view_rule: Option<String>,
    #[serde(rename = "createRule", default)]
    pub create_rule: Option<String>,
    #[serde(rename = "updateRule", default)]
    pub update_rule: Option<String>,
    #[serde(rename = "deleteRule", default)]
    pub delete_rule: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(rename = "type", default)]
    pub kind: CollectionType,
    #[serde(default)]
    pub fields: Vec<Field>,
    #[serde(default)]
    pub indexes: Vec<String>,
    #[serde(default)]
    pub created: String,
    #[serde(default)]
    pub updated: String,
    #[serde(default)]
    pub system: bool,
    #[serde(flatten)]
    pub options: Map<String, Value>,
}

impl Collection {
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|field| field.name == name)
    }
}

/// One field: the options every field has, plus its type and type-specific options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub help: String,
    #[serde(default)]
    pub hidden: bool,
    #[serde(default)]
    pub presentable: bool,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub system: bool,
    #[serde(flatten)]
    pub kind: FieldKind,
}

/// A field's type with its type-specific options, tagged by `type` as PocketBase does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum FieldKind {
    Text {
        #[serde(default)]
        min: i64,
        #[serde(default)]
        max: i64,
        #[serde(default)]
        pattern: String,
        #[serde(rename = "autogeneratePattern", default)]
        autogenerate_pattern: String,
        #[serde(rename = "primaryKey", default)]
        primary_key: bool,
    },
    Number {
        #[serde(default)]
        min: Option<f64>,
        #[serde(default)]
        max: Option<f64>,
        #[serde(rename = "onlyInt", default)]
        only_int: bool,
    },
    Bool {},
    Json {
        #[serde(rename = "maxSize", default)]
        max_size: i64,
    },
    Email {
        #[serde(rename = "exceptDomains", default)]
        except_domains: Vec<String>,
        #[serde(rename = "onlyDomains", default)]
        only_domains: Vec<String>,
    },
    Password {
        #[serde(default)]
        min: i64,
        #[serde(default)]
        max: i64,
        #[serde(default)]
        pattern: String,
        #[serde(default)]
        cost: i64,
    },
    Autodate {
        #[serde(rename = "onCreate", default)]
        on_create: bool,
        #[serde(rename = "onUpdate", default)]
        on_update: bool,
    },
}

impl FieldKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            FieldKind::Text { .. } => "text",
            FieldKind::Number { .. } => "number",
            FieldKind::Bool {} => "bool",
            FieldKind::Json { .. } => "json",
            FieldKind::Email { .. } => "email",
            FieldKind::Password { .. } => "password",
            FieldKind::Autodate { .. } => "autodate",
        }
    }
}
