//! Recordings on disk: made by browsers, uploaded a chunk at a time while
//! they run, kept so that a crashed tab loses at most its last chunk.
//!
//! Layout: `<dir>/<room>/<recording>/video.webm` and `meta.json` beside it.
//! Every name is a UUID the server made; nothing from a client becomes a path.
//!
//! A chunk is appended and fsynced, then `meta.json` is replaced (written
//! aside, fsynced, renamed, the folder fsynced) with the new count. Chunks are numbered from 0:
//! a repeated chunk (a retry whose answer was lost) is accepted and not
//! written again, a chunk after a gap is refused with the number expected,
//! so the uploader knows what to resend. If the server dies between the two
//! steps, `meta.json` still has the old count and the bytes past it are cut
//! off when the recording is next touched: the chunk is simply sent again.
//!
//! The first chunk gets a `Duration` added to its header (see
//! [`crate::webm`]), and every later chunk rewrites its value in place, so
//! the file on disk always says how long it is, finished or not.
//!
//! All of it is blocking file work: the handlers run it on tokio's blocking
//! pool, one recording at a time (a lock per recording), so retries that
//! overlap cannot interleave their bytes.

use crate::{
    protocol::{PeerId, RoomId},
    webm::DurationField,
};
use serde::{Deserialize, Serialize};
use std::{
    collections::HashMap,
    fs::{self, File, OpenOptions},
    io::{self, Read, Seek, Write},
    os::unix::fs::FileExt,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, MutexGuard},
    time::{SystemTime, UNIX_EPOCH},
};
use uuid::Uuid;

pub use crate::protocol::recording::MAX_CHUNK_BYTES;

const VIDEO: &str = "video.webm";
/// The extension of a chunk being received.
const PART: &str = "part";
const META: &str = "meta.json";

/// What the server knows of one recording, as kept in `meta.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    pub id: Uuid,
    pub room: RoomId,
    /// The name of the participant who recorded it.
    pub by: String,
    /// That participant's id: its upload key dies with its removal.
    #[serde(default)]
    pub by_peer: Option<PeerId>,
    /// When it began, in milliseconds since the Unix epoch (server clock).
    pub started_ms: u64,
    /// How long it runs, as its recorder last reported.
    pub duration_ms: u64,
    /// Chunks stored; the next one expected has this number.
    pub chunks: u64,
    pub bytes: u64,
    /// The recorder said it stopped. An unfinished one may still grow, or
    /// its tab closed: it plays either way.
    pub finished: bool,
    /// Where the file's duration value is, once the header was understood.
    #[serde(default)]
    pub duration_field: Option<DurationField>,
}

/// Why a chunk or a new recording was refused; each becomes an HTTP status
/// and a JSON body `{ "error": code, "message": … }` (see docs/protocol.md).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no such recording")]
    Unknown,
    #[error("chunk {got} is ahead of the recording: send chunk {expected} first")]
    Gap { got: u64, expected: u64 },
    #[error("this recording has been stopped; start a new one")]
    Finished,
    #[error("a chunk may have at most {MAX_CHUNK_BYTES} bytes")]
    TooLarge,
    #[error("the chunk did not arrive whole; send it again")]
    Incomplete,
    #[error("the recordings of this room have used their {0} MB")]
    RoomFull(u64),
    #[error("the server's space for recordings ({0} MB) is used up")]
    ServerFull(u64),
    #[error("the server could not store the recording: {0}")]
    Io(#[from] io::Error),
}

/// What each recording counts against the quotas besides its bytes: its
/// folder and `meta.json`. Anyone in a room can start recordings, and
/// empty ones must fill the quota too rather than the disk's inodes.
pub const RECORDING_OVERHEAD: u64 = 64 * 1024;

/// The recordings directory with its quotas, and what is in it.
pub struct Store {
    dir: PathBuf,
    room_quota: u64,
    total_quota: u64,
    /// [`RECORDING_OVERHEAD`], or 0 in unit tests that count bytes.
    overhead: u64,
    /// Bytes per room and in all, counted at start and kept up to date.
    usage: Mutex<Usage>,
    /// One lock per recording being written.
    writing: Mutex<HashMap<Uuid, Arc<Mutex<()>>>>,
}

#[derive(Default)]
struct Usage {
    rooms: HashMap<RoomId, u64>,
    total: u64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

impl Store {
    /// Opens (and counts) the recordings under `dir`; quotas in bytes.
    pub fn open(dir: &Path, room_quota: u64, total_quota: u64) -> Self {
        Self::open_with(dir, room_quota, total_quota, RECORDING_OVERHEAD)
    }

    fn open_with(dir: &Path, room_quota: u64, total_quota: u64, overhead: u64) -> Self {
        let store = Self {
            dir: dir.to_path_buf(),
            room_quota,
            total_quota,
            overhead,
            usage: Mutex::default(),
            writing: Mutex::default(),
        };
        let mut usage = Usage::default();
        for meta in store.all() {
            *usage.rooms.entry(meta.room).or_default() += meta.bytes + overhead;
            usage.total += meta.bytes + overhead;
        }
        *lock(&store.usage) = usage;
        store
    }

    /// Where a chunk's body is written while it arrives (beside the
    /// recording, so the copy into it stays on one disk); `None` when
    /// there is no such recording. [`Store::sweep`] removes what a crash
    /// left.
    pub fn incoming(&self, room: RoomId, id: Uuid) -> Option<PathBuf> {
        let folder = self.folder(room, id);
        folder.is_dir().then(|| folder.join(format!("{}.{PART}", Uuid::new_v4().simple())))
    }

    /// Tidies up after recorders that went away: a recording that has not
    /// grown for `idle` is stopped (its upload key dies, and it plays as it
    /// is), or deleted if it holds nothing; half-received chunks that old
    /// are removed. Runs when the server starts and then every few minutes.
    pub fn sweep(&self, idle: std::time::Duration) -> Swept {
        let mut swept = Swept::default();
        let old = |path: &Path| {
            fs::metadata(path).and_then(|m| m.modified()).is_ok_and(|t| t.elapsed().is_ok_and(|age| age >= idle))
        };
        for meta in self.all() {
            let folder = self.folder(meta.room, meta.id);
            if let Ok(entries) = fs::read_dir(&folder) {
                for part in entries.flatten().map(|e| e.path()) {
                    if part.extension().is_some_and(|e| e == PART) && old(&part) && fs::remove_file(&part).is_ok() {
                        swept.parts += 1;
                    }
                }
            }
            if !old(&folder.join(META)) {
                continue;
            }
            let result = if meta.chunks == 0 {
                self.delete(meta.room, meta.id).map(|()| swept.deleted += 1)
            } else if !meta.finished {
                self.finish(meta.room, meta.id).map(|_| swept.stopped += 1)
            } else {
                Ok(())
            };
            if let Err(err) = result {
                tracing::warn!(recording = %meta.id, %err, "could not tidy up a recording");
            }
        }
        swept
    }

    fn folder(&self, room: RoomId, id: Uuid) -> PathBuf {
        self.dir.join(room.0.as_hyphenated().to_string()).join(id.as_hyphenated().to_string())
    }

    /// The video file of a recording of `room`, if there is one.
    pub fn video(&self, room: RoomId, id: Uuid) -> Option<(PathBuf, Meta)> {
        let folder = self.folder(room, id);
        let meta = read_meta(&folder).ok()?;
        Some((folder.join(VIDEO), meta))
    }

    /// Starts a recording of `room` by `by`. Refused when the room or the
    /// server has no space left.
    pub fn create(&self, room: RoomId, by: String, by_peer: PeerId) -> Result<Meta, StoreError> {
        // Counted and taken in one step, as chunks are.
        let reserved = self.reserve(room, self.overhead)?;
        let meta = Meta {
            id: Uuid::new_v4(),
            room,
            by,
            by_peer: Some(by_peer),
            started_ms: now_ms(),
            duration_ms: 0,
            chunks: 0,
            bytes: 0,
            finished: false,
            duration_field: None,
        };
        let folder = self.folder(room, meta.id);
        fs::create_dir_all(&folder)?;
        // The new folders' entries are durable before anything in them is
        // acknowledged: the room's folder in the store, the recording's in
        // the room's.
        for dir in folder.ancestors().skip(1).take(2) {
            sync_dir(dir)?;
        }
        File::create(folder.join(VIDEO))?.sync_all()?;
        write_meta(&folder, &meta)?;
        reserved.settle(self.overhead);
        Ok(meta)
    }

    /// Counts `bytes` against the quotas now, if they fit; the reservation
    /// is given back unless [`Reserved::settle`]d with what was written.
    fn reserve(&self, room: RoomId, bytes: u64) -> Result<Reserved<'_>, StoreError> {
        let mut usage = lock(&self.usage);
        let mb = |bytes: u64| bytes / 1_000_000;
        let used = usage.rooms.get(&room).copied().unwrap_or(0);
        if used + bytes > self.room_quota {
            return Err(StoreError::RoomFull(mb(self.room_quota)));
        }
        if usage.total + bytes > self.total_quota {
            return Err(StoreError::ServerFull(mb(self.total_quota)));
        }
        *usage.rooms.entry(room).or_default() += bytes;
        usage.total += bytes;
        Ok(Reserved { store: self, room, bytes })
    }

    fn writer(&self, id: Uuid) -> Arc<Mutex<()>> {
        lock(&self.writing).entry(id).or_default().clone()
    }

    /// Appends chunk `n` of a recording. `duration_ms` is how long the
    /// recording runs with this chunk, by the recorder's clock; it is capped
    /// by the time since the recording started (plus a little), so a client
    /// cannot make a file claim hours it does not have. Returns the
    /// recording as it is now; a chunk already stored changes nothing.
    ///
    /// The chunk is read from `chunk` (`len` bytes): the handler streams a
    /// request body into a file beside the recording ([`Store::incoming`])
    /// rather than holding up to [`MAX_CHUNK_BYTES`] of it in memory.
    pub fn append(
        &self,
        room: RoomId,
        id: Uuid,
        n: u64,
        mut chunk: impl io::Read,
        len: u64,
        duration_ms: u64,
    ) -> Result<Meta, StoreError> {
        if len > MAX_CHUNK_BYTES as u64 {
            return Err(StoreError::TooLarge);
        }
        let writer = self.writer(id);
        let _one_at_a_time = lock(&writer);
        let folder = self.folder(room, id);
        let mut meta = read_meta(&folder).map_err(|_| StoreError::Unknown)?;
        // A stopped recording takes nothing more: its key has done its work.
        if meta.finished {
            return Err(StoreError::Finished);
        }
        if n < meta.chunks {
            return Ok(meta);
        }
        if n > meta.chunks {
            return Err(StoreError::Gap { got: n, expected: meta.chunks });
        }
        let elapsed = now_ms().saturating_sub(meta.started_ms) + 5_000;
        meta.duration_ms = duration_ms.min(elapsed).max(meta.duration_ms);
        // Taken from the quota before writing: appends to several
        // recordings at once must not each find room for themselves and
        // together overshoot it.
        let reserved = self.reserve(room, len + 16)?;
        let path = folder.join(VIDEO);
        let before = meta.bytes;
        // The start of the chunk, for the header: at most HEAD_BYTES of it
        // is ever held in memory.
        let mut start = Vec::new();
        if meta.duration_field.is_none() && meta.bytes as usize <= crate::webm::HEAD_BYTES {
            (&mut chunk).take(crate::webm::HEAD_BYTES as u64).read_to_end(&mut start)?;
        }
        match self.mend_head(&folder, &meta, &start)? {
            // The file so far and this chunk, with a duration: written
            // aside and renamed, so a crash leaves the old file whole.
            Some((head, field)) => {
                let tmp = folder.join("video.tmp");
                let mut file = File::create(&tmp)?;
                file.write_all(&head)?;
                let rest = io::copy(&mut chunk, &mut file)?;
                file.sync_all()?;
                fs::rename(&tmp, &path)?;
                sync_dir(&folder)?;
                meta.bytes = head.len() as u64 + rest;
                meta.duration_field = Some(field);
            }
            None => {
                let mut file = OpenOptions::new().write(true).open(&path)?;
                // Bytes past the count are a chunk whose meta was never written.
                file.set_len(meta.bytes)?;
                file.seek(io::SeekFrom::Start(meta.bytes))?;
                file.write_all(&start)?;
                let rest = io::copy(&mut chunk, &mut file)?;
                if let Some(field) = meta.duration_field {
                    file.write_all_at(&field.value(meta.duration_ms as f64), field.offset)?;
                }
                file.sync_data()?;
                meta.bytes += start.len() as u64 + rest;
            }
        }
        // tests/crash.rs kills a debug server here: the chunk is on disk,
        // its record is not.
        #[cfg(debug_assertions)]
        if std::env::var_os("MOIM_TEST_CRASH_BEFORE_META").is_some() {
            std::process::abort();
        }
        meta.chunks += 1;
        write_meta(&folder, &meta)?;
        reserved.settle(meta.bytes - before);
        Ok(meta)
    }

    /// While the file has no duration yet and is still short, the file so
    /// far plus the start of the chunk with a duration added, if that now
    /// holds the header.
    fn mend_head(&self, folder: &Path, meta: &Meta, chunk: &[u8]) -> io::Result<Option<(Vec<u8>, DurationField)>> {
        if meta.duration_field.is_some() || meta.bytes as usize > crate::webm::HEAD_BYTES || chunk.is_empty() {
            return Ok(None);
        }
        let mut head = fs::read(folder.join(VIDEO))?;
        head.truncate(meta.bytes as usize);
        head.extend_from_slice(chunk);
        Ok(crate::webm::add_duration(&head, meta.duration_ms as f64))
    }

    /// Marks a recording stopped: it takes no more chunks.
    pub fn finish(&self, room: RoomId, id: Uuid) -> Result<Meta, StoreError> {
        let writer = self.writer(id);
        let _one_at_a_time = lock(&writer);
        let folder = self.folder(room, id);
        let mut meta = read_meta(&folder).map_err(|_| StoreError::Unknown)?;
        if !meta.finished {
            meta.finished = true;
            write_meta(&folder, &meta)?;
        }
        lock(&self.writing).remove(&id);
        Ok(meta)
    }

    /// Deletes a recording and gives its space back.
    pub fn delete(&self, room: RoomId, id: Uuid) -> Result<(), StoreError> {
        let writer = self.writer(id);
        let _one_at_a_time = lock(&writer);
        let folder = self.folder(room, id);
        let meta = read_meta(&folder).map_err(|_| StoreError::Unknown)?;
        fs::remove_dir_all(&folder)?;
        if let Some(parent) = folder.parent() {
            sync_dir(parent)?;
        }
        let freed = meta.bytes + self.overhead;
        let mut usage = lock(&self.usage);
        let used = usage.rooms.entry(room).or_default();
        *used = used.saturating_sub(freed);
        usage.total = usage.total.saturating_sub(freed);
        drop(usage);
        lock(&self.writing).remove(&id);
        Ok(())
    }

    /// The recordings of a room, newest first.
    pub fn list(&self, room: RoomId) -> Vec<Meta> {
        let mut all = metas_in(&self.dir.join(room.0.as_hyphenated().to_string()));
        all.retain(|m| m.room == room);
        all.sort_by_key(|m| std::cmp::Reverse(m.started_ms));
        all
    }

    fn all(&self) -> Vec<Meta> {
        let Ok(rooms) = fs::read_dir(&self.dir) else { return Vec::new() };
        rooms.flatten().flat_map(|room| metas_in(&room.path())).collect()
    }
}

/// What one [`Store::sweep`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub stopped: usize,
    pub deleted: usize,
    pub parts: usize,
}

/// Space taken from the quotas for a chunk being written.
struct Reserved<'a> {
    store: &'a Store,
    room: RoomId,
    bytes: u64,
}

impl Reserved<'_> {
    /// The chunk is stored and took `used` bytes: keep those, give back the rest.
    fn settle(mut self, used: u64) {
        let spare = self.bytes.saturating_sub(used);
        let over = used.saturating_sub(self.bytes);
        self.bytes = spare;
        let mut usage = lock(&self.store.usage);
        *usage.rooms.entry(self.room).or_default() += over;
        usage.total += over;
        // Drop gives back `spare`.
    }
}

impl Drop for Reserved<'_> {
    fn drop(&mut self) {
        let mut usage = lock(&self.store.usage);
        let room = usage.rooms.entry(self.room).or_default();
        *room = room.saturating_sub(self.bytes);
        usage.total = usage.total.saturating_sub(self.bytes);
    }
}

fn metas_in(room_dir: &Path) -> Vec<Meta> {
    let Ok(entries) = fs::read_dir(room_dir) else { return Vec::new() };
    entries.flatten().filter_map(|e| read_meta(&e.path()).ok()).collect()
}

fn read_meta(folder: &Path) -> io::Result<Meta> {
    let bytes = fs::read(folder.join(META))?;
    serde_json::from_slice(&bytes).map_err(io::Error::other)
}

/// Makes a directory's entries (a new, renamed or removed file) durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn write_meta(folder: &Path, meta: &Meta) -> io::Result<()> {
    let tmp = folder.join("meta.tmp");
    let mut file = File::create(&tmp)?;
    file.write_all(&serde_json::to_vec(meta).map_err(io::Error::other)?)?;
    file.sync_all()?;
    fs::rename(&tmp, folder.join(META))?;
    sync_dir(folder)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &Path) -> Store {
        Store::open_with(dir, 1_000, 2_000, 0)
    }

    fn put(store: &Store, room: RoomId, id: Uuid, n: u64, bytes: &[u8], ms: u64) -> Result<Meta, StoreError> {
        store.append(room, id, n, bytes, bytes.len() as u64, ms)
    }

    #[test]
    fn chunks_append_in_order_and_repeats_change_nothing() {
        let dir = tempdir();
        let store = store(&dir);
        let room = RoomId::random();
        let meta = store.create(room, "Ada".into(), PeerId::random()).unwrap();
        put(&store, room, meta.id, 0, b"aaa", 1000).unwrap();
        put(&store, room, meta.id, 0, b"aaa", 1000).unwrap();
        let err = put(&store, room, meta.id, 2, b"ccc", 3000).unwrap_err();
        assert!(matches!(err, StoreError::Gap { got: 2, expected: 1 }), "{err}");
        let meta = put(&store, room, meta.id, 1, b"bb", 2000).unwrap();
        assert_eq!((meta.chunks, meta.bytes, meta.duration_ms), (2, 5, 2000));
        let (path, _) = store.video(room, meta.id).unwrap();
        assert_eq!(fs::read(path).unwrap(), b"aaabb");
        store.finish(room, meta.id).unwrap();
        assert!(matches!(put(&store, room, meta.id, 2, b"c", 3000), Err(StoreError::Finished)));
        assert!(matches!(put(&store, room, meta.id, 0, b"aaa", 1000), Err(StoreError::Finished)), "not even a repeat");
        assert_eq!(store.list(room).len(), 1);
        assert!(store.video(RoomId::random(), meta.id).is_none(), "found only under its own room");
        store.delete(room, meta.id).unwrap();
        assert!(store.list(room).is_empty());
        assert!(matches!(store.delete(room, meta.id), Err(StoreError::Unknown)));
    }

    #[test]
    fn quotas_refuse_with_their_size_and_survive_a_restart() {
        let dir = tempdir();
        let room = RoomId::random();
        {
            let store = store(&dir);
            let meta = store.create(room, "Ada".into(), PeerId::random()).unwrap();
            put(&store, room, meta.id, 0, &[0; 900], 0).unwrap();
            assert!(matches!(put(&store, room, meta.id, 1, &[0; 200], 0), Err(StoreError::RoomFull(_))));
        }
        let store = store(&dir);
        let again = store.create(room, "Ada".into(), PeerId::random()).unwrap();
        let refused = put(&store, room, again.id, 0, &[0; 200], 0);
        assert!(matches!(refused, Err(StoreError::RoomFull(_))), "usage is counted at start");
        let other = RoomId::random();
        let meta = store.create(other, "Bo".into(), PeerId::random()).unwrap();
        put(&store, other, meta.id, 0, &[0; 900], 0).unwrap();
        let third = store.create(RoomId::random(), "Cy".into(), PeerId::random()).unwrap();
        assert!(matches!(put(&store, third.room, third.id, 0, &[0; 300], 0), Err(StoreError::ServerFull(_))));
    }

    #[test]
    fn space_is_taken_when_a_chunk_begins_and_given_back_if_it_fails() {
        let dir = tempdir();
        let store = store(&dir);
        let room = RoomId::random();
        let first = store.reserve(room, 600).unwrap();
        assert!(matches!(store.reserve(room, 600), Err(StoreError::RoomFull(_))), "the first holds its space");
        drop(first);
        let second = store.reserve(room, 600).unwrap();
        second.settle(500);
        assert_eq!(lock(&store.usage).rooms[&room], 500, "what was written is kept, the rest given back");
        assert!(store.reserve(room, 500).is_ok());
    }

    #[test]
    fn bytes_of_a_chunk_whose_meta_was_lost_are_cut_off() {
        let dir = tempdir();
        let store = store(&dir);
        let room = RoomId::random();
        let meta = store.create(room, "Ada".into(), PeerId::random()).unwrap();
        put(&store, room, meta.id, 0, b"aaa", 0).unwrap();
        let (path, _) = store.video(room, meta.id).unwrap();
        // A crash after the append but before meta.json was replaced.
        OpenOptions::new().append(true).open(&path).unwrap().write_all(b"half").unwrap();
        put(&store, room, meta.id, 1, b"bb", 0).unwrap();
        assert_eq!(fs::read(path).unwrap(), b"aaabb");
    }

    #[test]
    fn a_header_split_over_chunks_still_gets_its_duration() {
        let dir = tempdir();
        let store = store(&dir);
        let room = RoomId::random();
        let meta = store.create(room, "Ada".into(), PeerId::random()).unwrap();
        let head = crate::webm::chromium_head();
        let first = put(&store, room, meta.id, 0, &head[..20], 1000).unwrap();
        assert_eq!(first.duration_field, None, "not enough of the header yet");
        let second = put(&store, room, meta.id, 1, &head[20..], 2000).unwrap();
        let field = second.duration_field.expect("the header is whole now");
        put(&store, room, meta.id, 2, b"cluster", 3000).unwrap();
        let (path, meta) = store.video(room, meta.id).unwrap();
        let file = fs::read(path).unwrap();
        assert_eq!(file.len() as u64, meta.bytes);
        let at = field.offset as usize;
        assert_eq!(f64::from_be_bytes(file[at..at + 8].try_into().unwrap()), 3000.0, "rewritten with each chunk");
        assert!(file.ends_with(b"cluster"));
    }

    fn tempdir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("moim-rec-{}", Uuid::new_v4()));
        fs::create_dir_all(&dir).unwrap();
        dir
    }
}
