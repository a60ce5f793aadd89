//! Credential material for `create secret …` and `create source …`: SSH keys,
//! known_hosts scanning, TLS pair checks, Notation trust policies and the
//! small encodings Flux secrets use. No printing here; callers decide what
//! reaches the output (private keys only ever go into a Secret).

mod known_hosts;
mod notation;
mod ssh;
mod tls;

use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub use known_hosts::{SCAN_TIMEOUT, scan_known_hosts};
pub use notation::validate_trust_policy;
pub use ssh::{
    KeyPair, OpensshKeyError, decode_openssh_private_key, generate_keypair,
    generate_keypair_off_runtime, load_private_key, pkcs8_private_key_pem,
    ssh_private_key_from_pem,
};
pub use tls::check_key_pair;

/// Failures while producing credential material.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("{0}")]
    Key(String),
    #[error("ssh: this private key is passphrase protected")]
    PassphraseProtected,
    #[error("SSH key scan for host {host} failed, error: {reason}")]
    Scan { host: String, reason: String },
    #[error("invalid TLS certificate and key pair: {0}")]
    TlsPair(String),
    #[error("invalid trust policy: {0}")]
    TrustPolicy(String),
}

/// Algorithm of a generated SSH key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    Rsa,
    Ecdsa,
    Ed25519,
}

impl FromStr for KeyAlgorithm {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "rsa" => Ok(Self::Rsa),
            "ecdsa" => Ok(Self::Ecdsa),
            "ed25519" => Ok(Self::Ed25519),
            _ => Err(format!(
                "unsupported public key algorithm '{s}', must be one of: rsa, ecdsa, ed25519"
            )),
        }
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Rsa => "rsa",
            Self::Ecdsa => "ecdsa",
            Self::Ed25519 => "ed25519",
        })
    }
}

/// Curve of a generated ECDSA key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EcdsaCurve {
    P256,
    P384,
    P521,
}

impl FromStr for EcdsaCurve {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "p256" => Ok(Self::P256),
            "p384" => Ok(Self::P384),
            "p521" => Ok(Self::P521),
            _ => Err(format!(
                "unsupported curve '{s}', must be one of: p256, p384, p521"
            )),
        }
    }
}

impl fmt::Display for EcdsaCurve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::P256 => "p256",
            Self::P384 => "p384",
            Self::P521 => "p521",
        })
    }
}

/// The largest RSA key generated. Upstream sets no maximum; a 65536-bit key
/// takes many minutes and absurd sizes gigabytes, so flux-rs refuses
/// anything above 16384 (OpenSSH's own limit) when parsing the flag.
pub const MAX_RSA_BITS: usize = 16384;

/// The refusal of an RSA size above [`MAX_RSA_BITS`].
pub fn rsa_bits_too_large(bits: usize) -> String {
    format!(
        "RSA key bit size must be at most {MAX_RSA_BITS}, got {bits}: use a multiple of 8 from 1024 to {MAX_RSA_BITS}"
    )
}

/// What kind of key to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpec {
    pub algorithm: KeyAlgorithm,
    pub rsa_bits: usize,
    pub curve: EcdsaCurve,
}

/// A random webhook token: 32 random bytes as 64 lower-case hex characters.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The webhook URL a Receiver secret advertises; the path digest binds the
/// token to the receiver's name and namespace, as notification-controller does.
pub fn receiver_webhook_url(hostname: &str, token: &str, name: &str, namespace: &str) -> String {
    format!(
        "https://{hostname}{}",
        receiver_webhook_path(token, name, namespace)
    )
}

/// The path notification-controller serves a Receiver's webhook on:
/// `/hook/` and the hex SHA-256 of token, name and namespace.
pub fn receiver_webhook_path(token: &str, name: &str, namespace: &str) -> String {
    let digest = Sha256::digest(format!("{token}{name}{namespace}").as_bytes());
    format!("/hook/{}", hex::encode(digest))
}

/// The `.dockerconfigjson` document of an image pull secret: JSON indented
/// by two spaces, entry keys in the order Go's encoder writes them.
pub fn docker_config_json(server: &str, username: &str, password: &str) -> String {
    let auth = STANDARD.encode(format!("{username}:{password}"));
    format!(
        "{{\n  \"auths\": {{\n    {}: {{\n      \"username\": {},\n      \"password\": {},\n      \"auth\": {}\n    }}\n  }}\n}}",
        json_string(server),
        json_string(username),
        json_string(password),
        json_string(&auth)
    )
}

/// A JSON string as Go's encoder writes it (HTML characters escaped).
fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_string())
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_url_matches_upstream_example() {
        assert_eq!(
            receiver_webhook_url(
                "flux.example.com",
                "test-token",
                "receiver-secret",
                "my-namespace"
            ),
            "https://flux.example.com/hook/106120121d366c2f67e93200f6c1dbe938235eb588daa5e8c0516d3a77ac1dee"
        );
    }

    #[test]
    fn tokens_are_64_hex_characters() {
        let token = random_token();
        assert_eq!(token.len(), 64);
        assert!(
            token
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_ne!(token, random_token());
    }

    #[test]
    fn docker_config_has_auth_last() {
        let json = docker_config_json("ghcr.io", "user", "pass");
        assert_eq!(
            json,
            "{\n  \"auths\": {\n    \"ghcr.io\": {\n      \"username\": \"user\",\n      \"password\": \"pass\",\n      \"auth\": \"dXNlcjpwYXNz\"\n    }\n  }\n}"
        );
        assert!(docker_config_json("r", "a<b", "&").contains(r#""a\u003cb""#));
    }

    #[test]
    fn algorithm_and_curve_names() {
        assert_eq!("ed25519".parse::<KeyAlgorithm>(), Ok(KeyAlgorithm::Ed25519));
        assert_eq!(
            "dsa".parse::<KeyAlgorithm>().unwrap_err(),
            "unsupported public key algorithm 'dsa', must be one of: rsa, ecdsa, ed25519"
        );
        assert_eq!("p521".parse::<EcdsaCurve>(), Ok(EcdsaCurve::P521));
        assert!("p224".parse::<EcdsaCurve>().is_err());
    }
}
