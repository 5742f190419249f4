//! The `tcprun` binary: parses the command line, runs, and maps the outcome to an exit code.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use tcprun::cli::{Cli, Command, RunArgs};
use tcprun::process::supervise;
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
        eprintln!("tcprun: internal error (please report it): {info}");
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
        Err(error) => {
            eprintln!("tcprun: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match cli.command {
        Some(Command::Connect(args)) => match runtime.block_on(tcprun::connect::run(args)) {
            Ok(ended) => ExitCode::from(ended.exit_code(tcprun::connect::Role::Connect)),
            Err(error) => {
                eprintln!("tcprun connect: {error}");
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
            tcprun::proxy::command::exit(runtime.block_on(tcprun::proxy::command::run(args)))
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
            "tcprun: no scenario given\n\nUsage: tcprun [OPTIONS] PATH...   (or tcprun --help)"
        );
        return ExitCode::from(INVALID);
    }
    let scenarios = match suite::load_all(paths, &Given::new(&args.var, &args.secret)) {
        Ok(scenarios) => suite::select(scenarios, args),
        Err(errors) => return invalid(errors),
    };
    // A filter that matches nothing is a mistake, not a green run. (A shard
    // may be empty: there can be more shards than files.)
    if scenarios.is_empty() && !args.filter.is_empty() {
        eprintln!(
            "tcprun: no scenario matches --filter {}\n\nhint: --list shows the scenarios and their names",
            args.filter.join(", --filter ")
        );
        return ExitCode::from(INVALID);
    }
    if args.list {
        suite::list(&scenarios);
        return ExitCode::SUCCESS;
    }
    // A report that cannot be written is found now, not after the run.
    if let Err(message) = suite::check_reports(args) {
        eprintln!("tcprun: {message}");
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
        Err(error) => {
            eprintln!("tcprun serve: {error}");
            ExitCode::FAILURE
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
