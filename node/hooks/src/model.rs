//! PocketBase's record model hooks around a save, wherever it comes from (the records API or
//! a hook's own `$app.save`): `onRecordCreate`/`Update`/`Delete` wrap the save, their last
//! `e.next()` runs `onRecordValidate` (create and update), whose last `e.next()` is the
//! save itself; `onRecordAfter{Create,Update,Delete}Success` and `...Error` run once the
//! write applied here (or failed). All of it runs on the node that plans the write, before
//! it proposes: the command carries what the hooks decided, and apply never runs code.

use edgebase_model::auth_options::without_secrets;
use edgebase_service::app::LoadedCollection;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::HookFailure;
use crate::natives::NextFn;
use crate::{failure_of, Hooks};

/// Which write a model hook is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordAction {
    Create,
    Update,
    Delete,
}

impl RecordAction {
    /// The hook around the save.
    pub fn before(self) -> &'static str {
        match self {
            RecordAction::Create => "onRecordCreate",
            RecordAction::Update => "onRecordUpdate",
            RecordAction::Delete => "onRecordDelete",
        }
    }

    /// The hook after the save applied.
    pub fn after_success(self) -> &'static str {
        match self {
            RecordAction::Create => "onRecordAfterCreateSuccess",
            RecordAction::Update => "onRecordAfterUpdateSuccess",
            RecordAction::Delete => "onRecordAfterDeleteSuccess",
        }
    }

    /// The hook after the save failed.
    pub fn after_error(self) -> &'static str {
        match self {
            RecordAction::Create => "onRecordAfterCreateError",
            RecordAction::Update => "onRecordAfterUpdateError",
            RecordAction::Delete => "onRecordAfterDeleteError",
        }
    }

    /// PocketBase's `e.type` of a model event.
    fn name(self) -> &'static str {
        match self {
            RecordAction::Create => "create",
            RecordAction::Update => "update",
            RecordAction::Delete => "delete",
        }
    }

    /// The action whose after-success event is `event`.
    pub fn of_after_success(event: &str) -> Option<RecordAction> {
        [
            RecordAction::Create,
            RecordAction::Update,
            RecordAction::Delete,
        ]
        .into_iter()
        .find(|action| action.after_success() == event)
    }

    /// Whether `onRecordValidate` runs in the chain (PocketBase validates before a create
    /// or an update, not before a delete).
    fn validates(self) -> bool {
        self != RecordAction::Delete
    }
}

/// How a model hook chain ended.
#[derive(Debug)]
pub enum ModelOutcome {
    /// The save ran and succeeded: the record as the hooks left it after it.
    Saved(Value),
    /// A handler threw (or let the save's failure through).
    Failed(HookFailure),
    /// No handler called `e.next()`: nothing was saved.
    Stopped,
}

#[derive(Deserialize)]
struct ModelAnswer {
    #[serde(default)]
    record: Value,
    #[serde(default)]
    failure: Option<HookFailure>,
    #[serde(default)]
    continued: bool,
}

/// A collection as hooks see it (`e.record.collection()`), without its secrets.
pub fn collection_json(loaded: &LoadedCollection) -> Value {
    let mut value = serde_json::to_value(&*loaded.collection).unwrap_or(Value::Null);
    without_secrets(&mut value);
    value
}

impl Hooks {
    /// Whether the bundle in use has hooks around saves of `action` in `tag`.
    pub fn handles_model(&self, action: RecordAction, tag: &str) -> bool {
        self.handles(action.before(), tag)
            || (action.validates() && self.handles("onRecordValidate", tag))
    }

    /// Whether the bundle in use has after-hooks of `action` in `tag` (`success`: the
    /// success ones, else the error ones).
    pub fn handles_after(&self, action: RecordAction, tag: &str, success: bool) -> bool {
        let event = if success {
            action.after_success()
        } else {
            action.after_error()
        };
        self.current()
            .registry
            .hooks_for(event, Some(tag))
            .any(|hook| !hook.at_least_once)
    }

    /// Whether after-success hooks of `action` in `tag` asked for at-least-once delivery
    /// (through the outbox).
    pub fn handles_at_least_once(&self, action: RecordAction, tag: &str) -> bool {
        self.current()
            .registry
            .hooks_for(action.after_success(), Some(tag))
            .any(|hook| hook.at_least_once)
    }

    /// Run the model hooks of `action` for `loaded` around `save`, starting from `record`
    /// (the whole record, as stored with the write's changes over it). No hooks: just the
    /// save.
    pub async fn around_model(
        &self,
        action: RecordAction,
        loaded: &LoadedCollection,
        record: Value,
        save: NextFn,
    ) -> ModelOutcome {
        let tag = loaded.collection.name.as_str();
        let bundle = self.current();
        let before = bundle.registry.handlers(action.before(), Some(tag));
        let validate = if action.validates() {
            bundle.registry.handlers("onRecordValidate", Some(tag))
        } else {
            Vec::new()
        };
        if before.is_empty() && validate.is_empty() {
            return match save(record).await {
                Ok(saved) => ModelOutcome::Saved(saved),
                Err(failure) => ModelOutcome::Failed(failure),
            };
        }
        let mut shared = self.shared(&bundle.bundle);
        shared.next = Some(std::sync::Arc::new(std::sync::Mutex::new(Some(save))));
        let event = json!({
            "type": action.name(),
            "tag": tag,
            "collection": collection_json(loaded),
            "record": record,
        });
        let args = vec![
            format!("{}({tag})", action.before()),
            serde_json::to_string(&before).unwrap_or_default(),
            serde_json::to_string(&validate).unwrap_or_default(),
            event.to_string(),
        ];
        let json = match self.call_entry(shared, "modelEvent", args).await {
            Ok(Ok(json)) => json,
            Ok(Err(error)) => return ModelOutcome::Failed(failure_of(&error)),
            Err(error) => return ModelOutcome::Failed(HookFailure::internal(error.to_string())),
        };
        match serde_json::from_str::<ModelAnswer>(&json) {
            Ok(ModelAnswer {
                failure: Some(failure),
                ..
            }) => ModelOutcome::Failed(failure),
            Ok(ModelAnswer {
                continued: true,
                record,
                ..
            }) => ModelOutcome::Saved(record),
            Ok(_) => ModelOutcome::Stopped,
            Err(error) => ModelOutcome::Failed(HookFailure::internal(format!(
                "read the hook's answer: {error}"
            ))),
        }
    }

    /// Run the after-hooks of `action` for `record` in `loaded`: the success ones, or the
    /// error ones with `error`. They run after the fact: a failure is logged, the write's
    /// answer stands. (The at-least-once success hooks run from the outbox instead.)
    pub async fn after_model(
        &self,
        action: RecordAction,
        loaded: &LoadedCollection,
        record: Value,
        error: Option<&HookFailure>,
    ) {
        let event_name = match error {
            None => action.after_success(),
            Some(_) => action.after_error(),
        };
        let tag = loaded.collection.name.as_str();
        if let Some(failure) = self
            .run_after(event_name, action, loaded, record, error, false)
            .await
        {
            tracing::error!(hook = %format!("{event_name}({tag})"), answer = %failure.message, cause = ?failure.cause, "an after-hook failed; the write stands");
        }
    }

    /// Run the at-least-once after-success hooks of `action` for `record` (an outbox
    /// entry's); the failure of one that did not complete.
    pub async fn after_model_at_least_once(
        &self,
        action: RecordAction,
        loaded: &LoadedCollection,
        record: Value,
    ) -> Option<HookFailure> {
        self.run_after(action.after_success(), action, loaded, record, None, true)
            .await
    }

    async fn run_after(
        &self,
        event_name: &str,
        action: RecordAction,
        loaded: &LoadedCollection,
        record: Value,
        error: Option<&HookFailure>,
        at_least_once: bool,
    ) -> Option<HookFailure> {
        let tag = loaded.collection.name.as_str();
        let bundle = self.current();
        let sources: Vec<String> = bundle
            .registry
            .hooks_for(event_name, Some(tag))
            .filter(|hook| hook.at_least_once == at_least_once)
            .map(|hook| hook.handler.clone())
            .collect();
        if sources.is_empty() {
            return None;
        }
        let shared = self.shared(&bundle.bundle);
        let event = json!({
            "type": action.name(),
            "tag": tag,
            "collection": collection_json(loaded),
            "record": record,
            "error": error.map(|failure| failure.message.clone()),
        });
        let args = vec![
            format!("{event_name}({tag})"),
            serde_json::to_string(&sources).unwrap_or_default(),
            event.to_string(),
        ];
        match self.call_entry(shared, "afterEvent", args).await {
            Ok(Ok(json)) => match serde_json::from_str::<ModelAnswer>(&json) {
                Ok(answer) => answer.failure,
                Err(error) => Some(HookFailure::internal(format!(
                    "read the hook's answer: {error}"
                ))),
            },
            Ok(Err(error)) => Some(failure_of(&error)),
            Err(error) => Some(HookFailure::internal(error.to_string())),
        }
    }
}
