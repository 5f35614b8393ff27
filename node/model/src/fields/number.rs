//! Number fields: lenient casting, `min`/`max`/`onlyInt`, and PocketBase's number shape.

use crate::ValidationCode;
use serde_json::{json, Value};

use crate::field_error;

/// Whether `raw` is a string Go's float parser reads as infinity or NaN.
pub fn names_non_finite(raw: &Value) -> bool {
    let Value::String(text) = raw else {
        return false;
    };
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    ["inf", "infinity", "nan"]
        .iter()
        .any(|name| unsigned.eq_ignore_ascii_case(name))
}

/// A number from input; what does not read as a finite number is 0 (as Go's cast gives).
pub fn cast_number(raw: &Value) -> f64 {
    match raw {
        Value::Number(number) => number.as_f64().unwrap_or(0.0),
        Value::String(text) => text
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .unwrap_or(0.0),
        Value::Bool(flag) => f64::from(u8::from(*flag)),
        Value::Null | Value::Array(_) | Value::Object(_) => 0.0,
    }
}

/// Whole numbers are shown without a fraction, as PocketBase shows them.
pub fn number_value(number: f64) -> Value {
    const EXACT_INTEGER_MAX: f64 = 9_007_199_254_740_992.0;
    if number.fract() == 0.0 && number.abs() <= EXACT_INTEGER_MAX {
        json!(number as i64)
    } else {
        serde_json::Number::from_f64(number)
            .map(Value::Number)
            .unwrap_or(json!(0))
    }
}

pub fn validate(
    value: &Value,
    min: Option<f64>,
    max: Option<f64>,
    only_int: bool,
) -> Option<Value> {
    let number = value.as_f64().unwrap_or_default();
    if only_int && number.fract() != 0.0 {
        return Some(field_error(
            ValidationCode::OnlyIntConstraint,
            "Decimal numbers are not allowed.",
            None,
        ));
    }
    if let Some(min) = min.filter(|min| number < *min) {
        return Some(field_error(
            ValidationCode::MinNumberConstraint,
            format!("Must be greater or equal than {}.", number_value(min)),
            Some(json!({ "min": number_value(min) })),
        ));
    }
    if let Some(max) = max.filter(|max| number > *max) {
        return Some(field_error(
            ValidationCode::MaxNumberConstraint,
            format!("Must be less or equal than {}.", number_value(max)),
            Some(json!({ "max": number_value(max) })),
        ));
    }
    None
}
