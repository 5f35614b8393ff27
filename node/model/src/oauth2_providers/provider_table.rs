//! The table of OAuth2 providers EdgeBase can log in with: each one's PocketBase name,
//! default endpoints, scopes and PKCE default, and how its user answer maps to
//! PocketBase's OAuth2 user.

/// How a provider's user answer maps to PocketBase's OAuth2 user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserClaims {
    /// OpenID Connect standard claims: `sub`, `name`, `preferred_username`, `picture`, and
    /// `email` only when `email_verified` is true.
    OpenIdConnect,
    /// GitLab's `/api/v4/user`: numeric `id`, `name`, `username`, `avatar_url`, and
    /// `email` only when `confirmed_at` is set.
    GitLab,
    /// GitHub's `/user`: numeric `id`, `name`, `login`, `avatar_url`, `email`, else the
    /// verified primary address from `/user/emails`.
    GitHub,
    /// Discord's `/users/@me`: `id`, `username#discriminator` as the name, the avatar hash
    /// as a CDN URL, `email` only when `verified`.
    Discord,
    /// Spotify's `/v1/me`: `id`, `display_name`, the first of `images`, never the email
    /// (Spotify does not verify it).
    Spotify,
    /// A user answer whose fields are named by [`PlainFields`] (an empty name maps nothing).
    Plain(PlainFields),
    /// A user answer whose fields sit at the dotted paths of [`UserPaths`], with the
    /// provider's conditions on the email, the avatar and the account.
    Paths(UserPaths),
    /// Bitbucket's `/2.0/user`: `uuid`, `display_name`, `username`, `links.avatar.href`, an
    /// `active` account; the email is the primary one of `/2.0/user/emails`.
    Bitbucket,
    /// Gitee's `/api/v5/user`: numeric `id`, `name`, `login`, `avatar_url`, `email` when it
    /// is an address, else the confirmed primary one of `/api/v5/emails`.
    Gitee,
    /// Strava's `/athlete`: numeric `id`, `firstname lastname`, `username`, `profile`, never
    /// an email (Strava does not give it).
    Strava,
    /// VK's `users.get`: the first `response` entry's numeric `id`, `first_name last_name`,
    /// `screen_name`, `photo_max`; the email comes with the token answer.
    Vk,
    /// Yandex's `/info`: `id`, `real_name`, `login`, `default_email`, the avatar built from
    /// `default_avatar_id` unless `is_avatar_empty`.
    Yandex,
    /// mailcow's profile: `id`, `full_name`, the `username` before any `@`, `email`, an
    /// account whose `active` is 1.
    Mailcow,
    /// X's `/2/users/me`: `data.id`, `data.name`, `data.username`,
    /// `data.profile_image_url`, `data.confirmed_email`.
    Twitter,
    /// Apple's id_token claims (Apple has no user endpoint): `sub`, `name` (Apple leaves it
    /// out; its first redirect carries it instead), `email` only when `email_verified` (a
    /// boolean or a string). The id_token must be Apple's, for this client, and signed.
    Apple,
    /// Instagram Login's `/me`: `user_id`, `name`, `username`, `profile_picture_url`, never
    /// an email; the token answer's granted `permissions` join the raw user.
    Instagram,
}

/// The keys of a provider's user answer holding PocketBase's user fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlainFields {
    pub id: &'static str,
    pub name: &'static str,
    pub username: &'static str,
    pub avatar_url: &'static str,
    pub email: &'static str,
}

/// Dotted paths (`data.0.id`: keys, and indexes into arrays) into a provider's user answer,
/// an empty path maps nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserPaths {
    pub id: &'static str,
    pub name: &'static str,
    pub username: &'static str,
    pub avatar_url: &'static str,
    pub email: &'static str,
    /// The email is taken only when every one of these paths holds `true`.
    pub email_verified_by: &'static [&'static str],
    /// The avatar is taken only when this path holds `true` (empty: always).
    pub avatar_shown_by: &'static str,
    /// The login is refused unless the value at this path reads as this text (a boolean
    /// as `true`/`false`).
    pub active_when: Option<(&'static str, &'static str)>,
    /// The login is refused unless this path holds a value (empty: no check).
    pub present: &'static str,
}

impl UserPaths {
    const NONE: UserPaths = UserPaths {
        id: "",
        name: "",
        username: "",
        avatar_url: "",
        email: "",
        email_verified_by: &[],
        avatar_shown_by: "",
        active_when: None,
        present: "",
    };
}

/// A provider EdgeBase can run the authorization code flow with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderKind {
    pub name: &'static str,
    pub display_name: &'static str,
    pub auth_url: &'static str,
    pub token_url: &'static str,
    pub user_info_url: &'static str,
    pub scopes: &'static [&'static str],
    pub pkce: bool,
    pub claims: UserClaims,
}

const OIDC_SCOPES: &[&str] = &["openid", "email", "profile"];

/// The providers the login flow supports: PocketBase's generic OpenID Connect slots and the
/// standard OAuth2 providers whose user answer is mapped above, with PocketBase 0.40.6's
/// default URLs, scopes, PKCE and display names; Apple's authorization URL adds
/// `response_mode=form_post`, and its user comes from the id_token.
pub const SUPPORTED: &[ProviderKind] = &[
    ProviderKind {
        name: "apple",
        display_name: "Apple",
        auth_url: "https://appleid.apple.com/auth/authorize",
        token_url: "https://appleid.apple.com/auth/token",
        user_info_url: "",
        scopes: &["name", "email"],
        pkce: true,
        claims: UserClaims::Apple,
    },
    ProviderKind {
        name: "oidc",
        display_name: "OIDC",
        auth_url: "",
        token_url: "",
        user_info_url: "",
        scopes: OIDC_SCOPES,
        pkce: true,
        claims: UserClaims::OpenIdConnect,
    },
    ProviderKind {
        name: "oidc2",
        display_name: "OIDC",
        auth_url: "",
        token_url: "",
        user_info_url: "",
        scopes: OIDC_SCOPES,
        pkce: true,
        claims: UserClaims::OpenIdConnect,
    },
    ProviderKind {
        name: "oidc3",
        display_name: "OIDC",
        auth_url: "",
        token_url: "",
        user_info_url: "",
        scopes: OIDC_SCOPES,
        pkce: true,
        claims: UserClaims::OpenIdConnect,
    },
    ProviderKind {
        name: "google",
        display_name: "Google",
        auth_url: "https://accounts.google.com/o/oauth2/v2/auth",
        token_url: "https://oauth2.googleapis.com/token",
        user_info_url: "https://www.googleapis.com/oauth2/v3/userinfo",
        scopes: &[
            "https://www.googleapis.com/auth/userinfo.profile",
            "https://www.googleapis.com/auth/userinfo.email",
        ],
        pkce: true,
        claims: UserClaims::OpenIdConnect,
    },
    ProviderKind {
        name: "gitlab",
        display_name: "GitLab",
        auth_url: "https://gitlab.com/oauth/authorize",
        token_url: "https://gitlab.com/oauth/token",
        user_info_url: "https://gitlab.com/api/v4/user",
        scopes: &["read_user"],
        pkce: true,
        claims: UserClaims::GitLab,
    },
    ProviderKind {
        name: "github",
        display_name: "GitHub",
        auth_url: "https://github.com/login/oauth/authorize",
        token_url: "https://github.com/login/oauth/access_token",
        user_info_url: "https://api.github.com/user",
        scopes: &["read:user", "user:email"],
        pkce: true,
        claims: UserClaims::GitHub,
    },
    ProviderKind {
        name: "discord",
        display_name: "Discord",
        auth_url: "https://discord.com/api/oauth2/authorize",
        token_url: "https://discord.com/api/oauth2/token",
        user_info_url: "https://discord.com/api/users/@me",
        scopes: &["identify", "email"],
        pkce: true,
        claims: UserClaims::Discord,
    },
    ProviderKind {
        name: "gitea",
        display_name: "Gitea/Forgejo",
        auth_url: "https://gitea.com/login/oauth/authorize",
        token_url: "https://gitea.com/login/oauth/access_token",
        user_info_url: "https://gitea.com/api/v1/user",
        scopes: &["read:user", "user:email"],
        pkce: true,
        claims: UserClaims::Plain(PlainFields {
            id: "id",
            name: "full_name",
            username: "login",
            avatar_url: "avatar_url",
            email: "email",
        }),
    },
    ProviderKind {
        name: "microsoft",
        display_name: "Microsoft",
        auth_url: "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
        token_url: "https://login.microsoftonline.com/common/oauth2/v2.0/token",
        user_info_url: "https://graph.microsoft.com/v1.0/me",
        scopes: &["User.Read"],
        pkce: true,
        claims: UserClaims::Plain(PlainFields {
            id: "id",
            name: "displayName",
            username: "",
            avatar_url: "",
            email: "mail",
        }),
    },
    ProviderKind {
        name: "spotify",
        display_name: "Spotify",
        auth_url: "https://accounts.spotify.com/authorize",
        token_url: "https://accounts.spotify.com/api/token",
        user_info_url: "https://api.spotify.com/v1/me",
        scopes: &["user-read-private"],
        pkce: true,
        claims: UserClaims::Spotify,
    },
    ProviderKind {
        name: "bitbucket",
        display_name: "Bitbucket",
        auth_url: "https://bitbucket.org/site/oauth2/authorize",
        token_url: "https://bitbucket.org/site/oauth2/access_token",
        user_info_url: "https://api.bitbucket.org/2.0/user",
        scopes: &["account"],
        pkce: false,
        claims: UserClaims::Bitbucket,
    },
    ProviderKind {
        name: "box",
        display_name: "Box",
        auth_url: "https://account.box.com/api/oauth2/authorize",
        token_url: "https://api.box.com/oauth2/token",
        user_info_url: "https://api.box.com/2.0/users/me",
        scopes: &["root_readonly"],
        pkce: true,
        // Box lets only a verified address sign in, so its `login` is the email.
        claims: UserClaims::Paths(UserPaths {
            id: "id",
            name: "name",
            avatar_url: "avatar_url",
            email: "login",
            active_when: Some(("status", "active")),
            ..UserPaths::NONE
        }),
    },
    ProviderKind {
        name: "facebook",
        display_name: "Facebook",
        auth_url: "https://www.facebook.com/v3.2/dialog/oauth",
        token_url: "https://graph.facebook.com/v3.2/oauth/access_token",
        user_info_url: "https://graph.facebook.com/me?fields=name,email,picture.type(large)",
        scopes: &["email"],
        pkce: true,
        claims: UserClaims::Paths(UserPaths {
            id: "id",
            name: "name",
            avatar_url: "picture.data.url",
            email: "email",
            ..UserPaths::NONE
        }),
    },
    ProviderKind {
        name: "gitee",
        display_name: "Gitee",
        auth_url: "https://gitee.com/oauth/authorize",
        token_url: "https://gitee.com/oauth/token",
        user_info_url: "https://gitee.com/api/v5/user",
        scopes: &["user_info", "emails"],
        pkce: true,
        claims: UserClaims::Gitee,
    },
    ProviderKind {
        name: "instagram2",
        display_name: "Instagram",
        auth_url: "https://www.instagram.com/oauth/authorize",
        token_url: "https://api.instagram.com/oauth/access_token",
        user_info_url: "https://graph.instagram.com/me?fields=id,username,account_type,user_id,name,profile_picture_url,followers_count,follows_count,media_count",
        scopes: &["instagram_business_basic"],
        pkce: true,
        claims: UserClaims::Instagram,
    },
    ProviderKind {
        name: "kakao",
        display_name: "Kakao",
        auth_url: "https://kauth.kakao.com/oauth/authorize",
        token_url: "https://kauth.kakao.com/oauth/token",
        user_info_url: "https://kapi.kakao.com/v2/user/me",
        scopes: &["account_email", "profile_nickname", "profile_image"],
        pkce: true,
        claims: UserClaims::Paths(UserPaths {
            id: "id",
            username: "properties.nickname",
            avatar_url: "properties.profile_image",
            email: "kakao_account.email",
            email_verified_by: &[
                "kakao_account.is_email_valid",
                "kakao_account.is_email_verified",
            ],
            ..UserPaths::NONE
        }),
    },
    ProviderKind {
        name: "lark",
        display_name: "Lark",
        // Lark serves feishu.cn (China) and larksuite.com with the same API; PocketBase
        // defaults to feishu.cn, and the URLs can be set in the options.
        auth_url: "https://accounts.feishu.cn/open-apis/authen/v1/authorize",
        token_url: "https://open.feishu.cn/open-apis/authen/v2/oauth/token",
        user_info_url: "https://open.feishu.cn/open-apis/authen/v1/user_info",
        scopes: &[],
        pkce: true,
        claims: UserClaims::Paths(UserPaths {
            id: "data.union_id",
            name: "data.name",
            avatar_url: "data.avatar_url",
            ..UserPaths::NONE
        }),
    },
    ProviderKind {
        name: "linear",
        display_name: "Linear",
        auth_url: "https://linear.app/oauth/authorize",
        token_url: "https://api.linear.app/oauth/token",
        // A GraphQL endpoint: the user is asked for with a POSTed query.
        user_info_url: "https://api.linear.app/graphql",
        scopes: &["read"],
        // Linear refuses PKCE.
        pkce: false,
        claims: UserClaims::Paths(UserPaths {
            id: "data.viewer.id",
            name: "data.viewer.name",
            username: "data.viewer.displayName",
            avatar_url: "data.viewer.avatarUrl",
            email: "data.viewer.email",
            active_when: Some(("data.viewer.active", "true")),
            ..UserPaths::NONE
        }),
    },
    ProviderKind {
        name: "monday",
        display_name: "monday.com",
        auth_url: "https://auth.monday.com/oauth2/authorize",
        token_url: "https://auth.monday.com/oauth2/token",
        // A GraphQL endpoint: the user is asked for with a POSTed query.
        user_info_url: "https://api.monday.com/v2",
        scopes: &["me:read"],
        pkce: true,
        claims: UserClaims::Paths(UserPaths {
            id: "data.me.id",
            name: "data.me.name",
            avatar_url: "data.me.photo_small",
            email: "data.me.email",
            email_verified_by: &["data.me.is_verified"],
            active_when: Some(("data.me.enabled", "true")),
            ..UserPaths::NONE
        }),
    },
    ProviderKind {
        name: "livechat",
        display_name: "LiveChat",
        auth_url: "https://accounts.livechat.com/",
        token_url: "https://accounts.livechat.com/token",
        user_info_url: "https://accounts.livechat.com/v2/accounts/me",
        // LiveChat takes its scopes from the app's settings on its dashboard.
        scopes: &[],
        pkce: true,
        claims: UserClaims::Paths(UserPaths {
            id: "account_id",
            name: "name",
            avatar_url: "avatar_url",
            email: "email",
            email_verified_by: &["email_verified"],
            ..UserPaths::NONE
        }),
    },
    ProviderKind {
        name: "mailcow",
        display_name: "mailcow",
        // A mailcow server is self-hosted: its URLs come from the provider's options.
        auth_url: "",
        token_url: "",
        user_info_url: "",
        scopes: &["profile"],
        pkce: true,
        claims: UserClaims::Mailcow,
    },
    ProviderKind {
        name: "notion",
        display_name: "Notion",
        auth_url: "https://api.notion.com/v1/oauth/authorize",
        token_url: "https://api.notion.com/v1/oauth/token",
        user_info_url: "https://api.notion.com/v1/users/me",
        scopes: &[],
        pkce: true,
        claims: UserClaims::Paths(UserPaths {
            id: "bot.owner.user.id",
            name: "bot.owner.user.name",
            avatar_url: "bot.owner.user.avatar_url",
            email: "bot.owner.user.person.email",
            ..UserPaths::NONE
        }),
    },
    ProviderKind {
        name: "patreon",
        display_name: "Patreon",
        auth_url: "https://www.patreon.com/oauth2/authorize",
        token_url: "https://www.patreon.com/api/oauth2/token",
        user_info_url: "https://www.patreon.com/api/oauth2/v2/identity?fields%5Buser%5D=full_name,email,vanity,image_url,is_email_verified",
        scopes: &["identity", "identity[email]"],
        pkce: true,
        claims: UserClaims::Paths(UserPaths {
            id: "data.id",
            name: "data.attributes.full_name",
            username: "data.attributes.vanity",
            avatar_url: "data.attributes.image_url",
            email: "data.attributes.email",
            email_verified_by: &["data.attributes.is_email_verified"],
            ..UserPaths::NONE
        }),
    },
    ProviderKind {
        name: "planningcenter",
        display_name: "Planning Center",
        auth_url: "https://api.planningcenteronline.com/oauth/authorize",
        token_url: "https://api.planningcenteronline.com/oauth/token",
        user_info_url: "https://api.planningcenteronline.com/people/v2/me",
        scopes: &["people"],
        pkce: true,
        // A person may have several addresses, none known to be verified: no email.
        claims: UserClaims::Paths(UserPaths {
            id: "data.id",
            name: "data.attributes.name",
            avatar_url: "data.attributes.avatar",
            active_when: Some(("data.attributes.status", "active")),
            ..UserPaths::NONE
        }),
    },
    ProviderKind {
        name: "strava",
        display_name: "Strava",
        auth_url: "https://www.strava.com/oauth/authorize",
        token_url: "https://www.strava.com/api/v3/oauth/token",
        user_info_url: "https://www.strava.com/api/v3/athlete",
        scopes: &["profile:read_all"],
        pkce: true,
        claims: UserClaims::Strava,
    },
    ProviderKind {
        name: "trakt",
        display_name: "Trakt",
        auth_url: "https://trakt.tv/oauth/authorize",
        token_url: "https://api.trakt.tv/oauth/token",
        user_info_url: "https://api.trakt.tv/users/settings",
        scopes: &[],
        pkce: true,
        claims: UserClaims::Paths(UserPaths {
            id: "user.ids.uuid",
            name: "user.name",
            username: "user.username",
            avatar_url: "user.images.avatar.full",
            ..UserPaths::NONE
        }),
    },
    ProviderKind {
        name: "twitch",
        display_name: "Twitch",
        auth_url: "https://id.twitch.tv/oauth2/authorize",
        token_url: "https://id.twitch.tv/oauth2/token",
        user_info_url: "https://api.twitch.tv/helix/users",
        scopes: &["user:read:email"],
        pkce: true,
        claims: UserClaims::Paths(UserPaths {
            id: "data.0.id",
            name: "data.0.display_name",
            username: "data.0.login",
            avatar_url: "data.0.profile_image_url",
            email: "data.0.email",
            present: "data.0",
            ..UserPaths::NONE
        }),
    },
    ProviderKind {
        name: "twitter",
        display_name: "X/Twitter",
        auth_url: "https://x.com/i/oauth2/authorize",
        token_url: "https://api.x.com/2/oauth2/token",
        user_info_url: "https://api.x.com/2/users/me?user.fields=id,name,username,profile_image_url,confirmed_email",
        scopes: &["users.read", "users.email", "tweet.read"],
        pkce: true,
        claims: UserClaims::Twitter,
    },
    ProviderKind {
        name: "vk",
        display_name: "ВКонтакте",
        auth_url: "https://oauth.vk.com/authorize",
        token_url: "https://oauth.vk.com/access_token",
        user_info_url: "https://api.vk.com/method/users.get?fields=photo_max,screen_name&v=5.131",
        scopes: &["email"],
        pkce: false,
        claims: UserClaims::Vk,
    },
    ProviderKind {
        name: "wakatime",
        display_name: "WakaTime",
        auth_url: "https://wakatime.com/oauth/authorize",
        token_url: "https://wakatime.com/oauth/token",
        user_info_url: "https://wakatime.com/api/v1/users/current",
        scopes: &["email"],
        pkce: true,
        claims: UserClaims::Paths(UserPaths {
            id: "data.id",
            name: "data.display_name",
            username: "data.username",
            avatar_url: "data.photo",
            email: "data.email",
            email_verified_by: &["data.is_email_confirmed"],
            avatar_shown_by: "data.photo_public",
            ..UserPaths::NONE
        }),
    },
    ProviderKind {
        name: "yandex",
        display_name: "Yandex",
        auth_url: "https://oauth.yandex.com/authorize",
        token_url: "https://oauth.yandex.com/token",
        user_info_url: "https://login.yandex.ru/info",
        scopes: &["login:email", "login:avatar", "login:info"],
        pkce: true,
        claims: UserClaims::Yandex,
    },
];

/// The supported provider called `name`.
pub fn supported(name: &str) -> Option<&'static ProviderKind> {
    SUPPORTED.iter().find(|kind| kind.name == name)
}
