//! The avatar of a user who signs up with OAuth2, as PocketBase stores it when the
//! collection maps `avatarURL` to a file field: downloaded from the provider's URL (bounded in
//! time and by the field's `maxSize`), streamed into the blob store, sniffed and named from
//! the URL's last path segment. An avatar that cannot be fetched, or that the field would
//! refuse (too large, a type it does not take), is left out with a warning rather than
//! failing the sign-in.

use edgebase_auth::oauth2_client;
use edgebase_blobs::BlobError;
use edgebase_client::wire::{Field, FieldKind};
use edgebase_model::fields::file::{self, mime, name, Upload, Uploads};
use edgebase_service::app::App;

/// The uploads that set `field` to the avatar at `url`; empty when it is left out.
pub async fn avatar_uploads(app: &App, field: &Field, url: &str) -> Uploads {
    let mut uploads = Uploads::new();
    match download(app, field, url).await {
        Ok(upload) => {
            uploads.insert(field.name.clone(), vec![upload]);
        }
        Err(reason) => tracing::warn!(url, field = %field.name, reason, "OAuth2 avatar left out"),
    }
    uploads
}

async fn download(app: &App, field: &Field, url: &str) -> Result<Upload, String> {
    let FieldKind::File { mime_types, .. } = &field.kind else {
        return Err("not a file field".into());
    };
    let max_size = file::max_size_bytes(&field.kind);
    let mut response = oauth2_client::fetch_avatar(url)
        .await
        .map_err(|error| error.to_string())?;
    let mut writer = app
        .consensus()
        .blobs()
        .writer(max_size)
        .await
        .map_err(|error| error.to_string())?;
    let mut sample = Vec::with_capacity(mime::SNIFF_BYTES);
    while let Some(chunk) = response.chunk().await.map_err(|error| error.to_string())? {
        if sample.len() < mime::SNIFF_BYTES {
            let take = (mime::SNIFF_BYTES - sample.len()).min(chunk.len());
            sample.extend_from_slice(&chunk[..take]);
        }
        match writer.write(&chunk).await {
            Ok(()) => {}
            Err(BlobError::TooLarge { bytes_max }) => {
                return Err(format!("larger than the field's {bytes_max} bytes"))
            }
            Err(error) => return Err(error.to_string()),
        }
    }
    let stored = writer.finish().await.map_err(|error| error.to_string())?;
    let sniffed = mime::sniff(&sample);
    if !mime_types.is_empty() && !mime::allowed(&sniffed.mime, mime_types) {
        return Err(format!("{} is not a type the field takes", sniffed.mime));
    }
    let original = url_file_name(url);
    Ok(Upload {
        name: name::stored_name(&original, Some(sniffed.extension)),
        original_name: original,
        size_bytes: stored.size_bytes,
        content_type: sniffed.mime,
        blob: stored.id.to_hex(),
    })
}

/// The URL's last path segment (`https://x/a/photo.png?s=1` is `photo.png`), or `avatar`.
fn url_file_name(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let after_host = path.splitn(4, '/').nth(3).unwrap_or_default();
    after_host
        .rsplit('/')
        .next()
        .filter(|segment| !segment.is_empty())
        .unwrap_or("avatar")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_last_path_segment() {
        assert_eq!(url_file_name("https://x.io/a/photo.png?s=96"), "photo.png");
        assert_eq!(url_file_name("https://x.io/"), "avatar");
        assert_eq!(url_file_name("https://x.io"), "avatar");
        assert_eq!(url_file_name("https://x.io/u/42#frag"), "42");
    }
}
