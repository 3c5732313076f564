//! Typed views of Dockerfile stages, so rules read instructions and shell commands rather than
//! JSON.
//!
//! The host hands a rule one `dockerfile/stage` resource per build stage (and one
//! `dockerfile/file` resource per file). [`instructions`] yields the instructions after the
//! stage's `FROM`; [`commands`] yields every shell command of its `RUN` instructions, each on its
//! own line even inside a multi-line `RUN`; [`from`] reads the base image. Each item knows the
//! JSON pointer a finding should use, built only when a rule reports.
//!
//! ```
//! use palisade_sdk::{Report, Resource, dockerfile};
//!
//! /// `RUN` commands must not call `sudo`.
//! fn sudo(resource: &Resource, report: &mut Report) {
//!     for command in dockerfile::commands(resource) {
//!         if command.program() == Some("sudo") {
//!             report.finding(command.pointer(), "`sudo` in a RUN command");
//!         }
//!     }
//! }
//! ```

pub use crate::shell::{Invocation, program_name};
use crate::{Resource, Value, pointer, shell};

/// The kind of a build stage resource.
pub const STAGE_KIND: &str = "dockerfile/stage";
/// The kind of the resource describing a whole Dockerfile.
pub const FILE_KIND: &str = "dockerfile/file";
/// Build stages, as kind patterns for [`Rule::kinds`](crate::Rule::kinds).
pub const STAGE_KINDS: &[&str] = &[STAGE_KIND];

/// Pointer to a stage's base image; findings there are reported at the `FROM` line.
pub const FROM_POINTER: &str = "/from";
/// Pointer to a stage's effective `USER`; reported at that `USER` line, or at the `FROM` line
/// when the stage has none.
pub const USER_POINTER: &str = "/user";

/// True when the resource is a build stage.
pub fn is_stage(resource: &Resource<'_>) -> bool {
    resource.kind == STAGE_KIND
}

/// True for the last stage of its file: the one `docker build` produces without `--target`.
pub fn is_final(resource: &Resource<'_>) -> bool {
    resource.get("/final").as_bool() == Some(true)
}

/// The stage's position in its file, from 0.
pub fn index(resource: &Resource<'_>) -> usize {
    resource
        .get("/index")
        .as_u64()
        .and_then(|i| usize::try_from(i).ok())
        .unwrap_or(0)
}

/// The stage's `AS` name, if it has one.
pub fn name<'a>(resource: &Resource<'a>) -> Option<&'a str> {
    resource.get("/name").as_str()
}

/// The user the stage's later instructions and its container run as: its last `USER`, else the
/// one of the stage it is built from; `None` when the file sets none (the base image decides).
pub fn user<'a>(resource: &Resource<'a>) -> Option<&'a str> {
    resource.get(USER_POINTER).as_str()
}

/// The base image of a stage (its `FROM` line).
#[derive(Debug, Clone, Copy)]
pub struct BaseImage<'a> {
    /// The reference with build arguments substituted, e.g. `golang:1.23`.
    pub image: &'a str,
    /// The reference as written, e.g. `golang:${GO_VERSION}`.
    pub raw: &'a str,
    /// The registry host, when the reference names one (`ghcr.io`, `localhost:5000`).
    pub registry: Option<&'a str>,
    /// The repository path as written, without registry, tag or digest (`library/debian`).
    pub repository: &'a str,
    pub tag: Option<&'a str>,
    /// The content digest, e.g. `sha256:…`.
    pub digest: Option<&'a str>,
    /// The `--platform` flag, if given.
    pub platform: Option<&'a str>,
    /// The earlier stage this one is built from, if any.
    pub stage: Option<&'a str>,
    /// True for `FROM scratch`.
    pub scratch: bool,
}

impl BaseImage<'_> {
    /// True when the reference still holds a variable with no value known from the file (set
    /// by `--build-arg` at build time).
    pub fn is_unresolved(&self) -> bool {
        self.image.contains('$')
    }

    /// True for an image pulled from a registry: not `scratch`, not an earlier stage.
    pub fn is_pulled(&self) -> bool {
        !self.scratch && self.stage.is_none()
    }

    /// The pointer to one field of the base image, e.g. `/from/tag`.
    pub fn pointer_to(&self, field: &str) -> String {
        pointer::join(FROM_POINTER, &[field])
    }
}

/// The stage's base image.
pub fn from<'a>(resource: &Resource<'a>) -> BaseImage<'a> {
    let from = resource.get(FROM_POINTER);
    let text = |key: &str| pointer::field(from, key).and_then(Value::as_str);
    BaseImage {
        image: text("image").unwrap_or(""),
        raw: text("raw").unwrap_or(""),
        registry: text("registry"),
        repository: text("repository").unwrap_or(""),
        tag: text("tag"),
        digest: text("digest"),
        platform: text("platform"),
        stage: text("stage"),
        scratch: from.get("scratch").as_bool() == Some(true),
    }
}

/// Every instruction of the stage after its `FROM`, in file order.
pub fn instructions<'a>(
    resource: &Resource<'a>,
) -> impl Iterator<Item = Instruction<'a>> + use<'a> {
    resource
        .get("/instructions")
        .as_array()
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(index, value)| Instruction {
            index,
            keyword: value.get("keyword").as_str().unwrap_or(""),
            arguments: value.get("arguments").as_str().unwrap_or(""),
            raw: value.get("raw").as_str().unwrap_or(""),
            value,
        })
}

/// Every shell command of the stage's `RUN` instructions, in file order.
pub fn commands<'a>(resource: &Resource<'a>) -> impl Iterator<Item = Command<'a>> + use<'a> {
    instructions(resource).flat_map(|instruction| instruction.commands())
}

/// One instruction of a stage.
#[derive(Debug, Clone, Copy)]
pub struct Instruction<'a> {
    /// Position in the stage's `instructions`.
    pub index: usize,
    /// Upper case, e.g. `RUN`.
    pub keyword: &'a str,
    /// The text after the keyword and its flags, variables substituted.
    pub arguments: &'a str,
    /// The whole instruction as written, continuation lines joined.
    pub raw: &'a str,
    /// The instruction object.
    pub value: &'a Value<'a>,
}

impl<'a> Instruction<'a> {
    /// True when the instruction is `keyword` (any case).
    pub fn is(&self, keyword: &str) -> bool {
        self.keyword.eq_ignore_ascii_case(keyword)
    }

    /// True for the exec (JSON array) form.
    pub fn is_exec(&self) -> bool {
        self.value.get("form").as_str() == Some("exec")
    }

    /// The elements of the exec form (none for the shell form).
    pub fn exec(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        strings(self.value.get("exec"))
    }

    /// The first value of a flag (`--mount=…` → `mount`); `"true"` for a bare `--link`.
    pub fn flag(&self, name: &str) -> Option<&'a str> {
        self.flags(name).next()
    }

    /// Every value of a flag given once or several times (`--mount` often is).
    pub fn flags(&self, name: &str) -> impl Iterator<Item = &'a str> + use<'a> {
        let value = pointer::field(self.value.get("flags"), name).unwrap_or(&crate::NULL);
        value.as_str().into_iter().chain(strings(value))
    }

    /// `ENV`, `ARG` and `LABEL` keys with their values (`None` for a bare `ARG NAME`).
    pub fn values(&self) -> impl Iterator<Item = (&'a str, Option<&'a str>)> + use<'a> {
        self.value
            .get("values")
            .as_object()
            .into_iter()
            .flat_map(|object| object.iter())
            .map(|(key, value)| (key, value.as_str()))
    }

    /// `EXPOSE` ports as `port/protocol` (`80/tcp`, `8000-8010/udp`), with their positions.
    pub fn ports(&self) -> impl Iterator<Item = (usize, &'a str)> + use<'a> {
        strings(self.value.get("ports")).enumerate()
    }

    /// Heredocs as (delimiter, body).
    pub fn heredocs(&self) -> impl Iterator<Item = (&'a str, &'a str)> + use<'a> {
        self.value
            .get("heredocs")
            .as_array()
            .unwrap_or_default()
            .iter()
            .map(|heredoc| {
                (
                    heredoc.get("delimiter").as_str().unwrap_or(""),
                    heredoc.get("body").as_str().unwrap_or(""),
                )
            })
    }

    /// The shell commands of a `RUN` (none for other instructions).
    pub fn commands(&self) -> impl Iterator<Item = Command<'a>> + use<'a> {
        let instruction = self.index;
        self.value
            .get("commands")
            .as_array()
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(move |(index, value)| Command {
                instruction,
                index,
                text: value.get("text").as_str().unwrap_or(""),
                line: value
                    .get("line")
                    .as_u64()
                    .and_then(|l| u32::try_from(l).ok())
                    .unwrap_or(0),
                pipe_to: value.get("pipe_to").as_str(),
            })
    }

    /// The sources of a `COPY` or `ADD`: every argument but the destination, as written
    /// (quotes kept in the shell form).
    pub fn sources(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        let exec = self.is_exec();
        let count = if exec {
            self.exec().count()
        } else {
            self.arguments.split_whitespace().count()
        };
        let take = count.saturating_sub(1);
        let (exec_items, words) = if exec {
            (Some(self.exec().take(take)), None)
        } else {
            (None, Some(self.arguments.split_whitespace().take(take)))
        };
        exec_items
            .into_iter()
            .flatten()
            .chain(words.into_iter().flatten())
    }

    /// The pointer to the instruction, e.g. `/instructions/3`: reported at its first line.
    pub fn pointer(&self) -> String {
        self.pointer_to(&[])
    }

    /// The pointer to a path below the instruction, e.g. `["values", "TOKEN"]` (reported at
    /// the line of that key) or `["ports", "0"]`.
    pub fn pointer_to(&self, path: &[&str]) -> String {
        let mut out = String::with_capacity(24);
        pointer::push(&mut out, "instructions");
        pointer::push(&mut out, &self.index.to_string());
        for token in path {
            pointer::push(&mut out, token);
        }
        out
    }
}

/// One command of a `RUN`'s shell script (`apt-get install -y curl`), split at `&&`, `||`,
/// `;`, `|`, `&` and newlines.
#[derive(Debug, Clone, Copy)]
pub struct Command<'a> {
    /// Position of its `RUN` in the stage's instructions.
    pub instruction: usize,
    /// Position among the instruction's commands.
    pub index: usize,
    /// The command, variables substituted, continuation lines joined.
    pub text: &'a str,
    /// The line the command starts on.
    pub line: u32,
    /// The first word of the command this one is piped into (`curl … | sh` → `sh`).
    pub pipe_to: Option<&'a str>,
}

impl<'a> Command<'a> {
    /// The pointer to the command, e.g. `/instructions/2/commands/1`: reported at its own line.
    pub fn pointer(&self) -> String {
        format!("/instructions/{}/commands/{}", self.instruction, self.index)
    }

    /// The command's words, split at blanks (quotes kept).
    pub fn words(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        self.text.split_whitespace()
    }

    /// The program the command starts, without directory: the first word that is not a
    /// `NAME=value` assignment or a redirection (`DEBIAN_FRONTEND=x apt-get …` → `apt-get`).
    pub fn program(&self) -> Option<&'a str> {
        shell::program(self.text)
    }

    /// What the command runs once wrappers are looked through: `sudo -u app pip install x` →
    /// `pip` with arguments `install x` (see [`shell::invocation`]).
    pub fn invocation(&self) -> Option<Invocation<'a>> {
        shell::invocation(self.text)
    }

    /// The command as the [`shell`] module sees it, for checks shared with other formats.
    pub fn as_shell(&self) -> shell::Command<'a> {
        shell::Command {
            text: self.text,
            piped: self.is_piped(),
        }
    }

    /// True when the command's output is piped into another command.
    pub fn is_piped(&self) -> bool {
        self.pipe_to.is_some()
    }
}

fn strings<'a>(value: &'a Value<'a>) -> impl Iterator<Item = &'a str> + use<'a> {
    value
        .as_array()
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OwnedValue;
    use serde_json::json;

    fn parse(attributes: serde_json::Value) -> OwnedValue {
        OwnedValue::from_string(attributes.to_string()).expect("valid JSON")
    }

    fn stage() -> OwnedValue {
        parse(json!({
            "index": 1, "name": "app", "final": true, "user": "app",
            "from": {"image": "ghcr.io/acme/base:1.2", "raw": "ghcr.io/acme/base:${V}",
                     "registry": "ghcr.io", "repository": "acme/base", "tag": "1.2",
                     "digest": null, "platform": null, "stage": null, "scratch": false},
            "instructions": [
                {"keyword": "ENV", "arguments": "A=1", "raw": "ENV A=1", "form": "shell",
                 "exec": null, "flags": {}, "heredocs": [], "values": {"A": "1", "B": null}},
                {"keyword": "RUN", "arguments": "…", "raw": "RUN …", "form": "shell",
                 "exec": null, "heredocs": [],
                 "flags": {"mount": ["type=cache,target=/a", "type=secret,id=x"],
                           "network": "none"},
                 "commands": [
                    {"text": "DEBIAN_FRONTEND=noninteractive sudo -u root -E /usr/bin/apt-get -y install curl", "line": 4},
                    {"text": "curl -fsSL https://x", "line": 5, "pipe_to": "sh"},
                    {"text": "sh -s", "line": 5}]},
                {"keyword": "COPY", "arguments": "", "raw": "COPY [\"a\", \"b\", \"/c/\"]",
                 "form": "exec", "exec": ["a", "b", "/c/"], "flags": {"from": "build"},
                 "heredocs": []},
                {"keyword": "ADD", "arguments": "https://x/a.tgz  /opt/", "raw": "ADD …",
                 "form": "shell", "exec": null, "flags": {}, "heredocs": []},
                {"keyword": "EXPOSE", "arguments": "22", "raw": "EXPOSE 22", "form": "shell",
                 "exec": null, "flags": {}, "heredocs": [], "ports": ["22/tcp"]}
            ]
        }))
    }

    #[test]
    fn stage_fields_read_through() {
        let attributes = stage();
        let r = Resource::new(
            "Dockerfile/stage/app",
            STAGE_KIND,
            "Dockerfile",
            &attributes,
        );
        assert!(is_stage(&r) && is_final(&r));
        assert_eq!(
            (index(&r), name(&r), user(&r)),
            (1, Some("app"), Some("app"))
        );
        let base = from(&r);
        assert_eq!(
            (base.registry, base.repository, base.tag, base.digest),
            (Some("ghcr.io"), "acme/base", Some("1.2"), None)
        );
        assert!(base.is_pulled() && !base.is_unresolved());
        assert_eq!(base.pointer_to("tag"), "/from/tag");
    }

    #[test]
    fn instructions_expose_flags_values_sources_and_ports() {
        let attributes = stage();
        let r = Resource::new("x", STAGE_KIND, "Dockerfile", &attributes);
        let all: Vec<_> = instructions(&r).collect();
        assert_eq!(all.len(), 5);
        assert!(all[1].is("run") && !all[1].is_exec());
        assert_eq!(
            all[1].flags("mount").collect::<Vec<_>>(),
            ["type=cache,target=/a", "type=secret,id=x"]
        );
        assert_eq!(all[1].flag("network"), Some("none"));
        assert_eq!(all[1].flag("missing"), None);
        assert_eq!(
            all[0].values().collect::<Vec<_>>(),
            [("A", Some("1")), ("B", None)]
        );
        assert_eq!(
            all[0].pointer_to(&["values", "A"]),
            "/instructions/0/values/A"
        );
        assert_eq!(all[2].sources().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(all[3].sources().collect::<Vec<_>>(), ["https://x/a.tgz"]);
        assert_eq!(all[4].ports().collect::<Vec<_>>(), [(0, "22/tcp")]);
        assert_eq!(all[4].pointer(), "/instructions/4");
    }

    #[test]
    fn commands_look_through_assignments_and_wrappers() {
        let attributes = stage();
        let r = Resource::new("x", STAGE_KIND, "Dockerfile", &attributes);
        let all: Vec<_> = commands(&r).collect();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].program(), Some("sudo"));
        let invocation = all[0].invocation().expect("a program");
        assert_eq!(invocation.program, "apt-get");
        assert!(invocation.sudo);
        assert_eq!(invocation.subcommand(), Some("install"));
        assert!(invocation.has_argument("curl"));
        assert_eq!(all[0].pointer(), "/instructions/1/commands/0");
        assert_eq!((all[1].line, all[1].pipe_to), (5, Some("sh")));
        assert!(all[1].is_piped() && !all[2].is_piped());
        assert_eq!(all[2].invocation().map(|i| i.program), Some("sh"));
    }

    #[test]
    fn missing_attributes_read_as_empty() {
        let attributes = parse(json!({}));
        let r = Resource::new("x", STAGE_KIND, "Dockerfile", &attributes);
        assert!(!is_final(&r));
        assert_eq!(instructions(&r).count(), 0);
        assert_eq!(from(&r).image, "");
        assert_eq!(user(&r), None);
    }
}
