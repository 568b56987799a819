use serde_json::json;

use super::{eval, eval_err};

#[test]
fn utc_now_formats() {
    assert_eq!(eval("[utcNow()]"), json!("20200407T145314Z"));
    assert_eq!(eval("[utcNow('u')]"), json!("2020-04-07 14:53:14Z"));
    assert_eq!(eval("[utcNow('d')]"), json!("4/7/2020"));
    assert_eq!(eval("[utcNow('yyyy-MM-dd')]"), json!("2020-04-07"));
    assert_eq!(eval("[utcNow('s')]"), json!("2020-04-07T14:53:14"));
    assert_eq!(eval("[utcNow('T')]"), json!("2:53:14 PM"));
    assert_eq!(eval("[utcNow('MMM dd, ''yy')]"), json!("Apr 07, yy"));
    assert!(eval_err("[utcNow('q')]").message.contains("not valid"));
}

#[test]
fn date_time_add_durations() {
    assert_eq!(
        eval("[dateTimeAdd('2020-04-07 14:53:14Z', 'P3Y')]"),
        json!("2023-04-07T14:53:14Z")
    );
    assert_eq!(
        eval("[dateTimeAdd('2020-04-07 14:53:14Z', '-PT9H')]"),
        json!("2020-04-07T05:53:14Z")
    );
    assert_eq!(
        eval("[dateTimeAdd('2020-04-07T14:53:14Z', 'P1M1DT1M', 'u')]"),
        json!("2020-05-08 14:54:14Z")
    );
    assert_eq!(
        eval("[dateTimeAdd('2020-01-31T00:00:00Z', 'P1M', 'yyyy-MM-dd')]"),
        json!("2020-02-29")
    );
    assert_eq!(
        eval("[dateTimeAdd('2020-04-07T00:00:00Z', 'P1W', 'yyyy-MM-dd')]"),
        json!("2020-04-14")
    );
    assert!(eval_err("[dateTimeAdd('2020-04-07T00:00:00Z', '1D')]")
        .message
        .contains("ISO 8601"));
    assert!(eval_err("[dateTimeAdd('yesterday', 'P1D')]")
        .message
        .contains("date and time"));
}

#[test]
fn epochs() {
    assert_eq!(
        eval("[dateTimeFromEpoch(1683040573)]"),
        json!("2023-05-02T15:16:13Z")
    );
    assert_eq!(
        eval("[dateTimeToEpoch('2023-05-02T15:16:13Z')]"),
        json!(1683040573)
    );
    assert_eq!(
        eval("[dateTimeToEpoch(dateTimeAdd(utcNow(), 'P1Y'))]"),
        json!(1617807194)
    );
}
