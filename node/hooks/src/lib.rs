//! Server-side hooks: PocketBase's `pb_hooks` JavaScript API on an embedded QuickJS
//! (`rquickjs`, built from its vendored C sources).
//!
//! A [`Bundle`] (the files of a hooks folder) is loaded file by file, each in its own call,
//! into a [`Registry`] of what the files registered; a new bundle swaps in whole, so a
//! request sees one bundle or the next, never a mix. Handlers run on an [`Engine`]: a few
//! worker threads, each owning one runtime, every call in a fresh context under CPU,
//! wall-clock and memory limits ([`CallLimits`]). The JavaScript side of the API lives in
//! `prelude.js`; the natives it stands on in `natives.rs`.

mod blocking;
mod bundle;
mod crons;
pub mod deployment;
mod engine;
mod error;
mod http_send;
mod limits;
mod mails;
mod messages;
mod model;
mod natives;
mod outbox;
mod registry;
mod routes;
mod security;
mod worker;
mod writes;

use std::path::Path;
use std::sync::{Arc, RwLock};

use edgebase_model::cron_schedule::CronSchedule;
use edgebase_service::app::App;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use bundle::{Bundle, BUNDLE_BYTES_MAX, FILES_MAX, FILE_BYTES_MAX};
pub use engine::{Engine, EngineConfig};
pub use error::{HookFailure, HooksError};
pub use limits::{CallLimits, LimitHit};
pub use model::{collection_json, ModelOutcome, RecordAction};
pub use natives::NextFn;
pub use registry::{runs, Registry, Route, HOOK_EVENTS};
pub use worker::CallError;

use worker::Shared;

/// A file that failed to load: its registrations are dropped, the others stand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadError {
    pub file: String,
    pub message: String,
}

/// Where the bundle in use came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BundleSource {
    /// Nothing loaded yet.
    #[default]
    Nothing,
    /// The node's own `pb_hooks` folder.
    Folder,
    /// The bundle deployed to the cluster.
    Deployed,
}

impl BundleSource {
    pub fn as_str(&self) -> &'static str {
        match self {
            BundleSource::Nothing => "nothing",
            BundleSource::Folder => "folder",
            BundleSource::Deployed => "deployed",
        }
    }
}

/// The bundle in use and what it registered.
#[derive(Debug, Default)]
pub struct Loaded {
    pub source: BundleSource,
    pub bundle: Arc<Bundle>,
    pub hash: String,
    pub registry: Registry,
    pub errors: Vec<LoadError>,
}

/// One request to a custom route, as the API layer read it.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteRequest {
    pub method: String,
    pub path: String,
    pub raw_query: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    /// The body as text (JSON or other), when there is one.
    pub body: Option<String>,
    /// A form body's fields (`application/x-www-form-urlencoded`).
    pub form: Option<Vec<(String, String)>>,
    pub remote_ip: String,
    /// The authenticated record (with `collectionId` and `collectionName`), if any.
    pub auth: Option<Value>,
    /// The body as the API already read it (a record write's fields), when it did.
    pub data: Option<Value>,
}

/// What a route's handler wrote.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub content_type: String,
    pub body: Option<String>,
    /// False when no handler wrote anything (the answer is then an empty 200, as in
    /// PocketBase).
    pub written: bool,
}

/// How a custom route answered: what its handler wrote, or its failure.
#[derive(Debug, Clone, PartialEq)]
pub enum RouteAnswer {
    Written(RouteResponse),
    Failed(HookFailure),
}

/// How a request hook's chain ended.
#[derive(Debug)]
pub enum RequestHookOutcome {
    /// A handler wrote its own answer, which stands.
    Written(RouteResponse),
    /// The chain reached the default action (`e.next()`) and nobody wrote another answer:
    /// the default's answer (or its failure, when a handler caught it) stands.
    Continued,
    /// A handler threw (or rethrew the default's failure).
    Failed(HookFailure),
    /// No handler called `e.next()` and none answered: nothing was written.
    Stopped,
}

/// The node's hooks: the engine and the bundle in use.
#[derive(Clone)]
pub struct Hooks {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    app: Option<App>,
    /// The async runtime and client `$http.send` uses.
    http: Option<(tokio::runtime::Handle, reqwest::Client)>,
    hooks_dir: String,
    current: RwLock<Arc<Loaded>>,
}

#[derive(Deserialize)]
struct CallAnswer<T> {
    #[serde(default = "Option::default")]
    response: Option<T>,
    #[serde(default)]
    failure: Option<HookFailure>,
    #[serde(default)]
    completed: Option<bool>,
    #[serde(default)]
    continued: Option<bool>,
}

impl Hooks {
    /// Start the engine. `app` is the node's state (`None` only in tests of the engine);
    /// `hooks_dir` is what `__hooks` names. No bundle is loaded yet.
    pub fn start(
        app: Option<App>,
        hooks_dir: &Path,
        config: EngineConfig,
    ) -> Result<Hooks, HooksError> {
        Ok(Hooks {
            inner: Arc::new(Inner {
                engine: Engine::start(config)?,
                app,
                http: tokio::runtime::Handle::try_current().ok().map(|handle| {
                    let client = reqwest::Client::builder()
                        .connect_timeout(std::time::Duration::from_secs(10))
                        .build()
                        .unwrap_or_default();
                    (handle, client)
                }),
                hooks_dir: hooks_dir.display().to_string(),
                current: RwLock::new(Arc::new(Loaded::default())),
            }),
        })
    }

    /// The node's state (`None` in tests of the engine alone).
    pub(crate) fn app(&self) -> Option<&App> {
        self.inner.app.as_ref()
    }

    /// This node's id (0 without a node, in tests of the engine alone).
    pub fn node_id(&self) -> u64 {
        self.inner
            .app
            .as_ref()
            .map(|app| app.consensus().node_id())
            .unwrap_or(0)
    }

    /// The bundle in use.
    pub fn current(&self) -> Arc<Loaded> {
        Arc::clone(
            &self
                .inner
                .current
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }

    /// Load `bundle` as the node's folder would be (see [`Hooks::load_from`]).
    pub async fn load(&self, bundle: Bundle) -> Result<Arc<Loaded>, HooksError> {
        self.load_from(bundle, BundleSource::Folder).await
    }

    /// Load `bundle`, each entry file in its own call, and swap it in. A file that fails
    /// (a syntax error, a throw, a limit) is logged and left out; the rest load.
    pub async fn load_from(
        &self,
        bundle: Bundle,
        source: BundleSource,
    ) -> Result<Arc<Loaded>, HooksError> {
        let bundle = Arc::new(bundle);
        let shared = self.shared(&bundle);
        let mut registry = Registry::default();
        let mut errors = Vec::new();
        let entries: Vec<(String, String)> = bundle
            .entries()
            .map(|(name, source)| (name.to_owned(), source.to_owned()))
            .collect();
        for (file, source) in entries {
            let shared = shared.clone();
            let name = file.clone();
            let outcome = self
                .call_entry(shared, "loadFile", vec![name, source])
                .await?;
            match outcome.map(|json| serde_json::from_str::<Registry>(&json)) {
                Ok(Ok(registered)) => merge(&mut registry, registered),
                Ok(Err(error)) => errors.push(LoadError {
                    file: file.clone(),
                    message: format!("read what it registered: {error}"),
                }),
                Err(error) => errors.push(LoadError {
                    file: file.clone(),
                    message: error.to_string(),
                }),
            }
        }
        registry
            .crons
            .retain(|cron| match CronSchedule::parse(&cron.expression) {
                Ok(_) => true,
                Err(reason) => {
                    errors.push(LoadError {
                        file: format!("cronAdd(\"{}\")", cron.id),
                        message: format!("invalid cron expression {:?}: {reason}", cron.expression),
                    });
                    false
                }
            });
        for error in &errors {
            tracing::error!(file = %error.file, error = %error.message, "a hooks file failed to load; its hooks are not used");
        }
        for event in registry.events_not_run() {
            tracing::warn!(
                event,
                "a hooks file registers {event}, which EdgeBase does not run yet"
            );
        }
        let loaded = Arc::new(Loaded {
            source,
            hash: bundle.hash(),
            bundle,
            registry,
            errors,
        });
        *self
            .inner
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::clone(&loaded);
        if let Some(app) = &self.inner.app {
            app.consensus().set_status_note("hooks", &loaded.hash);
            app.consensus()
                .set_status_note("hooks_source", source.as_str());
        }
        tracing::info!(
            source = source.as_str(),
            hash = %loaded.hash,
            routes = loaded.registry.routes.len(),
            hooks = loaded.registry.hooks.len(),
            crons = loaded.registry.crons.len(),
            errors = loaded.errors.len(),
            "hooks loaded"
        );
        Ok(loaded)
    }

    /// Run the `onBootstrap` handlers once. A throw or a handler that stops the chain (no
    /// `e.next()`) is logged; the node goes on either way.
    pub async fn bootstrap(&self) -> Result<(), HooksError> {
        let loaded = self.current();
        let sources = loaded.registry.handlers("onBootstrap", None);
        if sources.is_empty() {
            return Ok(());
        }
        let shared = self.shared(&loaded.bundle);
        let sources_json = serde_json::to_string(&sources).unwrap_or_default();
        let outcome = self
            .call_entry(
                shared,
                "event",
                vec!["onBootstrap".to_owned(), sources_json],
            )
            .await?;
        match outcome.map(|json| serde_json::from_str::<CallAnswer<Value>>(&json)) {
            Ok(Ok(CallAnswer {
                failure: Some(failure),
                ..
            })) => {
                tracing::error!(answer = %failure.message, cause = ?failure.cause, "onBootstrap failed; the node serves on");
            }
            Ok(Ok(CallAnswer {
                completed: Some(false),
                ..
            })) => {
                tracing::error!("an onBootstrap handler did not call e.next(): the handlers after it did not run");
            }
            Ok(Ok(_)) => tracing::info!("onBootstrap ran"),
            Ok(Err(error)) => tracing::error!(%error, "onBootstrap answered something unreadable"),
            Err(error) => tracing::error!(%error, "onBootstrap failed; the node serves on"),
        }
        Ok(())
    }

    /// Whether the bundle in use has handlers of `event` for the collection `tag`.
    pub fn handles(&self, event: &str, tag: &str) -> bool {
        self.current()
            .registry
            .hooks_for(event, Some(tag))
            .next()
            .is_some()
    }

    /// Run the `event` handlers for the collection `tag` around `next`, the request's
    /// default action: `event_json` carries the request (`request`, as a route's), the
    /// collection and the record; the last handler's `e.next()` calls `next` with the record
    /// as the handlers left it.
    pub async fn record_request(
        &self,
        event: &str,
        tag: &str,
        event_json: Value,
        next: NextFn,
    ) -> RequestHookOutcome {
        let loaded = self.current();
        let sources = loaded.registry.handlers(event, Some(tag));
        let mut shared = self.shared(&loaded.bundle);
        shared.next = Some(Arc::new(std::sync::Mutex::new(Some(next))));
        let name = format!("{event}({tag})");
        let sources_json = serde_json::to_string(&sources).unwrap_or_default();
        let event_text = event_json.to_string();
        let outcome = self
            .call_entry(
                shared,
                "recordRequest",
                vec![name, sources_json, event_text],
            )
            .await;
        request_outcome(outcome)
    }

    /// Run the read request hook `event` (`onRecordsListRequest`, `onRecordViewRequest`)
    /// for the collection `tag`: `event_json` carries the request, the collection and what
    /// the API found (`result` for a list, `record` for a view); the default action answers
    /// it as JSON, as the handlers left it.
    pub async fn read_request(
        &self,
        event: &str,
        tag: &str,
        event_json: Value,
    ) -> RequestHookOutcome {
        let loaded = self.current();
        let sources = loaded.registry.handlers(event, Some(tag));
        let shared = self.shared(&loaded.bundle);
        let args = vec![
            format!("{event}({tag})"),
            serde_json::to_string(&sources).unwrap_or_default(),
            event_json.to_string(),
        ];
        let outcome = self.call_entry(shared, "readRequest", args).await;
        request_outcome(outcome)
    }

    /// Run the `onRealtimeMessageSend` handlers over `message` (`{name, data}`, data as JSON
    /// text) about to go to the realtime client `client_id`: the message as they left it,
    /// or `None` when it is not to be sent (a handler stopped the chain, or failed: logged).
    pub async fn realtime_message(&self, client_id: &str, message: Value) -> Option<Value> {
        let loaded = self.current();
        let sources = loaded.registry.handlers("onRealtimeMessageSend", None);
        let shared = self.shared(&loaded.bundle);
        let event = serde_json::json!({ "clientId": client_id, "message": message });
        let args = vec![
            "onRealtimeMessageSend".to_owned(),
            serde_json::to_string(&sources).unwrap_or_default(),
            event.to_string(),
        ];
        let answer = match self.call_entry(shared, "messageSend", args).await {
            Ok(Ok(json)) => serde_json::from_str::<Value>(&json).unwrap_or(Value::Null),
            Ok(Err(error)) => {
                tracing::error!(%error, "onRealtimeMessageSend failed; the message is not sent");
                return None;
            }
            Err(error) => {
                tracing::error!(%error, "onRealtimeMessageSend could not run; the message is not sent");
                return None;
            }
        };
        if let Some(failure) = answer.get("failure") {
            tracing::error!(%failure, "onRealtimeMessageSend failed; the message is not sent");
            return None;
        }
        if answer.get("completed") != Some(&Value::Bool(true)) {
            return None;
        }
        answer.get("message").cloned()
    }

    /// Run the `cronAdd` job `cron` with `run_json` as its argument.
    pub(crate) async fn run_cron(
        &self,
        cron: &registry::Cron,
        run_json: String,
    ) -> Result<(), String> {
        let loaded = self.current();
        let id = &cron.id;
        let shared = self.shared(&loaded.bundle);
        let name = format!("cron {id}");
        let outcome = self
            .call_entry(shared, "cron", vec![name, cron.handler.clone(), run_json])
            .await
            .map_err(|error| error.to_string())?;
        match outcome.map(|json| serde_json::from_str::<CallAnswer<Value>>(&json)) {
            Ok(Ok(CallAnswer {
                failure: Some(failure),
                ..
            })) => Err(failure.cause.unwrap_or(failure.message)),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(format!("the job answered something unreadable: {error}")),
            Err(error) => Err(error.to_string()),
        }
    }

    /// Serve `request` with a custom route, if one matches (`None`: no route does).
    pub async fn route(&self, request: RouteRequest) -> Option<RouteAnswer> {
        let loaded = self.current();
        let matched = routes::find(&loaded.registry.routes, &request.method, &request.path)?;
        let mut links: Vec<&registry::Middleware> = loaded.registry.middlewares.iter().collect();
        links.extend(matched.route.middlewares.iter());
        links.sort_by_key(|middleware| middleware.priority);
        let handler = registry::Middleware {
            source: Some(matched.route.handler.clone()),
            builtin: None,
            args: Vec::new(),
            priority: 0,
        };
        let chain = serde_json::json!({
            "name": format!("{} {}", matched.route.method, matched.route.path),
            "pathValues": matched.path_values,
            "links": links.into_iter().chain(std::iter::once(&handler)).collect::<Vec<_>>(),
        });
        let shared = self.shared(&loaded.bundle);
        let request_json = serde_json::to_string(&request).unwrap_or_default();
        let chain_json = chain.to_string();
        let outcome = self
            .call_entry(shared, "route", vec![request_json, chain_json])
            .await;
        Some(answer_of(outcome))
    }

    /// Run the prelude's entry point `__edgebase[entry]` with `args` in a fresh context on a
    /// free runtime; the JSON it answers.
    pub(crate) async fn call_entry(
        &self,
        shared: Shared,
        entry: &'static str,
        args: Vec<String>,
    ) -> Result<Result<String, CallError>, HooksError> {
        self.inner
            .engine
            .run(move |worker| {
                worker.call(&shared, |ctx| {
                    let edgebase: rquickjs::Object = ctx.globals().get("__edgebase")?;
                    let function: rquickjs::Function = edgebase.get(entry)?;
                    function.call::<_, String>((rquickjs::prelude::Rest(args),))
                })
            })
            .await
    }

    pub(crate) fn shared(&self, bundle: &Arc<Bundle>) -> Shared {
        Shared {
            app: self.inner.app.clone(),
            http: self.inner.http.clone(),
            next: None,
            bundle: Arc::clone(bundle),
            hooks_dir: self.inner.hooks_dir.clone(),
            hooks: Some(self.clone()),
        }
    }
}

/// A route call's outcome as an answer: what the handler wrote, or what its failure says.
fn answer_of(outcome: Result<Result<String, CallError>, HooksError>) -> RouteAnswer {
    let json = match outcome {
        Err(HooksError::Busy) => {
            return RouteAnswer::Failed(HookFailure {
                status: 503,
                message: "Every hooks runtime is busy; try again.".into(),
                data: Default::default(),
                cause: None,
            })
        }
        Err(error) => return RouteAnswer::Failed(HookFailure::internal(error.to_string())),
        Ok(Err(error)) => return RouteAnswer::Failed(failure_of(&error)),
        Ok(Ok(json)) => json,
    };
    match serde_json::from_str::<CallAnswer<RouteResponse>>(&json) {
        Ok(CallAnswer {
            failure: Some(failure),
            ..
        }) => RouteAnswer::Failed(failure),
        Ok(CallAnswer {
            response: Some(response),
            ..
        }) => RouteAnswer::Written(response),
        Ok(_) => RouteAnswer::Failed(HookFailure::internal("the route answered nothing")),
        Err(error) => RouteAnswer::Failed(HookFailure::internal(format!(
            "read the route's answer: {error}"
        ))),
    }
}

/// How a request hook's call ended.
fn request_outcome(outcome: Result<Result<String, CallError>, HooksError>) -> RequestHookOutcome {
    let json = match outcome {
        Ok(Ok(json)) => json,
        Ok(Err(error)) => return RequestHookOutcome::Failed(failure_of(&error)),
        Err(error) => return RequestHookOutcome::Failed(HookFailure::internal(error.to_string())),
    };
    match serde_json::from_str::<CallAnswer<RouteResponse>>(&json) {
        Ok(CallAnswer {
            failure: Some(failure),
            ..
        }) => RequestHookOutcome::Failed(failure),
        Ok(CallAnswer {
            response: Some(response),
            ..
        }) => RequestHookOutcome::Written(response),
        Ok(CallAnswer {
            continued: Some(true),
            ..
        }) => RequestHookOutcome::Continued,
        Ok(_) => RequestHookOutcome::Stopped,
        Err(error) => RequestHookOutcome::Failed(HookFailure::internal(format!(
            "read the hook's answer: {error}"
        ))),
    }
}

/// A call that did not finish as an answer: a limit names itself, anything else is a 500.
pub(crate) fn failure_of(error: &CallError) -> HookFailure {
    match error {
        CallError::Limit(hit) => HookFailure {
            status: 500,
            message: format!("The hook was stopped: {hit}."),
            data: Default::default(),
            cause: Some(error.to_string()),
        },
        other => HookFailure::internal(other.to_string()),
    }
}

fn merge(into: &mut Registry, from: Registry) {
    into.routes.extend(from.routes);
    into.middlewares.extend(from.middlewares);
    into.hooks.extend(from.hooks);
    into.crons.extend(from.crons);
    into.cron_removals.extend(from.cron_removals);
}
