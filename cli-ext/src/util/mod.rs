//! The azcloudhsm_util-style data-plane utility (placeholder until issue 5 lands).

pub fn run(_args: &[String]) -> i32 {
    eprintln!("ERROR: the data-plane utility is not implemented yet");
    2
}
