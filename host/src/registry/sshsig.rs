//! SSH signatures (SSHSIG, the format of `ssh-keygen -Y sign`; OpenSSH's PROTOCOL.sshsig) made
//! with the OpenSSH keys teams already have, so `ssh-keygen` and palisade interoperate both ways.
//!
//! The crypto is the RustCrypto `ssh-key` crate's; this module adds what palisade needs around
//! it: key files read with clear errors (an encrypted key is refused by name), the namespace
//! checked, and each way a signature can fail told apart ([`SignatureError`]).

use std::fmt;
use std::path::{Path, PathBuf};

use ssh_key::{Algorithm, HashAlg, LineEnding, PrivateKey, PublicKey, SshSig};

/// The namespace of plugin manifest signatures.
pub const PLUGIN_NAMESPACE: &str = "palisade-plugin";
/// The namespace of registry index signatures.
pub const REGISTRY_NAMESPACE: &str = "palisade-registry";

/// Key files and signatures larger than this are not keys or signatures (an RSA-16384 private
/// key is ~12 KiB), so they are refused before being read whole.
const MAX_KEY_BYTES: u64 = 64 << 10;

/// Why a key file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The file could not be read.
    #[error("cannot read key {}: {reason}", path.display())]
    Read { path: PathBuf, reason: String },
    /// The file is not a key of the expected kind.
    #[error("{} is not {expected}: {reason}", path.display())]
    Malformed {
        path: PathBuf,
        expected: &'static str,
        reason: String,
    },
    /// The private key is passphrase-protected.
    #[error(
        "private key {} is protected by a passphrase; palisade signs only with unencrypted \
         keys (sign with `ssh-keygen -Y sign -n palisade-plugin -f KEY FILE`, which asks for \
         the passphrase, or use a key without one)",
        path.display()
    )]
    Encrypted { path: PathBuf },
    /// The key's algorithm cannot make or check SSHSIG signatures here.
    #[error("key {} uses {algorithm}, which palisade cannot sign with (use ed25519, ecdsa-sha2-nistp256 or rsa)", path.display())]
    Unsupported { path: PathBuf, algorithm: String },
}

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The text is not an armored SSHSIG signature.
    #[error("malformed signature: {0}")]
    Malformed(String),
    /// The signature was made for another purpose.
    #[error("signature namespace is `{found}`, expected `{expected}`")]
    WrongNamespace { expected: String, found: String },
    /// The signature was made by another key.
    #[error("signed by another key ({found}), not the trusted key ({expected})")]
    WrongKey { expected: String, found: String },
    /// The signature uses an algorithm palisade does not accept.
    #[error("signature algorithm {0} is not accepted (SHA-1 RSA signatures are refused)")]
    WeakAlgorithm(String),
    /// The signature is well-formed and by the right key, but not over these bytes.
    #[error("signature does not match the signed file (it was changed after signing)")]
    Mismatch,
}

/// A private key that can sign: an unencrypted OpenSSH private key file.
pub struct SigningKey {
    key: PrivateKey,
    path: PathBuf,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the key material.
        f.debug_struct("SigningKey")
            .field("path", &self.path)
            .field("public", &fingerprint(self.key.public_key()))
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Reads an OpenSSH private key file (`-----BEGIN OPENSSH PRIVATE KEY-----`).
    pub fn read(path: &Path) -> Result<SigningKey, KeyError> {
        let text = read_small(path)?;
        let key = PrivateKey::from_openssh(text.trim()).map_err(|e| KeyError::Malformed {
            path: path.to_path_buf(),
            expected: "an OpenSSH private key",
            reason: e.to_string(),
        })?;
        if key.is_encrypted() {
            return Err(KeyError::Encrypted {
                path: path.to_path_buf(),
            });
        }
        match key.algorithm() {
            Algorithm::Ed25519 | Algorithm::Rsa { .. } => {}
            Algorithm::Ecdsa {
                curve: ssh_key::EcdsaCurve::NistP256,
            } => {}
            other => {
                return Err(KeyError::Unsupported {
                    path: path.to_path_buf(),
                    algorithm: other.to_string(),
                });
            }
        }
        Ok(SigningKey {
            key,
            path: path.to_path_buf(),
        })
    }

    /// The matching public key.
    pub fn public_key(&self) -> TrustedKey {
        TrustedKey::new(self.key.public_key().key_data().clone())
    }

    /// Signs `message` in `namespace` and returns the armored signature, byte for byte what
    /// `ssh-keygen -Y sign -n NAMESPACE` writes (SHA-512, 70-column base64, final newline).
    pub fn sign(&self, namespace: &str, message: &[u8]) -> Result<String, KeyError> {
        let failed = |reason: String| KeyError::Unsupported {
            path: self.path.clone(),
            algorithm: format!("{} ({reason})", self.key.algorithm()),
        };
        let signature = match self.key.key_data().rsa() {
            Some(rsa) => sign_rsa(rsa, namespace, message).map_err(failed)?,
            None => self
                .key
                .sign(namespace, HashAlg::Sha512, message)
                .map_err(|e| failed(e.to_string()))?,
        };
        let armored = signature
            .to_pem(LineEnding::LF)
            .map_err(|e| failed(e.to_string()))?;
        Ok(ensure_final_newline(armored))
    }
}

/// A public key trusted to sign something: one OpenSSH public key line. Its comment is dropped,
/// so two keys are equal when their key material is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    key: PublicKey,
}

impl TrustedKey {
    fn new(key_data: ssh_key::public::KeyData) -> TrustedKey {
        TrustedKey {
            key: PublicKey::new(key_data, ""),
        }
    }

    /// Parses a public key line: `ALGO BASE64 [COMMENT]` (a `.pub` file) or an
    /// `authorized_keys` line with options before it.
    pub fn parse(line: &str) -> Result<TrustedKey, String> {
        let line = line.trim();
        if let Ok(key) = PublicKey::from_openssh(line) {
            return Ok(TrustedKey::new(key.key_data().clone()));
        }
        line.parse::<ssh_key::authorized_keys::Entry>()
            .map(|entry| TrustedKey::new(entry.public_key().key_data().clone()))
            .map_err(|e| format!("not an OpenSSH public key line ({e})"))
    }

    /// Reads a public key file: the first line that is neither blank nor a `#` comment.
    pub fn read(path: &Path) -> Result<TrustedKey, KeyError> {
        let text = read_small(path)?;
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .ok_or_else(|| KeyError::Malformed {
                path: path.to_path_buf(),
                expected: "an OpenSSH public key",
                reason: "the file has no key line".to_string(),
            })?;
        TrustedKey::parse(line).map_err(|reason| KeyError::Malformed {
            path: path.to_path_buf(),
            expected: "an OpenSSH public key",
            reason,
        })
    }

    /// The key as one `ALGO BASE64` line, without comment.
    pub fn to_openssh(&self) -> String {
        self.key
            .to_openssh()
            .expect("a parsed public key encodes again")
            .trim_end()
            .to_string()
    }

    /// The key's `SHA256:…` fingerprint, as `ssh-keygen -l` prints it.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.key)
    }

    /// Checks that `signature` (armored SSHSIG) was made by this key over `message`, in
    /// `namespace`.
    pub fn verify(
        &self,
        namespace: &str,
        message: &[u8],
        signature: &str,
    ) -> Result<(), SignatureError> {
        let signature = parse_signature(signature)?;
        if signature.namespace() != namespace {
            return Err(SignatureError::WrongNamespace {
                expected: namespace.to_string(),
                found: signature.namespace().to_string(),
            });
        }
        if signature.public_key() != self.key.key_data() {
            let found = PublicKey::new(signature.public_key().clone(), "");
            return Err(SignatureError::WrongKey {
                expected: self.fingerprint(),
                found: fingerprint(&found),
            });
        }
        if signature.algorithm() == (Algorithm::Rsa { hash: None }) {
            return Err(SignatureError::WeakAlgorithm(
                signature.algorithm().to_string(),
            ));
        }
        self.key
            .verify(namespace, message, &signature)
            .map_err(|_| SignatureError::Mismatch)
    }
}

/// Who made an armored signature: the public key embedded in it. Says nothing about whether
/// the signature is valid; use it to pick the key to check with.
pub fn signer(signature: &str) -> Result<TrustedKey, SignatureError> {
    let signature = parse_signature(signature)?;
    Ok(TrustedKey::new(signature.public_key().clone()))
}

/// SSHSIG with an RSA key, as `rsa-sha2-512` (what `ssh-keygen -Y sign` uses).
///
/// ssh-key 0.6.7 rebuilds RSA private keys with the primes `[p, p]` instead of `[p, q]`, which
/// the `rsa` crate now rejects, so its own RSA signing always fails; this builds the key from
/// the same fields correctly and signs with the `rsa` crate, as ssh-key would.
fn sign_rsa(
    keypair: &ssh_key::private::RsaKeypair,
    namespace: &str,
    message: &[u8],
) -> Result<SshSig, String> {
    use rsa::signature::{SignatureEncoding, Signer};
    let uint = |mpint: &ssh_key::Mpint, what: &str| {
        mpint
            .as_positive_bytes()
            .map(rsa::BigUint::from_bytes_be)
            .ok_or_else(|| format!("the key's {what} is not a positive integer"))
    };
    let private = rsa::RsaPrivateKey::from_components(
        uint(&keypair.public.n, "modulus")?,
        uint(&keypair.public.e, "public exponent")?,
        uint(&keypair.private.d, "private exponent")?,
        vec![
            uint(&keypair.private.p, "first prime")?,
            uint(&keypair.private.q, "second prime")?,
        ],
    )
    .map_err(|e| format!("not a valid RSA key: {e}"))?;
    let signed_data =
        SshSig::signed_data(namespace, HashAlg::Sha512, message).map_err(|e| e.to_string())?;
    let signature = rsa::pkcs1v15::SigningKey::<sha2::Sha512>::new(private)
        .try_sign(&signed_data)
        .map_err(|e| format!("RSA signing failed: {e}"))?;
    let signature = ssh_key::Signature::new(
        Algorithm::Rsa {
            hash: Some(HashAlg::Sha512),
        },
        signature.to_vec(),
    )
    .map_err(|e| e.to_string())?;
    let public = ssh_key::public::KeyData::Rsa(ssh_key::public::RsaPublicKey::from(keypair));
    SshSig::new(public, namespace, HashAlg::Sha512, signature).map_err(|e| e.to_string())
}

fn parse_signature(text: &str) -> Result<SshSig, SignatureError> {
    let text = text.trim();
    if !text.starts_with("-----BEGIN SSH SIGNATURE-----") {
        return Err(SignatureError::Malformed(
            "it does not start with `-----BEGIN SSH SIGNATURE-----`".to_string(),
        ));
    }
    SshSig::from_pem(text).map_err(|e| SignatureError::Malformed(e.to_string()))
}

fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

fn ensure_final_newline(mut text: String) -> String {
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// Reads a key or signature file, refusing anything too large to be one.
fn read_small(path: &Path) -> Result<String, KeyError> {
    let read_error = |reason: String| KeyError::Read {
        path: path.to_path_buf(),
        reason,
    };
    let meta = std::fs::metadata(path).map_err(|e| read_error(e.to_string()))?;
    if meta.len() > MAX_KEY_BYTES {
        return Err(read_error(format!(
            "{} bytes is too large for a key (at most {MAX_KEY_BYTES})",
            meta.len()
        )));
    }
    std::fs::read_to_string(path).map_err(|e| read_error(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An ed25519 key from a fixed seed, written as OpenSSH writes it and read back.
    fn key() -> SigningKey {
        let keypair = ssh_key::private::Ed25519Keypair::from_seed(&[7; 32]);
        let private = PrivateKey::from(keypair)
            .to_openssh(LineEnding::LF)
            .expect("encodes");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("id");
        std::fs::write(&path, private.as_bytes()).expect("write key");
        SigningKey::read(&path).expect("the test key parses")
    }

    #[test]
    fn a_signature_verifies_with_the_signers_public_key() {
        let key = key();
        let signature = key.sign(PLUGIN_NAMESPACE, b"hello").expect("signs");
        assert!(signature.starts_with("-----BEGIN SSH SIGNATURE-----\n"));
        assert!(signature.ends_with("-----END SSH SIGNATURE-----\n"));
        assert!(signature.lines().all(|l| l.len() <= 70));
        key.public_key()
            .verify(PLUGIN_NAMESPACE, b"hello", &signature)
            .expect("verifies");
    }

    #[test]
    fn each_refusal_is_told_apart() {
        let key = key();
        let public = key.public_key();
        let signature = key.sign(PLUGIN_NAMESPACE, b"hello").expect("signs");
        assert_eq!(
            public.verify(PLUGIN_NAMESPACE, b"hellO", &signature),
            Err(SignatureError::Mismatch)
        );
        assert!(matches!(
            public.verify(REGISTRY_NAMESPACE, b"hello", &signature),
            Err(SignatureError::WrongNamespace { .. })
        ));
        assert!(matches!(
            public.verify(PLUGIN_NAMESPACE, b"hello", "not a signature"),
            Err(SignatureError::Malformed(_))
        ));
        let other = TrustedKey::parse(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILM+rvN+ot98qgEN796jTiQfZfG1KaT0PtFDJ/XFSqti foo@bar.com",
        )
        .expect("parses");
        assert!(matches!(
            other.verify(PLUGIN_NAMESPACE, b"hello", &signature),
            Err(SignatureError::WrongKey { .. })
        ));
        assert_eq!(signer(&signature).expect("signer"), public);
    }

    #[test]
    fn public_keys_parse_from_pub_and_authorized_keys_lines() {
        let public = key().public_key();
        let line = public.to_openssh();
        assert_eq!(
            TrustedKey::parse(&format!("{line} me@host")),
            Ok(public.clone())
        );
        assert_eq!(
            TrustedKey::parse(&format!("restrict,no-pty {line} me@host")),
            Ok(public)
        );
        assert!(TrustedKey::parse("ssh-ed25519 !!!").is_err());
    }
}
