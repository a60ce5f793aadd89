//! OCI artifacts: the `oci://` URL, the artifact layout, registry
//! credentials and the registry session the artifact commands share.

pub mod client;
pub mod creds;
pub mod layout;
pub mod reference;
pub mod semver;
