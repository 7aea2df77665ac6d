//! The server's secret key, and the tokens signed with it.
//!
//! A resume token is `<issued>.<mac>`: the time it was made (milliseconds
//! since the Unix epoch) and `HMAC-SHA256(key, room ‖ peer ‖ issued)`. The
//! server can check one without remembering anything, so a participant
//! keeps its id across a server restart as long as the key survives; the
//! time lets it expire (see `Connection::join` in signal.rs for how long it
//! lasts and what it lets past). The key lives in `<data_dir>/secret.key`
//! (made on first start, readable by the server's user only); when that
//! file cannot be written the server runs on a key of its own and warns,
//! and tokens then die with the process.

use crate::{
    protocol::{PeerId, RoomId},
    shared::hex,
};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::{fs, io, path::Path};
use uuid::Uuid;

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

    fn mac(&self, room: RoomId, peer: PeerId, issued_ms: u64) -> Hmac<Sha256> {
        let mut mac = self.tagged(b"moim resume v2", room.0.as_bytes());
        mac.update(peer.0.as_bytes());
        mac.update(&issued_ms.to_be_bytes());
        mac
    }

    /// The token that lets `peer` come back to `room` as itself, made at
    /// `issued_ms` (see [`now_ms`]).
    pub fn resume_token(&self, room: RoomId, peer: PeerId, issued_ms: u64) -> String {
        format!("{issued_ms}.{}", hex(&self.mac(room, peer, issued_ms).finalize().into_bytes()))
    }

    /// Checks a token in constant time; returns when it was made.
    pub fn verify_resume(&self, room: RoomId, peer: PeerId, token: &str) -> Option<u64> {
        let (issued, mac) = token.split_once('.')?;
        let issued_ms = issued.parse().ok().filter(|_| issued.len() <= 20)?;
        let bytes = unhex(mac)?;
        self.mac(room, peer, issued_ms).verify_slice(&bytes).is_ok().then_some(issued_ms)
    }

    fn host_mac(&self, room: RoomId, grant: Uuid) -> Hmac<Sha256> {
        let mut mac = self.tagged(b"moim host v2", room.0.as_bytes());
        mac.update(grant.as_bytes());
        mac
    }

    /// A host capability for `room`: whoever shows it joins as a host.
    /// Each host gets one of its own (`grant`, a random id), so that one
    /// can be taken back without the others (`Stored::revoked_hosts`).
    pub fn host_token(&self, room: RoomId, grant: Uuid) -> String {
        format!("{}.{}", grant.simple(), hex(&self.host_mac(room, grant).finalize().into_bytes()))
    }

    /// Checks a host token in constant time; returns its grant.
    pub fn verify_host(&self, room: RoomId, token: &str) -> Option<Uuid> {
        let (grant, mac) = token.split_once('.')?;
        let grant = Uuid::try_parse(grant).ok()?;
        let bytes = unhex(mac)?;
        self.host_mac(room, grant).verify_slice(&bytes).is_ok().then_some(grant)
    }

    fn tagged(&self, tag: &[u8], id: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(tag);
        mac.update(id);
        mac
    }

    /// The key that lets its maker upload the chunks of one recording.
    pub fn upload_token(&self, recording: Uuid) -> String {
        hex(&self.tagged(b"moim upload v1", recording.as_bytes()).finalize().into_bytes())
    }

    pub fn verify_upload(&self, recording: Uuid, token: &str) -> bool {
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

/// Milliseconds since the Unix epoch: tokens outlive the process, so they
/// are stamped with the wall clock.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
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
    fn tokens_prove_one_peer_in_one_room_and_when_they_were_made() {
        let secret = Secret::random();
        let (room, peer) = (RoomId::random(), PeerId::random());
        let token = secret.resume_token(room, peer, 1_700_000_000_123);
        assert_eq!(secret.verify_resume(room, peer, &token), Some(1_700_000_000_123));
        assert_eq!(secret.verify_resume(RoomId::random(), peer, &token), None);
        assert_eq!(secret.verify_resume(room, PeerId::random(), &token), None);
        assert_eq!(Secret::random().verify_resume(room, peer, &token), None);
        let (_, mac) = token.split_once('.').unwrap();
        let younger = format!("1800000000000.{mac}");
        assert_eq!(secret.verify_resume(room, peer, &younger), None, "the time is signed too");
        for bad in
            ["", "zz", "0", ".", "1.", &token[..10], &"a".repeat(10_000), "é1", &format!("{}{token}", "9".repeat(30))]
        {
            assert_eq!(secret.verify_resume(room, peer, bad), None, "{bad:?}");
        }
    }

    #[test]
    fn host_tokens_are_per_host_and_room_and_not_resume_tokens() {
        let secret = Secret::random();
        let (room, peer, grant) = (RoomId::random(), PeerId::random(), Uuid::new_v4());
        let host = secret.host_token(room, grant);
        assert_eq!(secret.verify_host(room, &host), Some(grant));
        assert_eq!(secret.verify_host(RoomId::random(), &host), None);
        let (_, mac) = host.split_once('.').unwrap();
        assert_eq!(secret.verify_host(room, &format!("{}.{mac}", Uuid::new_v4().simple())), None, "another grant");
        assert_eq!(secret.verify_host(room, &secret.resume_token(room, peer, 1)), None);
        assert!(secret.verify_resume(room, peer, &host).is_none());
    }

    #[test]
    fn the_key_survives_a_restart() {
        let dir = std::env::temp_dir().join(format!("moim-secret-{}", uuid::Uuid::new_v4()));
        let (room, peer) = (RoomId::random(), PeerId::random());
        let token = Secret::load_or_create(&dir).unwrap().resume_token(room, peer, 5);
        assert_eq!(Secret::load_or_create(&dir).unwrap().verify_resume(room, peer, &token), Some(5));
        fs::write(dir.join(KEY_FILE), b"short").unwrap();
        assert!(Secret::load_or_create(&dir).is_err());
        fs::remove_dir_all(dir).unwrap();
    }
}
