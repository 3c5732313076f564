//! The pack's rules, one per file.
//!
//! Which stages a rule judges: what the image *is* (its user, its health check) only matters
//! for the final stage, the one `docker build` ships; how the image is *built* (base images,
//! downloads, packages, secrets) matters in every stage, because a builder stage runs the same
//! code on the same machine and its output is copied into the final image.
//!
//! Where a finding points: at the shell command for command rules (its own line, even inside a
//! multi-line `RUN` or a heredoc), at the key for `ENV`/`ARG` values and `EXPOSE` ports, at the
//! instruction otherwise, and at the `FROM` line for something the stage lacks.

use palisade_sdk::dockerfile::{Command, Invocation};

mod add_instead_of_copy;
mod add_remote_url;
mod apt_no_install_recommends;
mod curl_pipe_shell;
mod latest_base_image;
mod missing_healthcheck;
mod package_cache_not_cleaned;
mod run_as_root;
mod secret_in_env_or_arg;
mod ssh_port_exposed;
mod sudo_in_run;

/// Every rule of the pack, in the order `palisade rules` lists them.
pub const ALL: &[palisade_sdk::Rule] = &[
    run_as_root::RULE,
    latest_base_image::RULE,
    curl_pipe_shell::RULE,
    add_remote_url::RULE,
    add_instead_of_copy::RULE,
    secret_in_env_or_arg::RULE,
    ssh_port_exposed::RULE,
    sudo_in_run::RULE,
    apt_no_install_recommends::RULE,
    package_cache_not_cleaned::RULE,
    missing_healthcheck::RULE,
];

/// The subcommand of an `apt-get`/`apt` invocation (`apt-get -o A=b -y install x` → `install`):
/// the first argument that is neither an option nor the value of `-o`, `-c` or `-t`.
fn apt_subcommand<'a>(invocation: &Invocation<'a>) -> Option<&'a str> {
    let mut arguments = invocation.arguments();
    while let Some(argument) = arguments.next() {
        match argument {
            "-o" | "-c" | "-t" => {
                arguments.next();
            }
            _ if argument.starts_with('-') => {}
            _ => return Some(argument),
        }
    }
    None
}

/// The command's invocation when it is `apt-get install` or `apt install`.
fn apt_install<'a>(command: &Command<'a>) -> Option<Invocation<'a>> {
    let invocation = command.invocation()?;
    (matches!(invocation.program, "apt-get" | "apt")
        && apt_subcommand(&invocation) == Some("install"))
    .then_some(invocation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_documented_and_unique() {
        palisade_sdk::testing::check_rule_catalogue(ALL, "docker/", 200);
        for rule in ALL {
            assert!(
                rule.description.contains("stage"),
                "{}: the description must say which stages it judges",
                rule.id
            );
            assert!(
                rule.help_uri
                    .is_some_and(|uri| uri.starts_with("https://docs.docker.com/")
                        || uri.starts_with("https://github.com/hadolint/hadolint/wiki/")),
                "{}",
                rule.id
            );
            assert_eq!(
                rule.kinds,
                palisade_sdk::dockerfile::STAGE_KINDS,
                "{}",
                rule.id
            );
        }
    }
}
