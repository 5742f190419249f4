//! Maps I/O failures to Node-style error codes (`ECONNREFUSED`, `ENOTFOUND`, ...).

use std::io;

use crate::event::NetError;

/// Describes an I/O error by its POSIX code name and a lowercase message.
pub fn net_error(error: &io::Error) -> NetError {
    let code = match error.raw_os_error() {
        Some(raw) => format!("{:?}", nix::errno::Errno::from_raw(raw)),
        None => match error.kind() {
            io::ErrorKind::TimedOut => "ETIMEDOUT".to_owned(),
            io::ErrorKind::ConnectionRefused => "ECONNREFUSED".to_owned(),
            io::ErrorKind::ConnectionReset => "ECONNRESET".to_owned(),
            io::ErrorKind::BrokenPipe => "EPIPE".to_owned(),
            io::ErrorKind::UnexpectedEof => "EOF".to_owned(),
            _ => "EIO".to_owned(),
        },
    };
    NetError {
        code,
        message: human_message(error),
    }
}

/// Describes a host name that did not resolve.
pub fn not_found(host: &str, error: Option<&io::Error>) -> NetError {
    let detail = error
        .map(human_message)
        .unwrap_or_else(|| "no addresses".to_owned());
    NetError {
        code: "ENOTFOUND".to_owned(),
        message: format!("getaddrinfo {host}: {detail}"),
    }
}

/// Describes a connect attempt that took longer than its timeout.
pub fn timed_out(timeout: std::time::Duration) -> NetError {
    NetError {
        code: "ETIMEDOUT".to_owned(),
        message: format!(
            "connect timed out after {}",
            humantime::format_duration(timeout)
        ),
    }
}

/// Returns the error's message without Rust's ` (os error N)` suffix, starting lowercase.
fn human_message(error: &io::Error) -> String {
    let text = error.to_string();
    let text = match text.rfind(" (os error ") {
        Some(at) => &text[..at],
        None => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_errors_get_their_posix_names() {
        let refused = io::Error::from_raw_os_error(nix::libc::ECONNREFUSED);
        assert_eq!(
            net_error(&refused),
            NetError {
                code: "ECONNREFUSED".into(),
                message: "connection refused".into()
            }
        );
        let reset = io::Error::from_raw_os_error(nix::libc::ECONNRESET);
        assert_eq!(net_error(&reset).code, "ECONNRESET");
        let unreachable = io::Error::from_raw_os_error(nix::libc::ENETUNREACH);
        assert_eq!(net_error(&unreachable).code, "ENETUNREACH");
    }

    #[test]
    fn errors_without_os_code_fall_back_on_their_kind() {
        let timeout = io::Error::new(io::ErrorKind::TimedOut, "Too slow");
        assert_eq!(
            net_error(&timeout),
            NetError {
                code: "ETIMEDOUT".into(),
                message: "too slow".into()
            }
        );
    }
}
