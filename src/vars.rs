//! Substitutes scenario variables: `${port}`, `${tmp}`, `${NAME.port}` of a proxy, `${env.NAME}`, `--var` values and `expect` captures.

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
    /// `${NAME.port}`: the port of each proxy, by name.
    pub proxy_ports: BTreeMap<String, u16>,
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
        if let Some(port) = self.proxy_port(name) {
            return Ok(port.to_string());
        }
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

    /// Returns the port `${NAME.port}` stands for, if NAME is a proxy.
    fn proxy_port(&self, name: &str) -> Option<u16> {
        let proxy = name.strip_suffix(".port")?;
        self.proxy_ports.get(proxy).copied()
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

    /// Replaces the `${name}`s of a `shell:` script that have a value, each
    /// quoted for where it stands so that it is one word and never shell
    /// syntax: `'value'` outside quotes, the quotes closed and reopened
    /// around it inside them, an environment variable in a here-document.
    /// Returns the script and the environment variables it needs.
    pub fn apply_shell(&self, script: &str) -> (String, Vec<(String, String)>) {
        Shell::new(self).run(script)
    }

    /// Describes `program` as a launch, with the variables replaced: in
    /// argv, env and cwd as they are, in a `shell:` script shell-quoted.
    pub fn launch(
        &self,
        program: &crate::scenario::ProgramSpec,
        stdin: bool,
    ) -> crate::process::Launch {
        let mut argv: Vec<String> = program.argv.iter().map(|a| self.apply_known(a)).collect();
        let mut env: Vec<(String, String)> = program
            .env
            .iter()
            .map(|(k, v)| (k.clone(), self.apply_known(v)))
            .collect();
        if program.shell
            && let Some(script) = program.argv.get(2)
        {
            let (script, values) = self.apply_shell(script);
            argv[2] = script;
            env.extend(values);
        }
        crate::process::Launch {
            argv,
            env,
            // The scenario's folder, like a relative `cwd:` (a file named
            // without a folder is in the folder tcprun runs in).
            cwd: match &program.cwd {
                Some(cwd) => Some(
                    program
                        .folder
                        .join(self.apply_known(&cwd.to_string_lossy())),
                ),
                None if program.folder.as_os_str().is_empty() => None,
                None => Some(program.folder.clone()),
            },
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

/// Replaces each `${name}` of `text` by `value(name)`; a name whose value
/// is `None` stays as written.
pub(crate) fn replace(
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

/// Substitutes variables in a `shell:` script so that each value is one
/// word and never shell syntax, as it is in a `command:` argv: the script is
/// scanned as `/bin/sh` reads it, and each value is quoted for where it
/// stands. Outside quotes it becomes `'value'` (a `'` inside as `'\''`);
/// inside double quotes it closes them for a moment, `"…"'value'"…"`;
/// inside single quotes, or `$'…'`, the quote is closed, the value quoted
/// and the quote reopened. In a here-document whose delimiter is unquoted
/// it is passed as an environment variable (`${TCPRUN_VALUE_1}`, one per
/// value), which the shell expands once and never parses; in one with a
/// quoted delimiter the shell expands nothing, and the value is pasted as
/// it is (unless a line of it would end the here-document: then it is left
/// out). A `${name}` after a backslash is the shell's, and stays. Names
/// with no value (a shell's own `${HOME}`) stay as written.
struct Shell<'v> {
    vars: &'v Vars,
    out: String,
    /// Values passed as environment variables (here-documents).
    env: Vec<(String, String)>,
    /// Here-documents announced on the current line, to read after it:
    /// (delimiter, quoted, strip leading tabs).
    pending: Vec<(String, bool, bool)>,
    /// Command substitutions (`$(…)`, backquotes) opened inside double
    /// quotes or outside: the quoting to return to, the closing character,
    /// and the parentheses opened inside not yet closed.
    frames: Vec<(Quoting, char, usize)>,
}

/// Says where in a script a `${name}` stands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Quoting {
    /// Outside quotes (also inside `$(…)` and backquotes).
    None,
    /// Inside `"…"`.
    Double,
    /// Inside `'…'`.
    Single,
    /// Inside `$'…'`.
    Ansi,
}

impl<'v> Shell<'v> {
    fn new(vars: &'v Vars) -> Self {
        Shell {
            vars,
            out: String::new(),
            env: Vec::new(),
            pending: Vec::new(),
            frames: Vec::new(),
        }
    }

    /// Returns the `${name}` at the start of `rest` and its value, if it has one.
    fn placeholder(&self, rest: &str) -> Option<(usize, String)> {
        let after = rest.strip_prefix("${")?;
        let end = after.find('}')?;
        let name = &after[..end];
        if !is_name(name) {
            return None;
        }
        let value = self.vars.get(name).ok()?;
        Some((end + 3, value))
    }

    /// Writes `value` quoted for `quoting`. Inside backquotes, whose text
    /// the shell reads once more after taking `\\`, `\``, `\$` as escapes,
    /// those three are escaped once more per level.
    fn quoted(&mut self, value: &str, quoting: Quoting) {
        let mut single = format!("'{}'", value.replace('\'', r"'\''"));
        let levels = self.frames.iter().filter(|f| f.1 == '`').count();
        for _ in 0..levels {
            single = single
                .replace('\\', r"\\")
                .replace('`', r"\`")
                .replace('$', r"\$");
        }
        match quoting {
            Quoting::None => self.out.push_str(&single),
            Quoting::Double => {
                self.out.push('"');
                self.out.push_str(&single);
                self.out.push('"');
            }
            Quoting::Single => {
                self.out.push('\'');
                self.out.push_str(&single);
                self.out.push('\'');
            }
            Quoting::Ansi => {
                self.out.push('\'');
                self.out.push_str(&single);
                self.out.push_str("$'");
            }
        }
    }

    /// Rewrites `script`.
    fn run(mut self, script: &str) -> (String, Vec<(String, String)>) {
        let mut quoting = Quoting::None;
        let mut at = 0;
        // Start of a word: where `#` starts a comment.
        let mut word_start = true;
        while at < script.len() {
            let rest = &script[at..];
            let c = rest.chars().next().unwrap_or_default();
            if c == '$'
                && let Some((len, value)) = self.placeholder(rest)
            {
                self.quoted(&value, quoting);
                at += len;
                word_start = false;
                continue;
            }
            match (quoting, c) {
                (Quoting::Single, '\'') | (Quoting::Double, '"') | (Quoting::Ansi, '\'') => {
                    quoting = Quoting::None;
                }
                (Quoting::Single, _) => {}
                (Quoting::None | Quoting::Double | Quoting::Ansi, '\\') => {
                    // The next character is escaped: copy both.
                    let next = rest[1..].chars().next().map_or(0, char::len_utf8);
                    self.out.push_str(&rest[..1 + next]);
                    at += 1 + next;
                    word_start = false;
                    continue;
                }
                (Quoting::Double, '$') if rest.starts_with("$(") => {
                    self.frames.push((Quoting::Double, ')', 0));
                    quoting = Quoting::None;
                    self.out.push_str("$(");
                    at += 2;
                    word_start = true;
                    continue;
                }
                (Quoting::Double, '`') => {
                    self.frames.push((Quoting::Double, '`', 0));
                    quoting = Quoting::None;
                }
                (Quoting::None, '(') => {
                    if let Some(frame) = self.frames.last_mut() {
                        frame.2 += 1;
                    }
                }
                (Quoting::None, ')') => match self.frames.last_mut() {
                    Some((_, ')', depth)) if *depth > 0 => *depth -= 1,
                    Some((saved, ')', _)) => {
                        quoting = *saved;
                        self.frames.pop();
                    }
                    _ => {}
                },
                (Quoting::None, '`') => match self.frames.last() {
                    Some((saved, '`', _)) => {
                        quoting = *saved;
                        self.frames.pop();
                    }
                    _ => self.frames.push((Quoting::None, '`', 0)),
                },
                (Quoting::None, '\'') => quoting = Quoting::Single,
                (Quoting::None, '"') => quoting = Quoting::Double,
                (Quoting::None, '$') if rest.starts_with("$'") => {
                    quoting = Quoting::Ansi;
                    self.out.push_str("$'");
                    at += 2;
                    word_start = false;
                    continue;
                }
                (Quoting::None, '#') if word_start => {
                    // A comment, to the end of the line.
                    let end = rest.find('\n').unwrap_or(rest.len());
                    self.out.push_str(&rest[..end]);
                    at += end;
                    continue;
                }
                (Quoting::None, '<') if rest.starts_with("<<") && !rest.starts_with("<<<") => {
                    at += self.announce(rest);
                    word_start = false;
                    continue;
                }
                (Quoting::None, '\n') => {
                    self.out.push('\n');
                    at += 1;
                    at += self.bodies(&script[at..]);
                    word_start = true;
                    continue;
                }
                _ => {}
            }
            self.out.push(c);
            at += c.len_utf8();
            word_start = quoting == Quoting::None
                && (c.is_whitespace() || matches!(c, ';' | '&' | '|' | '(' | ')' | '`'));
        }
        (self.out, self.env)
    }

    /// Copies a here-document's redirection (`<<WORD`, `<<-WORD`, with the
    /// word quoted or not) and notes it; returns the bytes it took.
    fn announce(&mut self, rest: &str) -> usize {
        let strip = rest.starts_with("<<-");
        let mut at = if strip { 3 } else { 2 };
        at += rest[at..].len() - rest[at..].trim_start_matches([' ', '\t']).len();
        let word_len = rest[at..]
            .find(|c: char| {
                c.is_whitespace() || matches!(c, ';' | '&' | '|' | '<' | '>' | '(' | ')')
            })
            .unwrap_or(rest.len() - at);
        let word = &rest[at..at + word_len];
        let quoted = word.contains(['\'', '"', '\\']);
        let delimiter: String = word
            .chars()
            .filter(|c| !matches!(c, '\'' | '"' | '\\'))
            .collect();
        if !delimiter.is_empty() {
            self.pending.push((delimiter, quoted, strip));
        }
        self.out.push_str(&rest[..at + word_len]);
        at + word_len
    }

    /// Copies the bodies of the here-documents announced on the line just
    /// ended, substituting as each allows; returns the bytes they took.
    fn bodies(&mut self, rest: &str) -> usize {
        let mut at = 0;
        for (delimiter, quoted, strip) in std::mem::take(&mut self.pending) {
            while at < rest.len() {
                let end = rest[at..].find('\n').map_or(rest.len(), |n| at + n + 1);
                let line = &rest[at..end];
                at = end;
                let bare = line.trim_end_matches('\n');
                let bare = if strip {
                    bare.trim_start_matches('\t')
                } else {
                    bare
                };
                if bare == delimiter {
                    self.out.push_str(line);
                    break;
                }
                self.body_line(line, &delimiter, quoted, strip);
            }
        }
        at
    }

    /// Copies one line of a here-document's body.
    fn body_line(&mut self, line: &str, delimiter: &str, quoted: bool, strip: bool) {
        let mut at = 0;
        while at < line.len() {
            let rest = &line[at..];
            if !quoted && rest.starts_with('\\') {
                let next = rest[1..].chars().next().map_or(0, char::len_utf8);
                self.out.push_str(&rest[..1 + next]);
                at += 1 + next;
                continue;
            }
            if let Some((len, value)) = self.placeholder(rest) {
                if !quoted {
                    let name = format!("TCPRUN_VALUE_{}", self.env.len() + 1);
                    self.out.push_str(&format!("${{{name}}}"));
                    self.env.push((name, value));
                } else if value.lines().any(|l| {
                    let l = if strip { l.trim_start_matches('\t') } else { l };
                    l == delimiter
                }) {
                    self.out.push_str(&rest[..len]);
                } else {
                    self.out.push_str(&value);
                }
                at += len;
                continue;
            }
            let c = rest.chars().next().unwrap_or_default();
            self.out.push(c);
            at += c.len_utf8();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        let mut vars = Vars {
            port: 4001,
            tmp: PathBuf::from("/tmp/x"),
            values: BTreeMap::new(),
            proxy_ports: BTreeMap::from([("proxy".into(), 4002)]),
        };
        vars.values.insert("token".into(), "a.b".into());
        vars
    }

    #[test]
    fn replaces_builtins_values_and_environment() {
        let v = vars();
        assert_eq!(v.apply("${proxy.port}").unwrap(), "4002");
        assert!(v.apply("${other.port}").is_err());
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

    /// Runs `script` with `${v}` = `value` the way a `shell:` program runs,
    /// in a fresh folder; returns its stdout and whether `pwned` was made.
    fn shell(script: &str, value: &str) -> (String, bool) {
        let dir = tempfile::tempdir().unwrap();
        let mut vars = vars();
        vars.values.insert("v".into(), value.into());
        let (script, env) = vars.apply_shell(script);
        let output = std::process::Command::new("/bin/sh")
            .args(["-c", &script])
            .envs(env)
            .current_dir(dir.path())
            .output()
            .unwrap();
        let pwned = dir.path().join("pwned").exists();
        (String::from_utf8_lossy(&output.stdout).into_owned(), pwned)
    }

    #[test]
    fn values_in_shell_scripts_are_one_word_and_never_syntax() {
        let hostile = "x; touch pwned; echo 'q' \"d\" $(touch pwned) `touch pwned` \\ ${HOME} *";
        let cases = [
            ("printf '[%s]\\n' ${v}", format!("[{hostile}]\n")),
            (
                "printf '[%s]\\n' \"pre ${v} post\"",
                format!("[pre {hostile} post]\n"),
            ),
            (
                "printf '[%s]\\n' 'pre ${v} post'",
                format!("[pre {hostile} post]\n"),
            ),
            (
                "printf '[%s]\\n' \"$(printf '%s' \"${v}\")\"",
                format!("[{hostile}]\n"),
            ),
            (
                "printf '[%s]\\n' \"`printf '%s' ${v}`\"",
                format!("[{hostile}]\n"),
            ),
            (
                "# don't\nprintf '[%s]\\n' ${v} # it's ${v}",
                format!("[{hostile}]\n"),
            ),
            (
                "cat <<EOF\n${v}\nEOF\necho done",
                format!("{hostile}\ndone\n"),
            ),
            (
                "cat <<-'EOF'\n\t${v}\n\tEOF\necho done",
                format!("{hostile}\ndone\n"),
            ),
            (
                "printf '[%s]\\n' \\${v} ${port}",
                "[${v}]\n[4001]\n".to_owned(),
            ),
        ];
        for (script, expected) in cases {
            let (out, pwned) = shell(script, hostile);
            assert_eq!(out, expected, "{script}");
            assert!(!pwned, "{script}");
        }
        // A value with a line that would end the here-document ends nothing.
        let lines = "a\nEOF\ntouch pwned";
        let (out, pwned) = shell("cat <<EOF\n${v}\nEOF", lines);
        assert_eq!((out.as_str(), pwned), ("a\nEOF\ntouch pwned\n", false));
        let (out, pwned) = shell("cat <<'EOF'\n${v}\nEOF", lines);
        assert_eq!((out.as_str(), pwned), ("${v}\n", false));
        // An empty value is one empty word.
        assert_eq!(shell("printf '[%s]' ${v}", "").0, "[]");
        // Names without a value are the shell's own.
        assert_eq!(vars().apply_shell("echo ${HOME} $x").0, "echo ${HOME} $x");
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
