//! The SMS gateway: Twilio's form, behind basic auth.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

use super::{
    delay, header_text, lock, take, Inbox, Refusal, ServiceState, Shared, TestAnswer, TestService,
};

/// A Twilio-style SMS gateway: `POST /sms`, a form with `To`, `From` and `Body`, basic auth.
pub type SmsSink = TestService<SmsState>;

/// An SMS the gateway took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsReceived {
    pub to: String,
    pub from: String,
    pub body: String,
    /// The status answered.
    pub status: u16,
}

pub struct SmsState {
    inbox: Inbox<SmsReceived>,
    username: String,
    password: String,
}

impl ServiceState for SmsState {
    type Record = SmsReceived;
    const NAME: &'static str = "SMS gateway";
    fn inbox(&mut self) -> &mut Inbox<SmsReceived> {
        &mut self.inbox
    }
}

impl SmsSink {
    /// Serve, taking requests with these basic-auth credentials only.
    pub async fn start(username: &str, password: &str) -> anyhow::Result<SmsSink> {
        TestService::serve(
            |_| SmsState {
                inbox: Inbox::default(),
                username: username.to_string(),
                password: password.to_string(),
            },
            Router::new().route("/sms", post(receive_sms)),
        )
        .await
    }

    /// Where messages are posted.
    pub fn url(&self) -> String {
        format!("{}/sms", self.origin())
    }

    /// The messaging settings' `sms` object for this gateway.
    pub fn settings(&self, from: &str) -> Value {
        let state = lock(&self.state);
        json!({
            "enabled": true,
            "url": self.url(),
            "username": state.username,
            "password": state.password,
            "from": from,
        })
    }
}

async fn receive_sms(
    State(state): State<Shared<SmsState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    delay(&state).await;
    let mut service = lock(&state);
    match check_sms(&service, &headers, &body) {
        Ok(sms) => {
            let to = sms.to.clone();
            let success = TestAnswer::json(
                201,
                json!({"sid": format!("SM{}", service.inbox.received.len() + 1), "status": "queued"}),
            );
            take(&mut *service, &to, success, |status| SmsReceived {
                status,
                ..sms
            })
        }
        Err(refusal) => {
            let refusal = Refusal {
                reason: format!("sms: {}", refusal.reason),
                ..refusal
            };
            service.inbox.reject(refusal)
        }
    }
}

/// Basic auth with the gateway's credentials and a form with `To`, `From` and `Body`.
fn check_sms(service: &SmsState, headers: &HeaderMap, body: &[u8]) -> Result<SmsReceived, Refusal> {
    let credentials = header_text(headers, "authorization")
        .and_then(|value| value.strip_prefix("Basic "))
        .and_then(|encoded| STANDARD.decode(encoded).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok());
    let expected = format!("{}:{}", service.username, service.password);
    if credentials.as_deref() != Some(expected.as_str()) {
        return Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            format!("basic auth {credentials:?} is not the gateway's"),
        ));
    }
    let content_type = header_text(headers, "content-type").unwrap_or_default();
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            format!("Content-Type is {content_type:?}, not a form"),
        ));
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(body).into_owned().collect();
    let field = |name: &str| {
        form.get(name)
            .filter(|value| !value.is_empty())
            .cloned()
            .ok_or_else(|| Refusal::new(StatusCode::BAD_REQUEST, format!("no {name}")))
    };
    Ok(SmsReceived {
        to: field("To")?,
        from: field("From")?,
        body: field("Body")?,
        status: 0,
    })
}
