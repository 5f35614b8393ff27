//! Thumbnails of image files, as PocketBase makes them: `?thumb=WxH` (fill and crop to the
//! centre), `WxHt` / `WxHb` (anchored top / bottom), `WxHf` (fit inside, never enlarged),
//! `Wx0` / `0xH` (resize keeping the ratio); only `100x100` and the field's own `thumbs` are
//! made, only of png, jpeg, gif (first frame) and webp. Each node makes a thumb once, on
//! first request, on a bounded pool, with bounded decoding (a decompression bomb is refused,
//! and the original is served), and keeps it on disk beside the blobs.

mod cache;
mod render;

pub use cache::Thumbs;
pub use render::{render, ThumbError};

/// Where a fill keeps the image when it crops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Center,
    Top,
    Bottom,
}

/// How a thumb is cut from the original.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThumbMode {
    /// Cover the box, then crop it to exactly the box.
    Fill(Anchor),
    /// Fit inside the box without cropping or enlarging.
    Fit,
    /// One side given (the other 0): resize keeping the ratio.
    Resize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThumbSize {
    pub width: u32,
    pub height: u32,
    pub mode: ThumbMode,
}

/// The size every file field allows.
pub const ALWAYS_ALLOWED: &str = "100x100";

/// The stored types a thumb is made of.
pub const THUMBNAILABLE_TYPES: &[&str] = &[
    "image/png",
    "image/jpg",
    "image/jpeg",
    "image/gif",
    "image/webp",
];

impl ThumbSize {
    /// `WxH` with an optional `t`, `b` or `f`; `0x0` is no size.
    pub fn parse(text: &str) -> Option<ThumbSize> {
        let (body, mode) = match text.as_bytes().last()? {
            b't' => (&text[..text.len() - 1], Some(Anchor::Top)),
            b'b' => (&text[..text.len() - 1], Some(Anchor::Bottom)),
            b'f' => (&text[..text.len() - 1], None),
            _ => (text, Some(Anchor::Center)),
        };
        let (width, height) = body.split_once('x')?;
        let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        if !digits(width) || !digits(height) {
            return None;
        }
        let (width, height): (u32, u32) = (width.parse().ok()?, height.parse().ok()?);
        let mode = match (width, height, mode) {
            (0, 0, _) => return None,
            (0, _, _) | (_, 0, _) => ThumbMode::Resize,
            (_, _, Some(anchor)) => ThumbMode::Fill(anchor),
            (_, _, None) => ThumbMode::Fit,
        };
        Some(ThumbSize {
            width,
            height,
            mode,
        })
    }
}

/// Whether `thumb` may be made for a field listing `field_thumbs`.
pub fn allowed(thumb: &str, field_thumbs: &[String]) -> bool {
    thumb == ALWAYS_ALLOWED || field_thumbs.iter().any(|listed| listed == thumb)
}

/// The type a thumb of `stored_type` is written in: jpeg and gif keep theirs, the rest png.
pub fn output_type(stored_type: &str) -> &'static str {
    match stored_type {
        "image/jpeg" => "image/jpeg",
        "image/gif" => "image/gif",
        _ => "image/png",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_as_pocketbase_reads_them() {
        let fill = |w, h, anchor| {
            Some(ThumbSize {
                width: w,
                height: h,
                mode: ThumbMode::Fill(anchor),
            })
        };
        assert_eq!(ThumbSize::parse("100x50"), fill(100, 50, Anchor::Center));
        assert_eq!(ThumbSize::parse("100x50t"), fill(100, 50, Anchor::Top));
        assert_eq!(ThumbSize::parse("100x50b"), fill(100, 50, Anchor::Bottom));
        assert_eq!(
            ThumbSize::parse("100x50f").map(|size| size.mode),
            Some(ThumbMode::Fit)
        );
        assert_eq!(
            ThumbSize::parse("0x50").map(|size| size.mode),
            Some(ThumbMode::Resize)
        );
        assert_eq!(
            ThumbSize::parse("40x0f").map(|size| size.mode),
            Some(ThumbMode::Resize)
        );
        for bad in ["0x0", "0x0t", "x5", "5x", "5x5x", "axb", "", "5x5q", "-1x5"] {
            assert_eq!(ThumbSize::parse(bad), None, "{bad:?}");
        }
        assert!(allowed("100x100", &[]));
        assert!(allowed("20x20", &["20x20".into()]));
        assert!(!allowed("20x20", &["20x21".into()]));
    }
}
