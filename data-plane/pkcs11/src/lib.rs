//! `libazcloudhsm_pkcs11.so`: a PKCS#11 module for the emulator, as Azure's
//! library is for Cloud HSM. One slot per configured cluster; each slot's
//! login is shared by all its sessions; every key operation is one call of
//! the data-plane client (failover, retries, implicit re-login), which the
//! HSM audits like the utility's. See the README's *PKCS#11* section.

mod config;
mod der;
mod error;
mod ffi;
mod lists;
mod mechanisms;
mod objects;
mod state;

pub use config::DEFAULT_PATH;
