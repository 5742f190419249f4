//! Runs a scenario's proxies as actors: their events go into the one stream, and their waits run on the scenario's clock.
//!
//! A proxy reports through an [`Emitter`] of its own ([`Source::Proxy`]),
//! and every delay a fault asks for is a timer of the runner's scheduler:
//! with built-in peers on both sides the clock is virtual, so a
//! `latency: 3s` costs no wall time and fires in the same order every run.
//! When the scheduler ends one of its waits, the proxy is busy until it
//! drops that wait, which it does only after reporting what it did when the
//! wait ended; the drop reports [`Event::WaitDone`], and the conversation
//! cannot settle (and no other timer fire) before it.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::event::{Emitter, Event, ProxyEvent, Wait};
use crate::proxy::{Proxy, ProxyError, ProxyOptions, Reporter, ReporterGone};
use crate::scenario::{ProxySpec, Upstream};

use super::scheduler::SharedClock;

/// Puts a proxy's events into the scenario's stream and times its waits
/// on the scenario's clock.
#[derive(Debug, Clone)]
pub struct ScenarioReporter {
    emitter: Emitter,
    clock: SharedClock,
}

impl Reporter for ScenarioReporter {
    type Wait = ProxyWait;

    async fn report(&self, events: Vec<ProxyEvent>) -> Result<(), ReporterGone> {
        self.emitter
            .emit_all(events)
            .await
            .map_err(|_| ReporterGone)
    }

    async fn report_then_wait(
        &self,
        events: Vec<ProxyEvent>,
        delay: Duration,
    ) -> Result<ProxyWait, ReporterGone> {
        let wait = self
            .emitter
            .emit_then_wait(events, delay)
            .await
            .map_err(|_| ReporterGone)?;
        Ok(ProxyWait {
            wait,
            fired: false,
            emitter: self.emitter.clone(),
        })
    }

    fn now(&self) -> Duration {
        self.clock.now()
    }
}

/// Ends when the scheduler ends a proxy's wait; once the scheduler has
/// ended it, dropping it says the proxy is done with it.
#[derive(Debug)]
pub struct ProxyWait {
    wait: Wait,
    /// The scheduler ended it (and the proxy saw that).
    fired: bool,
    emitter: Emitter,
}

impl Future for ProxyWait {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        match &mut this.wait {
            Wait::Real(sleep) => sleep.as_mut().poll(cx),
            Wait::Scheduled(rx) => match Pin::new(rx).poll(cx) {
                Poll::Ready(woke) => {
                    this.fired = woke.is_ok();
                    Poll::Ready(())
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl Drop for ProxyWait {
    fn drop(&mut self) {
        let fired = self.fired
            || match &mut self.wait {
                Wait::Scheduled(rx) => {
                    // No wake can come after this: it came already, or never will.
                    rx.close();
                    rx.try_recv().is_ok()
                }
                Wait::Real(_) => false,
            };
        if fired {
            self.emitter.emit_detached(vec![Event::WaitDone]);
        }
    }
}

/// Holds one proxy of the scenario.
pub struct ProxyDriver {
    /// Its name.
    pub name: String,
    /// The proxy.
    pub proxy: Proxy<ScenarioReporter>,
    /// It forwards to the scenario's server.
    pub to_server: bool,
}

impl std::fmt::Debug for ProxyDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyDriver")
            .field("name", &self.name)
            .field("addr", &self.proxy.addr())
            .finish()
    }
}

impl ProxyDriver {
    /// Starts the proxy of `spec` on 127.0.0.1 (a free port), forwarding
    /// to `server` (host and port) unless it names an upstream of its own.
    pub async fn start(
        spec: &ProxySpec,
        server: (&str, u16),
        emitter: Emitter,
        clock: SharedClock,
    ) -> Result<Self, ProxyError> {
        let (upstream_host, upstream_port) = match &spec.upstream {
            Upstream::Server => {
                let host = match server.0 {
                    "0.0.0.0" => "127.0.0.1",
                    "::" => "::1",
                    other => other,
                };
                (host.to_owned(), server.1)
            }
            Upstream::Address { host, port } => (host.clone(), *port),
        };
        let options = ProxyOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            upstream_host,
            upstream_port,
            seed: spec.seed,
            dial_timeout: spec.dial_timeout,
            faults: Vec::new(),
        };
        let proxy = Proxy::start(options, ScenarioReporter { emitter, clock }).await?;
        Ok(Self {
            name: spec.name.clone(),
            proxy,
            to_server: spec.upstream == Upstream::Server,
        })
    }
}
