//! Fuzzing snapshot decoding (proptest): a snapshot file bent by one byte, cut short, padded
//! or replaced by arbitrary bytes is refused before anything is installed, and the state
//! that was there stays exactly as it was (same state hash); the file unbent installs and
//! hashes like its source. `PROPTEST_CASES` sets the budget.

mod common;

use common::{apply, create_collection, put_record};
use edgebase_storage::{RecordExpect, StateMachine};
use proptest::prelude::*;

/// A small source state and its snapshot's bytes.
fn source() -> (StateMachine, Vec<u8>) {
    let state = StateMachine::in_memory();
    apply(&state, 1, create_collection("c1", "posts"));
    for index in 0..20u64 {
        let doc = format!(r#"{{"title":"post {index}","n":{index}}}"#);
        let id = format!("r{index}");
        apply(
            &state,
            2 + index,
            put_record("c1", &id, &doc, RecordExpect::Absent),
        );
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("snapshot");
    state.build_snapshot(&path).expect("build");
    let bytes = std::fs::read(&path).expect("read");
    (state, bytes)
}

/// A target that already holds other state.
fn target() -> StateMachine {
    let state = StateMachine::in_memory();
    apply(&state, 1, create_collection("c9", "other"));
    apply(
        &state,
        2,
        put_record("c9", "x", r#"{"a":1}"#, RecordExpect::Absent),
    );
    state
}

/// Install `bytes` into a fresh target: Ok, or Err with the target unchanged.
fn install(bytes: &[u8]) -> Result<StateMachine, String> {
    let target = target();
    let before = target.state_hash().expect("hash");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("snapshot");
    std::fs::write(&path, bytes).expect("write");
    match target.install_snapshot(&path) {
        Ok(()) => Ok(target),
        Err(error) => {
            assert_eq!(
                target.state_hash().expect("hash"),
                before,
                "a refused snapshot ({error}) changed the state"
            );
            Err(error.to_string())
        }
    }
}

proptest! {
    #[test]
    fn one_bent_byte_is_refused(at in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let (_, mut bytes) = source();
        let at = at.index(bytes.len());
        bytes[at] ^= flip;
        prop_assert!(install(&bytes).is_err(), "byte {at} bent, yet installed");
    }

    #[test]
    fn a_file_cut_short_or_padded_is_refused(
        cut in any::<prop::sample::Index>(),
        padding in prop::collection::vec(any::<u8>(), 1..16),
    ) {
        let (_, bytes) = source();
        let short = &bytes[..cut.index(bytes.len())];
        prop_assert!(install(short).is_err());
        let mut padded = bytes.clone();
        padded.extend_from_slice(&padding);
        prop_assert!(install(&padded).is_err());
    }

    #[test]
    fn arbitrary_bytes_are_refused(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        prop_assert!(install(&bytes).is_err());
    }

    #[test]
    fn arbitrary_bytes_after_the_magic_are_refused(tail in prop::collection::vec(any::<u8>(), 0..512)) {
        let mut bytes = b"EBSNAP01".to_vec();
        bytes.extend_from_slice(&tail);
        prop_assert!(install(&bytes).is_err());
    }
}

#[test]
fn the_unbent_file_installs_and_hashes_like_its_source() {
    let (state, bytes) = source();
    let installed = install(&bytes).expect("install");
    assert_eq!(
        installed.state_hash().expect("hash"),
        state.state_hash().expect("hash")
    );
}
