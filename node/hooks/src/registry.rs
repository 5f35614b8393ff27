//! What a bundle registered when it loaded: custom routes, global middlewares, event hooks
//! and cron jobs. Handlers are kept as their source text (PocketBase's model too: a handler
//! runs in its own fresh context and sees none of its file's top-level variables).

use serde::{Deserialize, Serialize};

/// PocketBase 0.40's `on*` hooks a file may register, each with whether EdgeBase runs it; the
/// ones it does not run load (so a PocketBase folder loads unchanged) and are reported.
pub const HOOK_EVENTS: &[(&str, bool)] = &[
    ("onBootstrap", true),
    ("onServe", false),
    ("onTerminate", false),
    ("onBackupCreate", false),
    ("onBackupRestore", false),
    ("onModelValidate", false),
    ("onModelCreate", false),
    ("onModelCreateExecute", false),
    ("onModelAfterCreateSuccess", false),
    ("onModelAfterCreateError", false),
    ("onModelUpdate", false),
    ("onModelUpdateExecute", false),
    ("onModelAfterUpdateSuccess", false),
    ("onModelAfterUpdateError", false),
    ("onModelDelete", false),
    ("onModelDeleteExecute", false),
    ("onModelAfterDeleteSuccess", false),
    ("onModelAfterDeleteError", false),
    ("onRecordEnrich", false),
    ("onRecordValidate", true),
    ("onRecordCreate", true),
    ("onRecordCreateExecute", false),
    ("onRecordAfterCreateSuccess", true),
    ("onRecordAfterCreateError", true),
    ("onRecordUpdate", true),
    ("onRecordUpdateExecute", false),
    ("onRecordAfterUpdateSuccess", true),
    ("onRecordAfterUpdateError", true),
    ("onRecordDelete", true),
    ("onRecordDeleteExecute", false),
    ("onRecordAfterDeleteSuccess", true),
    ("onRecordAfterDeleteError", true),
    ("onCollectionValidate", false),
    ("onCollectionCreate", false),
    ("onCollectionAfterCreateSuccess", false),
    ("onCollectionUpdate", false),
    ("onCollectionAfterUpdateSuccess", false),
    ("onCollectionDelete", false),
    ("onCollectionAfterDeleteSuccess", false),
    ("onMailerSend", false),
    ("onMailerRecordAuthAlertSend", true),
    ("onMailerRecordPasswordResetSend", true),
    ("onMailerRecordVerificationSend", true),
    ("onMailerRecordEmailChangeSend", true),
    ("onMailerRecordOTPSend", true),
    ("onRealtimeConnectRequest", false),
    ("onRealtimeSubscribeRequest", true),
    ("onRealtimeMessageSend", true),
    ("onRecordsListRequest", true),
    ("onRecordViewRequest", true),
    ("onRecordCreateRequest", true),
    ("onRecordUpdateRequest", true),
    ("onRecordDeleteRequest", true),
    ("onRecordAuthRequest", true),
    ("onRecordAuthWithPasswordRequest", true),
    ("onRecordAuthWithOAuth2Request", true),
    ("onRecordAuthRefreshRequest", true),
    ("onRecordRequestPasswordResetRequest", true),
    ("onRecordConfirmPasswordResetRequest", true),
    ("onRecordRequestVerificationRequest", true),
    ("onRecordConfirmVerificationRequest", true),
    ("onRecordRequestEmailChangeRequest", true),
    ("onRecordConfirmEmailChangeRequest", true),
    ("onRecordRequestOTPRequest", true),
    ("onRecordAuthWithOTPRequest", true),
    ("onBatchRequest", false),
    ("onSettingsListRequest", false),
    ("onSettingsUpdateRequest", false),
    ("onSettingsReload", false),
    ("onFileDownloadRequest", false),
    ("onFileTokenRequest", false),
    ("onCollectionsListRequest", false),
    ("onCollectionViewRequest", false),
    ("onCollectionCreateRequest", false),
    ("onCollectionUpdateRequest", false),
    ("onCollectionDeleteRequest", false),
    ("onCollectionsImportRequest", false),
    ("onBackupsListRequest", false),
];

/// Whether EdgeBase runs the hook `event`.
pub fn runs(event: &str) -> bool {
    HOOK_EVENTS.contains(&(event, true))
}

/// A route middleware: hook code, or one of `$apis`' built-in ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Middleware {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builtin: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Lower runs first (PocketBase's `{func, priority}` form).
    #[serde(default)]
    pub priority: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub method: String,
    pub path: String,
    pub handler: String,
    #[serde(default)]
    pub middlewares: Vec<Middleware>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hook {
    pub event: String,
    pub handler: String,
    #[serde(default)]
    pub tags: Vec<String>,
    /// An after-success hook run at least once through the replicated outbox (EdgeBase's
    /// `{ atLeastOnce: true }` option), instead of once on the proposing node.
    #[serde(default, rename = "atLeastOnce")]
    pub at_least_once: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cron {
    pub id: String,
    pub expression: String,
    pub handler: String,
}

/// Everything a bundle registered, in registration order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Registry {
    pub routes: Vec<Route>,
    /// `routerUse`: run around every custom route.
    pub middlewares: Vec<Middleware>,
    pub hooks: Vec<Hook>,
    pub crons: Vec<Cron>,
    /// `cronRemove` at load time: jobs registered earlier that no longer run.
    pub cron_removals: Vec<String>,
}

impl Registry {
    /// The handlers of `event` that apply to `tag` (none: every tag), in registration order.
    pub fn hooks_for<'a>(
        &'a self,
        event: &'a str,
        tag: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Hook> {
        self.hooks.iter().filter(move |hook| {
            hook.event == event
                && (hook.tags.is_empty()
                    || tag.is_some_and(|tag| hook.tags.iter().any(|t| t == tag)))
        })
    }

    /// The handlers' sources of `event` that apply to `tag`, in registration order.
    pub fn handlers(&self, event: &str, tag: Option<&str>) -> Vec<String> {
        self.hooks_for(event, tag)
            .map(|hook| hook.handler.clone())
            .collect()
    }

    /// The cron jobs left after removals (a later registration of an id replaces an earlier
    /// one, as PocketBase's scheduler does).
    pub fn active_crons(&self) -> Vec<&Cron> {
        let mut active: Vec<&Cron> = Vec::new();
        for cron in &self.crons {
            active.retain(|known| known.id != cron.id);
            active.push(cron);
        }
        active.retain(|cron| !self.cron_removals.contains(&cron.id));
        active
    }

    /// Events registered that EdgeBase does not run yet, each once.
    pub fn events_not_run(&self) -> Vec<&str> {
        let mut events: Vec<&str> = self
            .hooks
            .iter()
            .map(|hook| hook.event.as_str())
            .filter(|event| !runs(event))
            .collect();
        events.sort_unstable();
        events.dedup();
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn some_hooks_run_and_others_only_load() {
        assert!(runs("onRecordCreate") && runs("onBootstrap"));
        assert!(!runs("onModelCreate") && !runs("onNoSuchThing"));
    }
}
