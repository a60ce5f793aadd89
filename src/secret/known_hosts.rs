//! known_hosts lines for a Git host, read from the SSH server's handshake.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::keys::{Algorithm, EcdsaCurve, HashAlg, PublicKey, PublicKeyOrCertificate};

use super::SecretError;

/// How long a host key scan may take, as upstream.
pub const SCAN_TIMEOUT: Duration = Duration::from_secs(30);

/// Host-key algorithms offered to the server, most preferred first, so that
/// a server with several keys answers with the one upstream would record.
const HOST_KEY_PREFERENCE: &[Algorithm] = &[
    Algorithm::Ecdsa {
        curve: EcdsaCurve::NistP256,
    },
    Algorithm::Ecdsa {
        curve: EcdsaCurve::NistP384,
    },
    Algorithm::Ecdsa {
        curve: EcdsaCurve::NistP521,
    },
    Algorithm::Rsa {
        hash: Some(HashAlg::Sha256),
    },
    Algorithm::Rsa {
        hash: Some(HashAlg::Sha512),
    },
    Algorithm::Rsa { hash: None },
    Algorithm::Ed25519,
];

/// Captures the host key and then refuses it, which ends the handshake
/// before any authentication is attempted.
struct Capture(Arc<Mutex<Option<PublicKey>>>);

impl russh::client::Handler for Capture {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        if let PublicKeyOrCertificate::PublicKey { key, .. } = key
            && let Ok(mut slot) = self.0.lock()
        {
            *slot = Some(key.clone());
        }
        Ok(false)
    }
}

/// Connects to `host:port`, reads the server's host key and returns the
/// known_hosts line `<host> <type> <base64>` (`[host]:port` when the port
/// is not 22).
pub async fn scan_known_hosts(
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<String, SecretError> {
    let address = format!("{host}:{port}");
    let fail = |reason: String| SecretError::Scan {
        host: address.clone(),
        reason,
    };
    let captured = Arc::new(Mutex::new(None));
    let config = russh::client::Config {
        preferred: russh::Preferred {
            key: Cow::Borrowed(HOST_KEY_PREFERENCE),
            ..Default::default()
        },
        ..Default::default()
    };
    let connect = russh::client::connect(Arc::new(config), (host, port), Capture(captured.clone()));
    let outcome = tokio::time::timeout(timeout, connect).await;
    let key = captured.lock().ok().and_then(|mut k| k.take());
    let Some(key) = key else {
        return Err(fail(match outcome {
            Err(_) => "i/o timeout".to_string(),
            Ok(Err(e)) => e.to_string(),
            Ok(Ok(_)) => "no host key received".to_string(),
        }));
    };
    let mut key = key;
    key.set_comment("");
    let encoded = key.to_openssh().map_err(|e| fail(e.to_string()))?;
    let host_field = if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    };
    Ok(format!("{host_field} {}", encoded.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use russh::keys::PrivateKey;

    struct NoAuth;
    impl russh::server::Handler for NoAuth {
        type Error = russh::Error;
    }

    /// Serves SSH on 127.0.0.1 with the given host keys; returns the port.
    async fn serve(keys: Vec<PrivateKey>) -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let config = Arc::new(russh::server::Config {
            keys,
            ..Default::default()
        });
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let config = config.clone();
                tokio::spawn(async move {
                    if let Ok(session) = russh::server::run_stream(config, socket, NoAuth).await {
                        let _ = session.await;
                    }
                });
            }
        });
        port
    }

    /// A host key made with the stable ssh-key stack, handed to russh in
    /// OpenSSH format.
    fn key(alg: ssh_key::Algorithm) -> PrivateKey {
        let generated = ssh_key::PrivateKey::random(&mut rand::rngs::OsRng, alg).unwrap();
        let pem = generated.to_openssh(ssh_key::LineEnding::LF).unwrap();
        PrivateKey::from_openssh(pem.as_bytes()).unwrap()
    }

    #[tokio::test]
    async fn scan_records_the_servers_key_with_bracketed_port() {
        let host_key = key(ssh_key::Algorithm::Ed25519);
        let mut expected = host_key.public_key().clone();
        expected.set_comment("");
        let port = serve(vec![host_key]).await;
        let line = scan_known_hosts("127.0.0.1", port, Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(
            line,
            format!("[127.0.0.1]:{port} {}", expected.to_openssh().unwrap())
        );
        assert!(line.contains(" ssh-ed25519 "), "{line}");
    }

    #[tokio::test]
    async fn ecdsa_p256_is_preferred_over_ed25519() {
        let ecdsa = key(ssh_key::Algorithm::Ecdsa {
            curve: ssh_key::EcdsaCurve::NistP256,
        });
        let port = serve(vec![key(ssh_key::Algorithm::Ed25519), ecdsa]).await;
        let line = scan_known_hosts("127.0.0.1", port, Duration::from_secs(10))
            .await
            .unwrap();
        assert!(line.contains(" ecdsa-sha2-nistp256 "), "{line}");
    }

    #[tokio::test]
    async fn unreachable_host_reports_the_address() {
        // Bind then drop to get a port nobody listens on.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let err = scan_known_hosts("127.0.0.1", port, Duration::from_secs(5))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!(
                "SSH key scan for host 127.0.0.1:{port} failed, error: "
            )),
            "{err}"
        );
    }
}
