//! Executes the proxy steps: add and clear faults, wait for one to fire, take a proxy down and up, expect what passed through it.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use super::{StepResult, checked};
use crate::event::{Direction, DownMode};
use crate::proxy::{FaultSpec, Proxy, ProxyError};
use crate::runner::failure::{Because, StepFailure};
use crate::runner::output::{OutputBuffer, Seek};
use crate::runner::proxies::ScenarioReporter;
use crate::runner::{Conductor, Waited, folding};
use crate::scenario::{ConnectionRef, Pattern};

impl Conductor {
    /// Resolves `proxy:` (validated at load time) to an index.
    fn proxy_index(&self, proxy: &Option<String>) -> usize {
        match proxy {
            Some(name) => self
                .proxies
                .iter()
                .position(|driver| &driver.name == name)
                .unwrap_or(0),
            None => 0,
        }
    }

    /// Resolves a proxy step's `connection:` to one of proxy `index`'s
    /// connections (none: any, or all of them).
    fn proxy_conn(
        &self,
        index: usize,
        connection: &ConnectionRef,
    ) -> Result<Option<u32>, StepFailure> {
        match connection {
            ConnectionRef::All => Ok(None),
            ConnectionRef::Index(n) => Ok(Some(*n)),
            ConnectionRef::Client(name) => {
                let client = self.client_index(&Some(name.clone()));
                match self.journal.proxy_conn_of_client(client) {
                    Some((proxy, conn)) if proxy == index => Ok(Some(conn)),
                    _ => Err(StepFailure::NoProxyConnection {
                        client: name.clone(),
                        proxy: self.proxies[index].name.clone(),
                    }),
                }
            }
        }
    }

    /// Has proxy `index` do `work`, folding what everything reports
    /// meanwhile (the proxy waits for room in the stream, and for its
    /// connections to take a fault change on).
    async fn on_proxy<T>(
        &mut self,
        index: usize,
        work: impl FnOnce(
            &mut Proxy<ScenarioReporter>,
        ) -> Pin<Box<dyn Future<Output = Result<T, ProxyError>> + Send + '_>>,
    ) -> StepResult {
        let done = work(&mut self.proxies[index].proxy);
        folding(
            done,
            &mut self.reports,
            &mut self.scheduler,
            &mut self.journal,
        )
        .await
        .map(drop)
        .map_err(StepFailure::Proxy)
    }

    /// `fault`: adds a fault to the proxy; it applies from the next read of each connection.
    pub(super) async fn fault(&mut self, proxy: &Option<String>, spec: &FaultSpec) -> StepResult {
        let index = self.proxy_index(proxy);
        let spec = spec.clone();
        self.on_proxy(index, |p| {
            Box::pin(async move { Ok(p.add_fault(spec).await?) })
        })
        .await
    }

    /// `clear_fault`: clears the proxy's faults named `name`, or all; a
    /// name no fault in effect has fails (a typo would clear nothing).
    pub(super) async fn clear_fault(
        &mut self,
        proxy: &Option<String>,
        name: Option<&str>,
    ) -> StepResult {
        let index = self.proxy_index(proxy);
        let driver = &self.proxies[index];
        let known: Vec<String> = driver
            .proxy
            .faults()
            .iter()
            .map(|fault| fault.name.to_string())
            .collect();
        if let Some(name) = name
            && !known.iter().any(|known| known == name)
        {
            return Err(StepFailure::NoFault {
                proxy: driver.name.clone(),
                fault: name.to_owned(),
                known,
            });
        }
        let name = name.map(str::to_owned);
        self.on_proxy(index, |p| {
            Box::pin(async move { Ok(p.clear(name.as_deref()).await?) })
        })
        .await
    }

    /// `expect_fault`: waits until the fault named `name` has fired on the
    /// proxy (on connection `connection`, or on any). A fault that is not
    /// in effect and has not fired cannot fire: that fails at once.
    pub(super) async fn expect_fault(
        &mut self,
        proxy: &Option<String>,
        name: &str,
        connection: &ConnectionRef,
        timeout: Option<Duration>,
    ) -> StepResult {
        let index = self.proxy_index(proxy);
        let conn = self.proxy_conn(index, connection)?;
        let driver = &self.proxies[index];
        let in_effect = driver.proxy.faults().iter().any(|f| *f.name == *name);
        let state = self.journal.proxy(index);
        if !in_effect && !state.has_fired(name, None) {
            let known = driver
                .proxy
                .faults()
                .iter()
                .map(|fault| fault.name.to_string())
                .collect();
            return Err(StepFailure::NoFault {
                proxy: driver.name.clone(),
                fault: name.to_owned(),
                known,
            });
        }
        let within = self.timeout(timeout);
        let fired = self
            .wait_for(within, |j| {
                j.proxy(index).has_fired(name, conn).then_some(()).into()
            })
            .await;
        if fired.is_ok() {
            self.journal.sync_fault(index, name);
            self.stream();
        }
        fired.map_err(|why| match why {
            Waited::TimedOut => {
                let state = self.journal.proxy(index);
                let mut elsewhere: Vec<u32> = state
                    .fired
                    .iter()
                    .filter(|(fired, _)| **fired == *name)
                    .map(|(_, on)| *on)
                    .collect();
                elsewhere.dedup();
                StepFailure::FaultNotFired {
                    fault: name.to_owned(),
                    conn,
                    within,
                    elsewhere,
                }
            }
            Waited::Stuck | Waited::Never(_) => self.stuck(),
        })
    }

    /// `proxy_down`: takes the proxy's port down.
    pub(super) async fn proxy_down(
        &mut self,
        proxy: &Option<String>,
        mode: DownMode,
    ) -> StepResult {
        let index = self.proxy_index(proxy);
        self.on_proxy(index, |p| Box::pin(p.down(mode))).await
    }

    /// `proxy_up`: the proxy listens again on the same port.
    pub(super) async fn proxy_up(&mut self, proxy: &Option<String>) -> StepResult {
        let index = self.proxy_index(proxy);
        self.on_proxy(index, |p| Box::pin(p.up())).await
    }

    /// `proxy_expect`: waits until `pattern` matches what passed through
    /// the proxy in `direction` (on `connection`, or all connections
    /// together), and consumes it.
    pub(super) async fn proxy_expect(
        &mut self,
        proxy: &Option<String>,
        pattern: &Pattern,
        direction: Direction,
        connection: &ConnectionRef,
        timeout: Option<Duration>,
    ) -> StepResult {
        let index = self.proxy_index(proxy);
        let conn = self.proxy_conn(index, connection)?;
        let matcher = self.matcher(pattern)?;
        let mut seek = Seek::new(&matcher);
        let mut pending = None;
        let name = self.proxies[index].name.clone();
        let waited = self
            .wait_for(self.timeout(timeout), |j| {
                let passed = j.proxy_mut(index).passed_mut(direction);
                let output = match conn {
                    Some(conn) => passed.conns.entry(conn).or_default(),
                    None => &mut passed.all,
                };
                let ended = output.ended();
                let look = output.take(&matcher, &mut seek);
                checked(look, &mut pending, || {
                    conn.filter(|_| ended)
                        .map(|conn| Because::ProxyConnectionEnded {
                            proxy: name.clone(),
                            conn,
                            direction: direction.name(),
                        })
                })
            })
            .await;
        let matched = waited.map_err(|why| {
            let passed = self.journal.proxy(index).passed(direction);
            let empty = OutputBuffer::default();
            let output = match conn {
                Some(conn) => passed.conns.get(&conn).unwrap_or(&empty),
                None => &passed.all,
            };
            self.unmatched(why, pattern, timeout, output, pending)
        })?;
        self.capture(matched);
        self.journal.sync_proxy(index, direction, conn);
        self.stream();
        Ok(())
    }

    /// Returns how many connections the proxies in front of the server
    /// accepted (for `expect_connections` with a server program).
    pub(super) fn proxied_connections(&self) -> u32 {
        self.proxies
            .iter()
            .enumerate()
            .filter(|(_, driver)| driver.to_server)
            .map(|(index, _)| self.journal.proxy(index).accepted)
            .sum()
    }
}
