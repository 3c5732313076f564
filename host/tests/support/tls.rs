//! A throwaway certificate authority for HTTPS servers on 127.0.0.1.

use std::net::TcpListener;

/// A CA and one ECDSA P-256 leaf it signed for 127.0.0.1 and localhost: a test server's TLS
/// certificate (and, for the registry token tests, the key tokens are signed with).
pub struct TestCa {
    /// The CA certificate, PEM: what clients trust.
    pub ca_pem: String,
    /// The leaf certificate, PEM.
    pub leaf_pem: String,
    /// The leaf's private key, PEM.
    pub leaf_key_pem: String,
    /// The leaf certificate, DER.
    pub leaf_der: Vec<u8>,
    /// The leaf's private key, PKCS#8 DER.
    pub leaf_pkcs8: Vec<u8>,
}

impl TestCa {
    /// A fresh CA and leaf.
    pub fn new() -> TestCa {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "palisade test CA");
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key"))
            .expect("CA certificate");
        let leaf_key = KeyPair::generate().expect("leaf key");
        let mut params =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
                .expect("leaf params");
        params
            .distinguished_name
            .push(DnType::CommonName, "palisade test server");
        let leaf = params.signed_by(&leaf_key, &ca).expect("leaf certificate");
        TestCa {
            ca_pem: ca.pem(),
            leaf_pem: leaf.pem(),
            leaf_key_pem: leaf_key.serialize_pem(),
            leaf_der: leaf.der().to_vec(),
            leaf_pkcs8: leaf_key.serialize_der(),
        }
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}
