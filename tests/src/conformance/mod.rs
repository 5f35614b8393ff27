//! Differential conformance: replay scenario files against a reference server (real
//! PocketBase) and a candidate (EdgeBase) and compare normalised answers.

mod diff;
mod normalize;
mod runner;
mod scenario;
mod target;

pub use diff::json_differences;
pub use normalize::Normalizer;
pub use runner::{run_conformance, ConformanceReport, Mismatch};
pub use scenario::{load_scenarios, Auth, Compare, KeepItems, Scenario, Step};
pub use target::{Target, TargetKind};
