//! The cluster backup envelope (format version 2; version 1 still opens), written to Blob Storage by
//! the control plane and read back by a restore.
//!
//! A backup is generic: it carries every logical record of the cluster's
//! store (meta, users, keys, and whatever records other features add),
//! decrypted from the source nodes' master keys, so state the backup code
//! does not know about is carried all the same. A restore seals each record
//! again under the target cluster's own master keys.
//!
//! Layout (all integers big-endian):
//!
//! ```text
//! magic "CHSMBKUP" (8) ‖ version u16 (= 2) ‖ header length u32 ‖ header JSON
//! ‖ nonce (12) ‖ AES-256-GCM(payload) ‖ tag (16)
//! ```
//!
//! - The header (`BackupHeader`) names the backup, its source and time, a
//!   random salt and the *ephemeral backup key* (EBK, 32 random bytes per
//!   backup) wrapped with AES-256-GCM under the *key-encryption key*
//!   `KEK = HKDF-SHA256(emulator backup key, salt, "cloudhsm-emulator backup v1 kek")`.
//!   The emulator backup key (`backup.key` in the data-plane directory)
//!   stands in for the HSM vendor's key: only an emulator holding it can
//!   open the backup (as a real backup opens only on the vendor's HSMs).
//! - The payload is sealed under `HKDF(EBK, "payload")` with everything
//!   before the nonce as associated data, so a changed header, a truncated
//!   body or a single flipped bit fails the integrity check.
//! - Inside, each value the nodes hold in common is sealed once: `name count u32 ‖
//!   (name length u32 ‖ name)* ‖ value length u32 ‖ nonce ‖
//!   AES-256-GCM(value) ‖ tag` under the cluster key `HKDF(EBK, "records")`
//!   with the names (joined by NUL) as associated data: key material stays
//!   encrypted even once the envelope is opened, until it is sealed again
//!   under the target's master keys. Every HSM node stores its own copy of
//!   each user and key, so storing a value once for all the records holding
//!   it cuts a backup to about a third (version 1 sealed each record
//!   separately: `name length u32 ‖ name ‖ value length u32 ‖ sealed value`).

use std::path::Path;

use aws_lc_rs::{
    aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN},
    hkdf::{Salt, HKDF_SHA256},
    rand::{SecureRandom, SystemRandom},
};
use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use serde::{Deserialize, Serialize};

use super::{
    error::EngineError,
    length_prefixed::{put_bytes, put_u32, Reader, Truncated},
};

pub const MAGIC: &[u8; 8] = b"CHSMBKUP";
pub const VERSION: u16 = 2;
/// The first version, one sealed value per record; still opened.
const VERSION_1: u16 = 1;
const TAG_LEN: usize = 16;
const KEK_INFO: &[u8] = b"cloudhsm-emulator backup v1 kek";

/// One logical record of a cluster's store: its name and plaintext value.
pub type RecordEntry = (String, Vec<u8>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackupError {
    /// Truncated, tampered with, or sealed under another backup key.
    #[error("backup integrity check failed: {0}")]
    Integrity(String),
    #[error("backup format not supported: {0}")]
    Unsupported(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// What the envelope says about itself, readable before it is opened.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct BackupHeader {
    pub backup_id: String,
    pub source_cluster: String,
    pub created_at: String,
    pub records: usize,
    salt: String,
    wrapped_key: String,
}

/// Loads the emulator-wide backup key from `dir/backup.key`, creating it on
/// first use.
pub fn load_or_create_key(dir: &Path) -> Result<[u8; 32], EngineError> {
    let path = dir.join("backup.key");
    match std::fs::read(&path) {
        Ok(bytes) => bytes
            .try_into()
            .map_err(|_| EngineError::Storage(format!("{} is not a 32-byte key", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).map_err(|e| EngineError::Storage(e.to_string()))?;
            let key: [u8; 32] = random()?;
            super::store::write_private(&path, &key)?;
            Ok(key)
        }
        Err(e) => Err(EngineError::Storage(e.to_string())),
    }
}

fn random<const N: usize>() -> Result<[u8; N], EngineError> {
    let mut out = [0u8; N];
    SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| EngineError::Crypto("random".into()))?;
    Ok(out)
}

struct Len(usize);
impl aws_lc_rs::hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

fn derive(ikm: &[u8], salt: &[u8], info: &[u8]) -> Result<LessSafeKey, EngineError> {
    let mut out = [0u8; 32];
    Salt::new(HKDF_SHA256, salt)
        .extract(ikm)
        .expand(&[info], Len(32))
        .and_then(|okm| okm.fill(&mut out))
        .map_err(|_| EngineError::Crypto("HKDF".into()))?;
    UnboundKey::new(&AES_256_GCM, &out)
        .map(LessSafeKey::new)
        .map_err(|_| EngineError::Crypto("AES-256-GCM key".into()))
}

/// `nonce ‖ ciphertext ‖ tag`, appended to `out`.
fn seal_into(
    key: &LessSafeKey,
    aad: &[u8],
    plain: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), EngineError> {
    let nonce: [u8; NONCE_LEN] = random()?;
    out.extend_from_slice(&nonce);
    let start = out.len();
    out.extend_from_slice(plain);
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut out[start..],
        )
        .map_err(|_| EngineError::Crypto("sealing a backup".into()))?;
    out.extend_from_slice(tag.as_ref());
    Ok(())
}

fn open_sealed(
    key: &LessSafeKey,
    aad: &[u8],
    sealed: &[u8],
    what: &str,
) -> Result<Vec<u8>, BackupError> {
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return Err(BackupError::Integrity(format!("{what} is truncated")));
    }
    let nonce = Nonce::try_assume_unique_for_key(&sealed[..NONCE_LEN])
        .map_err(|_| BackupError::Integrity(format!("{what} has a bad nonce")))?;
    let mut body = sealed[NONCE_LEN..].to_vec();
    let plain = key
        .open_in_place(nonce, Aad::from(aad), &mut body)
        .map_err(|_| {
            BackupError::Integrity(format!(
                "{what} does not authenticate (truncated, altered, or made by another emulator's backup key)"
            ))
        })?;
    Ok(plain.to_vec())
}

fn ebk_aad(backup_id: &str) -> Vec<u8> {
    [b"ebk:".as_slice(), backup_id.as_bytes()].concat()
}

/// Seals `records` into an envelope of the current version.
pub fn seal(
    backup_key: &[u8; 32],
    backup_id: &str,
    source_cluster: &str,
    created_at: &str,
    records: &[RecordEntry],
) -> Result<Vec<u8>, EngineError> {
    seal_version(
        VERSION,
        backup_key,
        backup_id,
        source_cluster,
        created_at,
        records,
    )
}

/// Version 1: every record sealed on its own.
fn records_v1(key: &LessSafeKey, records: &[RecordEntry]) -> Result<Vec<u8>, EngineError> {
    let size: usize = records
        .iter()
        .map(|(n, v)| 8 + n.len() + v.len() + NONCE_LEN + TAG_LEN)
        .sum();
    let mut payload = Vec::with_capacity(4 + size);
    put_u32(&mut payload, records.len());
    for (name, value) in records {
        put_bytes(&mut payload, name.as_bytes());
        put_u32(&mut payload, value.len() + NONCE_LEN + TAG_LEN);
        seal_into(key, name.as_bytes(), value, &mut payload)?;
    }
    Ok(payload)
}

/// Version 2: a value the nodes hold in common sealed once with the names
/// holding it. Copies are found by name (`node/{n}/key/7` on every node),
/// then compared: hashing every value cost more than sealing it.
fn records_v2(key: &LessSafeKey, records: &[RecordEntry]) -> Result<Vec<u8>, EngineError> {
    let mut groups: Vec<(Vec<(usize, &str)>, &[u8])> = Vec::new();
    let mut by_name: std::collections::HashMap<&str, Vec<usize>> = std::collections::HashMap::new();
    for (at, (name, value)) in records.iter().enumerate() {
        let candidates = by_name.entry(without_node(name)).or_default();
        match candidates
            .iter()
            .find(|&&i| groups[i].1 == value.as_slice())
        {
            Some(&i) => groups[i].0.push((at, name.as_str())),
            None => {
                candidates.push(groups.len());
                groups.push((vec![(at, name.as_str())], value));
            }
        }
    }
    let size: usize = groups
        .iter()
        .map(|(names, v)| {
            8 + names.iter().map(|(_, n)| 8 + n.len()).sum::<usize>()
                + v.len()
                + NONCE_LEN
                + TAG_LEN
        })
        .sum();
    let mut payload = Vec::with_capacity(4 + size);
    put_u32(&mut payload, groups.len());
    for (names, value) in &groups {
        put_u32(&mut payload, names.len());
        for (at, name) in names {
            put_u32(&mut payload, *at);
            put_bytes(&mut payload, name.as_bytes());
        }
        put_u32(&mut payload, value.len() + NONCE_LEN + TAG_LEN);
        let names: Vec<&str> = names.iter().map(|(_, n)| *n).collect();
        seal_into(key, &names_aad(&names), value, &mut payload)?;
    }
    Ok(payload)
}

/// A record's name without its node (`node/2/key/7` → `key/7`).
fn without_node(name: &str) -> &str {
    name.strip_prefix("node/")
        .and_then(|rest| rest.split_once('/'))
        .map_or(name, |(_, rest)| rest)
}

/// The associated data of a version-2 value: the names holding it, so a
/// value cannot be moved to other records.
fn names_aad<S: AsRef<str>>(names: &[S]) -> Vec<u8> {
    names
        .iter()
        .map(|n| n.as_ref().as_bytes())
        .collect::<Vec<_>>()
        .join(&0u8)
}

fn seal_version(
    version: u16,
    backup_key: &[u8; 32],
    backup_id: &str,
    source_cluster: &str,
    created_at: &str,
    records: &[RecordEntry],
) -> Result<Vec<u8>, EngineError> {
    let salt: [u8; 32] = random()?;
    let ebk: [u8; 32] = random()?;
    let kek = derive(backup_key, &salt, KEK_INFO)?;
    let mut wrapped = Vec::new();
    seal_into(&kek, &ebk_aad(backup_id), &ebk, &mut wrapped)?;
    let header = BackupHeader {
        backup_id: backup_id.into(),
        source_cluster: source_cluster.into(),
        created_at: created_at.into(),
        records: records.len(),
        salt: B64.encode(salt),
        wrapped_key: B64.encode(&wrapped),
    };
    let header_json =
        serde_json::to_vec(&header).map_err(|e| EngineError::Storage(e.to_string()))?;

    let record_key = derive(&ebk, &[], b"records")?;
    let payload = if version == VERSION_1 {
        records_v1(&record_key, records)?
    } else {
        records_v2(&record_key, records)?
    };

    let mut out = Vec::with_capacity(payload.len() + header_json.len() + 64);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(&(header_json.len() as u32).to_be_bytes());
    out.extend_from_slice(&header_json);
    let aad = out.clone();
    seal_into(&derive(&ebk, &[], b"payload")?, &aad, &payload, &mut out)?;
    Ok(out)
}

/// Reads the header without opening the envelope (no key needed).
pub fn read_header(bytes: &[u8]) -> Result<(BackupHeader, usize), BackupError> {
    if bytes.len() < 14 || &bytes[..8] != MAGIC {
        return Err(BackupError::Integrity(
            "the blob is not a Cloud HSM emulator backup".into(),
        ));
    }
    let version = u16::from_be_bytes([bytes[8], bytes[9]]);
    if !(VERSION_1..=VERSION).contains(&version) {
        return Err(BackupError::Unsupported(format!(
            "version {version} (this emulator reads versions {VERSION_1} to {VERSION})"
        )));
    }
    let len = u32::from_be_bytes([bytes[10], bytes[11], bytes[12], bytes[13]]) as usize;
    let end = 14usize
        .checked_add(len)
        .filter(|end| *end <= bytes.len())
        .ok_or_else(|| BackupError::Integrity("the header is truncated".into()))?;
    let header = serde_json::from_slice(&bytes[14..end])
        .map_err(|_| BackupError::Integrity("the header is malformed".into()))?;
    Ok((header, end))
}

/// Opens an envelope: checks its integrity and returns its header and the
/// records, decrypted.
pub fn open(
    backup_key: &[u8; 32],
    bytes: &[u8],
) -> Result<(BackupHeader, Vec<RecordEntry>), BackupError> {
    let (header, body_at) = read_header(bytes)?;
    let malformed =
        |what: &str| BackupError::Integrity(format!("the header's {what} is malformed"));
    let salt = B64.decode(&header.salt).map_err(|_| malformed("salt"))?;
    let wrapped = B64
        .decode(&header.wrapped_key)
        .map_err(|_| malformed("wrapped key"))?;
    let kek = derive(backup_key, &salt, KEK_INFO)?;
    let ebk = open_sealed(
        &kek,
        &ebk_aad(&header.backup_id),
        &wrapped,
        "the backup key",
    )?;
    let payload = open_sealed(
        &derive(&ebk, &[], b"payload")?,
        &bytes[..body_at],
        &bytes[body_at..],
        "the backup",
    )?;
    let record_key = derive(&ebk, &[], b"records")?;
    let mut reader = Reader::new(&payload);
    let count = reader.u32()? as usize;
    // Every count comes from inside the authenticated payload; capacities
    // are still bounded by the payload's size, not trusted.
    let total = header.records;
    if total > payload.len() / 8 {
        return Err(BackupError::Integrity(
            "the record count does not match".into(),
        ));
    }
    // Records come back in the order they were sealed (version 2 stores
    // each name's position, as it groups them by value).
    let mut slots: Vec<Option<RecordEntry>> = vec![None; total];
    let mut next = 0usize;
    let version = u16::from_be_bytes([bytes[8], bytes[9]]);
    for _ in 0..count {
        let names = if version == VERSION_1 {
            1
        } else {
            reader.u32()? as usize
        };
        let mut group = Vec::with_capacity(names.min(reader.remaining() / 4));
        let mut positions = Vec::with_capacity(group.capacity());
        for _ in 0..names {
            positions.push(if version == VERSION_1 {
                next
            } else {
                reader.u32()? as usize
            });
            next += 1;
            group.push(
                String::from_utf8(reader.bytes()?.to_vec())
                    .map_err(|_| BackupError::Integrity("a record name is not UTF-8".into()))?,
            );
        }
        let sealed = reader.bytes()?;
        let aad = if version == VERSION_1 {
            group
                .first()
                .map(|n| n.as_bytes().to_vec())
                .unwrap_or_default()
        } else {
            names_aad(&group)
        };
        let value = open_sealed(&record_key, &aad, sealed, "a record")?;
        for (at, name) in positions.into_iter().zip(group) {
            match slots.get_mut(at) {
                Some(slot @ None) => *slot = Some((name, value.clone())),
                _ => {
                    return Err(BackupError::Integrity(
                        "a record position is out of range or repeated".into(),
                    ))
                }
            }
        }
    }
    let records: Vec<RecordEntry> = slots.into_iter().flatten().collect();
    if records.len() != total {
        return Err(BackupError::Integrity(
            "the record count does not match".into(),
        ));
    }
    if reader.remaining() != 0 {
        return Err(BackupError::Integrity(
            "trailing bytes after the records".into(),
        ));
    }
    Ok((header, records))
}

impl From<Truncated> for BackupError {
    fn from(_: Truncated) -> Self {
        BackupError::Integrity("a record is truncated".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<RecordEntry> {
        vec![
            ("meta".into(), b"{\"activated\":true}".to_vec()),
            ("node/0/key/1".into(), vec![7u8; 300]),
        ]
    }

    #[test]
    fn version_1_backups_still_open() {
        let key = [3u8; 32];
        let blob = seal_version(VERSION_1, &key, "b1", "c1", "t", &sample()).unwrap();
        assert_eq!(&blob[8..10], &VERSION_1.to_be_bytes());
        let (_, records) = open(&key, &blob).unwrap();
        assert_eq!(records, sample());
    }

    #[test]
    fn identical_node_copies_are_stored_once() {
        let key = [3u8; 32];
        let material = vec![9u8; 4000];
        // Interleaved, so grouping the copies must not reorder the records.
        let copies: Vec<RecordEntry> = vec![
            ("node/0/key/1".into(), material.clone()),
            ("meta".into(), b"{}".to_vec()),
            ("node/1/key/1".into(), material.clone()),
            ("node/2/key/1".into(), material.clone()),
            // A node whose copy differs keeps its own.
            ("node/3/key/1".into(), vec![8u8; 4000]),
        ];
        let blob = seal(&key, "b1", "c1", "t", &copies).unwrap();
        assert!(blob.len() < 2 * 4000 + 1000, "{} bytes", blob.len());
        let (header, records) = open(&key, &blob).unwrap();
        assert_eq!(header.records, 5);
        assert_eq!(records, copies);
    }

    #[test]
    fn round_trip() {
        let key = [3u8; 32];
        let blob = seal(&key, "b1", "c1", "2026-01-01T00:00:00Z", &sample()).unwrap();
        let (header, records) = open(&key, &blob).unwrap();
        assert_eq!(header.backup_id, "b1");
        assert_eq!(records, sample());
    }

    #[test]
    fn truncated_tampered_and_foreign_fail_integrity() {
        let key = [3u8; 32];
        let blob = seal(&key, "b1", "c1", "t", &sample()).unwrap();
        let truncated = &blob[..blob.len() - 10];
        assert!(matches!(
            open(&key, truncated),
            Err(BackupError::Integrity(_))
        ));
        let mut tampered = blob.clone();
        let at = tampered.len() / 2 + 20;
        tampered[at] ^= 1;
        assert!(matches!(
            open(&key, &tampered),
            Err(BackupError::Integrity(_))
        ));
        assert!(matches!(
            open(&[4u8; 32], &blob),
            Err(BackupError::Integrity(_))
        ));
        assert!(matches!(
            open(&key, b"not a backup at all"),
            Err(BackupError::Integrity(_))
        ));
        // The header is authenticated too.
        let mut edited = blob.clone();
        let pos = edited.windows(4).position(|w| w == b"\"c1\"").unwrap();
        edited[pos + 2] = b'2';
        assert!(matches!(
            open(&key, &edited),
            Err(BackupError::Integrity(_))
        ));
    }
}
