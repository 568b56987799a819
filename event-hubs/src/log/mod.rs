//! One partition's durable log: a directory of append-only segment files,
//! each named by the offset and sequence number of its first event.
//!
//! A record is `[len u32][crc32 u32][sequence i64][enqueued ms i64]
//! [partition key length u32 (u32::MAX: none)][partition key][sections]`
//! (little-endian), `len` and the CRC covering everything after the CRC. An
//! event's offset is the byte position of its record in the partition (the
//! segment's base offset plus the position in the file), so offsets grow
//! and are never reused, as Azure's.
//!
//! Appends are one `write` of the whole batch before the caller is answered:
//! the bytes are then in the kernel and survive the process being killed.
//! `fdatasync` runs at most every `sync_interval` on the append path and from
//! the broker's background flusher, which bounds what a power loss can take.
//! At start-up each segment is scanned and a torn or corrupt tail truncated.
//! The index of (sequence number, offset, enqueued time) is kept in memory,
//! rebuilt by that scan. Retention deletes whole segments whose newest event
//! is older than the hub's retention.

use std::{
    collections::VecDeque,
    fs::{self, File, OpenOptions},
    io::{Read, Write},
    os::unix::fs::FileExt,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

const HEADER_LEN: usize = 8;
const FIXED_LEN: usize = 8 + 8 + 4;
const NO_KEY: u32 = u32::MAX;

#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub sequence_number: i64,
    pub offset: u64,
    pub enqueued_ms: i64,
    pub partition_key: Option<String>,
    /// The event's AMQP sections (properties, application properties, body).
    pub sections: Vec<u8>,
}

impl StoredEvent {
    /// The body's bytes (the `data` sections joined).
    pub fn body(&self) -> Vec<u8> {
        crate::message::body_of(&self.sections).unwrap_or_default()
    }
}

#[derive(Debug, Clone, Copy)]
pub struct LogOptions {
    /// A segment is closed and a new one started past this size.
    pub segment_bytes: u64,
    pub sync_interval: Duration,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            segment_bytes: 64 * 1024 * 1024,
            sync_interval: Duration::from_secs(1),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct IndexEntry {
    sequence_number: i64,
    offset: u64,
    enqueued_ms: i64,
}

struct Segment {
    path: PathBuf,
    base_offset: u64,
    file: File,
    len: u64,
    newest_ms: Option<i64>,
}

/// Where a reader starts.
#[derive(Debug, Clone, PartialEq)]
pub enum StartPosition {
    /// Before the first retained event (`-1`).
    Earliest,
    /// After the last event now in the log (`@latest`).
    Latest,
    /// The first event with an offset greater than (or, inclusive, equal to) this one.
    Offset { offset: u64, inclusive: bool },
    SequenceNumber {
        sequence_number: i64,
        inclusive: bool,
    },
    /// The first event enqueued after this time (milliseconds since 1970).
    EnqueuedTime { ms: i64 },
}

pub struct PartitionLog {
    dir: PathBuf,
    options: LogOptions,
    segments: Vec<Segment>,
    index: VecDeque<IndexEntry>,
    next_sequence: i64,
    next_offset: u64,
    last_sync: Instant,
    unsynced: bool,
}

/// What a partition's `$management` properties show.
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionState {
    pub begin_sequence_number: i64,
    pub last_sequence_number: i64,
    pub last_offset: i64,
    pub last_enqueued_ms: i64,
    pub is_empty: bool,
}

fn segment_name(base_offset: u64, base_sequence: i64) -> String {
    format!("{base_offset:020}-{base_sequence:020}.seg")
}

fn parse_segment_name(name: &str) -> Option<(u64, i64)> {
    let stem = name.strip_suffix(".seg")?;
    let (offset, sequence) = stem.split_once('-')?;
    Some((offset.parse().ok()?, sequence.parse().ok()?))
}

fn open_append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)
}

impl PartitionLog {
    pub fn open(dir: &Path, options: LogOptions) -> std::io::Result<PartitionLog> {
        fs::create_dir_all(dir)?;
        let mut names: Vec<(u64, i64, PathBuf)> = fs::read_dir(dir)?
            .filter_map(|entry| entry.ok())
            .filter_map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                parse_segment_name(&name).map(|(o, s)| (o, s, entry.path()))
            })
            .collect();
        names.sort();
        let mut log = PartitionLog {
            dir: dir.to_path_buf(),
            options,
            segments: Vec::new(),
            index: VecDeque::new(),
            next_sequence: 0,
            next_offset: 0,
            last_sync: Instant::now(),
            unsynced: false,
        };
        let mut damaged = false;
        for (base_offset, base_sequence, path) in names {
            if damaged {
                // Past a damaged segment nothing can be trusted to follow on.
                tracing::warn!(segment = %path.display(), "removing a segment that follows a truncated one");
                fs::remove_file(&path)?;
                continue;
            }
            if log.segments.is_empty() {
                log.next_offset = base_offset;
                log.next_sequence = base_sequence;
            } else if base_offset != log.next_offset || base_sequence != log.next_sequence {
                tracing::warn!(segment = %path.display(), "removing a segment that does not continue the log");
                fs::remove_file(&path)?;
                damaged = true;
                continue;
            }
            damaged = log.recover_segment(base_offset, path)?;
        }
        if log.segments.is_empty() {
            log.start_segment()?;
        }
        Ok(log)
    }

    /// Scans one segment, indexing its events; truncates it at the first
    /// record that is incomplete or fails its checksum. Returns whether it did.
    fn recover_segment(&mut self, base_offset: u64, path: PathBuf) -> std::io::Result<bool> {
        let mut bytes = Vec::new();
        File::open(&path)?.read_to_end(&mut bytes)?;
        let mut position = 0usize;
        let mut newest_ms = None;
        let mut truncated = false;
        while position < bytes.len() {
            match decode_record(&bytes[position..]) {
                Some((record_len, event)) if event.sequence_number == self.next_sequence => {
                    self.index.push_back(IndexEntry {
                        sequence_number: event.sequence_number,
                        offset: base_offset + position as u64,
                        enqueued_ms: event.enqueued_ms,
                    });
                    newest_ms = Some(event.enqueued_ms);
                    self.next_sequence += 1;
                    position += record_len;
                }
                _ => {
                    tracing::warn!(
                        segment = %path.display(),
                        at = position,
                        "truncating a torn or corrupt tail of the event log"
                    );
                    truncated = true;
                    break;
                }
            }
        }
        let file = open_append(&path)?;
        if truncated {
            file.set_len(position as u64)?;
            file.sync_data()?;
        }
        self.next_offset = base_offset + position as u64;
        self.segments.push(Segment {
            path,
            base_offset,
            file,
            len: position as u64,
            newest_ms,
        });
        Ok(truncated)
    }

    fn start_segment(&mut self) -> std::io::Result<()> {
        let path = self
            .dir
            .join(segment_name(self.next_offset, self.next_sequence));
        let file = open_append(&path)?;
        // The new file's name must survive a crash too.
        File::open(&self.dir)?.sync_all()?;
        self.segments.push(Segment {
            path,
            base_offset: self.next_offset,
            file,
            len: 0,
            newest_ms: None,
        });
        Ok(())
    }

    /// Appends `events` (partition key, sections) in order, all enqueued at
    /// `now_ms` (or just after the newest event, should the clock have gone
    /// back). Returns the first and last sequence numbers given.
    pub fn append(
        &mut self,
        events: &[(Option<String>, Vec<u8>)],
        now_ms: i64,
    ) -> std::io::Result<Option<(i64, i64)>> {
        if events.is_empty() {
            return Ok(None);
        }
        let enqueued_ms = self
            .index
            .back()
            .map_or(now_ms, |last| now_ms.max(last.enqueued_ms));
        let needs_roll = self
            .segments
            .last()
            .is_none_or(|s| s.len >= self.options.segment_bytes);
        if needs_roll {
            self.start_segment()?;
        }
        let mut buffer = Vec::new();
        let mut entries = Vec::with_capacity(events.len());
        let first = self.next_sequence;
        for (key, sections) in events {
            let sequence_number = self.next_sequence + entries.len() as i64;
            let offset = self.next_offset + buffer.len() as u64;
            encode_record(
                &mut buffer,
                sequence_number,
                enqueued_ms,
                key.as_deref(),
                sections,
            );
            entries.push(IndexEntry {
                sequence_number,
                offset,
                enqueued_ms,
            });
        }
        let segment = self
            .segments
            .last_mut()
            .expect("a log always has a segment");
        if let Err(e) = segment.file.write_all(&buffer) {
            // Nothing half-written may stay: cut back to where the batch began.
            let _ = segment.file.set_len(segment.len);
            return Err(e);
        }
        segment.len += buffer.len() as u64;
        segment.newest_ms = Some(enqueued_ms);
        self.next_offset += buffer.len() as u64;
        self.next_sequence += entries.len() as i64;
        self.index.extend(entries);
        self.unsynced = true;
        if self.last_sync.elapsed() >= self.options.sync_interval {
            self.sync()?;
        }
        Ok(Some((first, self.next_sequence - 1)))
    }

    /// `fdatasync` of the active segment when something is unsynced.
    pub fn sync(&mut self) -> std::io::Result<()> {
        if self.unsynced {
            if let Some(segment) = self.segments.last() {
                segment.file.sync_data()?;
            }
            self.unsynced = false;
        }
        self.last_sync = Instant::now();
        Ok(())
    }

    /// Deletes whole segments whose newest event is older than `retention`.
    /// The active segment is closed first when it is itself that old, so
    /// the log never loses its position (the next sequence number and offset).
    pub fn prune(&mut self, retention: Duration, now_ms: i64) -> std::io::Result<usize> {
        let cutoff = now_ms - retention.as_millis() as i64;
        let expired = |s: &Segment| s.newest_ms.is_some_and(|newest| newest < cutoff);
        if self.segments.last().is_some_and(expired) {
            self.start_segment()?;
        }
        let mut removed = 0;
        while self.segments.len() > 1 && expired(&self.segments[0]) {
            let segment = self.segments.remove(0);
            let keep_from = self.segments[0].base_offset;
            while self.index.front().is_some_and(|e| e.offset < keep_from) {
                self.index.pop_front();
            }
            fs::remove_file(&segment.path)?;
            removed += 1;
        }
        Ok(removed)
    }

    pub fn state(&self) -> PartitionState {
        match (self.index.front(), self.index.back()) {
            (Some(first), Some(last)) => PartitionState {
                begin_sequence_number: first.sequence_number,
                last_sequence_number: last.sequence_number,
                last_offset: last.offset as i64,
                last_enqueued_ms: last.enqueued_ms,
                is_empty: false,
            },
            _ => PartitionState {
                begin_sequence_number: self.next_sequence,
                last_sequence_number: self.next_sequence - 1,
                last_offset: -1,
                last_enqueued_ms: 0,
                is_empty: true,
            },
        }
    }

    /// The sequence number a reader starting at `start` reads first.
    pub fn first_sequence_for(&self, start: &StartPosition) -> i64 {
        let begin = self
            .index
            .front()
            .map_or(self.next_sequence, |e| e.sequence_number);
        let after = |found: Option<usize>| {
            found.map_or(self.next_sequence, |i| self.index[i].sequence_number)
        };
        match start {
            StartPosition::Earliest => begin,
            StartPosition::Latest => self.next_sequence,
            StartPosition::SequenceNumber {
                sequence_number,
                inclusive,
            } => {
                let first = if *inclusive {
                    *sequence_number
                } else {
                    sequence_number + 1
                };
                first.max(begin)
            }
            StartPosition::Offset { offset, inclusive } => {
                let i = self
                    .index
                    .partition_point(|e| e.offset < *offset || (!inclusive && e.offset == *offset));
                after(Some(i).filter(|i| *i < self.index.len()))
            }
            StartPosition::EnqueuedTime { ms } => {
                let i = self.index.partition_point(|e| e.enqueued_ms <= *ms);
                after(Some(i).filter(|i| *i < self.index.len()))
            }
        }
    }

    pub fn next_sequence(&self) -> i64 {
        self.next_sequence
    }

    /// Up to `max_events` events (and about `max_bytes`) from `from_sequence` on.
    pub fn read(
        &self,
        from_sequence: i64,
        max_events: usize,
        max_bytes: usize,
    ) -> std::io::Result<Vec<StoredEvent>> {
        let Some(first) = self.index.front() else {
            return Ok(Vec::new());
        };
        let start = (from_sequence.max(first.sequence_number) - first.sequence_number) as usize;
        let mut out = Vec::new();
        let mut bytes = 0usize;
        for i in start..self.index.len() {
            if out.len() >= max_events || (bytes >= max_bytes && !out.is_empty()) {
                break;
            }
            let entry = self.index[i];
            let segment_at = self
                .segments
                .partition_point(|s| s.base_offset <= entry.offset)
                - 1;
            let segment = &self.segments[segment_at];
            let end = self
                .index
                .get(i + 1)
                .map(|next| next.offset)
                .filter(|next| *next <= segment.base_offset + segment.len)
                .unwrap_or(segment.base_offset + segment.len);
            let mut record = vec![0u8; (end - entry.offset) as usize];
            segment
                .file
                .read_exact_at(&mut record, entry.offset - segment.base_offset)?;
            let (_, event) = decode_record(&record).ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "an indexed record does not decode",
                )
            })?;
            bytes += record.len();
            out.push(StoredEvent {
                offset: entry.offset,
                ..event
            });
        }
        Ok(out)
    }
}

fn encode_record(
    out: &mut Vec<u8>,
    sequence: i64,
    enqueued_ms: i64,
    key: Option<&str>,
    sections: &[u8],
) {
    let key_bytes = key.map(str::as_bytes).unwrap_or_default();
    let body_len = FIXED_LEN + key_bytes.len() + sections.len();
    let start = out.len();
    out.extend_from_slice(&(body_len as u32).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&sequence.to_le_bytes());
    out.extend_from_slice(&enqueued_ms.to_le_bytes());
    let key_len = if key.is_some() {
        key_bytes.len() as u32
    } else {
        NO_KEY
    };
    out.extend_from_slice(&key_len.to_le_bytes());
    out.extend_from_slice(key_bytes);
    out.extend_from_slice(sections);
    let crc = crc32fast::hash(&out[start + HEADER_LEN..]);
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// The record at the start of `bytes` and its length; `None` when it is
/// incomplete or its checksum is wrong.
fn decode_record(bytes: &[u8]) -> Option<(usize, StoredEvent)> {
    let word = |at: usize| -> Option<[u8; 4]> { bytes.get(at..at + 4)?.try_into().ok() };
    let body_len = u32::from_le_bytes(word(0)?) as usize;
    let crc = u32::from_le_bytes(word(4)?);
    let body = bytes.get(HEADER_LEN..HEADER_LEN + body_len)?;
    if body_len < FIXED_LEN || crc32fast::hash(body) != crc {
        return None;
    }
    let sequence_number = i64::from_le_bytes(body[0..8].try_into().ok()?);
    let enqueued_ms = i64::from_le_bytes(body[8..16].try_into().ok()?);
    let key_len = u32::from_le_bytes(body[16..20].try_into().ok()?);
    let (partition_key, rest) = if key_len == NO_KEY {
        (None, &body[20..])
    } else {
        let key = body.get(20..20 + key_len as usize)?;
        (
            Some(String::from_utf8_lossy(key).into_owned()),
            &body[20 + key_len as usize..],
        )
    };
    Some((
        HEADER_LEN + body_len,
        StoredEvent {
            sequence_number,
            offset: 0,
            enqueued_ms,
            partition_key,
            sections: rest.to_vec(),
        },
    ))
}

#[cfg(test)]
mod tests;
