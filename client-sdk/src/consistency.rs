//! `Consistency`: the read guarantee a client asks for (DESIGN.md section 5).

/// How fresh a read must be. Every level also gets read-your-writes: the client sends the
/// highest index it has seen as `X-Edgebase-After`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Consistency {
    /// Read the serving node's applied state (after the session's own writes).
    #[default]
    Local,
    /// Linearizable: the node asks the leader for a read index before reading.
    Strong,
}

impl Consistency {
    /// The value of the `X-Edgebase-Consistency` header.
    pub fn header_value(self) -> &'static str {
        match self {
            Consistency::Local => "local",
            Consistency::Strong => "strong",
        }
    }
}
