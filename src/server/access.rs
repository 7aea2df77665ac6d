//! Who may enter a room: room passwords, the host capability, removals,
//! and the brake on password guessing.
//!
//! Passwords are kept only as Argon2id hashes (the `argon2` crate, RustCrypto:
//! a memory-hard hash, checked in constant time by its verifier) and are
//! never logged. Hashing takes tens of milliseconds on purpose, so it runs
//! on the blocking pool, never on a task that serves sockets.
//!
//! Settings that must outlive a restart (the password hash, the lock, the
//! share policy, who was removed) are kept in `<data_dir>/rooms/<room>.json`:
//! otherwise a restart would open every protected room. The hosts are not
//! stored: being a host is a capability the browser keeps (see
//! [`crate::server::secret::Secret::host_token`]).

use crate::protocol::{PeerId, RoomId, SharePolicy};
use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use serde::{Deserialize, Serialize};
use std::{
    collections::HashMap,
    net::IpAddr,
    path::{Path, PathBuf},
    sync::Mutex,
    time::{Duration, Instant},
};

/// Hashes a room password (Argon2id, default cost, a fresh salt).
pub fn hash_password(password: &str) -> String {
    let mut salt = [0; 16];
    // The OS random source failing is not something a server can run without.
    getrandom::fill(&mut salt).expect("the operating system's random source failed");
    let salt = SaltString::encode_b64(&salt).expect("16 bytes make a valid salt");
    Argon2::default().hash_password(password.as_bytes(), &salt).expect("Argon2 with default parameters").to_string()
}

/// Checks a password against a stored hash, in constant time.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
}

/// What a room keeps across restarts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Stored {
    pub password_hash: Option<String>,
    pub locked: bool,
    pub share: SharePolicy,
    /// Removed participants, by id and by browser key.
    pub removed_peers: Vec<PeerId>,
    pub removed_devices: Vec<String>,
}

impl Stored {
    pub fn is_removed(&self, peer: PeerId, device: Option<&str>) -> bool {
        self.removed_peers.contains(&peer) || device.is_some_and(|d| self.removed_devices.iter().any(|r| r == d))
    }
}

/// Room settings on disk, one small JSON file per room that has any.
#[derive(Clone, Debug)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    pub fn new(data_dir: &Path) -> Self {
        Self { dir: data_dir.join("rooms") }
    }

    fn path(&self, room: RoomId) -> PathBuf {
        // A server-made UUID, never a name from the client.
        self.dir.join(format!("{}.json", room.0.as_hyphenated()))
    }

    /// The room's settings; defaults when it has none (or they cannot be
    /// read, which is logged: a room must not be locked out by a bad file).
    pub fn load(&self, room: RoomId) -> Stored {
        match std::fs::read(self.path(room)) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|err| {
                tracing::error!(%room, %err, "room settings unreadable; using defaults");
                Stored::default()
            }),
            Err(_) => Stored::default(),
        }
    }

    /// Writes the settings (or removes the file when they are the defaults).
    pub fn save(&self, room: RoomId, stored: &Stored) {
        let path = self.path(room);
        let result = if *stored == Stored::default() {
            match std::fs::remove_file(&path) {
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
                other => other,
            }
        } else {
            std::fs::create_dir_all(&self.dir).and_then(|()| {
                let tmp = path.with_extension("tmp");
                std::fs::write(&tmp, serde_json::to_vec(stored).unwrap_or_default())?;
                std::fs::rename(&tmp, &path)
            })
        };
        if let Err(err) = result {
            tracing::error!(%room, %err, "cannot keep room settings; they will not survive a restart");
        }
    }
}

/// Wrong passwords from one client address: a few are free, then each one
/// doubles the wait before the next try (at most [`MAX_WAIT`]).
#[derive(Default)]
pub struct Attempts {
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

/// Wrong passwords allowed before waits begin.
const FREE_TRIES: u32 = 3;
const MAX_WAIT: Duration = Duration::from_secs(300);

impl Attempts {
    /// `Err(wait)` while this address must wait before trying again.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        match failures.get(&ip) {
            Some(&(_, until)) if until > Instant::now() => Err(until - Instant::now()),
            _ => Ok(()),
        }
    }

    /// Counts a wrong password.
    pub fn failed(&self, ip: IpAddr) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        // Forget addresses whose last wait is long over, so the map stays small.
        if failures.len() > 10_000 {
            failures.retain(|_, (_, until)| *until + MAX_WAIT > now);
        }
        let (count, until) = failures.entry(ip).or_insert((0, now));
        *count += 1;
        if *count > FREE_TRIES {
            let wait = Duration::from_secs(1 << (*count - FREE_TRIES).min(9)).min(MAX_WAIT);
            *until = now + wait;
        }
    }

    /// A right password clears the address's record.
    pub fn succeeded(&self, ip: IpAddr) {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hashed_with_a_salt_and_verified() {
        let a = hash_password("correct horse");
        let b = hash_password("correct horse");
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "a fresh salt each time");
        assert!(!a.contains("correct horse"));
        assert!(verify_password(&a, "correct horse"));
        assert!(!verify_password(&a, "correct horsE"));
        assert!(!verify_password("not a hash", "correct horse"));
    }

    #[test]
    fn wrong_passwords_earn_growing_waits() {
        let attempts = Attempts::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..FREE_TRIES {
            assert!(attempts.check(ip).is_ok());
            attempts.failed(ip);
        }
        assert!(attempts.check(ip).is_ok(), "the free tries");
        attempts.failed(ip);
        let wait = attempts.check(ip).unwrap_err();
        assert!(wait > Duration::from_millis(1500) && wait <= Duration::from_secs(2), "{wait:?}");
        assert!(attempts.check("192.0.2.2".parse().unwrap()).is_ok(), "other addresses are not held up");
        attempts.succeeded(ip);
        assert!(attempts.check(ip).is_ok());
    }

    #[test]
    fn settings_survive_on_disk_and_defaults_leave_no_file() {
        let dir = std::env::temp_dir().join(format!("moim-access-{}", uuid::Uuid::new_v4()));
        let store = Store::new(&dir);
        let room = RoomId::random();
        let stored = Stored { locked: true, password_hash: Some(hash_password("pw")), ..Stored::default() };
        store.save(room, &stored);
        assert_eq!(store.load(room), stored);
        store.save(room, &Stored::default());
        assert!(!dir.join("rooms").join(format!("{room}.json")).exists());
        assert_eq!(store.load(room), Stored::default());
        let _ = std::fs::remove_dir_all(dir);
    }
}
