//! Emitter: the semantic model → ARM JSON text.

pub mod expression_converter;
pub mod json_path;
pub mod json_writer;
pub mod resource_derived;
pub mod template_writer;
