//! What the broker's AMQP addresses mean: `$cbs`, `$management`, an event
//! hub (optionally one partition) to send to, a consumer group's partition
//! to receive from, and the selector filter that says where to start.

use crate::log::StartPosition;

#[derive(Debug, Clone, PartialEq)]
pub enum Address {
    Cbs,
    Management,
    /// `{hub}` or `{hub}/Partitions/{p}`.
    Hub {
        hub: String,
        partition: Option<String>,
    },
    /// `{hub}/ConsumerGroups/{group}/Partitions/{p}`.
    ConsumerPartition {
        hub: String,
        group: String,
        partition: String,
    },
    Unknown(String),
}

/// The entity path of an address, without `amqps://host[:port]/` (or `sb://`).
pub fn entity_path(address: &str) -> &str {
    let path = match address.split_once("://") {
        Some((_, rest)) => rest.split_once('/').map(|(_, p)| p).unwrap_or(""),
        None => address,
    };
    path.trim_matches('/')
}

pub fn parse_address(address: &str) -> Address {
    let path = entity_path(address);
    if path.eq_ignore_ascii_case("$cbs") {
        return Address::Cbs;
    }
    if path.eq_ignore_ascii_case("$management") {
        return Address::Management;
    }
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        [hub] if !hub.is_empty() => Address::Hub {
            hub: hub.to_string(),
            partition: None,
        },
        [hub, p, partition] if p.eq_ignore_ascii_case("partitions") => Address::Hub {
            hub: hub.to_string(),
            partition: Some(partition.to_string()),
        },
        [hub, c, group, p, partition]
            if c.eq_ignore_ascii_case("consumergroups") && p.eq_ignore_ascii_case("partitions") =>
        {
            Address::ConsumerPartition {
                hub: hub.to_string(),
                group: group.to_string(),
                partition: partition.to_string(),
            }
        }
        _ => Address::Unknown(path.to_string()),
    }
}

/// An `apache.org:selector-filter:string` expression, as the SDKs write
/// them: `amqp.annotation.x-opt-offset > '123'` (or `>=`), with
/// `x-opt-sequence-number` or `x-opt-enqueued-time` (ms), and the offsets
/// `-1` (start) and `@latest` (end).
pub fn parse_selector(expression: &str) -> Result<StartPosition, String> {
    let bad = || {
        format!("The selector filter '{expression}' is not supported: use amqp.annotation.x-opt-offset, x-opt-sequence-number or x-opt-enqueued-time with > or >= and a quoted value.")
    };
    let text = expression.trim();
    let rest = text.strip_prefix("amqp.annotation.").ok_or_else(bad)?;
    let (field, rest) = rest
        .split_once(|c: char| c.is_whitespace() || c == '>' || c == '=')
        .ok_or_else(bad)?;
    let rest = rest.trim_start();
    let (inclusive, rest) = if let Some(r) = rest.strip_prefix(">=") {
        (true, r)
    } else if let Some(r) = rest.strip_prefix('>') {
        (false, r)
    } else if let Some(r) = rest.strip_prefix('=') {
        (true, r)
    } else {
        return Err(bad());
    };
    let value = rest.trim().trim_matches('\'');
    match field.to_ascii_lowercase().as_str() {
        "x-opt-offset" => match value {
            "-1" => Ok(StartPosition::Earliest),
            "@latest" => Ok(StartPosition::Latest),
            v => v
                .parse::<u64>()
                .map(|offset| StartPosition::Offset { offset, inclusive })
                .map_err(|_| bad()),
        },
        "x-opt-sequence-number" => value
            .parse::<i64>()
            .map(|sequence_number| StartPosition::SequenceNumber {
                sequence_number,
                inclusive,
            })
            .map_err(|_| bad()),
        "x-opt-enqueued-time" => value
            .parse::<i64>()
            .map(|ms| StartPosition::EnqueuedTime {
                ms: if inclusive { ms - 1 } else { ms },
            })
            .map_err(|_| bad()),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_as_the_sdks_send_them() {
        assert_eq!(parse_address("$cbs"), Address::Cbs);
        assert_eq!(
            parse_address("amqps://127.0.0.1:5672/orders"),
            Address::Hub {
                hub: "orders".into(),
                partition: None
            }
        );
        assert_eq!(
            parse_address("orders/Partitions/3"),
            Address::Hub {
                hub: "orders".into(),
                partition: Some("3".into())
            }
        );
        assert_eq!(
            parse_address("amqps://h/orders/ConsumerGroups/$Default/Partitions/0"),
            Address::ConsumerPartition {
                hub: "orders".into(),
                group: "$Default".into(),
                partition: "0".into()
            }
        );
        assert!(matches!(parse_address("a/b"), Address::Unknown(_)));
    }

    #[test]
    fn selector_filters() {
        assert_eq!(
            parse_selector("amqp.annotation.x-opt-offset > '-1'").unwrap(),
            StartPosition::Earliest
        );
        assert_eq!(
            parse_selector("amqp.annotation.x-opt-offset > '@latest'").unwrap(),
            StartPosition::Latest
        );
        assert_eq!(
            parse_selector("amqp.annotation.x-opt-offset >= '120'").unwrap(),
            StartPosition::Offset {
                offset: 120,
                inclusive: true
            }
        );
        assert_eq!(
            parse_selector("amqp.annotation.x-opt-sequence-number > '4'").unwrap(),
            StartPosition::SequenceNumber {
                sequence_number: 4,
                inclusive: false
            }
        );
        assert_eq!(
            parse_selector("amqp.annotation.x-opt-enqueued-time > '1700000000000'").unwrap(),
            StartPosition::EnqueuedTime {
                ms: 1_700_000_000_000
            }
        );
        assert!(parse_selector("x-opt-offset > 1").is_err());
    }
}
