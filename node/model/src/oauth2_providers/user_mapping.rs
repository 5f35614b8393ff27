//! A provider's raw user answer mapped to PocketBase's OAuth2 user fields (id, name,
//! username, avatar URL, email), as each of PocketBase's `tools/auth` providers maps it.

use serde_json::{Map, Value};

use super::provider_table::{UserClaims, UserPaths};
use crate::fields::address::is_email;

/// PocketBase's user fields read off a provider's answer (empty when the provider has none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFields {
    pub id: String,
    pub name: String,
    pub username: String,
    pub avatar_url: String,
    pub email: String,
}

/// The provider's answer names an account PocketBase refuses to log in (not active, or no
/// user entry at all).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the provider's user is not usable: {reason}")]
pub struct InactiveAccount {
    pub reason: &'static str,
}

/// The value at a dotted path: object keys, and decimal indexes into arrays.
pub fn at_path<'a>(root: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut segments = path.split('.');
    let mut value = root.get(segments.next()?)?;
    for segment in segments {
        value = match value {
            Value::Object(map) => map.get(segment)?,
            Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(value)
}

/// The text at `path`: a string as is, a number in decimal, anything else empty.
pub fn text_at(root: &Map<String, Value>, path: &str) -> String {
    if path.is_empty() {
        return String::new();
    }
    match at_path(root, path) {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Number(number)) => number.to_string(),
        _ => String::new(),
    }
}

fn is_true_at(root: &Map<String, Value>, path: &str) -> bool {
    matches!(at_path(root, path), Some(Value::Bool(true)))
}

/// Go's `cast.ToBool`: true for `true`, a non-zero number, or a string `strconv.ParseBool`
/// reads as true.
fn truthy(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(flag)) => *flag,
        Some(Value::Number(number)) => number.as_f64().is_some_and(|number| number != 0.0),
        Some(Value::String(text)) => {
            matches!(text.as_str(), "1" | "t" | "T" | "TRUE" | "true" | "True")
        }
        _ => false,
    }
}

/// A numeric id as Go's `strconv.Itoa` writes a decoded int: missing reads as 0.
fn numeric_id(root: &Map<String, Value>, path: &str) -> String {
    let id = text_at(root, path);
    if id.is_empty() {
        "0".into()
    } else {
        id
    }
}

fn map_paths(paths: &UserPaths, raw: &Map<String, Value>) -> Result<UserFields, InactiveAccount> {
    if let Some((path, expected)) = paths.active_when {
        let actual = match at_path(raw, path) {
            Some(Value::Bool(flag)) => flag.to_string(),
            _ => text_at(raw, path),
        };
        if actual != expected {
            return Err(InactiveAccount {
                reason: "the account is not active",
            });
        }
    }
    if !paths.present.is_empty() && at_path(raw, paths.present).is_none() {
        return Err(InactiveAccount {
            reason: "the answer has no user entry",
        });
    }
    let email_verified = paths
        .email_verified_by
        .iter()
        .all(|path| is_true_at(raw, path));
    let avatar_shown = paths.avatar_shown_by.is_empty() || is_true_at(raw, paths.avatar_shown_by);
    Ok(UserFields {
        id: text_at(raw, paths.id),
        name: text_at(raw, paths.name),
        username: text_at(raw, paths.username),
        avatar_url: if avatar_shown {
            text_at(raw, paths.avatar_url)
        } else {
            String::new()
        },
        email: if email_verified {
            text_at(raw, paths.email)
        } else {
            String::new()
        },
    })
}

/// Map a provider's raw user answer (and, for VK, the token answer's fields) to
/// PocketBase's user fields. Emails a provider serves from a second endpoint (GitHub,
/// Bitbucket, Gitee without a public address) are left for the caller to fetch.
pub fn map_user(
    claims: UserClaims,
    raw: &Map<String, Value>,
    token_fields: &Map<String, Value>,
) -> Result<UserFields, InactiveAccount> {
    let text = |path: &str| text_at(raw, path);
    let fields = match claims {
        UserClaims::OpenIdConnect => UserFields {
            id: text("sub"),
            name: text("name"),
            username: text("preferred_username"),
            avatar_url: text("picture"),
            email: if truthy(raw.get("email_verified")) {
                text("email")
            } else {
                String::new()
            },
        },
        UserClaims::Apple => UserFields {
            id: text("sub"),
            name: text("name"),
            username: String::new(),
            avatar_url: String::new(),
            email: if truthy(raw.get("email_verified")) {
                text("email")
            } else {
                String::new()
            },
        },
        UserClaims::GitLab => UserFields {
            id: text("id"),
            name: text("name"),
            username: text("username"),
            avatar_url: text("avatar_url"),
            email: if chrono::DateTime::parse_from_rfc3339(&text("confirmed_at")).is_ok() {
                text("email")
            } else {
                String::new()
            },
        },
        UserClaims::GitHub => UserFields {
            id: text("id"),
            name: text("name"),
            username: text("login"),
            avatar_url: text("avatar_url"),
            email: text("email"),
        },
        UserClaims::Spotify => UserFields {
            id: text("id"),
            name: text("display_name"),
            username: String::new(),
            avatar_url: text("images.0.url"),
            email: String::new(),
        },
        UserClaims::Discord => UserFields {
            id: text("id"),
            name: format!("{}#{}", text("username"), text("discriminator")),
            username: text("username"),
            avatar_url: format!(
                "https://cdn.discordapp.com/avatars/{}/{}.png",
                text("id"),
                text("avatar")
            ),
            email: if raw.get("verified").and_then(Value::as_bool) == Some(true) {
                text("email")
            } else {
                String::new()
            },
        },
        UserClaims::Plain(fields) => UserFields {
            id: text(fields.id),
            name: text(fields.name),
            username: text(fields.username),
            avatar_url: text(fields.avatar_url),
            email: text(fields.email),
        },
        UserClaims::Paths(paths) => map_paths(&paths, raw)?,
        UserClaims::Bitbucket => {
            if text("account_status") != "active" {
                return Err(InactiveAccount {
                    reason: "the Bitbucket user is not active",
                });
            }
            UserFields {
                id: text("uuid"),
                name: text("display_name"),
                username: text("username"),
                avatar_url: text("links.avatar.href"),
                email: String::new(),
            }
        }
        UserClaims::Gitee => {
            let email = text("email");
            UserFields {
                id: numeric_id(raw, "id"),
                name: text("name"),
                username: text("login"),
                avatar_url: text("avatar_url"),
                email: if is_email(&email) {
                    email
                } else {
                    String::new()
                },
            }
        }
        UserClaims::Strava => {
            let id = text("id");
            UserFields {
                id: if id == "0" { String::new() } else { id },
                name: format!("{} {}", text("firstname"), text("lastname")),
                username: text("username"),
                avatar_url: text("profile"),
                email: String::new(),
            }
        }
        UserClaims::Vk => {
            if at_path(raw, "response.0").is_none() {
                return Err(InactiveAccount {
                    reason: "the answer has no response entry",
                });
            }
            UserFields {
                id: numeric_id(raw, "response.0.id"),
                name: format!(
                    "{} {}",
                    text("response.0.first_name"),
                    text("response.0.last_name")
                )
                .trim()
                .to_string(),
                username: text("response.0.screen_name"),
                avatar_url: text("response.0.photo_max"),
                email: match token_fields.get("email") {
                    Some(Value::String(email)) => email.clone(),
                    Some(Value::Null) | None => String::new(),
                    Some(other) => other.to_string(),
                },
            }
        }
        UserClaims::Yandex => UserFields {
            id: text("id"),
            name: text("real_name"),
            username: text("login"),
            avatar_url: if is_true_at(raw, "is_avatar_empty") {
                String::new()
            } else {
                format!(
                    "https://avatars.yandex.net/get-yapic/{}/islands-200",
                    text("default_avatar_id")
                )
            },
            email: text("default_email"),
        },
        UserClaims::Mailcow => {
            if text("active") != "1" {
                return Err(InactiveAccount {
                    reason: "the mailcow user is not active",
                });
            }
            let username = text("username");
            UserFields {
                id: text("id"),
                name: text("full_name"),
                username: username.split('@').next().unwrap_or_default().to_string(),
                avatar_url: String::new(),
                email: text("email"),
            }
        }
        UserClaims::Twitter => UserFields {
            id: text("data.id"),
            name: text("data.name"),
            username: text("data.username"),
            avatar_url: text("data.profile_image_url"),
            email: text("data.confirmed_email"),
        },
        UserClaims::Instagram => UserFields {
            id: text("user_id"),
            name: text("name"),
            username: text("username"),
            avatar_url: text("profile_picture_url"),
            email: String::new(),
        },
    };
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::oauth2_providers::supported;

    /// Provider, raw user (shaped as the provider documents it), token answer fields ->
    /// [id, name, username, avatar URL, email], or `None` when the login is refused; as
    /// PocketBase 0.40's `tools/auth/<provider>.go` maps them.
    type Case = (&'static str, Value, Value, Option<[&'static str; 5]>);

    fn check((provider, raw, token, expected): &Case) {
        let claims = supported(provider).expect("supported provider").claims;
        let (Value::Object(raw), Value::Object(token)) = (raw, token) else {
            panic!("case of {provider} is not two objects");
        };
        let got = map_user(claims, raw, token).ok().map(|user| {
            [
                user.id,
                user.name,
                user.username,
                user.avatar_url,
                user.email,
            ]
        });
        let expected = expected.map(|fields| fields.map(String::from));
        assert_eq!(got, expected, "{provider}: {raw:?}");
    }

    #[test]
    fn provider_users_map() {
        let none = json!({});
        let cases: Vec<Case> = vec![
            (
                "oidc",
                json!({"sub": "s", "name": "N", "preferred_username": "u", "picture": "p", "email": "e@x.com", "email_verified": "true"}),
                none.clone(),
                Some(["s", "N", "u", "p", "e@x.com"]),
            ),
            (
                "oidc",
                json!({"sub": "s", "email": "e@x.com", "email_verified": false}),
                none.clone(),
                Some(["s", "", "", "", ""]),
            ),
            (
                "apple",
                json!({"sub": "a", "picture": "p", "email": "e@x.com", "email_verified": "true"}),
                none.clone(),
                Some(["a", "", "", "", "e@x.com"]),
            ),
            (
                "apple",
                json!({"sub": "a", "email": "e@x.com", "email_verified": false, "is_private_email": true}),
                none.clone(),
                Some(["a", "", "", "", ""]),
            ),
            (
                "gitlab",
                json!({"id": 7, "name": "N", "username": "u", "avatar_url": "p", "email": "e@x.com", "confirmed_at": "2024-01-02T03:04:05Z"}),
                none.clone(),
                Some(["7", "N", "u", "p", "e@x.com"]),
            ),
            (
                "gitlab",
                json!({"id": 7, "email": "e@x.com", "confirmed_at": null}),
                none.clone(),
                Some(["7", "", "", "", ""]),
            ),
            (
                "github",
                json!({"id": 9, "name": "N", "login": "octo", "avatar_url": "p", "email": "e@x.com"}),
                none.clone(),
                Some(["9", "N", "octo", "p", "e@x.com"]),
            ),
            (
                "spotify",
                json!({"id": "sp", "display_name": "N", "email": "e@x.com", "images": [{"url": "p1"}, {"url": "p2"}]}),
                none.clone(),
                Some(["sp", "N", "", "p1", ""]),
            ),
            (
                "microsoft",
                json!({"id": "m", "displayName": "N", "mail": "e@x.com"}),
                none.clone(),
                Some(["m", "N", "", "", "e@x.com"]),
            ),
            (
                "gitea",
                json!({"id": 3, "full_name": "N", "login": "g", "avatar_url": "p", "email": "e@x.com"}),
                none.clone(),
                Some(["3", "N", "g", "p", "e@x.com"]),
            ),
            (
                "discord",
                json!({"id": "1", "username": "d", "discriminator": "0", "avatar": "h", "email": "e@x.com", "verified": false}),
                none.clone(),
                Some([
                    "1",
                    "d#0",
                    "d",
                    "https://cdn.discordapp.com/avatars/1/h.png",
                    "",
                ]),
            ),
            (
                "bitbucket",
                json!({"uuid": "{b-1}", "username": "bb", "display_name": "B B", "account_status": "active",
                    "links": {"avatar": {"href": "https://bb/a.png"}}}),
                none.clone(),
                Some(["{b-1}", "B B", "bb", "https://bb/a.png", ""]),
            ),
            (
                "bitbucket",
                json!({"uuid": "{b-1}", "account_status": "inactive"}),
                none.clone(),
                None,
            ),
            (
                "box",
                json!({"id": "11", "name": "Box U", "login": "u@box.com", "avatar_url": "https://box/a", "status": "active"}),
                none.clone(),
                Some(["11", "Box U", "", "https://box/a", "u@box.com"]),
            ),
            (
                "box",
                json!({"id": "11", "login": "u@box.com", "status": "inactive"}),
                none.clone(),
                None,
            ),
            (
                "facebook",
                json!({"id": "fb1", "name": "F B", "email": "f@x.com",
                    "picture": {"data": {"url": "https://fb/p.jpg", "height": 200}}}),
                none.clone(),
                Some(["fb1", "F B", "", "https://fb/p.jpg", "f@x.com"]),
            ),
            (
                "gitee",
                json!({"id": 5, "login": "gt", "name": "G T", "avatar_url": "https://gitee/a", "email": "g@x.com"}),
                none.clone(),
                Some(["5", "G T", "gt", "https://gitee/a", "g@x.com"]),
            ),
            (
                "gitee",
                json!({"id": 5, "login": "gt", "email": "not an address"}),
                none.clone(),
                Some(["5", "", "gt", "", ""]),
            ),
            (
                "instagram2",
                json!({"id": "ig-app-scoped", "user_id": "ig1", "username": "insta", "name": "I G",
                    "profile_picture_url": "https://ig/p", "account_type": "BUSINESS"}),
                none.clone(),
                Some(["ig1", "I G", "insta", "https://ig/p", ""]),
            ),
            (
                "kakao",
                json!({"id": 123, "properties": {"nickname": "kk", "profile_image": "https://k/p"},
                    "kakao_account": {"email": "k@x.com", "is_email_valid": true, "is_email_verified": true}}),
                none.clone(),
                Some(["123", "", "kk", "https://k/p", "k@x.com"]),
            ),
            (
                "kakao",
                json!({"id": 123, "kakao_account": {"email": "k@x.com", "is_email_valid": true, "is_email_verified": false}}),
                none.clone(),
                Some(["123", "", "", "", ""]),
            ),
            (
                "lark",
                json!({"code": 0, "msg": "success", "data": {"union_id": "on_1", "open_id": "ou_1",
                    "name": "L K", "avatar_url": "https://lark/a", "email": "l@x.com"}}),
                none.clone(),
                Some(["on_1", "L K", "", "https://lark/a", ""]),
            ),
            (
                "linear",
                json!({"data": {"viewer": {"id": "li1", "displayName": "lin", "name": "L I",
                    "email": "li@x.com", "avatarUrl": "https://li/a", "active": true}}}),
                none.clone(),
                Some(["li1", "L I", "lin", "https://li/a", "li@x.com"]),
            ),
            (
                "linear",
                json!({"data": {"viewer": {"id": "li1", "active": false}}}),
                none.clone(),
                None,
            ),
            (
                "monday",
                json!({"data": {"me": {"id": "12", "enabled": true, "name": "M O", "email": "m@x.com",
                    "is_verified": true, "photo_small": "https://m/p"}}}),
                none.clone(),
                Some(["12", "M O", "", "https://m/p", "m@x.com"]),
            ),
            (
                "monday",
                json!({"data": {"me": {"id": "12", "enabled": true, "email": "m@x.com", "is_verified": false}}}),
                none.clone(),
                Some(["12", "", "", "", ""]),
            ),
            (
                "monday",
                json!({"data": {"me": {"id": "12", "enabled": false}}}),
                none.clone(),
                None,
            ),
            (
                "livechat",
                json!({"account_id": "lc1", "name": "L C", "email": "l@x.com", "email_verified": true, "avatar_url": "https://lc/a"}),
                none.clone(),
                Some(["lc1", "L C", "", "https://lc/a", "l@x.com"]),
            ),
            (
                "livechat",
                json!({"account_id": "lc1", "email": "l@x.com", "email_verified": false}),
                none.clone(),
                Some(["lc1", "", "", "", ""]),
            ),
            (
                "mailcow",
                json!({"id": "mc1", "username": "mc@mail.example.com", "email": "mc@mail.example.com", "full_name": "M C", "active": 1}),
                none.clone(),
                Some(["mc1", "M C", "mc", "", "mc@mail.example.com"]),
            ),
            (
                "mailcow",
                json!({"id": "mc1", "username": "mc", "active": 0}),
                none.clone(),
                None,
            ),
            (
                "notion",
                json!({"object": "user", "id": "bot1", "type": "bot", "bot": {"owner": {"type": "user",
                    "user": {"id": "n1", "name": "N O", "avatar_url": "https://n/a", "person": {"email": "n@x.com"}}},
                    "workspace_name": "W"}}),
                none.clone(),
                Some(["n1", "N O", "", "https://n/a", "n@x.com"]),
            ),
            (
                "patreon",
                json!({"data": {"id": "p1", "type": "user", "attributes": {"full_name": "P A", "vanity": "pa",
                    "image_url": "https://p/i", "email": "p@x.com", "is_email_verified": true}}}),
                none.clone(),
                Some(["p1", "P A", "pa", "https://p/i", "p@x.com"]),
            ),
            (
                "patreon",
                json!({"data": {"id": "p1", "attributes": {"email": "p@x.com", "is_email_verified": false}}}),
                none.clone(),
                Some(["p1", "", "", "", ""]),
            ),
            (
                "planningcenter",
                json!({"data": {"id": "pc1", "type": "Person", "attributes": {"name": "P C", "avatar": "https://pc/a",
                    "status": "active"}}}),
                none.clone(),
                Some(["pc1", "P C", "", "https://pc/a", ""]),
            ),
            (
                "planningcenter",
                json!({"data": {"id": "pc1", "attributes": {"status": "inactive"}}}),
                none.clone(),
                None,
            ),
            (
                "strava",
                json!({"id": 42, "username": "runner", "firstname": "S", "lastname": "T", "profile": "https://s/p"}),
                none.clone(),
                Some(["42", "S T", "runner", "https://s/p", ""]),
            ),
            (
                "trakt",
                json!({"user": {"username": "tr", "name": "T R", "ids": {"slug": "tr", "uuid": "t-uuid"},
                    "images": {"avatar": {"full": "https://t/a"}}}}),
                none.clone(),
                Some(["t-uuid", "T R", "tr", "https://t/a", ""]),
            ),
            (
                "twitch",
                json!({"data": [{"id": "tw1", "login": "tw", "display_name": "Tw", "email": "t@x.com",
                    "profile_image_url": "https://tw/p"}]}),
                none.clone(),
                Some(["tw1", "Tw", "tw", "https://tw/p", "t@x.com"]),
            ),
            ("twitch", json!({"data": []}), none.clone(), None),
            (
                "twitter",
                json!({"data": {"id": "x1", "name": "X U", "username": "xu", "profile_image_url": "https://x/p",
                    "confirmed_email": "x@x.com"}}),
                none.clone(),
                Some(["x1", "X U", "xu", "https://x/p", "x@x.com"]),
            ),
            (
                "vk",
                json!({"response": [{"id": 77, "first_name": "V", "last_name": "K", "screen_name": "vk77",
                    "photo_max": "https://vk/p"}]}),
                json!({"access_token": "at", "email": "v@x.com"}),
                Some(["77", "V K", "vk77", "https://vk/p", "v@x.com"]),
            ),
            (
                "vk",
                json!({"response": [{"id": 77, "first_name": "V", "last_name": ""}]}),
                json!({"access_token": "at"}),
                Some(["77", "V", "", "", ""]),
            ),
            ("vk", json!({"response": []}), none.clone(), None),
            (
                "wakatime",
                json!({"data": {"id": "w1", "display_name": "W T", "username": "wt", "email": "w@x.com",
                    "photo": "https://w/p", "photo_public": true, "is_email_confirmed": true}}),
                none.clone(),
                Some(["w1", "W T", "wt", "https://w/p", "w@x.com"]),
            ),
            (
                "wakatime",
                json!({"data": {"id": "w1", "email": "w@x.com", "photo": "https://w/p",
                    "photo_public": false, "is_email_confirmed": false}}),
                none.clone(),
                Some(["w1", "", "", "", ""]),
            ),
            (
                "yandex",
                json!({"id": "y1", "login": "ya", "real_name": "Y A", "default_email": "y@yandex.ru",
                    "default_avatar_id": "av1", "is_avatar_empty": false}),
                none.clone(),
                Some([
                    "y1",
                    "Y A",
                    "ya",
                    "https://avatars.yandex.net/get-yapic/av1/islands-200",
                    "y@yandex.ru",
                ]),
            ),
            (
                "yandex",
                json!({"id": "y1", "default_avatar_id": "av1", "is_avatar_empty": true}),
                none.clone(),
                Some(["y1", "", "", "", ""]),
            ),
        ];
        for case in &cases {
            check(case);
        }
    }

    #[test]
    fn paths_reach_into_objects_and_arrays() {
        let Value::Object(root) = json!({"a": {"b": [{"c": 1}, {"c": "two"}]}}) else {
            panic!("not an object");
        };
        for (path, expected) in [
            ("a.b.0.c", "1"),
            ("a.b.1.c", "two"),
            ("a.b.2.c", ""),
            ("a.b.x", ""),
            ("a.b", ""),
            ("missing", ""),
            ("", ""),
        ] {
            assert_eq!(text_at(&root, path), expected, "{path}");
        }
    }
}
