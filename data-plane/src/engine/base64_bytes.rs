//! Key bytes in stored records as base64 strings (`#[serde(with =
//! "base64_bytes")]`). serde_json writes a `Vec<u8>` as an array of
//! numbers, about three and a half times the bytes and slow to parse, which
//! made key records, backups and masked objects mostly digits. Records and
//! masked objects written before still read: an array of numbers is accepted.

use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use serde::{de, Deserializer, Serializer};

pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&B64.encode(bytes))
}

pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    deserializer.deserialize_any(BytesVisitor)
}

struct BytesVisitor;

impl<'de> de::Visitor<'de> for BytesVisitor {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("base64 bytes, or an array of byte values")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Vec<u8>, E> {
        B64.decode(text).map_err(E::custom)
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Vec<u8>, E> {
        Ok(bytes.to_vec())
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
        let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
        while let Some(byte) = seq.next_element::<u8>()? {
            bytes.push(byte);
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Record(#[serde(with = "super")] Vec<u8>);

    #[test]
    fn writes_base64_and_reads_both_forms() {
        let record = Record(vec![0, 1, 254, 255]);
        let json = serde_json::to_string(&record).unwrap();
        assert_eq!(json, "\"AAH+/w==\"");
        assert_eq!(serde_json::from_str::<Record>(&json).unwrap(), record);
        // As records were written before.
        assert_eq!(
            serde_json::from_str::<Record>("[0,1,254,255]").unwrap(),
            record
        );
        assert!(serde_json::from_str::<Record>("\"not base64!\"").is_err());
        // Key material, as the store, backups and masked objects carry it.
        use crate::engine::keys::KeyMaterial;
        let old: KeyMaterial = serde_json::from_str(r#"{"Secret":[1,2,3]}"#).unwrap();
        assert_eq!(old, KeyMaterial::Secret(vec![1, 2, 3]));
        assert_eq!(serde_json::to_string(&old).unwrap(), r#"{"Secret":"AQID"}"#);
        assert!(serde_json::from_str::<Record>("[256]").is_err());
    }
}
