//! Runs one scenario: starts its server and clients, executes its steps over the event stream, and records the result.

mod drivers;
mod held;
mod journal;
mod output;
mod scheduler;
mod steps;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::client::{self, ClientOptions, ReconnectPolicy};
use crate::event::{Clock, Emitter, Report, Source};
use crate::scenario::{self, OutputMode, Scenario, ServerSpec};
use crate::server::{FakeOptions, FakeServer, ProgramServer};
use crate::vars::Vars;
use drivers::{ClientDriver, ProgramClient, ServerDriver};
use journal::{ClientInfo, Journal};
pub use output::OUTPUT_CAP;
use scheduler::{Fired, Pace, Scheduler};

/// Caps the reports waiting to be folded; reporters wait beyond it.
const REPORT_QUEUE: usize = 1024;

/// Says how a scenario ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every step passed.
    Passed,
    /// A step failed.
    Failed(Failure),
    /// The scenario could not run (e.g. the port is taken).
    Error(String),
}

/// Describes a failed step: where it is, what it expected, what it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// 1-based line of the step (0: not tied to a step).
    pub line: usize,
    /// 1-based column of the step.
    pub col: usize,
    /// The step as written.
    pub step: String,
    /// What went wrong, in one sentence.
    pub message: String,
    /// What had arrived but did not match (its tail), if anything.
    pub received: Option<String>,
}

/// Records one executed step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRecord {
    /// 1-based line of the step.
    pub line: usize,
    /// The step's name.
    pub name: &'static str,
    /// Wall-clock time it took.
    pub duration: Duration,
    /// Whether it passed.
    pub passed: bool,
}

/// Holds the result of one scenario run.
#[derive(Debug, Clone)]
pub struct ScenarioResult {
    /// The scenario's file.
    pub path: PathBuf,
    /// The scenario's name.
    pub name: String,
    /// How it ended.
    pub verdict: Verdict,
    /// The transcript, one line per event.
    pub transcript: Vec<String>,
    /// The executed steps, in order.
    pub steps: Vec<StepRecord>,
    /// Wall-clock time of the whole run.
    pub duration: Duration,
}

/// Receives transcript lines as they are settled (for `--verbose`).
pub type LineSink = Box<dyn FnMut(&str) + Send>;

/// Runs `scenario` to its end and returns its result. Every task and socket
/// it started is gone when this returns.
pub async fn run(
    scenario: &Scenario,
    live: Option<LineSink>,
    given: &BTreeMap<String, String>,
) -> ScenarioResult {
    let started = Instant::now();
    let mut steps = Vec::new();
    let mut transcript = Vec::new();
    let verdict = match Conductor::start(scenario, live, given).await {
        Err(message) => Verdict::Error(message),
        Ok(mut conductor) => {
            let outcome =
                tokio::time::timeout(scenario.timeout, conductor.run_steps(scenario, &mut steps))
                    .await;
            let verdict = match outcome {
                Ok(Ok(())) => Verdict::Passed,
                Ok(Err(failure)) => Verdict::Failed(failure),
                Err(_) => {
                    let index = steps.len().min(scenario.steps.len().saturating_sub(1));
                    let step = &scenario.steps[index];
                    let mut still = conductor.journal.unsettled();
                    still.extend(conductor.running_programs());
                    if still.is_empty() {
                        still.push("waiting for the step's condition".into());
                    }
                    Verdict::Failed(Failure {
                        line: step.line,
                        col: step.col,
                        step: step.text.clone(),
                        message: format!(
                            "the scenario timed out after {} (its `timeout:`); still running: {}",
                            humantime::format_duration(scenario.timeout),
                            still.join("; ")
                        ),
                        received: None,
                    })
                }
            };
            conductor.finish().await;
            transcript = conductor.journal.transcript().to_vec();
            verdict
        }
    };
    ScenarioResult {
        path: scenario.path.clone(),
        name: scenario.name.clone(),
        verdict,
        transcript,
        steps,
        duration: started.elapsed(),
    }
}

/// Says why a wait ended without its condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Waited {
    /// Its timeout passed (on the scenario clock).
    TimedOut,
    /// The conversation never settled within the real-time bound.
    Stuck,
}

struct ClientSlot {
    name: String,
    driver: ClientDriver,
    /// Connects already consumed by `wait_connected`/`wait_reconnect`.
    connects_seen: u32,
    /// Errors already consumed by `expect_error`.
    errors_seen: usize,
    /// Closes already consumed by `expect_closed`.
    closes_seen: usize,
}

/// Owns everything one scenario runs: the event stream, the journal, the
/// clock, the server and the clients.
struct Conductor {
    reports: mpsc::Receiver<Report>,
    journal: Journal,
    scheduler: Scheduler,
    server: Option<ServerDriver>,
    clients: Vec<ClientSlot>,
    shutdown: CancellationToken,
    default_timeout: Duration,
    live: Option<LineSink>,
    /// The scenario's own folder (`${tmp}`), removed when it ends.
    _tmp: tempfile::TempDir,
    /// What `${name}`s stand for; captures are added as steps match.
    vars: Vars,
}

impl Conductor {
    async fn start(
        scenario: &Scenario,
        live: Option<LineSink>,
        given: &BTreeMap<String, String>,
    ) -> Result<Self, String> {
        let (tx, reports) = mpsc::channel(REPORT_QUEUE);
        let shutdown = CancellationToken::new();
        let tmp = tempfile::Builder::new()
            .prefix("tcprun-")
            .tempdir()
            .map_err(|error| format!("cannot create the scenario's temporary folder: {error}"))?;
        let server_emitter = Emitter::new(tx.clone(), Source::Server, Clock::Scheduled);
        let (server, host, port, fake, server_output) = match &scenario.server {
            ServerSpec::Fake(spec) => {
                let banner = spec.banner.as_ref().map(|d| d.literal()).transpose();
                let banner = banner.map_err(|error| format!("cannot send the banner: {error}"))?;
                let options = FakeOptions {
                    kind: spec.kind,
                    banner: banner.map(Bytes::from),
                    half_open: spec.half_open,
                };
                let server = FakeServer::bind(
                    &spec.host,
                    spec.port,
                    options,
                    server_emitter,
                    shutdown.clone(),
                )
                .map_err(|error| format!("cannot start the fake server: {error}"))?;
                let port = server.addr().port();
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
                    tmp: tmp.path().to_owned(),
                    values: given.clone(),
                    ..Vars::default()
                };
                let server = ProgramServer::new(spec.clone(), server_emitter, vars)
                    .map_err(|error| format!("cannot start the server program: {error}"))?;
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
        let pace = if fake.is_some() && !programs {
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
            })
            .collect();
        let mut conductor = Conductor {
            reports,
            journal: Journal::new(&infos, fake, server_output, port),
            scheduler: Scheduler::new(pace),
            server,
            clients: Vec::new(),
            shutdown,
            default_timeout: scenario.default_timeout,
            live,
            vars: Vars {
                port,
                tmp: tmp.path().to_owned(),
                values: given.clone(),
            },
            _tmp: tmp,
        };
        // The folder's name differs from run to run: mask it like the port.
        let folder = conductor.vars.tmp.to_string_lossy().into_owned();
        conductor.journal.mask_value("tmp", &folder);
        let start_server = match &scenario.server {
            ServerSpec::Fake(spec) => spec.start,
            ServerSpec::Command(spec) => spec.start,
            ServerSpec::External { .. } => false,
        };
        if start_server {
            conductor
                .start_server()
                .await
                .map_err(|error| match error.received {
                    Some(output) => format!(
                        "{}; its last output:\n    | {}",
                        error.message,
                        output.lines().collect::<Vec<_>>().join("\n    | ")
                    ),
                    None => error.message,
                })?;
            conductor
                .settle()
                .await
                .map_err(|_| "the server did not settle after starting".to_owned())?;
        }
        // Clients start one at a time, each settled before the next, so that
        // connection order is the declaration order.
        for (index, spec) in scenario.clients.iter().enumerate() {
            let emitter = Emitter::new(tx.clone(), Source::Client(index), Clock::Scheduled);
            let driver = match &spec.command {
                None => {
                    let options = client_options(spec, &host, port);
                    let (handle, task) =
                        client::spawn(options, emitter, conductor.shutdown.clone());
                    // Busy until its first report.
                    conductor.journal.wake(index);
                    ClientDriver::BuiltIn {
                        handle,
                        task: Some(task),
                    }
                }
                Some(command) => {
                    let launch = conductor.vars.launch(&command.program, true);
                    let client = ProgramClient::start(launch, emitter, spec.quit_word.clone())
                        .await
                        .map_err(|error| format!("cannot start client {}: {error}", spec.name))?;
                    ClientDriver::Program(client)
                }
            };
            conductor.clients.push(ClientSlot {
                name: spec.name.clone(),
                driver,
                connects_seen: 0,
                errors_seen: 0,
                closes_seen: 0,
            });
            conductor
                .settle()
                .await
                .map_err(|_| format!("client {} did not settle after starting", spec.name))?;
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
        for step in &scenario.steps {
            let began = Instant::now();
            let result = self.step(&step.value).await;
            let result = match result {
                Ok(()) => self.settle().await.map_err(|_| steps::StepError {
                    message: format!(
                        "the conversation did not settle within {}: {}",
                        humantime::format_duration(self.default_timeout),
                        self.journal.unsettled().join("; ")
                    ),
                    received: None,
                }),
                Err(error) => Err(error),
            };
            records.push(StepRecord {
                line: step.line,
                name: step.value.name(),
                duration: began.elapsed(),
                passed: result.is_ok(),
            });
            if let Err(error) = result {
                let _ = self.settle().await;
                return Err(Failure {
                    line: step.line,
                    col: step.col,
                    step: step.text.clone(),
                    message: error.message,
                    received: error.received,
                });
            }
        }
        Ok(())
    }

    /// Folds every report already queued.
    fn drain(&mut self) {
        while let Ok(report) = self.reports.try_recv() {
            self.fold(report);
        }
    }

    fn fold(&mut self, report: Report) {
        fold(&mut self.scheduler, &mut self.journal, report);
    }

    /// Closes the transcript window, streaming its lines when live.
    fn close_window(&mut self) {
        self.journal.close_window();
        self.stream();
    }

    /// Streams the transcript lines written since the last call, when live.
    fn stream(&mut self) {
        let lines = self.journal.unstreamed();
        if let Some(live) = &mut self.live {
            for line in lines {
                live(line);
            }
        }
    }

    /// Waits until nothing is in flight (no timer fires meanwhile).
    async fn settle(&mut self) -> Result<(), Waited> {
        let deadline = Instant::now() + self.default_timeout;
        loop {
            self.drain();
            if self.journal.settled() {
                self.close_window();
                return Ok(());
            }
            tokio::select! {
                report = self.reports.recv() => match report {
                    Some(report) => self.fold(report),
                    None => return Err(Waited::Stuck),
                },
                () = tokio::time::sleep_until(deadline) => return Err(Waited::Stuck),
            }
        }
    }

    /// Waits until `condition` gives a value, letting timers fire whenever
    /// the conversation is settled, for at most `timeout` of scenario time.
    async fn wait_for<T>(
        &mut self,
        timeout: Duration,
        mut condition: impl FnMut(&mut Journal) -> Option<T>,
    ) -> Result<T, Waited> {
        let timer = self.scheduler.add_runner(timeout);
        // In virtual time the timeout fires as soon as all is settled; this
        // real-time bound only catches a conversation that never settles.
        let real_deadline = Instant::now() + timeout.max(self.default_timeout);
        loop {
            self.drain();
            if let Some(value) = condition(&mut self.journal) {
                self.scheduler.cancel(timer);
                self.journal.sync_programs();
                self.stream();
                return Ok(value);
            }
            if self.journal.settled() {
                self.close_window();
                match self.scheduler.fire() {
                    Some(Fired::Runner(id)) if id == timer => return Err(Waited::TimedOut),
                    Some(Fired::Runner(_)) => continue,
                    Some(Fired::Client(index)) => {
                        self.journal.wake(index);
                        continue;
                    }
                    None => {}
                }
            }
            // Timers fire only when settled: until then a due timer is no
            // reason to wake (waking for it would spin), only reports are.
            let wake_at = match self.scheduler.pace() {
                Pace::Real if self.journal.settled() => self
                    .scheduler
                    .next_deadline()
                    .map_or(real_deadline, |d| d.min(real_deadline)),
                Pace::Real | Pace::Virtual => real_deadline,
            };
            tokio::select! {
                report = self.reports.recv() => match report {
                    Some(report) => self.fold(report),
                    None => return Err(Waited::Stuck),
                },
                () = tokio::time::sleep_until(wake_at) => {
                    if Instant::now() >= real_deadline {
                        self.scheduler.cancel(timer);
                        return Err(if self.scheduler.pace() == Pace::Real {
                            Waited::TimedOut
                        } else {
                            Waited::Stuck
                        });
                    }
                }
            }
        }
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
        self.server = None;
    }
}

/// Folds one report: its timer request into the scheduler, its events into the journal.
fn fold(scheduler: &mut Scheduler, journal: &mut Journal, mut report: Report) {
    if let (Some(timer), Source::Client(index)) = (report.timer.take(), report.source) {
        scheduler.add_client(index, timer.delay, timer.wake);
    }
    journal.apply(&report);
}

/// Runs `work` (a write, an end, a quit) while folding the reports that come
/// meanwhile: actors that report while the work is under way must never
/// find the queue full, or a large write would wait on itself.
async fn folding<T>(
    work: impl std::future::Future<Output = T>,
    reports: &mut mpsc::Receiver<Report>,
    scheduler: &mut Scheduler,
    journal: &mut Journal,
) -> T {
    tokio::pin!(work);
    loop {
        tokio::select! {
            biased;
            done = &mut work => return done,
            Some(report) = reports.recv() => fold(scheduler, journal, report),
        }
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
        ..ClientOptions::new(host, spec.port.unwrap_or(server_port))
    }
}
