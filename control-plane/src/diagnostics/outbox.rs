//! A cluster's durable outbox: its resource-log records, one JSON line each,
//! appended to segment files under `{data dir}/diagnostics/{cluster}/`, and
//! one delivery cursor per (setting, destination).
//!
//! - An append is one `write()` of a whole line before the operation is
//!   acknowledged: the page cache keeps it through a `kill -9` of the
//!   emulator. Segments are fsynced at batch boundaries (before a batch is
//!   delivered) and when they roll over.
//! - Positions are global byte offsets; a segment is named by the offset of
//!   its first byte, so a cursor stays valid across segments.
//! - A cursor is written (temp file, rename) after each successful delivery:
//!   at-least-once, in order. Segments every cursor has passed are deleted.
//! - The backlog (end minus the slowest cursor) is bounded: past the bound
//!   new records are dropped, with a log line when that starts and a count
//!   when it ends.

use std::{
    collections::{BTreeMap, HashMap},
    fs::{self, File, OpenOptions},
    io::{Read, Seek, SeekFrom, Write},
    path::{Path, PathBuf},
};

/// A segment rolls over past this size.
const SEGMENT_BYTES: u64 = 8 * 1024 * 1024;
const SEGMENT_SUFFIX: &str = ".jsonl";

pub struct Outbox {
    dir: PathBuf,
    /// Every segment's first offset and length, in order.
    segments: BTreeMap<u64, u64>,
    /// The last segment, open for appending.
    current: File,
    current_base: u64,
    /// Where each cursor is (by its file name under `cursors/`).
    cursors: HashMap<String, u64>,
    max_backlog: u64,
    /// Records dropped since the backlog last hit its bound.
    dropped: u64,
}

fn segment_path(dir: &Path, base: u64) -> PathBuf {
    dir.join(format!("{base:020}{SEGMENT_SUFFIX}"))
}

fn io(context: &str, e: std::io::Error) -> String {
    format!("{context}: {e}")
}

impl Outbox {
    /// Opens (or creates) the outbox in `dir`. A line cut short by a crash
    /// at the end of the last segment is dropped: it was never acknowledged.
    pub fn open(dir: &Path, max_backlog: u64) -> Result<Self, String> {
        fs::create_dir_all(dir.join("cursors")).map_err(|e| io("creating the outbox", e))?;
        let mut segments = BTreeMap::new();
        for entry in fs::read_dir(dir).map_err(|e| io("reading the outbox", e))? {
            let entry = entry.map_err(|e| io("reading the outbox", e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(base) = name
                .strip_suffix(SEGMENT_SUFFIX)
                .and_then(|b| b.parse::<u64>().ok())
            {
                let len = entry
                    .metadata()
                    .map_err(|e| io("reading a segment", e))?
                    .len();
                segments.insert(base, len);
            }
        }
        let current_base = match segments.last_key_value() {
            Some((&base, _)) => base,
            None => {
                segments.insert(0, 0);
                0
            }
        };
        let path = segment_path(dir, current_base);
        let mut current = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)
            .map_err(|e| io("opening the outbox segment", e))?;
        let whole = complete_length(&mut current).map_err(|e| io("checking the outbox", e))?;
        current
            .set_len(whole)
            .map_err(|e| io("trimming the outbox", e))?;
        segments.insert(current_base, whole);
        let mut cursors = HashMap::new();
        for entry in fs::read_dir(dir.join("cursors")).map_err(|e| io("reading cursors", e))? {
            let entry = entry.map_err(|e| io("reading cursors", e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".tmp") {
                continue;
            }
            let text = fs::read_to_string(entry.path()).map_err(|e| io("reading a cursor", e))?;
            if let Ok(position) = text.trim().parse::<u64>() {
                cursors.insert(name, position);
            }
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            segments,
            current,
            current_base,
            cursors,
            max_backlog,
            dropped: 0,
        })
    }

    /// The offset just past the last record.
    pub fn end(&self) -> u64 {
        self.current_base + self.segments.get(&self.current_base).copied().unwrap_or(0)
    }

    fn slowest(&self) -> Option<u64> {
        self.cursors.values().min().copied()
    }

    /// Appends one record (a line without its newline). `Ok(false)` when the
    /// backlog is full and the record was dropped.
    pub fn append(&mut self, line: &str, cluster: &str) -> Result<bool, String> {
        let end = self.end();
        if let Some(slowest) = self.slowest() {
            if end.saturating_sub(slowest) >= self.max_backlog {
                if self.dropped == 0 {
                    tracing::warn!(
                        cluster,
                        backlog_bytes = end - slowest,
                        bound = self.max_backlog,
                        "diagnostics backlog full: a destination is not taking records; new records are dropped until it catches up (--diagnostics-max-backlog)"
                    );
                }
                self.dropped += 1;
                return Ok(false);
            }
        }
        if self.dropped > 0 {
            tracing::warn!(
                cluster,
                dropped = self.dropped,
                "diagnostics backlog has room again; records dropped while it was full"
            );
            self.dropped = 0;
        }
        let current_len = end - self.current_base;
        if current_len > 0 && current_len + line.len() as u64 + 1 > SEGMENT_BYTES {
            self.roll()?;
        }
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        self.current
            .write_all(&bytes)
            .map_err(|e| io("appending to the outbox", e))?;
        *self.segments.entry(self.current_base).or_insert(0) += bytes.len() as u64;
        Ok(true)
    }

    fn roll(&mut self) -> Result<(), String> {
        self.current
            .sync_data()
            .map_err(|e| io("syncing the outbox", e))?;
        let base = self.end();
        self.current = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(segment_path(&self.dir, base))
            .map_err(|e| io("opening an outbox segment", e))?;
        self.current_base = base;
        self.segments.insert(base, 0);
        Ok(())
    }

    /// A handle on the segment being appended to, to fsync it without
    /// holding the outbox.
    pub fn current_file(&self) -> Result<File, String> {
        self.current
            .try_clone()
            .map_err(|e| io("opening the outbox segment", e))
    }

    /// Where to read from `position`: the segment holding it and the bytes
    /// of it that are complete now. `None` when nothing is past `position`.
    pub fn locate(&self, position: u64) -> Option<(PathBuf, u64, u64)> {
        for (&base, &len) in self.segments.range(..) {
            let end = base + len;
            if position < end {
                let from = position.max(base);
                return Some((segment_path(&self.dir, base), from - base, end - from));
            }
        }
        None
    }

    pub fn cursor(&self, name: &str) -> Option<u64> {
        self.cursors.get(name).copied()
    }

    /// Starts a cursor at the end (a new setting sees later records only).
    pub fn add_cursor(&mut self, name: &str) -> Result<u64, String> {
        if let Some(position) = self.cursor(name) {
            return Ok(position);
        }
        let end = self.end();
        self.set_cursor(name, end)?;
        Ok(end)
    }

    /// Records a delivery up to `position` and drops what every cursor passed.
    pub fn set_cursor(&mut self, name: &str, position: u64) -> Result<(), String> {
        let path = self.dir.join("cursors").join(name);
        let temporary = path.with_extension("tmp");
        fs::write(&temporary, position.to_string()).map_err(|e| io("writing a cursor", e))?;
        fs::rename(&temporary, &path).map_err(|e| io("writing a cursor", e))?;
        self.cursors.insert(name.to_string(), position);
        self.clean_up();
        Ok(())
    }

    pub fn remove_cursor(&mut self, name: &str) {
        let _ = fs::remove_file(self.dir.join("cursors").join(name));
        self.cursors.remove(name);
        self.clean_up();
    }

    pub fn cursor_names(&self) -> Vec<String> {
        self.cursors.keys().cloned().collect()
    }

    /// Deletes the segments before the slowest cursor (all of them but the
    /// current one when there is no cursor left).
    fn clean_up(&mut self) {
        let slowest = self.slowest().unwrap_or(u64::MAX);
        let done: Vec<u64> = self
            .segments
            .iter()
            .filter(|(&base, &len)| base != self.current_base && base + len <= slowest)
            .map(|(&base, _)| base)
            .collect();
        for base in done {
            if fs::remove_file(segment_path(&self.dir, base)).is_ok() {
                self.segments.remove(&base);
            }
        }
    }

    /// Number of segment files (for tests of the clean-up).
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }
}

/// The length of `file` up to and including its last newline.
fn complete_length(file: &mut File) -> std::io::Result<u64> {
    let len = file.metadata()?.len();
    let mut position = len;
    let mut buffer = vec![0u8; 64 * 1024];
    while position > 0 {
        let chunk = (buffer.len() as u64).min(position);
        file.seek(SeekFrom::Start(position - chunk))?;
        file.read_exact(&mut buffer[..chunk as usize])?;
        if let Some(last) = buffer[..chunk as usize].iter().rposition(|b| *b == b'\n') {
            return Ok(position - chunk + last as u64 + 1);
        }
        position -= chunk;
    }
    Ok(0)
}

/// Reads at most `max` bytes of `path` from `offset`, up to `available`,
/// cut after the last complete line. Returns the lines and the bytes used.
pub fn read_lines(
    path: &Path,
    offset: u64,
    available: u64,
    max: u64,
) -> Result<(Vec<String>, u64), String> {
    let mut file = File::open(path).map_err(|e| io("reading the outbox", e))?;
    file.seek(SeekFrom::Start(offset))
        .map_err(|e| io("reading the outbox", e))?;
    let mut bytes = vec![0u8; available.min(max) as usize];
    file.read_exact(&mut bytes)
        .map_err(|e| io("reading the outbox", e))?;
    let used = match bytes.iter().rposition(|b| *b == b'\n') {
        Some(last) => last + 1,
        // One record longer than a batch: take it whole.
        None if available > max => {
            let mut rest = Vec::new();
            file.read_to_end(&mut rest)
                .map_err(|e| io("reading the outbox", e))?;
            bytes.extend_from_slice(&rest[..(available - max) as usize]);
            bytes.iter().rposition(|b| *b == b'\n').map_or(0, |l| l + 1)
        }
        None => 0,
    };
    let text = String::from_utf8_lossy(&bytes[..used]);
    let lines = text
        .split('\n')
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    Ok((lines, used as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_reopening_and_a_torn_last_line_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let mut outbox = Outbox::open(dir.path(), u64::MAX).unwrap();
        outbox.add_cursor("a").unwrap();
        assert!(outbox.append("{\"n\":1}", "c").unwrap());
        assert!(outbox.append("{\"n\":2}", "c").unwrap());
        let end = outbox.end();
        drop(outbox);
        let mut torn = OpenOptions::new()
            .append(true)
            .open(segment_path(dir.path(), 0))
            .unwrap();
        torn.write_all(b"{\"n\":3").unwrap();
        let outbox = Outbox::open(dir.path(), u64::MAX).unwrap();
        assert_eq!(outbox.end(), end);
        assert_eq!(outbox.cursor("a"), Some(0));
        let (path, offset, available) = outbox.locate(0).unwrap();
        let (lines, used) = read_lines(&path, offset, available, 1 << 20).unwrap();
        assert_eq!(lines, vec!["{\"n\":1}", "{\"n\":2}"]);
        assert_eq!(used, end);
    }

    #[test]
    fn a_full_backlog_drops_new_records_until_the_cursor_moves() {
        let dir = tempfile::tempdir().unwrap();
        let mut outbox = Outbox::open(dir.path(), 20).unwrap();
        outbox.add_cursor("a").unwrap();
        assert!(outbox.append("0123456789", "c").unwrap());
        assert!(outbox.append("0123456789", "c").unwrap());
        assert!(!outbox.append("0123456789", "c").unwrap());
        let end = outbox.end();
        outbox.set_cursor("a", end).unwrap();
        assert!(outbox.append("0123456789", "c").unwrap());
    }
}
