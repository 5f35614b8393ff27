//! `GET /api/collections/{c}/auth-methods`: which ways to log in the collection offers, in
//! PocketBase 0.40's shape (with its legacy keys). Each enabled OAuth2 provider EdgeBase
//! supports comes with a fresh state and PKCE pair chosen here and its authorization URL;
//! PocketBase's inline SVG logos are not carried (`logo` is empty).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::auth::auth_collection;
use crate::consistency::Fresh;
use crate::error::ApiError;
use edgebase_auth::oauth2_client;
use edgebase_model::auth_config::AuthOptions;
use edgebase_model::oauth2_providers::ProviderConfig;
use edgebase_service::app::App;

/// The answer for one collection's options.
pub fn auth_methods_body(options: &AuthOptions) -> Value {
    let password_enabled = options.password_auth.enabled;
    let identity_fields: &[String] = if password_enabled {
        &options.password_auth.identity_fields
    } else {
        &[]
    };
    let has_identity = |name: &str| identity_fields.iter().any(|field| field == name);
    let duration_if = |enabled: bool, duration_secs: u64| if enabled { duration_secs } else { 0 };
    let providers = if options.oauth2.enabled {
        providers_info(&options.oauth2.providers)
    } else {
        Vec::new()
    };
    json!({
        "password": {"identityFields": identity_fields, "enabled": password_enabled},
        "oauth2": {"providers": providers, "enabled": options.oauth2.enabled},
        "mfa": {
            "enabled": options.mfa.enabled,
            "duration": duration_if(options.mfa.enabled, options.mfa.duration_secs),
        },
        "otp": {
            "enabled": options.otp.enabled,
            "duration": duration_if(options.otp.enabled, options.otp.duration_secs),
        },
        "authProviders": providers,
        "usernamePassword": has_identity("username"),
        "emailPassword": has_identity("email"),
    })
}

/// One entry per configured provider EdgeBase can log in with, in the configured order
/// (PocketBase skips a provider it cannot set up, as this skips unsupported ones).
fn providers_info(entries: &[Value]) -> Vec<Value> {
    entries
        .iter()
        .filter_map(ProviderConfig::from_option)
        .map(|config| {
            let state = oauth2_client::new_state();
            let (verifier, challenge) = if config.pkce {
                oauth2_client::new_pkce()
            } else {
                (String::new(), String::new())
            };
            let method = if config.pkce { "S256" } else { "" };
            let auth_url =
                oauth2_client::auth_url(&config, &state, config.pkce.then_some(challenge.as_str()));
            json!({
                "name": config.kind.name,
                "displayName": config.display_name,
                "logo": "",
                "state": state,
                "authURL": auth_url,
                "authUrl": auth_url,
                "codeVerifier": verifier,
                "codeChallenge": challenge,
                "codeChallengeMethod": method,
            })
        })
        .collect()
}

pub async fn auth_methods(
    State(app): State<App>,
    _fresh: Fresh,
    Path(collection): Path<String>,
) -> Result<Response, ApiError> {
    let loaded = auth_collection(&app, &collection)?;
    Ok(Json(auth_methods_body(&loaded.auth)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Options -> answer, read off PocketBase 0.40.6.
    #[test]
    fn shape_matches_pocketbase() {
        let defaults = edgebase_model::auth_collection::default_options();
        assert_eq!(
            auth_methods_body(&AuthOptions::from_options(&defaults)),
            json!({"password":{"identityFields":["email"],"enabled":true},"oauth2":{"providers":[],"enabled":false},"mfa":{"enabled":false,"duration":0},"otp":{"enabled":false,"duration":0},"authProviders":[],"usernamePassword":false,"emailPassword":true})
        );
    }

    /// An enabled provider, read off PocketBase 0.40.6: a state of 30 characters, a
    /// verifier of 43 whose S256 is the challenge, both in the URL; `pkce: false` gives none.
    #[test]
    fn providers_are_listed() {
        let mut options = edgebase_model::auth_collection::default_options();
        options.insert(
            "oauth2".into(),
            json!({"enabled": true, "providers": [
                {"name": "oidc", "clientId": "cid", "clientSecret": "s", "displayName": "My IdP",
                 "authURL": "http://127.0.0.1:1/authorize", "pkce": null},
                {"name": "oidc2", "clientId": "x", "clientSecret": "y", "pkce": false},
                {"name": "apple", "clientId": "x", "clientSecret": "y"},
                {"name": "unknown", "clientId": "x", "clientSecret": "y"}
            ]}),
        );
        let body = auth_methods_body(&AuthOptions::from_options(&options));
        let providers = body["oauth2"]["providers"].as_array().expect("a list");
        assert_eq!(providers.len(), 3, "{body}");
        assert_eq!(providers[2]["name"], "apple");
        assert!(providers[2]["authURL"]
            .as_str()
            .is_some_and(|url| url.contains("response_mode=form_post")));
        assert_eq!(body["authProviders"], body["oauth2"]["providers"]);
        let oidc = &providers[0];
        assert_eq!(oidc["displayName"], "My IdP");
        let state = oidc["state"].as_str().expect("state");
        let verifier = oidc["codeVerifier"].as_str().expect("verifier");
        let challenge = oidc["codeChallenge"].as_str().expect("challenge");
        assert_eq!((state.len(), verifier.len()), (30, 43));
        assert_eq!(oauth2_client::s256_challenge(verifier), challenge);
        assert_eq!(
            oidc["authURL"],
            json!(format!("http://127.0.0.1:1/authorize?client_id=cid&code_challenge={challenge}&code_challenge_method=S256&response_type=code&scope=openid+email+profile&state={state}&redirect_uri="))
        );
        let plain = &providers[1];
        assert_eq!(
            (
                &plain["displayName"],
                &plain["codeVerifier"],
                &plain["codeChallengeMethod"]
            ),
            (&json!("OIDC"), &json!(""), &json!(""))
        );
    }
}
