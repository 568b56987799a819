//! The emulator's fault injection (`/emulator/faults`), as the admin.

use reqwest::Method;
use serde_json::Value;

use crate::{Emulator, Reply};

impl Emulator {
    /// A request to `/emulator/faults{path}` with the admin credential (the
    /// well-known principal's token).
    pub async fn fault(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.call(method, &format!("/emulator/faults{path}"), body)
            .await
    }

    /// Switches a fault on and asserts it was taken; returns the answer.
    pub async fn inject(&self, method: Method, path: &str, body: Value) -> Value {
        let reply = self.fault(method, path, Some(body)).await;
        assert!(reply.status.is_success(), "fault {path}: {reply:?}");
        reply.body
    }
}
