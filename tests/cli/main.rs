//! Integration tests that drive the real `tcprun` binary against loopback servers.

mod connect;
mod support;
