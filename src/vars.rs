//! Substitutes scenario variables: `${port}`, `${tmp}`, `${env.NAME}`, `--var` values and `expect` captures.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// Holds the values given on the command line (`--var`, `--secret`), and
/// which of them are secrets (written as `***` wherever tcprun shows text).
#[derive(Debug, Clone, Default)]
pub struct Given {
    /// Every value by name.
    pub values: BTreeMap<String, String>,
    /// The names given with `--secret`.
    pub secrets: std::collections::BTreeSet<String>,
}

impl Given {
    /// Collects `--var` and `--secret` values (a later one of the same name wins).
    pub fn new(vars: &[(String, String)], secrets: &[(String, String)]) -> Self {
        let mut given = Given::default();
        for (name, value) in vars {
            given.secrets.remove(name);
            given.values.insert(name.clone(), value.clone());
        }
        for (name, value) in secrets {
            given.secrets.insert(name.clone());
            given.values.insert(name.clone(), value.clone());
        }
        given
    }

    /// Returns the values of the secrets: those given with `--secret`, and
    /// those of the environment variables named in `env_secrets`.
    pub fn secret_values(&self, env_secrets: &[String]) -> Vec<String> {
        let given = self
            .secrets
            .iter()
            .filter_map(|name| self.values.get(name).cloned());
        let env = env_secrets
            .iter()
            .filter_map(|name| std::env::var(name).ok());
        given.chain(env).filter(|value| !value.is_empty()).collect()
    }
}

/// Holds the values variables stand for in one scenario run.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    /// `${port}`: the server's port.
    pub port: u16,
    /// `${tmp}`: the scenario's own folder.
    pub tmp: PathBuf,
    /// `--var name=value` and the named groups of earlier `expect`s.
    pub values: BTreeMap<String, String>,
}

/// Reports a variable that has no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown variable `${{{name}}}`: {why}")]
pub struct Unknown {
    /// The variable's name.
    pub name: String,
    /// Why it has no value.
    pub why: &'static str,
}

impl Vars {
    /// Returns the value of `name`, if it has one.
    pub fn get(&self, name: &str) -> Result<String, Unknown> {
        match name {
            "port" => Ok(self.port.to_string()),
            "tmp" => Ok(self.tmp.to_string_lossy().into_owned()),
            _ => match name.strip_prefix("env.") {
                Some(env) => std::env::var(env).map_err(|_| Unknown {
                    name: name.to_owned(),
                    why: "no such environment variable",
                }),
                None => self.values.get(name).cloned().ok_or_else(|| Unknown {
                    name: name.to_owned(),
                    why: "not given with --var and not captured by an earlier expect",
                }),
            },
        }
    }

    /// Replaces every `${name}` in `text`; an unknown name is an error.
    pub fn apply(&self, text: &str) -> Result<String, Unknown> {
        replace(text, |name| self.get(name).map(Some))
    }

    /// Replaces every `${name}` in `text`, with each value escaped for a regex.
    pub fn apply_regex(&self, text: &str) -> Result<String, Unknown> {
        replace(text, |name| self.get(name).map(|v| Some(regex::escape(&v))))
    }

    /// Replaces the `${name}`s that have a value, leaving others (such as a
    /// shell's own `${HOME}`) as they are: for a program's argv, env and cwd.
    pub fn apply_known(&self, text: &str) -> String {
        replace(text, |name| Ok(self.get(name).ok())).unwrap_or_else(|_| text.to_owned())
    }

    /// Describes `program` as a launch, with the variables replaced.
    pub fn launch(
        &self,
        program: &crate::scenario::ProgramSpec,
        stdin: bool,
    ) -> crate::process::Launch {
        crate::process::Launch {
            argv: program.argv.iter().map(|a| self.apply_known(a)).collect(),
            env: program
                .env
                .iter()
                .map(|(k, v)| (k.clone(), self.apply_known(v)))
                .collect(),
            cwd: program.cwd.as_ref().map(|cwd| {
                program
                    .folder
                    .join(self.apply_known(&cwd.to_string_lossy()))
            }),
            stdin,
            inherit: false,
        }
    }
}

/// Returns true when `text` mentions a variable.
pub fn has_placeholders(text: &str) -> bool {
    names(text).next().is_some()
}

/// Returns the names of the `${name}`s in `text`.
pub fn names(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        loop {
            let start = rest.find("${")?;
            let after = &rest[start + 2..];
            let end = after.find('}')?;
            let name = &after[..end];
            rest = &after[end + 1..];
            if is_name(name) {
                return Some(name);
            }
        }
    })
}

/// Returns true for names like `port`, `token`, `env.HOME`, `user_id`.
pub fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

fn replace(
    text: &str,
    mut value: impl FnMut(&str) -> Result<Option<String>, Unknown>,
) -> Result<String, Unknown> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            break;
        };
        let name = &after[..end];
        out.push_str(&rest[..start]);
        match is_name(name).then(|| value(name)).transpose()?.flatten() {
            Some(v) => out.push_str(&v),
            None => out.push_str(&rest[start..start + 3 + end]),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        let mut vars = Vars {
            port: 4001,
            tmp: PathBuf::from("/tmp/x"),
            values: BTreeMap::new(),
        };
        vars.values.insert("token".into(), "a.b".into());
        vars
    }

    #[test]
    fn replaces_builtins_values_and_environment() {
        let v = vars();
        assert_eq!(
            v.apply("AUTH ${token} on ${port} in ${tmp}").unwrap(),
            "AUTH a.b on 4001 in /tmp/x"
        );
        assert_eq!(
            v.apply("${env.PATH}").unwrap(),
            std::env::var("PATH").unwrap()
        );
        assert_eq!(v.apply_regex("^${token}$").unwrap(), r"^a\.b$");
    }

    #[test]
    fn unknown_names_are_errors_in_data_and_kept_for_programs() {
        let v = vars();
        assert_eq!(v.apply("${nope}").unwrap_err().name, "nope");
        assert_eq!(v.apply_known("echo ${HOME} ${port}"), "echo ${HOME} 4001");
        assert_eq!(
            v.apply("not a var: ${ x } and $5").unwrap(),
            "not a var: ${ x } and $5"
        );
    }

    #[test]
    fn finds_placeholder_names() {
        assert_eq!(
            names("${a} and ${env.B} but not ${1x}").collect::<Vec<_>>(),
            ["a", "env.B"]
        );
        assert!(!has_placeholders("^hello$"));
    }
}
