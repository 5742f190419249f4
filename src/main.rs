//! The `tcprun` binary: parses the command line, runs, and maps the outcome to an exit code.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use tcprun::cli::{Cli, Command, RunArgs};
use tcprun::process::supervise;
use tcprun::report::error;
use tcprun::suite;
use tcprun::vars::Given;

/// Exit status for invalid input or usage.
const INVALID: u8 = 2;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|arg| arg == supervise::ARG) {
        return supervise::main(&args[2..]);
    }
    // Programs run under this same executable as their supervisor.
    if let Ok(exe) = std::env::current_exe() {
        tcprun::process::supervise_with(exe);
    }
    // Whatever happens, no process tcprun started outlives it: a panic, on
    // any thread, kills every process group, removes every scenario's
    // folder, says so in a line rather than a backtrace, and ends tcprun.
    std::panic::set_hook(Box::new(|info| {
        tcprun::process::kill_all();
        tcprun::process::remove_temp_folders();
        let message = format!("internal error in tcprun (please report it): {info}");
        eprintln!("{}", error(&message, None));
        std::process::exit(101);
    }));
    let cli = Cli::parse();
    // One thread runs every task: a scenario's actors hand each other work
    // all the time, and waking a task on the same thread costs far less.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            let message = format!("cannot start the async runtime: {e}");
            eprintln!("{}", error(&message, None));
            return ExitCode::FAILURE;
        }
    };
    match cli.command {
        Some(Command::Connect(args)) => match runtime.block_on(tcprun::connect::run(args)) {
            Ok(ended) => ExitCode::from(ended.exit_code(tcprun::connect::Role::Connect)),
            Err(e) => {
                eprintln!("{}", error(&e.to_string(), None));
                ExitCode::from(INVALID)
            }
        },
        Some(Command::Serve(args)) => {
            let rules = match &args.rules {
                Some(path) => match tcprun::scenario::load_rules_file(path) {
                    Ok(rules) => Some(rules),
                    Err(error) => return invalid(vec![error]),
                },
                None => None,
            };
            serve(&runtime, args, rules)
        }
        Some(Command::Proxy(args)) => {
            proxy_exit(runtime.block_on(tcprun::proxy::command::run(args)))
        }
        Some(Command::Validate { paths, var, secret }) => {
            match suite::load_all(&paths, &Given::new(&var, &secret)) {
                Ok(scenarios) => {
                    println!("{} valid", plural(scenarios.len(), "scenario", "scenarios"));
                    ExitCode::SUCCESS
                }
                Err(errors) => invalid(errors),
            }
        }
        Some(Command::Schema) => {
            use std::io::Write as _;
            let _ = std::io::stdout().write_all(tcprun::schema::render().as_bytes());
            ExitCode::SUCCESS
        }
        Some(Command::Completions { shell }) => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "tcprun", &mut script);
            use std::io::Write as _;
            let _ = std::io::stdout().write_all(&script);
            ExitCode::SUCCESS
        }
        None => run(&runtime, &cli.paths, &cli.run),
    }
}

/// Runs the scenarios below `paths`.
fn run(
    runtime: &tokio::runtime::Runtime,
    paths: &[std::path::PathBuf],
    args: &RunArgs,
) -> ExitCode {
    if paths.is_empty() {
        eprintln!(
            "{}\n\nUsage: tcprun [OPTIONS] PATH...   (or tcprun --help)",
            error("no scenario given", None)
        );
        return ExitCode::from(INVALID);
    }
    if let Some(message) = not_a_command(paths) {
        eprintln!("{message}");
        return ExitCode::from(INVALID);
    }
    let scenarios = match suite::load_all(paths, &Given::new(&args.var, &args.secret)) {
        Ok(scenarios) => scenarios,
        Err(errors) => return invalid(errors),
    };
    let mut durations = None;
    for path in &args.durations {
        match suite::Durations::read(path) {
            Ok(read) => durations
                .get_or_insert_with(suite::Durations::default)
                .add(read),
            Err(message) => {
                let hint = "give the --json report of an earlier run";
                eprintln!("{}", error(&message, Some(hint)));
                return ExitCode::from(INVALID);
            }
        }
    }
    let scenarios = suite::select(scenarios, args, durations.as_ref());
    // A filter that matches nothing is a mistake, not a green run. (A shard
    // may be empty: there can be more shards than files.)
    if scenarios.is_empty() && !args.filter.is_empty() {
        let message = format!(
            "no scenario matches --filter {}",
            args.filter.join(", --filter ")
        );
        let hint = "--list shows the scenarios and their names";
        eprintln!("{}", error(&message, Some(hint)));
        return ExitCode::from(INVALID);
    }
    if args.list {
        suite::list(&scenarios);
        return ExitCode::SUCCESS;
    }
    // A report that cannot be written is found now, not after the run.
    if let Err(message) = suite::check_reports(args) {
        eprintln!("{}", error(&message, None));
        return ExitCode::from(INVALID);
    }
    let summary = runtime.block_on(async {
        tokio::select! {
            summary = suite::run(scenarios, args) => Ok(summary),
            signal = suite::interrupted() => Err(signal),
        }
    });
    match summary {
        Ok(summary) if summary.failed == 0 && summary.unwritten == 0 => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(signal) => {
            // Workers run on their own threads, which the dropped run does
            // not stop: kill every program group now, then remove the
            // scenarios' folders.
            tcprun::process::kill_all();
            tcprun::process::remove_temp_folders();
            eprintln!("tcprun: interrupted by {signal}; every process it started was stopped");
            ExitCode::from(if signal == "SIGINT" { 130 } else { 143 })
        }
    }
}

/// Runs `tcprun serve` (with the rules of `--rules`, loaded).
fn serve(
    runtime: &tokio::runtime::Runtime,
    args: tcprun::cli::ServeArgs,
    rules: Option<tcprun::scenario::RulesFile>,
) -> ExitCode {
    match runtime.block_on(tcprun::serve::run(args, rules)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("{}", error(&e.to_string(), None));
            ExitCode::FAILURE
        }
    }
}

/// Says that a first path that is a bare word and no file (`tcprun run
/// x.yaml`) is no command either: scenarios run without one.
fn not_a_command(paths: &[std::path::PathBuf]) -> Option<String> {
    let first = paths.first()?;
    let word = first.to_str()?;
    let bare = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !bare || first.exists() {
        return None;
    }
    let message = format!("`{word}` is neither a scenario file nor a command of tcprun");
    let rest: Vec<String> = paths[1..].iter().map(|p| p.display().to_string()).collect();
    let run = if rest.is_empty() {
        "tcprun PATH...".to_owned()
    } else {
        format!("tcprun {}", rest.join(" "))
    };
    let commands: Vec<String> = Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect();
    let hint = format!(
        "scenarios run without a command: `{run}`; the commands are {}",
        commands.join(", ")
    );
    Some(error(&message, Some(&hint)))
}

/// Prints `tcprun proxy`'s error, if any, as every error is written, and
/// returns its exit status.
fn proxy_exit(result: Result<(), tcprun::proxy::command::CommandError>) -> ExitCode {
    use tcprun::proxy::command::CommandError;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let hint = match &e {
                CommandError::Usage { error: input, .. } => input.hint.as_deref(),
                _ => None,
            };
            eprintln!("{}", error(&e.to_string(), hint));
            ExitCode::from(e.exit_code())
        }
    }
}

/// Prints load errors and returns the status for invalid input.
fn invalid(errors: Vec<tcprun::scenario::LoadError>) -> ExitCode {
    for error in errors {
        eprintln!("{error}");
    }
    ExitCode::from(INVALID)
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
