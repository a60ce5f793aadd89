//! Client certificate pair check: the key must belong to the certificate.

use pkcs8::{DecodePrivateKey, EncodePublicKey};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use x509_cert::der::{self, Decode, Encode};

use super::SecretError;

/// Checks that `cert_pem` holds a certificate and `key_pem` the private key
/// of that certificate's public key (RSA, ECDSA P-256/384/521 or Ed25519).
pub fn check_key_pair(cert_pem: &[u8], key_pem: &[u8]) -> Result<(), SecretError> {
    let bad = |m: &str| SecretError::TlsPair(m.to_string());
    // As Go's tls.X509KeyPair: the first CERTIFICATE block is the leaf; any
    // others are its chain.
    let leaf = CertificateDer::pem_slice_iter(cert_pem)
        .next()
        .and_then(Result::ok)
        .ok_or_else(|| bad("tls: failed to find any PEM data in certificate input"))?;
    let malformed =
        |e: der::Error| SecretError::TlsPair(format!("x509: malformed certificate: {e}"));
    let cert = x509_cert::Certificate::from_der(&leaf).map_err(malformed)?;
    let cert_spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(malformed)?;
    let key_text = std::str::from_utf8(key_pem)
        .map_err(|_| bad("tls: failed to find any PEM data in key input"))?;
    if !key_text.contains("-----BEGIN") {
        return Err(bad("tls: failed to find any PEM data in key input"));
    }
    let key_spki =
        public_key_der(key_text).ok_or_else(|| bad("tls: failed to parse private key"))?;
    if key_spki != cert_spki {
        return Err(bad("tls: private key does not match public key"));
    }
    Ok(())
}

/// The SubjectPublicKeyInfo DER of the key in `pem`, for the supported kinds.
fn public_key_der(pem: &str) -> Option<Vec<u8>> {
    let der = |r: Result<pkcs8::Document, pkcs8::spki::Error>| r.ok().map(|d| d.into_vec());
    if let Ok(k) = rsa::RsaPrivateKey::from_pkcs1_pem(pem) {
        return der(k.to_public_key().to_public_key_der());
    }
    if let Ok(k) = rsa::RsaPrivateKey::from_pkcs8_pem(pem) {
        return der(k.to_public_key().to_public_key_der());
    }
    if let Ok(k) =
        p256::SecretKey::from_sec1_pem(pem).or_else(|_| p256::SecretKey::from_pkcs8_pem(pem))
    {
        return der(k.public_key().to_public_key_der());
    }
    if let Ok(k) =
        p384::SecretKey::from_sec1_pem(pem).or_else(|_| p384::SecretKey::from_pkcs8_pem(pem))
    {
        return der(k.public_key().to_public_key_der());
    }
    if let Ok(k) =
        p521::SecretKey::from_sec1_pem(pem).or_else(|_| p521::SecretKey::from_pkcs8_pem(pem))
    {
        return der(k.public_key().to_public_key_der());
    }
    if let Ok(k) = ed25519_dalek::SigningKey::from_pkcs8_pem(pem) {
        return der(k.verifying_key().to_public_key_der());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_pem_input_is_rejected() {
        let err = check_key_pair(b"nope", b"nope").unwrap_err().to_string();
        assert_eq!(
            err,
            "invalid TLS certificate and key pair: tls: failed to find any PEM data in certificate input"
        );
    }
}
