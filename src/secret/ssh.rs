//! SSH key pairs: generation (PKCS#8 PEM private key, authorized_keys public
//! key) and loading of a user's private key file.

use p256::elliptic_curve::sec1::ToEncodedPoint;
use pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rand::rngs::OsRng;

use super::{EcdsaCurve, KeyAlgorithm, KeySpec, SecretError};

/// A private key as stored in a Secret, with its public half in
/// authorized_keys format (`<type> <base64>\n`).
#[derive(Clone)]
pub struct KeyPair {
    pub private_key: String,
    pub public_key: String,
}

impl std::fmt::Debug for KeyPair {
    // The private half never reaches logs or panic messages.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("public_key", &self.public_key)
            .finish_non_exhaustive()
    }
}

/// [`generate_keypair`] on a blocking thread: a large RSA key takes
/// seconds, during which `--timeout` and Ctrl-C must still work.
pub async fn generate_keypair_off_runtime(spec: KeySpec) -> Result<KeyPair, SecretError> {
    tokio::task::spawn_blocking(move || generate_keypair(spec))
        .await
        .map_err(|e| SecretError::Key(format!("key generation stopped: {e}")))?
}

/// Generates a key pair; the private key is PKCS#8 PEM (`BEGIN PRIVATE KEY`).
pub fn generate_keypair(spec: KeySpec) -> Result<KeyPair, SecretError> {
    let key = match spec.algorithm {
        KeyAlgorithm::Rsa => {
            let key = rsa::RsaPrivateKey::new(&mut OsRng, spec.rsa_bits)
                .map_err(|e| SecretError::Key(format!("failed to generate RSA key: {e}")))?;
            AnyKey::Rsa(key)
        }
        KeyAlgorithm::Ecdsa => match spec.curve {
            EcdsaCurve::P256 => AnyKey::P256(p256::SecretKey::random(&mut OsRng)),
            EcdsaCurve::P384 => AnyKey::P384(p384::SecretKey::random(&mut OsRng)),
            EcdsaCurve::P521 => AnyKey::P521(p521::SecretKey::random(&mut OsRng)),
        },
        KeyAlgorithm::Ed25519 => AnyKey::Ed25519(ed25519_dalek::SigningKey::generate(&mut OsRng)),
    };
    let private_key = key.to_pkcs8_pem()?;
    Ok(KeyPair {
        private_key,
        public_key: key.authorized_key()?,
    })
}

/// Reads a private key file for a Git secret. The file content is kept as is
/// (it may be passphrase-protected, `password` then goes in the secret too);
/// the passphrase is only used to derive the public key.
pub fn load_private_key(pem: &str, password: &str) -> Result<KeyPair, SecretError> {
    let public_key = if pem.contains("-----BEGIN OPENSSH PRIVATE KEY-----") {
        openssh_public_key(pem, password)?
    } else {
        AnyKey::from_pem(pem)?.authorized_key()?
    };
    Ok(KeyPair {
        private_key: pem.to_string(),
        public_key,
    })
}

/// A PEM private key (PKCS#8, PKCS#1 or SEC1) re-encoded as unencrypted
/// PKCS#8 PEM, the one PEM form every SSH library reads.
pub fn pkcs8_private_key_pem(pem: &str) -> Result<String, SecretError> {
    AnyKey::from_pem(pem)?.to_pkcs8_pem()
}

fn openssh_public_key(pem: &str, password: &str) -> Result<String, SecretError> {
    let key = decode_openssh_private_key(pem, password).map_err(|e| match e {
        OpensshKeyError::NeedsPassphrase => SecretError::PassphraseProtected,
        OpensshKeyError::WrongPassphrase => {
            SecretError::Key("x509: decryption password incorrect".into())
        }
        OpensshKeyError::Invalid(message) => SecretError::Key(format!("ssh: {message}")),
    })?;
    let mut public = key.public_key().clone();
    public.set_comment("");
    let line = public
        .to_openssh()
        .map_err(|e| SecretError::Key(format!("ssh: {e}")))?;
    Ok(format!("{}\n", line.trim_end()))
}

/// Why an OpenSSH private key could not be read.
#[derive(Debug, PartialEq, Eq)]
pub enum OpensshKeyError {
    NeedsPassphrase,
    WrongPassphrase,
    Invalid(String),
}

/// An OpenSSH private key (`-----BEGIN OPENSSH PRIVATE KEY-----`), decrypted
/// with `password` when it is protected.
///
/// ssh-keygen writes an ECDSA scalar as an mpint without its leading zero
/// bytes, so about one key in 256 is shorter than the curve size; ssh-key 0.6
/// rejects those ("length invalid"). The newer ssh-key that russh brings reads
/// them, and writes the scalar at full width, which 0.6 (used for signing
/// and key conversion) then reads.
pub fn decode_openssh_private_key(
    text: &str,
    password: &str,
) -> Result<ssh_key::PrivateKey, OpensshKeyError> {
    use russh::keys::ssh_key as current;
    let invalid = |e: &dyn std::fmt::Display| OpensshKeyError::Invalid(e.to_string());
    let key = current::PrivateKey::from_openssh(text).map_err(|e| invalid(&e))?;
    let key = if key.is_encrypted() {
        if password.is_empty() {
            return Err(OpensshKeyError::NeedsPassphrase);
        }
        // The key parsed, so a failed decryption means the passphrase is wrong.
        key.decrypt(password)
            .map_err(|_| OpensshKeyError::WrongPassphrase)?
    } else {
        key
    };
    let plain = key
        .to_openssh(current::LineEnding::LF)
        .map_err(|e| invalid(&e))?;
    ssh_key::PrivateKey::from_openssh(plain.as_bytes()).map_err(|e| invalid(&e))
}

/// An unencrypted PEM private key (PKCS#8, PKCS#1 or SEC1) as an SSH key,
/// e.g. to sign commits with it.
pub fn ssh_private_key_from_pem(pem: &str) -> Result<ssh_key::PrivateKey, SecretError> {
    AnyKey::from_pem(pem)?.into_ssh()
}

/// The key kinds the CLI generates or accepts in PEM form.
enum AnyKey {
    Rsa(rsa::RsaPrivateKey),
    P256(p256::SecretKey),
    P384(p384::SecretKey),
    P521(p521::SecretKey),
    Ed25519(ed25519_dalek::SigningKey),
}

impl AnyKey {
    /// Parses PKCS#8 (`PRIVATE KEY`), PKCS#1 (`RSA PRIVATE KEY`) or SEC1
    /// (`EC PRIVATE KEY`) PEM.
    fn from_pem(pem: &str) -> Result<Self, SecretError> {
        use rsa::pkcs1::DecodeRsaPrivateKey;
        if pem.contains("-----BEGIN RSA PRIVATE KEY-----") {
            return rsa::RsaPrivateKey::from_pkcs1_pem(pem)
                .map(Self::Rsa)
                .map_err(|e| SecretError::Key(format!("x509: {e}")));
        }
        if pem.contains("-----BEGIN EC PRIVATE KEY-----") {
            if let Ok(k) = p256::SecretKey::from_sec1_pem(pem) {
                return Ok(Self::P256(k));
            }
            if let Ok(k) = p384::SecretKey::from_sec1_pem(pem) {
                return Ok(Self::P384(k));
            }
            return p521::SecretKey::from_sec1_pem(pem)
                .map(Self::P521)
                .map_err(|e| SecretError::Key(format!("x509: {e}")));
        }
        if pem.contains("-----BEGIN PRIVATE KEY-----") {
            if let Ok(k) = rsa::RsaPrivateKey::from_pkcs8_pem(pem) {
                return Ok(Self::Rsa(k));
            }
            if let Ok(k) = p256::SecretKey::from_pkcs8_pem(pem) {
                return Ok(Self::P256(k));
            }
            if let Ok(k) = p384::SecretKey::from_pkcs8_pem(pem) {
                return Ok(Self::P384(k));
            }
            if let Ok(k) = p521::SecretKey::from_pkcs8_pem(pem) {
                return Ok(Self::P521(k));
            }
            return ed25519_dalek::SigningKey::from_pkcs8_pem(pem)
                .map(Self::Ed25519)
                .map_err(|_| SecretError::Key("x509: unsupported private key type".into()));
        }
        Err(SecretError::Key("ssh: no key found".into()))
    }

    fn to_pkcs8_pem(&self) -> Result<String, SecretError> {
        let pem = match self {
            Self::Rsa(k) => k.to_pkcs8_pem(LineEnding::LF),
            Self::P256(k) => k.to_pkcs8_pem(LineEnding::LF),
            Self::P384(k) => k.to_pkcs8_pem(LineEnding::LF),
            Self::P521(k) => k.to_pkcs8_pem(LineEnding::LF),
            Self::Ed25519(k) => k.to_pkcs8_pem(LineEnding::LF),
        };
        pem.map(|p| p.to_string())
            .map_err(|e| SecretError::Key(format!("failed to encode private key: {e}")))
    }

    /// The same key as an SSH key.
    fn into_ssh(self) -> Result<ssh_key::PrivateKey, SecretError> {
        use ssh_key::private::{EcdsaKeypair, Ed25519Keypair, KeypairData, RsaKeypair};
        let data = match self {
            Self::Rsa(k) => KeypairData::from(
                RsaKeypair::try_from(k).map_err(|e| SecretError::Key(format!("ssh: {e}")))?,
            ),
            Self::P256(k) => KeypairData::from(EcdsaKeypair::NistP256 {
                public: k.public_key().to_encoded_point(false),
                private: k.into(),
            }),
            Self::P384(k) => KeypairData::from(EcdsaKeypair::NistP384 {
                public: k.public_key().to_encoded_point(false),
                private: k.into(),
            }),
            Self::P521(k) => KeypairData::from(EcdsaKeypair::NistP521 {
                public: k.public_key().to_encoded_point(false),
                private: k.into(),
            }),
            Self::Ed25519(k) => KeypairData::from(Ed25519Keypair::from(k)),
        };
        ssh_key::PrivateKey::new(data, "").map_err(|e| SecretError::Key(format!("ssh: {e}")))
    }

    /// `<type> <base64 wire encoding>\n`, as `ssh.MarshalAuthorizedKey` writes it.
    fn authorized_key(self) -> Result<String, SecretError> {
        let line = self
            .into_ssh()?
            .public_key()
            .to_openssh()
            .map_err(|e| SecretError::Key(format!("failed to encode public key: {e}")))?;
        Ok(format!("{line}\n"))
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    use super::*;

    fn spec(algorithm: KeyAlgorithm, curve: EcdsaCurve) -> KeySpec {
        KeySpec {
            algorithm,
            rsa_bits: 1024,
            curve,
        }
    }

    /// An unencrypted OpenSSH private key file as ssh-keygen writes it, with
    /// the ECDSA scalar as a minimal mpint.
    fn openssh_p384_file(key: &p384::SecretKey) -> String {
        let point = key.public_key().to_encoded_point(false);
        let (kind, public_blob) = ecdsa_blob("nistp384", point.as_bytes());
        let mut private = Vec::new();
        private.extend_from_slice(&[0x5e, 0x1f, 0x0a, 0x11, 0x5e, 0x1f, 0x0a, 0x11]);
        put_string(&mut private, kind.as_bytes());
        put_string(&mut private, b"nistp384");
        put_string(&mut private, point.as_bytes());
        put_mpint(&mut private, &key.to_bytes());
        put_string(&mut private, b"");
        let mut pad = 1u8;
        while private.len() % 8 != 0 {
            private.push(pad);
            pad += 1;
        }
        let mut file = b"openssh-key-v1\0".to_vec();
        put_string(&mut file, b"none");
        put_string(&mut file, b"none");
        put_string(&mut file, b"");
        file.extend_from_slice(&1u32.to_be_bytes());
        put_string(&mut file, &public_blob);
        put_string(&mut file, &private);
        let body = STANDARD.encode(file);
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(70)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n-----END OPENSSH PRIVATE KEY-----\n",
            lines.join("\n")
        )
    }

    #[test]
    fn ecdsa_keys_whose_scalar_starts_with_a_zero_byte_are_read() {
        // ssh-keygen writes such a key about once in 256; it failed with
        // "ssh: length invalid" in CI.
        let key = std::iter::repeat_with(|| p384::SecretKey::random(&mut OsRng))
            .find(|k| k.to_bytes()[0] == 0)
            .unwrap();
        let file = openssh_p384_file(&key);
        let pair = load_private_key(&file, "").unwrap();
        assert_eq!(
            pair.public_key,
            AnyKey::P384(key.clone()).authorized_key().unwrap()
        );
        assert_eq!(pair.private_key, file, "the file is stored verbatim");
        let decoded = decode_openssh_private_key(&file, "").unwrap();
        let ssh_key::private::KeypairData::Ecdsa(ssh_key::private::EcdsaKeypair::NistP384 {
            private,
            ..
        }) = decoded.key_data()
        else {
            panic!("not a P-384 key: {:?}", decoded.algorithm());
        };
        assert_eq!(private.as_slice(), &key.to_bytes()[..]);
    }

    #[test]
    fn generated_keys_are_pkcs8_with_matching_public_key() {
        for (alg, curve, prefix) in [
            (KeyAlgorithm::Ed25519, EcdsaCurve::P384, "ssh-ed25519 "),
            (
                KeyAlgorithm::Ecdsa,
                EcdsaCurve::P256,
                "ecdsa-sha2-nistp256 ",
            ),
            (
                KeyAlgorithm::Ecdsa,
                EcdsaCurve::P384,
                "ecdsa-sha2-nistp384 ",
            ),
            (
                KeyAlgorithm::Ecdsa,
                EcdsaCurve::P521,
                "ecdsa-sha2-nistp521 ",
            ),
            (KeyAlgorithm::Rsa, EcdsaCurve::P384, "ssh-rsa "),
        ] {
            let pair = generate_keypair(spec(alg, curve)).unwrap();
            assert!(
                pair.private_key
                    .starts_with("-----BEGIN PRIVATE KEY-----\n")
            );
            assert!(pair.public_key.starts_with(prefix), "{}", pair.public_key);
            assert!(pair.public_key.ends_with('\n'));
            // Reloading the PEM derives the same public key.
            let again = load_private_key(&pair.private_key, "").unwrap();
            assert_eq!(again.public_key, pair.public_key);
            assert!(!format!("{pair:?}").contains("PRIVATE"));
        }
    }

    #[test]
    fn garbage_is_not_a_key() {
        assert_eq!(
            load_private_key("hello", "").unwrap_err().to_string(),
            "ssh: no key found"
        );
    }

    /// The wire form of a P-384 public key, as ssh-keygen writes it.
    fn ecdsa_blob(curve: &'static str, point: &[u8]) -> (&'static str, Vec<u8>) {
        let kind = "ecdsa-sha2-nistp384";
        let mut blob = Vec::new();
        put_string(&mut blob, kind.as_bytes());
        put_string(&mut blob, curve.as_bytes());
        put_string(&mut blob, point);
        (kind, blob)
    }

    /// SSH wire `string`: u32 length then bytes.
    fn put_string(out: &mut Vec<u8>, bytes: &[u8]) {
        out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        out.extend_from_slice(bytes);
    }

    /// SSH wire `mpint` of a non-negative big-endian number: no leading
    /// zero bytes, plus one zero byte when the top bit is set.
    fn put_mpint(out: &mut Vec<u8>, be: &[u8]) {
        let start = be.iter().position(|b| *b != 0).unwrap_or(be.len());
        let trimmed = &be[start..];
        if trimmed.first().is_some_and(|b| b & 0x80 != 0) {
            out.extend_from_slice(&(trimmed.len() as u32 + 1).to_be_bytes());
            out.push(0);
            out.extend_from_slice(trimmed);
        } else {
            put_string(out, trimmed);
        }
    }
}
