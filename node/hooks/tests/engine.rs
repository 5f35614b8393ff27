//! The hooks engine on its own (no node): custom routes and their answers, PocketBase's
//! error classes, `$apis` middlewares, `require()`, bad files, and the per-call limits
//! (an endless loop, a memory bomb and a long sleep each stopped with a clear error while
//! the engine goes on serving).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use edgebase_hooks::{
    Bundle, CallLimits, EngineConfig, HookFailure, Hooks, RouteAnswer, RouteRequest, RouteResponse,
};
use serde_json::{json, Value};

fn bundle(files: &[(&str, &str)]) -> Bundle {
    let files: BTreeMap<String, String> = files
        .iter()
        .map(|(name, source)| ((*name).to_owned(), (*source).to_owned()))
        .collect();
    Bundle::from_files(files).expect("bundle")
}

async fn hooks_with(files: &[(&str, &str)], limits: CallLimits) -> Hooks {
    let hooks = Hooks::start(
        None,
        Path::new("/srv/pb_hooks"),
        EngineConfig {
            runtimes: 2,
            queue: 16,
            limits,
        },
    )
    .expect("engine");
    hooks.load(bundle(files)).await.expect("load");
    hooks
}

fn get(path: &str) -> RouteRequest {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    RouteRequest {
        method: "GET".into(),
        path: path.into(),
        raw_query: query.into(),
        query: query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                (key.to_owned(), value.to_owned())
            })
            .collect(),
        remote_ip: "127.0.0.1".into(),
        ..RouteRequest::default()
    }
}

fn written(answer: RouteAnswer) -> RouteResponse {
    match answer {
        RouteAnswer::Written(response) => response,
        RouteAnswer::Failed(failure) => panic!("the route failed: {failure:?}"),
    }
}

fn failed(answer: RouteAnswer) -> HookFailure {
    match answer {
        RouteAnswer::Failed(failure) => failure,
        RouteAnswer::Written(response) => panic!("the route answered: {response:?}"),
    }
}

fn body_json(response: &RouteResponse) -> Value {
    serde_json::from_str(response.body.as_deref().unwrap_or("null")).expect("json body")
}

const ROUTES: &str = r#"
routerAdd("GET", "/hello/{name}", (e) => {
    const name = e.request.pathValue("name")
    const greeting = e.request.url.query().get("greeting") || "Hello"
    return e.json(200, { message: greeting + " " + name })
})
routerAdd("GET", "/text", (e) => e.string(201, "plain"))
routerAdd("GET", "/bad", (e) => {
    throw new BadRequestError("title is wrong", { title: new ValidationError("invalid_title", "not this one") })
})
routerAdd("GET", "/boom", (e) => { throw new Error("something internal") })
routerAdd("GET", "/missing", (e) => $app.findRecordById("posts", "x"))
routerAdd("GET", "/members", (e) => e.json(200, { ok: true }), $apis.requireAuth())
routerAdd("GET", "/util", (e) => {
    const util = require(`${__hooks}/util.js`)
    return e.json(200, { sum: util.add(2, 3) })
})
routerAdd("GET", "/loop", (e) => { while (true) {} })
routerAdd("GET", "/bomb", (e) => { const a = []; while (true) { a.push("x".repeat(1 << 16)) } })
routerAdd("GET", "/sleepy", (e) => { sleep(60000); return e.string(200, "woke") })
routerUse((e) => {
    e.response.header().set("X-Seen-By", "middleware")
    return e.next()
})
"#;

const UTIL: &str = "module.exports = { add: (a, b) => a + b }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_answer_as_pocketbase_routes_do() {
    let hooks = hooks_with(
        &[("routes.pb.js", ROUTES), ("util.js", UTIL)],
        CallLimits::default(),
    )
    .await;
    assert!(
        hooks.current().errors.is_empty(),
        "{:?}",
        hooks.current().errors
    );

    let hello = hooks
        .route(get("/hello/ada?greeting=Hi"))
        .await
        .map(written)
        .expect("matched");
    assert_eq!(hello.status, 200);
    assert_eq!(hello.content_type, "application/json");
    assert_eq!(body_json(&hello), json!({"message": "Hi ada"}));
    assert!(hello
        .headers
        .contains(&("X-Seen-By".into(), "middleware".into())));

    let text = hooks
        .route(get("/text"))
        .await
        .map(written)
        .expect("matched");
    assert_eq!((text.status, text.body.as_deref()), (201, Some("plain")));

    let bad = hooks.route(get("/bad")).await.map(failed).expect("matched");
    assert_eq!(bad.status, 400);
    assert_eq!(bad.message, "Title is wrong.");
    assert_eq!(
        Value::Object(bad.data),
        json!({"title": {"code": "invalid_title", "message": "Not this one."}})
    );

    let boom = hooks
        .route(get("/boom"))
        .await
        .map(failed)
        .expect("matched");
    assert_eq!(boom.status, 400);
    assert_eq!(
        boom.message,
        "Something went wrong while processing your request."
    );
    assert!(boom
        .cause
        .as_deref()
        .unwrap_or_default()
        .contains("something internal"));

    let guest = hooks
        .route(get("/members"))
        .await
        .map(failed)
        .expect("matched");
    assert_eq!(guest.status, 401);
    assert_eq!(
        guest.message,
        "The request requires valid record authorization token."
    );

    let util = hooks
        .route(get("/util"))
        .await
        .map(written)
        .expect("matched");
    assert_eq!(body_json(&util), json!({"sum": 5}));

    assert!(hooks.route(get("/nowhere")).await.is_none());
    let mut post = get("/text");
    post.method = "POST".into();
    assert!(hooks.route(post).await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_stop_a_call_and_the_engine_serves_on() {
    let limits = CallLimits {
        cpu: Duration::from_millis(300),
        wall: Duration::from_secs(2),
        memory_bytes: 16 << 20,
    };
    let hooks = hooks_with(&[("routes.pb.js", ROUTES), ("util.js", UTIL)], limits).await;

    let looped = hooks
        .route(get("/loop"))
        .await
        .map(failed)
        .expect("matched");
    assert_eq!(looped.status, 500);
    assert_eq!(
        looped.message,
        "The hook was stopped: it used more than 300 ms of CPU time."
    );

    let bomb = hooks
        .route(get("/bomb"))
        .await
        .map(failed)
        .expect("matched");
    assert_eq!(
        bomb.message,
        "The hook was stopped: it needed more than 16 MiB of memory."
    );

    let sleepy = hooks
        .route(get("/sleepy"))
        .await
        .map(failed)
        .expect("matched");
    assert_eq!(
        sleepy.message,
        "The hook was stopped: it ran longer than 2000 ms."
    );

    // Both runtimes were stopped at least once; they still serve.
    for _ in 0..4 {
        let hello = hooks
            .route(get("/hello/again"))
            .await
            .map(written)
            .expect("matched");
        assert_eq!(body_json(&hello), json!({"message": "Hello again"}));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_file_is_left_out_and_the_others_load() {
    let hooks = hooks_with(
        &[
            ("a_broken.pb.js", "routerAdd(\"GET\", \"/a\", (e) => e.string(200, \"a\"))\nthis is not javascript"),
            ("b_throws.pb.js", "routerAdd(\"GET\", \"/b\", (e) => e.string(200, \"b\"))\nthrow new Error(\"b failed\")"),
            ("c_good.pb.js", "routerAdd(\"GET\", \"/c\", (e) => e.string(200, \"c\"))"),
            ("d_bootstrap.pb.js", "onBootstrap((e) => { throw new Error(\"no bootstrap\") })"),
        ],
        CallLimits::default(),
    )
    .await;
    let loaded = hooks.current();
    let failed: Vec<&str> = loaded
        .errors
        .iter()
        .map(|error| error.file.as_str())
        .collect();
    assert_eq!(failed, ["a_broken.pb.js", "b_throws.pb.js"]);
    assert!(
        loaded.errors[0].message.contains("a_broken.pb.js:2"),
        "{}",
        loaded.errors[0].message
    );
    assert!(
        loaded.errors[1].message.contains("b failed"),
        "{}",
        loaded.errors[1].message
    );
    assert!(hooks.route(get("/a")).await.is_none());
    assert!(hooks.route(get("/b")).await.is_none());
    let c = hooks.route(get("/c")).await.map(written).expect("matched");
    assert_eq!(c.body.as_deref(), Some("c"));
    // A throwing onBootstrap is logged; the engine goes on.
    hooks.bootstrap().await.expect("bootstrap ran");
    assert!(hooks
        .route(get("/c"))
        .await
        .map(|answer| matches!(answer, RouteAnswer::Written(_)))
        .expect("matched"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_bundle_swaps_in_whole() {
    let hooks = hooks_with(
        &[(
            "v.pb.js",
            "routerAdd(\"GET\", \"/v\", (e) => e.string(200, \"one\"))",
        )],
        CallLimits::default(),
    )
    .await;
    let first = hooks.current().hash.clone();
    assert_eq!(
        hooks
            .route(get("/v"))
            .await
            .map(written)
            .expect("matched")
            .body
            .as_deref(),
        Some("one")
    );
    hooks
        .load(bundle(&[(
            "v.pb.js",
            "routerAdd(\"GET\", \"/v\", (e) => e.string(200, \"two\"))",
        )]))
        .await
        .expect("reload");
    assert_ne!(hooks.current().hash, first);
    assert_eq!(
        hooks
            .route(get("/v"))
            .await
            .map(written)
            .expect("matched")
            .body
            .as_deref(),
        Some("two")
    );
}

/// A local HTTP server: `/json` answers at once, anything else never answers.
async fn http_server() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut request = vec![0u8; 4096];
                let read = stream.read(&mut request).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&request[..read]).into_owned();
                if head.starts_with("POST /json") {
                    let body = r#"{"ok":true}"#;
                    let answer = format!(
                        "HTTP/1.1 201 Created\r\ncontent-type: application/json\r\nx-custom: seen\r\nset-cookie: session=abc; Path=/\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(answer.as_bytes()).await;
                } else {
                    // Never answer; hold the connection.
                    tokio::time::sleep(Duration::from_secs(600)).await;
                }
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_send_answers_and_is_bounded_in_time() {
    let base = http_server().await;
    let routes = format!(
        r#"
routerAdd("GET", "/fetch", (e) => {{
    const res = $http.send({{ url: "{base}/json", method: "post", body: JSON.stringify({{ a: 1 }}), headers: {{ "content-type": "application/json" }} }})
    return e.json(200, {{ status: res.statusCode, json: res.json, header: res.headers["X-Custom"][0], cookie: res.cookies.session.value, text: toString(res.body) }})
}})
routerAdd("GET", "/timeout", (e) => {{
    try {{
        $http.send({{ url: "{base}/slow", timeout: 1 }})
        return e.string(200, "answered")
    }} catch (err) {{
        return e.json(200, {{ caught: String(err.message || err) }})
    }}
}})
routerAdd("GET", "/slow", (e) => {{
    $http.send({{ url: "{base}/slow" }})
    return e.string(200, "answered")
}})
"#
    );
    let limits = CallLimits {
        wall: Duration::from_secs(3),
        ..CallLimits::default()
    };
    let hooks = hooks_with(&[("http.pb.js", &routes)], limits).await;
    let fetched = hooks
        .route(get("/fetch"))
        .await
        .map(written)
        .expect("matched");
    assert_eq!(
        body_json(&fetched),
        json!({"status": 201, "json": {"ok": true}, "header": "seen", "cookie": "abc", "text": "{\"ok\":true}"})
    );
    let timed_out = hooks
        .route(get("/timeout"))
        .await
        .map(written)
        .expect("matched");
    assert_eq!(
        body_json(&timed_out),
        json!({"caught": "$http.send: no answer within 1 s"})
    );
    let slow = hooks
        .route(get("/slow"))
        .await
        .map(failed)
        .expect("matched");
    assert_eq!(
        slow.message,
        "The hook was stopped: it ran longer than 3000 ms."
    );
    // The engine serves on.
    let again = hooks
        .route(get("/fetch"))
        .await
        .map(written)
        .expect("matched");
    assert_eq!(again.status, 200);
}

/// A default action that "writes" the record it is given (adding an id), or refuses a title
/// of "invalid" as the API would; each record it wrote is kept in `written`.
fn writer(written: std::sync::Arc<std::sync::Mutex<Vec<Value>>>) -> edgebase_hooks::NextFn {
    Box::new(move |record: Value| {
        Box::pin(async move {
            if record["title"]
                .as_str()
                .is_some_and(|title| title.eq_ignore_ascii_case("invalid"))
            {
                return Err(HookFailure {
                    status: 400,
                    message: "Failed to create record.".into(),
                    data: serde_json::from_value(
                        json!({"title": {"code": "validation_invalid", "message": "Invalid."}}),
                    )
                    .expect("data"),
                    cause: None,
                });
            }
            let mut saved = record.clone();
            saved["id"] = json!("saved1234567890");
            written.lock().expect("lock").push(saved.clone());
            Ok(saved)
        })
    })
}

const RECORD_HOOKS: &str = r#"
onRecordCreateRequest((e) => {
    e.record.set("title", e.record.getString("title").toUpperCase())
    e.next()
    e.record.set("afterNext", e.record.id)
}, "posts")
onRecordCreateRequest((e) => {
    try {
        e.next()
    } catch (err) {
        console.log("the write failed: " + err.message)
    }
}, "forgiving")
onRecordCreateRequest((e) => {
    // Never calls e.next() and answers nothing.
}, "stuck")
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_hook_changes_the_record_before_its_write_and_sees_it_after() {
    use edgebase_hooks::RequestHookOutcome;
    let hooks = hooks_with(&[("records.pb.js", RECORD_HOOKS)], CallLimits::default()).await;
    let event = |collection: &str, title: &str| {
        json!({
            "request": get("/api/collections/x/records"),
            "collection": {"id": "c1", "name": collection, "type": "base"},
            "record": {"title": title},
        })
    };
    let written = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    assert!(hooks.handles("onRecordCreateRequest", "posts"));
    assert!(!hooks.handles("onRecordCreateRequest", "other"));

    let outcome = hooks
        .record_request(
            "onRecordCreateRequest",
            "posts",
            event("posts", "hello"),
            writer(written.clone()),
        )
        .await;
    assert!(
        matches!(outcome, RequestHookOutcome::Continued),
        "{outcome:?}"
    );
    assert_eq!(written.lock().expect("lock")[0]["title"], "HELLO");

    // The write's failure reaches the hook; one that catches it still counts as having run
    // the write (the API answers with the write's failure).
    let caught = hooks
        .record_request(
            "onRecordCreateRequest",
            "forgiving",
            event("forgiving", "invalid"),
            writer(written.clone()),
        )
        .await;
    assert!(
        matches!(caught, RequestHookOutcome::Continued),
        "{caught:?}"
    );
    // Uncaught, it is the hook's failure, with the write's envelope.
    let refused = hooks
        .record_request(
            "onRecordCreateRequest",
            "posts",
            event("posts", "invalid"),
            writer(written.clone()),
        )
        .await;
    match refused {
        RequestHookOutcome::Failed(failure) => {
            assert_eq!(
                (failure.status, failure.message.as_str()),
                (400, "Failed to create record.")
            );
            assert_eq!(
                Value::Object(failure.data),
                json!({"title": {"code": "validation_invalid", "message": "Invalid."}})
            );
        }
        other => panic!("expected the write's failure, got {other:?}"),
    }
    let stuck = hooks
        .record_request(
            "onRecordCreateRequest",
            "stuck",
            event("stuck", "x"),
            writer(written.clone()),
        )
        .await;
    assert!(matches!(stuck, RequestHookOutcome::Stopped), "{stuck:?}");
    assert_eq!(
        written.lock().expect("lock").len(),
        1,
        "only the first write happened"
    );
}
