//! A hooks bundle: every file of a `pb_hooks` folder, held in memory so that what runs is
//! exactly what was loaded (and, later, what a deploy replicated), named by one hash.
//!
//! Entry files are the top-level `*.pb.js` (and `*.pb.ts`, run as JavaScript as PocketBase
//! does) in file-name order; every other file under the folder is there for `require()`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::HooksError;

/// Most files a bundle holds.
pub const FILES_MAX: usize = 1_000;
/// Most bytes one file may have.
pub const FILE_BYTES_MAX: u64 = 4 << 20;
/// Most bytes a whole bundle may have.
pub const BUNDLE_BYTES_MAX: u64 = 16 << 20;
/// Deepest folder nesting read.
const DEPTH_MAX: usize = 8;

/// The files of one hooks folder, by path relative to it (`/`-separated).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bundle {
    files: BTreeMap<String, String>,
}

impl Bundle {
    pub fn from_files(files: BTreeMap<String, String>) -> Result<Bundle, HooksError> {
        if files.len() > FILES_MAX {
            return Err(HooksError::TooLarge(format!(
                "{} files, at most {FILES_MAX}",
                files.len()
            )));
        }
        let total: u64 = files.values().map(|source| source.len() as u64).sum();
        if total > BUNDLE_BYTES_MAX {
            return Err(HooksError::TooLarge(format!(
                "{total} bytes, at most {BUNDLE_BYTES_MAX}"
            )));
        }
        Ok(Bundle { files })
    }

    /// Read `dir` (a missing folder is an empty bundle). Hidden entries and
    /// `node_modules` are skipped; a file that is not UTF-8 is skipped with a warning.
    pub fn read_dir(dir: &Path) -> Result<Bundle, HooksError> {
        let mut files = BTreeMap::new();
        if !dir.exists() {
            return Ok(Bundle::default());
        }
        for file in files_under(dir)? {
            let bytes = std::fs::read(&file.path).map_err(|source| HooksError::Read {
                path: file.path.display().to_string(),
                source,
            })?;
            match String::from_utf8(bytes) {
                Ok(source) => {
                    files.insert(file.relative, source);
                }
                Err(_) => {
                    tracing::warn!(file = %file.path.display(), "skipping a hooks file that is not UTF-8")
                }
            }
        }
        Bundle::from_files(files)
    }

    /// What the folder `dir` holds, by its files' paths, sizes and modification times (no
    /// contents read): a change in the folder changes it. `None` when it cannot be read.
    pub fn folder_signature(dir: &Path) -> Option<String> {
        if !dir.exists() {
            return Some(String::new());
        }
        let mut hasher = Sha256::new();
        for file in files_under(dir).ok()? {
            let modified = file
                .meta
                .modified()
                .ok()
                .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|since| since.as_nanos())
                .unwrap_or(0);
            hasher.update(file.relative.as_bytes());
            hasher.update([0]);
            hasher.update(file.meta.len().to_be_bytes());
            hasher.update(modified.to_be_bytes());
        }
        Some(hex::encode(hasher.finalize()))
    }

    /// The files run at load, in order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.files
            .iter()
            .filter(|(name, _)| is_entry(name))
            .map(|(name, source)| (name.as_str(), source.as_str()))
    }

    /// A file for `require()`: a path relative to the folder, or an absolute one under
    /// `hooks_dir` (PocketBase's examples use `${__hooks}/utils.js`).
    pub fn module(&self, path: &str, hooks_dir: &str) -> Option<&str> {
        let relative = path
            .strip_prefix(hooks_dir)
            .map(|rest| rest.trim_start_matches('/'))
            .unwrap_or(path);
        let relative = relative.trim_start_matches("./");
        self.files.get(relative).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub fn files(&self) -> &BTreeMap<String, String> {
        &self.files
    }

    /// The bundle as bytes to deploy (`{"files": {path: source}}`).
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({ "files": self.files })).unwrap_or_default()
    }

    /// A bundle from [`Bundle::encode`]'s bytes (or a deploy request's body), checked
    /// against the bounds.
    pub fn decode(bytes: &[u8]) -> Result<Bundle, HooksError> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Encoded {
            files: BTreeMap<String, String>,
        }
        let encoded: Encoded = serde_json::from_slice(bytes)
            .map_err(|error| HooksError::BadBundle(error.to_string()))?;
        for name in encoded.files.keys() {
            let plain = !name.is_empty()
                && !name.starts_with('/')
                && name
                    .split('/')
                    .all(|part| !part.is_empty() && part != "." && part != "..");
            if !plain {
                return Err(HooksError::BadBundle(format!(
                    "{name:?} is not a relative file path"
                )));
            }
            if encoded.files[name].len() as u64 > FILE_BYTES_MAX {
                return Err(HooksError::TooLarge(format!(
                    "{name} has more than {FILE_BYTES_MAX} bytes"
                )));
            }
        }
        Bundle::from_files(encoded.files)
    }

    /// SHA-256 over every path and content, hex: equal bundles, equal hashes.
    pub fn hash(&self) -> String {
        let mut hasher = Sha256::new();
        for (name, source) in &self.files {
            hasher.update((name.len() as u64).to_be_bytes());
            hasher.update(name.as_bytes());
            hasher.update((source.len() as u64).to_be_bytes());
            hasher.update(source.as_bytes());
        }
        hex::encode(hasher.finalize())
    }
}

fn is_entry(name: &str) -> bool {
    !name.contains('/') && (name.ends_with(".pb.js") || name.ends_with(".pb.ts"))
}

/// A file of a hooks folder: its path relative to the folder (`/`-separated), where it is,
/// and its metadata.
struct FolderFile {
    relative: String,
    path: PathBuf,
    meta: std::fs::Metadata,
}

/// Every file under `root` a bundle takes, in path order, within the bounds (metadata only).
fn files_under(root: &Path) -> Result<Vec<FolderFile>, HooksError> {
    let mut found = Vec::new();
    let mut total = 0u64;
    walk(root, root, 0, &mut found, &mut total)?;
    Ok(found)
}

fn walk(
    root: &Path,
    dir: &Path,
    depth: usize,
    found: &mut Vec<FolderFile>,
    total: &mut u64,
) -> Result<(), HooksError> {
    let failed = |path: &Path, source| HooksError::Read {
        path: path.display().to_string(),
        source,
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|source| failed(dir, source))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .collect();
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') || name == "node_modules" {
            continue;
        }
        let meta = std::fs::metadata(&path).map_err(|source| failed(&path, source))?;
        if meta.is_dir() {
            if depth + 1 < DEPTH_MAX {
                walk(root, &path, depth + 1, found, total)?;
            }
            continue;
        }
        if !meta.is_file() {
            continue;
        }
        if meta.len() > FILE_BYTES_MAX {
            return Err(HooksError::TooLarge(format!(
                "{} has {} bytes, at most {FILE_BYTES_MAX}",
                path.display(),
                meta.len()
            )));
        }
        *total += meta.len();
        if *total > BUNDLE_BYTES_MAX || found.len() >= FILES_MAX {
            return Err(HooksError::TooLarge(format!(
                "more than {FILES_MAX} files or {BUNDLE_BYTES_MAX} bytes"
            )));
        }
        let relative = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .components()
            .map(|part| part.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        found.push(FolderFile {
            relative,
            path,
            meta,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_top_level_pb_files_in_name_order() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("b.pb.js"), "// b").expect("write");
        std::fs::write(dir.path().join("a.pb.js"), "// a").expect("write");
        std::fs::write(dir.path().join("utils.js"), "module.exports = 1").expect("write");
        std::fs::create_dir(dir.path().join("lib")).expect("mkdir");
        std::fs::write(dir.path().join("lib/c.pb.js"), "// nested").expect("write");
        std::fs::write(dir.path().join(".hidden.pb.js"), "// hidden").expect("write");
        let bundle = Bundle::read_dir(dir.path()).expect("read");
        let entries: Vec<&str> = bundle.entries().map(|(name, _)| name).collect();
        assert_eq!(entries, ["a.pb.js", "b.pb.js"]);
        let root = dir.path().display().to_string();
        assert_eq!(bundle.module("utils.js", &root), Some("module.exports = 1"));
        assert_eq!(
            bundle.module(&format!("{root}/lib/c.pb.js"), &root),
            Some("// nested")
        );
        assert_eq!(bundle.module("missing.js", &root), None);
        let again = Bundle::read_dir(dir.path()).expect("read again");
        assert_eq!(Bundle::decode(&bundle.encode()).expect("decode"), bundle);
        assert!(Bundle::decode(br#"{"files": {"../x.pb.js": ""}}"#).is_err());
        assert!(Bundle::decode(br#"{"files": {"a.pb.js": 1}}"#).is_err());
        assert_eq!(bundle.hash(), again.hash());
        std::fs::write(dir.path().join("a.pb.js"), "// changed").expect("write");
        assert_ne!(
            bundle.hash(),
            Bundle::read_dir(dir.path()).expect("read").hash()
        );
        assert!(Bundle::read_dir(&dir.path().join("absent"))
            .expect("absent")
            .is_empty());
    }
}
