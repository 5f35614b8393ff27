//! The raw Raft log: appends, ranges, truncation, purge, metadata, group commit, restart.

use std::sync::mpsc;
use std::time::Duration;

use edgebase_storage::{LogMetaKey, Store};

fn entry(index: u64) -> (u64, Vec<u8>) {
    (index, format!("entry {index}").into_bytes())
}

fn indexes(entries: &[(u64, Vec<u8>)]) -> Vec<u64> {
    entries.iter().map(|(index, _)| *index).collect()
}

#[test]
fn append_read_truncate_purge() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let log = store.log();
    assert_eq!(log.first().expect("first"), None);
    assert_eq!(log.last().expect("last"), None);
    log.append((1..=10).map(entry).collect()).expect("append");
    assert_eq!(indexes(&log.entries(3, 6).expect("read")), [3, 4, 5]);
    assert_eq!(log.entries(3, 6).expect("read")[0], entry(3));
    assert_eq!(
        indexes(&log.entries(8, u64::MAX).expect("read")),
        [8, 9, 10]
    );
    assert!(log.entries(6, 3).expect("read").is_empty());
    assert_eq!(log.first().expect("first"), Some(entry(1)));
    assert_eq!(log.last().expect("last"), Some(entry(10)));

    log.truncate_from(8).expect("truncate");
    assert_eq!(log.last().expect("last"), Some(entry(7)));
    log.purge_through(3, b"purged 3").expect("purge");
    assert_eq!(log.first().expect("first"), Some(entry(4)));
    assert_eq!(
        log.meta(LogMetaKey::LastPurged).expect("meta"),
        Some(b"purged 3".to_vec())
    );
    log.purge_through(u64::MAX, b"all")
        .expect("purge everything");
    assert_eq!(log.first().expect("first"), None);
}

#[test]
fn synced_appends_and_metadata_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = Store::open(dir.path()).expect("open");
        let log = store.log();
        let (done_sender, done_receiver) = mpsc::channel();
        for batch in 0..50u64 {
            log.append(vec![entry(batch * 2 + 1), entry(batch * 2 + 2)])
                .expect("append");
            let sender = done_sender.clone();
            log.sync(Box::new(move |result| {
                let _ = sender.send(result.is_ok());
            }));
        }
        for _ in 0..50 {
            let ok = done_receiver
                .recv_timeout(Duration::from_secs(30))
                .expect("every sync completes within the deadline");
            assert!(ok, "sync failed");
        }
        log.put_meta(LogMetaKey::Vote, b"vote 7").expect("vote");
        log.put_meta_lazy(LogMetaKey::Committed, b"committed 9")
            .expect("committed");
    }
    let store = Store::open(dir.path()).expect("reopen");
    let log = store.log();
    assert_eq!(
        indexes(&log.entries(0, u64::MAX).expect("read")),
        (1..=100).collect::<Vec<_>>()
    );
    assert_eq!(
        log.meta(LogMetaKey::Vote).expect("meta"),
        Some(b"vote 7".to_vec())
    );
    assert_eq!(
        log.meta(LogMetaKey::Committed).expect("meta"),
        Some(b"committed 9".to_vec())
    );
}

#[test]
fn sync_reports_to_every_waiter_from_many_threads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let (sender, receiver) = mpsc::channel();
    let threads: Vec<_> = (0..4u64)
        .map(|thread| {
            let log = store.log();
            let sender = sender.clone();
            std::thread::spawn(move || {
                for i in 0..100u64 {
                    let index = thread * 1000 + i;
                    log.append(vec![entry(index)]).expect("append");
                    let sender = sender.clone();
                    log.sync(Box::new(move |result| {
                        let _ = sender.send((index, result.is_ok()));
                    }));
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("thread");
    }
    let mut done = Vec::new();
    for _ in 0..400 {
        let (index, ok) = receiver
            .recv_timeout(Duration::from_secs(30))
            .expect("every sync completes within the deadline");
        assert!(ok);
        done.push(index);
    }
    done.sort_unstable();
    done.dedup();
    assert_eq!(done.len(), 400);
}

#[test]
fn requests_queued_during_a_sync_share_the_next_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let log = store.log();
    let (release, blocked) = mpsc::channel::<()>();
    let (done_sender, done_receiver) = mpsc::channel();
    let syncs_before = log.wal_syncs();

    // The first request's callback runs on the sync thread and holds it until released;
    // the rest are queued only once it runs, so they cannot join the first group.
    let (running_sender, running) = mpsc::channel::<()>();
    log.append(vec![entry(1)]).expect("append");
    let first_done = done_sender.clone();
    log.sync(Box::new(move |result| {
        let _ = running_sender.send(());
        let _ = blocked.recv_timeout(Duration::from_secs(30));
        let _ = first_done.send(result.is_ok());
    }));
    running
        .recv_timeout(Duration::from_secs(30))
        .expect("the first sync starts within the deadline");
    for index in 2..=101 {
        log.append(vec![entry(index)]).expect("append");
        let sender = done_sender.clone();
        log.sync(Box::new(move |result| {
            let _ = sender.send(result.is_ok());
        }));
    }
    release.send(()).expect("release the sync thread");
    for _ in 0..101 {
        let ok = done_receiver
            .recv_timeout(Duration::from_secs(30))
            .expect("every sync completes within the deadline");
        assert!(ok, "sync failed");
    }
    assert_eq!(
        log.wal_syncs() - syncs_before,
        2,
        "100 requests queued behind one sync share a single fsync"
    );
}
