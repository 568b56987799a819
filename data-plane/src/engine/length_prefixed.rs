//! Length-prefixed byte runs (`length u32 big-endian ‖ bytes`), the framing
//! of the backup envelope's records and of the store's snapshot chunks.

/// Appends `n` as a big-endian u32.
pub fn put_u32(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&(n as u32).to_be_bytes());
}

/// Appends `bytes` with its length in front.
pub fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_u32(out, bytes.len());
    out.extend_from_slice(bytes);
}

/// The input ended inside a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Truncated;

/// Reads what [`put_u32`] and [`put_bytes`] wrote.
pub struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self(bytes)
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Truncated> {
        if self.0.len() < n {
            return Err(Truncated);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    pub fn u32(&mut self) -> Result<u32, Truncated> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn bytes(&mut self) -> Result<&'a [u8], Truncated> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_was_written_and_notices_truncation() {
        let mut out = Vec::new();
        put_u32(&mut out, 7);
        put_bytes(&mut out, b"record");
        let mut reader = Reader::new(&out);
        assert_eq!(reader.u32(), Ok(7));
        assert_eq!(reader.bytes(), Ok(&b"record"[..]));
        assert_eq!(reader.remaining(), 0);
        let mut short = Reader::new(&out[..out.len() - 1]);
        assert_eq!(short.u32(), Ok(7));
        assert_eq!(short.bytes(), Err(Truncated));
    }
}
