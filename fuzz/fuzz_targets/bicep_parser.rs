//! The Bicep compiler's front end on any text: lexer and parser for
//! templates and parameter files (with their diagnostics).
#![no_main]
use bicep::parser::{parse, FileKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse(text, FileKind::Template);
    let _ = parse(text, FileKind::Parameters);
});
