//! Test control: the admin API under `/__admin/` and its command-line client.

pub mod cli;
pub mod client;
