//! The az-style control-plane commands (placeholder until issue 5 lands).

pub fn run(_args: &[String]) -> i32 {
    eprintln!("ERROR: control-plane commands are not implemented yet");
    2
}
