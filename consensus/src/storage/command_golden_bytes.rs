//! Golden bytes: every [`Command`] variant, and every variant of the enums inside it, encoded
//! exactly as the Raft log stores it (`codec::encode` of an `Entry`, bincode 2 standard).
//!
//! Log entries outlive the binary that wrote them (a restarted node replays its log, a
//! follower catching up receives old entries, a forwarded write crosses nodes of two builds),
//! and bincode stores a variant by its position and a struct by its field order. So these
//! bytes must never change: a new variant goes at the end of its enum, with a new golden here.
//! The helpers `match` without a wildcard, so a new variant does not compile until it has one.

use std::fmt::Debug;

use edgebase_storage::idempotency::{IdempotencyStamp, StoredAnswer};
use edgebase_storage::{CollectionDoc, CollectionExpect, Command, RecordExpect, SettingExpect};
use openraft::{CommittedLeaderId, EntryPayload};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::codec::{decode, encode};
use crate::type_config::{Entry, LogId};

const FORMAT_CHANGED: &str = "the Raft log / replica format changed: logs on disk, \
    followers catching up and nodes of other builds hold the old bytes, which must still \
    decode to the same value. Never reorder, remove or change the fields of a variant; new \
    variants go at the end of their enum, with a new golden value in this test";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&text[at..at + 2], 16).expect("golden hex is hex"))
        .collect()
}

fn doc() -> CollectionDoc {
    CollectionDoc {
        id: "c1".into(),
        name: "posts".into(),
        doc_json: r#"{"a":1}"#.into(),
    }
}

/// One value of each `Command` variant, in declaration order.
fn command_samples() -> Vec<Command> {
    vec![
        Command::PutCollection {
            collection: doc(),
            expect: CollectionExpect::Version(300),
        },
        Command::DeleteCollection {
            collection_id: "c1".into(),
        },
        Command::PutRecord {
            collection_id: "c1".into(),
            record_id: "r1".into(),
            doc_json: r#"{"t":"x"}"#.into(),
            expect: RecordExpect::Version(7),
        },
        Command::DeleteRecord {
            collection_id: "c1".into(),
            record_id: "r1".into(),
            expect: RecordExpect::Exists,
        },
        Command::PutSetting {
            key: "settings".into(),
            value_json: "{}".into(),
        },
        Command::Batch(vec![
            Command::TruncateCollection {
                collection_id: "c2".into(),
            },
            Command::CheckRecord {
                collection_id: "c1".into(),
                record_id: "r2".into(),
                expect: RecordExpect::Absent,
            },
        ]),
        Command::TruncateCollection {
            collection_id: "c1".into(),
        },
        Command::CheckRecord {
            collection_id: "c1".into(),
            record_id: "r1".into(),
            expect: RecordExpect::Version(1),
        },
        Command::PutSettingIf {
            key: "settings".into(),
            value_json: "{}".into(),
            expect: SettingExpect::Version(300),
        },
        Command::Idempotent {
            stamp: IdempotencyStamp {
                scope: "s".into(),
                key: "k".into(),
                fingerprint: [7; 32],
                now_ms: 300,
            },
            answer: StoredAnswer {
                status: 200,
                body: b"{}".to_vec(),
            },
            command: Box::new(Command::DeleteCollection {
                collection_id: "c1".into(),
            }),
        },
        Command::Group(vec![
            Command::DeleteCollection {
                collection_id: "c1".into(),
            },
            Command::TruncateCollection {
                collection_id: "c2".into(),
            },
        ]),
        Command::RestoreState {
            snapshot_blob: "ab".into(),
            kept_settings: vec!["k".into()],
        },
        Command::PutOutbox {
            id: "o1".into(),
            entry_json: "{}".into(),
        },
        Command::DeleteOutbox { id: "o1".into() },
    ]
}

fn command_golden(command: &Command) -> &'static str {
    match command {
        // variant, then each field: strings as a varint length and bytes, u64 as a varint
        // (0xfb: two little-endian bytes follow).
        Command::PutCollection { .. } => "0002633105706f737473077b2261223a317d01fb2c01",
        Command::DeleteCollection { .. } => "01026331",
        Command::PutRecord { .. } => "02026331027231097b2274223a2278227d0107",
        Command::DeleteRecord { .. } => "0302633102723102",
        Command::PutSetting { .. } => "040873657474696e6773027b7d",
        // A varint count, then each command.
        Command::Batch(_) => "0502060263320702633102723200",
        Command::TruncateCollection { .. } => "06026331",
        Command::CheckRecord { .. } => "070263310272310101",
        Command::PutSettingIf { .. } => "080873657474696e6773027b7d01fb2c01",
        // The stamp (scope, key, the 32 fingerprint bytes as they are, the time), the answer
        // (status, body), then the command.
        Command::Idempotent { .. } => "090173016b0707070707070707070707070707070707070707070707070707070707070707fb2c01c8027b7d01026331",
        // A varint count, then each command.
        Command::Group(_) => "0a020102633106026332",
        // The blob's hex as a string, then a varint count of kept setting keys and each.
        Command::RestoreState { .. } => "0b02616201016b",
        // The id, then the entry, as strings.
        Command::PutOutbox { .. } => "0c026f31027b7d",
        Command::DeleteOutbox { .. } => "0d026f31",
    }
}

fn collection_expect_samples() -> Vec<CollectionExpect> {
    vec![CollectionExpect::Absent, CollectionExpect::Version(300)]
}

fn collection_expect_golden(expect: &CollectionExpect) -> &'static str {
    match expect {
        CollectionExpect::Absent => "00",
        CollectionExpect::Version(_) => "01fb2c01",
    }
}

fn setting_expect_samples() -> Vec<SettingExpect> {
    vec![SettingExpect::Unversioned, SettingExpect::Version(300)]
}

fn setting_expect_golden(expect: &SettingExpect) -> &'static str {
    match expect {
        SettingExpect::Unversioned => "00",
        SettingExpect::Version(_) => "01fb2c01",
    }
}

fn record_expect_samples() -> Vec<RecordExpect> {
    vec![
        RecordExpect::Absent,
        RecordExpect::Version(300),
        RecordExpect::Exists,
    ]
}

fn record_expect_golden(expect: &RecordExpect) -> &'static str {
    match expect {
        RecordExpect::Absent => "00",
        RecordExpect::Version(_) => "01fb2c01",
        RecordExpect::Exists => "02",
    }
}

/// Each sample encodes to its golden bytes, the golden bytes decode back to it, sample `i`
/// is variant `i`, and there is no variant after the last sample.
fn check<T>(what: &str, samples: &[T], golden: fn(&T) -> &'static str)
where
    T: Serialize + DeserializeOwned + Debug + PartialEq,
{
    let mut failures = Vec::new();
    for (position, sample) in samples.iter().enumerate() {
        let encoded = hex(&encode(sample, "golden sample").expect("encode a sample"));
        let expected = golden(sample);
        if encoded != expected {
            failures.push(format!(
                "{sample:?}\n  encodes as {encoded}\n  golden is  {expected}"
            ));
            continue;
        }
        let decoded: T = decode(&unhex(expected), "golden bytes").expect("decode golden bytes");
        assert_eq!(
            &decoded, sample,
            "{what}: golden bytes decode to another value; {FORMAT_CHANGED}"
        );
        assert_eq!(
            unhex(expected).first().copied(),
            u8::try_from(position).ok(),
            "{what}: sample {position} ({sample:?}) is not variant {position}: keep the samples in \
             declaration order, one per variant"
        );
    }
    assert!(
        failures.is_empty(),
        "{what}: {FORMAT_CHANGED}.\n{}",
        failures.join("\n")
    );
    // bincode writes the variant index first; one past the last sample must be unknown.
    let next = u8::try_from(samples.len()).expect("fewer than 251 variants");
    let error = decode::<T>(&[next], "probe").expect_err("a variant past the samples decoded");
    let unknown = format!("expected variant index 0 <= i < {next}");
    assert!(
        error.to_string().contains(&unknown),
        "{what}: there are variants past the {next} samples ({error}); add a sample and a golden \
         value for each"
    );
}

#[test]
fn command_golden_bytes() {
    check("Command", &command_samples(), command_golden);
}

#[test]
fn collection_expect_golden_bytes() {
    check(
        "CollectionExpect",
        &collection_expect_samples(),
        collection_expect_golden,
    );
}

#[test]
fn setting_expect_golden_bytes() {
    check(
        "SettingExpect",
        &setting_expect_samples(),
        setting_expect_golden,
    );
}

#[test]
fn record_expect_golden_bytes() {
    check(
        "RecordExpect",
        &record_expect_samples(),
        record_expect_golden,
    );
}

/// A whole log entry: the log id, then the payload's variant, then the command's bytes.
#[test]
fn entry_golden_bytes() {
    let command = command_samples().swap_remove(4);
    let entry = Entry {
        log_id: LogId::new(CommittedLeaderId::new(3, 2), 41),
        payload: EntryPayload::Normal(command.clone()),
    };
    let encoded = encode(&entry, "entry").expect("encode an entry");
    // Term 3, node 2, index 41; `EntryPayload::Normal`; the `PutSetting` sample.
    let golden = "03022901040873657474696e6773027b7d";
    assert_eq!(hex(&encoded), golden, "a log entry: {FORMAT_CHANGED}");
    let command_bytes = encode(&command, "command").expect("encode a command");
    assert!(
        encoded.ends_with(&command_bytes),
        "an entry ends with its command's bytes"
    );
    let decoded: Entry = decode(&unhex(golden), "entry").expect("decode the golden entry");
    assert_eq!(decoded.log_id, entry.log_id);
    assert!(matches!(decoded.payload, EntryPayload::Normal(ref c) if *c == command));
}
