//! `/api/collections/{collection}/records`: record CRUD and lists, PocketBase-shaped, with
//! filters, sorts, expands and API rules.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use edgebase_hooks::{Hooks, RecordAction};
use edgebase_service::rules::{self, Gate};
use edgebase_storage::idempotency::IdempotencyEntry;
use edgebase_storage::query::{
    parse_filter, parse_sort, FilterPart, ListRequest, QueryError, RuleSubject, TotalCount,
};
use edgebase_storage::{CommandResult, Rejection, Rule};
use futures::future::BoxFuture;
use serde_json::{Map, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::client_address::ClientAddress;
use crate::conditional::{if_match, with_etag};
use crate::consistency::{with_index, Fresh};
use crate::error::ApiError;
use crate::files::record_body::{read_record_body, RecordBody};
use crate::hooks_model::{around_save, with_collection};
use crate::hooks_replan::until_settled;
use crate::hooks_requests::{around_read, around_write, HookedRequest, WriteAction};
use crate::idempotency;
use crate::paging::ListQuery;
use edgebase_model::fields::file::Uploads;
use edgebase_model::record_values::text;
use edgebase_service::app::{App, LoadedCollection, Settled};
use edgebase_service::caller::Caller;
use edgebase_service::error::ServiceError;
use edgebase_service::expand::Expander;
use edgebase_service::files;
use edgebase_service::hooks_outbox::{self, OutboxEntry};
use edgebase_service::idempotency::{IdempotentWrite, Prior};
use edgebase_service::precondition::VersionPrecondition;
use edgebase_service::record_writes::{
    decode, rule_admits, Answer, Pending, Planned, Planner, Verdict,
};
use edgebase_service::superusers;

fn collection_context(app: &App, id_or_name: &str) -> Result<LoadedCollection, ApiError> {
    app.collection(id_or_name)?
        .ok_or_else(ApiError::missing_collection)
}

/// The `expand` parameter of any request (lists, views and writes all honour it).
fn expand_param(uri: &Uri) -> Option<String> {
    Query::<ListQuery>::try_from_uri(uri)
        .ok()
        .and_then(|Query(query)| query.expand)
        .filter(|expand| !expand.trim().is_empty())
}

/// The filter a rule adds for a non-superuser: `Err` when the rule is superusers-only.
fn rule_filter(caller: &Caller, rule: &Rule) -> Result<Option<FilterPart>, ApiError> {
    if caller.is_superuser() {
        return Ok(None);
    }
    match rules::gate(rule)? {
        Gate::SuperusersOnly => Err(ApiError::superusers_only()),
        Gate::Everyone => Ok(None),
        Gate::Filter(filter) => Ok(Some(filter)),
    }
}

#[allow(clippy::too_many_arguments)] // axum extractors
pub async fn list(
    State(app): State<App>,
    Extension(hooks): Extension<Hooks>,
    ClientAddress(remote_ip): ClientAddress,
    _fresh: Fresh,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path(collection): Path<String>,
    Query(query): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let loaded = collection_context(&app, &collection)?;
    let caller = crate::identity::caller(&app, &method, &uri, &headers)?;
    caller.check_query_fields()?;
    let mut filters: Vec<FilterPart> = rule_filter(&caller, &loaded.rules().list)?
        .into_iter()
        .collect();
    if let Some(expr) =
        parse_filter(query.filter.as_deref().unwrap_or_default()).map_err(QueryError::from)?
    {
        filters.push(FilterPart::new(expr, caller.filter_access()));
    }
    let sort = parse_sort(query.sort.as_deref().unwrap_or_default())?;
    let page = query.page()?;
    let request = ListRequest {
        collection_id: loaded.collection.id.clone(),
        filters,
        sort,
        sort_access: caller.filter_access(),
        offset: page.offset(),
        limit: page.per_page,
        total: if page.skip_total {
            TotalCount::Skip
        } else {
            TotalCount::Count
        },
        context: caller.context(&Map::new()),
        records_examined_max: app.limits().records_examined_max,
        random_seed: rand::random(),
    };
    // A list may scan many records: keep it off the async workers.
    let state = app.state().clone();
    let budget = caller.budget().clone();
    let found = tokio::task::spawn_blocking(move || {
        budget.run(|allowance| {
            state.list_records(&ListRequest {
                records_examined_max: allowance,
                ..request
            })
        })
    })
    .await
    .map_err(|error| {
        tracing::error!(%error, "list task failed");
        ApiError::internal()
    })??;
    let mut items = found
        .records
        .iter()
        .map(|stored| caller.shown_checked(&app, &loaded, &decode(stored)?))
        .collect::<Result<Vec<Map<String, Value>>, edgebase_service::ServiceError>>()?;
    if let Some(expand) = query.expand.as_deref() {
        Expander::new(&app, &caller).expand(&loaded.collection, &mut items, expand)?;
    }
    let body = page.result(items, found.total);
    if hooks.handles("onRecordsListRequest", &loaded.collection.name) {
        let result = serde_json::to_value(&body)
            .map_err(|error| ServiceError::internal_from("encode a page", error))?;
        let request = HookedRequest::new(&app, &caller, remote_ip, &method, &uri, &headers);
        let found = ("result", result);
        if let Some(answer) =
            around_read(&hooks, "onRecordsListRequest", &loaded, request, found).await
        {
            return answer;
        }
    }
    // The index header is set after the read (see `consistency::index_header`).
    Ok(Json(body).into_response())
}

#[allow(clippy::too_many_arguments)] // axum extractors
pub async fn view(
    State(app): State<App>,
    Extension(hooks): Extension<Hooks>,
    ClientAddress(remote_ip): ClientAddress,
    _fresh: Fresh,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path((collection, record_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let loaded = collection_context(&app, &collection)?;
    let caller = crate::identity::caller(&app, &method, &uri, &headers)?;
    caller.check_query_fields()?;
    let rule = rule_filter(&caller, &loaded.rules().view)?;
    let stored = app
        .state()
        .record(&loaded.collection.id, &record_id)?
        .ok_or_else(ApiError::not_found)?;
    if let Some(rule) = rule {
        let context = caller.context(&Map::new());
        let check = caller.budget().run(|allowance| {
            app.state().check_record(
                RuleSubject::Stored(&stored),
                std::slice::from_ref(&rule),
                &context,
                allowance,
            )
        })?;
        if !check.matched {
            return Err(ApiError::not_found());
        }
    }
    let mut record = [caller.shown_checked(&app, &loaded, &decode(&stored)?)?];
    if let Some(expand) = expand_param(&uri) {
        Expander::new(&app, &caller).expand(&loaded.collection, &mut record, &expand)?;
    }
    let [record] = record;
    if hooks.handles("onRecordViewRequest", &loaded.collection.name) {
        let request = HookedRequest::new(&app, &caller, remote_ip, &method, &uri, &headers);
        let found = ("record", Value::Object(record.clone()));
        if let Some(answer) =
            around_read(&hooks, "onRecordViewRequest", &loaded, request, found).await
        {
            return answer.map(|response| with_etag(response, stored.version));
        }
    }
    Ok(with_etag(Json(record).into_response(), stored.version))
}

/// The first answer of a keyed record write again: its record expanded as this request
/// asks, with the version and index of the entry that wrote it.
fn replay(
    app: &App,
    caller: &Caller,
    uri: &Uri,
    loaded: &LoadedCollection,
    entry: &IdempotencyEntry,
) -> Result<Response, ApiError> {
    let body = match (entry.answer.body.is_empty(), expand_param(uri)) {
        (false, Some(expand)) => {
            let record: Map<String, Value> = serde_json::from_slice(&entry.answer.body)
                .map_err(|error| ServiceError::internal_from("decode a kept answer", error))?;
            let mut records = [record];
            Expander::new(app, caller).expand(&loaded.collection, &mut records, &expand)?;
            let [record] = records;
            serde_json::to_vec(&record)
                .map_err(|error| ServiceError::internal_from("encode an answer", error))?
        }
        _ => entry.answer.body.clone(),
    };
    let is_record = !body.is_empty();
    let response = idempotency::replayed(entry, body)?;
    Ok(if is_record {
        with_etag(response, entry.index)
    } else {
        response
    })
}

/// Which write a request asks for.
#[derive(Clone, Copy)]
pub(crate) enum WriteKind<'a> {
    Create,
    Update(&'a str),
    Delete(&'a str),
}

/// Plan, propose and answer one record write, planning again (a bounded number of times)
/// when something the plan relied on changed before it applied.
#[allow(clippy::too_many_arguments)] // The write, and the two conditions a request may add.
pub(crate) async fn write(
    app: &App,
    caller: &Caller,
    uri: &Uri,
    loaded: &LoadedCollection,
    kind: WriteKind<'_>,
    body: &RecordBody,
    precondition: Option<&VersionPrecondition>,
    keyed: Option<&IdempotentWrite>,
    outbox: Option<&(String, OutboxEntry)>,
    stale: Option<&AtomicBool>,
) -> Result<Response, ApiError> {
    if let Some(keyed) = keyed {
        match keyed.prior(app)? {
            Prior::Unused => {}
            Prior::Applied(entry) => return replay(app, caller, uri, loaded, &entry),
            Prior::OtherRequest => return Err(idempotency::reused()),
        }
    }
    let pending = Pending::default();
    let planner = Planner {
        app,
        caller,
        pending: &pending,
        uploads: &body.uploads,
        precondition,
    };
    let planner = &planner;
    let data = &body.data;
    // With hooks around it, a write makes one attempt: a stale condition sends it back to its
    // hooks (`stale` says so), which run again before it is planned again.
    let attempts = match stale {
        Some(_) => 1,
        None => app.limits().write_attempts_max,
    };
    let outcome = app
        .propose_planned_within(
            attempts,
            "The record changed concurrently too many times; retry.",
            move || async move {
                let mut planned: Planned = match kind {
                    WriteKind::Create => planner.create(loaded, data).await?,
                    WriteKind::Update(id) => planner.update(loaded, id, data).await?,
                    WriteKind::Delete(id) => planner.delete(loaded, id).await?,
                };
                // Only a write whose files a majority of voters hold may be proposed.
                files::replicate_uploads(app, &planned, planner.uploads).await?;
                if let Some((id, entry)) = outbox {
                    let mut entry = entry.clone();
                    if let Some(doc) = planned
                        .effects
                        .iter()
                        .find(|effect| effect.collection_id == loaded.collection.id)
                        .and_then(|effect| effect.doc.clone())
                    {
                        entry.record_id = text(&doc, "id");
                        entry.record = with_collection(doc, loaded);
                    }
                    // The entry joins the plan's own commands, applied as one batch.
                    planned.commands.push(hooks_outbox::put(id, &entry)?);
                }
                let command = match keyed {
                    None => planned.command(),
                    Some(keyed) => {
                        let (status, body) = match &planned.answer {
                            Answer::NoContent => (StatusCode::NO_CONTENT, Vec::new()),
                            Answer::Record(record) => (
                                StatusCode::OK,
                                serde_json::to_vec(record).map_err(|error| {
                                    ApiError::from(ServiceError::internal_from(
                                        "encode an answer",
                                        error,
                                    ))
                                })?,
                            ),
                        };
                        keyed.wrap(planned.command(), status.as_u16(), body)
                    }
                };
                Ok::<_, ApiError>((command, planned))
            },
            |planned, outcome| match outcome.result {
                // Another attempt with this key applied first: its answer is here now.
                CommandResult::Rejected(Rejection::IdempotencyKeyUsed { .. }) => {
                    let keyed = keyed.ok_or_else(|| {
                        ApiError::from(ServiceError::internal("an unkeyed write met a key"))
                    })?;
                    match keyed.prior(app)? {
                        Prior::Applied(entry) => {
                            Ok(Settled::Done(replay(app, caller, uri, loaded, &entry)?))
                        }
                        Prior::OtherRequest => Err(idempotency::reused()),
                        Prior::Unused => Ok(Settled::Replan),
                    }
                }
                CommandResult::Applied { .. } => {
                    let response = match planned.answer {
                        Answer::NoContent => StatusCode::NO_CONTENT.into_response(),
                        Answer::Record(record) => {
                            let mut record = [record];
                            if let Some(expand) = expand_param(uri) {
                                Expander::new(app, caller).expand(
                                    &loaded.collection,
                                    &mut record,
                                    &expand,
                                )?;
                            }
                            let [record] = record;
                            // The record's version is the index of the entry that wrote it.
                            with_etag(Json(record).into_response(), outcome.index)
                        }
                    };
                    Ok(Settled::Done(with_index(response, outcome.index)))
                }
                CommandResult::Rejected(rejection) => match planned.verdict(&rejection) {
                    Verdict::Failed(error) => Err(error.into()),
                    Verdict::Stale => {
                        tracing::debug!(
                            ?rejection,
                            "a record changed concurrently; planning again"
                        );
                        // With one attempt, this refusal ends the write: its hooks run again.
                        if let Some(stale) = stale {
                            stale.store(true, Ordering::SeqCst);
                        }
                        Ok(Settled::Replan)
                    }
                },
            },
        )
        .await;
    match outcome {
        Err(refusal) => match idempotency::applied_after_all(app, keyed, &refusal).await? {
            Some(entry) => replay(app, caller, uri, loaded, &entry),
            None => Err(refusal),
        },
        answered => answered,
    }
}

/// Which write a hook chain's default action makes (owned, to outlive the request).
enum OwnedKind {
    Create,
    Update(String),
    Delete(String),
}

impl OwnedKind {
    fn action(&self) -> RecordAction {
        match self {
            OwnedKind::Create => RecordAction::Create,
            OwnedKind::Update(_) => RecordAction::Update,
            OwnedKind::Delete(_) => RecordAction::Delete,
        }
    }
}

/// A write's parts, owned, so it can run later as a hook chain's default action.
struct WriteParts {
    hooks: Hooks,
    app: App,
    caller: Caller,
    uri: Uri,
    loaded: LoadedCollection,
    precondition: Option<VersionPrecondition>,
    keyed: Option<IdempotentWrite>,
    /// The outbox entry the write carries, when at-least-once after-success hooks follow it.
    outbox: Option<(String, OutboxEntry)>,
    /// Set when the write's one attempt met a stale condition (its hooks then run again).
    stale: Option<Arc<AtomicBool>>,
    /// The version of the record the hooks saw: with no `If-Match` of the request's own, the
    /// write applies only at it (a change since sends the write back to its hooks).
    pinned: Option<u64>,
}

impl WriteParts {
    fn new(
        hooks: &Hooks,
        app: &App,
        caller: &Caller,
        uri: &Uri,
        loaded: &LoadedCollection,
        precondition: Option<VersionPrecondition>,
        keyed: Option<IdempotentWrite>,
    ) -> WriteParts {
        WriteParts {
            hooks: hooks.clone(),
            app: app.clone(),
            caller: caller.clone(),
            uri: uri.clone(),
            loaded: loaded.clone(),
            precondition,
            keyed,
            outbox: None,
            stale: None,
            pinned: None,
        }
    }

    /// The write made in one pass of its hooks (`stale` set when it met a stale condition),
    /// at the version of the record they saw.
    fn in_pass(mut self, stale: Option<Arc<AtomicBool>>, pinned: Option<u64>) -> WriteParts {
        self.stale = stale;
        self.pinned = pinned;
        self
    }

    /// The write of `kind` with `uploads`, whose fields `fields_of` takes from the record
    /// the hooks left, inside the model hooks (the record exists, or is to be created).
    fn action(
        self,
        kind: OwnedKind,
        uploads: Uploads,
        fields_of: impl FnOnce(Map<String, Value>) -> Map<String, Value> + Send + 'static,
    ) -> WriteAction {
        Box::new(move |record| {
            Box::pin(async move {
                let mut parts = self;
                let hooks = parts.hooks.clone();
                let app = parts.app.clone();
                let loaded = parts.loaded.clone();
                let action = kind.action();
                let record_id = match &kind {
                    OwnedKind::Create => String::new(),
                    OwnedKind::Update(id) | OwnedKind::Delete(id) => id.clone(),
                };
                parts.outbox = hooks.outbox_entry(
                    action,
                    &loaded,
                    &record_id,
                    with_collection(record.clone(), &loaded),
                );
                let outbox_id = parts.outbox.as_ref().map(|(id, _)| id.clone());
                let write = parts.write_only(kind, uploads, fields_of);
                let answer = around_save(&hooks, &app, action, &loaded, record, write).await;
                let delivery = outbox_id.filter(|_| answer.is_ok());
                if let Some(id) = delivery {
                    hooks.deliver(&app, &id).await;
                }
                answer
            })
        })
    }

    /// The write alone, with no hooks around it (a missing record is refused as PocketBase
    /// refuses it, before any hook).
    fn write_only(
        self,
        kind: OwnedKind,
        uploads: Uploads,
        fields_of: impl FnOnce(Map<String, Value>) -> Map<String, Value> + Send + 'static,
    ) -> WriteAction {
        Box::new(move |record| {
            Box::pin(async move {
                let body = RecordBody {
                    data: fields_of(record),
                    uploads,
                };
                let kind = match &kind {
                    OwnedKind::Create => WriteKind::Create,
                    OwnedKind::Update(id) => WriteKind::Update(id),
                    OwnedKind::Delete(id) => WriteKind::Delete(id),
                };
                let pinned = match (&self.precondition, self.pinned, &self.stale) {
                    (None, Some(version), Some(_)) => {
                        Some(VersionPrecondition::OneOf(vec![version]))
                    }
                    _ => None,
                };
                let precondition = pinned.as_ref().or(self.precondition.as_ref());
                let answer = write(
                    &self.app,
                    &self.caller,
                    &self.uri,
                    &self.loaded,
                    kind,
                    &body,
                    precondition,
                    self.keyed.as_ref(),
                    self.outbox.as_ref(),
                    self.stale.as_deref(),
                )
                .await;
                // The record changed after the hooks saw it: they run again.
                if let (Some(_), Some(stale), Err(error)) = (&pinned, &self.stale, &answer) {
                    if error.status == StatusCode::PRECONDITION_FAILED {
                        stale.store(true, Ordering::SeqCst);
                    }
                }
                answer
            })
        })
    }
}

#[allow(clippy::too_many_arguments)] // axum extractors
pub async fn create(
    State(app): State<App>,
    Extension(hooks): Extension<Hooks>,
    ClientAddress(remote_ip): ClientAddress,
    _fresh: Fresh,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path(collection): Path<String>,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let loaded = app
        .collection_for_write(&collection)
        .await?
        .ok_or_else(ApiError::missing_or_invalid_collection)?;
    let caller = crate::identity::caller(&app, &method, &uri, &headers)?;
    let input = read_record_body(app.consensus().blobs(), &loaded, &caller, &headers, body).await?;
    let keyed = keyed_record_write(&caller, &headers, &method, &uri, &input)?;
    let RecordBody { data, uploads } = input;
    let tag = loaded.collection.name.as_str();
    let hooked = hooks.handles("onRecordCreateRequest", tag)
        || hooks.handles_model(RecordAction::Create, tag);
    let pass = |stale: Option<Arc<AtomicBool>>| -> BoxFuture<'_, Result<Response, ApiError>> {
        let parts = WriteParts::new(&hooks, &app, &caller, &uri, &loaded, None, keyed.clone())
            .in_pass(stale, None);
        let action = parts.action(OwnedKind::Create, uploads.clone(), |record| record);
        let request = HookedRequest::new(&app, &caller, remote_ip.clone(), &method, &uri, &headers);
        Box::pin(around_write(
            &hooks,
            "onRecordCreateRequest",
            &loaded,
            request,
            data.clone(),
            action,
        ))
    };
    let created = until_settled(&app, hooked, pass).await?;
    // The first real superuser retires the installer's stand-in (PocketBase's first run).
    if loaded.collection.name == superusers::SUPERUSERS_NAME && created.status().is_success() {
        superusers::remove_installer(&app).await?;
    }
    Ok(created)
}

#[allow(clippy::too_many_arguments)] // axum extractors
pub async fn update(
    State(app): State<App>,
    Extension(hooks): Extension<Hooks>,
    ClientAddress(remote_ip): ClientAddress,
    _fresh: Fresh,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path((collection, record_id)): Path<(String, String)>,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let loaded = app
        .collection_for_write(&collection)
        .await?
        .ok_or_else(ApiError::missing_or_invalid_collection)?;
    let caller = crate::identity::caller(&app, &method, &uri, &headers)?;
    let precondition = if_match(&headers)?;
    let input = read_record_body(app.consensus().blobs(), &loaded, &caller, &headers, body).await?;
    let keyed = keyed_record_write(&caller, &headers, &method, &uri, &input)?;
    let RecordBody { data, uploads } = input;
    let tag = loaded.collection.name.as_str();
    let hooked = hooks.handles("onRecordUpdateRequest", tag)
        || hooks.handles_model(RecordAction::Update, tag);
    let pass = |stale: Option<Arc<AtomicBool>>| -> BoxFuture<'_, Result<Response, ApiError>> {
        // The hooks see the stored record with the request's fields over it; the write gets
        // the request's fields and whatever the hooks changed.
        let check = hooked.then_some(RuleFirst::Update(&data));
        let found = match record_before_hooks(&app, &caller, &loaded, &record_id, check) {
            Ok(found) => found,
            Err(error) => return Box::pin(async move { Err(error) }),
        };
        let missing = found.is_none();
        let (stored, version) =
            found.map_or((Map::new(), None), |(doc, version)| (doc, Some(version)));
        let mut seen = stored.clone();
        seen.extend(data.clone());
        let parts = WriteParts::new(
            &hooks,
            &app,
            &caller,
            &uri,
            &loaded,
            precondition.clone(),
            keyed.clone(),
        )
        .in_pass(stale, version);
        let data = data.clone();
        let fields_of = move |hooked: Map<String, Value>| {
            hooked
                .into_iter()
                .filter(|(name, value)| data.contains_key(name) || stored.get(name) != Some(value))
                .collect()
        };
        let kind = OwnedKind::Update(record_id.clone());
        if missing {
            // Answered without the hooks, as in PocketBase.
            return parts.write_only(kind, uploads.clone(), fields_of)(seen);
        }
        let action = parts.action(kind, uploads.clone(), fields_of);
        let request = HookedRequest::new(&app, &caller, remote_ip.clone(), &method, &uri, &headers);
        Box::pin(around_write(
            &hooks,
            "onRecordUpdateRequest",
            &loaded,
            request,
            seen,
            action,
        ))
    };
    until_settled(&app, hooked, pass).await
}

/// Which rule a hooked write checks before its hooks run.
enum RuleFirst<'a> {
    /// The update rule, with the request's fields as `@request.body`.
    Update(&'a Map<String, Value>),
    Delete,
}

/// A record's fields and version.
type StoredDoc = (Map<String, Value>, u64);

/// The record an update or delete is about, as this node has it now (fields and version).
/// With hooks around the write (`check`), the collection's rule is checked first, as
/// PocketBase does: a refused caller gets its 404 (or the 403 of a superusers-only rule) and
/// runs no hook.
fn record_before_hooks(
    app: &App,
    caller: &Caller,
    loaded: &LoadedCollection,
    record_id: &str,
    check: Option<RuleFirst<'_>>,
) -> Result<Option<StoredDoc>, ApiError> {
    let found = app
        .state()
        .record(&loaded.collection.id, record_id)?
        .map(|stored| decode(&stored).map(|doc| (doc, stored.version)))
        .transpose()?;
    let (Some((doc, _)), Some(check)) = (&found, check) else {
        return Ok(found);
    };
    let no_body = Map::new();
    let (body, delete) = match check {
        RuleFirst::Update(body) => (body, false),
        RuleFirst::Delete => (&no_body, true),
    };
    if rule_admits(app, caller, loaded, record_id, doc, body, delete)? {
        Ok(found)
    } else {
        Err(ApiError::not_found())
    }
}

#[allow(clippy::too_many_arguments)] // axum extractors
pub async fn delete(
    State(app): State<App>,
    Extension(hooks): Extension<Hooks>,
    ClientAddress(remote_ip): ClientAddress,
    _fresh: Fresh,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path((collection, record_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let loaded = app
        .collection_for_write(&collection)
        .await?
        .ok_or_else(ApiError::missing_collection)?;
    let caller = crate::identity::caller(&app, &method, &uri, &headers)?;
    let precondition = if_match(&headers)?;
    let body = RecordBody::default();
    let keyed = keyed_record_write(&caller, &headers, &method, &uri, &body)?;
    let tag = loaded.collection.name.as_str();
    let hooked = hooks.handles("onRecordDeleteRequest", tag)
        || hooks.handles_model(RecordAction::Delete, tag);
    let pass = |stale: Option<Arc<AtomicBool>>| -> BoxFuture<'_, Result<Response, ApiError>> {
        // The hooks see the record to delete; a missing one is answered without them, as in
        // PocketBase.
        let check = hooked.then_some(RuleFirst::Delete);
        let found = match record_before_hooks(&app, &caller, &loaded, &record_id, check) {
            Ok(found) => found,
            Err(error) => return Box::pin(async move { Err(error) }),
        };
        let parts = WriteParts::new(
            &hooks,
            &app,
            &caller,
            &uri,
            &loaded,
            precondition.clone(),
            keyed.clone(),
        )
        .in_pass(stale, found.as_ref().map(|(_, version)| *version));
        let kind = OwnedKind::Delete(record_id.clone());
        let Some((stored, _)) = found else {
            return parts.write_only(kind, Default::default(), |_| Map::new())(Map::new());
        };
        let action = parts.action(kind, Default::default(), |_| Map::new());
        let request = HookedRequest::new(&app, &caller, remote_ip.clone(), &method, &uri, &headers);
        Box::pin(around_write(
            &hooks,
            "onRecordDeleteRequest",
            &loaded,
            request,
            stored,
            action,
        ))
    };
    until_settled(&app, hooked, pass).await
}

/// A record write's `Idempotency-Key`, fingerprinted by method, path and query, fields and
/// uploads (and `If-Match`, which changes what the write does).
fn keyed_record_write(
    caller: &Caller,
    headers: &HeaderMap,
    method: &Method,
    uri: &Uri,
    body: &RecordBody,
) -> Result<Option<IdempotentWrite>, ApiError> {
    let fields = serde_json::to_vec(&body.data)
        .map_err(|error| ServiceError::internal_from("encode a request's fields", error))?;
    let uploads = idempotency::uploads_fingerprint(&body.uploads);
    let path = uri
        .path_and_query()
        .map_or(uri.path(), |path| path.as_str());
    let if_match = headers
        .get(axum::http::header::IF_MATCH)
        .map_or(&b""[..], |value| value.as_bytes());
    idempotency::keyed_write(
        caller,
        headers,
        &[
            method.as_str().as_bytes(),
            path.as_bytes(),
            &fields,
            &uploads,
            if_match,
        ],
    )
}
