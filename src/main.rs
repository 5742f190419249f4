//! The `tcprun` binary: parses the command line, runs, and maps the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;
use tcprun::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `connect` moves bytes between two threads (stdin, stdout) and one
    // task: a single-threaded runtime saves a hop per chunk.
    let mut builder = match cli.command {
        Some(Command::Connect(_)) => tokio::runtime::Builder::new_current_thread(),
        None => tokio::runtime::Builder::new_multi_thread(),
    };
    let runtime = match builder.enable_all().build() {
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
            let summary = runtime.block_on(tcprun::suite::run(&scenarios, &cli.run));
            if summary.failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
