//! The list query against answers read off PocketBase 0.40.6: `query_cases/probe.py` built
//! the dataset in a real PocketBase, ran every case of `query_cases/cases.tsv` and wrote
//! `expected.tsv`; here the same data goes into an in-memory state machine and every case
//! must give the same ids (as a set for filters, in order for sorts) or a 400-class error.

mod common;

use common::apply;
use edgebase_storage::query::{
    parse_filter, parse_sort, FilterAccess, FilterPart, ListRequest, QueryError, RequestContext,
    RuleSubject, TotalCount,
};
use edgebase_storage::{
    CollectionDoc, CollectionExpect, Command, CommandResult, RecordExpect, StateMachine,
};
use serde_json::{json, Value};

const STORED: &str = include_str!("query_cases/stored.json");
const EXPECTED: &str = include_str!("query_cases/expected.tsv");

/// The time the cases were probed at is irrelevant to them: every macro case holds for any
/// date after the dataset's (2026-11-21 here).
const NOW_UNIX_MS: i64 = 1_795_000_000_000;

fn load() -> StateMachine {
    let state = StateMachine::in_memory();
    let stored: Value = serde_json::from_str(STORED).expect("stored.json");
    let mut index = 0;
    let mut next = || {
        index += 1;
        index
    };
    for collection in stored["collections"].as_array().expect("collections") {
        let id = collection["id"].as_str().expect("id").to_string();
        let name = collection["name"].as_str().expect("name").to_string();
        apply(
            &state,
            next(),
            Command::PutCollection {
                collection: CollectionDoc {
                    id,
                    name,
                    doc_json: collection.to_string(),
                },
                expect: CollectionExpect::Absent,
            },
        );
    }
    for collection in stored["collections"].as_array().expect("collections") {
        let id = collection["id"].as_str().expect("id");
        let name = collection["name"].as_str().expect("name");
        for record in stored["records"][name].as_array().expect("records") {
            let mut record = record.clone();
            // The API never shows an auth record's tokenKey; every stored record has its
            // own, which the unique index on it requires.
            if collection["type"] == json!("auth") {
                let key = format!("key-{}", record["id"].as_str().unwrap_or_default());
                record["tokenKey"] = json!(key);
            }
            let result = apply(
                &state,
                next(),
                Command::PutRecord {
                    collection_id: id.into(),
                    record_id: record["id"].as_str().expect("record id").into(),
                    doc_json: record.to_string(),
                    expect: RecordExpect::Absent,
                },
            );
            assert!(
                matches!(result, CommandResult::Applied { .. }),
                "load {name}/{}: {result:?}",
                record["id"]
            );
        }
    }
    state
}

fn superuser_context() -> RequestContext {
    let mut context = RequestContext::at(NOW_UNIX_MS);
    context.auth = json!({
        "id": "ne068dyu0t5irl8",
        "collectionId": "pbc_3142635823",
        "collectionName": "_superusers",
        "email": "admin@example.com",
    })
    .as_object()
    .cloned();
    context.query = json!({"perPage": "500", "filter": ""})
        .as_object()
        .cloned()
        .unwrap_or_default();
    context
}

fn short(id: &str) -> String {
    let digits = id[1..].trim_start_matches('0');
    format!("{}{}", &id[..1], digits)
}

fn run(
    state: &StateMachine,
    collection: &str,
    filter: &str,
    sort: &str,
) -> Result<Vec<String>, QueryError> {
    let collection_id = state
        .collection_by_name(collection)
        .expect("read")
        .expect("collection")
        .id;
    let mut filters = Vec::new();
    if let Some(expr) = parse_filter(filter)? {
        filters.push(FilterPart::new(expr, FilterAccess::Unrestricted));
    }
    let request = ListRequest {
        collection_id,
        filters,
        sort: parse_sort(sort)?,
        sort_access: FilterAccess::Unrestricted,
        offset: 0,
        limit: 500,
        total: TotalCount::Count,
        context: superuser_context(),
        records_examined_max: 100_000,
        random_seed: 7,
    };
    let page = state.list_records(&request)?;
    assert_eq!(page.total, Some(page.records.len() as u64));
    Ok(page
        .records
        .iter()
        .map(|record| short(&record.id))
        .collect())
}

#[test]
fn filters_and_sorts_match_pocketbase() {
    let state = load();
    let mut failures = Vec::new();
    let mut cases = 0;
    for line in EXPECTED.lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let columns: Vec<&str> = line.split('\t').collect();
        let [collection, filter, sort, expected] = columns[..] else {
            panic!("bad line {line:?}");
        };
        cases += 1;
        let got = run(&state, collection, filter, sort);
        let ok = match (expected.strip_prefix("ids "), &got) {
            (Some(ids), Ok(got)) => {
                let mut want: Vec<String> = ids
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect();
                let mut got = got.clone();
                // Filters compare as sets (PocketBase's DISTINCT over joins has no fixed order);
                // sorts compare in order, except `@random`.
                if sort.is_empty() || sort.contains("@random") {
                    want.sort();
                    got.sort();
                }
                want == got
            }
            (None, Err(error)) => expected.starts_with("error 400") && error.is_bad_request(),
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{collection} | {filter} | {sort}: want {expected}, got {got:?}"
            ));
        }
    }
    assert!(cases >= 300, "only {cases} cases");
    assert!(
        failures.is_empty(),
        "{} of {cases} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

const EXPECTED_RULES: &str = include_str!("query_cases/expected_rules.tsv");

/// The request context PocketBase builds for `who` (guest, m1, m2).
fn member_context(state: &StateMachine, who: &str, method: &str) -> RequestContext {
    let mut context = RequestContext::at(NOW_UNIX_MS);
    context.method = method.into();
    if who != "guest" {
        let members = state
            .collection_by_name("members")
            .expect("read")
            .expect("members");
        let id = format!("m{:0>14}", &who[1..]);
        let record = state
            .record(&members.id, &id)
            .expect("read")
            .expect("member");
        let mut doc: serde_json::Map<String, Value> =
            serde_json::from_str(&record.doc_json).expect("member document");
        doc.insert("collectionId".into(), json!(members.id));
        doc.insert("collectionName".into(), json!(members.name));
        context.auth = Some(doc);
    }
    context
}

fn header_map(headers: &str) -> serde_json::Map<String, Value> {
    let given: serde_json::Map<String, Value> =
        serde_json::from_str(headers).expect("headers json");
    given
        .into_iter()
        .map(|(name, value)| (name.to_lowercase().replace('-', "_"), value))
        .collect()
}

/// Guests and members are restricted; the superuser is not.
fn access_of(who: &str) -> FilterAccess {
    if who == "guest" || who.starts_with('m') {
        FilterAccess::Restricted
    } else {
        FilterAccess::Unrestricted
    }
}

/// Set (or clear) a collection's listRule, as a replicated collection update.
fn set_list_rule(state: &StateMachine, index: &mut u64, name: &str, rule: Option<&str>) {
    let stored = state
        .collection_by_name(name)
        .expect("read")
        .expect("collection");
    let mut doc: Value = serde_json::from_str(&stored.doc_json).expect("collection document");
    doc["listRule"] = rule.map_or(Value::Null, |rule| json!(rule));
    *index += 1;
    apply(
        state,
        *index,
        Command::PutCollection {
            collection: CollectionDoc {
                id: stored.id,
                name: stored.name,
                doc_json: doc.to_string(),
            },
            expect: CollectionExpect::Version(stored.version),
        },
    );
}

fn parts(rule: &str, filter: &str, who: &str) -> Result<Vec<FilterPart>, QueryError> {
    let mut parts = Vec::new();
    if let Some(expr) = parse_filter(rule)? {
        parts.push(FilterPart::new(expr, FilterAccess::Unrestricted));
    }
    if let Some(expr) = parse_filter(filter)? {
        parts.push(FilterPart::new(expr, access_of(who)));
    }
    Ok(parts)
}

fn check_rule_case(state: &StateMachine, columns: &[&str]) -> Result<String, QueryError> {
    let [kind, who, rule, input, headers, _setup, sort] = columns[..7] else {
        panic!("bad columns {columns:?}");
    };
    let posts = state
        .collection_by_name("posts")
        .expect("read")
        .expect("posts");
    if kind == "list" {
        let mut context = member_context(state, who, "GET");
        context.headers = header_map(headers);
        context.query = json!({"perPage": "500", "filter": input})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let request = ListRequest {
            collection_id: posts.id.clone(),
            filters: parts(rule, input, who)?,
            sort: parse_sort(sort)?,
            sort_access: access_of(who),
            offset: 0,
            limit: 500,
            total: TotalCount::Skip,
            context,
            records_examined_max: 100_000,
            random_seed: 1,
        };
        let page = state.list_records(&request)?;
        let mut ids: Vec<String> = page.records.iter().map(|r| short(&r.id)).collect();
        if sort.is_empty() {
            ids.sort();
        }
        return Ok(format!("ids {}", ids.join(",")));
    }
    let mut context = member_context(state, who, "PATCH");
    context.headers = header_map(headers);
    context.body = serde_json::from_str(input).expect("body json");
    let record = state
        .record(&posts.id, "p00000000000001")
        .expect("read")
        .expect("p1");
    let check = state.check_record(
        RuleSubject::Stored(&record),
        &parts(rule, "", who)?,
        &context,
        10_000,
    )?;
    Ok(if check.matched { "allowed" } else { "denied" }.into())
}

#[test]
fn rules_match_pocketbase() {
    let state = load();
    let mut index = 1_000;
    let mut failures = Vec::new();
    let mut cases = 0;
    for line in EXPECTED_RULES.lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let columns: Vec<&str> = line.split('\t').collect();
        assert_eq!(columns.len(), 8, "bad line {line:?}");
        cases += 1;
        let expected = columns[7];
        let setup: serde_json::Map<String, Value> =
            serde_json::from_str(columns[5]).expect("setup json");
        // As in the probe: the case's rule is the posts listRule, beside the setup's rules.
        let listing = columns[0] == "list";
        if listing {
            set_list_rule(&state, &mut index, "posts", Some(columns[2]));
        }
        for (name, rule) in &setup {
            set_list_rule(&state, &mut index, name, rule.as_str());
        }
        let got = check_rule_case(&state, &columns);
        for name in setup.keys() {
            set_list_rule(&state, &mut index, name, None);
        }
        if listing {
            set_list_rule(&state, &mut index, "posts", None);
        }
        let ok = match (&got, expected.strip_prefix("ids ")) {
            (Ok(got), Some(ids)) => {
                let mut want: Vec<&str> = ids.split(',').filter(|s| !s.is_empty()).collect();
                if columns[6].is_empty() {
                    want.sort();
                }
                *got == format!("ids {}", want.join(","))
            }
            (Ok(got), None) => got == expected,
            (Err(QueryError::Forbidden { reason }), None) => {
                expected.starts_with("error 403") && expected.contains(reason.as_str())
            }
            (Err(error), None) => expected.starts_with("error 400") && error.is_bad_request(),
            (Err(_), Some(_)) => false,
        };
        if !ok {
            failures.push(format!("{line}\n    got {got:?}"));
        }
    }
    assert!(cases >= 100, "only {cases} cases");
    assert!(
        failures.is_empty(),
        "{} of {cases} rule cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn list_request(state: &StateMachine, filter: &str, sort: &str) -> ListRequest {
    let posts = state
        .collection_by_name("posts")
        .expect("read")
        .expect("posts");
    ListRequest {
        collection_id: posts.id,
        filters: parts(filter, "", "superuser").expect("valid filter"),
        sort: parse_sort(sort).expect("valid sort"),
        sort_access: FilterAccess::Unrestricted,
        offset: 0,
        limit: 500,
        total: TotalCount::Count,
        context: superuser_context(),
        records_examined_max: 100_000,
        random_seed: 1,
    }
}

#[test]
fn pages_and_totals() {
    let state = load();
    // (offset, limit, total, expected ids, expected total)
    let cases = [
        (0, 3, TotalCount::Count, "p6,p2,p4", Some(8)),
        (3, 3, TotalCount::Count, "p7,p1,p5", Some(8)),
        (6, 3, TotalCount::Skip, "p8,p3", None),
        (8, 3, TotalCount::Count, "", Some(8)),
        (0, 0, TotalCount::Count, "", Some(8)),
    ];
    for (offset, limit, total, ids, expected_total) in cases {
        let mut request = list_request(&state, "", "views");
        request.offset = offset;
        request.limit = limit;
        request.total = total;
        let page = state.list_records(&request).expect("list");
        let got: Vec<String> = page.records.iter().map(|r| short(&r.id)).collect();
        assert_eq!(got.join(","), ids, "offset {offset} limit {limit}");
        assert_eq!(page.total, expected_total, "offset {offset} limit {limit}");
    }
    // Unfiltered and unsorted: the total is the stored count, and the scan stops at the
    // page's end (four records, plus the superuser lookup).
    let mut request = list_request(&state, "", "");
    request.offset = 2;
    request.limit = 2;
    request.records_examined_max = 5;
    let page = state.list_records(&request).expect("list");
    let got: Vec<String> = page.records.iter().map(|r| short(&r.id)).collect();
    assert_eq!(got.join(","), "p3,p4");
    assert_eq!(page.total, Some(8));
}

#[test]
fn work_is_bounded() {
    let state = load();
    // (filter, records_examined_max, fails)
    let cases = [
        ("views > 0", 100, false),
        ("views > 0", 5, true),
        ("@collection.comments.post ?= id", 200, false),
        (
            "@collection.comments.post ?= id && @collection.tags:t.label ?= 'x'",
            40,
            true,
        ),
        ("comments_via_post.message ?~ 'spam'", 60, false),
        // The first condition narrows the @collection join once (to c3), so each post
        // combines with one comment instead of five.
        (
            "@collection.comments.votes ?> 4 && @collection.comments.post ?= id",
            30,
            false,
        ),
        (
            "@collection.comments.votes ?> -1 && @collection.comments.post ?= id",
            30,
            true,
        ),
    ];
    for (filter, records_examined_max, fails) in cases {
        let mut request = list_request(&state, filter, "");
        request.records_examined_max = records_examined_max;
        match state.list_records(&request) {
            Err(QueryError::TooMuchWork { .. }) => assert!(fails, "{filter}: unexpected bound"),
            Ok(_) => assert!(!fails, "{filter}: bound not hit"),
            Err(other) => panic!("{filter}: {other}"),
        }
    }
}

#[test]
fn unsorted_pages_without_a_total_stop_early() {
    let state = load();
    // (sort, total, records_examined_max, expected ids or None when the bound is hit):
    // "views > 0" matches p1 and p3 among the first three records; looking up the
    // superuser's auth record costs one more.
    let cases = [
        ("", TotalCount::Skip, 4, Some("p1,p3")),
        ("", TotalCount::Count, 4, None),
        ("title", TotalCount::Skip, 4, None),
        ("", TotalCount::Count, 9, Some("p1,p3")),
    ];
    for (sort, total, records_examined_max, expected) in cases {
        let mut request = list_request(&state, "views > 0", sort);
        request.limit = 2;
        request.total = total;
        request.records_examined_max = records_examined_max;
        match (state.list_records(&request), expected) {
            (Ok(page), Some(ids)) => {
                let got: Vec<String> = page.records.iter().map(|r| short(&r.id)).collect();
                assert_eq!(got.join(","), ids, "{sort:?} {total:?}");
            }
            (Err(QueryError::TooMuchWork { .. }), None) => {}
            (other, _) => panic!("{sort:?} {total:?} {records_examined_max}: {other:?}"),
        }
    }
}

#[test]
fn rule_checks_report_the_records_they_read() {
    let state = load();
    let posts = state
        .collection_by_name("posts")
        .expect("read")
        .expect("posts");
    let p1 = state
        .record(&posts.id, "p00000000000001")
        .expect("read")
        .expect("p1");
    // (rule, matched, records read besides p1 as collection name + short id)
    let cases = [
        ("title = 'Hello World'", true, ""),
        ("author.name = 'Alice'", true, "authors:a1"),
        ("author.name = 'bob'", false, "authors:a1"),
        ("tags.label ?= 'green'", true, "tags:t1,tags:t2"),
        (
            "comments_via_post.votes ?> 2",
            true,
            "comments:c1,comments:c2,comments:c3,comments:c4,comments:c5",
        ),
    ];
    for (rule, matched, reads) in cases {
        let context = superuser_context();
        let check = state
            .check_record(
                RuleSubject::Stored(&p1),
                &parts(rule, "", "superuser").expect("rule"),
                &context,
                1000,
            )
            .expect("check");
        assert_eq!(check.matched, matched, "{rule}");
        let mut got: Vec<String> = check
            .reads
            .iter()
            .map(|read| {
                let (collection_id, id, version) =
                    (&read.collection_id, &read.record_id, read.version);
                let name = state
                    .collection_by_id(collection_id)
                    .expect("read")
                    .expect("collection")
                    .name;
                let stored = state
                    .record(collection_id, id)
                    .expect("read")
                    .expect("record");
                assert_eq!(stored.version, version, "{rule}: version of {id}");
                format!("{name}:{}", short(id))
            })
            .collect();
        got.sort();
        assert_eq!(got.join(","), reads, "{rule}");
    }
}

#[test]
fn rules_are_validated_against_unsaved_collections() {
    let state = load();
    let drafts = r#"{"id":"drafts00000001","name":"drafts","type":"base","listRule":null,
        "fields":[{"id":"d1","name":"title","type":"text"},
                  {"id":"d2","name":"author","type":"relation","collectionId":"authors0000001","maxSelect":1},
                  {"id":"d3","name":"parent","type":"relation","collectionId":"drafts00000001","maxSelect":1}]}"#;
    // (rule, valid)
    let cases = [
        ("title != ''", true),
        ("author.name = 'Alice'", true),
        ("parent.parent.title = 'x'", true),
        ("author.posts_via_author.title ?= 'x'", true),
        ("@collection.drafts.title ?= title", true),
        (
            "@request.auth.id != '' && @request.body.title:isset = false",
            true,
        ),
        ("nope = 1", false),
        ("title.x = 1", false),
        ("drafts_via_parent.nope = 1", false),
    ];
    for (rule, valid) in cases {
        let expr = parse_filter(rule).expect("syntax").expect("non-empty");
        let result = state.validate_filter(drafts, &expr);
        assert_eq!(result.is_ok(), valid, "{rule}: {result:?}");
    }
}

/// Random join-free filters (seeded): `a || b` lists the union of `a` and `b`, `a && b`
/// their intersection, and any sort's pages, put together, list every match once.
#[test]
fn random_filters_compose_and_page() {
    use rand::{Rng, SeedableRng};
    let seed = common::seed("random_filters_compose_and_page");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let state = load();
    let fields = [
        "title",
        "body",
        "views",
        "score",
        "published",
        "when",
        "status",
        "meta",
        "meta.a",
        "author",
        "labels",
    ];
    let operators = ["=", "!=", ">", ">=", "<", "<=", "~", "!~"];
    let values = [
        "''",
        "null",
        "0",
        "10",
        "-1",
        "1.5",
        "true",
        "'hello'",
        "'a'",
        "'2024-01-15'",
        "'live'",
        "'%o%'",
    ];
    let sorts = [
        "",
        "title",
        "-views,id",
        "score,-title",
        "-when",
        "meta",
        "author.name,-id",
    ];
    let mut pick = |items: &[&'static str]| items[rng.gen_range(0..items.len())];
    let ids = |filter: &str, sort: &str| -> Vec<String> {
        run(&state, "posts", filter, sort).unwrap_or_else(|e| panic!("seed {seed}: {filter}: {e}"))
    };
    for _ in 0..200 {
        let a = format!("{} {} {}", pick(&fields), pick(&operators), pick(&values));
        let b = format!("{} {} {}", pick(&fields), pick(&operators), pick(&values));
        let (in_a, in_b) = (ids(&a, ""), ids(&b, ""));
        let mut union: Vec<String> = in_a.iter().chain(&in_b).cloned().collect();
        union.sort();
        union.dedup();
        let mut got = ids(&format!("{a} || {b}"), "");
        got.sort();
        assert_eq!(got, union, "seed {seed}: ({a}) || ({b})");
        let mut both: Vec<String> = in_a
            .iter()
            .filter(|id| in_b.contains(id))
            .cloned()
            .collect();
        both.sort();
        let mut got = ids(&format!("({a}) && ({b})"), "");
        got.sort();
        assert_eq!(got, both, "seed {seed}: ({a}) && ({b})");

        let sort = pick(&sorts);
        let whole = ids(&a, sort);
        let mut paged = Vec::new();
        let posts = state
            .collection_by_name("posts")
            .expect("read")
            .expect("posts")
            .id;
        for offset in (0..8).step_by(3) {
            let request = ListRequest {
                collection_id: posts.clone(),
                filters: parts(&a, "", "superuser").expect("valid"),
                sort: parse_sort(sort).expect("valid sort"),
                sort_access: FilterAccess::Unrestricted,
                offset,
                limit: 3,
                total: TotalCount::Count,
                context: superuser_context(),
                records_examined_max: 100_000,
                random_seed: 1,
            };
            let page = state.list_records(&request).expect("page");
            assert_eq!(
                page.total,
                Some(whole.len() as u64),
                "seed {seed}: {a} total"
            );
            paged.extend(page.records.iter().map(|r| short(&r.id)));
        }
        assert_eq!(paged, whole, "seed {seed}: pages of {a} sorted by {sort:?}");
    }
}
