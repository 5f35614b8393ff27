//! What an upload is, read from its first bytes as PocketBase does (the client's
//! Content-Type and the name's extension are not trusted), and whether that matches a
//! field's `mimeTypes`.

/// How many leading bytes the sniffer reads.
pub const SNIFF_BYTES: usize = 4096;

/// The sniffed type of an upload: its MIME type (with a charset for text, as stored and
/// served) and the extension it implies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sniffed {
    pub mime: String,
    pub extension: &'static str,
}

/// Sniff the leading bytes of a file.
pub fn sniff(sample: &[u8]) -> Sniffed {
    let sample = &sample[..sample.len().min(SNIFF_BYTES)];
    if let Some(kind) = infer::get(sample) {
        let mime = kind.mime_type();
        // Text types carry their charset, as PocketBase stores and serves them.
        let mime = if mime.starts_with("text/") && as_text(sample).is_some() {
            format!("{mime}; charset=utf-8")
        } else {
            mime.to_string()
        };
        return Sniffed {
            mime,
            extension: kind.extension(),
        };
    }
    let Some(text) = as_text(sample) else {
        return Sniffed {
            mime: "application/octet-stream".into(),
            extension: "",
        };
    };
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    let lower: String = trimmed
        .chars()
        .take(256)
        .collect::<String>()
        .to_ascii_lowercase();
    let (mime, extension) =
        if lower.starts_with("<svg") || (lower.starts_with("<?xml") && trimmed.contains("<svg")) {
            ("image/svg+xml", "svg")
        } else if lower.starts_with("<!doctype html") || lower.starts_with("<html") {
            ("text/html; charset=utf-8", "html")
        } else if lower.starts_with("<?xml") {
            ("text/xml; charset=utf-8", "xml")
        } else if (trimmed.starts_with('{') || trimmed.starts_with('['))
            && sample.len() < SNIFF_BYTES
            && serde_json::from_str::<serde_json::Value>(trimmed).is_ok()
        {
            ("application/json", "json")
        } else {
            ("text/plain; charset=utf-8", "txt")
        };
    Sniffed {
        mime: mime.into(),
        extension,
    }
}

/// The sample as text: UTF-8 without NUL bytes (a multi-byte character cut at the end of
/// the sample does not count against it).
fn as_text(sample: &[u8]) -> Option<&str> {
    if sample.contains(&0) {
        return None;
    }
    match std::str::from_utf8(sample) {
        Ok(text) => Some(text),
        Err(error) if error.error_len().is_none() => {
            std::str::from_utf8(&sample[..error.valid_up_to()]).ok()
        }
        Err(_) => None,
    }
}

/// `type/subtype`, lower-cased, without parameters.
pub fn essence(mime: &str) -> String {
    mime.split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Other names the same type goes by.
const ALIASES: &[(&str, &str)] = &[
    ("application/pdf", "application/x-pdf"),
    ("application/zip", "application/x-zip-compressed"),
    ("image/x-icon", "image/vnd.microsoft.icon"),
    ("audio/mpeg", "audio/mp3"),
    ("audio/wav", "audio/x-wav"),
    ("audio/wav", "audio/wave"),
];

/// Whether `sniffed` is one of `allowed` (an empty list allows anything). A parent type
/// does not match a child: JSON is not `text/plain`.
pub fn allowed(sniffed: &str, allowed: &[String]) -> bool {
    if allowed.is_empty() {
        return true;
    }
    let sniffed = essence(sniffed);
    allowed.iter().any(|entry| {
        let entry = essence(entry);
        entry == sniffed
            || ALIASES
                .iter()
                .any(|(a, b)| (*a == sniffed && *b == entry) || (*b == sniffed && *a == entry))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13];

    #[test]
    fn sniffs_by_content() {
        assert_eq!(sniff(PNG).mime, "image/png");
        assert_eq!(sniff(PNG).extension, "png");
        assert_eq!(sniff(b"hello").mime, "text/plain; charset=utf-8");
        assert_eq!(sniff(b"").mime, "text/plain; charset=utf-8");
        assert_eq!(sniff(br#"{"a":1}"#).mime, "application/json");
        assert_eq!(sniff(b"<svg xmlns='x'/>").mime, "image/svg+xml");
        assert_eq!(
            sniff(b"<!DOCTYPE html><p>").mime,
            "text/html; charset=utf-8"
        );
        assert_eq!(sniff(&[0, 1, 2, 255]).mime, "application/octet-stream");
        assert_eq!(sniff("é".as_bytes()).mime, "text/plain; charset=utf-8");
        assert_eq!(
            sniff(&"é".as_bytes()[..1]).mime,
            "text/plain; charset=utf-8"
        );
    }

    #[test]
    fn matches_essences_not_parents() {
        let list = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(allowed("text/plain; charset=utf-8", &list(&["text/plain"])));
        assert!(allowed("image/png", &list(&["image/jpeg", "IMAGE/PNG"])));
        assert!(!allowed("application/json", &list(&["text/plain"])));
        assert!(allowed("application/x-pdf", &list(&["application/pdf"])));
        assert!(allowed("anything/at-all", &[]));
    }
}
