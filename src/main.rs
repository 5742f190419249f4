//! The `tcprun` binary: parses the command line, runs, and maps the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;
use tcprun::cli::{Cli, Command};

fn main() -> ExitCode {
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
