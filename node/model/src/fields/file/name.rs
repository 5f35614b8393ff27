//! The name a file is stored under, as PocketBase derives it from the uploaded name: a
//! snake-cased base of at most 100 bytes (padded when under 3), an underscore, 10 random
//! `[a-z0-9]`, and the cleaned extension (from the second-to-last dot, case kept, at most 20
//! bytes; sniffed from the content when the name has none).

use rand::Rng;

/// Longest original name read (its last bytes are kept).
const ORIGINAL_BYTES_MAX: usize = 300;
const EXTENSION_BYTES_MAX: usize = 20;
const BASE_BYTES_MIN: usize = 3;
const BASE_BYTES_MAX: usize = 100;
const RANDOM_LENGTH: usize = 10;
const RANDOM_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// The stored name for an upload called `original`; `sniffed_extension` (without the dot)
/// is used when the name has no usable extension.
pub fn stored_name(original: &str, sniffed_extension: Option<&str>) -> String {
    stored_name_with(original, sniffed_extension, &mut || random(RANDOM_LENGTH))
}

fn stored_name_with(
    original: &str,
    sniffed_extension: Option<&str>,
    random: &mut dyn FnMut() -> String,
) -> String {
    let bytes = original.as_bytes();
    let bytes = &bytes[bytes.len().saturating_sub(ORIGINAL_BYTES_MAX)..];
    let raw_extension = raw_extension(bytes);
    let mut extension = clean_extension(raw_extension);
    if extension == "." {
        extension = match sniffed_extension {
            Some(sniffed) if !sniffed.is_empty() => format!(".{sniffed}"),
            _ => String::new(),
        };
    }
    if extension.len() > EXTENSION_BYTES_MAX {
        let tail = &extension.as_bytes()[extension.len() - EXTENSION_BYTES_MAX..];
        extension = format!(".{}", trim_dots(tail));
    }
    let base_bytes = &bytes[..bytes.len() - raw_extension.len()];
    let mut base = snakecase(trim_dots(base_bytes).as_bytes());
    if base.len() < BASE_BYTES_MIN {
        base.push_str(&random());
    }
    base.truncate(BASE_BYTES_MAX);
    format!("{base}_{}{extension}", random())
}

/// From the second-to-last dot when there are two, else from the last, else nothing.
fn raw_extension(name: &[u8]) -> &[u8] {
    let Some(last) = name.iter().rposition(|byte| *byte == b'.') else {
        return &[];
    };
    match name[..last].iter().rposition(|byte| *byte == b'.') {
        Some(before) => &name[before..],
        None => &name[last..],
    }
}

fn clean_extension(raw: &[u8]) -> String {
    let kept: String = raw
        .iter()
        .filter(|byte| byte.is_ascii_alphanumeric() || b"_.*-+=#".contains(byte))
        .map(|byte| char::from(*byte))
        .collect();
    format!(".{}", kept.trim_matches('.'))
}

/// The text between leading and trailing dots (bytes of non-ASCII text stay as they were;
/// the callers drop or replace them).
fn trim_dots(bytes: &[u8]) -> String {
    let start = bytes.iter().position(|b| *b != b'.').unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| *b != b'.')
        .map_or(start, |i| i + 1);
    String::from_utf8_lossy(&bytes[start..end.max(start)]).into_owned()
}

/// PocketBase's snake case: ASCII letters and digits in pieces split on anything else,
/// joined by `_`, with a `_` before an upper-case letter that follows a non-upper-case one.
fn snakecase(bytes: &[u8]) -> String {
    let mut pieces = Vec::new();
    for piece in bytes.split(|byte| !byte.is_ascii_alphanumeric()) {
        if piece.is_empty() {
            continue;
        }
        let mut out = String::with_capacity(piece.len() + 4);
        for (position, byte) in piece.iter().enumerate() {
            if position > 0
                && byte.is_ascii_uppercase()
                && !piece[position - 1].is_ascii_uppercase()
            {
                out.push('_');
            }
            out.push(char::from(byte.to_ascii_lowercase()));
        }
        pieces.push(out);
    }
    pieces.join("_")
}

fn random(length: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..length)
        .map(|_| char::from(RANDOM_ALPHABET[rng.gen_range(0..RANDOM_ALPHABET.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `R` stands for each random part, in order.
    fn name(original: &str, sniffed: Option<&str>) -> String {
        let mut count = 0;
        let mut random = || {
            count += 1;
            format!("R{count}")
        };
        stored_name_with(original, sniffed, &mut random)
    }

    #[test]
    fn names_match_pocketbase() {
        let cases = [
            ("Report Q1.pdf", None, "report_q1_R1.pdf"),
            ("image_!@ special", Some("png"), "image_special_R1.png"),
            ("IMG.PNG", None, "img_R1.PNG"),
            ("archive.tar.gz", None, "archive_R1.tar.gz"),
            ("a.txt", None, "aR1_R2.txt"),
            (".env", None, "R1_R2.env"),
            ("ÄÖÜ.jpg", None, "R1_R2.jpg"),
            ("my.photo.jpg", None, "myR1_R2.photo.jpg"),
            (
                "HelloWorld1HelloWorld2.txt",
                None,
                "hello_world1_hello_world2_R1.txt",
            ),
            ("testABR", None, "test_abr_R1"),
            ("noext", Some("txt"), "noext_R1.txt"),
            ("noext", None, "noext_R1"),
            ("../../etc/passwd", None, "R1_R2.etcpasswd"),
            ("a/b\\c.sh", None, "a_b_c_R1.sh"),
        ];
        for (original, sniffed, expected) in cases {
            assert_eq!(name(original, sniffed), expected, "{original:?}");
        }
    }

    #[test]
    fn lengths_are_bounded() {
        let long = format!("{}.txt", "x".repeat(1000));
        let stored = name(&long, None);
        assert_eq!(stored, format!("{}_R1.txt", "x".repeat(100)));
        let stored = name(&format!("f.{}", "e".repeat(40)), None);
        assert_eq!(stored, format!("fR1_R2.{}", "e".repeat(20)));
        let real = stored_name("Photo.JPG", None);
        assert!(
            real.starts_with("photo_") && real.ends_with(".JPG"),
            "{real}"
        );
        assert_eq!(real.len(), "photo_".len() + 10 + ".JPG".len());
    }
}
