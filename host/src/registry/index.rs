//! The registry index (`index.toml`) and its root signatures (`index.toml.sig`): the middle of
//! the chain of trust root keys → index → team key → manifest → component.
//!
//! The index lists every published plugin version with the digests of its manifest and
//! component, the teams with their public keys and the name prefixes each may publish, the
//! revoked versions, a monotonic version and an expiry date. The security team's root keys sign
//! it; a team's key signs each manifest; the manifest pins the component.
//!
//! `index.toml.sig` holds one or more armored SSHSIG blocks, concatenated, each made in the
//! `palisade-registry` namespace over the exact bytes of `index.toml`. A block is exactly what
//! `ssh-keygen` writes, so a root key holder may sign without palisade and append:
//!
//! ```text
//! ssh-keygen -Y sign -n palisade-registry -f ~/.ssh/root_key < index.toml >> index.toml.sig
//! ```
//!
//! (`palisade registry sign` does the same, and on the first signature of a version also sets
//! `expires`, which an index needs to be valid.)
//!
//! Verification ([`verify_index`]) checks every signature over the raw bytes before the index
//! is even parsed, then decides trust from the parsed root keys, then validates the rest and
//! the expiry. Published plugins are then checked one by one against the verified index
//! ([`verify_manifest`], [`verify_wasm`], [`verify_plugin`]); everything takes bytes, so the same
//! code serves a directory and a web site.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use semver::{Version, VersionReq};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::artifact::MAX_MANIFEST_BYTES;
use super::manifest::{Manifest, ManifestError, validate_name};
use super::sshsig::{
    PLUGIN_NAMESPACE, REGISTRY_NAMESPACE, SignatureError, TrustedKey, signer as signature_signer,
};
use crate::engine::sha256_hex;

/// The index's file name at the root of a registry.
pub const INDEX_FILE: &str = "index.toml";
/// The root signatures' file name, beside the index.
pub const INDEX_SIGNATURES_FILE: &str = "index.toml.sig";
/// The index format this palisade reads and writes.
pub const INDEX_FORMAT: u32 = 1;
/// Largest index accepted: ~300 bytes per published version leaves room for 100 000 of them.
pub const MAX_INDEX_BYTES: u64 = 32 << 20;
/// Largest signature file accepted: a few root signatures of under 2 KiB each.
pub const MAX_INDEX_SIGNATURES_BYTES: u64 = 1 << 20;
/// Largest manifest signature accepted (one SSHSIG block; an RSA-16384 one is under 6 KiB).
pub const MAX_MANIFEST_SIGNATURE_BYTES: u64 = 64 << 10;
/// Most signature blocks read from `index.toml.sig`; each costs a signature check.
const MAX_SIGNATURE_BLOCKS: usize = 64;
/// Longest revocation reason accepted, in characters.
const MAX_REASON_CHARS: usize = 1024;
/// Longest team name accepted (the same rule as a manifest's team).
const MAX_TEAM_CHARS: usize = super::manifest::MAX_SEGMENT_CHARS;

const BEGIN_SIGNATURE: &str = "-----BEGIN SSH SIGNATURE-----";
const END_SIGNATURE: &str = "-----END SSH SIGNATURE-----";

/// The registry index, as `index.toml` holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Index {
    /// The index format, [`INDEX_FORMAT`].
    pub format: u32,
    /// Monotonic, from 1: raised once for each change after a signature.
    pub version: u64,
    /// RFC 3339 UTC instant after which the index is stale; `""` until first signed.
    pub expires: String,
    /// The keys that sign the index.
    pub root: RootKeys,
    /// The root this index replaces, only in the index that rotates the root keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_root: Option<RootKeys>,
    /// The teams that publish, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub teams: BTreeMap<String, Team>,
    /// Every published plugin version, sorted by (name, version).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plugins: Vec<PluginEntry>,
    /// Revoked versions, sorted by (name, version).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revoked: Vec<Revocation>,
}

/// A set of root keys and how many of them must sign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RootKeys {
    /// How many distinct keys must sign, 1 to `keys.len()`.
    pub threshold: usize,
    /// OpenSSH public key lines (`ALGO BASE64 [COMMENT]`).
    pub keys: Vec<String>,
}

/// A team that publishes plugins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Team {
    /// OpenSSH public key lines; any one of them may sign the team's manifests.
    pub keys: Vec<String>,
    /// The names the team may publish start with one of these (`platform/`).
    pub prefixes: Vec<String>,
}

/// One published plugin version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PluginEntry {
    /// `team/pack`.
    pub name: String,
    /// The version.
    pub version: Version,
    /// The publishing team, whose key signed the manifest.
    pub team: String,
    /// Lowercase hex sha256 of the manifest's bytes.
    pub manifest_sha256: String,
    /// The manifest's size in bytes.
    pub manifest_size: u64,
    /// Lowercase hex sha256 of the component.
    pub wasm_sha256: String,
    /// The component's size in bytes.
    pub wasm_size: u64,
}

/// A revoked plugin version and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Revocation {
    /// `team/pack`.
    pub name: String,
    /// The revoked version.
    pub version: Version,
    /// Why, for the people whose scans now refuse it.
    pub reason: String,
}

/// Why an index or its signatures were refused. Callers add the registry's location.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndexError {
    /// Not TOML, or not the index's shape (unknown or missing fields, wrong types).
    #[error("malformed index: {0}")]
    Malformed(String),
    /// A field has an invalid value.
    #[error("invalid index: `{field}` {reason}")]
    Invalid { field: String, reason: String },
    /// A plugin entry names a team the index does not list.
    #[error(
        "invalid index: plugin {plugin} belongs to team `{team}`, which the index does not list"
    )]
    UnknownTeam { plugin: String, team: String },
    /// A plugin entry's name is outside its team's prefixes.
    #[error(
        "invalid index: plugin {plugin} is outside the names team `{team}` may publish ({prefixes})"
    )]
    OutsidePrefixes {
        plugin: String,
        team: String,
        prefixes: String,
    },
    /// The signature file is not a sequence of armored SSHSIG blocks.
    #[error("malformed index signatures: {0}")]
    MalformedSignatures(String),
    /// The signature file holds no signature.
    #[error("the index is not signed: {INDEX_SIGNATURES_FILE} holds no signature")]
    Unsigned,
    /// A signature block failed to verify.
    #[error("index signature {block} (by {signer}) is refused: {error}")]
    BadSignature {
        block: usize,
        signer: String,
        error: SignatureError,
    },
    /// A signature was made by a key that is neither a root nor a previous-root key.
    #[error("the index is signed by {fingerprint}, which is not one of its root keys")]
    NotRootKey { fingerprint: String },
    /// Too few distinct keys signed.
    #[error("the index is signed by {signed} of {required} required {keys}")]
    BelowThreshold {
        signed: usize,
        required: usize,
        keys: &'static str,
    },
    /// The index rotates the root keys, but too few of the trusted (previous) keys signed it.
    #[error(
        "the index replaces the root keys, but only {signed} of the {required} required trusted \
         (previous-root) keys signed it: a new root must be vouched for by the keys it replaces"
    )]
    RotationNotSigned { signed: usize, required: usize },
    /// The index's root keys are not the trusted ones, and no rotation from them is in it.
    #[error(
        "the index's root keys ({found}) are not the trusted root keys ({trusted}), and the \
         index holds no `previous-root` that matches the trusted keys: the root keys changed \
         without the trusted keys signing the change. A rotation must be seen (verified) before \
         later indexes; if you have checked the new root out of band, pin the new root keys"
    )]
    RootChanged { trusted: String, found: String },
    /// The index was never given an expiry, so it was never properly signed.
    #[error(
        "the index has no expiry (`expires = \"\"`): it was not signed with `palisade registry \
         sign`, which sets it, so it is not valid"
    )]
    NoExpiry,
    /// The index's expiry has passed.
    #[error("the index expired at {expires}, {}: a stale index (freeze attack?)", ago(*days))]
    Expired { expires: String, days: i64 },
}

fn ago(days: i64) -> String {
    match days {
        0 => "less than a day ago".to_string(),
        1 => "1 day ago".to_string(),
        n => format!("{n} days ago"),
    }
}

/// Why a published plugin was refused. Callers add the registry and the plugin's id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PluginRefusal {
    /// The manifest's size is not the one the index pins.
    #[error("manifest size mismatch: {found} bytes, the index says {expected}")]
    ManifestSize { expected: u64, found: u64 },
    /// The manifest's digest is not the one the index pins.
    #[error(
        "manifest digest mismatch: sha256 {found}, the index says {expected} (the manifest \
         changed after the index was signed)"
    )]
    ManifestDigest { expected: String, found: String },
    /// The manifest is another version's or plugin's.
    #[error(
        "mix-and-match: the manifest is the one of {found}, not of {expected} (a manifest of \
         another version or plugin)"
    )]
    MixAndMatch { expected: String, found: String },
    /// The manifest's signature did not verify.
    #[error("manifest signature refused: {0}")]
    Signature(SignatureError),
    /// The manifest was signed by a key that is not one of its team's.
    #[error("the manifest is signed by {fingerprint}, which is not a key of team `{team}`")]
    NotTeamKey { fingerprint: String, team: String },
    /// The index lists an unusable key for the team.
    #[error("team `{team}` has an invalid key in the index: {reason}")]
    TeamKey { team: String, reason: String },
    /// The manifest is not valid.
    #[error("invalid manifest: {0}")]
    Manifest(ManifestError),
    /// The plugin's team is not in the index.
    #[error("team `{team}` is not in the index")]
    UnknownTeam { team: String },
    /// The plugin's name is outside its team's prefixes.
    #[error("{name} is outside the names team `{team}` may publish ({prefixes})")]
    OutsidePrefixes {
        name: String,
        team: String,
        prefixes: String,
    },
    /// The version is revoked.
    #[error("revoked: {reason}")]
    Revoked { reason: String },
    /// The index and the signed manifest pin different components.
    #[error(
        "the index and the manifest disagree on the component: the index pins sha256 {index} \
         ({index_size} bytes), the manifest {manifest} ({manifest_size} bytes)"
    )]
    ComponentDisagreement {
        index: String,
        index_size: u64,
        manifest: String,
        manifest_size: u64,
    },
    /// The component's size is not the one pinned.
    #[error("component size mismatch: {found} bytes, the index and manifest say {expected}")]
    WasmSize { expected: u64, found: u64 },
    /// The component's digest is not the one pinned.
    #[error("component tampered: sha256 {found}, the index and manifest say {expected}")]
    WasmDigest { expected: String, found: String },
}

fn invalid(field: impl fmt::Display, reason: impl fmt::Display) -> IndexError {
    IndexError::Invalid {
        field: field.to_string(),
        reason: reason.to_string(),
    }
}

impl Index {
    /// A new, unsigned index (version 1, no expiry) with these root keys and nothing else.
    pub fn new(root: RootKeys) -> Result<Index, IndexError> {
        let index = Index {
            format: INDEX_FORMAT,
            version: 1,
            expires: String::new(),
            root,
            previous_root: None,
            teams: BTreeMap::new(),
            plugins: Vec::new(),
            revoked: Vec::new(),
        };
        index.validate()?;
        Ok(index)
    }

    /// Parses and validates an index.
    pub fn parse(text: &str) -> Result<Index, IndexError> {
        let index = parse_shape(text)?;
        index.validate()?;
        Ok(index)
    }

    /// Parses and validates an index from its raw bytes (which must be UTF-8).
    pub fn parse_bytes(bytes: &[u8]) -> Result<Index, IndexError> {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| IndexError::Malformed("it is not UTF-8 text".to_string()))?;
        Index::parse(text)
    }

    /// The canonical TOML text: the same index always gives the same bytes.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("an index is plain data that TOML can hold")
    }

    /// The published entry `name@version`.
    pub fn entry(&self, name: &str, version: &Version) -> Option<&PluginEntry> {
        self.plugins
            .iter()
            .find(|e| e.name == name && e.version == *version)
    }

    /// The revocation of `name@version`, if it is revoked.
    pub fn revocation(&self, name: &str, version: &Version) -> Option<&Revocation> {
        self.revoked
            .iter()
            .find(|r| r.name == name && r.version == *version)
    }

    /// The highest published, non-revoked version of `name` matching `req`.
    pub fn resolve(&self, name: &str, req: &VersionReq) -> Option<&PluginEntry> {
        self.plugins
            .iter()
            .filter(|e| e.name == name && req.matches(&e.version))
            .filter(|e| self.revocation(&e.name, &e.version).is_none())
            .max_by(|a, b| a.version.cmp(&b.version))
    }

    /// The expiry as an instant; an index without one ([`IndexError::NoExpiry`]) is not valid.
    pub fn expires_at(&self) -> Result<OffsetDateTime, IndexError> {
        if self.expires.is_empty() {
            return Err(IndexError::NoExpiry);
        }
        parse_expiry(&self.expires).map_err(|reason| invalid("expires", reason))
    }

    /// Inserts `entry` at its sorted place (the caller has checked it is not already there).
    pub fn insert_plugin(&mut self, entry: PluginEntry) {
        let at = self.plugins.partition_point(|e| {
            (e.name.as_str(), &e.version) < (entry.name.as_str(), &entry.version)
        });
        self.plugins.insert(at, entry);
    }

    /// Inserts `revocation` at its sorted place (the caller has checked it is not already there).
    pub fn insert_revocation(&mut self, revocation: Revocation) {
        let at = self.revoked.partition_point(|r| {
            (r.name.as_str(), &r.version) < (revocation.name.as_str(), &revocation.version)
        });
        self.revoked.insert(at, revocation);
    }

    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), IndexError> {
        if self.format != INDEX_FORMAT {
            return Err(unknown_format(self.format));
        }
        if self.version == 0 {
            return Err(invalid("version", "must be 1 or more"));
        }
        if !self.expires.is_empty() {
            parse_expiry(&self.expires).map_err(|reason| invalid("expires", reason))?;
        }
        TrustedRoot::from_root_keys_named("root", &self.root)?;
        if let Some(previous) = &self.previous_root {
            TrustedRoot::from_root_keys_named("previous-root", previous)?;
        }
        self.validate_teams()?;
        self.validate_plugins()?;
        self.validate_revocations()
    }

    fn validate_teams(&self) -> Result<(), IndexError> {
        let mut owners: Vec<(&str, &str)> = Vec::new();
        for (name, team) in &self.teams {
            validate_team_name(name)
                .map_err(|reason| invalid(format_args!("teams.{name}"), reason))?;
            let field = format!("teams.{name}");
            if team.keys.is_empty() {
                return Err(invalid(
                    format_args!("{field}.keys"),
                    "is empty: a team needs a key to sign its manifests",
                ));
            }
            parse_key_lines(&format!("{field}.keys"), &team.keys)?;
            if team.prefixes.is_empty() {
                return Err(invalid(
                    format_args!("{field}.prefixes"),
                    "is empty: a team needs a prefix for the names it publishes",
                ));
            }
            for prefix in &team.prefixes {
                validate_prefix(prefix)
                    .map_err(|r| invalid(format_args!("{field}.prefixes"), r))?;
                // Each name has one owner: no prefix may be the start of another.
                if let Some((other_team, other)) = owners.iter().find(|(_, other)| {
                    other.starts_with(prefix.as_str()) || prefix.starts_with(other)
                }) {
                    return Err(invalid(
                        format_args!("{field}.prefixes"),
                        format_args!(
                            "`{prefix}` overlaps `{other}` of team `{other_team}`: every name \
                             must belong to one team"
                        ),
                    ));
                }
                owners.push((name, prefix));
            }
        }
        Ok(())
    }

    fn validate_plugins(&self) -> Result<(), IndexError> {
        for (i, entry) in self.plugins.iter().enumerate() {
            let field = format!("plugins[{i}]");
            validate_name(&entry.name).map_err(|e| manifest_field(&format!("{field}.name"), e))?;
            let Some(team) = self.teams.get(&entry.team) else {
                return Err(IndexError::UnknownTeam {
                    plugin: entry.id(),
                    team: entry.team.clone(),
                });
            };
            if !within_prefixes(&entry.name, team) {
                return Err(IndexError::OutsidePrefixes {
                    plugin: entry.id(),
                    team: entry.team.clone(),
                    prefixes: team.prefixes.join(", "),
                });
            }
            validate_sha256(&entry.manifest_sha256)
                .map_err(|r| invalid(format_args!("{field}.manifest-sha256"), r))?;
            validate_sha256(&entry.wasm_sha256)
                .map_err(|r| invalid(format_args!("{field}.wasm-sha256"), r))?;
            if entry.manifest_size == 0 || entry.manifest_size > MAX_MANIFEST_BYTES {
                return Err(invalid(
                    format_args!("{field}.manifest-size"),
                    format_args!("must be 1 to {MAX_MANIFEST_BYTES}"),
                ));
            }
            if entry.wasm_size == 0 {
                return Err(invalid(
                    format_args!("{field}.wasm-size"),
                    "must be more than 0",
                ));
            }
            if i > 0 {
                let previous = &self.plugins[i - 1];
                check_order(
                    &field,
                    (&previous.name, &previous.version),
                    (&entry.name, &entry.version),
                )?;
            }
        }
        Ok(())
    }

    fn validate_revocations(&self) -> Result<(), IndexError> {
        for (i, revocation) in self.revoked.iter().enumerate() {
            let field = format!("revoked[{i}]");
            if self.entry(&revocation.name, &revocation.version).is_none() {
                return Err(invalid(
                    &field,
                    format_args!(
                        "revokes {}@{}, which is not published",
                        revocation.name, revocation.version
                    ),
                ));
            }
            validate_reason(&revocation.reason)
                .map_err(|r| invalid(format_args!("{field}.reason"), r))?;
            if i > 0 {
                let previous = &self.revoked[i - 1];
                check_order(
                    &field,
                    (&previous.name, &previous.version),
                    (&revocation.name, &revocation.version),
                )?;
            }
        }
        Ok(())
    }
}

impl PluginEntry {
    /// The entry's directory in the registry: `plugins/<name>/<version>` ('/'-separated).
    pub fn dir(&self) -> String {
        format!("plugins/{}/{}", self.name, self.version)
    }

    /// `name@version`, as users refer to a plugin.
    pub fn id(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }
}

/// Parses `NAME@VERSION`, e.g. `platform/k8s@1.2.0`.
pub fn parse_plugin_id(id: &str) -> Result<(String, Version), String> {
    let (name, version) = id
        .rsplit_once('@')
        .ok_or_else(|| format!("`{id}` is not NAME@VERSION (e.g. platform/k8s@1.2.0)"))?;
    validate_name(name).map_err(|e| e.to_string())?;
    let version = Version::parse(version)
        .map_err(|e| format!("`{version}` in `{id}` is not a version: {e}"))?;
    Ok((name.to_string(), version))
}

/// Why a revocation reason is not acceptable (empty, too long, control characters), if it is not.
pub fn validate_reason(reason: &str) -> Result<(), String> {
    if reason.trim().is_empty() {
        return Err("is empty: say why the version is revoked".to_string());
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(format!("is longer than {MAX_REASON_CHARS} characters"));
    }
    if reason.chars().any(char::is_control) {
        return Err("contains control characters (it must be one line)".to_string());
    }
    Ok(())
}

/// Formats an instant as the index writes it: RFC 3339, UTC, whole seconds.
pub fn format_expiry(at: OffsetDateTime) -> String {
    let at = at
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .expect("0 nanoseconds is in range");
    at.format(&Rfc3339)
        .expect("a UTC instant within the years 0 to 9999 formats as RFC 3339")
}

/// Parses an RFC 3339 UTC instant, as `expires` holds it.
fn parse_expiry(text: &str) -> Result<OffsetDateTime, String> {
    let at = OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|e| format!("`{text}` is not an RFC 3339 date-time: {e}"))?;
    if !at.offset().is_utc() {
        return Err(format!("`{text}` must be in UTC (end in `Z`)"));
    }
    Ok(at)
}

/// Parses the index's shape only, without validating values: trust is decided from the root
/// keys before the rest is looked at.
fn parse_shape(text: &str) -> Result<Index, IndexError> {
    /// Just the format, read first: an index of a newer format may have fields this palisade
    /// does not know, and saying so beats "unknown field".
    #[derive(Deserialize)]
    struct Format {
        format: Option<u32>,
    }
    let malformed = |e: toml::de::Error| IndexError::Malformed(e.message().to_string());
    if let Format {
        format: Some(format),
    } = toml::from_str(text).map_err(malformed)?
        && format != INDEX_FORMAT
    {
        return Err(unknown_format(format));
    }
    toml::from_str(text).map_err(malformed)
}

fn unknown_format(format: u32) -> IndexError {
    invalid(
        "format",
        format_args!(
            "is {format}, but this palisade reads format {INDEX_FORMAT} (a newer palisade may \
             read it)"
        ),
    )
}

fn manifest_field(field: &str, error: ManifestError) -> IndexError {
    let reason = match error {
        ManifestError::Invalid { reason, .. } => reason,
        ManifestError::Syntax(reason) => reason,
    };
    invalid(field, reason)
}

fn check_order(
    field: &str,
    previous: (&String, &Version),
    current: (&String, &Version),
) -> Result<(), IndexError> {
    match previous.cmp(&current) {
        std::cmp::Ordering::Less => Ok(()),
        std::cmp::Ordering::Equal => Err(invalid(
            field,
            format_args!("repeats {}@{}", current.0, current.1),
        )),
        std::cmp::Ordering::Greater => Err(invalid(
            field,
            format_args!(
                "{}@{} comes after {}@{}: entries must be sorted by name, then version",
                current.0, current.1, previous.0, previous.1
            ),
        )),
    }
}

/// True when `name` starts with one of the team's prefixes.
fn within_prefixes(name: &str, team: &Team) -> bool {
    team.prefixes.iter().any(|p| name.starts_with(p.as_str()))
}

/// A team name: the same rules as a manifest's `team` (lowercase `[a-z0-9-]`, no `-` at either
/// end).
fn validate_team_name(name: &str) -> Result<(), String> {
    super::manifest::validate_segment(name).map_err(|reason| format!("team name {reason}"))
}

/// A name prefix: lowercase `[a-z0-9-]`, optionally ending in `/` (`platform/`).
fn validate_prefix(prefix: &str) -> Result<(), String> {
    let body = prefix.strip_suffix('/').unwrap_or(prefix);
    if body.is_empty()
        || body.len() > MAX_TEAM_CHARS
        || !body
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(format!(
            "`{}` must be lowercase letters, digits and `-`, optionally ending in `/` (e.g. \
             `platform/`)",
            prefix.escape_debug()
        ));
    }
    Ok(())
}

fn validate_sha256(digest: &str) -> Result<(), String> {
    if digest.len() == 64
        && digest
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(())
    } else {
        Err("must be 64 lowercase hex digits".to_string())
    }
}

/// Parses key lines, refusing a bad line or the same key twice.
fn parse_key_lines(field: &str, lines: &[String]) -> Result<Vec<TrustedKey>, IndexError> {
    let mut keys: Vec<TrustedKey> = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        if line.chars().any(char::is_control) {
            return Err(invalid(
                format_args!("{field}[{i}]"),
                "must be one OpenSSH public key line",
            ));
        }
        let key = TrustedKey::parse(line).map_err(|r| invalid(format_args!("{field}[{i}]"), r))?;
        if keys.contains(&key) {
            return Err(invalid(
                format_args!("{field}[{i}]"),
                format_args!("repeats the key {}", key.fingerprint()),
            ));
        }
        keys.push(key);
    }
    Ok(keys)
}

/// The keys an index's signatures must come from: pinned (from `palisade.toml` or the command
/// line) or remembered from the last verified index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedRoot {
    /// The trusted keys, distinct.
    pub keys: Vec<TrustedKey>,
    /// How many of them must sign, 1 to `keys.len()`.
    pub threshold: usize,
}

impl TrustedRoot {
    /// Parses and checks root keys (valid lines, distinct keys, a threshold they can meet).
    pub fn from_root_keys(root: &RootKeys) -> Result<TrustedRoot, IndexError> {
        TrustedRoot::from_root_keys_named("root", root)
    }

    fn from_root_keys_named(field: &str, root: &RootKeys) -> Result<TrustedRoot, IndexError> {
        if root.keys.is_empty() {
            return Err(invalid(format_args!("{field}.keys"), "is empty"));
        }
        let keys = parse_key_lines(&format!("{field}.keys"), &root.keys)?;
        let trusted = TrustedRoot {
            keys,
            threshold: root.threshold,
        };
        trusted
            .check()
            .map_err(|reason| invalid(format_args!("{field}.threshold"), reason))?;
        Ok(trusted)
    }

    /// True when `root` is this root: the same set of keys and the same threshold. A root with
    /// the same keys but another threshold is a changed root.
    pub fn same_keys(&self, root: &RootKeys) -> bool {
        let Ok(theirs) = parse_key_lines("root.keys", &root.keys) else {
            return false;
        };
        root.threshold == self.threshold
            && theirs.len() == self.keys.len()
            && theirs.iter().all(|k| self.keys.contains(k))
    }

    /// The keys' fingerprints and threshold, for messages: `2 of SHA256:…, SHA256:…`.
    pub fn describe(&self) -> String {
        let fingerprints: Vec<String> = self.keys.iter().map(TrustedKey::fingerprint).collect();
        format!("{} of {}", self.threshold, fingerprints.join(", "))
    }

    /// Why the threshold cannot work with the keys, if it cannot.
    fn check(&self) -> Result<(), String> {
        if self.threshold == 0 || self.threshold > self.keys.len() {
            return Err(format!(
                "is {}, but must be 1 to the number of keys ({})",
                self.threshold,
                self.keys.len()
            ));
        }
        let distinct: BTreeSet<String> = self.keys.iter().map(TrustedKey::fingerprint).collect();
        if distinct.len() != self.keys.len() {
            return Err("counts a key twice: the keys must be distinct".to_string());
        }
        Ok(())
    }
}

/// An index whose signatures, root keys and expiry checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIndex {
    /// The index, parsed and validated.
    pub index: Index,
    /// Lowercase hex sha256 of the `index.toml` bytes that were verified.
    pub sha256: String,
    /// The `SHA256:…` fingerprints of the distinct keys whose signatures verified.
    pub signers: Vec<String>,
}

/// Splits `index.toml.sig` into its armored SSHSIG blocks. Anything but blank lines outside the
/// blocks is an error: a signature file is only signatures.
pub fn signature_blocks(text: &str) -> Result<Vec<String>, IndexError> {
    let malformed =
        |line: usize, what: &str| IndexError::MalformedSignatures(format!("line {line}: {what}"));
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        match current.as_mut() {
            None if line.is_empty() => {}
            None if line == BEGIN_SIGNATURE => current = Some(format!("{line}\n")),
            None => {
                return Err(malformed(
                    i + 1,
                    "text outside a `-----BEGIN SSH SIGNATURE-----` block",
                ));
            }
            Some(_) if line == BEGIN_SIGNATURE => {
                return Err(malformed(i + 1, "a signature begins inside another"));
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
                if line == END_SIGNATURE {
                    blocks.extend(current.take());
                    if blocks.len() > MAX_SIGNATURE_BLOCKS {
                        return Err(IndexError::MalformedSignatures(format!(
                            "more than {MAX_SIGNATURE_BLOCKS} signatures"
                        )));
                    }
                }
            }
        }
    }
    if current.is_some() {
        return Err(IndexError::MalformedSignatures(format!(
            "the last signature has no `{END_SIGNATURE}` line"
        )));
    }
    Ok(blocks)
}

/// Verifies raw index bytes and the signature file's text against `trusted` at time `now`.
///
/// Every signature is checked over the raw bytes first; a block that fails, or one by a key that
/// is neither a root nor a previous-root key of the index, is an error. Then, counting distinct
/// keys: an index whose root is the trusted root needs the trusted threshold; an index whose
/// `previous-root` is the trusted root (a root rotation) needs the trusted threshold and the new
/// root's; any other index is refused. Then the index is validated and must not have expired.
pub fn verify_index(
    index: &[u8],
    signatures: &str,
    trusted: &TrustedRoot,
    now: OffsetDateTime,
) -> Result<SignedIndex, IndexError> {
    trusted
        .check()
        .map_err(|reason| invalid("trusted root threshold", reason))?;
    let blocks = signature_blocks(signatures)?;
    if blocks.is_empty() {
        return Err(IndexError::Unsigned);
    }
    let mut signers: Vec<TrustedKey> = Vec::new();
    for (i, block) in blocks.iter().enumerate() {
        let key = signature_signer(block).map_err(|error| {
            IndexError::MalformedSignatures(format!("signature {}: {error}", i + 1))
        })?;
        key.verify(REGISTRY_NAMESPACE, index, block)
            .map_err(|error| IndexError::BadSignature {
                block: i + 1,
                signer: key.fingerprint(),
                error,
            })?;
        if !signers.contains(&key) {
            signers.push(key);
        }
    }
    let text = std::str::from_utf8(index)
        .map_err(|_| IndexError::Malformed("it is not UTF-8 text".to_string()))?;
    let parsed = parse_shape(text)?;
    check_trust(&parsed, &signers, trusted)?;
    parsed.validate()?;
    let expires = parsed.expires_at()?;
    if expires <= now {
        return Err(IndexError::Expired {
            expires: parsed.expires.clone(),
            days: (now - expires).whole_days(),
        });
    }
    Ok(SignedIndex {
        index: parsed,
        sha256: sha256_hex(index),
        signers: signers.iter().map(TrustedKey::fingerprint).collect(),
    })
}

/// Decides whether the verified `signers` make `index` trusted, given the `trusted` root.
fn check_trust(
    index: &Index,
    signers: &[TrustedKey],
    trusted: &TrustedRoot,
) -> Result<(), IndexError> {
    let rotation = if trusted.same_keys(&index.root) {
        false
    } else if index
        .previous_root
        .as_ref()
        .is_some_and(|previous| trusted.same_keys(previous))
    {
        true
    } else {
        let found = TrustedRoot::from_root_keys(&index.root)
            .map(|root| root.describe())
            .unwrap_or_else(|e| e.to_string());
        return Err(IndexError::RootChanged {
            trusted: trusted.describe(),
            found,
        });
    };
    let root = TrustedRoot::from_root_keys_named("root", &index.root)?;
    let previous = match &index.previous_root {
        Some(previous) => TrustedRoot::from_root_keys_named("previous-root", previous)?.keys,
        None => Vec::new(),
    };
    if let Some(stranger) = signers
        .iter()
        .find(|k| !root.keys.contains(k) && !previous.contains(k))
    {
        return Err(IndexError::NotRootKey {
            fingerprint: stranger.fingerprint(),
        });
    }
    let count = |keys: &[TrustedKey]| signers.iter().filter(|s| keys.contains(s)).count();
    let signed = count(&trusted.keys);
    if !rotation {
        if signed < trusted.threshold {
            return Err(IndexError::BelowThreshold {
                signed,
                required: trusted.threshold,
                keys: "root keys",
            });
        }
        return Ok(());
    }
    if signed < trusted.threshold {
        return Err(IndexError::RotationNotSigned {
            signed,
            required: trusted.threshold,
        });
    }
    let signed_new = count(&root.keys);
    if signed_new < root.threshold {
        return Err(IndexError::BelowThreshold {
            signed: signed_new,
            required: root.threshold,
            keys: "new root keys",
        });
    }
    Ok(())
}

/// Verifies a published manifest against a verified index: its bytes are the ones the entry
/// pins (else, if they are another entry's, a mix-and-match), its signature is by one of the
/// entry's team's keys in the `palisade-plugin` namespace, it parses, it names the entry's
/// plugin, version and team, the name is within the team's prefixes, the version is not revoked,
/// and it pins the component the entry pins. Returns the manifest (whose `wasm.file` names the
/// component to fetch next, for [`verify_wasm`]).
pub fn verify_manifest(
    index: &Index,
    entry: &PluginEntry,
    manifest: &[u8],
    signature: &str,
) -> Result<Manifest, PluginRefusal> {
    let size = manifest.len() as u64;
    let digest = sha256_hex(manifest);
    if size != entry.manifest_size || digest != entry.manifest_sha256 {
        if let Some(other) = index
            .plugins
            .iter()
            .find(|e| e.manifest_sha256 == digest && e.manifest_size == size)
        {
            return Err(PluginRefusal::MixAndMatch {
                expected: entry.id(),
                found: other.id(),
            });
        }
        if size != entry.manifest_size {
            return Err(PluginRefusal::ManifestSize {
                expected: entry.manifest_size,
                found: size,
            });
        }
        return Err(PluginRefusal::ManifestDigest {
            expected: entry.manifest_sha256.clone(),
            found: digest,
        });
    }
    let team = index
        .teams
        .get(&entry.team)
        .ok_or_else(|| PluginRefusal::UnknownTeam {
            team: entry.team.clone(),
        })?;
    let key = signature_signer(signature).map_err(PluginRefusal::Signature)?;
    let team_keys = parse_key_lines("keys", &team.keys).map_err(|e| PluginRefusal::TeamKey {
        team: entry.team.clone(),
        reason: e.to_string(),
    })?;
    if !team_keys.contains(&key) {
        return Err(PluginRefusal::NotTeamKey {
            fingerprint: key.fingerprint(),
            team: entry.team.clone(),
        });
    }
    key.verify(PLUGIN_NAMESPACE, manifest, signature)
        .map_err(PluginRefusal::Signature)?;
    let text = std::str::from_utf8(manifest).map_err(|_| {
        PluginRefusal::Manifest(ManifestError::Syntax("it is not UTF-8 text".to_string()))
    })?;
    let parsed = Manifest::parse(text).map_err(PluginRefusal::Manifest)?;
    if parsed.name != entry.name || parsed.version != entry.version || parsed.team != entry.team {
        return Err(PluginRefusal::MixAndMatch {
            expected: format!("{} (team {})", entry.id(), entry.team),
            found: format!("{} (team {})", parsed.id(), parsed.team),
        });
    }
    if !within_prefixes(&parsed.name, team) {
        return Err(PluginRefusal::OutsidePrefixes {
            name: parsed.name.clone(),
            team: entry.team.clone(),
            prefixes: team.prefixes.join(", "),
        });
    }
    if let Some(revocation) = index.revocation(&entry.name, &entry.version) {
        return Err(PluginRefusal::Revoked {
            reason: revocation.reason.clone(),
        });
    }
    if parsed.wasm.sha256 != entry.wasm_sha256 || parsed.wasm.size != entry.wasm_size {
        return Err(PluginRefusal::ComponentDisagreement {
            index: entry.wasm_sha256.clone(),
            index_size: entry.wasm_size,
            manifest: parsed.wasm.sha256.clone(),
            manifest_size: parsed.wasm.size,
        });
    }
    Ok(parsed)
}

/// Checks a component's bytes against the entry (which [`verify_manifest`] checked against the
/// signed manifest): size first, then sha256.
pub fn verify_wasm(entry: &PluginEntry, wasm: &[u8]) -> Result<(), PluginRefusal> {
    if wasm.len() as u64 != entry.wasm_size {
        return Err(PluginRefusal::WasmSize {
            expected: entry.wasm_size,
            found: wasm.len() as u64,
        });
    }
    let found = sha256_hex(wasm);
    if found != entry.wasm_sha256 {
        return Err(PluginRefusal::WasmDigest {
            expected: entry.wasm_sha256.clone(),
            found,
        });
    }
    Ok(())
}

/// Verifies a published plugin against a verified index: [`verify_manifest`], then
/// [`verify_wasm`]. Returns the manifest.
pub fn verify_plugin(
    index: &Index,
    entry: &PluginEntry,
    manifest: &[u8],
    signature: &str,
    wasm: &[u8],
) -> Result<Manifest, PluginRefusal> {
    let parsed = verify_manifest(index, entry, manifest, signature)?;
    verify_wasm(entry, wasm)?;
    Ok(parsed)
}

/// What verifying a whole registry found: the index, then each published plugin.
#[derive(Debug, Clone)]
pub struct RegistryVerification {
    /// The verified index.
    pub signed: SignedIndex,
    /// The plugins whose manifest, signature and component checked out.
    pub verified: Vec<PluginEntry>,
    /// Revoked versions (their files are not checked: nobody may use them).
    pub revoked: Vec<Revocation>,
    /// The plugins that were refused, and why.
    pub refused: Vec<RefusedPlugin>,
}

/// A published plugin that failed verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedPlugin {
    /// The index entry.
    pub entry: PluginEntry,
    /// Why: a refusal, or a file that could not be read.
    pub reason: String,
}

impl fmt::Display for RefusedPlugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "plugin {} ({}): refused: {}",
            self.entry.id(),
            self.entry.dir(),
            self.reason
        )
    }
}

/// Verifies a whole registry: the index ([`verify_index`]), then every published, non-revoked
/// plugin ([`verify_plugin`]). `read(path, max)` returns the bytes of the registry file at
/// `path` ('/'-separated, relative to the registry), at most `max` of them, or says why not; it
/// is how the same check serves a directory and a web site.
pub fn verify_registry(
    index: &[u8],
    signatures: &str,
    trusted: &TrustedRoot,
    now: OffsetDateTime,
    mut read: impl FnMut(&str, u64) -> Result<Vec<u8>, String>,
) -> Result<RegistryVerification, IndexError> {
    let signed = verify_index(index, signatures, trusted, now)?;
    let mut verified = Vec::new();
    let mut refused = Vec::new();
    for entry in &signed.index.plugins {
        if signed
            .index
            .revocation(&entry.name, &entry.version)
            .is_some()
        {
            continue;
        }
        match verify_published(&signed.index, entry, &mut read) {
            Ok(()) => verified.push(entry.clone()),
            Err(reason) => refused.push(RefusedPlugin {
                entry: entry.clone(),
                reason,
            }),
        }
    }
    Ok(RegistryVerification {
        revoked: signed.index.revoked.clone(),
        signed,
        verified,
        refused,
    })
}

/// Fetches and verifies one published plugin: the manifest and its signature, then the
/// component the verified manifest names.
fn verify_published(
    index: &Index,
    entry: &PluginEntry,
    read: &mut impl FnMut(&str, u64) -> Result<Vec<u8>, String>,
) -> Result<(), String> {
    let dir = entry.dir();
    let manifest_path = format!("{dir}/{}", super::manifest::MANIFEST_FILE);
    let manifest = read(&manifest_path, entry.manifest_size.min(MAX_MANIFEST_BYTES))?;
    let signature = read(
        &format!("{manifest_path}.sig"),
        MAX_MANIFEST_SIGNATURE_BYTES,
    )?;
    let signature = String::from_utf8(signature)
        .map_err(|_| format!("{manifest_path}.sig: the signature is not UTF-8 text"))?;
    let parsed = verify_manifest(index, entry, &manifest, &signature).map_err(|e| e.to_string())?;
    let wasm = read(&format!("{dir}/{}", parsed.wasm.file), entry.wasm_size)?;
    verify_wasm(entry, &wasm).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::super::sshsig::SigningKey;
    use super::*;

    /// An ed25519 key from a fixed seed, written as OpenSSH writes it and read back.
    fn key(seed: u8) -> SigningKey {
        let keypair = ssh_key::private::Ed25519Keypair::from_seed(&[seed; 32]);
        let private = ssh_key::PrivateKey::from(keypair)
            .to_openssh(ssh_key::LineEnding::LF)
            .expect("encodes");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("id");
        std::fs::write(&path, private.as_bytes()).expect("write key");
        SigningKey::read(&path).expect("the test key parses")
    }

    fn line(key: &SigningKey, comment: &str) -> String {
        format!("{} {comment}", key.public_key().to_openssh())
    }

    fn root(keys: &[&SigningKey], threshold: usize) -> RootKeys {
        RootKeys {
            threshold,
            keys: keys
                .iter()
                .enumerate()
                .map(|(i, k)| line(k, &format!("root-{i}")))
                .collect(),
        }
    }

    fn entry(name: &str, version: &str, team: &str, fill: char) -> PluginEntry {
        PluginEntry {
            name: name.to_string(),
            version: Version::parse(version).expect("version"),
            team: team.to_string(),
            manifest_sha256: fill.to_string().repeat(64),
            manifest_size: 1234,
            wasm_sha256: "0".repeat(64),
            wasm_size: 345_678,
        }
    }

    fn index() -> Index {
        let mut index = Index::new(root(&[&key(1), &key(2), &key(3)], 2)).expect("valid");
        index.version = 4;
        index.expires = "2027-01-01T00:00:00Z".to_string();
        index.teams.insert(
            "platform".to_string(),
            Team {
                keys: vec![line(&key(10), "platform-ci")],
                prefixes: vec!["platform/".to_string()],
            },
        );
        index.teams.insert(
            "appsec".to_string(),
            Team {
                keys: vec![line(&key(11), "appsec")],
                prefixes: vec!["appsec/".to_string()],
            },
        );
        index.insert_plugin(entry("platform/k8s-extra", "1.2.0", "platform", 'a'));
        index.insert_plugin(entry("appsec/docker", "1.0.0", "appsec", 'b'));
        index.insert_plugin(entry("platform/k8s-extra", "1.1.0", "platform", 'c'));
        index.insert_revocation(Revocation {
            name: "platform/k8s-extra".to_string(),
            version: Version::new(1, 1, 0),
            reason: "false positives on StatefulSets".to_string(),
        });
        index.validate().expect("the test index is valid");
        index
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::parse("2026-06-01T12:00:00Z", &Rfc3339).expect("date")
    }

    fn sign(bytes: &[u8], keys: &[&SigningKey]) -> String {
        keys.iter()
            .map(|k| k.sign(REGISTRY_NAMESPACE, bytes).expect("signs"))
            .collect()
    }

    fn trusted(keys: &[&SigningKey], threshold: usize) -> TrustedRoot {
        TrustedRoot::from_root_keys(&root(keys, threshold)).expect("valid root")
    }

    #[test]
    fn an_index_round_trips_through_its_canonical_text() {
        let index = index();
        let text = index.to_toml();
        assert_eq!(Index::parse(&text), Ok(index.clone()));
        assert_eq!(Index::parse(&text).expect("parses").to_toml(), text);
        assert!(
            text.starts_with(
                "format = 1\nversion = 4\nexpires = \"2027-01-01T00:00:00Z\"\n\n[root]\nthreshold = 2\n"
            ),
            "{text}"
        );
        assert!(text.contains("\n[teams.appsec]\nkeys = [\""), "{text}");
        assert!(
            text.contains("\n[[plugins]]\nname = \"appsec/docker\"\n"),
            "{text}"
        );
        assert!(text.contains("manifest-sha256 = \""), "{text}");
        assert!(
            text.contains("[[revoked]]\nname = \"platform/k8s-extra\"\nversion = \"1.1.0\"\n"),
            "{text}"
        );
        let versions: Vec<String> = index.plugins.iter().map(PluginEntry::id).collect();
        assert_eq!(
            versions,
            [
                "appsec/docker@1.0.0",
                "platform/k8s-extra@1.1.0",
                "platform/k8s-extra@1.2.0"
            ]
        );
        // A fresh index has no teams, plugins or revocations, and no empty tables for them.
        let fresh = Index::new(root(&[&key(1)], 1)).expect("valid").to_toml();
        assert!(
            !fresh.contains("teams") && !fresh.contains("plugins"),
            "{fresh}"
        );
        assert_eq!(Index::parse(&fresh).expect("parses").to_toml(), fresh);
    }

    #[test]
    fn lookups_skip_revoked_versions() {
        let index = index();
        let name = "platform/k8s-extra";
        assert!(index.entry(name, &Version::new(1, 1, 0)).is_some());
        assert!(index.entry(name, &Version::new(1, 3, 0)).is_none());
        assert_eq!(
            index
                .revocation(name, &Version::new(1, 1, 0))
                .map(|r| r.reason.as_str()),
            Some("false positives on StatefulSets")
        );
        let resolve = |req: &str| {
            index
                .resolve(name, &VersionReq::parse(req).expect("req"))
                .map(PluginEntry::id)
        };
        assert_eq!(resolve("^1").as_deref(), Some("platform/k8s-extra@1.2.0"));
        assert_eq!(resolve("=1.1.0"), None, "1.1.0 is revoked");
        assert_eq!(resolve("^2"), None);
        assert_eq!(index.plugins[2].dir(), "plugins/platform/k8s-extra/1.2.0");
        assert_eq!(
            parse_plugin_id("platform/k8s-extra@1.2.0"),
            Ok(("platform/k8s-extra".to_string(), Version::new(1, 2, 0)))
        );
        assert!(parse_plugin_id("platform/k8s-extra").is_err());
        assert!(parse_plugin_id("platform/k8s-extra@one").is_err());
    }

    #[test]
    fn invalid_values_name_their_field() {
        let text = index().to_toml();
        let cases: &[(&str, &str, &str)] = &[
            ("format = 1", "format = 2", "`format` is 2"),
            (
                "format = 1",
                "format = 2\nmirrors = []",
                "`format` is 2, but this palisade reads format 1",
            ),
            ("version = 4", "version = 0", "`version` must be 1 or more"),
            (
                "expires = \"2027-01-01T00:00:00Z\"",
                "expires = \"2027-01-01T00:00:00+02:00\"",
                "`expires`",
            ),
            (
                "expires = \"2027-01-01T00:00:00Z\"",
                "expires = \"soon\"",
                "`expires`",
            ),
            ("threshold = 2", "threshold = 4", "`root.threshold` is 4"),
            ("threshold = 2", "threshold = 0", "`root.threshold` is 0"),
            ("[teams.appsec]", "[teams.AppSec]", "`teams.AppSec`"),
            (
                "prefixes = [\"appsec/\"]",
                "prefixes = [\"app/sec/\"]",
                "`teams.appsec.prefixes`",
            ),
            (
                "prefixes = [\"appsec/\"]",
                "prefixes = []",
                "`teams.appsec.prefixes` is empty",
            ),
            (
                "prefixes = [\"appsec/\"]",
                "prefixes = [\"platform\"]",
                "`platform/` overlaps `platform` of team `appsec`: every name must belong to one team",
            ),
            (
                "wasm-size = 345678",
                "wasm-size = 0",
                "`plugins[0].wasm-size`",
            ),
            (
                "name = \"appsec/docker\"\nversion = \"1.0.0\"\nteam = \"appsec\"",
                "name = \"appsec/docker\"\nversion = \"1.0.0\"\nteam = \"ops\"",
                "plugin appsec/docker@1.0.0 belongs to team `ops`, which the index does not list",
            ),
            (
                "name = \"appsec/docker\"\nversion = \"1.0.0\"\nteam = \"appsec\"",
                "name = \"appsec/docker\"\nversion = \"1.0.0\"\nteam = \"platform\"",
                "plugin appsec/docker@1.0.0 is outside the names team `platform` may publish (platform/)",
            ),
            (
                "reason = \"false positives on StatefulSets\"",
                "reason = \" \"",
                "`revoked[0].reason` is empty",
            ),
            (
                "[[revoked]]\nname = \"platform/k8s-extra\"\nversion = \"1.1.0\"",
                "[[revoked]]\nname = \"platform/k8s-extra\"\nversion = \"1.9.0\"",
                "revokes platform/k8s-extra@1.9.0, which is not published",
            ),
            (
                "name = \"platform/k8s-extra\"\nversion = \"1.1.0\"",
                "name = \"platform/k8s-extra\"\nversion = \"1.2.0\"",
                "`plugins[2]` repeats platform/k8s-extra@1.2.0",
            ),
            (
                "name = \"platform/k8s-extra\"\nversion = \"1.1.0\"",
                "name = \"platform/k8s-extra\"\nversion = \"1.3.0\"",
                "entries must be sorted",
            ),
            (
                "[root]",
                "homepage = \"x\"\n[root]",
                "unknown field `homepage`",
            ),
        ];
        for (from, to, reason) in cases {
            assert!(text.contains(from), "{from} not in {text}");
            let error = Index::parse(&text.replacen(from, to, 1)).expect_err(to);
            assert!(error.to_string().contains(reason), "{to}: {error}");
        }
        // The same key twice.
        let mut index = index();
        index.root.keys[1] = line(&key(1), "again");
        let error = index.validate().expect_err("a repeated key");
        assert!(
            error.to_string().contains("`root.keys[1]` repeats the key"),
            "{error}"
        );
    }

    #[test]
    fn a_root_signed_index_verifies() {
        let (k1, k2, k3) = (key(1), key(2), key(3));
        let bytes = index().to_toml().into_bytes();
        let trusted = trusted(&[&k1, &k2, &k3], 2);
        let signed =
            verify_index(&bytes, &sign(&bytes, &[&k3, &k1]), &trusted, now()).expect("verifies");
        assert_eq!(signed.index, index());
        assert_eq!(signed.sha256, sha256_hex(&bytes));
        assert_eq!(
            signed.signers,
            [k3.public_key().fingerprint(), k1.public_key().fingerprint()]
        );
        // The same key twice counts once.
        assert_eq!(
            verify_index(&bytes, &sign(&bytes, &[&k1, &k1]), &trusted, now()),
            Err(IndexError::BelowThreshold {
                signed: 1,
                required: 2,
                keys: "root keys"
            })
        );
        assert_eq!(
            verify_index(&bytes, "", &trusted, now()),
            Err(IndexError::Unsigned)
        );
    }

    #[test]
    fn each_index_refusal_is_told_apart() {
        let (k1, k2, k3, stranger) = (key(1), key(2), key(3), key(9));
        let bytes = index().to_toml().into_bytes();
        let trusted = trusted(&[&k1, &k2, &k3], 2);

        let error = verify_index(&bytes, &sign(&bytes, &[&k1, &stranger]), &trusted, now());
        assert_eq!(
            error,
            Err(IndexError::NotRootKey {
                fingerprint: stranger.public_key().fingerprint()
            })
        );

        let mut tampered = bytes.clone();
        tampered.extend_from_slice(b"# changed\n");
        let error = verify_index(&tampered, &sign(&bytes, &[&k1, &k2]), &trusted, now());
        assert!(
            matches!(
                error,
                Err(IndexError::BadSignature {
                    block: 1,
                    error: SignatureError::Mismatch,
                    ..
                })
            ),
            "{error:?}"
        );

        let wrong_namespace: String = [&k1, &k2]
            .iter()
            .map(|k| k.sign(PLUGIN_NAMESPACE, &bytes).expect("signs"))
            .collect();
        let error = verify_index(&bytes, &wrong_namespace, &trusted, now());
        assert!(
            matches!(
                error,
                Err(IndexError::BadSignature {
                    error: SignatureError::WrongNamespace { .. },
                    ..
                })
            ),
            "{error:?}"
        );

        let signatures = sign(&bytes, &[&k1, &k2]);
        for broken in [
            format!("hello\n{signatures}"),
            signatures.replacen("-----END SSH SIGNATURE-----\n", "", 1),
            signatures.replace("-----END SSH SIGNATURE-----\n", ""),
        ] {
            let error = verify_index(&bytes, &broken, &trusted, now());
            assert!(
                matches!(error, Err(IndexError::MalformedSignatures(_))),
                "{error:?}"
            );
        }

        let expired = OffsetDateTime::parse("2027-02-06T12:00:00Z", &Rfc3339).expect("date");
        let error = verify_index(&bytes, &signatures, &trusted, expired).expect_err("stale");
        assert_eq!(
            error.to_string(),
            "the index expired at 2027-01-01T00:00:00Z, 36 days ago: a stale index (freeze attack?)"
        );

        let mut unexpiring = index();
        unexpiring.expires = String::new();
        let unexpiring = unexpiring.to_toml().into_bytes();
        assert_eq!(
            verify_index(
                &unexpiring,
                &sign(&unexpiring, &[&k1, &k2]),
                &trusted,
                now()
            ),
            Err(IndexError::NoExpiry)
        );
    }

    #[test]
    fn a_root_rotation_needs_both_thresholds() {
        let (old1, old2, new1, new2) = (key(1), key(2), key(5), key(6));
        let old = trusted(&[&old1, &old2], 2);
        let mut rotating = index();
        rotating.previous_root = Some(root(&[&old1, &old2], 2));
        rotating.root = root(&[&new1, &new2], 1);
        let bytes = rotating.to_toml().into_bytes();

        let only_new = sign(&bytes, &[&new1, &new2]);
        assert_eq!(
            verify_index(&bytes, &only_new, &old, now()),
            Err(IndexError::RotationNotSigned {
                signed: 0,
                required: 2
            })
        );
        let only_old = sign(&bytes, &[&old1, &old2]);
        assert_eq!(
            verify_index(&bytes, &only_old, &old, now()),
            Err(IndexError::BelowThreshold {
                signed: 0,
                required: 1,
                keys: "new root keys"
            })
        );
        let both = sign(&bytes, &[&old1, &old2, &new2]);
        verify_index(&bytes, &both, &old, now()).expect("both roots signed the rotation");
        // Someone who already trusts the new root needs only its signatures.
        let new = trusted(&[&new1, &new2], 1);
        verify_index(&bytes, &sign(&bytes, &[&new1]), &new, now()).expect("new root signed");

        // After the rotation, an index without `previous-root` is refused to the old root.
        let mut later = rotating.clone();
        later.previous_root = None;
        later.version += 1;
        let later = later.to_toml().into_bytes();
        let error = verify_index(&later, &sign(&later, &[&old1, &old2, &new1]), &old, now())
            .expect_err("the old root never saw the rotation");
        assert!(matches!(error, IndexError::RootChanged { .. }), "{error:?}");
        assert!(
            error.to_string().contains("pin the new root keys"),
            "{error}"
        );
        // A changed threshold is a changed root.
        let weaker = trusted(&[&old1, &old2], 1);
        let error = verify_index(&bytes, &both, &weaker, now()).expect_err("other threshold");
        assert!(matches!(error, IndexError::RootChanged { .. }), "{error:?}");
    }

    /// A published plugin's bytes: (entry, manifest, signature, wasm) signed by `team_key`.
    fn published(
        team_key: &SigningKey,
        name: &str,
        version: &str,
        wasm: &[u8],
    ) -> (PluginEntry, Vec<u8>, String, Vec<u8>) {
        let manifest = format!(
            "name = \"{name}\"\nversion = \"{version}\"\nteam = \"platform\"\ndescription = \"\"\n\
             wit = \"{wit}\"\nmin-palisade = \"0.1.0\"\nkinds = [\"kubernetes/Pod\"]\n\n\
             [wasm]\nfile = \"plugin.wasm\"\nsha256 = \"{sha}\"\nsize = {size}\n\n\
             [[rules]]\nid = \"x/a\"\ntitle = \"A\"\nseverity = \"high\"\nkinds = [\"kubernetes/Pod\"]\n",
            wit = crate::engine::WIT_VERSION,
            sha = sha256_hex(wasm),
            size = wasm.len()
        );
        Manifest::parse(&manifest).expect("the test manifest is valid");
        let signature = team_key
            .sign(PLUGIN_NAMESPACE, manifest.as_bytes())
            .expect("signs");
        let entry = PluginEntry {
            name: name.to_string(),
            version: Version::parse(version).expect("version"),
            team: "platform".to_string(),
            manifest_sha256: sha256_hex(manifest.as_bytes()),
            manifest_size: manifest.len() as u64,
            wasm_sha256: sha256_hex(wasm),
            wasm_size: wasm.len() as u64,
        };
        (entry, manifest.into_bytes(), signature, wasm.to_vec())
    }

    #[test]
    fn each_plugin_refusal_is_told_apart() {
        let team_key = key(10);
        let mut index = index();
        index.plugins.clear();
        index.revoked.clear();
        let name = "platform/extra";
        let (one, one_manifest, one_sig, one_wasm) =
            published(&team_key, name, "1.0.0", b"\0asm one");
        let (two, two_manifest, two_sig, two_wasm) =
            published(&team_key, name, "2.0.0", b"\0asm two");
        index.insert_plugin(one.clone());
        index.insert_plugin(two.clone());
        index.validate().expect("valid");

        let manifest =
            verify_plugin(&index, &two, &two_manifest, &two_sig, &two_wasm).expect("verifies");
        assert_eq!(manifest.id(), "platform/extra@2.0.0");

        // Version 1's manifest in version 2's place.
        assert_eq!(
            verify_plugin(&index, &two, &one_manifest, &one_sig, &one_wasm),
            Err(PluginRefusal::MixAndMatch {
                expected: "platform/extra@2.0.0".to_string(),
                found: "platform/extra@1.0.0".to_string()
            })
        );
        let mut changed = two_manifest.clone();
        changed[0] = b'#';
        assert!(matches!(
            verify_plugin(&index, &two, &changed, &two_sig, &two_wasm),
            Err(PluginRefusal::ManifestDigest { .. })
        ));
        changed.push(b'\n');
        assert!(matches!(
            verify_plugin(&index, &two, &changed, &two_sig, &two_wasm),
            Err(PluginRefusal::ManifestSize { .. })
        ));
        let stranger_sig = key(9).sign(PLUGIN_NAMESPACE, &two_manifest).expect("signs");
        assert!(matches!(
            verify_plugin(&index, &two, &two_manifest, &stranger_sig, &two_wasm),
            Err(PluginRefusal::NotTeamKey { team, .. }) if team == "platform"
        ));
        let wrong_namespace = team_key
            .sign(REGISTRY_NAMESPACE, &two_manifest)
            .expect("signs");
        assert!(matches!(
            verify_plugin(&index, &two, &two_manifest, &wrong_namespace, &two_wasm),
            Err(PluginRefusal::Signature(
                SignatureError::WrongNamespace { .. }
            ))
        ));
        assert!(matches!(
            verify_plugin(&index, &two, &two_manifest, &two_sig, b"\0asm twO"),
            Err(PluginRefusal::WasmDigest { .. })
        ));
        assert!(matches!(
            verify_plugin(&index, &two, &two_manifest, &two_sig, b"\0asm two!"),
            Err(PluginRefusal::WasmSize { .. })
        ));

        index.insert_revocation(Revocation {
            name: name.to_string(),
            version: Version::new(2, 0, 0),
            reason: "misfires".to_string(),
        });
        assert_eq!(
            verify_plugin(&index, &two, &two_manifest, &two_sig, &two_wasm),
            Err(PluginRefusal::Revoked {
                reason: "misfires".to_string()
            })
        );

        // An index entry that pins another version's manifest.
        let mut pins_another = two.clone();
        pins_another.manifest_sha256 = one.manifest_sha256.clone();
        pins_another.manifest_size = one.manifest_size;
        assert_eq!(
            verify_plugin(&index, &pins_another, &one_manifest, &one_sig, &one_wasm),
            Err(PluginRefusal::MixAndMatch {
                expected: "platform/extra@2.0.0 (team platform)".to_string(),
                found: "platform/extra@1.0.0 (team platform)".to_string()
            })
        );

        let mut other_team = index.clone();
        other_team.teams.get_mut("platform").expect("team").keys = vec![line(&key(12), "new")];
        assert!(matches!(
            verify_plugin(&other_team, &one, &one_manifest, &one_sig, &one_wasm),
            Err(PluginRefusal::NotTeamKey { .. })
        ));
        let mut entry = one.clone();
        entry.wasm_size += 1;
        assert!(matches!(
            verify_plugin(&index, &entry, &one_manifest, &one_sig, &one_wasm),
            Err(PluginRefusal::ComponentDisagreement { .. })
        ));
    }

    #[test]
    fn a_whole_registry_is_verified_through_a_reader() {
        let (k1, k2, team_key) = (key(1), key(2), key(10));
        let mut index = index();
        index.plugins.clear();
        index.revoked.clear();
        let files: Vec<_> = ["1.0.0", "1.1.0", "2.0.0"]
            .iter()
            .map(|v| published(&team_key, "platform/extra", v, v.as_bytes()))
            .collect();
        for (entry, ..) in &files {
            index.insert_plugin(entry.clone());
        }
        index.insert_revocation(Revocation {
            name: "platform/extra".to_string(),
            version: Version::new(1, 1, 0),
            reason: "misfires".to_string(),
        });
        let bytes = index.to_toml().into_bytes();
        let signatures = sign(&bytes, &[&k1, &k2]);
        let mut tree: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        for (entry, manifest, signature, wasm) in &files {
            let dir = entry.dir();
            tree.insert(format!("{dir}/palisade-plugin.toml"), manifest.clone());
            tree.insert(
                format!("{dir}/palisade-plugin.toml.sig"),
                signature.clone().into_bytes(),
            );
            tree.insert(format!("{dir}/plugin.wasm"), wasm.clone());
        }
        tree.insert(
            "plugins/platform/extra/2.0.0/plugin.wasm".to_string(),
            b"tampered".to_vec(),
        );
        let report = verify_registry(
            &bytes,
            &signatures,
            &trusted(&[&key(1), &key(2), &key(3)], 2),
            now(),
            |path, max| {
                let bytes = tree.get(path).ok_or_else(|| format!("{path}: not found"))?;
                if bytes.len() as u64 > max {
                    return Err(format!("{path}: more than {max} bytes"));
                }
                Ok(bytes.clone())
            },
        )
        .expect("the index verifies");
        let ids = |entries: &[PluginEntry]| entries.iter().map(PluginEntry::id).collect::<Vec<_>>();
        assert_eq!(ids(&report.verified), ["platform/extra@1.0.0"]);
        assert_eq!(report.revoked.len(), 1);
        assert_eq!(report.refused.len(), 1);
        assert_eq!(
            report.refused[0].to_string(),
            "plugin platform/extra@2.0.0 (plugins/platform/extra/2.0.0): refused: \
             plugins/platform/extra/2.0.0/plugin.wasm: more than 5 bytes"
        );
    }
}
