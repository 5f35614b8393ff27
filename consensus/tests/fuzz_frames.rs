//! Fuzzing the peer frame decoder (proptest): whatever bytes a peer sends, decoding a
//! request or an answer never panics and never allocates past the frame bound; messages
//! round-trip exactly; a valid frame bent by one byte, cut short or padded is refused or read
//! as some other well-formed message, never a crash. `PROPTEST_CASES` sets the budget.

use edgebase_consensus::transport::frame::{decode_payload, encode_frame, read_frame};
use edgebase_consensus::transport::{RpcRequest, RpcResponse, MAX_FRAME_BYTES};
use edgebase_storage::{Command, RecordExpect};
use proptest::prelude::*;

fn request() -> impl Strategy<Value = RpcRequest> {
    prop_oneof![
        Just(RpcRequest::ReadIndex),
        Just(RpcRequest::NodeStatus),
        (any::<u64>(), any::<u64>()).prop_map(|(requested_by, target)| {
            RpcRequest::TransferLeader {
                requested_by,
                target,
            }
        }),
        any::<u64>().prop_map(|leader| RpcRequest::StartElection { leader }),
        any::<[u8; 32]>().prop_map(|blob| RpcRequest::BlobHas { blob }),
        (any::<[u8; 32]>(), any::<u64>())
            .prop_map(|(blob, size_bytes)| RpcRequest::BlobPush { blob, size_bytes }),
        (
            "\\PC{0,20}",
            "\\PC{0,20}",
            "\\PC{0,200}",
            any::<Option<u64>>()
        )
            .prop_map(|(collection_id, record_id, doc_json, version)| {
                RpcRequest::ClientWrite(Command::PutRecord {
                    collection_id,
                    record_id,
                    doc_json,
                    expect: match version {
                        None => RecordExpect::Absent,
                        Some(version) => RecordExpect::Version(version),
                    },
                })
            }),
    ]
}

/// What an answer is built from (`RpcResponse` is not `Clone`, which strategies need).
fn response_parts() -> impl Strategy<Value = (u8, u64, Vec<u8>, String)> {
    (
        0u8..6,
        any::<u64>(),
        prop::collection::vec(any::<u8>(), 0..64),
        "\\PC{0,40}",
    )
}

fn response((kind, number, bytes, text): (u8, u64, Vec<u8>, String)) -> RpcResponse {
    match kind {
        0 => RpcResponse::BlobHeld(number % 2 == 0),
        1 => RpcResponse::BlobStored,
        2 => RpcResponse::BlobMissing,
        3 => RpcResponse::BlobFound { size_bytes: number },
        4 => RpcResponse::Relay(bytes),
        _ => RpcResponse::Refused(text),
    }
}

/// The payload of a frame (its length prefix removed).
fn payload(frame: &[u8]) -> &[u8] {
    &frame[4..]
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_payload::<RpcRequest>(&bytes);
        let _ = decode_payload::<RpcResponse>(&bytes);
    }

    #[test]
    fn requests_round_trip(message in request()) {
        let frame = encode_frame(&message).expect("encode");
        let length = u32::from_be_bytes(frame[..4].try_into().expect("4 bytes")) as usize;
        prop_assert_eq!(length, frame.len() - 4);
        let decoded: RpcRequest = decode_payload(payload(&frame)).expect("decode");
        prop_assert_eq!(encode_frame(&decoded).expect("encode again"), frame);
    }

    #[test]
    fn responses_round_trip(parts in response_parts()) {
        let message = response(parts);
        let frame = encode_frame(&message).expect("encode");
        let decoded: RpcResponse = decode_payload(payload(&frame)).expect("decode");
        prop_assert_eq!(encode_frame(&decoded).expect("encode again"), frame);
    }

    #[test]
    fn bent_requests_never_panic(
        message in request(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<prop::sample::Index>(),
        padding in prop::collection::vec(any::<u8>(), 1..8),
    ) {
        let frame = encode_frame(&message).expect("encode");
        let body = payload(&frame);
        let mut bent = body.to_vec();
        if !bent.is_empty() {
            let at = at.index(bent.len());
            bent[at] = byte;
        }
        let _ = decode_payload::<RpcRequest>(&bent);
        let short = &body[..cut.index(body.len() + 1).min(body.len())];
        if short.len() < body.len() {
            prop_assert!(decode_payload::<RpcRequest>(short).is_err(), "a frame cut short decodes");
        }
        let mut padded = body.to_vec();
        padded.extend_from_slice(&padding);
        prop_assert!(decode_payload::<RpcRequest>(&padded).is_err(), "trailing bytes are refused");
    }

    /// A stream of arbitrary bytes read as frames: each read is a payload within the bound,
    /// or an error; never a panic, never a huge allocation.
    #[test]
    fn frame_reader_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        runtime.block_on(async {
            let mut reader = bytes.as_slice();
            while let Ok(payload) = read_frame(&mut reader).await {
                assert!(payload.len() <= MAX_FRAME_BYTES);
            }
        });
    }
}

/// A length prefix past the bound is refused before anything is read or allocated.
#[tokio::test]
async fn an_oversized_length_prefix_is_refused() {
    let mut bytes = (MAX_FRAME_BYTES as u32 + 1).to_be_bytes().to_vec();
    bytes.extend_from_slice(&[0; 16]);
    assert!(read_frame(&mut bytes.as_slice()).await.is_err());
    // A vector length inside the payload far past the bound is refused too.
    // (bincode: the variant index, then the length as a varint, 253 announcing a u64.)
    let relay = encode_frame(&RpcResponse::Relay(Vec::new())).expect("encode");
    let mut huge_vector = vec![payload(&relay)[0], 253];
    huge_vector.extend_from_slice(&(1u64 << 60).to_le_bytes());
    assert!(decode_payload::<RpcResponse>(&huge_vector).is_err());
}
