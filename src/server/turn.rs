//! Short-lived TURN credentials, by the TURN REST convention that coturn
//! implements as `use-auth-secret`.
//!
//! The server and the TURN server share a secret. Each participant gets
//! the username `<expiry>:<peer id>` (expiry in Unix seconds) and the
//! password `base64(HMAC-SHA1(secret, username))`; the TURN server checks
//! the password with the same secret and refuses the username once its time
//! has passed. So no lasting TURN password ever reaches a browser, and a
//! leaked one stops working by itself.

use crate::protocol::{IceServer, PeerId};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha1::Sha1;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The `[turn]` table of the settings.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Turn {
    /// `turn:` / `turns:` URLs of the TURN server.
    pub urls: Vec<String>,
    /// coturn's `static-auth-secret`.
    pub secret: String,
    /// How long a credential stays valid; a call that outlasts it keeps its
    /// allocations (TURN refreshes them with the same credential), only new
    /// ones are refused.
    #[serde(default = "Turn::default_ttl")]
    pub ttl_secs: u64,
}

impl Turn {
    fn default_ttl() -> u64 {
        12 * 60 * 60
    }

    /// The ICE server entry for `peer`, valid for `ttl_secs` from now.
    pub fn credentials(&self, peer: PeerId) -> IceServer {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
        self.credentials_at(peer, now.as_secs() + self.ttl_secs)
    }

    /// The entry for `peer` with a given expiry (Unix seconds).
    pub fn credentials_at(&self, peer: PeerId, expiry: u64) -> IceServer {
        let username = format!("{expiry}:{peer}");
        // HMAC accepts keys of any length; this cannot fail.
        let mut mac = Hmac::<Sha1>::new_from_slice(self.secret.as_bytes()).expect("HMAC takes any key length");
        mac.update(username.as_bytes());
        let credential = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        IceServer { urls: self.urls.clone(), username: Some(username), credential: Some(credential) }
    }
}

impl std::fmt::Display for Turn {
    /// Never shows the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TURN {:?} (credentials for {} s)", self.urls, self.ttl_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    /// Checked against an independent HMAC-SHA1 (Python's hmac module):
    /// `base64(hmac.new(b"north", b"1700000000:<id>", "sha1").digest())`.
    #[test]
    fn credentials_follow_the_turn_rest_convention() {
        let turn = Turn { urls: vec!["turn:127.0.0.1:3478".into()], secret: "north".into(), ttl_secs: 60 };
        let peer = PeerId(Uuid::nil());
        let server = turn.credentials_at(peer, 1_700_000_000);
        assert_eq!(server.username.as_deref(), Some("1700000000:00000000-0000-0000-0000-000000000000"));
        assert_eq!(server.credential.as_deref(), Some(EXPECTED));
        assert_eq!(server.urls, turn.urls);
        assert!(!turn.to_string().contains("north"), "the secret is never shown");
    }

    const EXPECTED: &str = "WLicnZche6KJWOPqFFjtz/SZGys=";
}
