//! CloudFront-style signed links: `Expires` (unix seconds) and a `Signature` keyed on the
//! asset id and expiry, so a link cannot be extended or moved to another asset.

use std::hash::{DefaultHasher, Hash, Hasher};

/// Why a CDN link is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Denial {
    /// Missing or wrong signature.
    Invalid,
    Expired,
}

#[derive(Debug)]
pub(crate) struct LinkSigner {
    key: u128,
    /// Keys of links expired on purpose: their links say "expired", not "invalid".
    retired: Vec<u128>,
}

impl LinkSigner {
    pub(crate) fn new(key: u128) -> Self {
        Self {
            key,
            retired: Vec::new(),
        }
    }

    /// Invalidates every link signed so far.
    pub(crate) fn rotate(&mut self, key: u128) {
        self.retired.push(self.key);
        self.key = key;
    }

    pub(crate) fn sign(&self, asset_id: &str, expires: u64) -> String {
        signature(self.key, asset_id, expires)
    }

    /// Accepts a link only if signed with the current key and not past `Expires`.
    pub(crate) fn check(
        &self,
        asset_id: &str,
        expires: u64,
        given: &str,
        now_unix: f64,
    ) -> Result<(), Denial> {
        if given == self.sign(asset_id, expires) {
            return if now_unix < expires as f64 {
                Ok(())
            } else {
                Err(Denial::Expired)
            };
        }
        if self
            .retired
            .iter()
            .any(|key| given == signature(*key, asset_id, expires))
        {
            return Err(Denial::Expired);
        }
        Err(Denial::Invalid)
    }
}

/// A keyed hash; it only needs to be stable within one process and hard to guess without
/// the key, not cryptographic.
fn signature(key: u128, asset_id: &str, expires: u64) -> String {
    let half = |domain: u8| {
        let mut h = DefaultHasher::new();
        (key, domain, asset_id, expires).hash(&mut h);
        h.finish()
    };
    format!("{:016x}{:016x}", half(0), half(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_verify_expire_and_rotate() {
        let mut signer = LinkSigner::new(42);
        let sig = signer.sign("asset_a", 1000);
        assert_eq!(sig.len(), 32);
        assert_eq!(signer.check("asset_a", 1000, &sig, 999.5), Ok(()));
        assert_eq!(
            signer.check("asset_a", 1000, &sig, 1000.0),
            Err(Denial::Expired)
        );
        assert_eq!(
            signer.check("asset_b", 1000, &sig, 10.0),
            Err(Denial::Invalid)
        );
        assert_eq!(
            signer.check("asset_a", 2000, &sig, 10.0),
            Err(Denial::Invalid)
        );
        signer.rotate(7);
        assert_eq!(
            signer.check("asset_a", 1000, &sig, 10.0),
            Err(Denial::Expired)
        );
        let fresh = signer.sign("asset_a", 1000);
        assert_eq!(signer.check("asset_a", 1000, &fresh, 10.0), Ok(()));
    }
}
