//! Names why a step failed and why a scenario could not start, and renders each as the one sentence the reports show.
//!
//! - `because`: what a wait was for, and why it can no longer succeed.
//! - `step`: why a step failed, and what had arrived unmatched.
//! - `display`: a step failure as the sentence the reports show.
//! - `start`: why a scenario could not start.

mod because;
mod display;
mod start;
mod step;

use std::time::Duration;

pub use because::{Awaited, Because, Closing, GaveUp, LastNews, ServerAction};
pub use start::StartError;
pub use step::StepFailure;

fn duration(duration: Duration) -> humantime::FormattedDuration {
    humantime::format_duration(duration)
}

fn plural(n: u32, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

fn connections(n: u32) -> String {
    format!("{n} accepted {}", plural(n, "connection", "connections"))
}
