//! Runs one scenario: starts its server and clients, executes its steps over the event stream, and records the result.
//!
//! # Parts
//! - `drivers`: the server (fake or program) and each client (built-in or program) behind one interface each.
//! - `proxies`: the scenario's fault proxies as actors: their reporter, their waits on the scenario's clock.
//! - `journal`: the fold of the event stream, in parts: the state steps wait on, settle accounting, held program output.
//! - `output`: received text for `expect`, consumed as patterns match.
//! - `frames`: received frames for `expect_frame`, taken one at a time.
//! - `scheduler`: every timer of the scenario on one clock, virtual or real.
//! - `wait`: folding reports, settling, and waiting while timers fire.
//! - `steps`: each kind of step: the dispatch, client steps, server steps.
//! - `failure`: why a step failed or a scenario could not start, rendered as the reports say it: what a wait was for and why it cannot succeed, the step failure, its sentence, the start error.

mod drivers;
mod failure;
mod frames;
mod journal;
mod output;
mod proxies;
mod scheduler;
mod steps;
mod wait;

use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::client::{self, ClientOptions, ReconnectPolicy};
use crate::event::{Clock, Emitter, Report, Source};
use crate::outcome::{Failure, Outcome, Problem, ScenarioResult, StepRecord};
use crate::scenario::{self, OutputMode, Scenario, ServerSpec};
use crate::server::{FakeOptions, FakeServer, ProgramServer};
use crate::vars::{Given, Vars};
use drivers::{ClientDriver, ProgramClient, ServerDriver};
use failure::{StartError, StepFailure};
use journal::{ClientInfo, Journal, ProxyInfo};
pub use output::OUTPUT_CAP;
use proxies::ProxyDriver;
use scheduler::{Pace, Scheduler};
use wait::{Check, Waited, folding};

/// Caps the reports waiting to be folded; reporters wait beyond it.
const REPORT_QUEUE: usize = 256;

/// Receives what `--verbose` streams as a scenario runs.
pub type LineSink = Box<dyn FnMut(Live<'_>) + Send>;

/// Names what `--verbose` streams: transcript lines as they are settled,
/// and, before each step's lines, which step it is (live only: never in
/// the transcript, reports or `--repeat` comparisons).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Live<'a> {
    /// A transcript line.
    Line(&'a str),
    /// A step begins.
    Step {
        /// Its number, from 1.
        number: usize,
        /// Its name.
        name: &'static str,
        /// The scenario file.
        file: &'a std::path::Path,
        /// Its line in the file.
        line: usize,
    },
}

/// Runs `scenario` to its end and returns its result. Every task and socket
/// it started is gone when this returns.
pub async fn run(scenario: &Scenario, live: Option<LineSink>, given: &Given) -> ScenarioResult {
    let started = Instant::now();
    let mut steps = Vec::new();
    let mut transcript = Vec::new();
    let secrets = given.secret_values(&scenario.secret_env);
    // The scenario's `timeout:` bounds everything, its start included.
    let deadline = Instant::now() + scenario.timeout;
    let start = Conductor::start(scenario, live, given, &secrets);
    let outcome = match tokio::time::timeout_at(deadline, start).await {
        Err(_) => Outcome::Error(Problem::NotRun(
            StartError::TimedOut {
                timeout: scenario.timeout,
            }
            .to_string(),
        )),
        Ok(Err(error)) => Outcome::Error(Problem::NotRun(hide(&error.to_string(), &secrets))),
        Ok(Ok(mut conductor)) => {
            let run =
                tokio::time::timeout_at(deadline, conductor.run_steps(scenario, &mut steps)).await;
            // Stopped first, so that each reports the bytes it still held.
            conductor.stop_clients().await;
            let outcome = match run {
                Ok(Ok(())) => {
                    // Framing that stopped after the last step fails it too.
                    let framing = conductor
                        .journal
                        .take_framing_error()
                        .map(|(who, error)| StepFailure::FramingStopped { who, error });
                    match conductor.never_sent().or(framing) {
                        None => Outcome::Passed,
                        Some(failure) => {
                            let last = scenario.steps.len().saturating_sub(1);
                            Outcome::Failed(failure.at(&scenario.steps[last]))
                        }
                    }
                }
                Ok(Err(failure)) => Outcome::Failed(failure),
                Err(_) => {
                    // The step under way counts as run, and failed.
                    if let Some(last) = steps.last_mut()
                        && last.duration.is_zero()
                    {
                        last.duration = conductor.step_began.elapsed();
                    }
                    let index = steps.len().saturating_sub(1);
                    let mut running = conductor.journal.unsettled();
                    running.extend(conductor.running_programs());
                    let timed_out = StepFailure::ScenarioTimedOut {
                        timeout: scenario.timeout,
                        running,
                    };
                    Outcome::Failed(timed_out.at(&scenario.steps[index]))
                }
            };
            conductor.finish().await;
            transcript = conductor.journal.transcript();
            match outcome {
                Outcome::Failed(failure) => Outcome::Failed(Failure {
                    message: conductor.journal.hide(&failure.message),
                    received: failure.received.map(|text| conductor.journal.hide(&text)),
                    ..failure
                }),
                other => other,
            }
        }
    };
    ScenarioResult {
        path: scenario.path.clone(),
        name: scenario.name.clone(),
        outcome,
        transcript,
        steps,
        duration: started.elapsed(),
    }
}

/// Returns `text` with every one of `secrets` as `***`.
fn hide(text: &str, secrets: &[String]) -> String {
    secrets.iter().fold(text.to_owned(), |text, secret| {
        text.replace(secret.as_str(), "***")
    })
}

struct ClientSlot {
    name: String,
    driver: ClientDriver,
    /// How `send_line` and `end` end lines.
    line_ending: scenario::LineEnding,
    /// Connects already consumed by `wait_connected`/`wait_reconnect`.
    connects_seen: u32,
    /// Errors already consumed by `expect_error`.
    errors_seen: usize,
    /// Closes already consumed by `expect_closed`.
    closes_seen: usize,
    /// Bytes never sent that `expect_unsent` expected.
    unsent_seen: u64,
}

/// Owns everything one scenario runs: the event stream, the journal, the
/// clock, the server and the clients.
struct Conductor {
    reports: mpsc::Receiver<Report>,
    journal: Journal,
    scheduler: Scheduler,
    server: Option<ServerDriver>,
    clients: Vec<ClientSlot>,
    /// The proxies, in declaration order.
    proxies: Vec<ProxyDriver>,
    shutdown: CancellationToken,
    default_timeout: Duration,
    live: Option<LineSink>,
    /// While set (a `send` in pieces), the transcript window stays open.
    window_held: bool,
    /// The scenario's own folder (`${tmp}`), removed when it ends (or on
    /// Ctrl-C, SIGTERM or a panic, by `process::remove_temp_folders`); made
    /// only for a scenario that writes `${tmp}`.
    _tmp: Option<crate::process::TempFolder>,
    /// What `${name}`s stand for; captures are added as steps match.
    vars: Vars,
    /// When the step under way began.
    step_began: Instant,
}

impl Conductor {
    async fn start(
        scenario: &Scenario,
        live: Option<LineSink>,
        given: &Given,
        secrets: &[String],
    ) -> Result<Self, StartError> {
        let (tx, reports) = mpsc::channel(REPORT_QUEUE);
        let shutdown = CancellationToken::new();
        let tmp = match scenario.uses_tmp {
            true => Some(crate::process::TempFolder::new().map_err(StartError::TempFolder)?),
            false => None,
        };
        let tmp_path = tmp
            .as_ref()
            .map(|t| t.path().to_owned())
            .unwrap_or_default();
        let server_emitter = Emitter::new(tx.clone(), Source::Server, Clock::Scheduled);
        let (server, host, port, fake, server_output) = match &scenario.server {
            ServerSpec::Fake(spec) => {
                let banner = spec.banner.as_ref().map(|d| d.literal()).transpose();
                let banner = banner.map_err(StartError::Banner)?;
                let options = FakeOptions {
                    kind: spec.kind,
                    // A rules server's banner comes from its rules.
                    banner: banner.filter(|_| spec.rules.is_none()).map(Bytes::from),
                    half_open: spec.half_open,
                    rules: None,
                };
                let mut server = FakeServer::bind(
                    &spec.host,
                    spec.port,
                    options,
                    server_emitter,
                    shutdown.clone(),
                )
                .map_err(StartError::FakeServer)?;
                let port = server.addr().port();
                if let Some(rules) = &spec.rules {
                    // The proxies start after the server: no `${NAME.port}` in replies.
                    let vars = Vars {
                        port,
                        tmp: tmp_path.clone(),
                        values: given.values.clone(),
                        proxy_ports: std::collections::BTreeMap::new(),
                    };
                    let set = rules
                        .build(spec.banner.as_ref(), &vars)
                        .map_err(StartError::Rules)?;
                    server.set_rules(std::sync::Arc::new(crate::server::ServerRules {
                        set: std::sync::Arc::new(set),
                        framing: spec
                            .framing
                            .clone()
                            .unwrap_or_else(crate::framing::FramingSpec::line),
                        labels: rules.labels().into_iter().map(Into::into).collect(),
                    }));
                }
                (
                    Some(ServerDriver::Fake(server)),
                    spec.host.clone(),
                    port,
                    Some(spec.kind),
                    false,
                )
            }
            ServerSpec::Command(spec) => {
                let vars = Vars {
                    tmp: tmp_path.clone(),
                    values: given.values.clone(),
                    ..Vars::default()
                };
                let server = ProgramServer::new(spec.clone(), server_emitter, vars)
                    .map_err(StartError::ServerProgram)?;
                let (host, port) = (server.host().to_owned(), server.port());
                let transcript = spec.output == OutputMode::Transcript;
                (
                    Some(ServerDriver::Program(Box::new(server))),
                    host,
                    port,
                    None,
                    transcript,
                )
            }
            ServerSpec::External { host, port } => (None, host.clone(), *port, None, false),
        };
        let programs = scenario.clients.iter().any(|c| c.command.is_some());
        // A proxy to an upstream of its own has a side tcprun does not see.
        let elsewhere = scenario
            .proxies
            .iter()
            .any(|p| p.upstream != scenario::Upstream::Server);
        let pace = if fake.is_some() && !programs && !elsewhere {
            Pace::Virtual
        } else {
            Pace::Real
        };
        let infos: Vec<ClientInfo> = scenario
            .clients
            .iter()
            .map(|c| ClientInfo {
                name: c.name.clone(),
                encoding: c.encoding,
                program: c.command.as_ref().map(|command| command.merge_stderr),
                reconnect: c.reconnect,
                framing: c.framing.clone(),
            })
            .collect();
        let proxy_infos: Vec<ProxyInfo> = scenario
            .proxies
            .iter()
            .map(|p| ProxyInfo {
                name: p.name.clone(),
                upstream_seen: fake.is_some() && p.upstream == scenario::Upstream::Server,
                framing: p.framing.clone(),
            })
            .collect();
        let mut conductor = Conductor {
            reports,
            journal: Journal::new(&infos, fake, server_output, port).with_proxies(&proxy_infos),
            scheduler: Scheduler::new(pace),
            server,
            clients: Vec::new(),
            proxies: Vec::new(),
            shutdown,
            default_timeout: scenario.default_timeout,
            live,
            window_held: false,
            vars: Vars {
                port,
                tmp: tmp_path.clone(),
                values: given.values.clone(),
                ..Vars::default()
            },
            _tmp: tmp,
            step_began: Instant::now(),
        };
        if let ServerSpec::Fake(spec) = &scenario.server
            && let Some(framing) = &spec.framing
        {
            let rules = spec.rules.is_some();
            conductor.journal.frame_server(framing.clone(), rules);
        }
        // Secrets never show, from the first line on.
        for secret in secrets {
            conductor.journal.hide_secret(secret);
        }
        // The folder's name differs from run to run: mask it like the port.
        if scenario.uses_tmp {
            let folder = conductor.vars.tmp.to_string_lossy().into_owned();
            conductor
                .journal
                .mask_value("tmp", &folder, crate::transcript::Scope::Everywhere);
        }
        // Proxies listen before the server starts and the clients connect;
        // they dial their upstream for each connection they accept.
        for (index, spec) in scenario.proxies.iter().enumerate() {
            let emitter = Emitter::new(tx.clone(), Source::Proxy(index), Clock::Scheduled);
            let clock = conductor.scheduler.shared_clock();
            let driver = ProxyDriver::start(spec, (&host, port), emitter, clock)
                .await
                .map_err(|source| StartError::Proxy {
                    name: spec.name.clone(),
                    source,
                })?;
            let proxy_port = driver.proxy.addr().port();
            conductor
                .vars
                .proxy_ports
                .insert(spec.name.clone(), proxy_port);
            conductor.journal.mask_value(
                &format!("{}.port", spec.name),
                &proxy_port.to_string(),
                crate::transcript::Scope::Everywhere,
            );
            conductor.proxies.push(driver);
        }
        let start_server = match &scenario.server {
            ServerSpec::Fake(spec) => spec.start,
            ServerSpec::Command(spec) => spec.start,
            ServerSpec::External { .. } => false,
        };
        if start_server {
            conductor
                .start_server()
                .await
                .map_err(|failure| StartError::ServerNotStarted { failure })?;
            conductor
                .settle()
                .await
                .map_err(|_| StartError::ServerUnsettled)?;
        }
        // Clients start one at a time, each settled before the next, so that
        // connection order is the declaration order.
        for (index, spec) in scenario.clients.iter().enumerate() {
            let emitter = Emitter::new(tx.clone(), Source::Client(index), Clock::Scheduled);
            let driver = match &spec.command {
                None => {
                    let via = spec.via.as_ref().and_then(|name| {
                        let index = scenario.proxies.iter().position(|p| &p.name == name)?;
                        Some(conductor.proxies[index].proxy.addr().port())
                    });
                    let mut options = match via {
                        Some(proxy_port) => client_options(spec, "127.0.0.1", proxy_port),
                        None => client_options(spec, &host, port),
                    };
                    if via.is_none()
                        && let Some(ServerDriver::Fake(server)) = &conductor.server
                    {
                        options.blackholes = Some(server.blackholes());
                    }
                    let stop = conductor.shutdown.child_token();
                    let (handle, task) = client::spawn(options, emitter, stop.clone());
                    // Busy until its first report (a client that joins
                    // later reports nothing until its `connect` step).
                    if spec.start {
                        conductor.journal.wake(index);
                    }
                    ClientDriver::BuiltIn {
                        handle,
                        task: Some(task),
                        stop,
                    }
                }
                Some(command) => {
                    let launch = conductor.vars.launch(&command.program, true);
                    let client = ProgramClient::start(launch, emitter, spec.quit_word.clone())
                        .await
                        .map_err(|source| StartError::Client {
                            name: spec.name.clone(),
                            source,
                        })?;
                    ClientDriver::Program(client)
                }
            };
            conductor.clients.push(ClientSlot {
                name: spec.name.clone(),
                driver,
                line_ending: spec.line_ending,
                connects_seen: 0,
                errors_seen: 0,
                closes_seen: 0,
                unsent_seen: 0,
            });
            conductor
                .settle()
                .await
                .map_err(|_| StartError::ClientUnsettled {
                    name: spec.name.clone(),
                })?;
        }
        // For the leak tests: a panic while programs run must not leave them
        // behind. Debug builds only: `cargo install` and release builds have no hook.
        #[cfg(debug_assertions)]
        if std::env::var_os("TCPRUN_TEST_PANIC_AFTER_START").is_some() {
            panic!("TCPRUN_TEST_PANIC_AFTER_START is set");
        }
        Ok(conductor)
    }

    async fn run_steps(
        &mut self,
        scenario: &Scenario,
        records: &mut Vec<StepRecord>,
    ) -> Result<(), Failure> {
        for (index, step) in scenario.steps.iter().enumerate() {
            if let Some(live) = &mut self.live {
                live(Live::Step {
                    number: index + 1,
                    name: step.value.name(),
                    file: &scenario.path,
                    line: step.line,
                });
            }
            let began = Instant::now();
            self.step_began = began;
            // Recorded before it runs: a scenario timeout during it counts it.
            records.push(StepRecord {
                line: step.line,
                name: step.value.name(),
                duration: Duration::ZERO,
                passed: false,
            });
            let result = self.step(&step.value).await;
            let result = match result {
                Ok(()) => self.settle().await.map_err(|_| StepFailure::Unsettled {
                    within: self.default_timeout,
                    unsettled: self.journal.unsettled(),
                }),
                Err(error) => Err(error),
            };
            // A stream that cannot be framed fails the step it happened in.
            let result = result.and_then(|()| match self.journal.take_framing_error() {
                Some((who, error)) => Err(StepFailure::FramingStopped { who, error }),
                None => Ok(()),
            });
            if let Some(record) = records.last_mut() {
                record.duration = began.elapsed().max(Duration::from_nanos(1));
                record.passed = result.is_ok();
            }
            if let Err(error) = result {
                let _ = self.settle().await;
                return Err(error.at(step));
            }
        }
        Ok(())
    }

    /// Describes the programs still running, for a timeout's report.
    fn running_programs(&self) -> Vec<String> {
        let mut running = Vec::new();
        if let Some(ServerDriver::Program(server)) = &self.server
            && let Some(program) = server.program()
        {
            running.push(format!(
                "server program `{}` (process group {})",
                program.name(),
                program.group()
            ));
        }
        for slot in &self.clients {
            if let ClientDriver::Program(client) = &slot.driver
                && client.program().exit().is_none()
            {
                let program = client.program();
                running.push(format!(
                    "client {} `{}` (process group {})",
                    slot.name,
                    program.name(),
                    program.group()
                ));
            }
        }
        running
    }

    /// Stops the built-in clients, folding what they report meanwhile
    /// (bytes they never sent), each for at most the default timeout.
    async fn stop_clients(&mut self) {
        for slot in &mut self.clients {
            if let ClientDriver::BuiltIn { task, stop, .. } = &mut slot.driver
                && let Some(task) = task.take()
            {
                stop.cancel();
                let stopped = folding(
                    task,
                    &mut self.reports,
                    &mut self.scheduler,
                    &mut self.journal,
                );
                let _ = tokio::time::timeout(self.default_timeout, stopped).await;
            }
        }
        // What each reported last is still queued.
        self.drain();
    }

    /// Returns the failure for bytes a client never sent that no step
    /// expected (the first such client's).
    fn never_sent(&self) -> Option<StepFailure> {
        self.clients.iter().enumerate().find_map(|(index, slot)| {
            let client = self.journal.client(index);
            (client.unsent > slot.unsent_seen).then(|| StepFailure::NeverSent {
                client: client.name.clone(),
                bytes: client.unsent - slot.unsent_seen,
            })
        })
    }

    /// Stops every client and the server and waits for their tasks.
    async fn finish(&mut self) {
        self.drain();
        self.close_window();
        self.journal.release_programs();
        self.stream();
        self.shutdown.cancel();
        for slot in &mut self.clients {
            if let ClientDriver::BuiltIn { task, .. } = &mut slot.driver
                && let Some(task) = task.take()
            {
                let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
            }
        }
        // Dropping the drivers kills every program's process group.
        self.clients.clear();
        self.proxies.clear();
        self.server = None;
    }
}

fn client_options(
    spec: &scenario::ClientSpec,
    server_host: &str,
    server_port: u16,
) -> ClientOptions {
    let host = spec.host.clone().unwrap_or_else(|| match server_host {
        "0.0.0.0" => "127.0.0.1".to_owned(),
        "::" => "::1".to_owned(),
        other => other.to_owned(),
    });
    ClientOptions {
        policy: ReconnectPolicy {
            enabled: spec.reconnect,
            interval: spec.retry_interval,
            max_retries: spec.max_retries,
            backoff: match spec.backoff {
                scenario::Backoff::Fixed => client::Backoff::Fixed,
                scenario::Backoff::Exponential => client::Backoff::Exponential {
                    max: spec.max_interval,
                },
            },
            jitter: false,
        },
        connect_timeout: spec.connect_timeout,
        receive_buffer: spec.receive_buffer.map(|size| size as usize),
        start: spec.start,
        retry_unresolved: spec.retry_unresolved,
        ..ClientOptions::new(host, spec.port.unwrap_or(server_port))
    }
}
