//! Commit signing for bootstrap: OpenPGP (a detached, armored signature, as
//! `git commit -S` with gpg) or SSH (an SSHSIG signature in namespace `git`
//! with SHA-512, as `git commit -S` with `gpg.format=ssh`). Either way the
//! signature goes in the commit's `gpgsig` header.
//!
//! Keys are loaded and decrypted when the flags are resolved, so a wrong
//! passphrase or key id stops the run before anything is cloned, pushed or
//! applied.

use std::path::{Path, PathBuf};

use pgp::composed::{
    ArmorOptions, DetachedSignature, PublicOrSecret, SignedSecretKey, SignedSecretSubKey,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::types::{KeyDetails, Password};

use crate::secret::OpensshKeyError;

/// Where the signing flags point, as given on the command line.
#[derive(Clone, Default)]
pub struct SigningFlags {
    pub gpg_key_ring: Option<PathBuf>,
    pub gpg_passphrase: String,
    pub gpg_key_id: String,
    pub ssh_signing_key_file: Option<PathBuf>,
    pub ssh_signing_password: String,
    pub ssh_signing_reuse_private_key: bool,
    /// `--private-key-file`, signed with in reuse mode.
    pub private_key_file: Option<PathBuf>,
    /// The passphrase of `--private-key-file`: `--password` of `bootstrap
    /// git`; `None` for the providers, which have no such flag.
    pub private_key_password: Option<String>,
}

impl std::fmt::Debug for SigningFlags {
    // Passphrases never reach logs or panic messages.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningFlags")
            .field("gpg_key_ring", &self.gpg_key_ring)
            .field("gpg_key_id", &self.gpg_key_id)
            .field("ssh_signing_key_file", &self.ssh_signing_key_file)
            .field(
                "ssh_signing_reuse_private_key",
                &self.ssh_signing_reuse_private_key,
            )
            .field("private_key_file", &self.private_key_file)
            .finish_non_exhaustive()
    }
}

/// Why the signing flags or keys cannot be used, or a signature failed.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error("--gpg-* and --ssh-signing-* are mutually exclusive; pick one signing format")]
    BothFormats,
    #[error("--ssh-signing-key-file and --ssh-signing-reuse-private-key are mutually exclusive")]
    KeyFileAndReuse,
    #[error("--ssh-signing-reuse-private-key requires --private-key-file")]
    ReuseWithoutPrivateKey,
    #[error("--ssh-signing-password requires --ssh-signing-key-file")]
    PasswordWithoutKeyFile,
    #[error("--gpg-passphrase and --gpg-key-id require --gpg-key-ring")]
    GpgWithoutKeyRing,
    #[error(
        "--ssh-signing-reuse-private-key is not supported by 'bootstrap {provider}'; it generates its own deploy key, so there is no --private-key-file to sign with: pass a signing key with --ssh-signing-key-file instead"
    )]
    ReuseNotSupported { provider: String },
    #[error("unable to read {flag} {path}: {error}")]
    Read {
        flag: &'static str,
        path: String,
        error: std::io::Error,
    },
    #[error(
        "invalid --gpg-key-id {0:?}: expected 16 hexadecimal characters (optionally prefixed with 0x), as 'gpg --list-secret-keys --keyid-format=long' prints them"
    )]
    KeyId(String),
    #[error(
        "unable to read the OpenPGP key ring --gpg-key-ring {path}: {message}; export it with 'gpg --export-secret-keys --armor <key id>'"
    )]
    KeyRing { path: String, message: String },
    #[error(
        "the OpenPGP key ring --gpg-key-ring {path} holds no key; export one with 'gpg --export-secret-keys --armor <key id>'"
    )]
    EmptyKeyRing { path: String },
    #[error(
        "no key with id {id} in --gpg-key-ring {path}; list the ids with 'gpg --list-secret-keys --keyid-format=long'"
    )]
    KeyNotFound { id: String, path: String },
    #[error(
        "the {which} in --gpg-key-ring {path} has no private key; export the secret key with 'gpg --export-secret-keys --armor <key id>'{hint}"
    )]
    NoPrivateKey {
        which: String,
        path: String,
        hint: &'static str,
    },
    #[error(
        "unable to decrypt the OpenPGP private key {id} of --gpg-key-ring {path}: {reason}; check --gpg-passphrase"
    )]
    GpgPassphrase {
        id: String,
        path: String,
        reason: String,
    },
    #[error("unable to sign with the OpenPGP key {id} of --gpg-key-ring {path}: {message}")]
    GpgKey {
        id: String,
        path: String,
        message: String,
    },
    #[error("unable to load the SSH signing key {flag} {path}: {message}")]
    SshKey {
        flag: &'static str,
        path: String,
        message: String,
    },
    #[error("the SSH signing key {flag} {path} is passphrase protected; pass {password_flag}")]
    SshPassphraseMissing {
        flag: &'static str,
        path: String,
        password_flag: &'static str,
    },
    #[error(
        "unable to decrypt the SSH signing key {flag} {path}: wrong passphrase; check {password_flag}"
    )]
    SshPassphrase {
        flag: &'static str,
        path: String,
        password_flag: &'static str,
    },
    #[error(
        "the --private-key-file {path} is passphrase protected and 'bootstrap {provider}' has no --password to decrypt it; sign with --ssh-signing-key-file and --ssh-signing-password instead"
    )]
    ReusedKeyEncrypted { path: String, provider: String },
    #[error("unable to sign the commit: {0}")]
    Sign(String),
}

/// A loaded, decrypted signing key (boxed: the keys are large).
#[derive(Clone)]
pub enum Signer {
    Gpg(Box<GpgSigner>),
    Ssh(Box<SshSigner>),
}

/// An OpenPGP key: the entity, the key of it that signs, and its passphrase
/// (rPGP keeps the key encrypted and unlocks it for every signature).
#[derive(Clone)]
pub struct GpgSigner {
    entity: SignedSecretKey,
    /// The secret subkey that signs; the primary key when `None`.
    subkey: Option<usize>,
    passphrase: String,
    /// Long key id of the signing key, upper-case hex (for messages).
    key_id: String,
}

/// An SSH private key, decrypted.
#[derive(Clone)]
pub struct SshSigner {
    key: ssh_key::PrivateKey,
    /// The same key for the `rsa` crate: ssh-key 0.6 rebuilds RSA keys
    /// with a wrong second prime and cannot sign with them, so RSA
    /// signatures are made here.
    rsa: Option<rsa::RsaPrivateKey>,
}

impl std::fmt::Debug for Signer {
    // Only public identifiers: never key material or passphrases.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Gpg(gpg) => f
                .debug_struct("Gpg")
                .field("key_id", &gpg.key_id)
                .finish_non_exhaustive(),
            Self::Ssh(ssh) => f
                .debug_struct("Ssh")
                .field("fingerprint", &ssh.fingerprint())
                .finish_non_exhaustive(),
        }
    }
}

/// The SSHSIG namespace git signs commits in.
const SSH_NAMESPACE: &str = "git";

impl Signer {
    /// An SSH signer from a decrypted key.
    pub fn ssh(key: ssh_key::PrivateKey) -> Result<Self, SigningError> {
        SshSigner::new(key)
            .map(|signer| Self::Ssh(Box::new(signer)))
            .map_err(|e| SigningError::Sign(format!("SSH key: {e}")))
    }

    /// Which key signs, for the dry-run plan: the OpenPGP key id or the
    /// SSH key's fingerprint.
    pub fn describe(&self) -> String {
        match self {
            Self::Gpg(gpg) => format!("OpenPGP key {}", gpg.key_id),
            Self::Ssh(ssh) => format!("SSH key {}", ssh.fingerprint()),
        }
    }

    /// Signs a raw commit buffer; the result is the armored signature for
    /// the `gpgsig` header, without a trailing newline.
    pub fn sign(&self, data: &[u8]) -> Result<String, SigningError> {
        let armored = match self {
            Self::Gpg(gpg) => gpg.sign(data)?,
            Self::Ssh(ssh) => ssh.sign(data)?,
        };
        Ok(armored.trim_end().to_string())
    }
}

impl GpgSigner {
    fn sign(&self, data: &[u8]) -> Result<String, SigningError> {
        let password = Password::from(self.passphrase.as_str());
        let mut rng = rand::thread_rng();
        let signature = match self.subkey {
            None => DetachedSignature::sign_binary_data(
                &mut rng,
                &self.entity.primary_key,
                &password,
                HashAlgorithm::Sha256,
                data,
            ),
            Some(index) => DetachedSignature::sign_binary_data(
                &mut rng,
                &self.entity.secret_subkeys[index].key,
                &password,
                HashAlgorithm::Sha256,
                data,
            ),
        }
        .map_err(|e| SigningError::Sign(format!("OpenPGP key {}: {e}", self.key_id)))?;
        signature
            .to_armored_string(ArmorOptions::default())
            .map_err(|e| SigningError::Sign(format!("OpenPGP key {}: {e}", self.key_id)))
    }
}

impl SshSigner {
    fn fingerprint(&self) -> String {
        self.key
            .public_key()
            .fingerprint(ssh_key::HashAlg::Sha256)
            .to_string()
    }

    fn new(key: ssh_key::PrivateKey) -> Result<Self, String> {
        let rsa = match key.key_data() {
            ssh_key::private::KeypairData::Rsa(pair) => Some(rsa_private_key(pair)?),
            _ => None,
        };
        Ok(Self { key, rsa })
    }

    fn sign(&self, data: &[u8]) -> Result<String, SigningError> {
        let failed = |e: &dyn std::fmt::Display| {
            SigningError::Sign(format!("SSH key {}: {e}", self.fingerprint()))
        };
        let hash = ssh_key::HashAlg::Sha512;
        let signature = match &self.rsa {
            None => self
                .key
                .sign(SSH_NAMESPACE, hash, data)
                .map_err(|e| failed(&e))?,
            Some(rsa) => {
                use rsa::signature::{SignatureEncoding, Signer as _};
                let signed = ssh_key::SshSig::signed_data(SSH_NAMESPACE, hash, data)
                    .map_err(|e| failed(&e))?;
                let bytes = rsa::pkcs1v15::SigningKey::<sha2::Sha512>::new(rsa.clone())
                    .try_sign(&signed)
                    .map_err(|e| failed(&e))?
                    .to_vec();
                let algorithm = ssh_key::Algorithm::Rsa { hash: Some(hash) };
                let signature =
                    ssh_key::Signature::new(algorithm, bytes).map_err(|e| failed(&e))?;
                ssh_key::SshSig::new(
                    self.key.public_key().key_data().clone(),
                    SSH_NAMESPACE,
                    hash,
                    signature,
                )
                .map_err(|e| failed(&e))?
            }
        };
        signature
            .to_pem(ssh_key::LineEnding::LF)
            .map_err(|e| SigningError::Sign(format!("SSH key {}: {e}", self.fingerprint())))
    }
}

impl SigningFlags {
    fn gpg(&self) -> bool {
        self.gpg_key_ring.is_some()
            || !self.gpg_passphrase.is_empty()
            || !self.gpg_key_id.is_empty()
    }

    fn ssh(&self) -> bool {
        self.ssh_signing_key_file.is_some()
            || !self.ssh_signing_password.is_empty()
            || self.ssh_signing_reuse_private_key
    }

    /// The combination rules, checked before any file is read. `provider`
    /// is the `bootstrap` subcommand; github and gitea generate their own
    /// deploy key, so they have no private key file to reuse.
    pub fn validate(&self, provider: &str) -> Result<(), SigningError> {
        // The provider's own check comes first, as upstream's.
        if self.ssh_signing_reuse_private_key && matches!(provider, "github" | "gitea") {
            return Err(SigningError::ReuseNotSupported {
                provider: provider.to_string(),
            });
        }
        if self.gpg() && self.ssh() {
            return Err(SigningError::BothFormats);
        }
        if self.ssh_signing_reuse_private_key {
            if self.ssh_signing_key_file.is_some() {
                return Err(SigningError::KeyFileAndReuse);
            }
            if self.private_key_file.is_none() {
                return Err(SigningError::ReuseWithoutPrivateKey);
            }
        }
        if !self.ssh_signing_password.is_empty() && self.ssh_signing_key_file.is_none() {
            return Err(SigningError::PasswordWithoutKeyFile);
        }
        if self.gpg() && self.gpg_key_ring.is_none() {
            return Err(SigningError::GpgWithoutKeyRing);
        }
        if !self.gpg_key_id.is_empty() {
            parse_key_id(&self.gpg_key_id)?;
        }
        Ok(())
    }

    /// Validates the flags, then loads and decrypts the key they name;
    /// `None` when no signing was asked for.
    pub fn load(&self, provider: &str) -> Result<Option<Signer>, SigningError> {
        self.validate(provider)?;
        if let Some(ring) = &self.gpg_key_ring {
            let id = match self.gpg_key_id.as_str() {
                "" => None,
                id => Some(parse_key_id(id)?),
            };
            let bytes = read(ring, "--gpg-key-ring")?;
            return load_gpg(
                &bytes,
                &ring.display().to_string(),
                id,
                &self.gpg_passphrase,
            )
            .map(|s| Some(Signer::Gpg(Box::new(s))));
        }
        let (flag, file, password_flag, password) = match (
            &self.ssh_signing_key_file,
            &self.private_key_file,
            self.ssh_signing_reuse_private_key,
        ) {
            (Some(file), _, _) => (
                "--ssh-signing-key-file",
                file,
                "--ssh-signing-password",
                self.ssh_signing_password.as_str(),
            ),
            (None, Some(file), true) => (
                "--private-key-file",
                file,
                "--password",
                self.private_key_password.as_deref().unwrap_or_default(),
            ),
            _ => return Ok(None),
        };
        let bytes = read(file, flag)?;
        let path = file.display().to_string();
        let text = String::from_utf8_lossy(&bytes);
        let key = load_ssh(&text, password).map_err(|e| match e {
            OpensshKeyError::NeedsPassphrase
                if self.ssh_signing_key_file.is_none() && self.private_key_password.is_none() =>
            {
                SigningError::ReusedKeyEncrypted {
                    path: path.clone(),
                    provider: provider.to_string(),
                }
            }
            OpensshKeyError::NeedsPassphrase => SigningError::SshPassphraseMissing {
                flag,
                path: path.clone(),
                password_flag,
            },
            OpensshKeyError::WrongPassphrase => SigningError::SshPassphrase {
                flag,
                path: path.clone(),
                password_flag,
            },
            OpensshKeyError::Invalid(message) => SigningError::SshKey {
                flag,
                path: path.clone(),
                message,
            },
        })?;
        let signer = SshSigner::new(key).map_err(|message| SigningError::SshKey {
            flag,
            path: path.clone(),
            message,
        })?;
        Ok(Some(Signer::Ssh(Box::new(signer))))
    }
}

/// An SSH RSA key pair as the `rsa` crate's private key.
fn rsa_private_key(pair: &ssh_key::private::RsaKeypair) -> Result<rsa::RsaPrivateKey, String> {
    let number = |m: &ssh_key::Mpint| {
        m.as_positive_bytes()
            .map(rsa::BigUint::from_bytes_be)
            .ok_or_else(|| "malformed RSA key".to_string())
    };
    let key = rsa::RsaPrivateKey::from_components(
        number(&pair.public.n)?,
        number(&pair.public.e)?,
        number(&pair.private.d)?,
        vec![number(&pair.private.p)?, number(&pair.private.q)?],
    )
    .map_err(|e| format!("invalid RSA key: {e}"))?;
    key.validate()
        .map_err(|e| format!("invalid RSA key: {e}"))?;
    Ok(key)
}

fn read(path: &Path, flag: &'static str) -> Result<Vec<u8>, SigningError> {
    crate::input::read_path(path).map_err(|error| SigningError::Read {
        flag,
        path: path.display().to_string(),
        error,
    })
}

/// A `--gpg-key-id`: 16 hex characters, optionally prefixed with `0x`, in
/// any case.
pub fn parse_key_id(raw: &str) -> Result<[u8; 8], SigningError> {
    let invalid = || SigningError::KeyId(raw.to_string());
    let hex = raw
        .strip_prefix("0x")
        .or_else(|| raw.strip_prefix("0X"))
        .unwrap_or(raw);
    if hex.len() != 16 {
        return Err(invalid());
    }
    let mut id = [0u8; 8];
    hex::decode_to_slice(hex, &mut id).map_err(|_| invalid())?;
    Ok(id)
}

fn key_id_string(id: &[u8]) -> String {
    hex::encode_upper(id)
}

/// Picks the entity (by primary or subkey id, or the ring's first) and the
/// key of it that signs, then proves the passphrase opens it.
fn load_gpg(
    ring: &[u8],
    path: &str,
    id: Option<[u8; 8]>,
    passphrase: &str,
) -> Result<GpgSigner, SigningError> {
    let ring_error = |message: String| SigningError::KeyRing {
        path: path.to_string(),
        message,
    };
    let (entities, _) =
        PublicOrSecret::from_reader_many(ring).map_err(|e| ring_error(e.to_string()))?;
    let entities: Vec<PublicOrSecret> = entities
        .collect::<Result<_, _>>()
        .map_err(|e| ring_error(e.to_string()))?;
    let no_private = |which: String| SigningError::NoPrivateKey {
        which,
        path: path.to_string(),
        hint: if id.is_none() {
            " (or name a key that has one with --gpg-key-id)"
        } else {
            ""
        },
    };
    let (entity, subkey) = match id {
        None => {
            let first = entities
                .into_iter()
                .next()
                .ok_or(SigningError::EmptyKeyRing {
                    path: path.to_string(),
                })?;
            let first_id = key_id_string(first_primary_id(&first).as_ref());
            match first {
                PublicOrSecret::Secret(entity) => {
                    let subkey = signing_subkey(&entity.secret_subkeys);
                    (entity, subkey)
                }
                PublicOrSecret::Public(_) => {
                    return Err(no_private(format!("first key ({first_id})")));
                }
            }
        }
        Some(id) => {
            let wanted = key_id_string(&id);
            let found = entities.into_iter().find_map(|entity| {
                let primary = first_primary_id(&entity);
                let subkey_index = match &entity {
                    PublicOrSecret::Secret(secret) => secret
                        .secret_subkeys
                        .iter()
                        .position(|s| s.key.legacy_key_id().as_ref() == id),
                    PublicOrSecret::Public(_) => None,
                };
                let matches_public_subkey = match &entity {
                    PublicOrSecret::Public(public) => public
                        .public_subkeys
                        .iter()
                        .any(|s| s.key.legacy_key_id().as_ref() == id),
                    PublicOrSecret::Secret(secret) => secret
                        .public_subkeys
                        .iter()
                        .any(|s| s.key.legacy_key_id().as_ref() == id),
                };
                if primary.as_ref() == id {
                    Some((entity, None))
                } else if subkey_index.is_some() || matches_public_subkey {
                    Some((entity, subkey_index))
                } else {
                    None
                }
            });
            match found {
                None => {
                    return Err(SigningError::KeyNotFound {
                        id: wanted,
                        path: path.to_string(),
                    });
                }
                Some((PublicOrSecret::Secret(entity), Some(index))) => (entity, Some(index)),
                Some((PublicOrSecret::Secret(entity), None))
                    if entity.primary_key.legacy_key_id().as_ref() == id =>
                {
                    let subkey = signing_subkey(&entity.secret_subkeys);
                    (entity, subkey)
                }
                Some(_) => return Err(no_private(format!("key {wanted}"))),
            }
        }
    };
    let key_id = match subkey {
        Some(index) => key_id_string(entity.secret_subkeys[index].key.legacy_key_id().as_ref()),
        None => key_id_string(entity.primary_key.legacy_key_id().as_ref()),
    };
    let password = Password::from(passphrase);
    let unlocked = match subkey {
        None => entity.primary_key.unlock(&password, |_, _| Ok(())),
        Some(index) => entity.secret_subkeys[index]
            .key
            .unlock(&password, |_, _| Ok(())),
    };
    if unlocked.and_then(|inner| inner).is_err() {
        let reason = if passphrase.is_empty() {
            "the key is passphrase protected and no passphrase was given"
        } else {
            "wrong passphrase"
        }
        .to_string();
        return Err(SigningError::GpgPassphrase {
            id: key_id,
            path: path.to_string(),
            reason,
        });
    }
    let signer = GpgSigner {
        entity,
        subkey,
        passphrase: passphrase.to_string(),
        key_id,
    };
    // A first signature proves the key can sign at all (algorithm, flags)
    // before the run starts.
    signer
        .sign(b"flux bootstrap")
        .map_err(|e| SigningError::GpgKey {
            id: signer.key_id.clone(),
            path: path.to_string(),
            message: e.to_string(),
        })?;
    Ok(signer)
}

fn first_primary_id(entity: &PublicOrSecret) -> pgp::types::KeyId {
    match entity {
        PublicOrSecret::Public(public) => public.primary_key.legacy_key_id(),
        PublicOrSecret::Secret(secret) => secret.primary_key.legacy_key_id(),
    }
}

/// The newest secret subkey bound for signing, as OpenPGP implementations
/// pick one; `None` signs with the primary key.
fn signing_subkey(subkeys: &[SignedSecretSubKey]) -> Option<usize> {
    subkeys
        .iter()
        .enumerate()
        .filter(|(_, s)| s.signatures.iter().any(|sig| sig.key_flags().sign()))
        .max_by_key(|(_, s)| s.key.created_at())
        .map(|(index, _)| index)
}

/// An OpenSSH private key (decrypted with `password` when protected), or an
/// unencrypted PEM key (PKCS#8, PKCS#1 or SEC1).
fn load_ssh(text: &str, password: &str) -> Result<ssh_key::PrivateKey, OpensshKeyError> {
    if !text.contains("-----BEGIN OPENSSH PRIVATE KEY-----") {
        return crate::secret::ssh_private_key_from_pem(text)
            .map_err(|e| OpensshKeyError::Invalid(e.to_string()));
    }
    crate::secret::decode_openssh_private_key(text, password)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags() -> SigningFlags {
        SigningFlags::default()
    }

    #[test]
    fn key_ids_are_16_hex_characters_with_an_optional_0x() {
        let id = [0x5F, 0xD6, 0x92, 0x05, 0xD1, 0x86, 0xAC, 0xED];
        assert_eq!(parse_key_id("5FD69205D186ACED").unwrap(), id);
        assert_eq!(parse_key_id("5fd69205d186aced").unwrap(), id);
        assert_eq!(parse_key_id("0x5fd69205D186ACED").unwrap(), id);
        assert_eq!(parse_key_id("0X5FD69205D186ACED").unwrap(), id);
        for bad in [
            "",
            "0x",
            "5FD69205D186ACE",
            "5FD69205D186ACED0",
            "D186ACED",
            "6219C3A74090F6B9F57825475FD69205D186ACED",
            "5FD69205D186ACEG",
            "0y5FD69205D186ACED",
            "+5FD69205D186ACE",
        ] {
            let err = parse_key_id(bad).unwrap_err();
            assert!(
                err.to_string().starts_with(&format!(
                    "invalid --gpg-key-id {bad:?}: expected 16 hexadecimal characters"
                )),
                "{bad}: {err}"
            );
        }
        assert_eq!(key_id_string(&id), "5FD69205D186ACED");
    }

    #[test]
    fn gpg_and_ssh_flags_are_mutually_exclusive() {
        let mixes = [
            SigningFlags {
                gpg_key_ring: Some("ring".into()),
                ssh_signing_key_file: Some("key".into()),
                ..flags()
            },
            SigningFlags {
                gpg_passphrase: "p".into(),
                ssh_signing_password: "p".into(),
                ..flags()
            },
            SigningFlags {
                gpg_key_id: "0x5FD69205D186ACED".into(),
                ssh_signing_reuse_private_key: true,
                private_key_file: Some("id".into()),
                ..flags()
            },
        ];
        for mix in mixes {
            assert_eq!(
                mix.validate("git").unwrap_err().to_string(),
                "--gpg-* and --ssh-signing-* are mutually exclusive; pick one signing format"
            );
        }
    }

    #[test]
    fn ssh_signing_rules() {
        let both = SigningFlags {
            ssh_signing_key_file: Some("key".into()),
            ssh_signing_reuse_private_key: true,
            private_key_file: Some("id".into()),
            ..flags()
        };
        assert_eq!(
            both.validate("git").unwrap_err().to_string(),
            "--ssh-signing-key-file and --ssh-signing-reuse-private-key are mutually exclusive"
        );
        let reuse = SigningFlags {
            ssh_signing_reuse_private_key: true,
            ..flags()
        };
        assert_eq!(
            reuse.validate("gitlab").unwrap_err().to_string(),
            "--ssh-signing-reuse-private-key requires --private-key-file"
        );
        let password = SigningFlags {
            ssh_signing_password: "p".into(),
            ..flags()
        };
        assert_eq!(
            password.validate("git").unwrap_err().to_string(),
            "--ssh-signing-password requires --ssh-signing-key-file"
        );
        let reuse_ok = SigningFlags {
            ssh_signing_reuse_private_key: true,
            private_key_file: Some("id".into()),
            ..flags()
        };
        for provider in ["git", "gitlab", "bitbucket-server"] {
            assert!(reuse_ok.validate(provider).is_ok(), "{provider}");
        }
        for provider in ["github", "gitea"] {
            let err = reuse_ok.validate(provider).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!(
                    "--ssh-signing-reuse-private-key is not supported by 'bootstrap {provider}'; "
                )),
                "{err}"
            );
        }
        let key = SigningFlags {
            ssh_signing_key_file: Some("key".into()),
            ssh_signing_password: "p".into(),
            ..flags()
        };
        assert!(key.validate("github").is_ok());
        assert!(flags().validate("github").is_ok());
    }

    #[test]
    fn gpg_rules() {
        let no_ring = SigningFlags {
            gpg_passphrase: "p".into(),
            ..flags()
        };
        assert_eq!(
            no_ring.validate("git").unwrap_err().to_string(),
            "--gpg-passphrase and --gpg-key-id require --gpg-key-ring"
        );
        let bad_id = SigningFlags {
            gpg_key_ring: Some("ring".into()),
            gpg_key_id: "1234".into(),
            ..flags()
        };
        assert!(matches!(
            bad_id.validate("git").unwrap_err(),
            SigningError::KeyId(_)
        ));
        let ok = SigningFlags {
            gpg_key_ring: Some("ring".into()),
            gpg_key_id: "0x5fd69205d186aced".into(),
            ..flags()
        };
        assert!(ok.validate("gitea").is_ok());
    }

    #[test]
    fn no_flags_no_signer() {
        assert!(flags().load("git").unwrap().is_none());
    }

    #[test]
    fn a_missing_key_file_names_the_flag() {
        let missing = SigningFlags {
            ssh_signing_key_file: Some("/nonexistent/key".into()),
            ..flags()
        };
        let err = missing.load("git").unwrap_err().to_string();
        assert!(
            err.starts_with("unable to read --ssh-signing-key-file /nonexistent/key: "),
            "{err}"
        );
    }

    fn ssh_signer() -> Signer {
        let key = ssh_key::PrivateKey::random(&mut rand::thread_rng(), ssh_key::Algorithm::Ed25519)
            .unwrap();
        Signer::ssh(key).unwrap()
    }

    fn assert_sshsig(signer: &Signer, algorithm: &str) {
        let message = b"tree 0000\n\nmessage\n";
        let armored = signer.sign(message).unwrap();
        assert!(armored.starts_with("-----BEGIN SSH SIGNATURE-----\n"));
        assert!(armored.ends_with("-----END SSH SIGNATURE-----"));
        let sig = ssh_key::SshSig::from_pem(&armored).unwrap();
        assert_eq!(sig.namespace(), "git");
        assert_eq!(sig.hash_alg(), ssh_key::HashAlg::Sha512);
        assert_eq!(sig.algorithm().as_str(), algorithm);
        let Signer::Ssh(ssh) = signer else {
            unreachable!()
        };
        ssh.key.public_key().verify("git", message, &sig).unwrap();
        assert!(
            ssh.key
                .public_key()
                .verify("git", b"another message", &sig)
                .is_err()
        );
    }

    #[test]
    fn ssh_signatures_are_sshsig_in_the_git_namespace() {
        assert_sshsig(&ssh_signer(), "ssh-ed25519");
    }

    #[test]
    fn ssh_rsa_signatures_use_sha512() {
        let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
        use rsa::pkcs1::EncodeRsaPrivateKey;
        let pem = key.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF).unwrap();
        let key = crate::secret::ssh_private_key_from_pem(&pem).unwrap();
        assert_sshsig(&Signer::ssh(key).unwrap(), "rsa-sha2-512");
    }

    #[test]
    fn debug_shows_no_secrets() {
        let signer = ssh_signer();
        let debug = format!("{signer:?}");
        assert!(debug.starts_with("Ssh { fingerprint: \"SHA256:"), "{debug}");
        let Signer::Ssh(ssh) = &signer else {
            unreachable!()
        };
        let private = ssh.key.to_openssh(ssh_key::LineEnding::LF).unwrap();
        assert!(!debug.contains(private.as_str()));
        let flags = SigningFlags {
            gpg_key_ring: Some("ring".into()),
            gpg_passphrase: "hunter2".into(),
            ssh_signing_password: "hunter3".into(),
            private_key_password: Some("hunter4".into()),
            ..flags()
        };
        let debug = format!("{flags:?}");
        assert!(!debug.contains("hunter"), "{debug}");
    }
}
