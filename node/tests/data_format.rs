//! A data dir stamped by a newer binary is refused before anything in it is touched: `serve`
//! exits with an error that says so, and the stamp stays as it was.

use std::process::Command;

use edgebase_storage::{Store, DATA_FORMAT};

#[test]
fn serve_refuses_a_data_dir_of_a_newer_format() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db_dir = dir.path().join("db");
    {
        let store = Store::open(&db_dir).expect("open a new store");
        assert_eq!(store.data_format().expect("format"), DATA_FORMAT);
        store.stamp_format(DATA_FORMAT + 1).expect("stamp");
    }
    let output = Command::new(env!("CARGO_BIN_EXE_edgebase"))
        .args(["serve", "--dir"])
        .arg(dir.path())
        .args(["--http", "127.0.0.1:0", "--raft", "127.0.0.1:0"])
        .output()
        .expect("run edgebase serve");
    assert!(
        !output.status.success(),
        "serve started on a newer data dir"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("written by a newer EdgeBase"),
        "serve's error does not say why: {stderr}"
    );
    let store = Store::open(&db_dir);
    assert!(store.is_err(), "the newer stamp was changed");
}
