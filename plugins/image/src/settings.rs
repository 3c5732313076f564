//! The pack's settings, from `palisade.toml`:
//!
//! ```toml
//! [packs.image]
//! settings = { setuid-allow-extra = ["/usr/bin/sudo"], max-size-mib = 512 }
//! ```
//!
//! - `setuid-allow` — list of absolute paths: the setuid/setgid programs `image/setuid-binaries`
//!   accepts, *replacing* the default list ([`DEFAULT_SETUID_ALLOW`]).
//! - `setuid-allow-extra` — list of absolute paths added to the default (or replacing) list.
//! - `max-size-mib` — whole number above 0: the compressed size `image/too-large` accepts, in
//!   MiB (default 1024).

use palisade_sdk::Value;

/// The setuid/setgid programs that Debian, Ubuntu, Alpine and Red Hat UBI base images ship, and
/// that `image/setuid-binaries` accepts unless `setuid-allow` replaces the list:
/// password and account tools (`passwd`, `chsh`, `chfn`, `gpasswd`, `newgrp`, `chage`,
/// `expiry`), `su`, `mount`/`umount`, PAM's `unix_chkpwd` and `pam_timestamp_check`, OpenSSH's
/// `ssh-keysign`, the terminal writers `wall`/`write`, and Alpine's `bbsuid`; each under `/bin`,
/// `/sbin`, `/usr/bin` or `/usr/sbin` as the distributions place it (merged-`/usr` images list
/// the `/usr` paths).
pub const DEFAULT_SETUID_ALLOW: &[&str] = &[
    "/bin/bbsuid",
    "/bin/mount",
    "/bin/passwd",
    "/bin/su",
    "/bin/umount",
    "/sbin/pam_timestamp_check",
    "/sbin/unix_chkpwd",
    "/usr/bin/chage",
    "/usr/bin/chfn",
    "/usr/bin/chsh",
    "/usr/bin/expiry",
    "/usr/bin/gpasswd",
    "/usr/bin/mount",
    "/usr/bin/newgrp",
    "/usr/bin/passwd",
    "/usr/bin/su",
    "/usr/bin/umount",
    "/usr/bin/wall",
    "/usr/bin/write",
    "/usr/lib/openssh/ssh-keysign",
    "/usr/libexec/openssh/ssh-keysign",
    "/usr/sbin/pam_timestamp_check",
    "/usr/sbin/unix_chkpwd",
];

/// The compressed size `image/too-large` accepts by default, in MiB.
pub const DEFAULT_MAX_SIZE_MIB: u64 = 1024;

/// Every setting the pack knows.
const KNOWN: &[&str] = &["setuid-allow", "setuid-allow-extra", "max-size-mib"];

/// The pack's settings, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings<'a> {
    /// `setuid-allow`: replaces the default allow-list when given.
    pub setuid_allow: Option<Vec<&'a str>>,
    /// `setuid-allow-extra`: added to the allow-list.
    pub setuid_allow_extra: Vec<&'a str>,
    /// `max-size-mib`.
    pub max_size_mib: u64,
}

impl Default for Settings<'_> {
    fn default() -> Self {
        Settings {
            setuid_allow: None,
            setuid_allow_extra: Vec::new(),
            max_size_mib: DEFAULT_MAX_SIZE_MIB,
        }
    }
}

impl<'a> Settings<'a> {
    /// Reads and checks the settings object; the error names the setting and what is wrong.
    pub fn parse(config: &'a Value<'a>) -> Result<Self, String> {
        let object = config
            .as_object()
            .ok_or_else(|| format!("settings must be a table, got {}", type_name(config)))?;
        let mut settings = Settings::default();
        for (key, value) in object.iter() {
            match key {
                "setuid-allow" => settings.setuid_allow = Some(paths(key, value)?),
                "setuid-allow-extra" => settings.setuid_allow_extra = paths(key, value)?,
                "max-size-mib" => {
                    settings.max_size_mib = value.as_u64().filter(|n| *n > 0).ok_or_else(|| {
                        format!(
                            "setting `max-size-mib` must be a whole number of MiB above 0, got {}",
                            describe(value)
                        )
                    })?;
                }
                _ => {
                    return Err(format!(
                        "unknown setting `{key}`; the image pack knows {}",
                        KNOWN
                            .iter()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
        }
        Ok(settings)
    }

    /// The settings a rule sees. The host calls `configure` first, which rejects bad settings,
    /// so a rule never gets here with them; tests that skip `configure` get the defaults.
    pub fn of(config: &'a Value<'a>) -> Self {
        Settings::parse(config).unwrap_or_default()
    }

    /// True when the setuid/setgid program at `path` is allowed.
    pub fn setuid_allowed(&self, path: &str) -> bool {
        let base: &[&str] = self.setuid_allow.as_deref().unwrap_or(DEFAULT_SETUID_ALLOW);
        base.contains(&path) || self.setuid_allow_extra.contains(&path)
    }

    /// The largest compressed size accepted, in bytes.
    pub fn max_size_bytes(&self) -> u64 {
        self.max_size_mib.saturating_mul(1024 * 1024)
    }
}

/// A list of absolute paths without `.`/`..` segments, as image paths are written.
fn paths<'a>(key: &str, value: &'a Value<'a>) -> Result<Vec<&'a str>, String> {
    let items = value.as_array().ok_or_else(|| {
        format!(
            "setting `{key}` must be a list of absolute paths, got {}",
            describe(value)
        )
    })?;
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let path = item.as_str().ok_or_else(|| {
                format!(
                    "setting `{key}`: item {index} must be an absolute path, got {}",
                    describe(item)
                )
            })?;
            let normalized = path.starts_with('/')
                && path
                    .split('/')
                    .skip(1)
                    .all(|segment| !matches!(segment, "" | "." | ".."));
            if !normalized {
                return Err(format!(
                    "setting `{key}`: `{path}` is not an absolute path like `/usr/bin/sudo` \
                     (no `.`, `..`, empty segments or trailing `/`)"
                ));
            }
            Ok(path)
        })
        .collect()
}

/// A JSON type name for messages.
fn type_name(value: &Value<'_>) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::Str(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a table",
    }
}

/// A short description of a value for messages: its type, and the value when it is short.
fn describe(value: &Value<'_>) -> String {
    match value {
        Value::Number(_) | Value::Bool(_) => format!("{} ({value})", type_name(value)),
        Value::Str(text) if text.len() <= 40 => format!("a string ({text:?})"),
        _ => type_name(value).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_sdk::OwnedValue;

    fn parse(text: &str) -> Result<Settings<'static>, String> {
        let value: &'static OwnedValue =
            Box::leak(Box::new(OwnedValue::from_str(text).expect("valid JSON")));
        Settings::parse(value)
    }

    #[test]
    fn no_settings_mean_the_defaults() {
        let settings = parse("{}").expect("valid");
        assert_eq!(settings, Settings::default());
        assert!(settings.setuid_allowed("/usr/bin/passwd"));
        assert!(!settings.setuid_allowed("/usr/bin/sudo"));
        assert_eq!(settings.max_size_bytes(), 1024 * 1024 * 1024);
    }

    #[test]
    fn allow_replaces_and_extra_adds() {
        let settings = parse(r#"{"setuid-allow-extra": ["/usr/bin/sudo"]}"#).expect("valid");
        assert!(settings.setuid_allowed("/usr/bin/sudo"));
        assert!(settings.setuid_allowed("/usr/bin/passwd"));
        let settings = parse(r#"{"setuid-allow": ["/usr/bin/sudo"]}"#).expect("valid");
        assert!(settings.setuid_allowed("/usr/bin/sudo"));
        assert!(!settings.setuid_allowed("/usr/bin/passwd"));
        let settings =
            parse(r#"{"setuid-allow": [], "setuid-allow-extra": ["/bin/x"]}"#).expect("valid");
        assert!(settings.setuid_allowed("/bin/x") && !settings.setuid_allowed("/bin/su"));
    }

    #[test]
    fn bad_settings_are_rejected_with_the_key_and_reason() {
        for (text, wanted) in [
            ("[]", "settings must be a table, got a list"),
            (r#"{"setuid-alow": []}"#, "unknown setting `setuid-alow`"),
            (
                r#"{"setuid-allow": "/usr/bin/sudo"}"#,
                "`setuid-allow` must be a list",
            ),
            (
                r#"{"setuid-allow-extra": [1]}"#,
                "item 0 must be an absolute path, got a number (1)",
            ),
            (
                r#"{"setuid-allow": ["usr/bin/sudo"]}"#,
                "`usr/bin/sudo` is not an absolute path",
            ),
            (
                r#"{"setuid-allow": ["/usr/../bin/su"]}"#,
                "is not an absolute path",
            ),
            (
                r#"{"setuid-allow": ["/usr/bin/"]}"#,
                "is not an absolute path",
            ),
            (
                r#"{"max-size-mib": 0}"#,
                "`max-size-mib` must be a whole number of MiB above 0",
            ),
            (r#"{"max-size-mib": 1.5}"#, "got a number (1.5)"),
            (r#"{"max-size-mib": "1G"}"#, "got a string (\"1G\")"),
        ] {
            let error = parse(text).expect_err(text);
            assert!(error.contains(wanted), "{text}: {error}");
        }
    }
}
