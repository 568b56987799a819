use super::*;

fn events(texts: &[&str], key: Option<&str>) -> Vec<(Option<String>, Vec<u8>)> {
    texts
        .iter()
        .map(|t| (key.map(String::from), t.as_bytes().to_vec()))
        .collect()
}

fn bodies(read: &[StoredEvent]) -> Vec<String> {
    read.iter()
        .map(|e| String::from_utf8(e.sections.clone()).unwrap())
        .collect()
}

#[test]
fn appends_read_back_in_order_with_offsets_and_sequence_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir.path(), LogOptions::default()).unwrap();
    assert!(log.state().is_empty);
    assert_eq!(
        log.append(&events(&["a", "b"], None), 1000).unwrap(),
        Some((0, 1))
    );
    assert_eq!(
        log.append(&events(&["c"], Some("k")), 2000).unwrap(),
        Some((2, 2))
    );
    let read = log.read(0, 10, usize::MAX).unwrap();
    assert_eq!(bodies(&read), ["a", "b", "c"]);
    assert_eq!(read[0].offset, 0);
    assert!(read[1].offset > read[0].offset && read[2].offset > read[1].offset);
    assert_eq!(read[2].partition_key.as_deref(), Some("k"));
    assert_eq!(read[2].enqueued_ms, 2000);
    let state = log.state();
    assert_eq!(
        (state.begin_sequence_number, state.last_sequence_number),
        (0, 2)
    );
    assert_eq!(state.last_offset, read[2].offset as i64);

    let offset_b = read[1].offset;
    let first = |p: StartPosition| log.first_sequence_for(&p);
    assert_eq!(first(StartPosition::Earliest), 0);
    assert_eq!(first(StartPosition::Latest), 3);
    assert_eq!(
        first(StartPosition::Offset {
            offset: offset_b,
            inclusive: false
        }),
        2
    );
    assert_eq!(
        first(StartPosition::Offset {
            offset: offset_b,
            inclusive: true
        }),
        1
    );
    assert_eq!(
        first(StartPosition::SequenceNumber {
            sequence_number: 0,
            inclusive: false
        }),
        1
    );
    assert_eq!(first(StartPosition::EnqueuedTime { ms: 1000 }), 2);
    assert_eq!(first(StartPosition::EnqueuedTime { ms: 5000 }), 3);
    assert_eq!(bodies(&log.read(1, 1, usize::MAX).unwrap()), ["b"]);
}

#[test]
fn reopening_recovers_the_log_and_truncates_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let segment;
    {
        let mut log = PartitionLog::open(dir.path(), LogOptions::default()).unwrap();
        log.append(&events(&["one", "two", "three"], None), 10)
            .unwrap();
        segment = log.segments[0].path.clone();
    }
    // A crash in the middle of writing the last record.
    let len = fs::metadata(&segment).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(&segment)
        .unwrap()
        .set_len(len - 3)
        .unwrap();
    let mut log = PartitionLog::open(dir.path(), LogOptions::default()).unwrap();
    assert_eq!(
        bodies(&log.read(0, 10, usize::MAX).unwrap()),
        ["one", "two"]
    );
    assert_eq!(
        log.append(&events(&["four"], None), 20).unwrap(),
        Some((2, 2))
    );
    let reopened = PartitionLog::open(dir.path(), LogOptions::default()).unwrap();
    assert_eq!(
        bodies(&reopened.read(0, 10, usize::MAX).unwrap()),
        ["one", "two", "four"]
    );

    // A flipped byte fails the checksum: the log ends before that record.
    let mut bytes = fs::read(&segment).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    fs::write(&segment, &bytes).unwrap();
    let reopened = PartitionLog::open(dir.path(), LogOptions::default()).unwrap();
    assert_eq!(
        bodies(&reopened.read(0, 10, usize::MAX).unwrap()),
        ["one", "two"]
    );
}

#[test]
fn segments_roll_and_retention_prunes_whole_old_segments() {
    let dir = tempfile::tempdir().unwrap();
    let options = LogOptions {
        segment_bytes: 30,
        ..Default::default()
    };
    let mut log = PartitionLog::open(dir.path(), options).unwrap();
    let hour = 3_600_000;
    log.append(&events(&["old-1", "old-2"], None), 0).unwrap();
    log.append(&events(&["new-1"], None), 10 * hour).unwrap();
    log.append(&events(&["new-2"], None), 10 * hour).unwrap();
    assert!(log.segments.len() >= 3);
    let removed = log.prune(Duration::from_secs(3600), 10 * hour + 1).unwrap();
    assert_eq!(removed, 1);
    assert_eq!(
        bodies(&log.read(0, 10, usize::MAX).unwrap()),
        ["new-1", "new-2"]
    );
    assert_eq!(log.state().begin_sequence_number, 2);
    // Everything old: the log is empty but keeps counting.
    log.prune(Duration::from_secs(3600), 20 * hour).unwrap();
    assert!(log.state().is_empty);
    assert_eq!(
        log.append(&events(&["later"], None), 20 * hour).unwrap(),
        Some((4, 4))
    );
    let reopened = PartitionLog::open(dir.path(), options).unwrap();
    let read = reopened.read(0, 10, usize::MAX).unwrap();
    assert_eq!(bodies(&read), ["later"]);
    assert_eq!(read[0].sequence_number, 4);
}
