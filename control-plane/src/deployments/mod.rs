//! The template deployment engine, with no HTTP in it: a template's
//! expressions ([`expressions`]) are evaluated against a [`expressions::Context`]
//! the deployment supplies; the deployments API (`providers::deployments`)
//! runs the result by sending each resource's request into the emulator's own
//! ARM pipeline.

pub mod expressions;
