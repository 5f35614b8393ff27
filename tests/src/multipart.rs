//! `multipart/form-data` bodies built by hand, so tests can send exactly what a browser (or a
//! broken client) would: text parts, file parts, and bodies cut short.

use crate::RawBody;

/// A multipart body under construction.
#[derive(Debug, Clone)]
pub struct MultipartBody {
    boundary: String,
    bytes: Vec<u8>,
}

impl Default for MultipartBody {
    fn default() -> Self {
        MultipartBody::new()
    }
}

impl MultipartBody {
    pub fn new() -> MultipartBody {
        MultipartBody {
            boundary: "edgebase-test-boundary-7f3a".into(),
            bytes: Vec::new(),
        }
    }

    /// A text part.
    pub fn text(mut self, name: &str, value: &str) -> MultipartBody {
        self.head(&format!(
            "Content-Disposition: form-data; name=\"{name}\"\r\n\r\n"
        ));
        self.bytes.extend_from_slice(value.as_bytes());
        self.bytes.extend_from_slice(b"\r\n");
        self
    }

    /// A file part called `filename` holding `content`.
    pub fn file(mut self, name: &str, filename: &str, content: &[u8]) -> MultipartBody {
        self.head(&format!(
            "Content-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        ));
        self.bytes.extend_from_slice(content);
        self.bytes.extend_from_slice(b"\r\n");
        self
    }

    fn head(&mut self, headers: &str) {
        self.bytes
            .extend_from_slice(format!("--{}\r\n", self.boundary).as_bytes());
        self.bytes.extend_from_slice(headers.as_bytes());
    }

    /// The finished body.
    pub fn build(mut self) -> RawBody {
        self.bytes
            .extend_from_slice(format!("--{}--\r\n", self.boundary).as_bytes());
        self.typed()
    }

    /// The body so far, cut to `bytes` bytes and never closed (a client that stopped).
    pub fn truncated(mut self, bytes: usize) -> RawBody {
        self.bytes.truncate(bytes);
        self.typed()
    }

    fn typed(self) -> RawBody {
        RawBody::Typed {
            content_type: format!("multipart/form-data; boundary={}", self.boundary),
            bytes: self.bytes,
        }
    }
}
