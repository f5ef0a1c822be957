//! Tests for the pool's wire messages and names.

use super::*;
use crate::provenance::tests::vcs_record;
use crate::signing::NodeKey;

fn request() -> TransferRequest {
    TransferRequest::new(
        ModulePath::parse("example.com/m").unwrap(),
        Version::parse("v1.2.3").unwrap(),
        BlobKind::Zip,
    )
    .unwrap()
}

#[test]
fn transfer_request_round_trips_through_a_frame() {
    let frame = encode_frame(&request()).unwrap();
    let mut prefix = [0u8; FRAME_PREFIX_BYTES];
    prefix.copy_from_slice(&frame[..FRAME_PREFIX_BYTES]);
    let len = frame_len::<TransferRequest>(prefix).unwrap();
    assert_eq!(len, frame.len() - FRAME_PREFIX_BYTES);
    let back: TransferRequest = codec::decode(&frame[FRAME_PREFIX_BYTES..]).unwrap();
    assert_eq!(back, request());
}

#[test]
fn non_canonical_versions_are_refused_in_requests() {
    let module = ModulePath::parse("example.com/m").unwrap();
    let short = Version::parse("v1.2").unwrap();
    assert!(TransferRequest::new(module.clone(), short, BlobKind::Mod).is_err());
    // Also on the wire: encode the same shape with a non-canonical version.
    #[derive(Serialize)]
    struct Raw<'a>(&'a str, &'a str, BlobKind);
    let bytes =
        bincode::serde::encode_to_vec(Raw("example.com/m", "v1.2", BlobKind::Mod), codec::config())
            .unwrap();
    assert!(matches!(
        codec::decode::<TransferRequest>(&bytes),
        Err(CodecError::Decode { .. })
    ));
}

#[test]
fn oversized_frame_prefixes_are_refused_before_reading() {
    let too_long = u32::try_from(TransferHeader::MAX_BYTES + 1).unwrap();
    assert!(matches!(
        frame_len::<TransferHeader>(too_long.to_be_bytes()),
        Err(CodecError::TooLarge { .. })
    ));
    assert!(frame_len::<SyncItem>(u32::MAX.to_be_bytes()).is_err());
}

#[test]
fn a_sync_item_holding_the_largest_record_fits_its_limit() {
    let signed = NodeKey::from_secret_bytes([5; 32])
        .sign(&vcs_record())
        .unwrap();
    let item = SyncItem {
        seq: u64::MAX,
        record: signed,
    };
    let back: SyncItem = codec::decode(&codec::encode(&item).unwrap()).unwrap();
    assert_eq!(back, item);
}

#[test]
fn headers_round_trip_at_their_extremes() {
    let header = TransferHeader {
        status: TransferStatus::Found,
        length: u64::MAX,
    };
    assert_eq!(
        codec::decode::<TransferHeader>(&codec::encode(&header).unwrap()).unwrap(),
        header
    );
    let page = SyncPageHeader {
        items: u32::MAX,
        head_seq: u64::MAX,
    };
    assert_eq!(
        codec::decode::<SyncPageHeader>(&codec::encode(&page).unwrap()).unwrap(),
        page
    );
}

#[test]
fn pool_names_are_checked_and_namespace_everything() {
    let pool = PoolName::parse("acme-corp.eu_1").unwrap();
    assert_eq!(pool.records_topic(), "delos/acme-corp.eu_1/records/v1");
    assert_eq!(pool.transfer_protocol(), "/delos/acme-corp.eu_1/transfer/1");
    assert_eq!(pool.sync_protocol(), "/delos/acme-corp.eu_1/sync/2");
    assert_eq!(pool.sync_protocol_v1(), "/delos/acme-corp.eu_1/sync/1");
    for bad in ["", "Acme", "a/b", "-a", "a b", &"a".repeat(65)] {
        assert!(PoolName::parse(bad).is_err(), "{bad:?}");
    }
    assert_eq!(PoolName::default().as_str(), "public");
}

#[test]
fn blob_kinds_have_protocol_limits() {
    assert_eq!(BlobKind::Zip.max_bytes(), MAX_ZIP_BYTES);
    assert_eq!(BlobKind::Mod.max_bytes(), MAX_GO_MOD_BYTES);
    assert_eq!(BlobKind::Info.extension(), "info");
}

#[test]
fn the_version_2_header_carries_the_feed_id_and_is_not_a_version_1_header() {
    let header = SyncPageHeaderV2 {
        items: 256,
        head_seq: u64::MAX,
        feed_id: FeedId::from_bytes([0xab; 16]),
    };
    let frame = encode_frame(&header).unwrap();
    let body = &frame[FRAME_PREFIX_BYTES..];
    assert!(body.len() <= SyncPageHeaderV2::MAX_BYTES, "{}", body.len());
    assert_eq!(codec::decode::<SyncPageHeaderV2>(body).unwrap(), header);
    // An old node reading it as a version 1 header refuses it rather than misreading it.
    assert!(codec::decode::<SyncPageHeader>(body).is_err());
    assert_eq!(header.feed_id.to_string(), "ab".repeat(16));
}
