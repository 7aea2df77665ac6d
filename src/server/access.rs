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
    sync::{
        atomic::{AtomicUsize, Ordering},
        Mutex,
    },
    time::{Duration, Instant},
};
use uuid::Uuid;

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
    /// A lecture (see `RoomSettings::presenters_only`). Who presents is
    /// not stored: like being a host, it belongs to people present.
    pub presenters_only: bool,
    /// Removed participants, by id and by browser key.
    pub removed_peers: Vec<PeerId>,
    pub removed_devices: Vec<String>,
    /// When the room was last locked or given a new password (ms since the
    /// Unix epoch): resume tokens made before it do not get past either.
    pub access_changed_ms: u64,
    /// Host capabilities taken back (see `Secret::host_token`), the newest
    /// [`MAX_REVOKED_HOSTS`].
    pub revoked_hosts: Vec<Uuid>,
    /// The file could not be read: the room is closed to everyone until
    /// the operator mends it (never open with defaults: that would drop its
    /// password, lock and removals). Never written.
    #[serde(skip)]
    pub unreadable: bool,
}

/// How many revoked host capabilities a room remembers. Only hosts revoke,
/// so this is a bound for the file's sake, not a limit anyone meets.
pub const MAX_REVOKED_HOSTS: usize = 256;

impl Stored {
    /// Nothing set: the room is as open as a fresh one. (When access last
    /// changed means nothing without a lock or a password.)
    pub fn is_default(&self) -> bool {
        *self == Stored { access_changed_ms: self.access_changed_ms, ..Stored::default() }
    }

    /// What a room whose settings cannot be read is: closed.
    pub fn unreadable() -> Self {
        Stored { unreadable: true, locked: true, ..Stored::default() }
    }

    /// A host capability that is valid and not taken back.
    pub fn host_grant(&self, grant: Option<Uuid>) -> Option<Uuid> {
        grant.filter(|grant| !self.revoked_hosts.contains(grant))
    }

    pub fn revoke_host(&mut self, grant: Uuid) {
        if self.revoked_hosts.len() >= MAX_REVOKED_HOSTS {
            self.revoked_hosts.remove(0);
        }
        self.revoked_hosts.push(grant);
    }

    pub fn lock(&mut self, locked: bool, now_ms: u64) {
        if locked && !self.locked {
            self.access_changed_ms = now_ms;
        }
        self.locked = locked;
    }

    /// A new password (or none). A new one is a fresh start: those removed
    /// may come back, but only with it.
    pub fn set_password(&mut self, hash: Option<String>, now_ms: u64) {
        if hash.is_some() {
            self.access_changed_ms = now_ms;
            self.removed_peers.clear();
            self.removed_devices.clear();
        }
        self.password_hash = hash;
    }

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

    /// The room's settings; defaults when it has none. Settings that
    /// cannot be read close the room ([`Stored::unreadable`]), logged.
    pub fn load(&self, room: RoomId) -> Stored {
        let read = std::fs::read(self.path(room));
        let parsed = match read {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|err| err.to_string()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Stored::default(),
            Err(err) => Err(err.to_string()),
        };
        parsed.unwrap_or_else(|err| {
            tracing::error!(%room, %err, "room settings unreadable: the room stays closed until the file is mended");
            Stored::unreadable()
        })
    }

    /// Every room with settings on disk, with when they were last written
    /// or the room last emptied ([`Store::touch`]).
    pub fn rooms(&self) -> Vec<(RoomId, std::time::SystemTime)> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return Vec::new() };
        let room = |path: &Path| {
            let id = path.file_name()?.to_str()?.strip_suffix(".json")?;
            Some(RoomId(Uuid::try_parse(id).ok()?))
        };
        entries
            .flatten()
            .filter_map(|entry| Some((room(&entry.path())?, entry.metadata().ok()?.modified().ok()?)))
            .collect()
    }

    /// Marks the settings as in use now: the room just emptied, and its
    /// settings are kept [`Config::empty_room_days`](super::config::Config)
    /// from here.
    pub fn touch(&self, room: RoomId) {
        let touched = std::fs::File::options()
            .write(true)
            .open(self.path(room))
            .and_then(|file| file.set_modified(std::time::SystemTime::now()));
        if let Err(err) = touched {
            if err.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(%room, %err, "cannot mark room settings as used");
            }
        }
    }

    /// Forgets a room's settings.
    pub fn remove(&self, room: RoomId) -> std::io::Result<()> {
        std::fs::remove_file(self.path(room))?;
        std::fs::File::open(&self.dir)?.sync_all()
    }

    /// Writes the settings (or removes the file when they are the defaults).
    pub fn save(&self, room: RoomId, stored: &Stored) {
        let path = self.path(room);
        let result = if stored.is_default() {
            match std::fs::remove_file(&path) {
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
                other => other,
            }
        } else {
            std::fs::create_dir_all(&self.dir).and_then(|()| {
                // Written aside, made durable, renamed over the old file, and
                // the rename made durable: a crash leaves the old settings
                // or the new ones, never a part of either.
                let tmp = path.with_extension("tmp");
                let mut file = std::fs::File::create(&tmp)?;
                std::io::Write::write_all(&mut file, &serde_json::to_vec(stored).map_err(std::io::Error::other)?)?;
                file.sync_all()?;
                std::fs::rename(&tmp, &path)
            })
        };
        let result = result.and_then(|()| std::fs::File::open(&self.dir)?.sync_all());
        if let Err(err) = result {
            tracing::error!(%room, %err, "cannot keep room settings; they will not survive a restart");
        }
    }
}

/// Wrong passwords from one client address for one room: a few are free,
/// then each one doubles the wait before the next try (at most
/// [`MAX_WAIT`]).
///
/// Counted per room, so that a right password to a room the guesser made
/// clears nothing of another room's count; and counted when a check
/// *begins* ([`Attempts::begin`]), so that guesses sent side by side cannot
/// all pass before the first is found wrong.
#[derive(Default)]
pub struct Attempts {
    inner: Mutex<Tries>,
}

#[derive(Default)]
struct Tries {
    by_client: HashMap<(IpAddr, RoomId), (u32, Instant)>,
    /// When forgotten waits were last swept out.
    swept: Option<Instant>,
}

/// Wrong passwords allowed before waits begin.
const FREE_TRIES: u32 = 3;
const MAX_WAIT: Duration = Duration::from_secs(300);

impl Attempts {
    /// Takes a try for `ip` at `room`'s password, counted as wrong until
    /// [`Attempts::succeeded`] says otherwise; `Err(wait)` while this
    /// address must wait before trying this room again.
    pub fn begin(&self, ip: IpAddr, room: RoomId) -> Result<(), Duration> {
        let mut tries = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        // Forget waits long over, so the map stays small; at most once a
        // second, so that a flood of new rooms does not make every try sweep.
        if tries.by_client.len() > 10_000 && tries.swept.is_none_or(|at| now - at > Duration::from_secs(1)) {
            tries.by_client.retain(|_, (_, until)| *until + MAX_WAIT > now);
            tries.swept = Some(now);
        }
        let (count, until) = tries.by_client.entry((ip, room)).or_insert((0, now));
        if *until > now {
            return Err(*until - now);
        }
        *count += 1;
        if *count > FREE_TRIES {
            *until = now + Duration::from_secs(1 << (*count - FREE_TRIES).min(9)).min(MAX_WAIT);
        }
        Ok(())
    }

    /// The password was right: this address's record for this room goes.
    pub fn succeeded(&self, ip: IpAddr, room: RoomId) {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).by_client.remove(&(ip, room));
    }
}

/// Argon2 work (checking and hashing passwords), a few at a time.
///
/// Each check takes 19 MiB and tens of milliseconds of a core on purpose.
/// Unbounded, a flood of joins or new passwords from many sockets would
/// take memory and every core; here at most half the cores' worth run
/// ([`PasswordWork::default`]: make bench, "Abuse", measured two workers on
/// two cores slowing a call's signaling from 0.3 to 97 ms at p99) and
/// [`PasswordWork::QUEUE`] wait, and beyond that the request is refused
/// at once (`rate_limited`) rather than queued without end. The queue is
/// long enough for a class joining a lecture room at once.
pub struct PasswordWork {
    running: tokio::sync::Semaphore,
    waiting: AtomicUsize,
}

/// Why password work was not done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the server is checking too many passwords right now; try again in a moment")]
pub struct Busy;

impl Default for PasswordWork {
    /// Half the cores, at least one: the rest serve the calls.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::with_workers((cores / 2).max(1))
    }
}

impl PasswordWork {
    pub const QUEUE: usize = 64;

    pub fn with_workers(workers: usize) -> Self {
        Self { running: tokio::sync::Semaphore::new(workers.max(1)), waiting: Default::default() }
    }

    /// Runs `work` on the blocking pool once a worker is free, or refuses
    /// at once when too many already wait.
    pub async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, Busy> {
        self.reserve()?.run(work).await
    }

    /// A place in the queue, taken before anything is counted against the
    /// asker (see `Connection::admit`): a busy server is not a wrong guess.
    pub fn reserve(&self) -> Result<Ticket<'_>, Busy> {
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= Self::QUEUE {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(Busy);
        }
        Ok(Ticket { work: self, queued: true })
    }
}

/// A place in [`PasswordWork`]'s queue; given back when dropped unused.
pub struct Ticket<'a> {
    work: &'a PasswordWork,
    queued: bool,
}

impl Ticket<'_> {
    /// Runs `work` on the blocking pool once a worker is free.
    pub async fn run<T: Send + 'static>(mut self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, Busy> {
        let permit = self.work.running.acquire().await;
        self.leave_queue();
        let _permit = permit.map_err(|_| Busy)?;
        tokio::task::spawn_blocking(work).await.map_err(|_| Busy)
    }

    fn leave_queue(&mut self) {
        if std::mem::take(&mut self.queued) {
            self.work.waiting.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        self.leave_queue();
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
    fn wrong_passwords_earn_growing_waits_per_room() {
        let attempts = Attempts::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let (room, other) = (RoomId::random(), RoomId::random());
        for _ in 0..=FREE_TRIES {
            assert!(attempts.begin(ip, room).is_ok(), "the free tries, and one more");
        }
        let wait = attempts.begin(ip, room).unwrap_err();
        assert!(wait > Duration::from_millis(1500) && wait <= Duration::from_secs(2), "{wait:?}");
        assert!(attempts.begin("192.0.2.2".parse().unwrap(), room).is_ok(), "other addresses are not held up");
        assert!(attempts.begin(ip, other).is_ok(), "nor other rooms");
        attempts.succeeded(ip, other);
        assert!(attempts.begin(ip, room).is_err(), "a right password elsewhere clears nothing here");
        attempts.succeeded(ip, room);
        assert!(attempts.begin(ip, room).is_ok());
    }

    #[tokio::test]
    async fn password_work_runs_a_few_at_a_time_and_refuses_past_its_queue() {
        let workers = 2;
        let work = std::sync::Arc::new(PasswordWork::with_workers(workers));
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let hold = std::sync::Arc::new(Mutex::new(hold));
        let mut tasks = Vec::new();
        for _ in 0..workers + PasswordWork::QUEUE {
            let (work, hold) = (work.clone(), hold.clone());
            tasks.push(tokio::spawn(async move {
                work.run(move || {
                    let _ = hold.lock().unwrap().recv();
                })
                .await
            }));
        }
        // Wait until every worker is busy and the queue is full.
        while work.waiting.load(Ordering::Acquire) < PasswordWork::QUEUE {
            tokio::task::yield_now().await;
        }
        assert_eq!(work.run(|| ()).await, Err(Busy));
        for _ in 0..tasks.len() {
            release.send(()).unwrap();
        }
        for task in tasks {
            assert_eq!(task.await.unwrap(), Ok(()));
        }
        assert_eq!(work.run(|| 7).await, Ok(7), "free again");
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
