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
/// `autodate` fields have no `help` and no `required` in PocketBase's JSON, so they are
/// left out when serialising one.
#[derive(Debug, Clone, PartialEq, Deserialize)]
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

/// The serialised shape of a [`Field`], borrowing it.
#[derive(Serialize)]
struct FieldShape<'a> {
    id: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<&'a str>,
    hidden: bool,
    presentable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    required: Option<bool>,
    system: bool,
    #[serde(flatten)]
    kind: &'a FieldKind,
}

impl Serialize for Field {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let autodate = matches!(self.kind, FieldKind::Autodate { .. });
        FieldShape {
            id: &self.id,
            name: &self.name,
            help: (!autodate).then_some(self.help.as_str()),
            hidden: self.hidden,
            presentable: self.presentable,
            required: (!autodate).then_some(self.required),
            system: self.system,
            kind: &self.kind,
        }
        .serialize(serializer)
    }
}

/// A field's type with its type-specific options, tagged by `type` as PocketBase does.
/// Option keys PocketBase does not know are ignored; missing ones take PocketBase's defaults.
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
    Email {
        #[serde(rename = "exceptDomains", default, deserialize_with = "null_as_empty")]
        except_domains: Vec<String>,
        #[serde(rename = "onlyDomains", default, deserialize_with = "null_as_empty")]
        only_domains: Vec<String>,
    },
    Url {
        #[serde(rename = "exceptDomains", default, deserialize_with = "null_as_empty")]
        except_domains: Vec<String>,
        #[serde(rename = "onlyDomains", default, deserialize_with = "null_as_empty")]
        only_domains: Vec<String>,
    },
    Editor {
        #[serde(rename = "maxSize", default)]
        max_size: i64,
        #[serde(rename = "convertURLs", default)]
        convert_urls: bool,
    },
    Date {
        #[serde(default)]
        min: String,
        #[serde(default)]
        max: String,
    },
    Autodate {
        #[serde(rename = "onCreate", default)]
        on_create: bool,
        #[serde(rename = "onUpdate", default)]
        on_update: bool,
    },
    Select {
        #[serde(default, deserialize_with = "null_as_empty")]
        values: Vec<String>,
        #[serde(rename = "maxSelect", default)]
        max_select: i64,
    },
    Json {
        #[serde(rename = "maxSize", default)]
        max_size: i64,
    },
    Relation {
        #[serde(rename = "cascadeDelete", default)]
        cascade_delete: bool,
        #[serde(rename = "collectionId", default)]
        collection_id: String,
        #[serde(rename = "maxSelect", default)]
        max_select: i64,
        #[serde(rename = "minSelect", default)]
        min_select: i64,
    },
    #[serde(rename = "geoPoint")]
    GeoPoint {},
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
    /// File names; the contents are blobs (`maxSize` 0 means PocketBase's 5 MiB,
    /// `maxSelect` above 1 makes the value a list).
    File {
        #[serde(rename = "maxSelect", default)]
        max_select: i64,
        #[serde(rename = "maxSize", default)]
        max_size: i64,
        #[serde(rename = "mimeTypes", default, deserialize_with = "null_as_empty")]
        mime_types: Vec<String>,
        #[serde(default, deserialize_with = "null_as_empty")]
        thumbs: Vec<String>,
        #[serde(default)]
        protected: bool,
    },
}

/// A JSON `null` list is an empty one, as Go reads it.
fn null_as_empty<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(deserializer)?.unwrap_or_default())
}

impl FieldKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            FieldKind::Text { .. } => "text",
            FieldKind::Number { .. } => "number",
            FieldKind::Bool {} => "bool",
            FieldKind::Email { .. } => "email",
            FieldKind::Url { .. } => "url",
            FieldKind::Editor { .. } => "editor",
            FieldKind::Date { .. } => "date",
            FieldKind::Autodate { .. } => "autodate",
            FieldKind::Select { .. } => "select",
            FieldKind::Json { .. } => "json",
            FieldKind::Relation { .. } => "relation",
            FieldKind::GeoPoint {} => "geoPoint",
            FieldKind::Password { .. } => "password",
            FieldKind::File { .. } => "file",
        }
    }

    /// Whether a record holds a list of values for this field (select, relation and file
    /// with `maxSelect` above 1).
    pub fn is_multiple(&self) -> bool {
        match self {
            FieldKind::Select { max_select, .. }
            | FieldKind::Relation { max_select, .. }
            | FieldKind::File { max_select, .. } => *max_select > 1,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every field type as PocketBase 0.40.6 shows it in `GET /api/collections/{c}`.
    const POCKETBASE_FIELDS: &str = r#"[
        {"autogeneratePattern":"[a-z0-9]{15}","help":"","hidden":false,"id":"text3208210256","max":15,"min":15,"name":"id","pattern":"^[a-z0-9]+$","presentable":false,"primaryKey":true,"required":true,"system":true,"type":"text"},
        {"help":"","hidden":false,"id":"number2013832146","max":null,"min":null,"name":"n","onlyInt":false,"presentable":false,"required":false,"system":false,"type":"number"},
        {"help":"","hidden":false,"id":"bool1908338681","name":"b","presentable":false,"required":false,"system":false,"type":"bool"},
        {"exceptDomains":[],"help":"","hidden":false,"id":"email4024072794","name":"e","onlyDomains":[],"presentable":false,"required":false,"system":false,"type":"email"},
        {"exceptDomains":[],"help":"","hidden":false,"id":"url4067256894","name":"u","onlyDomains":[],"presentable":false,"required":false,"system":false,"type":"url"},
        {"convertURLs":false,"help":"","hidden":false,"id":"editor327952476","maxSize":0,"name":"ed","presentable":false,"required":false,"system":false,"type":"editor"},
        {"help":"","hidden":false,"id":"date2564639436","max":"","min":"","name":"d","presentable":false,"required":false,"system":false,"type":"date"},
        {"hidden":false,"id":"autodate2011229528","name":"ad","onCreate":true,"onUpdate":false,"presentable":false,"system":false,"type":"autodate"},
        {"help":"","hidden":false,"id":"select453955339","maxSelect":0,"name":"s","presentable":false,"required":false,"system":false,"type":"select","values":["a"]},
        {"help":"","hidden":false,"id":"json2137352139","maxSize":0,"name":"j","presentable":false,"required":false,"system":false,"type":"json"},
        {"cascadeDelete":false,"collectionId":"_pb_users_auth_","help":"","hidden":false,"id":"relation1812594589","maxSelect":0,"minSelect":0,"name":"r","presentable":false,"required":false,"system":false,"type":"relation"},
        {"help":"","hidden":false,"id":"geoPoint30677878","name":"g","presentable":false,"required":false,"system":false,"type":"geoPoint"},
        {"cost":0,"help":"","hidden":false,"id":"password2181537457","max":0,"min":0,"name":"p","pattern":"","presentable":false,"required":false,"system":false,"type":"password"}
    ]"#;

    #[test]
    fn every_field_type_round_trips_pocketbase_json() {
        let shown: Vec<Value> = serde_json::from_str(POCKETBASE_FIELDS).expect("fixture");
        for field in shown {
            let parsed: Field = serde_json::from_value(field.clone()).expect("field");
            assert_eq!(serde_json::to_value(&parsed).expect("serialise"), field);
        }
    }

    #[test]
    fn missing_options_take_pocketbase_defaults() {
        let cases = [
            (
                r#"{"name":"a","type":"text"}"#,
                r#"{"autogeneratePattern":"","max":0,"min":0,"pattern":"","primaryKey":false}"#,
            ),
            (
                r#"{"name":"a","type":"number"}"#,
                r#"{"max":null,"min":null,"onlyInt":false}"#,
            ),
            (
                r#"{"name":"a","type":"select","values":null}"#,
                r#"{"maxSelect":0,"values":[]}"#,
            ),
            (
                r#"{"name":"a","type":"autodate","help":"x","required":true}"#,
                r#"{"onCreate":false,"onUpdate":false}"#,
            ),
        ];
        let common = [
            "help",
            "hidden",
            "id",
            "name",
            "presentable",
            "required",
            "system",
            "type",
        ];
        for (input, options) in cases {
            let field: Field = serde_json::from_str(input).expect(input);
            let mut shown = serde_json::to_value(&field).expect("serialise");
            let object = shown.as_object_mut().expect("object");
            object.retain(|key, _| !common.contains(&key.as_str()));
            let expected: Value = serde_json::from_str(options).expect("expected");
            assert_eq!(shown, expected, "{input}");
        }
    }
}
