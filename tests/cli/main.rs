//! Drives the real `tcprun` binary: scenarios, fixtures, `tcprun connect` and `tcprun proxy` against loopback servers;
//! checks the scenario JSON Schema against the loader.

mod bounds;
mod connect;
mod ergonomics;
mod floods;
mod frames;
mod misbehave;
mod processes;
mod proxy;
mod proxy_scenarios;
mod readme;
mod rules;
mod scenarios;
mod schema;
mod serve;
mod suite;
mod support;
mod trust;
mod unsent;
