//! Drives the real `tcprun` binary: scenarios, fixtures, and `tcprun connect` against loopback servers;
//! checks the scenario JSON Schema against the loader.

mod connect;
mod processes;
mod readme;
mod scenarios;
mod schema;
mod serve;
mod suite;
mod support;
mod unsent;
