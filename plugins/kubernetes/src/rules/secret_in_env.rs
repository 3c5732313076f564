//! `k8s/secret-in-env`: containers must not carry secrets as literal environment values.

use palisade_sdk::secrets::{References, has_url_password, is_literal, names_secret};
use palisade_sdk::{Report, Resource, Rule, Severity, kubernetes};

pub const RULE: Rule = Rule {
    id: "k8s/secret-in-env",
    title: "Secret in a literal environment variable",
    severity: Severity::High,
    kinds: kubernetes::WORKLOAD_KINDS,
    description: "A credential written as `env[].value` lives in plain text in the manifest, in \
version control and its history, in every rendered copy, and in the API object readable by \
anyone who may `get` the workload — none of which is protected like a `Secret`. This rule \
reports a literal, non-empty `value` when the variable's name reads like a credential, or when \
the value is a URL with a password in it (`postgres://app:hunter2@db/app`).\n
Names are split into words at `_`, `-`, `.` and lower-to-upper case changes (`dbPassword` is \
`db` `Password`). A name reads like a credential when a word contains `PASSWORD`, `PASSWD`, \
`PASSPHRASE`, `SECRET` or `CREDENTIAL`; ends in `TOKEN`, `APIKEY`, `ACCESSKEY` or \
`PRIVATEKEY`; is `PASS` or `PWD`; is `KEY` after `API`, `ACCESS`, `PRIVATE`, `SECRET`, \
`SIGNING`, `ENCRYPTION`, `MASTER`, `AUTH`, `CLIENT`, `SSH`, `TLS`, `HMAC` or `LICENSE`; or is \
`AUTH` as the last word (`BASIC_AUTH`). Names that describe a credential rather than hold one \
are not reported: a word such as `URL`, `FILE`, `PATH`, `NAME`, `ID`, `HEADER`, `TTL`, \
`ENABLED` or `LENGTH` after the credential word (`TOKEN_URL`, `PASSWORD_FILE`, \
`ACCESS_KEY_ID`), and the well-known path variable `GOOGLE_APPLICATION_CREDENTIALS`. Values \
that are references or templates (`$(OTHER_VAR)`, `${VAR}`, `{{ … }}`) or flags (`true`, \
`false`, `yes`, `no`, `on`, `off`, `0`, `1`) are not secrets. The value itself never appears \
in a finding.",
    remediation: "Store the credential in a `Secret` (or an external secret manager synced into \
one) and reference it with `env[].valueFrom.secretKeyRef`, or better, mount it as a file with a \
`secret` volume so it does not show up in the process environment. Then rotate the exposed \
credential: it is in the repository's history.",
    help_uri: Some(
        "https://kubernetes.io/docs/concepts/configuration/secret/#using-secrets-as-environment-variables",
    ),
    tags: &["secrets", "cwe/798", "cis-k8s/5.4.1"],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    for container in kubernetes::containers(resource) {
        let Some(env) = container.get(&["env"]).as_array() else {
            continue;
        };
        for (index, variable) in env.iter().enumerate() {
            if !variable.get("valueFrom").is_null() {
                continue;
            }
            let (Some(name), Some(value)) = (
                variable.get("name").as_str(),
                variable.get("value").as_str(),
            ) else {
                continue;
            };
            if !is_literal(value, References::Enclosed) {
                continue;
            }
            let message = if names_secret(name) {
                format!("{} sets `{name}` to a literal value", container.describe())
            } else if has_url_password(value) {
                format!(
                    "{} sets `{name}` to a URL with an embedded password",
                    container.describe()
                )
            } else {
                continue;
            };
            report.finding(
                container.pointer_to(&["env", &index.to_string(), "value"]),
                message,
            );
        }
    }
}
