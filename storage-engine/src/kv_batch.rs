//! An ordered list of writes applied atomically by a [`crate::KvBackend`].

/// One write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvOp {
    Put {
        key: Vec<u8>,
        value: Vec<u8>,
    },
    Delete {
        key: Vec<u8>,
    },
    /// Delete every key in `[start, end)`.
    DeleteRange {
        start: Vec<u8>,
        end: Vec<u8>,
    },
}

/// Writes applied atomically and in order (a put after a range delete that covers its key
/// survives).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KvBatch {
    ops: Vec<KvOp>,
}

impl KvBatch {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.ops.push(KvOp::Put { key, value });
    }

    pub fn delete(&mut self, key: Vec<u8>) {
        self.ops.push(KvOp::Delete { key });
    }

    pub fn delete_range(&mut self, start: Vec<u8>, end: Vec<u8>) {
        self.ops.push(KvOp::DeleteRange { start, end });
    }

    pub fn ops(&self) -> &[KvOp] {
        &self.ops
    }

    pub fn into_ops(self) -> Vec<KvOp> {
        self.ops
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Keep only the first `len` writes.
    pub fn truncate(&mut self, len: usize) {
        self.ops.truncate(len);
    }
}
