//! Drives the real `tcprun` binary: scenarios, fixtures, and `tcprun connect` against loopback servers.

mod connect;
mod processes;
mod scenarios;
mod serve;
mod suite;
mod support;
