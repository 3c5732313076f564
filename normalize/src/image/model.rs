//! The OCI image-spec documents (and Docker's schema 2 equivalents, which share their shape):
//! descriptors, manifests, indexes, platforms, digests.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

use super::ImageError;

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";

/// A content descriptor: what a manifest or index says about a blob it points to.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default)]
    pub platform: Option<Platform>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// An image manifest: one config and its layers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    #[serde(default)]
    pub media_type: Option<String>,
    pub config: Descriptor,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// An image index (a multi-platform "manifest list").
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    #[serde(default)]
    pub media_type: Option<String>,
    pub manifests: Vec<Descriptor>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// Whether a manifest document is an index or an image manifest, by its media type or, when
/// that says nothing, by its shape.
pub fn is_index(media_type: Option<&str>, json: &serde_json::Value) -> bool {
    match media_type.or_else(|| json.get("mediaType").and_then(|m| m.as_str())) {
        Some(OCI_INDEX | DOCKER_LIST) => true,
        Some(OCI_MANIFEST | DOCKER_MANIFEST) => false,
        _ => json.get("manifests").is_some(),
    }
}

/// An operating system and CPU architecture, e.g. `linux/arm64/v8`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Platform {
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub variant: Option<String>,
}

impl Platform {
    /// True when `self` (what the user asked for) accepts `other` (what an index offers): a
    /// variant left out accepts any.
    pub fn accepts(&self, other: &Platform) -> bool {
        self.os == other.os
            && self.architecture == other.architecture
            && (self.variant.is_none() || self.variant == other.variant)
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

/// Which platforms of a multi-platform image are scanned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlatformChoice {
    /// Every platform the index lists (attestations aside).
    All,
    /// The one matching platform.
    Only(Platform),
}

impl Default for PlatformChoice {
    fn default() -> Self {
        PlatformChoice::Only(Platform {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
        })
    }
}

impl FromStr for PlatformChoice {
    type Err = String;

    /// `all`, or `os/arch[/variant]` (e.g. `linux/arm64/v8`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "all" {
            return Ok(PlatformChoice::All);
        }
        let parts: Vec<&str> = s.split('/').collect();
        match parts.as_slice() {
            [os, arch] | [os, arch, _]
                if !os.is_empty() && !arch.is_empty() && parts.iter().all(|p| !p.is_empty()) =>
            {
                Ok(PlatformChoice::Only(Platform {
                    os: (*os).to_owned(),
                    architecture: (*arch).to_owned(),
                    variant: parts.get(2).map(|v| (*v).to_owned()),
                }))
            }
            _ => Err(format!(
                "invalid platform `{s}` (expected `all` or os/arch[/variant], e.g. linux/arm64)"
            )),
        }
    }
}

/// Checks that `digest` is `sha256:` and 64 lowercase hex digits, and returns the hex part.
/// Digests name files in layouts and archives, so nothing else may pass.
pub fn sha256_hex(digest: &str) -> Result<&str, ImageError> {
    let hex = digest.strip_prefix("sha256:").ok_or_else(|| {
        ImageError::new(format!(
            "unsupported digest `{}` (only sha256 is supported)",
            truncated(digest)
        ))
    })?;
    if hex.len() != 64
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(ImageError::new(format!(
            "malformed digest `{}`",
            truncated(digest)
        )));
    }
    Ok(hex)
}

/// The first 12 hex digits of a digest, as reports show it.
pub fn short(digest: &str) -> String {
    let (algorithm, hex) = digest.split_once(':').unwrap_or(("", digest));
    let hex: String = hex.chars().take(12).collect();
    if algorithm.is_empty() {
        hex
    } else {
        format!("{algorithm}:{hex}")
    }
}

fn truncated(text: &str) -> String {
    if text.len() <= 80 {
        text.to_owned()
    } else {
        let cut = (0..=80)
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        format!("{}…", &text[..cut])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_must_be_well_formed_sha256() {
        let good = format!("sha256:{}", "ab".repeat(32));
        assert_eq!(sha256_hex(&good).unwrap(), "ab".repeat(32));
        for bad in [
            "sha512:00".to_owned(),
            "sha256:../../etc/passwd".to_owned(),
            format!("sha256:{}", "AB".repeat(32)),
            format!("sha256:{}", "ab".repeat(31)),
        ] {
            assert!(sha256_hex(&bad).is_err(), "{bad} passed");
        }
    }

    #[test]
    fn platforms_parse_and_match() {
        let arm: PlatformChoice = "linux/arm64".parse().unwrap();
        let PlatformChoice::Only(arm) = arm else {
            panic!("not a single platform")
        };
        let v8 = Platform {
            os: "linux".into(),
            architecture: "arm64".into(),
            variant: Some("v8".into()),
        };
        assert!(arm.accepts(&v8));
        assert!(!PlatformChoice::default().eq(&PlatformChoice::All));
        assert_eq!("all".parse::<PlatformChoice>(), Ok(PlatformChoice::All));
        assert!("linux".parse::<PlatformChoice>().is_err());
        assert!("linux//v8".parse::<PlatformChoice>().is_err());
        assert_eq!(v8.to_string(), "linux/arm64/v8");
    }
}
