//! The `edgebase` binary's library: the operator CLI, start-up (`boot`) and `serve`, over
//! the HTTP edge (`edgebase-api`), the service layer, consensus and storage.

pub mod boot;
pub mod cli;
pub mod fault_injection;
pub mod https;
pub mod serve;
pub mod stop;
