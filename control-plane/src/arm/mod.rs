//! The ARM request pipeline, shared by every resource type, in the order a
//! request meets it:
//!
//! 1. [`request_context`]: request/correlation ids, path canonicalisation;
//!    [`limits`]: the body read whole within ARM's 4 MB, or a 413;
//! 2. [`auth`]: bearer token → [`crate::identity::tokens::Principal`];
//!    [`throttling`]: ARM's token buckets per subscription and principal;
//!    [`rbac`]: the principal's role assignments in scope allow the action;
//! 3. [`api_version`]: per-type supported `api-version`s;
//! 4. [`schema`]: the JSON body, validated against `schemas/`;
//! 5. the handler (`crate::providers`, routed by [`tracked_routes`] for
//!    tracked types), using [`conditions`], [`validation`], [`paging`], [`odata_filter`] and
//!    [`resource_id`];
//! 6. [`crate::store`], and [`lro`] for long-running operations.
//!
//! Every failure is an [`error::ArmError`], rendered once.

pub mod api_version;
pub mod auth;
pub mod conditions;
pub mod error;
pub mod limits;
pub mod lro;
pub mod odata_filter;
pub mod paging;
pub mod rbac;
pub mod request_context;
pub mod resource_id;
pub mod schema;
pub mod system_data;
pub mod throttling;
pub mod tracked_routes;
pub mod validation;
