//! SMS through a gateway taking a Twilio-style form: `POST url` with basic auth and the
//! fields `To`, `From` and `Body`.

use reqwest::Url;

use super::{answer_text, outcome_of_error, Outcome, REQUEST_TIMEOUT};
use crate::settings::SmsSettings;

/// Longest phone number taken (E.164 is at most 15 digits; room for spaces and a `+`).
const PHONE_CHARS_MAX: usize = 32;
/// Longest text sent (Twilio's limit on a message body).
const TEXT_CHARS_MAX: usize = 1_600;

/// Send one SMS. The gateway's 404 is its URL misconfigured, not the number gone: every 4xx
/// other than 408 and 429 fails.
pub async fn send_sms(
    http: &reqwest::Client,
    settings: &SmsSettings,
    to: &str,
    text: &str,
) -> Outcome {
    let url = match check(settings, to, text) {
        Ok(url) => url,
        Err(reason) => return Outcome::Failed(reason),
    };
    let sent = http
        .post(url)
        .timeout(REQUEST_TIMEOUT)
        .basic_auth(&settings.username, Some(&settings.password))
        .form(&[("To", to), ("From", settings.from.as_str()), ("Body", text)])
        .send()
        .await;
    match sent {
        Ok(answer) => {
            let status = answer.status().as_u16();
            sms_outcome(status, &answer_text(answer).await)
        }
        Err(error) => outcome_of_error(&error),
    }
}

/// The gateway's URL, if the settings and the message can be sent.
fn check(settings: &SmsSettings, to: &str, text: &str) -> Result<Url, String> {
    let url = Url::parse(&settings.url)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https"))
        .ok_or("The SMS gateway URL is not an http or https URL.")?;
    if to.trim().is_empty() || to.chars().count() > PHONE_CHARS_MAX {
        return Err("The phone number is empty or too long.".into());
    }
    if settings.from.trim().is_empty() {
        return Err("The SMS sender number is not set.".into());
    }
    if text.chars().count() > TEXT_CHARS_MAX {
        return Err(format!(
            "The SMS text is longer than {TEXT_CHARS_MAX} characters."
        ));
    }
    Ok(url)
}

/// A gateway's answer: 2xx sent, 408/429/5xx tried again, anything else failed.
fn sms_outcome(status: u16, answer: &str) -> Outcome {
    let detail = || format!("{status}: {}", answer.chars().take(300).collect::<String>());
    match status {
        200..=299 => Outcome::Sent,
        408 | 429 | 500..=599 => Outcome::Retry(detail()),
        _ => Outcome::Failed(detail()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_map_to_outcomes() {
        let cases: &[(u16, &str)] = &[
            (200, "sent"),
            (201, "sent"),
            (400, "failed"),
            (401, "failed"),
            (404, "failed"),
            (410, "failed"),
            (408, "retry"),
            (429, "retry"),
            (500, "retry"),
            (503, "retry"),
        ];
        for (status, expected) in cases {
            let got = match sms_outcome(*status, "") {
                Outcome::Sent => "sent",
                Outcome::Gone(_) => "gone",
                Outcome::Retry(_) => "retry",
                Outcome::Failed(_) => "failed",
            };
            assert_eq!(got, *expected, "{status}");
        }
    }

    #[test]
    fn settings_and_messages_are_checked() {
        let settings = SmsSettings {
            enabled: true,
            url: "https://api.example.com/sms".into(),
            username: "user".into(),
            password: "secret".into(),
            from: "+15550001".into(),
            ..SmsSettings::default()
        };
        let long_text = "x".repeat(TEXT_CHARS_MAX + 1);
        let cases: &[(&SmsSettings, &str, &str, bool)] = &[
            (&settings, "+15551234", "hi", true),
            (&settings, "", "hi", false),
            (&settings, &"1".repeat(PHONE_CHARS_MAX + 1), "hi", false),
            (&settings, "+15551234", &long_text, false),
        ];
        for (settings, to, text, ok) in cases {
            assert_eq!(
                check(settings, to, text).is_ok(),
                *ok,
                "{to} {}",
                text.len()
            );
        }
        let no_url = SmsSettings {
            url: String::new(),
            ..settings.clone()
        };
        assert_eq!(
            check(&no_url, "+1", "hi").err().as_deref(),
            Some("The SMS gateway URL is not an http or https URL.")
        );
        let no_sender = SmsSettings {
            from: String::new(),
            ..settings
        };
        assert!(check(&no_sender, "+1", "hi").is_err());
    }
}
