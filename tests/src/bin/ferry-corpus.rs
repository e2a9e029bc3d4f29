//! Writes the committed fuzz corpus (`fuzz/corpus/<target>/`): every hostile input of
//! issue 10 plus valid inputs for each target. Deterministic (fixed ids, actors and times),
//! so rerunning it changes nothing unless the builders change:
//!
//! ```text
//! cargo run -p ferry-tests --bin ferry-corpus
//! ```

use std::path::{Path, PathBuf};

use ferry_tests::hostile;
use sync_core::doc::{Author, RecordDoc, encode_change};
use sync_core::model::{Fields, Kind, Record, Value};
use sync_core::protocol::{self, Encoding};
use uuid::Uuid;

const ACTOR: [u8; 16] = [0x42; 16];
const DEVICE: Uuid = Uuid::from_u128(0x0198_0e3c_0000_7000_8000_0000_0000_0001);

fn id(n: u128) -> Uuid {
    Uuid::from_u128(0x0198_0e3c_7a6b_7cc2_9d2e_0000_0000_0000 | n)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(name), bytes)?;
    println!("{} ({} bytes)", dir.join(name).display(), bytes.len());
    Ok(())
}

/// A valid record of each kind, created as one change.
fn valid(kind: Kind, n: u128) -> (Uuid, Vec<u8>, Vec<u8>) {
    let mut fields = Fields::new();
    let text = |s: &str| Value::Text(s.into());
    match kind {
        Kind::Citizen => {
            fields.insert("full_name".into(), text("Nguyễn Thị Ánh"));
            fields.insert("date_of_birth".into(), text("1985-03-02"));
            fields.insert("sex".into(), text("female"));
            fields.insert("status".into(), text("active"));
        }
        Kind::Household => {
            fields.insert("address".into(), text("Tổ 3, khu 5"));
            fields.insert("status".into(), text("active"));
        }
        Kind::CccdApplication => {
            fields.insert("full_name".into(), text("Đỗ Thị Hoa"));
            fields.insert("request_type".into(), text("first_issue"));
            fields.insert("status".into(), text("submitted"));
        }
        Kind::ResidenceDeclaration => {
            fields.insert("procedure".into(), text("stay_notice"));
            fields.insert("status".into(), text("draft"));
        }
    }
    let record = Record {
        id: id(n),
        kind,
        unit: hostile::UNIT.into(),
        fields,
    };
    let (doc, mut change) =
        RecordDoc::create(&record, &Author::new(&ACTOR, 1_767_225_600_000)).expect("create");
    (record.id, encode_change(&mut change), doc.save())
}

/// An attack: file name, kind selector, record id, kind name, change, and whether the push
/// corpus gets it too (the request corpus always does).
type Case<'a> = (&'a str, u8, Uuid, &'a str, &'a Vec<u8>, bool);

fn selector(kind: Kind) -> u8 {
    Kind::ALL.iter().position(|k| *k == kind).unwrap_or(0) as u8
}

fn main() -> anyhow::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let (request, document, push) = (
        root.join("request"),
        root.join("document"),
        root.join("push"),
    );

    // Valid inputs of each kind.
    for (n, kind) in Kind::ALL.into_iter().enumerate() {
        let (rid, change, saved) = valid(kind, n as u128 + 1);
        let mut input = vec![selector(kind)];
        input.extend(&change);
        write(&push, &format!("valid-{kind}"), &input)?;
        write(&document, &format!("valid-{kind}"), &saved)?;
        let body = hostile::push_request(DEVICE, rid, kind.as_str(), vec![change]);
        for (enc, sel) in [
            (Encoding::Identity, 0u8),
            (Encoding::Gzip, 1),
            (Encoding::Zstd, 2),
        ] {
            let mut input = vec![sel];
            input.extend(protocol::compress(&body, enc));
            write(
                &request,
                &format!("valid-{kind}-{}", enc.header().unwrap_or("identity")),
                &input,
            )?;
        }
    }

    // The attacks. Names start with `attack-`: the replay test checks each is refused.
    let household = selector(Kind::Household);
    let citizen = selector(Kind::Citizen);
    let deep = hostile::deep_household(id(100), &ACTOR, 300);
    let bomb = hostile::op_bomb(id(101), &ACTOR, 3_000_000);
    let bomb_raw = hostile::uncompressed(&bomb);
    let huge_notes = hostile::long_notes(id(102), &ACTOR, 40 << 20);
    let long_notes = hostile::uncompressed(&hostile::long_notes(
        id(103),
        &ACTOR,
        sync_core::model::NOTES_MAX_CHARS + 1,
    ));
    // The raw 3 M-operation change is 3 MB: the push corpus holds one of 20 000 operations
    // (over the per-change limit too); the request corpus holds the 3 M one zstd-compressed,
    // as it travels (≈ 500 bytes).
    let small_bomb = hostile::uncompressed(&hostile::op_bomb(id(104), &ACTOR, 20_000));
    let mut input = vec![citizen];
    input.extend(&small_bomb);
    write(&push, "attack-op-bomb-20k", &input)?;
    let cases: [Case<'_>; 5] = [
        (
            "attack-nested-300-maps",
            household,
            id(100),
            "household",
            &deep,
            true,
        ),
        (
            "attack-op-bomb-3m-deflated",
            citizen,
            id(101),
            "citizen",
            &bomb,
            true,
        ),
        (
            "attack-op-bomb-3m",
            citizen,
            id(101),
            "citizen",
            &bomb_raw,
            false,
        ),
        (
            "attack-notes-40mib-deflated",
            citizen,
            id(102),
            "citizen",
            &huge_notes,
            true,
        ),
        (
            "attack-notes-over-limit",
            citizen,
            id(103),
            "citizen",
            &long_notes,
            true,
        ),
    ];
    for (name, sel, rid, kind, change, in_push) in cases {
        if in_push {
            let mut input = vec![sel];
            input.extend(change.iter());
            write(&push, name, &input)?;
        }
        let mut body = vec![2u8];
        body.extend(hostile::push_body(DEVICE, rid, kind, vec![change.clone()]));
        write(&request, name, &body)?;
    }
    // A multi-member gzip body (read whole since issue 10).
    let (rid, change, _) = valid(Kind::Citizen, 1);
    let plain = hostile::push_request(DEVICE, rid, "citizen", vec![change]);
    let (head, tail) = plain.split_at(plain.len() / 2);
    let mut input = vec![1u8];
    input.extend(protocol::compress(head, Encoding::Gzip));
    input.extend(protocol::compress(tail, Encoding::Gzip));
    write(&request, "multi-member-gzip", &input)?;
    // A document nesting 300 maps, as a hostile server could send in a snapshot.
    let mut nested = RecordDoc::empty();
    nested.apply_changes(vec![sync_core::doc::decode_change(&deep)?])?;
    write(&document, "attack-nested-300-maps", &nested.save())?;
    Ok(())
}
