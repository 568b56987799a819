//! ARM's request throttling: token buckets, as Azure Resource Manager has
//! applied them per region since 2024.
//!
//! Each (subscription, principal, kind of request) has a bucket of 250
//! reads refilled at 25 a second, or 200 writes or deletes refilled at 10 a
//! second; every principal of a subscription together has a global bucket 15
//! times as large. Requests without a subscription in their path count
//! against the tenant's buckets (same sizes, no global one). Every answer
//! carries what is left, in ARM's headers
//! (`x-ms-ratelimit-remaining-subscription-reads`, `...-global-reads`,
//! `x-ms-ratelimit-remaining-tenant-writes`, ...), so clients that watch
//! them see real figures. With `--arm-throttling` an empty bucket answers
//! `429 SubscriptionRequestsThrottled` (or `TenantRequestsThrottled`) with
//! `Retry-After`, as ARM does; without it (the default) nothing is refused,
//! because a local emulator's callers are the user's own tests, which would
//! otherwise slow down whenever they run faster than Azure allows.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use axum::{
    extract::{Request, State},
    http::{HeaderName, HeaderValue, Method},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::{arm::error::ArmError, identity::tokens::Principal, state::AppState};

/// What a request costs: ARM keeps a bucket per kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Reads,
    Writes,
    Deletes,
}

impl Kind {
    pub fn of(method: &Method) -> Self {
        match *method {
            Method::GET | Method::HEAD | Method::OPTIONS => Kind::Reads,
            Method::DELETE => Kind::Deletes,
            // PUT, PATCH and POST actions are writes to ARM.
            _ => Kind::Writes,
        }
    }

    fn plural(self) -> &'static str {
        match self {
            Kind::Reads => "reads",
            Kind::Writes => "writes",
            Kind::Deletes => "deletes",
        }
    }

    fn singular(self) -> &'static str {
        match self {
            Kind::Reads => "read",
            Kind::Writes => "write",
            Kind::Deletes => "delete",
        }
    }

    /// (bucket size, tokens added per second) for one principal.
    fn limits(self) -> (f64, f64) {
        match self {
            Kind::Reads => (250.0, 25.0),
            Kind::Writes | Kind::Deletes => (200.0, 10.0),
        }
    }
}

/// The global bucket of a subscription is this many principals' worth.
const GLOBAL_FACTOR: f64 = 15.0;
/// Buckets kept before full ones (idle long enough to have refilled, so
/// equal to a new one) are dropped: the table stays bounded.
const PRUNE_ABOVE: usize = 4096;

/// Whose buckets a request draws on.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    Subscription(String),
    Tenant(String),
}

impl Scope {
    /// The subscription named by the path, else the tenant.
    pub fn of(path: &str, tenant: &str) -> Self {
        let mut segments = path.trim_start_matches('/').split('/');
        match (segments.next(), segments.next()) {
            (Some(first), Some(id))
                if first.eq_ignore_ascii_case("subscriptions") && !id.is_empty() =>
            {
                Scope::Subscription(id.to_ascii_lowercase())
            }
            _ => Scope::Tenant(tenant.to_ascii_lowercase()),
        }
    }

    fn word(&self) -> &'static str {
        match self {
            Scope::Subscription(_) => "subscription",
            Scope::Tenant(_) => "tenant",
        }
    }

    fn id(&self) -> &str {
        match self {
            Scope::Subscription(id) | Scope::Tenant(id) => id,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn refill(&mut self, size: f64, rate: f64, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(size);
        self.at = now;
    }
}

/// `None` in the principal's place is the scope's global bucket.
type Key = (Scope, Option<String>, Kind);

/// What one request found in its buckets.
#[derive(Debug, PartialEq)]
pub struct Verdict {
    /// Tokens left in the principal's bucket after this request.
    pub remaining: u64,
    /// In the subscription's global bucket (tenants have none).
    pub remaining_global: Option<u64>,
    /// `Some(wait)` when a bucket was empty: the request is refused (if
    /// enforced) and may be retried after `wait`.
    pub throttled: Option<Duration>,
}

/// The buckets of every scope and principal.
pub struct Throttle {
    enforce: bool,
    buckets: Mutex<HashMap<Key, Bucket>>,
}

impl Throttle {
    pub fn new(enforce: bool) -> Self {
        Self {
            enforce,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    pub fn enforced(&self) -> bool {
        self.enforce
    }

    /// Takes a token for `principal` in `scope`, from its own bucket and
    /// (for a subscription) the global one; nothing is taken when either is
    /// empty.
    pub fn take(&self, scope: &Scope, principal: &str, kind: Kind, now: Instant) -> Verdict {
        let (size, rate) = kind.limits();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > PRUNE_ABOVE {
            buckets.retain(|(_, owner, kind), bucket| {
                let (size, rate) = kind.limits();
                let (size, rate) = if owner.is_none() {
                    (size * GLOBAL_FACTOR, rate * GLOBAL_FACTOR)
                } else {
                    (size, rate)
                };
                now.saturating_duration_since(bucket.at).as_secs_f64() * rate + bucket.tokens < size
            });
        }
        let own_key = (scope.clone(), Some(principal.to_ascii_lowercase()), kind);
        let mut own = current(&buckets, &own_key, size, rate, now);
        let global_key = (scope.clone(), None, kind);
        let mut global = matches!(scope, Scope::Subscription(_)).then(|| {
            current(
                &buckets,
                &global_key,
                size * GLOBAL_FACTOR,
                rate * GLOBAL_FACTOR,
                now,
            )
        });
        let short = |bucket: &Bucket, rate: f64| {
            (bucket.tokens < 1.0).then(|| Duration::from_secs_f64((1.0 - bucket.tokens) / rate))
        };
        let throttled = short(&own, rate)
            .into_iter()
            .chain(global.as_ref().and_then(|g| short(g, rate * GLOBAL_FACTOR)))
            .max();
        if throttled.is_none() {
            own.tokens -= 1.0;
            if let Some(global) = global.as_mut() {
                global.tokens -= 1.0;
            }
        }
        buckets.insert(own_key, own);
        if let Some(global) = global {
            buckets.insert(global_key, global);
        }
        Verdict {
            remaining: own.tokens.max(0.0).floor() as u64,
            remaining_global: global.map(|g| g.tokens.max(0.0).floor() as u64),
            throttled,
        }
    }
}

/// The bucket under `key` as of `now` (a new one is full).
fn current(
    buckets: &HashMap<Key, Bucket>,
    key: &Key,
    size: f64,
    rate: f64,
    now: Instant,
) -> Bucket {
    let mut bucket = buckets.get(key).copied().unwrap_or(Bucket {
        tokens: size,
        at: now,
    });
    bucket.refill(size, rate, now);
    bucket
}

/// ARM's 429 for an empty bucket.
pub fn throttled_error(scope: &Scope, principal: &str, kind: Kind, wait: Duration) -> ArmError {
    // ARM rounds the wait up to whole seconds.
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let seconds = seconds.max(1);
    ArmError::Throttled {
        code: match scope {
            Scope::Subscription(_) => "SubscriptionRequestsThrottled",
            Scope::Tenant(_) => "TenantRequestsThrottled",
        },
        message: format!(
            "Number of '{}' requests for {} '{}' actor '{}' exceeded. Please try again after '{seconds}' seconds after additional tokens are available. Refer to https://aka.ms/arm-throttling for additional information.",
            kind.singular(),
            scope.word(),
            scope.id(),
            principal
        ),
        retry_after_secs: seconds,
    }
}

/// Middleware: counts the request against its buckets, refuses it when one
/// is empty (if enforced) and reports what is left on every answer.
pub async fn throttle(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(principal) = request.extensions().get::<Principal>().cloned() else {
        return ArmError::Internal("throttling ran before authentication".into()).into_response();
    };
    let scope = Scope::of(request.uri().path(), &state.config.tenant_id);
    let kind = Kind::of(request.method());
    let verdict = state
        .throttle
        .take(&scope, &principal.object_id, kind, Instant::now());
    let mut response = match verdict.throttled {
        Some(wait) if state.throttle.enforced() => {
            tracing::warn!(scope = scope.id(), principal = %principal.object_id, kind = kind.plural(), "request throttled");
            throttled_error(&scope, &principal.object_id, kind, wait).into_response()
        }
        _ => next.run(request).await,
    };
    let headers = response.headers_mut();
    let mut set = |name: String, value: u64| {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name),
            HeaderValue::from_str(&value.to_string()),
        ) {
            headers.insert(name, value);
        }
    };
    set(
        format!(
            "x-ms-ratelimit-remaining-{}-{}",
            scope.word(),
            kind.plural()
        ),
        verdict.remaining,
    );
    if let Some(global) = verdict.remaining_global {
        set(
            format!(
                "x-ms-ratelimit-remaining-{}-global-{}",
                scope.word(),
                kind.plural()
            ),
            global,
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subscription() -> Scope {
        Scope::of("/subscriptions/ABC/resourceGroups/x", "tenant")
    }

    #[test]
    fn scopes_come_from_the_path() {
        assert_eq!(subscription(), Scope::Subscription("abc".into()));
        assert_eq!(
            Scope::of("/providers/Microsoft.Authorization/operations", "T1"),
            Scope::Tenant("t1".into())
        );
        assert_eq!(Scope::of("/subscriptions", "t"), Scope::Tenant("t".into()));
        assert_eq!(Kind::of(&Method::HEAD), Kind::Reads);
        assert_eq!(Kind::of(&Method::POST), Kind::Writes);
        assert_eq!(Kind::of(&Method::DELETE), Kind::Deletes);
    }

    #[test]
    fn a_principal_gets_its_bucket_then_the_refill_rate() {
        let throttle = Throttle::new(true);
        let start = Instant::now();
        for left in (0..250).rev() {
            let verdict = throttle.take(&subscription(), "p", Kind::Reads, start);
            assert_eq!(verdict.remaining, left);
            assert_eq!(verdict.throttled, None);
        }
        assert_eq!(
            throttle
                .take(&subscription(), "p", Kind::Reads, start)
                .remaining_global,
            Some(15 * 250 - 250)
        );
        let refused = throttle.take(&subscription(), "p", Kind::Reads, start);
        let wait = refused.throttled.unwrap_or_default();
        assert!((39..=40).contains(&wait.as_millis()), "{wait:?}");
        // Writes and other principals have buckets of their own.
        assert_eq!(
            throttle
                .take(&subscription(), "p", Kind::Writes, start)
                .throttled,
            None
        );
        assert_eq!(
            throttle
                .take(&subscription(), "q", Kind::Reads, start)
                .remaining,
            249
        );
        // 25 reads a second come back: one every 40 ms.
        let later = start + Duration::from_millis(41);
        assert_eq!(
            throttle
                .take(&subscription(), "p", Kind::Reads, later)
                .throttled,
            None
        );
        assert!(throttle
            .take(&subscription(), "p", Kind::Reads, later)
            .throttled
            .is_some());
        let refilled = start + Duration::from_secs(60);
        assert_eq!(
            throttle
                .take(&subscription(), "p", Kind::Reads, refilled)
                .remaining,
            249
        );
    }

    #[test]
    fn the_global_bucket_bounds_every_principal_together() {
        let throttle = Throttle::new(true);
        let now = Instant::now();
        let mut refused = 0;
        for principal in 0..16 {
            for _ in 0..200 {
                if throttle
                    .take(&subscription(), &principal.to_string(), Kind::Deletes, now)
                    .throttled
                    .is_some()
                {
                    refused += 1;
                }
            }
        }
        // 16 principals' 3,200 deletes against a global bucket of 3,000.
        assert_eq!(refused, 200);
        // Tenants have no global bucket.
        let tenant = Scope::of("/tenants", "t");
        assert_eq!(
            throttle
                .take(&tenant, "p", Kind::Reads, now)
                .remaining_global,
            None
        );
    }

    #[test]
    fn the_error_is_arms() {
        let error = throttled_error(
            &subscription(),
            "oid",
            Kind::Reads,
            Duration::from_millis(40),
        );
        assert_eq!(error.status().as_u16(), 429);
        assert_eq!(error.code(), "SubscriptionRequestsThrottled");
        assert_eq!(
            error.to_string(),
            "Number of 'read' requests for subscription 'abc' actor 'oid' exceeded. Please try again after '1' seconds after additional tokens are available. Refer to https://aka.ms/arm-throttling for additional information."
        );
    }

    #[test]
    fn the_table_stays_bounded() {
        let throttle = Throttle::new(false);
        let start = Instant::now();
        for principal in 0..(PRUNE_ABOVE + 10) {
            throttle.take(&subscription(), &principal.to_string(), Kind::Reads, start);
        }
        // A minute on, every bucket has refilled: those are dropped first.
        let later = start + Duration::from_secs(60);
        for principal in 0..(2 * PRUNE_ABOVE) {
            throttle.take(
                &subscription(),
                &format!("late-{principal}"),
                Kind::Reads,
                later,
            );
        }
        let kept = throttle.buckets.lock().map(|b| b.len()).unwrap_or(0);
        assert!(kept <= PRUNE_ABOVE + 1, "{kept} buckets kept");
    }
}
