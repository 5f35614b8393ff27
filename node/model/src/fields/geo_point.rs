//! geoPoint fields: `{"lon": x, "lat": y}`, read strictly (numbers only) and bounded.

use crate::ValidationCode;
use serde_json::{json, Map, Value};

use crate::field_error;

pub fn zero() -> Value {
    json!({"lon": 0, "lat": 0})
}

pub fn is_zero(value: &Value) -> bool {
    let coordinate = |key: &str| value.get(key).and_then(Value::as_f64).unwrap_or(0.0);
    coordinate("lon") == 0.0 && coordinate("lat") == 0.0
}

/// An object (or a string holding one) whose `lon`/`lat` are numbers or null; anything
/// else is the zero point, as Go's strict decoding leaves it.
pub fn cast(raw: &Value) -> Value {
    let parsed;
    let object = match raw {
        Value::Object(map) => map,
        Value::String(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => {
                parsed = map;
                &parsed
            }
            _ => return zero(),
        },
        _ => return zero(),
    };
    point(object).unwrap_or_else(zero)
}

fn point(object: &Map<String, Value>) -> Option<Value> {
    let coordinate = |key: &str| -> Option<Value> {
        match object.get(key) {
            None | Some(Value::Null) => Some(json!(0)),
            Some(Value::Number(number)) => Some(Value::Number(number.clone())),
            Some(_) => None,
        }
    };
    Some(json!({"lon": coordinate("lon")?, "lat": coordinate("lat")?}))
}

pub fn validate(value: &Value) -> Option<Value> {
    let lat = value.get("lat").and_then(Value::as_f64).unwrap_or(0.0);
    let lon = value.get("lon").and_then(Value::as_f64).unwrap_or(0.0);
    if !(-90.0..=90.0).contains(&lat) {
        return Some(field_error(
            ValidationCode::InvalidLatitude,
            "Latitude must be between -90 and 90 degrees.",
            None,
        ));
    }
    if !(-180.0..=180.0).contains(&lon) {
        return Some(field_error(
            ValidationCode::InvalidLongitude,
            "Longitude must be between -180 and 180 degrees.",
            None,
        ));
    }
    None
}
