//! OAuth2 over realtime, as PocketBase's SDK logs in with a popup: the app subscribes its
//! stream to `@oauth2` and sends the browser to the provider with the client id as the
//! `state`; the provider sends the browser back to `/api/oauth2-redirect`, at whichever node
//! the load balancer picks, and that node relays the code to the node holding the stream,
//! which sends it as the `@oauth2` event (once: the subscription ends with it). Apple posts
//! the user's name with its first redirect only; the node that takes the redirect keeps it
//! for a minute, for the node that finishes the login to take.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::client::Message;
use crate::client_id::owner_of;
use crate::hub::{Hub, HubInner};
use crate::relay::{self, RelayAnswer, RelayCall};

/// The topic a client subscribes to for its OAuth2 redirect.
pub const OAUTH2_TOPIC: &str = "@oauth2";
/// How long an Apple user's name waits for its login (PocketBase's minute).
const APPLE_NAME_LIFETIME: Duration = Duration::from_secs(60);
/// Names kept at once; the oldest goes first past it.
const APPLE_NAMES_MAX: usize = 10_000;
/// Longest code a name is kept under, and longest name (PocketBase's bounds).
const APPLE_CODE_CHARS_MAX: usize = 1_000;
const APPLE_NAME_BYTES_MAX: usize = 150;

/// What the provider sent back: PocketBase's redirect data. `user` is Apple's JSON with the
/// user's name, never sent on to the client.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuth2Redirect {
    pub state: String,
    pub code: String,
    pub error: String,
    pub apple_user: String,
}

impl OAuth2Redirect {
    /// Whether the login can go on: a code and no error.
    pub fn succeeded(&self) -> bool {
        self.error.is_empty() && !self.code.is_empty()
    }

    /// The `@oauth2` event's data, as PocketBase encodes it (`error` only when set).
    fn event_data(&self) -> String {
        let mut data = serde_json::json!({"state": self.state, "code": self.code});
        if !self.error.is_empty() {
            data["error"] = self.error.clone().into();
        }
        data.to_string()
    }
}

impl Hub {
    /// Take an OAuth2 redirect that came from `client_ip`: keep an Apple user's name here,
    /// and deliver the code to the stream its state names, here or at the node holding it.
    /// Whether it was delivered.
    pub async fn oauth2_redirect(&self, client_ip: &str, redirect: OAuth2Redirect) -> bool {
        let inner = &self.inner;
        if !redirect.apple_user.is_empty() && redirect.succeeded() {
            inner
                .apple_names
                .keep(&redirect.code, &redirect.apple_user, Instant::now());
        }
        let local = inner.app.consensus().node_id();
        match owner_of(&redirect.state) {
            Some(owner) if owner != local && inner.app.consensus().is_member(owner) => {
                let call = RelayCall::OAuth2Redirect {
                    client_ip: client_ip.to_string(),
                    redirect,
                };
                match relay::call(&inner.app, owner, &call, relay::RELAY_TIMEOUT).await {
                    Ok(RelayAnswer::Redirected(delivered)) => delivered,
                    Ok(other) => {
                        tracing::info!(owner, ?other, "unexpected answer to a relayed redirect");
                        false
                    }
                    Err(reason) => {
                        tracing::info!(owner, reason, "relay an OAuth2 redirect");
                        false
                    }
                }
            }
            Some(owner) if owner != local => false,
            _ => inner.deliver_oauth2_redirect(client_ip, &redirect),
        }
    }

    /// The Apple user's name a redirect with `code` carried, taken from this node or from
    /// whichever member kept it; `None` when none did (Apple sends it only once).
    pub async fn take_apple_name(&self, code: &str) -> Option<String> {
        let inner = &self.inner;
        if let Some(name) = inner.apple_names.take(code) {
            return Some(name);
        }
        let consensus = inner.app.consensus();
        let local = consensus.node_id();
        let call = RelayCall::TakeAppleName {
            code: code.to_string(),
        };
        let mut asks: futures::stream::FuturesUnordered<_> =
            consensus
                .member_ids()
                .into_iter()
                .filter(|member| *member != local)
                .map(|member| {
                    let call = &call;
                    async move {
                        relay::call(&inner.app, member, call, relay::NAME_LOOKUP_TIMEOUT).await
                    }
                })
                .collect();
        // The first member that kept it answers; the others are not waited for.
        while let Some(answer) = futures::StreamExt::next(&mut asks).await {
            if let Ok(RelayAnswer::AppleName(Some(name))) = answer {
                return Some(name);
            }
        }
        None
    }
}

impl HubInner {
    /// Send a redirect to this node's client its state names, if the client waits for one
    /// (subscribed to `@oauth2`) and the redirect comes from the client's address; the
    /// client's `@oauth2` subscription ends here either way.
    pub(crate) fn deliver_oauth2_redirect(
        &self,
        client_ip: &str,
        redirect: &OAuth2Redirect,
    ) -> bool {
        let Ok(client) = self.client(&redirect.state) else {
            tracing::debug!(client = %redirect.state, "OAuth2 redirect for a client this node does not hold");
            return false;
        };
        {
            let mut state = client.state();
            let before = state.subscriptions.len();
            Arc::make_mut(&mut state.subscriptions)
                .retain(|subscription| subscription.topic != OAUTH2_TOPIC);
            if state.subscriptions.len() == before {
                tracing::debug!(client = %client.id, "OAuth2 redirect for a client not waiting for one");
                return false;
            }
        }
        if !client.ip.is_empty() && client.ip != client_ip {
            tracing::debug!(client = %client.id, "OAuth2 redirect from another address than the stream's");
            return false;
        }
        let message = Message {
            name: OAUTH2_TOPIC.into(),
            data: redirect.event_data(),
            id: None,
        };
        if client.queue.try_send(message).is_err() {
            self.disconnect(&client.id, "too slow: its queue of events is full");
            return false;
        }
        true
    }
}

/// Apple users' names by the code of the redirect that carried them, each for a minute.
#[derive(Default)]
pub(crate) struct AppleNames {
    names: Mutex<HashMap<String, (String, Instant)>>,
}

impl AppleNames {
    /// Keep the name in Apple's `user` JSON (`{"name":{"firstName","lastName"}}`) under
    /// `code`, if it has one.
    pub(crate) fn keep(&self, code: &str, apple_user: &str, now: Instant) {
        if code.chars().count() > APPLE_CODE_CHARS_MAX {
            return;
        }
        let Some(name) = full_name(apple_user) else {
            return;
        };
        let mut names = self.lock();
        names.retain(|_, (_, kept)| now.duration_since(*kept) < APPLE_NAME_LIFETIME);
        if names.len() >= APPLE_NAMES_MAX {
            let oldest = names
                .iter()
                .min_by_key(|(_, (_, kept))| *kept)
                .map(|(code, _)| code.clone());
            if let Some(oldest) = oldest {
                names.remove(&oldest);
            }
        }
        names.insert(code.to_string(), (name, now));
    }

    /// The name kept under `code`, forgotten as it is taken; none once a minute has passed.
    pub(crate) fn take(&self, code: &str) -> Option<String> {
        let (name, kept) = self.lock().remove(code)?;
        (kept.elapsed() < APPLE_NAME_LIFETIME).then_some(name)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, Instant)>> {
        self.names
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// "First Last" from Apple's `user` JSON, at most 150 bytes; `None` when it names no one.
fn full_name(apple_user: &str) -> Option<String> {
    let user: serde_json::Value = serde_json::from_str(apple_user).ok()?;
    let part = |key: &str| user["name"][key].as_str().unwrap_or_default().to_string();
    let mut name = format!("{} {}", part("firstName"), part("lastName"));
    if name.len() > APPLE_NAME_BYTES_MAX {
        let mut end = APPLE_NAME_BYTES_MAX;
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        name.truncate(end);
    }
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_apple_user_json() {
        let cases = [
            (
                r#"{"name":{"firstName":"Ada","lastName":"Lovelace"}}"#,
                Some("Ada Lovelace"),
            ),
            (r#"{"name":{"firstName":"Ada"}}"#, Some("Ada")),
            (
                r#"{"name":{"lastName":"Lovelace"},"email":"a@b.c"}"#,
                Some("Lovelace"),
            ),
            (r#"{"name":{}}"#, None),
            (r#"{"email":"a@b.c"}"#, None),
            ("not json", None),
            ("", None),
        ];
        for (input, expected) in cases {
            assert_eq!(full_name(input).as_deref(), expected, "{input}");
        }
        let long = format!(r#"{{"name":{{"firstName":"{}"}}}}"#, "é".repeat(100));
        let name = full_name(&long).expect("a name");
        assert!(name.len() <= APPLE_NAME_BYTES_MAX && name.chars().all(|c| c == 'é'));
    }

    #[test]
    fn a_name_is_taken_once_and_only_within_its_minute() {
        let names = AppleNames::default();
        let now = Instant::now();
        names.keep("c1", r#"{"name":{"firstName":"A"}}"#, now);
        assert_eq!(names.take("c1").as_deref(), Some("A"));
        assert_eq!(names.take("c1"), None);
        if let Some(long_ago) = now.checked_sub(APPLE_NAME_LIFETIME * 2) {
            names.keep("c2", r#"{"name":{"firstName":"B"}}"#, long_ago);
            assert_eq!(names.take("c2"), None);
        }
        names.keep(
            &"x".repeat(APPLE_CODE_CHARS_MAX + 1),
            r#"{"name":{"firstName":"C"}}"#,
            now,
        );
        assert!(names.lock().is_empty());
    }

    #[test]
    fn names_are_bounded() {
        let names = AppleNames::default();
        let start = Instant::now();
        for n in 0..APPLE_NAMES_MAX + 5 {
            let at = start + Duration::from_millis(n as u64);
            names.keep(&format!("c{n}"), r#"{"name":{"firstName":"A"}}"#, at);
        }
        assert_eq!(names.lock().len(), APPLE_NAMES_MAX);
        assert_eq!(names.lock().get("c0"), None, "the oldest went first");
    }

    #[test]
    fn event_data_as_pocketbase_encodes_it() {
        let mut redirect = OAuth2Redirect {
            state: "s".into(),
            code: "c".into(),
            ..OAuth2Redirect::default()
        };
        assert_eq!(redirect.event_data(), r#"{"state":"s","code":"c"}"#);
        redirect.error = "access_denied".into();
        assert_eq!(
            redirect.event_data(),
            r#"{"state":"s","code":"c","error":"access_denied"}"#
        );
    }
}
