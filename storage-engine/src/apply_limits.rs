//! Bounds on the work one entry's apply may do. They decide rejections, so every replica must
//! apply with the same ones: they are constants of the build, not configuration. Only tests
//! inside this crate apply with smaller ones (`StateMachine::with_limits`).

/// Records one collection update may rewrite (renamed or removed fields) or index (new or
/// changed indexes) in one apply; a larger migration is rejected
/// (`Rejection::MigrationTooLarge`), so one entry cannot stall every replica's apply.
pub const MIGRATION_RECORDS_MAX: u64 = 100_000;

/// The bounds apply enforces; [`Default`] is what every replica uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ApplyLimits {
    pub(crate) migration_records_max: u64,
    /// Idempotency keys kept at once (`crate::idempotency`).
    pub(crate) idempotency_keys_max: u64,
}

impl Default for ApplyLimits {
    fn default() -> Self {
        ApplyLimits {
            migration_records_max: MIGRATION_RECORDS_MAX,
            idempotency_keys_max: crate::idempotency::IDEMPOTENCY_KEYS_MAX,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::ApplyLimits;
    use crate::{
        ApplyEntry, CollectionDoc, CollectionExpect, Command, CommandResult, MemoryBackend,
        RecordExpect, Rejection, StateMachine, StoredCollection, StoredRecord,
    };

    const RECORDS_MAX: u64 = 10;

    /// A collection with a text field `title` (field id `f1`), and `indexes`.
    fn doc(title: &str, indexes: &[&str], rule: Option<&str>) -> String {
        serde_json::json!({
            "id": "c1", "name": "posts", "type": "base", "listRule": rule,
            "fields": [{"id": "f1", "name": title, "type": "text"}],
            "indexes": indexes,
        })
        .to_string()
    }

    fn put_collection(doc_json: String, expect: CollectionExpect) -> Command {
        Command::PutCollection {
            collection: CollectionDoc {
                id: "c1".into(),
                name: "posts".into(),
                doc_json,
            },
            expect,
        }
    }

    fn apply(state: &StateMachine, index: u64, command: Command) -> CommandResult {
        state
            .apply(ApplyEntry {
                index,
                command: Some(command),
                last_applied: index.to_be_bytes().to_vec(),
                membership: None,
            })
            .expect("apply")
            .expect("a command has a result")
            .into_one()
            .expect("not a group")
    }

    fn snapshot(state: &StateMachine) -> (StoredCollection, Vec<StoredRecord>) {
        let collection = state
            .collection_by_id("c1")
            .expect("read")
            .expect("the collection");
        (collection, state.records_page("c1", 0, 1000).expect("page"))
    }

    #[test]
    fn migrations_past_the_bound_are_rejected_and_write_nothing() {
        let title_index = "CREATE INDEX idx_title ON posts (title)";
        let too_large = |records| {
            Some(Rejection::MigrationTooLarge {
                records,
                records_max: RECORDS_MAX,
            })
        };
        // (what, records held, the update: (title field name, indexes, list rule), rejection)
        type Update<'a> = (&'a str, &'a [&'a str], Option<&'a str>);
        let cases: &[(&str, u64, Update, Option<Rejection>)] = &[
            ("rename at the bound", 10, ("name", &[], None), None),
            (
                "rename past the bound",
                11,
                ("name", &[], None),
                too_large(11),
            ),
            (
                "new index at the bound",
                10,
                ("title", &[title_index], None),
                None,
            ),
            (
                "new index past the bound",
                11,
                ("title", &[title_index], None),
                too_large(11),
            ),
            (
                "rule change past the bound",
                500,
                ("title", &[], Some("")),
                None,
            ),
        ];
        for (what, records, (title, indexes, rule), rejection) in cases {
            let backend = Arc::new(MemoryBackend::new());
            let limits = ApplyLimits {
                migration_records_max: RECORDS_MAX,
                ..ApplyLimits::default()
            };
            let state = StateMachine::with_limits(backend, limits);
            let created = apply(
                &state,
                1,
                put_collection(doc("title", &[], None), CollectionExpect::Absent),
            );
            assert_eq!(created, CommandResult::Applied { version: 1 }, "{what}");
            let creates = (0..*records)
                .map(|number| Command::PutRecord {
                    collection_id: "c1".into(),
                    record_id: format!("r{number:04}"),
                    doc_json: format!(r#"{{"title":"t{number}"}}"#),
                    expect: RecordExpect::Absent,
                })
                .collect();
            let put = apply(&state, 2, Command::Batch(creates));
            assert_eq!(put, CommandResult::Applied { version: 2 }, "{what}");
            let before = snapshot(&state);

            let update = put_collection(doc(title, indexes, *rule), CollectionExpect::Version(1));
            let result = apply(&state, 3, update);
            let after = snapshot(&state);
            match rejection {
                Some(rejection) => {
                    assert_eq!(result, CommandResult::Rejected(rejection.clone()), "{what}");
                    assert_eq!(after, before, "{what}: a rejected migration wrote");
                }
                None => {
                    assert_eq!(result, CommandResult::Applied { version: 3 }, "{what}");
                    assert_eq!(after.0.version, 3, "{what}");
                    let field = format!(r#""{title}":"t0""#);
                    assert!(
                        after.1[0].doc_json.contains(&field),
                        "{what}: {:?}",
                        after.1[0]
                    );
                }
            }
        }
    }

    #[test]
    fn every_replica_applies_with_the_stated_bound() {
        assert_eq!(
            ApplyLimits::default().migration_records_max,
            super::MIGRATION_RECORDS_MAX
        );
        let text = Rejection::MigrationTooLarge {
            records: 11,
            records_max: 10,
        }
        .to_string();
        assert!(text.contains("11 records") && text.contains("10"), "{text}");
    }
}
