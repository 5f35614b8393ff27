use super::*;

fn field(json: Value) -> Field {
    serde_json::from_value(json).expect("field")
}

fn multi() -> Field {
    field(
        json!({"name": "docs", "type": "file", "maxSelect": 3, "mimeTypes": ["text/plain"], "maxSize": 10}),
    )
}

fn upload(name: &str, size_bytes: u64, content_type: &str) -> Upload {
    Upload {
        name: name.into(),
        original_name: format!("orig {name}"),
        size_bytes,
        content_type: content_type.into(),
        blob: "ab".repeat(32),
    }
}

fn body(json: Value) -> Map<String, Value> {
    match json {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

#[test]
fn values_merge_as_pocketbase_documents_them() {
    let docs = multi();
    let current = json!(["a.txt", "b.txt"]);
    let x =
        |key: &str| -> Uploads { [(key.to_string(), vec![upload("x", 1, "text/plain")])].into() };
    let none = Uploads::new();
    let cases: Vec<(Value, Uploads, Value)> = vec![
        (json!({}), x("docs"), json!(["x"])),
        (json!({"docs": "a.txt"}), x("docs"), json!(["a.txt", "x"])),
        (json!({}), x("docs+"), json!(["a.txt", "b.txt", "x"])),
        (json!({}), x("+docs"), json!(["x", "a.txt", "b.txt"])),
        (json!({"docs-": "a.txt"}), x("docs+"), json!(["b.txt", "x"])),
        (json!({"docs-": ["a.txt"]}), none.clone(), json!(["b.txt"])),
        (json!({"docs": []}), none.clone(), json!([])),
        (json!({"docs": null}), none.clone(), json!([])),
        (json!({"docs": ""}), none.clone(), json!([])),
        (
            json!({"docs-": "missing"}),
            none.clone(),
            json!(["a.txt", "b.txt"]),
        ),
        (
            json!({"docs": "[\"b.txt\",\"a.txt\",\"b.txt\"]"}),
            none.clone(),
            json!(["b.txt", "a.txt"]),
        ),
    ];
    for (sent, uploads, expected) in cases {
        assert_eq!(
            merged(&docs, &current, &body(sent.clone()), &uploads),
            Some(expected),
            "{sent}"
        );
    }
    assert_eq!(
        merged(&docs, &current, &body(json!({"title": 1})), &none),
        None
    );

    let avatar = field(json!({"name": "avatar", "type": "file"}));
    let merged_avatar = merged(&avatar, &json!("old.png"), &Map::new(), &x("avatar+"));
    assert_eq!(merged_avatar, Some(json!("x")));
    assert_eq!(
        merged(
            &avatar,
            &json!("old.png"),
            &body(json!({"avatar": ""})),
            &none
        ),
        Some(json!(""))
    );
}

#[test]
fn checks_come_in_pocketbase_order() {
    let docs = multi();
    let code = |value: Value, stored: &[&str], uploads: &Uploads| {
        let stored: Vec<String> = stored.iter().map(|s| s.to_string()).collect();
        validate(&docs, &value, &stored, uploads)
            .map(|error| error["code"].as_str().unwrap_or_default().to_string())
    };
    let none = Uploads::new();
    assert_eq!(code(json!([]), &[], &none), None);
    let required = field(json!({"name": "f", "type": "file", "required": true}));
    assert_eq!(
        validate(&required, &json!(""), &[], &none).map(|e| e["code"].clone()),
        Some(json!("validation_required"))
    );
    assert_eq!(
        code(json!(["new.txt"]), &["a.txt"], &none).as_deref(),
        Some("validation_invalid_file")
    );
    assert_eq!(code(json!(["a.txt"]), &["a.txt"], &none), None);
    assert_eq!(
        code(json!(["a", "b", "c", "d"]), &["a", "b", "c", "d"], &none).as_deref(),
        Some("validation_too_many_files")
    );
    let big: Uploads = [(
        "docs".into(),
        vec![upload("big.txt", 11, "text/plain; charset=utf-8")],
    )]
    .into();
    assert_eq!(
        code(json!(["big.txt"]), &[], &big).as_deref(),
        Some("validation_file_size_limit")
    );
    let json_file: Uploads = [("docs".into(), vec![upload("j.txt", 2, "application/json")])].into();
    let error = validate(&docs, &json!(["j.txt"]), &[], &json_file).expect("refused");
    assert_eq!(error["code"], "validation_invalid_mime_type");
    assert_eq!(
        error["message"],
        "\"j.txt\" mime type must be one of: text/plain."
    );
    let ok: Uploads = [(
        "docs".into(),
        vec![upload("t.txt", 10, "text/plain; charset=utf-8")],
    )]
    .into();
    assert_eq!(code(json!(["t.txt"]), &[], &ok), None);
    let dotted: Uploads = [("docs".into(), vec![upload(".hidden", 1, "text/plain")])].into();
    assert_eq!(
        code(json!([".hidden"]), &[], &dotted).as_deref(),
        Some("validation_match_invalid")
    );
}

#[test]
fn files_entries_keep_what_is_named() {
    let fields = vec![multi()];
    let stored = body(
        json!({"a.txt": {"blob": "cd".repeat(32), "size": 4, "type": "text/plain"}, "gone.txt": {"blob": "ef".repeat(32)}}),
    );
    let uploads: Uploads = [("docs+".into(), vec![upload("x", 1, "text/plain")])].into();
    let doc = body(json!({"docs": ["a.txt", "x"]}));
    let entries = files_entries(
        &fields,
        &doc,
        Some(&stored),
        &uploads,
        "2026-01-01 00:00:00.000Z",
        false,
    )
    .expect("entries");
    assert_eq!(entries.keys().collect::<Vec<_>>(), vec!["a.txt", "x"]);
    assert_eq!(entries["x"]["size"], 1);
    assert!(entries["x"].get("store").is_none());
    let in_bucket =
        files_entries(&fields, &doc, Some(&stored), &uploads, "now", true).expect("entries");
    assert_eq!(in_bucket["x"]["store"], "s3");
    assert!(
        in_bucket["a.txt"].get("store").is_none(),
        "kept entries stay where they are"
    );
    assert_eq!(
        files_entries(
            &fields,
            &body(json!({"docs": []})),
            Some(&stored),
            &uploads,
            "now",
            false
        ),
        None
    );
}
