//! API credentials. They travel only in the Authorization header to the API host and never
//! appear in `Debug` output, logs or error messages.

use std::fmt;

use base64::Engine;
use reqwest::header::HeaderValue;

#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    key: String,
    secret: String,
}

impl Credentials {
    pub fn new(key: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            secret: secret.into(),
        }
    }

    /// Proof of holding these credentials, for a `nonce` chosen by the one who checks:
    /// SHA-256 over both, so neither crosses the engine's socket.
    pub fn proof(&self, nonce: &str) -> String {
        use sha2::Digest;
        let mut hash = sha2::Sha256::new();
        for part in [nonce, &self.key, &self.secret] {
            hash.update(part.as_bytes());
            hash.update([0]);
        }
        hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The two halves, for handing the credentials to the engine process through its
    /// start pipe (never an argument or a variable others could read).
    pub(crate) fn parts(&self) -> (&str, &str) {
        (&self.key, &self.secret)
    }

    /// `Basic base64(key:secret)`, marked sensitive so HTTP tooling never prints it.
    pub(crate) fn header_value(&self) -> Option<HeaderValue> {
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.key, self.secret));
        let mut value = HeaderValue::from_str(&format!("Basic {token}")).ok()?;
        value.set_sensitive(true);
        Some(value)
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only a short prefix of the key, enough to tell two accounts apart.
        let shown: String = self.key.chars().take(4).collect();
        f.debug_struct("Credentials")
            .field("key", &format_args!("{shown}…"))
            .field("secret", &format_args!("<redacted>"))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret_or_the_whole_key() {
        let c = Credentials::new("key_abcdef123456", "sec_topsecret");
        let shown = format!("{c:?}");
        assert!(!shown.contains("topsecret"), "{shown}");
        assert!(!shown.contains("abcdef123456"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn header_is_basic_and_sensitive() {
        let c = Credentials::new("k", "s");
        let v = c.header_value().unwrap();
        assert!(v.is_sensitive());
        assert_eq!(v.to_str().unwrap(), "Basic azpz");
    }
}
