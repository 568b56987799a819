//! `systemData`: who created and last modified a resource, and when.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::identity::tokens::Principal;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SystemData {
    pub created_by: String,
    pub created_by_type: String,
    pub created_at: String,
    pub last_modified_by: String,
    pub last_modified_by_type: String,
    pub last_modified_at: String,
}

/// ARM's timestamp format: RFC 3339, UTC, seven fractional digits.
pub fn arm_time(t: DateTime<Utc>) -> String {
    let s = t.to_rfc3339_opts(SecondsFormat::Nanos, true);
    // 2025-01-01T00:00:00.123456789Z -> 2025-01-01T00:00:00.1234567Z
    match s.find('.') {
        Some(dot) if s.len() >= dot + 8 => format!("{}Z", &s[..dot + 8]),
        _ => s,
    }
}

impl SystemData {
    pub fn created(by: &Principal, at: DateTime<Utc>) -> Self {
        Self {
            created_by: by.name.clone(),
            created_by_type: by.kind.to_string(),
            created_at: arm_time(at),
            last_modified_by: by.name.clone(),
            last_modified_by_type: by.kind.to_string(),
            last_modified_at: arm_time(at),
        }
    }

    pub fn modified(&mut self, by: &Principal, at: DateTime<Utc>) {
        self.last_modified_by = by.name.clone();
        self.last_modified_by_type = by.kind.to_string();
        self.last_modified_at = arm_time(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seven_fractional_digits() {
        let t = DateTime::parse_from_rfc3339("2022-09-12T12:00:00.123456789Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(arm_time(t), "2022-09-12T12:00:00.1234567Z");
    }
}
