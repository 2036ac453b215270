//! Test control the gateway consults on every request: forced outcomes (scenarios),
//! injected faults, and the journal of what apps sent. The admin API changes them; the
//! gateway only reads and counts. Refusals are each module's own error type
//! ([`faults::FaultError`], [`scenarios::ScenarioError`]); what they mean in HTTP is the
//! admin API's business.

pub mod faults;
pub mod journal;
pub mod scenarios;

pub use faults::Faults;
pub use journal::Journal;
pub use scenarios::Scenarios;
