//! Making one thumb, on a blocking thread: decode within bounds (dimensions and memory, so a
//! small file claiming a huge image is refused before it is allocated), turn a JPEG as its
//! EXIF orientation says (as PocketBase's imaging library does), cut as the size says with a
//! bilinear filter, and write it beside the others.

use std::io::{BufWriter, Write};
use std::path::Path;

use image::error::{LimitError, LimitErrorKind};
use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits};

use super::{output_type, Anchor, ThumbMode, ThumbSize};

/// Largest width or height decoded.
const DIMENSION_MAX: u32 = 12_000;
/// Most memory one decode may take.
const DECODE_BYTES_MAX: u64 = 256 << 20;
/// Largest side a thumb may have (PocketBase accepts any; a bound keeps one request small).
const THUMB_DIMENSION_MAX: u32 = 4_000;

#[derive(Debug, thiserror::Error)]
pub enum ThumbError {
    #[error("read {0}")]
    Read(#[source] std::io::Error),
    #[error("decode: {0}")]
    Decode(#[from] image::ImageError),
    #[error("a thumb of {width}x{height} is larger than {THUMB_DIMENSION_MAX} on a side")]
    TooLarge { width: u32, height: u32 },
    #[error("write {0}")]
    Write(#[source] std::io::Error),
}

/// Render `size` of the image at `source` (stored as `stored_type`) into `out`.
pub fn render(
    source: &Path,
    stored_type: &str,
    size: ThumbSize,
    out: &Path,
) -> Result<(), ThumbError> {
    if size.width > THUMB_DIMENSION_MAX || size.height > THUMB_DIMENSION_MAX {
        return Err(ThumbError::TooLarge {
            width: size.width,
            height: size.height,
        });
    }
    let mut reader = ImageReader::open(source)
        .map_err(ThumbError::Read)?
        .with_guessed_format()
        .map_err(ThumbError::Read)?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(DIMENSION_MAX);
    limits.max_image_height = Some(DIMENSION_MAX);
    limits.max_alloc = Some(DECODE_BYTES_MAX);
    reader.limits(limits);
    let is_jpeg = reader.format() == Some(ImageFormat::Jpeg);
    let mut decoder = reader.into_decoder()?;
    if decoder.total_bytes() > DECODE_BYTES_MAX {
        return Err(
            ImageError::Limits(LimitError::from_kind(LimitErrorKind::InsufficientMemory)).into(),
        );
    }
    // An unreadable orientation is no orientation, as for PocketBase.
    let orientation = match is_jpeg {
        true => decoder.orientation().unwrap_or(Orientation::NoTransforms),
        false => Orientation::NoTransforms,
    };
    let mut image = DynamicImage::from_decoder(decoder)?;
    image.apply_orientation(orientation);
    let thumb = cut(&image, size);
    let format = match output_type(stored_type) {
        "image/jpeg" => ImageFormat::Jpeg,
        "image/gif" => ImageFormat::Gif,
        _ => ImageFormat::Png,
    };
    let partial = out.with_extension("partial");
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).map_err(ThumbError::Write)?;
    }
    let file = std::fs::File::create(&partial).map_err(ThumbError::Write)?;
    let mut writer = BufWriter::new(file);
    let thumb = match format {
        // JPEG has no alpha.
        ImageFormat::Jpeg => DynamicImage::ImageRgb8(thumb.to_rgb8()),
        _ => thumb,
    };
    thumb.write_to(&mut writer, format)?;
    writer.flush().map_err(ThumbError::Write)?;
    drop(writer);
    std::fs::rename(&partial, out).map_err(ThumbError::Write)?;
    Ok(())
}

fn cut(image: &DynamicImage, size: ThumbSize) -> DynamicImage {
    let (source_width, source_height) = (image.width().max(1), image.height().max(1));
    let ratio = f64::from(source_width) / f64::from(source_height);
    match size.mode {
        ThumbMode::Resize => {
            let (width, height) = if size.width == 0 {
                let width = (f64::from(size.height) * ratio + 0.5).floor().max(1.0) as u32;
                (width, size.height)
            } else {
                let height = (f64::from(size.width) / ratio + 0.5).floor().max(1.0) as u32;
                (size.width, height)
            };
            image.resize_exact(width, height, FilterType::Triangle)
        }
        ThumbMode::Fit => {
            if source_width <= size.width && source_height <= size.height {
                return image.clone();
            }
            let box_ratio = f64::from(size.width) / f64::from(size.height);
            let (width, height) = if ratio > box_ratio {
                (size.width, (f64::from(size.width) / ratio) as u32)
            } else {
                ((f64::from(size.height) * ratio) as u32, size.height)
            };
            image.resize_exact(width.max(1), height.max(1), FilterType::Triangle)
        }
        ThumbMode::Fill(anchor) => {
            if (source_width, source_height) == (size.width, size.height) {
                return image.clone();
            }
            let scale = (f64::from(size.width) / f64::from(source_width))
                .max(f64::from(size.height) / f64::from(source_height));
            let covered_width = ((f64::from(source_width) * scale).round() as u32).max(size.width);
            let covered_height =
                ((f64::from(source_height) * scale).round() as u32).max(size.height);
            let covered = image.resize_exact(covered_width, covered_height, FilterType::Triangle);
            let x = (covered_width - size.width) / 2;
            let y = match anchor {
                Anchor::Center => (covered_height - size.height) / 2,
                Anchor::Top => 0,
                Anchor::Bottom => covered_height - size.height,
            };
            covered.crop_imm(x, y, size.width, size.height)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(dir: &Path, width: u32, height: u32) -> std::path::PathBuf {
        let path = dir.join(format!("{width}x{height}.png"));
        let image = image::RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 0])
        });
        image.save(&path).expect("save");
        path
    }

    fn dimensions(path: &Path) -> (u32, u32) {
        image::image_dimensions(path).expect("dimensions")
    }

    #[test]
    fn thumbs_have_pocketbase_sizes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let source = png(dir.path(), 400, 200);
        let cases = [
            ("100x100", (100, 100)),
            ("100x100t", (100, 100)),
            ("50x80b", (50, 80)),
            ("100x100f", (100, 50)),
            ("1000x1000f", (400, 200)),
            ("100x0", (100, 50)),
            ("0x50", (100, 50)),
        ];
        for (text, expected) in cases {
            let out = dir.path().join(format!("out_{text}.png"));
            let size = ThumbSize::parse(text).expect("size");
            render(&source, "image/png", size, &out).expect("render");
            assert_eq!(dimensions(&out), expected, "{text}");
        }
    }

    /// A `width` x `height` JPEG whose EXIF says to turn it a quarter clockwise (6).
    fn turned_jpeg(dir: &Path, width: u32, height: u32) -> std::path::PathBuf {
        let image =
            image::RgbImage::from_fn(width, height, |x, _| image::Rgb([(x * 5) as u8, 0, 0]));
        let mut jpeg = Vec::new();
        DynamicImage::ImageRgb8(image)
            .write_to(&mut std::io::Cursor::new(&mut jpeg), ImageFormat::Jpeg)
            .expect("encode");
        // APP1 "Exif": a little-endian TIFF header and one IFD entry, Orientation = 6.
        let mut tiff = b"II*\0\x08\0\0\0".to_vec();
        tiff.extend_from_slice(&1u16.to_le_bytes());
        tiff.extend_from_slice(&0x0112u16.to_le_bytes());
        tiff.extend_from_slice(&3u16.to_le_bytes());
        tiff.extend_from_slice(&1u32.to_le_bytes());
        tiff.extend_from_slice(&[6, 0, 0, 0]);
        tiff.extend_from_slice(&0u32.to_le_bytes());
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend_from_slice(&tiff);
        let mut out = jpeg[..2].to_vec();
        out.extend_from_slice(&[0xff, 0xe1]);
        out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(&app1);
        out.extend_from_slice(&jpeg[2..]);
        let path = dir.join("turned.jpg");
        std::fs::write(&path, out).expect("write");
        path
    }

    #[test]
    fn a_jpeg_is_turned_as_its_exif_says() {
        let dir = tempfile::tempdir().expect("temp dir");
        let source = turned_jpeg(dir.path(), 40, 20);
        let out = dir.path().join("out.jpg");
        render(
            &source,
            "image/jpeg",
            ThumbSize::parse("10x0").expect("size"),
            &out,
        )
        .expect("render");
        // Turned, the 40x20 image stands 20x40: ten wide is twenty high.
        assert_eq!(dimensions(&out), (10, 20));
    }

    #[test]
    fn a_claimed_huge_image_is_refused_before_it_is_decoded() {
        let dir = tempfile::tempdir().expect("temp dir");
        // A PNG header claiming 50,000 x 50,000 pixels, and nothing behind it.
        let mut bomb = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13];
        bomb.extend_from_slice(b"IHDR");
        bomb.extend_from_slice(&50_000u32.to_be_bytes());
        bomb.extend_from_slice(&50_000u32.to_be_bytes());
        bomb.extend_from_slice(&[8, 2, 0, 0, 0]);
        bomb.extend_from_slice(&crc32fast::hash(&bomb[12..]).to_be_bytes());
        let source = dir.path().join("bomb.png");
        std::fs::write(&source, &bomb).expect("write");
        let size = ThumbSize::parse("100x100").expect("size");
        let refused = render(&source, "image/png", size, &dir.path().join("out.png"));
        assert!(matches!(refused, Err(ThumbError::Decode(_))), "{refused:?}");
        assert!(!dir.path().join("out.png").exists());
    }
}
