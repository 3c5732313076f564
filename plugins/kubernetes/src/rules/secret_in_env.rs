//! `k8s/secret-in-env`: containers must not carry secrets as literal environment values.

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
            if !is_literal(value) {
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

/// Words whose substring marks a credential.
const CONTAINS: &[&str] = &["PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "CREDENTIAL"];
/// Word endings that mark a credential (`GITHUBTOKEN`, `APIKEY`), but not `TOKENS`.
const ENDS_WITH: &[&str] = &["TOKEN", "APIKEY", "ACCESSKEY", "PRIVATEKEY"];
/// Whole words that mark a credential.
const EXACT: &[&str] = &["PASS", "PWD"];
/// Words that make a following `KEY` a credential.
const KEY_KINDS: &[&str] = &[
    "API",
    "ACCESS",
    "PRIVATE",
    "SECRET",
    "SIGNING",
    "ENCRYPTION",
    "MASTER",
    "AUTH",
    "CLIENT",
    "SSH",
    "TLS",
    "HMAC",
    "LICENSE",
];
/// Words after a credential word that turn the name into a description of the credential.
const QUALIFIERS: &[&str] = &[
    "URL",
    "URLS",
    "URI",
    "URIS",
    "ENDPOINT",
    "HOST",
    "HOSTNAME",
    "PORT",
    "ADDR",
    "ADDRESS",
    "PATH",
    "FILE",
    "FILENAME",
    "DIR",
    "DIRECTORY",
    "MOUNT",
    "NAME",
    "ID",
    "ARN",
    "REF",
    "KIND",
    "TYPE",
    "MODE",
    "ENABLED",
    "ENABLE",
    "DISABLED",
    "DISABLE",
    "REQUIRED",
    "TTL",
    "EXPIRY",
    "EXPIRES",
    "EXPIRATION",
    "LIFETIME",
    "TIMEOUT",
    "INTERVAL",
    "DURATION",
    "SECONDS",
    "LENGTH",
    "LEN",
    "SIZE",
    "MIN",
    "MAX",
    "COUNT",
    "FORMAT",
    "ALGORITHM",
    "ALG",
    "HEADER",
    "PARAM",
    "FIELD",
    "PREFIX",
    "SUFFIX",
    "VERSION",
    "PROVIDER",
    "ISSUER",
    "AUDIENCE",
    "SCOPE",
    "SCOPES",
    "POLICY",
    "ROTATION",
    "REGION",
    "NAMESPACE",
];
/// Whole names that read like credentials but conventionally hold a path.
const NOT_SECRETS: &[&str] = &["GOOGLE_APPLICATION_CREDENTIALS"];

/// True when an environment variable's name reads like it holds a credential.
fn names_secret(name: &str) -> bool {
    if NOT_SECRETS.iter().any(|n| n.eq_ignore_ascii_case(name)) {
        return false;
    }
    let mut secret = false;
    let mut qualified = false;
    let mut previous = "";
    let mut words = Words(name).peekable();
    while let Some(word) = words.next() {
        let last = words.peek().is_none();
        if is_credential_word(word, previous, last) {
            secret = true;
            qualified = false;
        } else if secret && one_of(word, QUALIFIERS) {
            qualified = true;
        }
        previous = word;
    }
    secret && !qualified
}

fn is_credential_word(word: &str, previous: &str, last: bool) -> bool {
    CONTAINS
        .iter()
        .any(|marker| contains_ignore_case(word, marker))
        || ENDS_WITH
            .iter()
            .any(|marker| ends_with_ignore_case(word, marker))
        || one_of(word, EXACT)
        || (word.eq_ignore_ascii_case("KEY") && one_of(previous, KEY_KINDS))
        || (last && word.eq_ignore_ascii_case("AUTH"))
}

/// True when `value` is a literal that could be a credential: not empty, not a reference to
/// another variable or a template placeholder, not a flag.
fn is_literal(value: &str) -> bool {
    const FLAGS: &[&str] = &["true", "false", "yes", "no", "on", "off", "0", "1"];
    let value = value.trim();
    !(value.is_empty()
        || super::is_placeholder(value)
        || FLAGS.iter().any(|flag| flag.eq_ignore_ascii_case(value)))
}

/// True when `value` holds a URL whose userinfo carries a password: `scheme://user:pass@host`.
fn has_url_password(value: &str) -> bool {
    // The scheme ends at the first `:`.
    let Some(rest) = value
        .split_once(':')
        .and_then(|(_, rest)| rest.strip_prefix("//"))
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let Some((userinfo, _host)) = authority.rsplit_once('@') else {
        return false;
    };
    userinfo
        .split_once(':')
        .is_some_and(|(_user, password)| !password.is_empty())
}

fn one_of(word: &str, list: &[&str]) -> bool {
    list.iter().any(|w| w.eq_ignore_ascii_case(word))
}

fn contains_ignore_case(word: &str, needle: &str) -> bool {
    word.as_bytes()
        .windows(needle.len())
        .any(|window| window.eq_ignore_ascii_case(needle.as_bytes()))
}

fn ends_with_ignore_case(word: &str, suffix: &str) -> bool {
    word.len() >= suffix.len()
        && word.as_bytes()[word.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
}

/// The words of a variable name: runs of ASCII letters and digits, also split where a lowercase
/// letter is followed by an uppercase one (`dbPassword` → `db`, `Password`).
struct Words<'a>(&'a str);

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let bytes = self.0.as_bytes();
        let start = bytes.iter().position(u8::is_ascii_alphanumeric)?;
        let mut end = start + 1;
        while end < bytes.len()
            && bytes[end].is_ascii_alphanumeric()
            && !(bytes[end - 1].is_ascii_lowercase() && bytes[end].is_ascii_uppercase())
        {
            end += 1;
        }
        // `start` and `end` sit on ASCII bytes or the end, so both are char boundaries.
        let word = &self.0[start..end];
        self.0 = &self.0[end..];
        Some(word)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_at_separators_and_case_changes() {
        let words = |name| Words(name).collect::<Vec<_>>();
        assert_eq!(words("DB_PASSWORD"), ["DB", "PASSWORD"]);
        assert_eq!(
            words("spring.datasource.password"),
            ["spring", "datasource", "password"]
        );
        assert_eq!(
            words("awsSecretAccessKey"),
            ["aws", "Secret", "Access", "Key"]
        );
        assert_eq!(words("APIKey"), ["APIKey"]);
        assert_eq!(words("--a--b--"), ["a", "b"]);
        assert_eq!(words("é_TOKEN_ü"), ["TOKEN"]);
        assert!(words("").is_empty());
    }

    #[test]
    fn credential_names_are_recognized() {
        for name in [
            "PASSWORD",
            "DB_PASSWORD",
            "MYSQL_ROOT_PASSWORD",
            "POSTGRES_PASSWD",
            "DB_PASS",
            "DB_PWD",
            "GPG_PASSPHRASE",
            "JWT_SECRET",
            "CLIENT_SECRET",
            "SECRET_KEY_BASE",
            "AWS_SECRET_ACCESS_KEY",
            "GITHUB_TOKEN",
            "VAULT_TOKEN",
            "githubToken",
            "ACCESS_TOKEN",
            "API_KEY",
            "APIKEY",
            "apiKey",
            "STRIPE_API_KEY",
            "ACCESS_KEY",
            "PRIVATE_KEY",
            "TLS_KEY",
            "SIGNING_KEY",
            "DB_CREDENTIALS",
            "BASIC_AUTH",
            "REDIS_AUTH",
            "spring.datasource.password",
            "dbPassword",
            "DB_PASSWORD_PROD",
        ] {
            assert!(names_secret(name), "{name} should read as a credential");
        }
    }

    #[test]
    fn names_that_describe_credentials_are_not_secrets() {
        for name in [
            "TOKEN_URL",
            "OAUTH_TOKEN_URL",
            "PASSWORD_FILE",
            "POSTGRES_PASSWORD_FILE",
            "dbPasswordFile",
            "ACCESS_KEY_ID",
            "AWS_ACCESS_KEY_ID",
            "SECRET_NAME",
            "JWT_SECRET_PATH",
            "API_KEY_HEADER",
            "TOKEN_EXPIRY_SECONDS",
            "TOKEN_TTL",
            "PASSWORD_MIN_LENGTH",
            "AUTH_ENABLED",
            "AUTH_URL",
            "CREDENTIALS_PATH",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "MAX_TOKENS",
            "TOKENIZER",
            "KEY",
            "CACHE_KEY_PREFIX",
            "PARTITION_KEY",
            "PASSPORT_NUMBER",
            "BYPASS_CACHE",
            "AUTHOR",
            "PWD_DIR",
            "LOG_LEVEL",
            "",
        ] {
            assert!(
                !names_secret(name),
                "{name} should not read as a credential"
            );
        }
    }

    #[test]
    fn references_templates_and_flags_are_not_literals() {
        for value in [
            "",
            "  ",
            "$(DB_PASSWORD)",
            "${DB_PASSWORD}",
            "{{ .Values.password }}",
            "true",
            "OFF",
            "0",
        ] {
            assert!(!is_literal(value), "{value:?}");
        }
        for value in ["hunter2", "s3cr3t$", "ghp_abc123", "2"] {
            assert!(is_literal(value), "{value:?}");
        }
    }

    #[test]
    fn urls_with_passwords_are_found() {
        assert!(has_url_password("postgres://app:hunter2@db:5432/app"));
        assert!(has_url_password("redis://:hunter2@cache:6379/0"));
        assert!(has_url_password("amqp://user:p@ss@mq"));
        assert!(!has_url_password("postgres://app@db/app"));
        assert!(!has_url_password("postgres://app:@db/app"));
        assert!(!has_url_password("https://example.com/a:b@c"));
        assert!(!has_url_password("https://example.com:8443/path"));
        assert!(!has_url_password("user:pass@host"));
    }
}
