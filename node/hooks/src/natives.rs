//! `__native`: the few functions the prelude (prelude.js) builds the pb_hooks API on. They
//! log, read the bundle, evaluate code under a file name, sleep within the call's time, and
//! read this node's state (collections and records, no rules: `$app` is the server's own
//! view, as in PocketBase). Values cross as JSON text.

use std::sync::Arc;
use std::time::Duration;

use edgebase_model::auth_options::without_secrets;
use edgebase_service::app::App;
use edgebase_storage::query::{
    ast::Operand, parse_sort, parser::parse_filter_with_params, FilterAccess, FilterPart,
    ListRequest, RequestContext, TotalCount,
};
use rquickjs::context::EvalOptions;
use rquickjs::{Ctx, Exception, Function, Object, Value};
use serde_json::{Map, Value as Json};

use crate::bundle::Bundle;
use crate::limits::Watchdog;
use crate::registry::HOOK_EVENTS;

/// Most records one `findRecordsByFilter` returns (a `limit` of 0 asks for all of them).
pub const FIND_RECORDS_MAX: u64 = 10_000;
/// Records per page read while collecting them.
const PAGE: u64 = 1_000;

/// What the natives of one context reach.
#[derive(Clone)]
pub struct NativeEnv {
    /// The node's state; `None` in tests of the engine alone (reads then throw).
    pub app: Option<App>,
    /// Where `$http.send` runs its request (the node's async runtime) and with what client.
    pub http: Option<(tokio::runtime::Handle, reqwest::Client)>,
    /// A request hook's default action, taken by the first `e.next()` at the chain's end.
    pub next: Option<NextSlot>,
    pub bundle: Arc<Bundle>,
    /// The folder `__hooks` names.
    pub hooks_dir: String,
    /// The hooks, for the model hooks of `$app.save` (`None` in some engine tests).
    pub hooks: Option<crate::Hooks>,
    pub watchdog: Watchdog,
}

/// The default action of a request hook: given the event's record (as JSON), write it and
/// answer the written record, or why not.
pub type NextFn = Box<
    dyn FnOnce(Json) -> futures::future::BoxFuture<'static, Result<Json, crate::HookFailure>>
        + Send,
>;

/// Where a call's default action waits for its `e.next()`.
pub type NextSlot = Arc<std::sync::Mutex<Option<NextFn>>>;

/// Define `__native` in `ctx`'s globals.
pub fn bind<'js>(ctx: &Ctx<'js>, env: &NativeEnv) -> rquickjs::Result<()> {
    let native = Object::new(ctx.clone())?;
    native.set(
        "log",
        Function::new(ctx.clone(), |level: String, message: String| {
            match level.as_str() {
                "error" => tracing::error!(target: "edgebase::hooks", "{message}"),
                "warn" => tracing::warn!(target: "edgebase::hooks", "{message}"),
                "debug" => tracing::debug!(target: "edgebase::hooks", "{message}"),
                _ => tracing::info!(target: "edgebase::hooks", "{message}"),
            }
        })?,
    )?;
    native.set(
        "hookEvents",
        Function::new(ctx.clone(), || {
            HOOK_EVENTS
                .iter()
                .map(|(event, _)| (*event).to_owned())
                .collect::<Vec<String>>()
        })?,
    )?;
    let hooks_dir = env.hooks_dir.clone();
    native.set(
        "hooksDir",
        Function::new(ctx.clone(), move || hooks_dir.clone())?,
    )?;
    let bundle = Arc::clone(&env.bundle);
    let hooks_dir = env.hooks_dir.clone();
    native.set(
        "readModule",
        Function::new(ctx.clone(), move |path: String| {
            bundle.module(&path, &hooks_dir).map(str::to_owned)
        })?,
    )?;
    native.set(
        "evalScript",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, source: String, name: String| -> rquickjs::Result<Value<'js>> {
                let mut options = EvalOptions::default();
                options.strict = false;
                options.filename = Some(name);
                ctx.eval_with_options(source, options)
            },
        )?,
    )?;
    let watchdog = env.watchdog.clone();
    native.set(
        "sleep",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, ms: f64| -> rquickjs::Result<()> {
                let wanted = Duration::from_millis(ms.max(0.0).min(u64::MAX as f64) as u64);
                let remaining = watchdog.remaining();
                if wanted < remaining {
                    std::thread::sleep(wanted);
                    return Ok(());
                }
                // Never past the call's wall-clock bound: the call ends there, stopped.
                std::thread::sleep(remaining);
                watchdog.wall_exhausted();
                Err(Exception::throw_internal(
                    &ctx,
                    "interrupted: the call ran out of time",
                ))
            },
        )?,
    )?;
    let watchdog = env.watchdog.clone();
    native.set(
        "outOfMemory",
        Function::new(ctx.clone(), move || watchdog.memory_exhausted())?,
    )?;
    let http = env.http.clone();
    let watchdog = env.watchdog.clone();
    native.set(
        "httpSend",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, config: String| -> rquickjs::Result<String> {
                let Some((handle, client)) = &http else {
                    return Err(Exception::throw_message(
                        &ctx,
                        "$http is not available here",
                    ));
                };
                crate::http_send::send(handle, client, &watchdog, &config).map_err(|failure| {
                    match failure {
                        crate::http_send::SendFailure::OutOfTime => {
                            watchdog.wall_exhausted();
                            Exception::throw_internal(&ctx, "interrupted: the call ran out of time")
                        }
                        crate::http_send::SendFailure::Failed(message) => {
                            Exception::throw_message(&ctx, &message)
                        }
                    }
                })
            },
        )?,
    )?;
    let next = env.next.clone();
    let runtime = env.http.as_ref().map(|(handle, _)| handle.clone());
    let watchdog = env.watchdog.clone();
    native.set(
        "next",
        Function::new(ctx.clone(), move |record: String| -> String {
            let answer = run_next(next.as_ref(), runtime.as_ref(), &watchdog, &record);
            match answer {
                Ok(record) => serde_json::json!({ "record": record }).to_string(),
                Err(failure) => serde_json::json!({ "failure": failure }).to_string(),
            }
        })?,
    )?;
    crate::security::bind(ctx, &native)?;
    crate::writes::bind(ctx, &native, env)?;
    crate::mails::bind(ctx, &native, env.app.clone())?;
    crate::crons::bind(ctx, &native, env)?;
    crate::messages::bind(ctx, &native, env)?;
    bind_reads(ctx, &native, env.app.clone())?;
    ctx.globals().set("__native", native)?;
    Ok(())
}

/// Run the call's default action once, within the call's remaining time.
fn run_next(
    next: Option<&NextSlot>,
    runtime: Option<&tokio::runtime::Handle>,
    watchdog: &Watchdog,
    record: &str,
) -> Result<Json, Box<crate::HookFailure>> {
    let taken = next.and_then(|slot| {
        slot.lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
    });
    let (Some(action), Some(runtime)) = (taken, runtime) else {
        return Err(Box::new(crate::HookFailure::internal(
            "e.next() was called more than once",
        )));
    };
    let record: Json = serde_json::from_str(record).map_err(|error| {
        Box::new(crate::HookFailure::internal(format!(
            "the hook's record: {error}"
        )))
    })?;
    match crate::blocking::wait_within(runtime, watchdog, action(record)) {
        Some(answer) => answer.map_err(Box::new),
        None => Err(Box::new(crate::HookFailure::internal(
            "the call ran out of time in e.next()",
        ))),
    }
}

fn bind_reads<'js>(ctx: &Ctx<'js>, native: &Object<'js>, app: Option<App>) -> rquickjs::Result<()> {
    let with_app = app.clone();
    native.set(
        "findCollection",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, name_or_id: String| -> rquickjs::Result<Option<String>> {
                let app = need_app(&ctx, &with_app)?;
                let loaded = app.collection(&name_or_id).map_err(|e| thrown(&ctx, e))?;
                Ok(loaded.map(|loaded| {
                    let mut value = serde_json::to_value(&*loaded.collection).unwrap_or(Json::Null);
                    without_secrets(&mut value);
                    value.to_string()
                }))
            },
        )?,
    )?;
    let with_app = app.clone();
    native.set(
        "findRecordById",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>,
                  collection_id: String,
                  id: String|
                  -> rquickjs::Result<Option<String>> {
                let app = need_app(&ctx, &with_app)?;
                let stored = app
                    .state()
                    .record(&collection_id, &id)
                    .map_err(|e| thrown(&ctx, e))?;
                match stored {
                    None => Ok(None),
                    Some(stored) => Ok(Some(
                        record_value(&ctx, app, &collection_id, &stored.doc_json)?.to_string(),
                    )),
                }
            },
        )?,
    )?;
    let with_app = app.clone();
    native.set(
        "findRecordsByFilter",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>,
                  collection_id: String,
                  filter: String,
                  sort: String,
                  limit: f64,
                  offset: f64,
                  params: String|
                  -> rquickjs::Result<String> {
                let app = need_app(&ctx, &with_app)?;
                let filters = filters_of(&ctx, &filter, &params)?;
                let sort = parse_sort(&sort).map_err(|e| thrown(&ctx, e))?;
                let wanted = if limit >= 1.0 {
                    (limit as u64).min(FIND_RECORDS_MAX)
                } else {
                    FIND_RECORDS_MAX
                };
                let mut offset = if offset >= 1.0 { offset as u64 } else { 0 };
                let mut found = Vec::new();
                while (found.len() as u64) < wanted {
                    let page_size = (wanted - found.len() as u64).min(PAGE);
                    let page = app
                        .state()
                        .list_records(&ListRequest {
                            sort: sort.clone(),
                            offset,
                            ..system_list(app, &collection_id, filters.clone(), page_size)
                        })
                        .map_err(|e| thrown(&ctx, e))?;
                    let got = page.records.len() as u64;
                    for stored in page.records {
                        found.push(record_value(&ctx, app, &collection_id, &stored.doc_json)?);
                    }
                    if got < page_size {
                        break;
                    }
                    offset += got;
                }
                Ok(Json::Array(found).to_string())
            },
        )?,
    )?;
    native.set(
        "countRecords",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>,
                  collection_id: String,
                  filter: String,
                  params: String|
                  -> rquickjs::Result<f64> {
                let app = need_app(&ctx, &app)?;
                let filters = filters_of(&ctx, &filter, &params)?;
                let page = app
                    .state()
                    .list_records(&ListRequest {
                        total: TotalCount::Count,
                        ..system_list(app, &collection_id, filters, 1)
                    })
                    .map_err(|e| thrown(&ctx, e))?;
                Ok(page.total.unwrap_or(0) as f64)
            },
        )?,
    )?;
    Ok(())
}

/// A list the server makes for itself: unrestricted, at this moment.
fn system_list(
    app: &App,
    collection_id: &str,
    filters: Vec<FilterPart>,
    limit: u64,
) -> ListRequest {
    ListRequest::matching(
        collection_id.to_owned(),
        filters,
        limit,
        RequestContext::at(chrono::Utc::now().timestamp_millis()),
        app.limits().records_examined_max,
    )
}

/// `filter` with its `{:name}` placeholders bound to `params` (a JSON object).
fn filters_of<'js>(
    ctx: &Ctx<'js>,
    filter: &str,
    params: &str,
) -> rquickjs::Result<Vec<FilterPart>> {
    let params: Map<String, Json> = serde_json::from_str(params).unwrap_or_default();
    let bind = |name: &str| params.get(name).map(operand_of);
    let parsed = parse_filter_with_params(filter, &bind)
        .map_err(|error| Exception::throw_message(ctx, &format!("invalid filter: {error}")))?;
    Ok(parsed
        .map(|expr| FilterPart::new(expr, FilterAccess::Unrestricted))
        .into_iter()
        .collect())
}

fn operand_of(value: &Json) -> Operand {
    match value {
        Json::Null => Operand::Null,
        Json::Bool(flag) => Operand::Bool(*flag),
        Json::Number(number) => Operand::Number(number.as_f64().unwrap_or(0.0)),
        Json::String(text) => Operand::Text(text.clone()),
        other => Operand::Text(other.to_string()),
    }
}

/// A stored record as the prelude's `Record` loads it: its fields plus `collectionId` and
/// `collectionName`.
fn record_value<'js>(
    ctx: &Ctx<'js>,
    app: &App,
    collection_id: &str,
    doc_json: &str,
) -> rquickjs::Result<Json> {
    let mut doc: Map<String, Json> = serde_json::from_str(doc_json).map_err(|error| {
        Exception::throw_message(ctx, &format!("decode a stored record: {error}"))
    })?;
    let name = app
        .collection(collection_id)
        .ok()
        .flatten()
        .map(|loaded| loaded.collection.name.clone())
        .unwrap_or_default();
    doc.insert(
        "collectionId".into(),
        Json::String(collection_id.to_owned()),
    );
    doc.insert("collectionName".into(), Json::String(name));
    Ok(Json::Object(doc))
}

fn need_app<'a, 'js>(ctx: &Ctx<'js>, app: &'a Option<App>) -> rquickjs::Result<&'a App> {
    app.as_ref()
        .ok_or_else(|| Exception::throw_message(ctx, "$app is not available here"))
}

fn thrown<'js>(ctx: &Ctx<'js>, error: impl std::fmt::Display) -> rquickjs::Error {
    Exception::throw_message(ctx, &error.to_string())
}
