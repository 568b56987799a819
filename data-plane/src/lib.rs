//! The Cloud HSM cluster engine.
