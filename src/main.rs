//! The `tcprun` binary: parses the command line, runs, and maps the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;
use tcprun::cli::{Cli, Command};

fn main() -> ExitCode {
    // Whatever happens, no process tcprun started outlives it: a panic kills
    // every process group first, and says so in a line rather than a backtrace.
    std::panic::set_hook(Box::new(|info| {
        tcprun::process::kill_all();
        eprintln!("tcprun: internal error (please report it): {info}");
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
            Ok(outcome) if outcome.is_success() => ExitCode::SUCCESS,
            Ok(_) => ExitCode::FAILURE,
            Err(error) => {
                eprintln!("tcprun connect: {error}");
                ExitCode::from(2)
            }
        },
        Some(Command::Serve(args)) => match runtime.block_on(tcprun::serve::run(args)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("tcprun serve: {error}");
                ExitCode::FAILURE
            }
        },
        None => {
            if cli.paths.is_empty() {
                eprintln!(
                    "tcprun: no scenario given\n\nUsage: tcprun [OPTIONS] PATH...   (or tcprun --help)"
                );
                return ExitCode::from(2);
            }
            let scenarios = match tcprun::suite::load_all(&cli.paths) {
                Ok(scenarios) => scenarios,
                Err(errors) => {
                    for error in errors {
                        eprintln!("{error}");
                    }
                    return ExitCode::from(2);
                }
            };
            let summary = runtime.block_on(async {
                tokio::select! {
                    summary = tcprun::suite::run(&scenarios, &cli.run) => Ok(summary),
                    signal = tcprun::suite::interrupted() => Err(signal),
                }
            });
            let summary = match summary {
                Ok(summary) => summary,
                Err(signal) => {
                    // The run was dropped, which killed its programs; make sure.
                    tcprun::process::kill_all();
                    eprintln!(
                        "tcprun: interrupted by {signal}; every process it started was stopped"
                    );
                    return ExitCode::from(if signal == "SIGINT" { 130 } else { 143 });
                }
            };
            // The process ends here: freeing thousands of compiled regexes
            // one by one would only delay the exit.
            std::mem::forget(scenarios);
            if summary.failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
