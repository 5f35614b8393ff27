//! A collection's compiled API rules as a request meets them. Rules are parsed once per
//! collection version (`edgebase_storage::CompiledCollection`); this only says what a parsed
//! rule asks of a caller who is not a superuser.

use edgebase_storage::{FilterAccess, FilterPart, Rule};

use crate::error::ServiceError;

/// What a rule asks of a caller who is not a superuser.
#[derive(Debug, Clone)]
pub enum Gate {
    /// `null`: only superusers pass.
    SuperusersOnly,
    /// `""`: everyone passes.
    Everyone,
    /// The record must match this filter (written by the collection's owner, so it may name
    /// hidden fields).
    Filter(FilterPart),
}

/// The gate of a stored rule; a rule that does not parse (saved before rules were checked)
/// answers PocketBase's generic 400.
pub fn gate(rule: &Rule) -> Result<Gate, ServiceError> {
    match rule {
        Rule::SuperusersOnly => Ok(Gate::SuperusersOnly),
        Rule::Everyone => Ok(Gate::Everyone),
        Rule::Filter(expr) => Ok(Gate::Filter(FilterPart::new(
            expr.clone(),
            FilterAccess::Unrestricted,
        ))),
        Rule::Unparsable(error) => {
            tracing::warn!(%error, "a stored API rule does not parse");
            Err(ServiceError::invalid_body())
        }
    }
}

/// The filter of a rule that is a filter; `None` for every other rule (the callers that
/// use this treat those alike).
pub fn filter_of(rule: &Rule) -> Option<FilterPart> {
    match rule {
        Rule::Filter(expr) => Some(FilterPart::new(expr.clone(), FilterAccess::Unrestricted)),
        _ => None,
    }
}
