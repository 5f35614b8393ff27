//! `GET /api/collections/meta/oauth2-providers`: every provider the login flow supports,
//! with its display name and a logo, in PocketBase's listing order (its providers' order
//! numbers, then name). The logos are EdgeBase's own: the name's initial on a colour
//! picked from the name.

use serde::Serialize;

use super::SUPPORTED;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderListing {
    pub name: &'static str,
    pub display_name: &'static str,
    /// An SVG document.
    pub logo: String,
}

/// PocketBase 0.40's place for each provider in its list (the OpenID Connect slots last).
fn listing_order(name: &str) -> u32 {
    match name {
        "apple" => 1,
        "google" => 2,
        "microsoft" => 3,
        "yandex" => 4,
        "facebook" => 5,
        "instagram2" => 6,
        "github" => 7,
        "gitlab" => 8,
        "bitbucket" => 9,
        "gitee" => 10,
        "gitea" => 11,
        "discord" => 12,
        "twitter" => 13,
        "kakao" => 14,
        "vk" => 15,
        "linear" => 16,
        "notion" => 17,
        "monday" => 18,
        "lark" => 19,
        "box" => 20,
        "spotify" => 21,
        "trakt" => 22,
        "twitch" => 23,
        "patreon" => 24,
        "strava" => 25,
        "wakatime" => 26,
        "livechat" => 27,
        "mailcow" => 28,
        "planningcenter" => 29,
        _ => 99,
    }
}

/// Every supported provider, in listing order.
pub fn listings() -> Vec<ProviderListing> {
    let mut listed: Vec<ProviderListing> = SUPPORTED
        .iter()
        .map(|kind| ProviderListing {
            name: kind.name,
            display_name: kind.display_name,
            logo: logo(kind.name, kind.display_name),
        })
        .collect();
    listed.sort_by_key(|listing| (listing_order(listing.name), listing.name));
    listed
}

/// A rounded square in a colour taken from the name, with the display name's initial.
fn logo(name: &str, display_name: &str) -> String {
    let hue = name.bytes().fold(0u32, |hash, byte| {
        hash.wrapping_mul(31).wrapping_add(u32::from(byte))
    }) % 360;
    let initial = display_name
        .chars()
        .next()
        .map_or_else(String::new, |initial| initial.to_uppercase().collect());
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 32 32\" role=\"img\" \
         aria-label=\"{display_name}\"><rect width=\"32\" height=\"32\" rx=\"7\" \
         fill=\"hsl({hue} 55% 42%)\"/><text x=\"16\" y=\"22\" text-anchor=\"middle\" \
         font-family=\"sans-serif\" font-size=\"17\" font-weight=\"600\" \
         fill=\"#fff\">{initial}</text></svg>"
    )
}

#[cfg(test)]
mod tests {
    use super::listings;

    #[test]
    fn lists_every_provider_in_pocketbase_order() {
        let names: Vec<&str> = listings().iter().map(|listing| listing.name).collect();
        assert_eq!(&names[..3], ["apple", "google", "microsoft"]);
        assert_eq!(&names[names.len() - 3..], ["oidc", "oidc2", "oidc3"]);
        assert_eq!(names.len(), super::SUPPORTED.len());
        assert!(listings()
            .iter()
            .all(|listing| listing.logo.starts_with("<svg") && listing.logo.ends_with("</svg>")));
    }
}
