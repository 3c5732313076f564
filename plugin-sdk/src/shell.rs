//! Reading shell commands: which program a command runs once wrappers such as `sudo` are looked
//! through, how a script splits into commands and pipelines, and whether a pipeline runs a
//! downloaded script unchecked.
//!
//! Dockerfile `RUN` commands arrive already split by the host (see
//! [`dockerfile::commands`](crate::dockerfile::commands)); an image's history holds the raw
//! script each layer ran, which [`split`] cuts the same way. Both then share
//! [`unchecked_downloads`]:
//!
//! ```
//! use palisade_sdk::shell;
//!
//! let commands = shell::split("apt-get update && curl -fsSL https://x/install.sh | sudo bash");
//! assert_eq!(commands.len(), 3);
//! assert_eq!(commands[2].invocation().map(|i| i.program), Some("bash"));
//! let found = shell::unchecked_downloads(&commands);
//! assert_eq!(found[0].index, 1);
//! assert_eq!(found[0].message(), "`curl` output is piped into `bash`, which runs it unchecked");
//! ```

/// One command of a shell script, and whether its output is piped into the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Command<'a> {
    /// The command's text, without the operators around it.
    pub text: &'a str,
    /// True when its standard output feeds the next command (`curl … | sh`).
    pub piped: bool,
}

impl<'a> Command<'a> {
    /// The program the command starts, without directory: the first word that is not a
    /// `NAME=value` assignment or a redirection (`DEBIAN_FRONTEND=x apt-get …` → `apt-get`).
    pub fn program(&self) -> Option<&'a str> {
        program(self.text)
    }

    /// What the command runs once wrappers are looked through (see [`invocation`]).
    pub fn invocation(&self) -> Option<Invocation<'a>> {
        invocation(self.text)
    }
}

/// The program a command starts, without directory (see [`Command::program`]).
pub fn program(text: &str) -> Option<&str> {
    Words(text).program()
}

/// What a command runs once wrappers are looked through: `sudo -u app pip install x` → `pip`
/// with arguments `install x`. Wrappers are `sudo`, `env`, `exec`, `command`, `nice`, `nohup`,
/// `time` and `stdbuf`, with their options.
pub fn invocation(text: &str) -> Option<Invocation<'_>> {
    let mut words = Words(text);
    let mut sudo = false;
    loop {
        let program = words.program()?;
        // Options of the wrapper that take a separate value.
        let takes_value: &[&str] = match program {
            "sudo" => {
                sudo = true;
                &["-u", "-g", "-h", "-p", "-C", "-D", "-r", "-t", "-U", "-T"]
            }
            "env" => &["-u", "-C", "-S"],
            "nice" => &["-n"],
            "stdbuf" | "exec" | "command" | "nohup" | "time" => &["-a"],
            _ => {
                return Some(Invocation {
                    program,
                    rest: words.0,
                    sudo,
                });
            }
        };
        while let Some(option) = words.peek().filter(|w| w.starts_with('-')) {
            words.next();
            if option == "--" {
                break;
            }
            if takes_value.contains(&option) {
                words.next();
            }
        }
    }
}

/// A command's program once wrappers such as `sudo` are looked through.
#[derive(Debug, Clone, Copy)]
pub struct Invocation<'a> {
    /// The program without directory, e.g. `apt-get`.
    pub program: &'a str,
    rest: &'a str,
    /// True when run through `sudo`.
    pub sudo: bool,
}

impl<'a> Invocation<'a> {
    /// The program's arguments, split at blanks (quotes kept).
    pub fn arguments(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        Words(self.rest)
    }

    /// True when one argument is exactly `word`.
    pub fn has_argument(&self, word: &str) -> bool {
        self.arguments().any(|a| a == word)
    }

    /// The first argument that is not an option (`apt-get -y install x` → `install`).
    pub fn subcommand(&self) -> Option<&'a str> {
        self.arguments().find(|a| !a.starts_with('-'))
    }
}

/// A program path without its directory: `/usr/bin/curl` → `curl`.
pub fn program_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The words of a command, consumed from the front; a lone `\` (a line continuation left in
/// the text) is no word.
struct Words<'a>(&'a str);

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        loop {
            let rest = self.0.trim_start();
            if rest.is_empty() {
                self.0 = rest;
                return None;
            }
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            self.0 = &rest[end..];
            if &rest[..end] != "\\" {
                return Some(&rest[..end]);
            }
        }
    }
}

impl<'a> Words<'a> {
    fn peek(&self) -> Option<&'a str> {
        Words(self.0).next()
    }

    /// The next word that is neither an assignment nor a redirection, as a program name
    /// without quotes or directory.
    fn program(&mut self) -> Option<&'a str> {
        loop {
            let word = self.next()?;
            let name_len = word
                .bytes()
                .position(|b| !(b.is_ascii_alphanumeric() || b == b'_'))
                .unwrap_or(word.len());
            let assignment = name_len > 0
                && !word.as_bytes()[0].is_ascii_digit()
                && word.as_bytes().get(name_len) == Some(&b'=');
            let redirection = word
                .trim_start_matches(|c: char| c.is_ascii_digit())
                .starts_with(['<', '>']);
            if assignment || redirection {
                continue;
            }
            return Some(program_name(word.trim_matches(['"', '\''])));
        }
    }
}

/// Splits a shell script into its commands at `&&`, `||`, `;`, `|`, `|&`, `&` and newlines,
/// outside quotes, command substitutions and comments. Compound-command keywords (`if`, `then`,
/// `do`, `fi`, `done`, braces…) are trimmed from each command's ends, and empty commands are
/// dropped; a command ending a line with `|` still pipes into the next.
pub fn split<'a>(script: &'a str) -> Vec<Command<'a>> {
    let bytes = script.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut quote: Option<u8> = None;
    let mut substitution_depth = 0usize;
    let mut in_comment = false;
    let mut at_word_start = true;
    let push = |out: &mut Vec<Command<'a>>, range: std::ops::Range<usize>, piped: bool| {
        let text = trim_command(&script[range]);
        if text.is_empty() {
            // `curl … |` at a line end continues the pipeline on the next line.
            if piped && let Some(last) = out.last_mut() {
                last.piped = true;
            }
            return;
        }
        out.push(Command { text, piped });
    };
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let next = bytes.get(i + 1).copied();
        if in_comment {
            if c == b'\n' {
                in_comment = false;
                start = i + 1;
                at_word_start = true;
            }
            i += 1;
            continue;
        }
        match quote {
            Some(b'\'') => {
                if c == b'\'' {
                    quote = None;
                }
                i += 1;
                continue;
            }
            Some(open) if c == open => {
                quote = None;
                i += 1;
                continue;
            }
            _ => {}
        }
        if c == b'\\' {
            i += 2;
            at_word_start = false;
            continue;
        }
        let quiet = quote.is_some() || substitution_depth > 0;
        let mut width = 1;
        match c {
            b'\'' if quote.is_none() => quote = Some(b'\''),
            b'"' | b'`' if quote.is_none() => quote = Some(c),
            b'$' if next == Some(b'(') => {
                substitution_depth += 1;
                width = 2;
            }
            b'(' if substitution_depth > 0 => substitution_depth += 1,
            b')' if substitution_depth > 0 => substitution_depth -= 1,
            _ if quiet => {}
            b'#' if at_word_start => {
                push(&mut out, start..i, false);
                in_comment = true;
            }
            b'&' | b'|' if next == Some(c) => {
                push(&mut out, start..i, false);
                width = 2;
                start = i + 2;
            }
            b'|' => {
                width = if next == Some(b'&') { 2 } else { 1 };
                push(&mut out, start..i, true);
                start = i + width;
            }
            b';' | b'\n' => {
                push(&mut out, start..i, false);
                start = i + 1;
            }
            // `2>&1` and `&>file` are redirections, not background jobs.
            b'&' if next != Some(b'>') && i > 0 && !matches!(bytes[i - 1], b'>' | b'<') => {
                push(&mut out, start..i, false);
                start = i + 1;
            }
            _ => {}
        }
        at_word_start = c.is_ascii_whitespace() || matches!(c, b';' | b'|' | b'&' | b'(');
        i += width;
    }
    if !in_comment {
        push(&mut out, start.min(bytes.len())..bytes.len(), false);
    }
    out
}

/// Shell words that open a compound command or negate one, trimmed from a command's start.
const LEADING_WORDS: &[&str] = &[
    "if", "then", "else", "elif", "do", "while", "until", "!", "{", "(",
];
/// Shell words that close a compound command, trimmed from a command's end.
const TRAILING_WORDS: &[&str] = &["fi", "done", "esac", "}", ")"];

/// A command without the blanks, line continuations and compound-command keywords around it.
fn trim_command(text: &str) -> &str {
    let mut text = text.trim_matches(|c: char| c.is_whitespace() || c == '\\');
    loop {
        let before = text.len();
        if let Some(rest) = text.strip_prefix('(') {
            text = rest;
        }
        if let Some(word) = text.split_whitespace().next()
            && LEADING_WORDS.contains(&word)
        {
            text = &text[word.len()..];
        }
        if let Some(word) = text.split_whitespace().next_back()
            && TRAILING_WORDS.contains(&word)
        {
            text = &text[..text.len() - word.len()];
        }
        if text.ends_with(')') && !text.contains('(') {
            text = &text[..text.len() - 1];
        }
        text = text.trim_matches(|c: char| c.is_whitespace() || c == '\\');
        if text.len() == before {
            return text;
        }
    }
}

/// A downloaded script that a shell or interpreter runs without checking it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UncheckedDownload<'a> {
    /// Position of the offending command in the list given to [`unchecked_downloads`].
    pub index: usize,
    /// The downloading program (`curl`, `wget`), or the interpreter for a substitution.
    pub program: &'a str,
    /// The shell or interpreter that runs the download.
    pub runner: &'a str,
    /// True for `sh -c "$(curl …)"` / `bash <(wget …)`, false for `curl … | sh`.
    pub substituted: bool,
}

impl UncheckedDownload<'_> {
    /// What was found, for a finding's message.
    pub fn message(&self) -> String {
        if self.substituted {
            format!(
                "`{}` runs a script downloaded in the same command, unchecked",
                self.runner
            )
        } else {
            format!(
                "`{}` output is piped into `{}`, which runs it unchecked",
                self.program, self.runner
            )
        }
    }
}

/// Every command among `commands` (one script, in order) that downloads with `curl` or `wget`
/// into a pipeline ending in a shell or interpreter that runs its standard input, directly or
/// through other commands (`| tee log | sudo bash`), and every shell that runs a download's
/// output (`sh -c "$(curl …)"`, `bash <(wget -O- …)`). An interpreter given its program as an
/// argument (`python3 -c …`, `python3 -m json.tool`, `perl -e …`) only reads the download as
/// data and does not count.
pub fn unchecked_downloads<'a>(commands: &[Command<'a>]) -> Vec<UncheckedDownload<'a>> {
    let mut found = Vec::new();
    for (index, command) in commands.iter().enumerate() {
        let Some(invocation) = command.invocation() else {
            continue;
        };
        if is_download(invocation.program) && command.piped {
            // Follow the pipeline to its end.
            let runner = commands[index + 1..]
                .iter()
                .scan(true, |piped, next| {
                    let still = std::mem::replace(piped, next.piped);
                    still.then_some(next)
                })
                .filter_map(Command::invocation)
                .find(runs_stdin);
            if let Some(runner) = runner {
                found.push(UncheckedDownload {
                    index,
                    program: invocation.program,
                    runner: runner.program,
                    substituted: false,
                });
            }
        } else if is_interpreter(invocation.program) && runs_download(command.text) {
            found.push(UncheckedDownload {
                index,
                program: invocation.program,
                runner: invocation.program,
                substituted: true,
            });
        }
    }
    found
}

fn is_download(program: &str) -> bool {
    matches!(program, "curl" | "wget")
}

/// Shells and script interpreters.
fn is_interpreter(program: &str) -> bool {
    const PROGRAMS: &[&str] = &[
        "sh",
        "bash",
        "zsh",
        "ash",
        "dash",
        "ksh",
        "mksh",
        "fish",
        "busybox",
        "perl",
        "ruby",
        "node",
        "nodejs",
        "php",
        "pwsh",
        "powershell",
    ];
    PROGRAMS.contains(&program) || program.starts_with("python")
}

/// True when an interpreter runs what it reads on standard input, rather than a program given
/// as an argument (`-c`, `-e`, `-m`).
fn runs_stdin(invocation: &Invocation) -> bool {
    is_interpreter(invocation.program)
        && !invocation.arguments().any(|argument| {
            matches!(
                argument,
                "-c" | "-e" | "-E" | "-m" | "-r" | "--eval" | "-Command"
            )
        })
}

/// True when a command's text runs the output of a download: `$(curl …)`, `` `wget …` ``,
/// `<(curl …)`.
fn runs_download(text: &str) -> bool {
    ["$(", "`", "<("].iter().any(|opening| {
        text.match_indices(opening).any(|(at, _)| {
            let inner = text[at + opening.len()..].trim_start();
            let program = inner.split_whitespace().next().unwrap_or("");
            is_download(program_name(program))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(script: &str) -> Vec<(&str, bool)> {
        split(script).iter().map(|c| (c.text, c.piped)).collect()
    }

    #[test]
    fn scripts_split_at_operators_outside_quotes() {
        assert_eq!(
            texts("a && b || c; d | e |& f & g\nh"),
            [
                ("a", false),
                ("b", false),
                ("c", false),
                ("d", true),
                ("e", true),
                ("f", false),
                ("g", false),
                ("h", false)
            ]
        );
        assert_eq!(
            texts(r#"echo "a && b" 'c | d' $(x | y) `p; q` e\;f"#),
            [(r#"echo "a && b" 'c | d' $(x | y) `p; q` e\;f"#, false)]
        );
        assert_eq!(texts("make 2>&1 >log &>x"), [("make 2>&1 >log &>x", false)]);
    }

    #[test]
    fn comments_and_compound_keywords_are_trimmed() {
        assert_eq!(
            texts("if [ -x a ]; then curl -fsSL x | sh; fi # done\nb"),
            [
                ("[ -x a ]", false),
                ("curl -fsSL x", true),
                ("sh", false),
                ("b", false)
            ]
        );
        assert_eq!(
            texts("for f in a b; do (rm $f); done"),
            [("for f in a b", false), ("rm $f", false)]
        );
        assert_eq!(texts("a # x && y"), [("a", false)]);
        assert_eq!(texts("echo a#b"), [("echo a#b", false)]);
        assert!(texts("  ;; \n ").is_empty());
    }

    #[test]
    fn a_pipe_at_a_line_end_continues_on_the_next_line() {
        assert_eq!(
            texts("curl -fsSL x |\n  sh"),
            [("curl -fsSL x", true), ("sh", false)]
        );
        assert_eq!(
            texts("curl x \\\n | bash"),
            [("curl x", true), ("bash", false)]
        );
    }

    #[test]
    fn invocations_look_through_assignments_and_wrappers() {
        let invocation = invocation(
            "DEBIAN_FRONTEND=noninteractive sudo -u root -E /usr/bin/apt-get -y install curl",
        )
        .expect("a program");
        assert_eq!(invocation.program, "apt-get");
        assert!(invocation.sudo);
        assert_eq!(invocation.subcommand(), Some("install"));
        assert!(invocation.has_argument("curl"));
        assert_eq!(program("A=1 2>/dev/null '/bin/sh' -c x"), Some("sh"));
        assert_eq!(program("A=1 B=2"), None);
        assert_eq!(program_name("/usr/bin/curl"), "curl");
    }

    fn unchecked(script: &str) -> Vec<String> {
        unchecked_downloads(&split(script))
            .iter()
            .map(|d| format!("{}:{}", d.index, d.message()))
            .collect()
    }

    #[test]
    fn downloads_piped_into_interpreters_are_found() {
        assert_eq!(
            unchecked("curl -fsSL https://x | sh"),
            ["0:`curl` output is piped into `sh`, which runs it unchecked"]
        );
        assert_eq!(
            unchecked("set -e; wget -qO- https://x | tee /tmp/log | sudo -E bash -s -- -y"),
            ["1:`wget` output is piped into `bash`, which runs it unchecked"]
        );
        assert_eq!(
            unchecked(r#"sh -c "$(curl -fsSL https://x)""#),
            ["0:`sh` runs a script downloaded in the same command, unchecked"]
        );
        assert_eq!(
            unchecked("bash <(wget -qO- https://x)"),
            ["0:`bash` runs a script downloaded in the same command, unchecked"]
        );
        assert_eq!(
            unchecked("curl https://x | python3.12"),
            ["0:`curl` output is piped into `python3.12`, which runs it unchecked"]
        );
    }

    #[test]
    fn verified_or_data_only_downloads_are_not_found() {
        for script in [
            "curl -fsSLo /tmp/i.sh https://x && sha256sum -c sums && sh /tmp/i.sh",
            "curl -fsSL https://x | tar -xz",
            "curl -fsSL https://x | python3 -m json.tool",
            "curl -fsSL https://x | perl -e 'print <>'",
            "curl -fsSL https://x; sh",
            r#"sh -c "$(cat /tmp/x)""#,
            "echo 'curl x | sh'",
        ] {
            assert!(unchecked(script).is_empty(), "{script}");
        }
    }
}
