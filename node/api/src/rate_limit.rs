//! Rate limits as PocketBase's settings describe them: rules matched by label (`METHOD
//! /path`, `/path`, a `/prefix/`, `collection:action`, `*:action`) and audience (`@guest`,
//! `@auth`, everyone), counted per client address on this node, 429 past the limit.
//! Superusers and excluded addresses are never limited.

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::client_address::{client_address, peer};
use crate::error::ApiError;
use edgebase_model::settings::RateLimitRule;
use edgebase_service::app::App;
use edgebase_service::principal::Principal;

/// The audiences a rule may name that apply to this caller.
fn audiences(principal: &Principal) -> [&'static str; 2] {
    match principal {
        Principal::Anonymous => ["", "@guest"],
        _ => ["", "@auth"],
    }
}

/// PocketBase's rule lookup: the first label with a rule of exactly that label wins; a rule
/// ending in `/` matches any label under it.
fn find_rule<'a>(
    rules: &'a [RateLimitRule],
    labels: &[String],
    audiences: &[&str],
) -> Option<&'a RateLimitRule> {
    let allowed = |rule: &RateLimitRule| audiences.contains(&rule.audience.as_str());
    let prefix_rules: Vec<&RateLimitRule> = rules
        .iter()
        .filter(|rule| rule.label.ends_with('/'))
        .collect();
    for label in labels {
        if let Some(rule) = rules
            .iter()
            .find(|rule| rule.label == *label && allowed(rule))
        {
            return Some(rule);
        }
        let with_slash = format!("{label}/");
        if let Some(rule) = prefix_rules
            .iter()
            .find(|rule| with_slash.starts_with(rule.label.as_str()) && allowed(rule))
        {
            return Some(rule);
        }
    }
    None
}

/// The tags PocketBase gives a collection route: `list`, `view`, `create`, `update`,
/// `delete`, and the auth actions.
fn collection_route(
    method: &Method,
    path: &str,
) -> Option<(String, &'static str, &'static [&'static str])> {
    let rest = path.strip_prefix("/api/collections/")?;
    let mut parts = rest.split('/');
    let collection = parts.next().filter(|name| !name.is_empty())?.to_string();
    let tail: Vec<&str> = parts.collect();
    let (pattern, tags): (&'static str, &'static [&'static str]) =
        match (method.as_str(), tail.as_slice()) {
            ("GET", ["records"]) => ("records", &["list"]),
            ("POST", ["records"]) => ("records", &["create"]),
            ("GET", ["records", _]) => ("records/id", &["view"]),
            ("PATCH", ["records", _]) => ("records/id", &["update"]),
            ("DELETE", ["records", _]) => ("records/id", &["delete"]),
            ("GET", ["auth-methods"]) => ("auth-methods", &["listAuthMethods"]),
            ("POST", ["auth-refresh"]) => ("auth-refresh", &["authRefresh"]),
            ("POST", ["auth-with-password"]) => {
                ("auth-with-password", &["authWithPassword", "auth"])
            }
            ("POST", ["auth-with-oauth2"]) => ("auth-with-oauth2", &["authWithOAuth2", "auth"]),
            ("POST", ["request-otp"]) => ("request-otp", &["requestOTP"]),
            ("POST", ["auth-with-otp"]) => ("auth-with-otp", &["authWithOTP", "auth"]),
            ("POST", ["request-password-reset"]) => {
                ("request-password-reset", &["requestPasswordReset"])
            }
            ("POST", ["confirm-password-reset"]) => {
                ("confirm-password-reset", &["confirmPasswordReset"])
            }
            ("POST", ["request-verification"]) => {
                ("request-verification", &["requestVerification"])
            }
            ("POST", ["confirm-verification"]) => {
                ("confirm-verification", &["confirmVerification"])
            }
            ("POST", ["request-email-change"]) => ("request-email-change", &["requestEmailChange"]),
            ("POST", ["confirm-email-change"]) => ("confirm-email-change", &["confirmEmailChange"]),
            _ => return None,
        };
    Some((collection, pattern, tags))
}

fn too_many() -> Response {
    metrics::counter!("edgebase_rate_limited_total").increment(1);
    ApiError::new(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests.").into_response()
}

pub async fn limit(State(app): State<App>, mut request: Request, next: Next) -> Response {
    let Ok(settings) = app.settings() else {
        return next.run(request).await;
    };
    if !settings.rate_limits.enabled {
        return next.run(request).await;
    }
    let Ok(principal) = crate::identity::principal(&app, request.headers()) else {
        return next.run(request).await;
    };
    // The superuser allowlist inside this layer reuses the identity instead of verifying the
    // token again.
    request.extensions_mut().insert(principal.clone());
    if principal.is_superuser() {
        return next.run(request).await;
    }
    let client = client_address(&settings, request.headers(), peer(&request));
    if client.is_empty() || settings.rate_limits.excluded_ips.contains(&client) {
        return next.run(request).await;
    }
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let audiences = audiences(&principal);
    let default_labels = vec![format!("{method} {path}"), path.clone()];
    let now_secs = chrono::Utc::now().timestamp();
    let rules = &settings.rate_limits.rules;
    let allow = |limiter_id: String, rule: &RateLimitRule| {
        app.rate_limiter().allow(
            &settings,
            &limiter_id,
            &client,
            rule.max_requests,
            rule.duration,
            now_secs,
        )
    };
    // A collection route is counted by its collection's labels only (PocketBase binds its
    // collection limiter in place of the global one there).
    let collection = collection_route(&method, &path).and_then(|(name, pattern, tags)| {
        app.collection(&name)
            .ok()
            .flatten()
            .map(|loaded| (loaded, pattern, tags))
    });
    let (labels, limiter_prefix) = match &collection {
        Some((loaded, pattern, tags)) => {
            let name = &loaded.collection.name;
            let mut labels: Vec<String> = tags.iter().map(|tag| format!("{name}:{tag}")).collect();
            labels.extend(tags.iter().map(|tag| format!("*:{tag}")));
            labels.extend(default_labels);
            (
                labels,
                Some(format!(
                    "{}{pattern}{}",
                    loaded.collection.id,
                    tags.join("")
                )),
            )
        }
        None => (default_labels, None),
    };
    if let Some(rule) = find_rule(rules, &labels, &audiences) {
        let limiter_id = match &limiter_prefix {
            Some(prefix) => format!("{prefix}{}", rule.audience),
            None => format!("{}{}", rule.label, rule.audience),
        };
        if !allow(limiter_id, rule) {
            return too_many();
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(label: &str, audience: &str) -> RateLimitRule {
        RateLimitRule {
            label: label.into(),
            audience: audience.into(),
            duration: 1,
            max_requests: 1,
        }
    }

    #[test]
    fn rules_are_found_as_pocketbase_finds_them() {
        let rules = vec![
            rule("*:auth", ""),
            rule("users:create", "@guest"),
            rule("/api/batch", ""),
            rule("POST /api/collections/posts/records", ""),
            rule("/api/", ""),
        ];
        let find = |labels: &[&str], audiences: &[&str]| {
            let labels: Vec<String> = labels.iter().map(|label| label.to_string()).collect();
            find_rule(&rules, &labels, audiences).map(|rule| rule.label.clone())
        };
        let guest = ["", "@guest"];
        let member = ["", "@auth"];
        assert_eq!(
            find(&["users:auth", "*:auth"], &guest).as_deref(),
            Some("*:auth")
        );
        assert_eq!(
            find(&["users:create", "*:create"], &guest).as_deref(),
            Some("users:create")
        );
        assert_eq!(
            find(
                &["users:create", "*:create", "/api/collections/users/records"],
                &member
            )
            .as_deref(),
            Some("/api/")
        );
        assert_eq!(
            find(&["POST /api/batch", "/api/batch"], &guest).as_deref(),
            Some("/api/batch")
        );
        assert_eq!(
            find(
                &[
                    "POST /api/collections/posts/records",
                    "/api/collections/posts/records"
                ],
                &guest
            )
            .as_deref(),
            Some("POST /api/collections/posts/records")
        );
        assert_eq!(find(&["GET /health", "/health"], &guest), None);
    }

    #[test]
    fn collection_routes_carry_pocketbase_tags() {
        let route = |method: Method, path: &str| {
            collection_route(&method, path).map(|(c, _, tags)| (c, tags.to_vec()))
        };
        assert_eq!(
            route(Method::GET, "/api/collections/posts/records"),
            Some(("posts".into(), vec!["list"]))
        );
        assert_eq!(
            route(Method::PATCH, "/api/collections/posts/records/x"),
            Some(("posts".into(), vec!["update"]))
        );
        assert_eq!(
            route(Method::POST, "/api/collections/users/auth-with-password"),
            Some(("users".into(), vec!["authWithPassword", "auth"]))
        );
        assert_eq!(route(Method::GET, "/api/collections/posts"), None);
    }
}
