//! `image/secret-in-env`: credentials must not be baked into an image's environment.

use palisade_sdk::secrets::{self, References};
use palisade_sdk::{Report, Resource, Rule, Severity, image};

pub const RULE: Rule = Rule {
    id: "image/secret-in-env",
    title: "Secret in the image environment",
    severity: Severity::High,
    kinds: image::CONFIG_KINDS,
    description: "An image's `Env` is stored in its configuration in plain text: anyone who can \
pull the image reads it with `docker inspect`, every registry, cache and mirror keeps a copy, \
and deleting the `ENV` line later does not remove it from images already pushed. This rule \
judges `image/config` and reports, pointing at the variable's entry of `Env`:\n
- as **critical**, a value in a well-known credential format, whatever the variable's name: \
AWS access key ids (`AKIA…`, `ASIA…`), GitHub tokens (`ghp_…`, `github_pat_…`), GitLab tokens \
(`glpat-…`), Slack tokens and webhooks (`xoxb-…`, `https://hooks.slack.com/services/…`), PEM \
private keys and JSON Web Tokens;\n
- as **high**, a literal value of a variable whose name says it holds a credential \
(`DB_PASSWORD`, `JWT_SECRET`, `GITHUB_TOKEN`, `STRIPE_API_KEY`, `BASIC_AUTH`…; names that only \
describe one, such as `PASSWORD_FILE` or `AWS_ACCESS_KEY_ID`, do not count), and a URL with a \
password in it (`postgres://app:hunter2@db/app`).\n
Empty values, flags (`true`, `0`…), references an entrypoint fills in (`${DB_PASSWORD}`, \
`$(cat …)`, `{{ … }}`) and fill-in markers (`changeme`, `<your-token>`, `xxxx`, `[REDACTED]`) \
are not reported. The value itself never appears in a finding.",
    remediation: "Give run-time secrets to the container when it starts (an orchestrator \
secret mounted as a file, `docker run --env-file`), never to the image; pass build-time secrets \
with a secret mount (`RUN --mount=type=secret,id=token …`). Then rotate the exposed credential: \
every copy of the image holds it.",
    help_uri: Some("https://docs.docker.com/build/building/secrets/"),
    tags: &["secrets", "cwe/798", "cis-docker/4.10"],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    let Some(config) = image::config(resource) else {
        return;
    };
    for variable in config.env() {
        let (name, value) = (variable.name, variable.value);
        if let Some(kind) = secrets::token_kind(value) {
            report.finding_with_severity(
                variable.pointer(),
                format!(
                    "`{name}` holds {} in the image config, readable by anyone who can pull \
                     the image: pass it at run time and rotate it",
                    kind.description()
                ),
                Severity::Critical,
            );
            continue;
        }
        if !secrets::is_literal(value, References::Enclosed) || secrets::is_dummy(value) {
            continue;
        }
        let what = if secrets::names_secret(name) {
            "is set to a literal value"
        } else if secrets::has_url_password(value) {
            "is set to a URL with an embedded password"
        } else {
            continue;
        };
        report.finding(
            variable.pointer(),
            format!(
                "`{name}` {what} in the image config, readable by anyone who can pull the \
                 image: pass it at run time and rotate it"
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::findings;
    use palisade_sdk::Severity;
    use palisade_sdk::serde_json::{Value, json};

    const ID: &str = "image/secret-in-env";
    const KIND: &str = "image/config";

    fn env(pairs: &[(&str, &str)]) -> Value {
        json!({"env": pairs.iter().map(|(n, v)| json!({"name": n, "value": v})).collect::<Vec<_>>()})
    }

    #[test]
    fn named_secrets_are_high_and_token_formats_critical() {
        let found = findings(
            ID,
            KIND,
            env(&[
                ("PATH", "/usr/bin"),
                ("DB_PASSWORD", "hunter2"),
                ("KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
                ("DATABASE_URL", "postgres://app:hunter2@db:5432/app"),
                ("CI_JOB", "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"),
            ]),
        );
        let got: Vec<_> = found
            .iter()
            .map(|f| (f.pointer.as_str(), f.severity))
            .collect();
        assert_eq!(
            got,
            [
                ("/env/1", None),
                ("/env/2", Some(Severity::Critical)),
                ("/env/3", None),
                ("/env/4", Some(Severity::Critical)),
            ]
        );
        assert!(found[1].message.contains("an AWS access key id"));
        assert!(found[2].message.contains("URL with an embedded password"));
        assert!(
            found
                .iter()
                .all(|f| !f.message.contains("hunter2")
                    && !f.message.contains("AKIAIOSFODNN7EXAMPLE")),
            "{found:?}"
        );
    }

    #[test]
    fn placeholders_flags_and_descriptions_pass() {
        let found = findings(
            ID,
            KIND,
            env(&[
                ("DB_PASSWORD", ""),
                ("DB_PASSWORD", "${DB_PASSWORD}"),
                ("API_TOKEN", "changeme"),
                ("API_TOKEN", "<your-token>"),
                ("API_KEY", "xxxxxxxx"),
                ("SECRET_ENABLED", "true"),
                ("AUTH_REQUIRED", "1"),
                ("PASSWORD_FILE", "/run/secrets/db"),
                ("AWS_ACCESS_KEY_ID", "from-vault"),
                ("URL", "https://example.com:8443/path"),
                ("GITHUB_TOKEN", "{{ .Token }}"),
            ]),
        );
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn a_dollar_inside_a_value_is_literal() {
        // Image values are final: Docker substituted build arguments when it built the image.
        let found = findings(ID, KIND, env(&[("DB_PASSWORD", "pa$word")]));
        assert_eq!(found.len(), 1);
    }
}
