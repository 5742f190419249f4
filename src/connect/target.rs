//! Parses `[HOST] PORT` and `HOST:PORT` targets.

/// Reports a target that names no usable host and port.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// The port is not a number from 1 to 65535.
    #[error("invalid port `{0}`: expected a number from 1 to 65535")]
    Port(String),
    /// The host is empty.
    #[error("empty host in `{0}`")]
    Host(String),
    /// One word with several colons: an IPv6 address, with no port that can be told apart.
    #[error(
        "`{0}` looks like an IPv6 address, and one word cannot tell its port apart\n\nhint: write `[{0}]:PORT`, or the host and the port as two words: `{0} PORT`"
    )]
    BareIpv6(String),
}

/// Returns the host and port of `[HOST] PORT` or `HOST:PORT` (`[::1]:80` for IPv6);
/// the host defaults to `localhost`.
pub fn parse_target(words: &[String]) -> Result<(String, u16), TargetError> {
    match words {
        [host, port] => {
            if host.is_empty() {
                return Err(TargetError::Host(host.clone()));
            }
            let host = host.trim_start_matches('[').trim_end_matches(']');
            Ok((host.to_owned(), parse_port(port)?))
        }
        [one] => {
            if let Ok(port) = one.parse::<u16>() {
                return parse_port(one).map(|_| ("localhost".to_owned(), port));
            }
            if !one.starts_with('[') && one.matches(':').count() > 1 {
                return Err(TargetError::BareIpv6(one.clone()));
            }
            let Some((host, port)) = one.rsplit_once(':') else {
                return Err(TargetError::Port(one.clone()));
            };
            let host = host.trim_start_matches('[').trim_end_matches(']');
            if host.is_empty() {
                return Err(TargetError::Host(one.clone()));
            }
            Ok((host.to_owned(), parse_port(port)?))
        }
        _ => Err(TargetError::Port(words.join(" "))),
    }
}

fn parse_port(text: &str) -> Result<u16, TargetError> {
    match text.parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(TargetError::Port(text.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(words: &[&str]) -> Result<(String, u16), TargetError> {
        parse_target(&words.iter().map(|w| w.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn accepts_every_form() {
        assert_eq!(parse(&["4001"]), Ok(("localhost".into(), 4001)));
        assert_eq!(
            parse(&["example.com", "80"]),
            Ok(("example.com".into(), 80))
        );
        assert_eq!(parse(&["127.0.0.1:7"]), Ok(("127.0.0.1".into(), 7)));
        assert_eq!(parse(&["[::1]:7"]), Ok(("::1".into(), 7)));
        assert_eq!(parse(&["::1", "7"]), Ok(("::1".into(), 7)));
    }

    #[test]
    fn rejects_bad_ports_and_hosts() {
        assert_eq!(parse(&["0"]), Err(TargetError::Port("0".into())));
        assert_eq!(
            parse(&["host", "99999"]),
            Err(TargetError::Port("99999".into()))
        );
        assert_eq!(parse(&["host"]), Err(TargetError::Port("host".into())));
        assert_eq!(parse(&[":80"]), Err(TargetError::Host(":80".into())));
        assert_eq!(parse(&["::1"]), Err(TargetError::BareIpv6("::1".into())));
        assert_eq!(
            parse(&["fe80::1:4001"]),
            Err(TargetError::BareIpv6("fe80::1:4001".into()))
        );
    }
}
