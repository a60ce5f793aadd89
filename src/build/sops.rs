//! Masking of SOPS-encrypted Secret values: a build shows that a value is
//! encrypted, never the ciphertext (and it never decrypts).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

/// `**SOPS**`, base64-encoded.
const MASK_B64: &str = "KipTT1BTKio=";
const MASK: &str = "**SOPS**";
/// `{"mask":"**SOPS**"}` for docker config Secrets, so the value stays JSON.
const DOCKER_MASK: &str = "{\"mask\":\"**SOPS**\"}";
const DOCKER_MASK_B64: &str = "eyJtYXNrIjoiKipTT1BTKioifQ==";

#[derive(Debug, thiserror::Error)]
#[error("failed to mask secret {name} sops data: {message}")]
pub struct MaskError {
    name: String,
    message: String,
}

/// Masks the SOPS values of `object` when it is a Secret; `text` is the
/// object serialised, to recognise a whole-file SOPS document.
pub fn mask_secret(object: &mut Value, text: &str) -> Result<(), MaskError> {
    if object.get("kind").and_then(Value::as_str) != Some("Secret") {
        return Ok(());
    }
    let Some(map) = object.as_object_mut() else {
        return Ok(());
    };
    if text.contains("sops:") && text.contains("mac: ENC[") {
        map.remove("sops");
        let docker =
            map.get("type").and_then(Value::as_str) == Some("kubernetes.io/dockerconfigjson");
        let (data_mask, string_mask) = if docker {
            (DOCKER_MASK_B64, DOCKER_MASK)
        } else {
            (MASK_B64, MASK)
        };
        for (field, mask) in [("data", data_mask), ("stringData", string_mask)] {
            if let Some(Value::Object(values)) = map.get_mut(field) {
                for value in values.values_mut() {
                    *value = mask.into();
                }
            }
        }
        return Ok(());
    }
    let name = map
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if let Some(Value::Object(values)) = map.get_mut("data") {
        for value in values.values_mut() {
            let encoded = value.as_str().unwrap_or_default();
            let decoded = decode(encoded).map_err(|e| MaskError {
                name: name.clone(),
                message: go_base64_error(&e),
            })?;
            if contains(&decoded, b"sops") && contains(&decoded, b"ENC[") {
                *value = MASK_B64.into();
            }
        }
        if values.is_empty() {
            map.remove("data");
        }
    }
    if let Some(Value::Object(values)) = map.get_mut("stringData") {
        for value in values.values_mut() {
            let text = value.as_str().unwrap_or_default();
            if text.contains("sops") && text.contains("ENC[") {
                // Upstream puts the base64 form here too.
                *value = MASK_B64.into();
            }
        }
    }
    Ok(())
}

/// Go's standard base64 decoding, which skips line breaks.
pub fn decode(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    if text.contains(['\r', '\n']) {
        STANDARD.decode(text.replace(['\r', '\n'], ""))
    } else {
        STANDARD.decode(text)
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Go's wording of a base64 decoding failure.
fn go_base64_error(err: &base64::DecodeError) -> String {
    let offset = match err {
        base64::DecodeError::InvalidByte(offset, _)
        | base64::DecodeError::InvalidLastSymbol(offset, _) => *offset,
        base64::DecodeError::InvalidLength(len) => *len,
        base64::DecodeError::InvalidPadding => 0,
    };
    format!("illegal base64 data at input byte {offset}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn individually_encrypted_values_are_masked() {
        let enc = STANDARD.encode("sops: ENC[AES256_GCM,data:x]");
        let mut secret = json!({"kind": "Secret", "metadata": {"name": "s"},
            "data": {"a": enc, "b": "cGxhaW4="},
            "stringData": {"c": "ENC[AES256_GCM] sops", "d": "plain"}});
        mask_secret(&mut secret, "").unwrap();
        assert_eq!(secret["data"], json!({"a": MASK_B64, "b": "cGxhaW4="}));
        assert_eq!(secret["stringData"], json!({"c": MASK_B64, "d": "plain"}));
    }

    #[test]
    fn whole_file_sops_masks_every_value_by_type() {
        let mut secret = json!({"kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
            "data": {".dockerconfigjson": "x"}, "sops": {"mac": "ENC[x]"}});
        mask_secret(&mut secret, "sops:\n  mac: ENC[x]\n").unwrap();
        assert_eq!(
            secret,
            json!({"kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
            "data": {".dockerconfigjson": DOCKER_MASK_B64}})
        );
    }

    #[test]
    fn invalid_base64_is_an_error_naming_the_secret() {
        let mut secret = json!({"kind": "Secret", "metadata": {"name": "s"}, "data": {"a": "!!"}});
        let err = mask_secret(&mut secret, "").unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed to mask secret s sops data: illegal base64 data at input byte 0"
        );
    }
}
