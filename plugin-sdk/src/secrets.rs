//! Recognizing credentials in configuration values: variable names that say they hold one,
//! values in a well-known credential format, URLs with a password, and values that are only
//! references, templates or fill-in markers.
//!
//! Every pack that judges environment variables (Dockerfile `ENV`/`ARG`, Kubernetes `env`, an
//! image's `Env`) uses these, so a name reads the same way everywhere:
//!
//! ```
//! use palisade_sdk::secrets::{self, References, TokenKind};
//!
//! assert!(secrets::names_secret("DB_PASSWORD"));
//! assert!(!secrets::names_secret("PASSWORD_FILE"));
//! assert!(secrets::is_literal("hunter2", References::Shell));
//! assert!(!secrets::is_literal("${DB_PASSWORD}", References::Shell));
//! assert_eq!(secrets::token_kind("AKIAIOSFODNN7EXAMPLE"), Some(TokenKind::AwsAccessKey));
//! ```

/// How a format writes a reference to another variable, which is no value yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum References {
    /// `$NAME` and `${NAME}`: Dockerfile build arguments and shell variables.
    Shell,
    /// `$(NAME)` and `${NAME}` only: Kubernetes dependent variables, and values that an
    /// entrypoint fills in, where a bare `$` is an ordinary character (`pa$word`).
    Enclosed,
}

/// True when `value` still holds a variable reference (written as `references` says) or a
/// template placeholder (`{{ … }}`), whose real value is only known later.
pub fn is_placeholder(value: &str, references: References) -> bool {
    if value.contains("{{") {
        return true;
    }
    match references {
        References::Shell => value.match_indices('$').any(|(at, _)| {
            value[at + 1..]
                .bytes()
                .next()
                .is_some_and(|b| b == b'{' || b == b'_' || b.is_ascii_alphabetic())
        }),
        // Most values hold no `$`: one quick scan rules them out.
        References::Enclosed => {
            value.contains('$') && (value.contains("$(") || value.contains("${"))
        }
    }
}

/// True when `value` is a literal that could be a credential: not empty, not a reference to
/// another variable or a template placeholder, not a flag (`true`, `false`, `yes`, `no`,
/// `on`, `off`, `0`, `1`).
pub fn is_literal(value: &str, references: References) -> bool {
    const FLAGS: &[&str] = &["true", "false", "yes", "no", "on", "off", "0", "1"];
    let value = value.trim();
    !(value.is_empty()
        || is_placeholder(value, references)
        || FLAGS.iter().any(|flag| flag.eq_ignore_ascii_case(value)))
}

/// True when `value` is a marker for a value to be filled in rather than a value:
/// `<your-token>`, `[REDACTED]`, `changeme`, `your_api_key_here`, `xxxxxx`, `****`, `TODO`.
pub fn is_dummy(value: &str) -> bool {
    /// Marker words, lower case, separators removed.
    const MARKERS: &[&str] = &[
        "changeme",
        "changethis",
        "changeit",
        "replaceme",
        "replacethis",
        "todo",
        "tbd",
        "fixme",
        "placeholder",
        "redacted",
        "dummy",
        "example",
        "sample",
        "none",
        "null",
        "nil",
        "undefined",
        "unset",
        "empty",
    ];
    let value = value.trim();
    if (value.starts_with('<') && value.ends_with('>'))
        || (value.starts_with('[') && value.ends_with(']'))
    {
        return true;
    }
    let squashed: String = value
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | '.' | ' '))
        .flat_map(char::to_lowercase)
        .collect();
    let mut chars = squashed.chars();
    let repeated = chars
        .next()
        .is_some_and(|first| squashed.len() >= 3 && chars.all(|c| c == first));
    repeated
        || MARKERS.contains(&squashed.as_str())
        || squashed.starts_with("your")
        || squashed.starts_with("insert")
        || (squashed.ends_with("here") && value.contains(['-', '_', ' ']))
}

/// A well-known credential format, recognized from the value alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// `AKIA…` (long-term) or `ASIA…` (temporary) access key id.
    AwsAccessKey,
    /// `ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_` or `github_pat_` token.
    GitHubToken,
    /// `glpat-`, `gldt-`, `glrt-` or `glptt-` token.
    GitLabToken,
    /// `xoxb-`, `xoxp-`, `xoxa-`, `xoxr-`, `xoxs-` or `xapp-` token.
    SlackToken,
    /// `https://hooks.slack.com/services/…` incoming webhook.
    SlackWebhook,
    /// A PEM `-----BEGIN … PRIVATE KEY-----` block.
    PrivateKey,
    /// A JSON Web Token (`eyJ….eyJ….…`), usually a bearer credential.
    Jwt,
}

impl TokenKind {
    /// The credential named for a message, e.g. `an AWS access key id`.
    pub fn description(self) -> &'static str {
        match self {
            TokenKind::AwsAccessKey => "an AWS access key id",
            TokenKind::GitHubToken => "a GitHub token",
            TokenKind::GitLabToken => "a GitLab token",
            TokenKind::SlackToken => "a Slack token",
            TokenKind::SlackWebhook => "a Slack webhook URL",
            TokenKind::PrivateKey => "a private key",
            TokenKind::Jwt => "a JSON Web Token",
        }
    }
}

/// The credential format `value` holds somewhere in it, if it is a well-known one.
pub fn token_kind(value: &str) -> Option<TokenKind> {
    let upper_alnum = |b: u8| b.is_ascii_uppercase() || b.is_ascii_digit();
    let alnum = |b: u8| b.is_ascii_alphanumeric();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let dashed = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    if ["AKIA", "ASIA"]
        .iter()
        .any(|p| has_token(value, p, upper_alnum, 16, Some(16)))
    {
        return Some(TokenKind::AwsAccessKey);
    }
    if ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]
        .iter()
        .any(|p| has_token(value, p, alnum, 36, None))
        || has_token(value, "github_pat_", word, 22, None)
    {
        return Some(TokenKind::GitHubToken);
    }
    if ["glpat-", "gldt-", "glrt-", "glptt-"]
        .iter()
        .any(|p| has_token(value, p, dashed, 20, None))
    {
        return Some(TokenKind::GitLabToken);
    }
    if ["xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-", "xapp-"]
        .iter()
        .any(|p| has_token(value, p, dashed, 10, None))
    {
        return Some(TokenKind::SlackToken);
    }
    if has_token(
        value,
        "https://hooks.slack.com/services/",
        |b| b.is_ascii_alphanumeric() || b == b'_' || b == b'/',
        20,
        None,
    ) {
        return Some(TokenKind::SlackWebhook);
    }
    if is_private_key(value) {
        return Some(TokenKind::PrivateKey);
    }
    if has_jwt(value) {
        return Some(TokenKind::Jwt);
    }
    None
}

/// True when `value` holds `prefix` at the start of a word, followed by `min` to `max`
/// characters of `body` and then no more of them.
fn has_token(
    value: &str,
    prefix: &str,
    body: fn(u8) -> bool,
    min: usize,
    max: Option<usize>,
) -> bool {
    let bytes = value.as_bytes();
    value.match_indices(prefix).any(|(at, _)| {
        let starts_word = at == 0 || !bytes[at - 1].is_ascii_alphanumeric();
        let length = bytes[at + prefix.len()..]
            .iter()
            .take_while(|b| body(**b))
            .count();
        starts_word && length >= min && max.is_none_or(|max| length == max)
    })
}

/// True when `value` holds a PEM private key header (`RSA`, `EC`, `OPENSSH`, `ENCRYPTED`,
/// PKCS#8, PGP…).
fn is_private_key(value: &str) -> bool {
    value.match_indices("-----BEGIN ").any(|(at, opening)| {
        let label = &value[at + opening.len()..];
        label
            .find("-----")
            .is_some_and(|end| label[..end].contains("PRIVATE KEY"))
    })
}

/// True when `value` holds three dot-separated base64url segments whose first two start with
/// `eyJ` (the encoding of `{"`).
fn has_jwt(value: &str) -> bool {
    let base64url = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    let bytes = value.as_bytes();
    value.match_indices("eyJ").any(|(at, _)| {
        if at > 0 && base64url(bytes[at - 1]) {
            return false;
        }
        let mut segments = value[at..].split('.');
        let mut segment = || {
            segments
                .next()
                .map(|s| &s[..s.bytes().take_while(|b| base64url(*b)).count()])
        };
        let (Some(header), Some(payload), Some(_signature)) = (segment(), segment(), segment())
        else {
            return false;
        };
        header.len() >= 10 && payload.len() >= 10 && payload.starts_with("eyJ")
    })
}

/// True when `value` holds a URL whose userinfo carries a password: `scheme://user:pass@host`.
pub fn has_url_password(value: &str) -> bool {
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

/// True when a variable's name reads like it holds a credential.
///
/// Names are split into words at `_`, `-`, `.` and lower-to-upper case changes (`dbPassword` is
/// `db` `Password`). A name reads like a credential when a word contains `PASSWORD`, `PASSWD`,
/// `PASSPHRASE`, `SECRET` or `CREDENTIAL`; ends in `TOKEN`, `APIKEY`, `ACCESSKEY` or
/// `PRIVATEKEY`; is `PASS` or `PWD`; is `KEY` after `API`, `ACCESS`, `PRIVATE`, `SECRET`,
/// `SIGNING`, `ENCRYPTION`, `MASTER`, `AUTH`, `CLIENT`, `SSH`, `TLS`, `HMAC` or `LICENSE`; or is
/// `AUTH` as the last word (`BASIC_AUTH`). Names that describe a credential rather than hold
/// one are not: a word such as `URL`, `FILE`, `PATH`, `NAME`, `ID`, `HEADER`, `TTL`, `ENABLED`
/// or `LENGTH` after the credential word (`TOKEN_URL`, `PASSWORD_FILE`, `ACCESS_KEY_ID`), and
/// the well-known path variable `GOOGLE_APPLICATION_CREDENTIALS`.
pub fn names_secret(name: &str) -> bool {
    if NOT_SECRETS.iter().any(|n| n.eq_ignore_ascii_case(name)) {
        return false;
    }
    let mut secret = false;
    let mut qualified = false;
    let mut previous = "";
    let mut words = NameWords(name).peekable();
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
struct NameWords<'a>(&'a str);

impl<'a> Iterator for NameWords<'a> {
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
        let words = |name| NameWords(name).collect::<Vec<_>>();
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
    fn references_depend_on_the_format() {
        for value in ["${TOKEN}", "$TOKEN", "$_X", "{{ token }}"] {
            assert!(is_placeholder(value, References::Shell), "{value}");
        }
        for value in ["hunter2", "s3cr3t$", "$1", "$(TOKEN)"] {
            assert!(!is_placeholder(value, References::Shell), "{value}");
        }
        for value in ["${TOKEN}", "$(TOKEN)", "{{ token }}"] {
            assert!(is_placeholder(value, References::Enclosed), "{value}");
        }
        for value in ["hunter2", "pa$word", "$TOKEN"] {
            assert!(!is_placeholder(value, References::Enclosed), "{value}");
        }
    }

    #[test]
    fn references_templates_and_flags_are_not_literals() {
        for value in [
            "",
            "  ",
            "${DB_PASSWORD}",
            "{{ .Values.password }}",
            "true",
            "OFF",
            "0",
        ] {
            assert!(!is_literal(value, References::Shell), "{value:?}");
            assert!(!is_literal(value, References::Enclosed), "{value:?}");
        }
        for value in ["hunter2", "s3cr3t$", "ghp_abc123", "2"] {
            assert!(is_literal(value, References::Shell), "{value:?}");
        }
    }

    #[test]
    fn fill_in_markers_are_dummies() {
        for value in [
            "<your-token>",
            "[REDACTED]",
            "changeme",
            "CHANGE_ME",
            "your_api_key_here",
            "YOUR-TOKEN",
            "xxxxxx",
            "****",
            "TODO",
            "put-token-here",
        ] {
            assert!(is_dummy(value), "{value}");
        }
        for value in ["hunter2", "s3cr3t", "xx", "aab", "correct horse battery"] {
            assert!(!is_dummy(value), "{value}");
        }
    }

    #[test]
    fn credential_formats_are_recognized() {
        let cases = [
            ("AKIAIOSFODNN7EXAMPLE", Some(TokenKind::AwsAccessKey)),
            ("ASIAIOSFODNN7EXAMPLE", Some(TokenKind::AwsAccessKey)),
            ("key=AKIAIOSFODNN7EXAMPLE;", Some(TokenKind::AwsAccessKey)),
            ("AKIAIOSFODNN7EXAMPLE1", None),
            ("XAKIAIOSFODNN7EXAMPLE", None),
            ("AKIA-short", None),
            (
                "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
                Some(TokenKind::GitHubToken),
            ),
            ("ghp_short", None),
            (
                "github_pat_11ABCDEFG0abcdefghijkl_mnopqrstuvwxyz",
                Some(TokenKind::GitHubToken),
            ),
            ("glpat-aBcDeFgHiJ-kLmNoPqRs", Some(TokenKind::GitLabToken)),
            ("xoxb-1234567890-abcdefghij", Some(TokenKind::SlackToken)),
            (
                "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX",
                Some(TokenKind::SlackWebhook),
            ),
            (
                "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn…",
                Some(TokenKind::PrivateKey),
            ),
            ("-----BEGIN CERTIFICATE-----\nMIIB…", None),
            (
                "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
                Some(TokenKind::Jwt),
            ),
            (
                "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
                Some(TokenKind::Jwt),
            ),
            ("eyJhbGciOiJIUzI1NiJ9", None),
            ("hunter2", None),
            ("", None),
        ];
        for (value, kind) in cases {
            assert_eq!(token_kind(value), kind, "{value}");
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
