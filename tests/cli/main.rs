//! Drives the real `tcprun` binary: scenarios, fixtures, `tcprun connect` and `tcprun proxy` against loopback servers;
//! checks the scenario JSON Schema against the loader.

mod bounds;
mod connect;
mod floods;
mod processes;
mod proxy;
mod proxy_scenarios;
mod readme;
mod scenarios;
mod schema;
mod serve;
mod suite;
mod support;
mod trust;
mod unsent;
