//! The server's secret key, and the resume tokens made with it.
//!
//! A resume token is `HMAC-SHA256(key, room ‖ peer)`: the server can check
//! one without remembering anything, so a participant keeps its id across a
//! server restart as long as the key survives. The key lives in
//! `<data_dir>/secret.key` (made on first start, readable by the server's
//! user only); when that file cannot be written the server runs on a key of
//! its own and warns, and tokens then die with the process.

use crate::protocol::{PeerId, RoomId};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::{fs, io, path::Path};

const KEY_FILE: &str = "secret.key";
const KEY_BYTES: usize = 32;

/// The server's key (never logged, never sent).
#[derive(Clone)]
pub struct Secret([u8; KEY_BYTES]);

impl Secret {
    /// Reads the key from `dir`, making the directory and the key if needed.
    pub fn load_or_create(dir: &Path) -> io::Result<Self> {
        let path = dir.join(KEY_FILE);
        match fs::read(&path) {
            Ok(bytes) => {
                let key = bytes.try_into().map_err(|_| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("{} must hold {KEY_BYTES} bytes", path.display()),
                    )
                })?;
                return Ok(Self(key));
            }
            Err(err) if err.kind() != io::ErrorKind::NotFound => return Err(err),
            Err(_) => {}
        }
        let secret = Self::random();
        fs::create_dir_all(dir)?;
        write_private(&path, &secret.0)?;
        Ok(secret)
    }

    /// A key for this process only.
    pub fn random() -> Self {
        let mut key = [0; KEY_BYTES];
        // The OS random source failing is not something a server can run without.
        getrandom::fill(&mut key).expect("the operating system's random source failed");
        Self(key)
    }

    fn mac(&self, room: RoomId, peer: PeerId) -> Hmac<Sha256> {
        // HMAC accepts keys of any length; this cannot fail.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"moim resume v1");
        mac.update(room.0.as_bytes());
        mac.update(peer.0.as_bytes());
        mac
    }

    /// The token that lets `peer` come back to `room` as itself.
    pub fn resume_token(&self, room: RoomId, peer: PeerId) -> String {
        hex(&self.mac(room, peer).finalize().into_bytes())
    }

    /// Checks a token in constant time.
    pub fn verify_resume(&self, room: RoomId, peer: PeerId, token: &str) -> bool {
        let Some(bytes) = unhex(token) else { return false };
        self.mac(room, peer).verify_slice(&bytes).is_ok()
    }

    fn host_mac(&self, room: RoomId) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"moim host v1");
        mac.update(room.0.as_bytes());
        mac
    }

    /// The host capability for `room`: whoever shows it joins as a host.
    /// The first person in a room gets it, and a host may hand it on.
    pub fn host_token(&self, room: RoomId) -> String {
        hex(&self.host_mac(room).finalize().into_bytes())
    }

    /// Checks a host token in constant time.
    pub fn verify_host(&self, room: RoomId, token: &str) -> bool {
        let Some(bytes) = unhex(token) else { return false };
        self.host_mac(room).verify_slice(&bytes).is_ok()
    }

    fn tagged(&self, tag: &[u8], id: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(tag);
        mac.update(id);
        mac
    }

    /// The key that lets its maker upload the chunks of one recording.
    pub fn upload_token(&self, recording: uuid::Uuid) -> String {
        hex(&self.tagged(b"moim upload v1", recording.as_bytes()).finalize().into_bytes())
    }

    pub fn verify_upload(&self, recording: uuid::Uuid, token: &str) -> bool {
        let Some(bytes) = unhex(token) else { return false };
        self.tagged(b"moim upload v1", recording.as_bytes()).verify_slice(&bytes).is_ok()
    }

    /// Proof that a browser gave a room's password on its recordings page
    /// (kept in a cookie; a new password key is the room's hash, so changing
    /// the password ends what the old one opened).
    pub fn viewer_token(&self, room: RoomId, password_hash: &str) -> String {
        let mut mac = self.tagged(b"moim viewer v1", room.0.as_bytes());
        mac.update(password_hash.as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    pub fn verify_viewer(&self, room: RoomId, password_hash: &str, token: &str) -> bool {
        let Some(bytes) = unhex(token) else { return false };
        let mut mac = self.tagged(b"moim viewer v1", room.0.as_bytes());
        mac.update(password_hash.as_bytes());
        mac.verify_slice(&bytes).is_ok()
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut file = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    fs::write(path, bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.len() > 128 {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_prove_one_peer_in_one_room() {
        let secret = Secret::random();
        let (room, peer) = (RoomId::random(), PeerId::random());
        let token = secret.resume_token(room, peer);
        assert!(secret.verify_resume(room, peer, &token));
        assert!(!secret.verify_resume(RoomId::random(), peer, &token));
        assert!(!secret.verify_resume(room, PeerId::random(), &token));
        assert!(!Secret::random().verify_resume(room, peer, &token));
        for bad in ["", "zz", "0", &token[..10], &"a".repeat(10_000), "é1"] {
            assert!(!secret.verify_resume(room, peer, bad), "{bad:?}");
        }
    }

    #[test]
    fn host_tokens_are_per_room_and_not_resume_tokens() {
        let secret = Secret::random();
        let (room, peer) = (RoomId::random(), PeerId::random());
        let host = secret.host_token(room);
        assert!(secret.verify_host(room, &host));
        assert!(!secret.verify_host(RoomId::random(), &host));
        assert!(!secret.verify_host(room, &secret.resume_token(room, peer)));
        assert!(!secret.verify_resume(room, peer, &host));
    }

    #[test]
    fn the_key_survives_a_restart() {
        let dir = std::env::temp_dir().join(format!("moim-secret-{}", uuid::Uuid::new_v4()));
        let (room, peer) = (RoomId::random(), PeerId::random());
        let token = Secret::load_or_create(&dir).unwrap().resume_token(room, peer);
        assert!(Secret::load_or_create(&dir).unwrap().verify_resume(room, peer, &token));
        fs::write(dir.join(KEY_FILE), b"short").unwrap();
        assert!(Secret::load_or_create(&dir).is_err());
        fs::remove_dir_all(dir).unwrap();
    }
}
