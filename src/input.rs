//! Files and stdin named on the command line, read with a size limit: what
//! flux reads ends up in objects of at most about 1.5 MiB (etcd's limit),
//! so a larger input is a mistake (`/dev/zero`, a wrong path), reported
//! before it fills memory.

use std::io::Read;

/// The most bytes read from one input.
pub const MAX_INPUT_BYTES: u64 = 8 << 20;

/// The error of an input over [`MAX_INPUT_BYTES`].
pub fn too_large() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::FileTooLarge,
        format!(
            "input is larger than {} MiB, more than any Kubernetes object can hold; check the path",
            MAX_INPUT_BYTES >> 20
        ),
    )
}

/// Reads all of `reader`, failing once it passes [`MAX_INPUT_BYTES`].
pub fn read_bounded(reader: impl Read) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    reader.take(MAX_INPUT_BYTES + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > MAX_INPUT_BYTES {
        return Err(too_large());
    }
    Ok(buf)
}

/// Reads the file at `path`, failing once it passes [`MAX_INPUT_BYTES`].
pub fn read_path(path: impl AsRef<std::path::Path>) -> std::io::Result<Vec<u8>> {
    read_bounded(std::fs::File::open(path)?)
}

/// [`read_path`] as UTF-8 text.
pub fn read_path_to_string(path: impl AsRef<std::path::Path>) -> std::io::Result<String> {
    String::from_utf8(read_path(path)?)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not valid UTF-8 text"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_input_stops_at_the_limit() {
        let err = read_bounded(std::io::repeat(0)).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::FileTooLarge);
        assert!(err.to_string().contains("larger than 8 MiB"), "{err}");
        let exact = read_bounded(std::io::repeat(1).take(MAX_INPUT_BYTES)).unwrap();
        assert_eq!(exact.len() as u64, MAX_INPUT_BYTES);
    }
}
