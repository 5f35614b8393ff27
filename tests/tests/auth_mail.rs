//! Mail flows end to end on a three-node cluster, with a real SMTP server (the `aiosmtpd`
//! sink in `tests/smtp/sink.py`) started by the test: a verification link mailed by one node
//! confirms at another; a password reset works and the old token then fails everywhere; an
//! email change works; an OTP logs in once and a reused code fails; MFA with password then
//! OTP (and OTP then password) completes, while the same method twice, a used session and
//! another record's session fail; every mail leaves the cluster once.

use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_tests::{
    run_test, seeded_rng, wait_until, Cluster, RawBody, RawClient, SmtpSink, MAIL_TIMEOUT,
    NODE_START_TIMEOUT,
};
use rand::seq::SliceRandom;
use regex::Regex;
use reqwest::Method;
use serde_json::{json, Value};

/// One answer: status and JSON body.
struct Answer {
    status: u16,
    body: Value,
}

/// Raw PocketBase-style calls that carry the highest index seen, so each node reads what an
/// earlier step wrote through another.
struct Calls {
    http: reqwest::Client,
    after: std::sync::atomic::AtomicU64,
}

impl Calls {
    async fn call(
        &self,
        base_url: &str,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> anyhow::Result<Answer> {
        use std::sync::atomic::Ordering;
        let mut request = self
            .http
            .request(method.clone(), format!("{base_url}{path}"))
            .header(
                "X-Edgebase-After",
                self.after.load(Ordering::SeqCst).to_string(),
            );
        if let Some(token) = token {
            request = request.header("Authorization", token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("{method} {path}"))?;
        let status = response.status().as_u16();
        if let Some(index) = response
            .headers()
            .get("X-Edgebase-Index")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok())
        {
            self.after.fetch_max(index, Ordering::SeqCst);
        }
        let text = response.text().await.context("read the answer")?;
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Answer { status, body })
    }

    async fn post(
        &self,
        base_url: &str,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> anyhow::Result<Answer> {
        self.call(base_url, Method::POST, path, token, Some(body))
            .await
    }
}

fn text(value: &Value, key: &str) -> anyhow::Result<String> {
    value[key]
        .as_str()
        .map(String::from)
        .with_context(|| format!("no {key:?} in {value}"))
}

/// The first capture of `pattern` in a mail's HTML.
fn find_in_mail(mail: &Value, pattern: &str) -> anyhow::Result<String> {
    let html = mail["html"].as_str().unwrap_or_default();
    let regex = Regex::new(pattern).context("pattern")?;
    regex
        .captures(html)
        .and_then(|captures| captures.get(1))
        .map(|found| found.as_str().to_string())
        .with_context(|| format!("no {pattern:?} in the mail: {html}"))
}

const APP_URL: &str = "http://app.edgebase.test";
const TOKEN_PATTERN: &str = r"[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_flows_work_across_the_cluster() {
    run_test("auth_mail", Duration::from_secs(480), |context| async move {
        let mut rng = seeded_rng("auth_mail");
        let sink = SmtpSink::start(context.root()).await?;
        let cluster = Cluster::builder(context.root()).size(3).start().await?;
        let mut ids = cluster.ids();
        cluster.wait_for_leader(&ids, NODE_START_TIMEOUT).await?;
        ids.shuffle(&mut rng);
        let (a, b, c) = (
            cluster.node(ids[0]).http_url(),
            cluster.node(ids[1]).http_url(),
            cluster.node(ids[2]).http_url(),
        );
        let calls = Calls {
            http: reqwest::Client::new(),
            after: std::sync::atomic::AtomicU64::new(0),
        };
        let admin = cluster.admin(ids[0]).await?;
        let su = admin.token().context("the admin session has a token")?;

        // SMTP settings saved at node A reach every node.
        let settings = calls
            .call(&a, Method::PATCH, "/api/settings", Some(&su), Some(json!({
                "smtp": {"enabled": true, "host": "127.0.0.1", "port": sink.port},
                "meta": {"appURL": APP_URL, "appName": "EdgeTest", "senderName": "Edge", "senderAddress": "noreply@edgebase.test"},
            })))
            .await?;
        ensure!(settings.status == 200, "settings: {}", settings.body);

        // The test email endpoint sends at once and says so.
        let tested = calls
            .post(&b, "/api/settings/test/email", Some(&su), json!({"email": "probe@example.com", "template": "verification", "collection": "users"}))
            .await?;
        ensure!(tested.status == 204, "test email: {} {}", tested.status, tested.body);
        let probe = sink.wait_mail("probe@example.com", 1).await?;
        ensure!(probe["from"] == "noreply@edgebase.test", "sender: {probe}");

        // Sign up at A.
        let email = "user@example.com";
        let created = calls
            .post(&a, "/api/collections/users/records", None, json!({"email": email, "password": "first-pass-1", "passwordConfirm": "first-pass-1"}))
            .await?;
        ensure!(created.status == 200, "sign up: {}", created.body);
        let user_id = text(&created.body, "id")?;
        let own_path = format!("/api/collections/users/records/{user_id}");

        // Verification: requested at B, confirmed at C with the mailed link.
        let requested = calls.post(&b, "/api/collections/users/request-verification", None, json!({"email": email})).await?;
        ensure!(requested.status == 204, "request verification: {}", requested.body);
        let unknown = calls.post(&b, "/api/collections/users/request-verification", None, json!({"email": "nobody@example.com"})).await?;
        ensure!(unknown.status == 204, "request verification for nobody: {}", unknown.body);
        let mail = sink.wait_mail(email, 1).await?;
        ensure!(mail["subject"].as_str().is_some_and(|s| s.contains("EdgeTest")), "subject: {}", mail["subject"]);
        let token = find_in_mail(&mail, &format!(r"{APP_URL}/_/#/auth/confirm-verification/({TOKEN_PATTERN})"))?;
        let confirmed = calls.post(&c, "/api/collections/users/confirm-verification", None, json!({"token": token})).await?;
        ensure!(confirmed.status == 204, "confirm verification: {}", confirmed.body);
        let seen = calls.call(&a, Method::GET, &own_path, Some(&su), None).await?;
        ensure!(seen.body["verified"] == true, "not verified at A: {}", seen.body);

        // Password reset: requested at B (twice: the second within two minutes sends
        // nothing, as PocketBase's resend guard), confirmed at A; the old token and the used reset
        // token then fail at B.
        let login = calls.post(&b, "/api/collections/users/auth-with-password", None, json!({"identity": email, "password": "first-pass-1"})).await?;
        ensure!(login.status == 200, "login: {}", login.body);
        let old_token = text(&login.body, "token")?;
        for attempt in 1..=2 {
            let requested = calls.post(&b, "/api/collections/users/request-password-reset", None, json!({"email": email})).await?;
            ensure!(requested.status == 204, "request reset {attempt}: {}", requested.body);
        }
        let mail = sink.wait_mail(email, 2).await?;
        let reset = find_in_mail(&mail, &format!(r"confirm-password-reset/({TOKEN_PATTERN})"))?;
        // The password field's own limits (read off PocketBase 0.40.6): 72 characters pass
        // the form but not the field's max of 71; past 72 bytes bcrypt itself refuses.
        for (length, code) in [(72, "validation_max_text_constraint"), (73, "validation_invalid_value")] {
            let long = "x".repeat(length);
            let refused = calls
                .post(&a, "/api/collections/users/confirm-password-reset", None, json!({"token": reset, "password": long, "passwordConfirm": long}))
                .await?;
            ensure!(
                refused.status == 400 && refused.body["message"] == "Failed to set new password." && refused.body["data"]["password"]["code"] == code,
                "a {length}-character password: {} {}",
                refused.status,
                refused.body
            );
        }
        let body = json!({"token": reset, "password": "second-pass-2", "passwordConfirm": "second-pass-2"});
        // Confirmed with an Idempotency-Key: a retry with the key at another node (its
        // answer lost, say) answers 204 again instead of "invalid token".
        let keyed = [("Idempotency-Key", "confirm-reset-1".to_string())];
        let path = "/api/collections/users/confirm-password-reset";
        let confirmed = RawClient::new(&a)?.send("POST", path, None, RawBody::Json(body.clone()), &keyed).await?;
        ensure!(confirmed.status == 204, "confirm reset: {}", confirmed.text);
        let retried = RawClient::new(&b)?.send("POST", path, None, RawBody::Json(body.clone()), &keyed).await?;
        let replayed = retried.headers.get("idempotent-replayed").and_then(|value| value.to_str().ok());
        ensure!(retried.status == 204 && replayed == Some("true"), "the keyed confirm again: {} {}", retried.status, retried.text);
        let refresh = calls.post(&b, "/api/collections/users/auth-refresh", Some(&old_token), json!({})).await?;
        ensure!(refresh.status == 401, "the old token refreshed after the reset: {}", refresh.body);
        // The email lookup is exact, as PocketBase's: another case finds no one (and the
        // count at the end shows B mailed nothing for it).
        let other_case = calls
            .post(&b, "/api/collections/users/request-password-reset", None, json!({"email": email.to_uppercase()}))
            .await?;
        ensure!(other_case.status == 204, "reset for another case: {}", other_case.body);
        let again = calls.post(&b, "/api/collections/users/confirm-password-reset", None, body).await?;
        ensure!(again.status == 400, "a used reset token worked again: {}", again.body);
        let old_password = calls.post(&c, "/api/collections/users/auth-with-password", None, json!({"identity": email, "password": "first-pass-1"})).await?;
        ensure!(old_password.status == 400, "the old password still logs in: {}", old_password.body);
        let login = calls.post(&c, "/api/collections/users/auth-with-password", None, json!({"identity": email, "password": "second-pass-2"})).await?;
        ensure!(login.status == 200, "login with the new password: {}", login.body);
        let token = text(&login.body, "token")?;

        // Email change: requested at A by the record itself, confirmed at B.
        let new_email = "renamed@example.com";
        let requested = calls.post(&a, "/api/collections/users/request-email-change", Some(&token), json!({"newEmail": new_email})).await?;
        ensure!(requested.status == 204, "request email change: {}", requested.body);
        let mail = sink.wait_mail(new_email, 1).await?;
        let change = find_in_mail(&mail, &format!(r"confirm-email-change/({TOKEN_PATTERN})"))?;
        let wrong = calls.post(&b, "/api/collections/users/confirm-email-change", None, json!({"token": change, "password": "wrong-pass"})).await?;
        ensure!(wrong.status == 400, "email change with a wrong password: {}", wrong.body);
        let confirmed = calls.post(&b, "/api/collections/users/confirm-email-change", None, json!({"token": change, "password": "second-pass-2"})).await?;
        ensure!(confirmed.status == 204, "confirm email change: {}", confirmed.body);
        let refresh = calls.post(&c, "/api/collections/users/auth-refresh", Some(&token), json!({})).await?;
        ensure!(refresh.status == 401, "a token from before the email change refreshed: {}", refresh.body);
        let by_old = calls.post(&c, "/api/collections/users/auth-with-password", None, json!({"identity": email, "password": "second-pass-2"})).await?;
        ensure!(by_old.status == 400, "the old email still logs in: {}", by_old.body);
        let by_new = calls.post(&c, "/api/collections/users/auth-with-password", None, json!({"identity": new_email, "password": "second-pass-2"})).await?;
        ensure!(by_new.status == 200, "the new email does not log in: {}", by_new.body);

        // OTP: enabled on users at A, requested at B, used at C, reused at A.
        let enabled = calls.call(&a, Method::PATCH, "/api/collections/users", Some(&su), Some(json!({"otp": {"enabled": true}}))).await?;
        ensure!(enabled.status == 200, "enable OTP: {}", enabled.body);
        let requested = calls.post(&b, "/api/collections/users/request-otp", None, json!({"email": new_email})).await?;
        ensure!(requested.status == 200, "request OTP: {}", requested.body);
        let otp_id = text(&requested.body, "otpId")?;
        let mail = sink.wait_mail(new_email, 2).await?;
        // Keyed, a request retried at another node gets the same code's id and sends no
        // second mail (the mails counted below would show one).
        let keyed = [("Idempotency-Key", "request-otp-1".to_string())];
        let otp_path = "/api/collections/users/request-otp";
        let first_keyed = RawClient::new(&a)?.send("POST", otp_path, None, RawBody::Json(json!({"email": new_email})), &keyed).await?;
        ensure!(first_keyed.status == 200, "keyed OTP request: {}", first_keyed.text);
        sink.wait_mail(new_email, 3).await?;
        let retried = RawClient::new(&c)?.send("POST", otp_path, None, RawBody::Json(json!({"email": new_email})), &keyed).await?;
        ensure!(retried.status == 200 && retried.json == first_keyed.json, "the keyed OTP request again: {} {}", retried.text, first_keyed.text);
        let code = find_in_mail(&mail, r"<strong>(\d+)</strong>")?;
        let wrong = calls.post(&c, "/api/collections/users/auth-with-otp", None, json!({"otpId": otp_id, "password": "0"})).await?;
        ensure!(wrong.status == 400, "a wrong code logged in: {}", wrong.body);
        let otp_login = calls.post(&c, "/api/collections/users/auth-with-otp", None, json!({"otpId": otp_id, "password": code})).await?;
        ensure!(otp_login.status == 200, "OTP login: {}", otp_login.body);
        // A keyed OTP login retried at another node (its code spent) gets the first answer.
        // (The code of the keyed request above; retries go to B, whose attempt count the
        // rate limit below does not look at.)
        let keyed_otp_id = first_keyed.json.as_ref().and_then(|json| json["otpId"].as_str()).context("otpId")?.to_string();
        let keyed_code = find_in_mail(&sink.wait_mail(new_email, 3).await?, r"<strong>(\d+)</strong>")?;
        let login_key = [("Idempotency-Key", "otp-login-1".to_string())];
        let login_path = "/api/collections/users/auth-with-otp";
        let login_body = json!({"otpId": keyed_otp_id, "password": keyed_code});
        let keyed_login = RawClient::new(&c)?.send("POST", login_path, None, RawBody::Json(login_body.clone()), &login_key).await?;
        ensure!(keyed_login.status == 200, "keyed OTP login: {}", keyed_login.text);
        let login_again = RawClient::new(&b)?.send("POST", login_path, None, RawBody::Json(login_body.clone()), &login_key).await?;
        ensure!(login_again.status == 200 && login_again.json == keyed_login.json, "the keyed OTP login again: {} {}", login_again.status, login_again.text);
        let unkeyed_again = RawClient::new(&b)?.send("POST", login_path, None, RawBody::Json(login_body), &[]).await?;
        ensure!(unkeyed_again.status == 400, "a spent code without the key: {} {}", unkeyed_again.status, unkeyed_again.text);
        ensure!(otp_login.body["record"]["id"] == user_id.as_str(), "OTP login as someone else: {}", otp_login.body);
        let reused = calls.post(&a, "/api/collections/users/auth-with-otp", None, json!({"otpId": otp_id, "password": code})).await?;
        ensure!(reused.status == 400, "a used OTP logged in again: {}", reused.body);

        // Codes are short: a record gets 5 attempts per 3 minutes at a node, then 429.
        let requested = calls.post(&a, "/api/collections/users/request-otp", None, json!({"email": new_email})).await?;
        let otp_id = text(&requested.body, "otpId")?;
        sink.wait_mail(new_email, 4).await?;
        for attempt in 1..=6 {
            let expected = if attempt <= 5 { 400 } else { 429 };
            let wrong = calls.post(&a, "/api/collections/users/auth-with-otp", None, json!({"otpId": otp_id, "password": "0"})).await?;
            ensure!(wrong.status == expected, "wrong code attempt {attempt}: {} {}", wrong.status, wrong.body);
        }

        // MFA: password then OTP.
        let guarded = calls
            .post(&a, "/api/collections", Some(&su), json!({"name": "guarded", "type": "auth", "createRule": "", "otp": {"enabled": true}, "mfa": {"enabled": true}}))
            .await?;
        ensure!(guarded.status == 200, "create guarded: {}", guarded.body);
        let mut guarded_ids = Vec::new();
        for address in ["g@example.com", "h@example.com"] {
            let made = calls
                .post(&a, "/api/collections/guarded/records", None, json!({"email": address, "password": "guarded-pass", "passwordConfirm": "guarded-pass"}))
                .await?;
            ensure!(made.status == 200, "create {address}: {}", made.body);
            guarded_ids.push(text(&made.body, "id")?);
        }
        let password_body = |mfa_id: &str| json!({"identity": "g@example.com", "password": "guarded-pass", "mfaId": mfa_id});
        let first = calls.post(&b, "/api/collections/guarded/auth-with-password", None, password_body("")).await?;
        ensure!(first.status == 401 && first.body.get("token").is_none(), "password alone: {} {}", first.status, first.body);
        let mfa_id = text(&first.body, "mfaId")?;
        let twice = calls.post(&c, "/api/collections/guarded/auth-with-password", None, password_body(&mfa_id)).await?;
        ensure!(
            twice.status == 400 && twice.body["message"] == "A different authentication method is required.",
            "password twice: {} {}",
            twice.status,
            twice.body
        );
        // Another record's session does not complete g's login.
        let other = calls.post(&b, "/api/collections/guarded/auth-with-password", None, json!({"identity": "h@example.com", "password": "guarded-pass"})).await?;
        let other_mfa = text(&other.body, "mfaId")?;
        let otp_for = |mfa: String| {
            let calls = &calls;
            let sink = &sink;
            let (b, c) = (b.clone(), c.clone());
            async move {
                let before = sink.mails_to("g@example.com")?.len();
                let requested = calls.post(&b, "/api/collections/guarded/request-otp", None, json!({"email": "g@example.com"})).await?;
                ensure!(requested.status == 200, "request OTP for g: {}", requested.body);
                let otp_id = text(&requested.body, "otpId")?;
                let mail = sink.wait_mail("g@example.com", before + 1).await?;
                let code = find_in_mail(&mail, r"<strong>(\d+)</strong>")?;
                calls.post(&c, "/api/collections/guarded/auth-with-otp", None, json!({"otpId": otp_id, "password": code, "mfaId": mfa})).await
            }
        };
        let crossed = otp_for(other_mfa).await?;
        ensure!(crossed.status == 400, "another record's MFA session completed a login: {}", crossed.body);
        let second = otp_for(mfa_id.clone()).await?;
        ensure!(second.status == 200, "password then OTP: {} {}", second.status, second.body);
        ensure!(second.body["record"]["id"] == guarded_ids[0].as_str(), "MFA login as someone else: {}", second.body);
        let spent = calls.post(&a, "/api/collections/guarded/auth-with-password", None, password_body(&mfa_id)).await?;
        ensure!(spent.status == 400, "a used MFA session worked again: {}", spent.body);

        // MFA the other way round: OTP, then password.
        let first = otp_for(String::new()).await?;
        ensure!(first.status == 401, "OTP alone: {} {}", first.status, first.body);
        let mfa_id = text(&first.body, "mfaId")?;
        let second = calls.post(&a, "/api/collections/guarded/auth-with-password", None, password_body(&mfa_id)).await?;
        ensure!(second.status == 200 && second.body.get("token").is_some(), "OTP then password: {} {}", second.status, second.body);

        // Each mail left the cluster once: one verification and one reset for the first
        // address (B's later mails are behind the held-back second reset in its queue), one
        // change confirmation and three codes for the new one (the keyed request retried
        // sent one).
        let first_address = sink.mails_to(email)?;
        ensure!(first_address.len() == 2, "mails to {email}: {first_address:?}");
        let second_address = sink.mails_to(new_email)?;
        ensure!(second_address.len() == 4, "mails to {new_email}: {second_address:?}");
        eprintln!("auth_mail: {} mails received", sink.mails()?.len());
        ensure!(sink.mails_to("nobody@example.com")?.is_empty(), "a mail went to an unknown address");

        // The login alert: the user's device so far (this test's client) is noted in
        // `_authOrigins` after the logins above; a login from another user agent mails an
        // alert, a second login from it does not.
        let origins_path = format!("/api/collections/_authOrigins/records?filter=recordRef%3D%27{user_id}%27");
        let origins = |count: u64| {
            let (calls, a, su, path) = (&calls, a.clone(), su.clone(), origins_path.clone());
            async move {
                wait_until(&format!("{count} devices noted"), MAIL_TIMEOUT, || {
                    let (a, su, path) = (a.clone(), su.clone(), path.clone());
                    async move {
                        let listed = calls.call(&a, Method::GET, &path, Some(&su), None).await?;
                        Ok((listed.body["totalItems"].as_u64() == Some(count)).then_some(()))
                    }
                })
                .await
            }
        };
        origins(1).await?;
        let device = Calls {
            http: reqwest::Client::builder().user_agent("edgebase-test-device/2").build()?,
            after: std::sync::atomic::AtomicU64::new(calls.after.load(std::sync::atomic::Ordering::SeqCst)),
        };
        let before = sink.mails_to(new_email)?.len();
        let new_device = device
            .post(&a, "/api/collections/users/auth-with-password", None, json!({"identity": new_email, "password": "second-pass-2"}))
            .await?;
        ensure!(new_device.status == 200, "login from a new device: {}", new_device.body);
        let alert = sink.wait_mail(new_email, before + 1).await?;
        ensure!(
            alert["subject"].as_str().is_some_and(|subject| subject.contains("New sign-in")),
            "alert subject: {}",
            alert["subject"]
        );
        ensure!(
            alert["html"].as_str().is_some_and(|html| html.contains("edgebase-test-device/2")),
            "the alert does not name the device: {}",
            alert["html"]
        );
        origins(2).await?;
        let known_device = device
            .post(&a, "/api/collections/users/auth-with-password", None, json!({"identity": new_email, "password": "second-pass-2"}))
            .await?;
        ensure!(known_device.status == 200, "login from a known device: {}", known_device.body);
        // A later mail through A's queue: had the second login alerted, it would be before.
        let requested = calls.post(&a, "/api/collections/users/request-otp", None, json!({"email": new_email})).await?;
        ensure!(requested.status == 200, "request OTP: {}", requested.body);
        let last = sink.wait_mail(new_email, before + 2).await?;
        ensure!(
            last["subject"].as_str().is_some_and(|subject| !subject.contains("New sign-in")),
            "a known device alerted again: {}",
            last["subject"]
        );

        // Expiry: with the shortest lifetimes PocketBase allows (10 s), a reset token, a code
        // and an MFA session that were valid fail once their time is up.
        let shortened = calls
            .call(&a, Method::PATCH, "/api/collections/users", Some(&su), Some(json!({"passwordResetToken": {"duration": 10}, "otp": {"duration": 10}})))
            .await?;
        ensure!(shortened.status == 200, "shorten users' lifetimes: {}", shortened.body);
        let shortened = calls
            .call(&a, Method::PATCH, "/api/collections/guarded", Some(&su), Some(json!({"mfa": {"duration": 10}})))
            .await?;
        ensure!(shortened.status == 200, "shorten guarded's MFA: {}", shortened.body);
        let before = sink.mails_to(new_email)?.len();
        let requested = calls.post(&c, "/api/collections/users/request-password-reset", None, json!({"email": new_email})).await?;
        ensure!(requested.status == 204, "request reset: {}", requested.body);
        let reset = find_in_mail(&sink.wait_mail(new_email, before + 1).await?, &format!(r"confirm-password-reset/({TOKEN_PATTERN})"))?;
        let requested = calls.post(&c, "/api/collections/users/request-otp", None, json!({"email": new_email})).await?;
        let otp_id = text(&requested.body, "otpId")?;
        let code = find_in_mail(&sink.wait_mail(new_email, before + 2).await?, r"<strong>(\d+)</strong>")?;
        let first = calls.post(&b, "/api/collections/guarded/auth-with-password", None, password_body("")).await?;
        let mfa_id = text(&first.body, "mfaId")?;
        // Everything above was created by now: past 10 s (and a second of clock rounding)
        // from here, all of it has expired on every node.
        let expired_at = tokio::time::Instant::now() + Duration::from_secs(12);
        wait_until("the short lifetimes to pass", Duration::from_secs(30), || async {
            Ok((tokio::time::Instant::now() >= expired_at).then_some(()))
        })
        .await?;
        let late = calls
            .post(&a, "/api/collections/users/confirm-password-reset", None, json!({"token": reset, "password": "third-pass-3", "passwordConfirm": "third-pass-3"}))
            .await?;
        ensure!(
            late.status == 400 && late.body["data"]["token"]["code"] == "validation_invalid_token",
            "an expired reset token: {} {}",
            late.status,
            late.body
        );
        let late = calls.post(&b, "/api/collections/users/auth-with-otp", None, json!({"otpId": otp_id, "password": code})).await?;
        ensure!(late.status == 400 && late.body["message"] == "Invalid or expired OTP.", "an expired OTP: {} {}", late.status, late.body);
        let late = calls.post(&c, "/api/collections/guarded/auth-with-password", None, password_body(&mfa_id)).await?;
        ensure!(
            late.status == 400 && late.body["message"] == "Invalid or expired MFA session.",
            "an expired MFA session: {} {}",
            late.status,
            late.body
        );
        Ok(())
    })
    .await;
}
