//! Whether a subscriber may receive a change, and what it receives: the collection's rule
//! (list for `/*`, view for one record; superusers pass any) and the subscription's own
//! `filter`, evaluated on the changed document in memory, then the record as that caller
//! may see it, with the subscription's `expand` and `fields`.

use edgebase_model::fields_param::FieldsPicker;
use edgebase_model::record_values::Document;
use edgebase_service::app::{App, LoadedCollection};
use edgebase_service::caller::Caller;
use edgebase_service::expand::Expander;
use edgebase_service::rules::{gate, Gate};
use edgebase_storage::query::{parse_filter, FilterPart, RuleSubject};
use edgebase_storage::Rule;
use serde_json::{Map, Value};

use crate::topic::Subscription;

/// Whether `caller` may receive `doc` (record `id` of `loaded`) under `rule` and the
/// subscription's filter. Anything that fails to evaluate is a refusal, as in PocketBase.
pub fn admits(
    app: &App,
    loaded: &LoadedCollection,
    caller: &Caller,
    rule: &Rule,
    subscription: &Subscription,
    id: &str,
    doc: &Document,
) -> bool {
    let mut filters: Vec<FilterPart> = Vec::new();
    if !caller.is_superuser() {
        match gate(rule) {
            Ok(Gate::Everyone) => {}
            Ok(Gate::Filter(filter)) => filters.push(filter),
            Ok(Gate::SuperusersOnly) | Err(_) => return false,
        }
    }
    if let Some(filter) = subscription.option("filter") {
        if caller.check_query_fields().is_err() {
            return false;
        }
        match parse_filter(filter) {
            Ok(Some(expr)) => filters.push(FilterPart::new(expr, caller.filter_access())),
            Ok(None) => {}
            Err(_) => return false,
        }
    }
    if filters.is_empty() {
        return true;
    }
    let subject = RuleSubject::Document {
        collection_id: &loaded.collection.id,
        id,
        doc,
    };
    let context = caller.context(&Map::new());
    let checked = caller.budget().run(|allowance| {
        app.state()
            .check_record(subject, &filters, &context, allowance)
    });
    matches!(checked, Ok(check) if check.matched)
}

/// The record `caller` receives: shown as it may see it, expanded and picked as the
/// subscription asks (an expand or fields that fail leave the record as it is, as in
/// PocketBase).
pub fn shaped(
    app: &App,
    loaded: &LoadedCollection,
    caller: &Caller,
    subscription: &Subscription,
    doc: &Document,
) -> Option<Map<String, Value>> {
    let record = caller.shown_checked(app, loaded, doc).ok()?;
    let mut records = [record];
    if let Some(expand) = subscription.option("expand") {
        if let Err(error) =
            Expander::new(app, caller).expand(&loaded.collection, &mut records, expand)
        {
            tracing::debug!(%error, topic = %subscription.topic, "realtime expand failed");
        }
    }
    let [mut record] = records;
    if let Some(fields) = subscription.option("fields") {
        match FieldsPicker::parse(fields) {
            Ok(Some(picker)) => picker.apply(&mut record),
            Ok(None) => {}
            Err(error) => {
                tracing::debug!(%error, topic = %subscription.topic, "realtime fields failed")
            }
        }
    }
    Some(record)
}
