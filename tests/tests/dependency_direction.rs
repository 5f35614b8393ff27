//! The crates' layers, checked on `cargo metadata`: dependencies run one way
//! (`node -> api -> service -> {auth, model, consensus}`, `consensus -> storage`), the
//! model knows no runtime, HTTP or storage, and only the api crate knows axum.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

/// Crates of the product whose dependencies are checked; the test and bench tooling
/// (`edgebase-tests`, `edgebase-bench`) may use anything.
const PRODUCT_CRATES: &[&str] = &[
    "edgebase-node",
    "edgebase-api",
    "edgebase-service",
    "edgebase-realtime",
    "edgebase-hooks",
    "edgebase-messaging",
    "edgebase-auth",
    "edgebase-model",
    "edgebase-consensus",
    "edgebase-storage",
    "edgebase-syntax",
    "edgebase-blobs",
    "edgebase-bucket",
    "edgebase-client",
    "edgebase-wire",
];

/// `(crate, dependency it must not reach, even transitively, through normal dependencies)`.
const FORBIDDEN_TRANSITIVE: &[(&str, &[&str])] = &[
    (
        "edgebase-model",
        &[
            "tokio",
            "axum",
            "hyper",
            "rocksdb",
            "edgebase-storage",
            "edgebase-consensus",
            "edgebase-auth",
            "edgebase-service",
            "edgebase-api",
        ],
    ),
    ("edgebase-syntax", &["tokio", "serde", "rocksdb", "axum"]),
    (
        "edgebase-blobs",
        &[
            "axum",
            "hyper",
            "quinn",
            "rocksdb",
            "edgebase-storage",
            "edgebase-consensus",
            "edgebase-model",
            "edgebase-service",
            "edgebase-api",
        ],
    ),
    // An S3 client (HTTP underneath, through object_store), and nothing of the node's.
    (
        "edgebase-bucket",
        &[
            "axum",
            "rocksdb",
            "edgebase-storage",
            "edgebase-consensus",
            "edgebase-model",
            "edgebase-service",
            "edgebase-api",
        ],
    ),
    ("edgebase-wire", &["tokio", "reqwest", "rocksdb", "axum"]),
    (
        "edgebase-auth",
        &[
            "axum",
            "rocksdb",
            "edgebase-storage",
            "edgebase-consensus",
            "edgebase-service",
            "edgebase-api",
        ],
    ),
    (
        "edgebase-service",
        &["axum", "edgebase-api", "edgebase-client"],
    ),
    // Hooks speak no HTTP either: the api crate hands them requests and writes their answers.
    (
        "edgebase-hooks",
        &["axum", "edgebase-api", "edgebase-client"],
    ),
    // Messaging serves no HTTP (it calls providers as a client): the api crate serves it.
    (
        "edgebase-messaging",
        &["axum", "edgebase-api", "edgebase-client", "edgebase-hooks"],
    ),
    // Realtime speaks no HTTP: the api crate streams its messages.
    (
        "edgebase-realtime",
        &["axum", "edgebase-api", "edgebase-client"],
    ),
    (
        "edgebase-consensus",
        &[
            "axum",
            "edgebase-model",
            "edgebase-service",
            "edgebase-api",
            "edgebase-auth",
        ],
    ),
    (
        "edgebase-storage",
        &[
            "tokio",
            "quinn",
            "openraft",
            "axum",
            "hyper",
            "edgebase-consensus",
        ],
    ),
    // Not quinn transitively: the workspace-wide graph unifies reqwest's features, and with
    // them its optional HTTP/3 dependency on quinn; the SDK's direct dependencies are checked
    // in `only_the_api_crate_depends_on_axum`.
    (
        "edgebase-client",
        &[
            "rocksdb",
            "openraft",
            "edgebase-storage",
            "edgebase-consensus",
        ],
    ),
];

/// The only product crate that may name axum as a direct dependency.
const AXUM_OWNER: &str = "edgebase-api";

/// The host's target triple, as `rustc -vV` says it.
fn host_triple() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let output = Command::new(rustc)
        .arg("-vV")
        .output()
        .expect("run rustc -vV");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .expect("rustc -vV names the host")
        .trim()
        .to_string()
}

struct Graph {
    /// Package name -> names of its normal (not dev, not build) dependencies.
    normal_deps: BTreeMap<String, BTreeSet<String>>,
}

impl Graph {
    fn load() -> Graph {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        // The host's graph only: what is built here, and all that a fresh machine has
        // downloaded (other platforms' crates are never fetched, and this runs offline).
        let host = host_triple();
        let output = Command::new(cargo)
            .args([
                "metadata",
                "--format-version",
                "1",
                "--offline",
                "--filter-platform",
            ])
            .arg(&host)
            .current_dir(edgebase_tests::package_dir())
            .output()
            .expect("run cargo metadata");
        assert!(
            output.status.success(),
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let metadata: Value = serde_json::from_slice(&output.stdout).expect("metadata is JSON");
        let names: BTreeMap<&str, &str> = metadata["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .map(|package| {
                (
                    package["id"].as_str().expect("package id"),
                    package["name"].as_str().expect("package name"),
                )
            })
            .collect();
        let mut normal_deps = BTreeMap::new();
        for node in metadata["resolve"]["nodes"].as_array().expect("resolve") {
            let name = names[node["id"].as_str().expect("node id")];
            let deps: BTreeSet<String> = node["deps"]
                .as_array()
                .expect("deps")
                .iter()
                .filter(|dep| {
                    dep["dep_kinds"]
                        .as_array()
                        .expect("dep_kinds")
                        .iter()
                        .any(|kind| kind["kind"].is_null())
                })
                .map(|dep| names[dep["pkg"].as_str().expect("dep pkg")].to_string())
                .collect();
            normal_deps
                .entry(name.to_string())
                .or_insert_with(BTreeSet::new)
                .extend(deps);
        }
        Graph { normal_deps }
    }

    fn direct(&self, name: &str) -> &BTreeSet<String> {
        self.normal_deps
            .get(name)
            .unwrap_or_else(|| panic!("{name} is not in the workspace's dependency graph"))
    }

    /// Every crate `name` reaches through normal dependencies, with one path to each.
    fn reachable(&self, name: &str) -> BTreeMap<String, Vec<String>> {
        let mut paths: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut queue = vec![vec![name.to_string()]];
        while let Some(path) = queue.pop() {
            let last = path.last().expect("paths are never empty").clone();
            for dep in self.normal_deps.get(&last).into_iter().flatten() {
                if paths.contains_key(dep) {
                    continue;
                }
                let mut next = path.clone();
                next.push(dep.clone());
                paths.insert(dep.clone(), next.clone());
                queue.push(next);
            }
        }
        paths
    }
}

#[test]
fn layers_point_one_way() {
    let graph = Graph::load();
    let mut problems = Vec::new();
    for (krate, forbidden) in FORBIDDEN_TRANSITIVE {
        let reachable = graph.reachable(krate);
        for dep in *forbidden {
            if let Some(path) = reachable.get(*dep) {
                problems.push(format!("{krate} reaches {dep}: {}", path.join(" -> ")));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "layering broken:\n{}",
        problems.join("\n")
    );
}

#[test]
fn only_the_api_crate_depends_on_axum() {
    let graph = Graph::load();
    let owners: Vec<&str> = PRODUCT_CRATES
        .iter()
        .copied()
        .filter(|krate| graph.direct(krate).contains("axum"))
        .collect();
    assert_eq!(owners, [AXUM_OWNER], "crates that depend on axum directly");
    let client = graph.direct("edgebase-client");
    for peer_only in ["quinn", "openraft", "rocksdb"] {
        assert!(
            !client.contains(peer_only),
            "the SDK depends on {peer_only} directly"
        );
    }
}

/// The check above is only as good as the graph it reads: the api crate must be seen to
/// reach axum, and the node to reach the api.
#[test]
fn the_graph_is_read_correctly() {
    let graph = Graph::load();
    assert!(graph.direct("edgebase-api").contains("axum"));
    assert!(graph
        .reachable("edgebase-node")
        .contains_key("edgebase-api"));
    assert!(graph.reachable("edgebase-node").contains_key("rocksdb"));
    assert!(!graph.direct("edgebase-model").contains("edgebase-service"));
}
