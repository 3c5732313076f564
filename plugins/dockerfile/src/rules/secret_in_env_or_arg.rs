//! `docker/secret-in-env-or-arg`: credentials must not be written into `ENV` or `ARG`.

use palisade_sdk::secrets::{References, has_url_password, is_literal, names_secret};
use palisade_sdk::{Report, Resource, Rule, Severity, dockerfile};

pub const RULE: Rule = Rule {
    id: "docker/secret-in-env-or-arg",
    title: "Secret in ENV or ARG",
    severity: Severity::High,
    kinds: dockerfile::STAGE_KINDS,
    description: "A credential written into a Dockerfile is in version control and its \
history, and from there in every image built from it: an `ENV` value is stored in the image \
configuration, readable by anyone who can pull the image (`docker inspect`), and an `ARG` \
default is recorded in the image history (`docker history`) of every layer that uses it. This \
rule judges every stage, since builder stages are pushed to caches and registries too. It \
reports an `ENV` or `ARG` with a literal, non-empty value when the variable's name reads like a \
credential, or when the value is a URL with a password in it \
(`postgres://app:hunter2@db/app`), pointing at the line of that variable.\n
Names are split into words at `_`, `-`, `.` and lower-to-upper case changes (`dbPassword` is \
`db` `Password`). A name reads like a credential when a word contains `PASSWORD`, `PASSWD`, \
`PASSPHRASE`, `SECRET` or `CREDENTIAL`; ends in `TOKEN`, `APIKEY`, `ACCESSKEY` or \
`PRIVATEKEY`; is `PASS` or `PWD`; is `KEY` after `API`, `ACCESS`, `PRIVATE`, `SECRET`, \
`SIGNING`, `ENCRYPTION`, `MASTER`, `AUTH`, `CLIENT`, `SSH`, `TLS`, `HMAC` or `LICENSE`; or is \
`AUTH` as the last word (`BASIC_AUTH`). Names that describe a credential rather than hold one \
are not reported: a word such as `URL`, `FILE`, `PATH`, `NAME`, `ID`, `HEADER`, `TTL`, \
`ENABLED` or `LENGTH` after the credential word (`TOKEN_URL`, `PASSWORD_FILE`, \
`ACCESS_KEY_ID`), and the well-known path variable `GOOGLE_APPLICATION_CREDENTIALS`. A bare \
`ARG NPM_TOKEN` (no default), values that are still variables (`ENV TOKEN=${NPM_TOKEN}` with no \
default for `NPM_TOKEN` in the file) or templates (`{{ … }}`), and flags (`true`, `false`, \
`yes`, `no`, `on`, `off`, `0`, `1`) are not reported. The value itself never appears in a \
finding.",
    remediation: "Pass build-time secrets with a secret mount, which never lands in a layer or \
the history: `RUN --mount=type=secret,id=npm_token NPM_TOKEN=$(cat /run/secrets/npm_token) npm \
ci`, built with `docker build --secret id=npm_token,env=NPM_TOKEN .`. Give run-time secrets to \
the container when it starts (an orchestrator secret, a mounted file), not to the image. Then \
rotate the exposed credential: it is in the repository's history.",
    help_uri: Some("https://docs.docker.com/build/building/secrets/"),
    tags: &["secrets", "cwe/798", "cis-docker/4.10"],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    for instruction in dockerfile::instructions(resource) {
        if !(instruction.is("ENV") || instruction.is("ARG")) {
            continue;
        }
        for (name, value) in instruction.values() {
            let Some(value) = value.filter(|value| is_literal(value, References::Shell)) else {
                continue;
            };
            let message = if names_secret(name) {
                format!("{} sets `{name}` to a literal value", instruction.keyword)
            } else if has_url_password(value) {
                format!(
                    "{} sets `{name}` to a URL with an embedded password",
                    instruction.keyword
                )
            } else {
                continue;
            };
            report.finding(instruction.pointer_to(&["values", name]), message);
        }
    }
}
