//! A column value as SQLite would hold it in PocketBase's table (NULL, a number or text),
//! read from a record's JSON by the field's shape, and its order-preserving key encoding.

use std::cmp::Ordering;

use crate::index::definition::{Collation, Direction};
use crate::schema::{FieldInfo, FieldShape};

/// One column's value. Orders as SQLite does: NULL < numbers < text.
#[derive(Debug, Clone, PartialEq)]
pub enum IndexValue {
    Null,
    Number(f64),
    Text(String),
}

const KEY_NULL: u8 = 0x05;
const KEY_NUMBER: u8 = 0x10;
const KEY_TEXT: u8 = 0x20;

impl IndexValue {
    /// The value PocketBase's column holds for `field`, given the record's JSON value for it
    /// (`None` when the record lacks the field). Bools are 0/1 as in SQLite; json, multiple
    /// values and anything of an unexpected type are their JSON text. PocketBase's columns
    /// are `NOT NULL` with an empty default except json's, so a missing or null value reads
    /// as the empty value (`''`, `0`, `[]`) and only a json field can be NULL.
    pub fn from_field(field: &FieldInfo, json: Option<&serde_json::Value>) -> IndexValue {
        use serde_json::Value;
        let json = match json {
            None | Some(Value::Null) => return IndexValue::empty(field),
            Some(json) => json,
        };
        match (field.shape, json) {
            (FieldShape::Json, other) => IndexValue::Text(other.to_string()),
            (_, Value::Array(_)) if field.multiple => IndexValue::Text(json.to_string()),
            (FieldShape::Number, Value::Number(number)) => {
                number.as_f64().map_or(IndexValue::Null, IndexValue::Number)
            }
            (FieldShape::Bool, Value::Bool(flag)) => IndexValue::Number(f64::from(u8::from(*flag))),
            (_, Value::String(text)) => IndexValue::Text(text.clone()),
            (_, Value::Number(number)) => {
                number.as_f64().map_or(IndexValue::Null, IndexValue::Number)
            }
            (_, other) => IndexValue::Text(other.to_string()),
        }
    }

    /// The column's value for a record without the field.
    pub fn empty(field: &FieldInfo) -> IndexValue {
        match field.shape {
            FieldShape::Json => IndexValue::Null,
            _ if field.multiple => IndexValue::Text("[]".into()),
            FieldShape::Number | FieldShape::Bool => IndexValue::Number(0.0),
            FieldShape::Text | FieldShape::Date | FieldShape::Relation => {
                IndexValue::Text(String::new())
            }
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, IndexValue::Null)
    }

    /// SQLite's order between two non-NULL values under `collation`; `None` if either is NULL.
    pub fn compare(&self, other: &IndexValue, collation: Collation) -> Option<Ordering> {
        match (self, other) {
            (IndexValue::Null, _) | (_, IndexValue::Null) => None,
            (IndexValue::Number(a), IndexValue::Number(b)) => a.partial_cmp(b),
            (IndexValue::Number(_), IndexValue::Text(_)) => Some(Ordering::Less),
            (IndexValue::Text(_), IndexValue::Number(_)) => Some(Ordering::Greater),
            (IndexValue::Text(a), IndexValue::Text(b)) => Some(match collation {
                Collation::Binary => a.as_bytes().cmp(b.as_bytes()),
                Collation::NoCase => a.to_ascii_lowercase().cmp(&b.to_ascii_lowercase()),
            }),
        }
    }

    /// Append this value's key encoding: byte order of encodings equals SQLite's order of
    /// values under `collation` (reversed for a descending column). Every encoding is
    /// self-delimiting, so one is never a prefix of another.
    pub fn encode_key(&self, collation: Collation, direction: Direction, key: &mut Vec<u8>) {
        let start = key.len();
        match self {
            IndexValue::Null => key.push(KEY_NULL),
            IndexValue::Number(number) => {
                key.push(KEY_NUMBER);
                key.extend_from_slice(&sortable_f64(*number));
            }
            IndexValue::Text(text) => {
                key.push(KEY_TEXT);
                let folded;
                let bytes = match collation {
                    Collation::Binary => text.as_bytes(),
                    Collation::NoCase => {
                        folded = text.to_ascii_lowercase();
                        folded.as_bytes()
                    }
                };
                for byte in bytes {
                    key.push(*byte);
                    if *byte == 0 {
                        key.push(0xFF);
                    }
                }
                key.extend_from_slice(&[0x00, 0x01]);
            }
        }
        if direction == Direction::Descending {
            for byte in &mut key[start..] {
                *byte = !*byte;
            }
        }
    }
}

/// Big-endian bytes whose unsigned order is the numeric order of `number` (-0 equals 0).
fn sortable_f64(number: f64) -> [u8; 8] {
    let number = if number == 0.0 { 0.0 } else { number };
    let bits = number.to_bits();
    let ordered = if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    };
    ordered.to_be_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(value: &IndexValue, collation: Collation, direction: Direction) -> Vec<u8> {
        let mut key = Vec::new();
        value.encode_key(collation, direction, &mut key);
        key
    }

    #[test]
    fn key_order_matches_value_order() {
        let values = [
            IndexValue::Null,
            IndexValue::Number(f64::NEG_INFINITY),
            IndexValue::Number(-10.5),
            IndexValue::Number(-1.0),
            IndexValue::Number(0.0),
            IndexValue::Number(1e-9),
            IndexValue::Number(2.0),
            IndexValue::Number(1e300),
            IndexValue::Text(String::new()),
            IndexValue::Text("\0".into()),
            IndexValue::Text("\0\0".into()),
            IndexValue::Text("A".into()),
            IndexValue::Text("a".into()),
            IndexValue::Text("a\0b".into()),
            IndexValue::Text("ab".into()),
            IndexValue::Text("é".into()),
        ];
        for direction in [Direction::Ascending, Direction::Descending] {
            for pair in values.windows(2) {
                let (low, high) = (
                    encoded(&pair[0], Collation::Binary, direction),
                    encoded(&pair[1], Collation::Binary, direction),
                );
                let expected = match direction {
                    Direction::Ascending => Ordering::Less,
                    Direction::Descending => Ordering::Greater,
                };
                assert_eq!(low.cmp(&high), expected, "{pair:?} {direction:?}");
                assert!(
                    !high.starts_with(&low) && !low.starts_with(&high),
                    "{pair:?}"
                );
            }
        }
        assert_eq!(
            encoded(
                &IndexValue::Number(-0.0),
                Collation::Binary,
                Direction::Ascending
            ),
            encoded(
                &IndexValue::Number(0.0),
                Collation::Binary,
                Direction::Ascending
            )
        );
        assert_eq!(
            encoded(
                &IndexValue::Text("ÀbC".into()),
                Collation::NoCase,
                Direction::Ascending
            ),
            encoded(
                &IndexValue::Text("Àbc".into()),
                Collation::NoCase,
                Direction::Ascending
            )
        );
    }

    #[test]
    fn reads_values_by_field_shape() {
        use serde_json::json;
        let field = |type_name: &str, shape: FieldShape, multiple: bool| FieldInfo {
            id: "f".into(),
            name: "f".into(),
            type_name: type_name.into(),
            shape,
            multiple,
            relation_collection_id: None,
            cascade_delete: false,
            hidden: false,
        };
        let check = |field: FieldInfo, json: Option<serde_json::Value>, expected: IndexValue| {
            assert_eq!(IndexValue::from_field(&field, json.as_ref()), expected);
        };
        check(
            field("text", FieldShape::Text, false),
            None,
            IndexValue::Text(String::new()),
        );
        check(
            field("number", FieldShape::Number, false),
            Some(json!(null)),
            IndexValue::Number(0.0),
        );
        check(
            field("select", FieldShape::Text, true),
            None,
            IndexValue::Text("[]".into()),
        );
        check(
            field("text", FieldShape::Text, false),
            Some(json!("")),
            IndexValue::Text(String::new()),
        );
        check(
            field("number", FieldShape::Number, false),
            Some(json!(5)),
            IndexValue::Number(5.0),
        );
        check(
            field("bool", FieldShape::Bool, false),
            Some(json!(true)),
            IndexValue::Number(1.0),
        );
        check(
            field("json", FieldShape::Json, false),
            Some(json!(null)),
            IndexValue::Null,
        );
        check(
            field("json", FieldShape::Json, false),
            Some(json!({"a": [1, "x"]})),
            IndexValue::Text(r#"{"a":[1,"x"]}"#.into()),
        );
        check(
            field("relation", FieldShape::Relation, true),
            Some(json!(["a", "b"])),
            IndexValue::Text(r#"["a","b"]"#.into()),
        );
    }
}
