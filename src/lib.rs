//! memberwire turns CRM contacts into membership-site members.
//!
//! The crate has two layers:
//! - [`core`]: pure Rust. No JS types, no clock, no I/O, and no randomness but what it is handed
//!   (entropy passed in; the hash keys of `core::hashing`, from the binding layer). It parses CRM posts,
//!   models contacts and members, and (later) drives the registration workflow as a state
//!   machine whose effects the host performs. It compiles and is tested natively.
//! - `bindings`: the one place that imports `wasm_bindgen`, `js_sys`, `web_sys` and
//!   `getrandom`; it exposes the core to JavaScript hosts.

pub mod core;

pub mod bindings;

pub use crate::core::*;
