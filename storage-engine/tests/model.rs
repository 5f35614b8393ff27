//! The RocksDB-backed state machine against the in-memory model: a seeded random sequence of
//! commands applied to both gives identical results and identical reads, with the RocksDB
//! store closed and reopened from its files, and replaced by a fresh store that installed its
//! snapshot, at random points along the way.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use common::{observe, seed};
use edgebase_storage::index::compile_indexes;
use edgebase_storage::schema::CollectionSchema;
use edgebase_storage::{
    ApplyEntry, CollectionDoc, CollectionExpect, Command, CommandResult, EntryResult,
    MemoryBackend, RecordExpect, StateMachine, Store,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const COLLECTION_IDS: &[&str] = &["c0", "c1", "c2", "c3"];
const NAMES: &[&str] = &["posts", "Posts", "users", "tags", "Tags2"];
const RECORD_IDS: &[&str] = &["r0", "r1", "r2", "r3", "r4", "r5"];
const SETTINGS: &[&str] = &["meta", "smtp"];
const ENTRIES: u64 = 400;

const TEXTS: &[&str] = &["", "a", "A", "b"];

/// A collection document: sometimes opaque JSON, mostly fields `v` (number) and a text field
/// whose name changes by id (`s` or `t`), with unique, plain, NOCASE or partial indexes, some
/// of which name a missing column (rejected) or clash with existing records (rejected).
fn collection_doc(rng: &mut StdRng, collection_id: &str) -> String {
    if rng.gen_bool(0.2) {
        return format!("{{\"n\":{}}}", rng.gen_range(0..100));
    }
    let text_name = pick(rng, &["s", "t"]);
    let indexes: Vec<String> = [
        format!("CREATE UNIQUE INDEX idx_v_{collection_id} ON x (v)"),
        format!("CREATE INDEX idx_s_{collection_id} ON x (s COLLATE NOCASE, v DESC)"),
        format!("CREATE UNIQUE INDEX idx_sv_{collection_id} ON x (s, v) WHERE v > 10"),
        format!("CREATE INDEX idx_t_{collection_id} ON x (t)"),
    ]
    .into_iter()
    .filter(|_| rng.gen_bool(0.4))
    .collect();
    serde_json::json!({
        "id": collection_id,
        "fields": [
            {"id": "fv", "name": "v", "type": "number"},
            {"id": "fs", "name": text_name, "type": "text"},
        ],
        "indexes": indexes,
    })
    .to_string()
}

fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
    items[rng.gen_range(0..items.len())]
}

fn version(rng: &mut StdRng, current: Option<u64>) -> u64 {
    match current {
        Some(current) if rng.gen_bool(0.7) => current,
        _ => rng.gen_range(0..20),
    }
}

fn random_command(rng: &mut StdRng, model: &StateMachine, depth: u32) -> Command {
    let collection_id = pick(rng, COLLECTION_IDS);
    let record_id = pick(rng, RECORD_IDS);
    let collection_version = model
        .collection_by_id(collection_id)
        .expect("read model")
        .map(|c| c.version);
    let record_version = model
        .record(collection_id, record_id)
        .expect("read model")
        .map(|r| r.version);
    // Mostly the condition a real proposer would send, sometimes a random (stale) one.
    let record_expect = |rng: &mut StdRng| match (rng.gen_bool(0.75), record_version) {
        (true, None) => RecordExpect::Absent,
        (true, Some(current)) if rng.gen_bool(0.5) => RecordExpect::Version(current),
        (true, Some(_)) => RecordExpect::Exists,
        (false, _) => match rng.gen_range(0..3) {
            0 => RecordExpect::Absent,
            1 => RecordExpect::Exists,
            _ => RecordExpect::Version(version(rng, record_version)),
        },
    };
    match rng.gen_range(0..100) {
        0..=14 => Command::PutCollection {
            collection: CollectionDoc {
                id: collection_id.into(),
                name: pick(rng, NAMES).into(),
                doc_json: collection_doc(rng, collection_id),
            },
            expect: if collection_version.is_none() || rng.gen_bool(0.2) {
                CollectionExpect::Absent
            } else {
                CollectionExpect::Version(version(rng, collection_version))
            },
        },
        15..=16 => Command::DeleteCollection {
            collection_id: collection_id.into(),
        },
        17..=64 => Command::PutRecord {
            collection_id: collection_id.into(),
            record_id: record_id.into(),
            doc_json: format!(
                "{{\"v\":{},\"s\":\"{}\",\"t\":\"{}\"}}",
                rng.gen_range(0..40),
                pick(rng, TEXTS),
                pick(rng, TEXTS)
            ),
            expect: record_expect(rng),
        },
        65..=79 => Command::DeleteRecord {
            collection_id: collection_id.into(),
            record_id: record_id.into(),
            expect: record_expect(rng),
        },
        80..=81 => Command::TruncateCollection {
            collection_id: collection_id.into(),
        },
        82..=84 => Command::PutSetting {
            key: pick(rng, SETTINGS).into(),
            value_json: format!("{}", rng.gen_range(0..10)),
        },
        85..=92 if depth == 0 => {
            let size = rng.gen_range(1..5);
            Command::Batch((0..size).map(|_| random_command(rng, model, 1)).collect())
        }
        // A leader's group of independent writes; now and then one nests a batch.
        _ if depth == 0 => {
            let size = rng.gen_range(1..8);
            Command::Group(
                (0..size)
                    .map(|_| {
                        if rng.gen_bool(0.2) {
                            let size = rng.gen_range(1..4);
                            Command::Batch(
                                (0..size).map(|_| random_command(rng, model, 1)).collect(),
                            )
                        } else {
                            random_command(rng, model, 1)
                        }
                    })
                    .collect(),
            )
        }
        _ => Command::PutSetting {
            key: "meta".into(),
            value_json: "0".into(),
        },
    }
}

/// The index entries the model's records and collections call for, recomputed from scratch,
/// against the entries it holds: apply's upkeep leaves none stale and misses none.
fn check_index_entries(model: &StateMachine, backend: &MemoryBackend, context: &str) {
    let mut expected = BTreeSet::new();
    for collection in model.collections().expect("collections") {
        let Ok(schema) = CollectionSchema::from_doc_json(&collection.doc_json) else {
            continue;
        };
        let indexes = compile_indexes(&schema).expect("stored indexes compile");
        for record in model.records_page(&collection.id, 0, 1000).expect("page") {
            let map = match serde_json::from_str(&record.doc_json) {
                Ok(serde_json::Value::Object(map)) => map,
                _ => serde_json::Map::new(),
            };
            for index in &indexes {
                if let Some(entry) = index.entry(&collection.id, &record.id, &map) {
                    expected.insert((
                        entry.key,
                        edgebase_storage::index::entry_value(&record.id, record.created_seq),
                    ));
                }
            }
        }
    }
    let held: BTreeSet<(Vec<u8>, Vec<u8>)> = backend
        .dump()
        .expect("dump")
        .into_iter()
        .filter(|(key, _)| key.first() == Some(&0x08))
        .collect();
    assert_eq!(held, expected, "{context}: index entries");
}

#[test]
fn rocksdb_matches_the_model() {
    let seed = seed("rocksdb_matches_the_model");
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store_dir = dir.path().join("store-0");
    let mut store = Store::open(&store_dir).expect("open store");
    let mut rocks = store.state();
    let (mut reopens, mut installs) = (0, 0);
    let model_backend = Arc::new(MemoryBackend::new());
    let model = StateMachine::with_backend(model_backend.clone());
    let (mut applied, mut rejected, mut batches, mut groups) = (0, 0, 0, 0);
    for index in 1..=ENTRIES {
        // At least one of each step, at fixed points; more at random.
        let step = match index {
            150 => 0,
            250 => 3,
            _ => rng.gen_range(0..100),
        };
        match step {
            // Close the store and open it again from its files.
            0..3 => {
                drop(rocks);
                drop(store);
                store = Store::open(&store_dir).expect("reopen store");
                rocks = store.state();
                reopens += 1;
            }
            // Replace the store by a fresh one that installed its snapshot.
            3..5 => {
                let snapshot = dir.path().join(format!("install-{installs}.snap"));
                rocks.build_snapshot(&snapshot).expect("build snapshot");
                installs += 1;
                store_dir = dir.path().join(format!("store-{installs}"));
                let fresh = Store::open(&store_dir).expect("open a fresh store");
                fresh
                    .state()
                    .install_snapshot(&snapshot)
                    .expect("install snapshot");
                drop(rocks);
                store = fresh;
                rocks = store.state();
            }
            _ => {}
        }
        let command = random_command(&mut rng, &model, 0);
        let entry = ApplyEntry {
            index,
            command: Some(command.clone()),
            last_applied: index.to_be_bytes().to_vec(),
            membership: (index % 50 == 0).then(|| vec![index as u8]),
        };
        let from_rocks = rocks.apply(entry.clone()).expect("apply to rocksdb");
        let from_model = model.apply(entry).expect("apply to model");
        assert_eq!(
            from_rocks, from_model,
            "seed {seed}, index {index}: {command:?}"
        );
        let results = match from_rocks {
            Some(EntryResult::One(result)) => vec![result],
            Some(EntryResult::Each(results)) => results,
            None => Vec::new(),
        };
        for result in results {
            match result {
                CommandResult::Applied { .. } => applied += 1,
                CommandResult::Rejected(_) => rejected += 1,
            }
        }
        match command {
            Command::Batch(_) => batches += 1,
            Command::Group(_) => groups += 1,
            _ => {}
        }
        assert_eq!(
            observe(&rocks, COLLECTION_IDS, NAMES, RECORD_IDS, SETTINGS),
            observe(&model, COLLECTION_IDS, NAMES, RECORD_IDS, SETTINGS),
            "seed {seed}, after index {index}: {command:?}"
        );
        check_index_entries(
            &model,
            &model_backend,
            &format!("seed {seed}, after index {index}: {command:?}"),
        );
    }

    // The random mix must really exercise both outcomes and batches.
    assert!(applied > ENTRIES / 5, "seed {seed}: only {applied} applied");
    assert!(
        rejected > ENTRIES / 10,
        "seed {seed}: only {rejected} rejected"
    );
    assert!(
        batches > ENTRIES / 40,
        "seed {seed}: only {batches} batches"
    );
    assert!(groups > ENTRIES / 40, "seed {seed}: only {groups} groups");
    let records: u64 = COLLECTION_IDS
        .iter()
        .map(|id| model.count_records(id).expect("count"))
        .sum();
    eprintln!(
        "applied {applied}, rejected {rejected}, batches {batches}, records at the end {records}, \
         reopened {reopens} times, installed {installs} snapshots"
    );
    assert!(
        reopens > 0 && installs > 0,
        "seed {seed}: no reopen or no install"
    );

    // The snapshot of one backend installed into the other reads the same.
    let snapshot = dir.path().join("state.snap");
    rocks.build_snapshot(&snapshot).expect("build snapshot");
    let fresh_backend = Arc::new(MemoryBackend::new());
    let fresh_model = StateMachine::with_backend(fresh_backend.clone());
    fresh_model
        .install_snapshot(&snapshot)
        .expect("install snapshot");
    assert_eq!(
        observe(&rocks, COLLECTION_IDS, NAMES, RECORD_IDS, SETTINGS),
        observe(&fresh_model, COLLECTION_IDS, NAMES, RECORD_IDS, SETTINGS),
        "seed {seed}: snapshot"
    );
    // Every key, index entries included, is the same in RocksDB as in the model.
    let model_keys = model_backend.dump().expect("dump model");
    let index_keys = model_keys
        .iter()
        .filter(|(key, _)| key.first() == Some(&0x08))
        .count();
    eprintln!("index entries at the end {index_keys}");
    assert_eq!(
        fresh_backend.dump().expect("dump installed"),
        model_keys,
        "seed {seed}: every key"
    );
}
