//! Conditional writes (beyond PocketBase, which has none): a record's answers carry an `ETag`
//! of its version (the log index of its last write), and a `PATCH` or `DELETE` naming one or
//! more of them in `If-Match` applies only while the record is still at one of those versions
//! (`*`: at any). The check runs on the same state the write's command is conditioned on, so
//! a change that lands between the check and the apply makes the write plan again, and the
//! new plan refuses it.

/// What `If-Match` asks of the record's version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionPrecondition {
    /// `*`: the record exists.
    Exists,
    /// One of these versions.
    OneOf(Vec<u64>),
}

/// A record's version as a write knows it: a stored version, or "written earlier in this
/// batch" (a version no client can have seen).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordVersion {
    Stored(u64),
    Pending,
}

impl VersionPrecondition {
    /// Whether a record at `version` meets it.
    pub fn admits(&self, version: RecordVersion) -> bool {
        match (self, version) {
            (VersionPrecondition::Exists, _) => true,
            (VersionPrecondition::OneOf(versions), RecordVersion::Stored(stored)) => {
                versions.contains(&stored)
            }
            (VersionPrecondition::OneOf(_), RecordVersion::Pending) => false,
        }
    }

    /// The entity tag of a record at `version`, as an answer's `ETag` carries it.
    pub fn entity_tag(version: u64) -> String {
        format!("\"{version}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_matched_strictly() {
        let one_of = VersionPrecondition::OneOf(vec![5, 9]);
        for (precondition, version, admitted) in [
            (&VersionPrecondition::Exists, RecordVersion::Stored(1), true),
            (&VersionPrecondition::Exists, RecordVersion::Pending, true),
            (&one_of, RecordVersion::Stored(5), true),
            (&one_of, RecordVersion::Stored(9), true),
            (&one_of, RecordVersion::Stored(6), false),
            (&one_of, RecordVersion::Pending, false),
        ] {
            assert_eq!(
                precondition.admits(version),
                admitted,
                "{precondition:?} {version:?}"
            );
        }
        assert_eq!(VersionPrecondition::entity_tag(42), "\"42\"");
    }
}
