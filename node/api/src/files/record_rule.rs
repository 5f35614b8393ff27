//! Whether one of a collection's rules admits a caller to one stored record, evaluated on
//! that record alone (superusers always pass): a protected file's view rule, a resumable
//! upload's update rule.

use edgebase_service::app::{App, LoadedCollection};
use edgebase_service::caller::Caller;
use edgebase_storage::query::RuleSubject;
use edgebase_storage::{Rule, StoredRecord};
use serde_json::Map;

use crate::error::ApiError;

pub fn rule_admits(
    app: &App,
    rule: &Rule,
    caller: &Caller,
    stored: &StoredRecord,
) -> Result<bool, ApiError> {
    if caller.is_superuser() {
        return Ok(true);
    }
    let filter = match rule {
        Rule::SuperusersOnly | Rule::Unparsable(_) => return Ok(false),
        Rule::Everyone => return Ok(true),
        Rule::Filter(expr) => edgebase_storage::FilterPart::new(
            expr.clone(),
            edgebase_storage::FilterAccess::Unrestricted,
        ),
    };
    let context = caller.context(&Map::new());
    let check = caller.budget().run(|allowance| {
        app.state().check_record(
            RuleSubject::Stored(stored),
            std::slice::from_ref(&filter),
            &context,
            allowance,
        )
    })?;
    Ok(check.matched)
}

/// The view rule of `loaded` for `stored`.
pub fn may_view(
    app: &App,
    loaded: &LoadedCollection,
    caller: &Caller,
    stored: &StoredRecord,
) -> Result<bool, ApiError> {
    rule_admits(app, &loaded.rules().view, caller, stored)
}
