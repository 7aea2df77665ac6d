//! The rooms this server knows and who is in them.
//!
//! Every participant has an outbox: a bounded queue drained by its socket's
//! writer task. Delivery never waits: when an outbox is full the server
//! closes that participant (with [`CloseCode::TooSlow`])
//! and tells the room it left, so a stalled browser cannot hold up a room
//! and no message is lost without the participant knowing.
//!
//! A participant whose socket breaks (no close frame) is *parked* rather
//! than removed: the others are told nothing, and what is sent to it waits in
//! its outbox. If it comes back within the grace period with its resume
//! token, it gets a `welcome` and then everything that waited, in order.
//!
//! A room's members and its settings live together under one lock (one
//! map of [`Room`]s), so no change can see one without the other and no
//! lock order has to be kept by hand. Like Galene's group, a room knows no
//! transport: it queues [`Frame`]s, and `signal.rs` owns the sockets.

use super::access::{Store, Stored};
use crate::protocol::{
    CloseCode, Encode, ErrorCode, MediaState, PeerId, PeerInfo, PeerMsg, RoomId, RoomMode, RoomSettings, ServerMsg,
    SharePolicy, Signal,
};
// The text of a frame, as the socket's writer sends it: made from the
// encoded String without a copy, shared by a broadcast without one, and
// never checked for UTF-8 again on the relay path (plain bytes would be,
// once per recipient). A bytes type, not a socket.
use axum::extract::ws::Utf8Bytes;
use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex, MutexGuard,
    },
};
use tokio::sync::{mpsc, Notify};
use uuid::Uuid;

/// Encoded messages on their way to one socket.
///
/// Boxed: tokio's channel allocates a block of 32 slots when it is made,
/// and 32 boxes take 256 bytes where 32 messages took about 1.3 KB, for
/// every socket, idle or not (make bench, section 3). The box costs one
/// small allocation per message sent.
pub type Outbox = mpsc::Sender<Box<Outgoing>>;
pub type Queue = mpsc::Receiver<Box<Outgoing>>;

/// What goes to a socket: an encoded server message, or the close that
/// ends it. The socket's writer (`signal.rs`) makes the websocket frame;
/// the rooms know nothing of sockets.
#[derive(Clone, Debug, PartialEq)]
pub enum Frame {
    /// JSON, shared: a broadcast is encoded once for everyone.
    Text(Utf8Bytes),
    Close(CloseCode),
}

/// A frame in an outbox. A relayed signal holds its sender's [`Share`] of
/// the recipient's outbox until it leaves the queue.
pub struct Outgoing {
    pub frame: Frame,
    _share: Option<Share>,
}

impl From<Frame> for Outgoing {
    fn from(frame: Frame) -> Self {
        Self { frame, _share: None }
    }
}

/// One sender's signals waiting in one recipient's outbox, counted so that
/// no sender fills more than [`SHARE`] of it: a full outbox closes its
/// owner, and one person must not be able to close another by flooding
/// them (a refused sender is told `rate_limited` instead).
pub struct Share(Arc<AtomicUsize>);

/// The part of a recipient's outbox one sender's signals may take.
const SHARE: usize = 4;

impl Drop for Share {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The writer side of one socket, taken back when the socket breaks.
pub struct Parked {
    pub queue: Queue,
    /// A frame the broken socket failed to send; it goes first on resume.
    pub unsent: Option<Frame>,
}

/// Ends one socket from elsewhere (a slow reader, a resumed session, a
/// shutdown), with the close code and reason the writer sends.
#[derive(Default)]
pub struct Kick {
    notify: Notify,
    why: Mutex<Option<Option<CloseCode>>>,
}

impl Kick {
    /// The first reason given wins; `None` ends the writer without a close frame.
    pub fn send(&self, code: Option<CloseCode>) {
        let mut why = self.why.lock().unwrap_or_else(|p| p.into_inner());
        why.get_or_insert(code);
        self.notify.notify_one();
    }

    /// Waits for [`Kick::send`]; returns its close code.
    pub async fn wait(&self) -> Option<CloseCode> {
        loop {
            if let Some(why) = *self.why.lock().unwrap_or_else(|p| p.into_inner()) {
                return why;
            }
            self.notify.notified().await;
        }
    }
}

/// One socket's hold on a participant.
#[derive(Clone)]
pub struct Socket {
    /// Unique per socket, so a socket that ended cannot touch a place a
    /// newer socket has resumed.
    pub id: u64,
    pub outbox: Outbox,
    pub kick: Arc<Kick>,
}

/// One participant's place in a room.
pub struct Member {
    pub info: PeerInfo,
    socket: Socket,
    parked: Option<Parked>,
    /// The host capability it joined with or was given (see
    /// `Secret::host_token`), while it is a host.
    host: Option<Uuid>,
    /// The browser key it joined with (what a removal bans).
    device: Option<String>,
    /// A host named it a presenter (it may send media in a lecture).
    presenter: bool,
    /// Each sender's signals waiting in this member's outbox.
    shares: HashMap<PeerId, Arc<AtomicUsize>>,
}

/// How a participant was let in (see `Connection::admit` in signal.rs).
pub struct Entry {
    /// Showed this host capability, not taken back.
    pub host: Option<Uuid>,
    pub device: Option<String>,
    /// Showed a valid resume token: was admitted before.
    pub returning: bool,
    /// The password hash the join was checked against, so a password set
    /// in the meantime is not slipped past.
    pub checked_hash: Option<String>,
}

/// What `welcome` is made from.
pub struct Admitted {
    pub peers: Vec<PeerInfo>,
    pub resumed: bool,
    pub settings: RoomSettings,
    /// The host capability to hand over in `welcome`.
    pub host: Option<Uuid>,
    pub mode: RoomMode,
}

/// How many people a room holds, and up to how many it stays a mesh.
#[derive(Clone, Copy, Debug)]
pub struct Sizes {
    pub capacity: usize,
    /// How many a lecture holds (`lecture_capacity`).
    pub lecture: usize,
    /// There is a forwarding unit: a lecture is forwarded from its first
    /// participant (without one, it stays a mesh of `capacity`).
    pub forwarding: bool,
    /// A room with more people than this is forwarded by the server; with
    /// no forwarding unit (its UDP port could not be bound) this is the
    /// capacity, and rooms stay a mesh.
    pub mesh_max: usize,
}

/// Why `join` was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    #[error("this room is full ({0} people); try again when someone leaves")]
    Full(usize),
    #[error("the host has locked this meeting")]
    Locked,
    #[error("the meeting's password has just changed; enter the new one")]
    PasswordChanged,
}

impl JoinError {
    pub fn code(self) -> ErrorCode {
        match self {
            Self::Full(_) => ErrorCode::RoomFull,
            Self::Locked => ErrorCode::RoomLocked,
            Self::PasswordChanged => ErrorCode::WrongPassword,
        }
    }
}

/// Why a host's request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    #[error("only a host may change the meeting's settings")]
    NotHost,
    #[error("peer {0} is not in your room")]
    UnknownPeer(PeerId),
    #[error("peer {0} is not a host")]
    NotAHost(PeerId),
}

impl HostError {
    pub fn code(self) -> ErrorCode {
        match self {
            Self::NotHost => ErrorCode::NotHost,
            Self::UnknownPeer(_) | Self::NotAHost(_) => ErrorCode::UnknownPeer,
        }
    }
}

/// Why a `media` was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    #[error("only hosts and presenters send in this lecture")]
    NotPresenter,
    #[error("only a host may share a screen in this meeting")]
    ShareHostOnly,
}

impl MediaError {
    pub fn code(self) -> ErrorCode {
        match self {
            Self::NotPresenter => ErrorCode::NotPresenter,
            Self::ShareHostOnly => ErrorCode::NotAllowed,
        }
    }
}

/// Why a signal could not be relayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RelayError {
    #[error("peer {0} is not in your room")]
    UnknownPeer(PeerId),
    #[error("peer {0} is not reading fast enough: wait a moment and send again")]
    Busy(PeerId),
}

type Members = HashMap<PeerId, Member>;

/// One room: who is in it, and its settings, under one lock.
#[derive(Default)]
struct Room {
    members: Members,
    /// As on disk. A room nobody is in stays in the map only while its
    /// settings are not the defaults (so that refused joins need not read
    /// the disk), until the sweep drops it (`Rooms::sweep`).
    settings: Stored,
    /// How its media travels. A room that moved to forwarding stays
    /// forwarded until it empties: moving back would cost everyone a
    /// second move for a gain (lower latency) that few notice, and a room
    /// that hovers at the threshold would move back and forth.
    mode: RoomMode,
}

impl Room {
    /// What everyone in the room is shown of its settings.
    fn shown(&self) -> RoomSettings {
        let stored = &self.settings;
        let listed = |keep: fn(&Member) -> bool| {
            let mut ids: Vec<PeerId> = self.members.values().filter(|m| keep(m)).map(|m| m.info.id).collect();
            ids.sort();
            ids
        };
        RoomSettings {
            password: stored.password_hash.is_some(),
            locked: stored.locked,
            share: stored.share,
            hosts: listed(|m| m.host.is_some()),
            presenters_only: stored.presenters_only,
            presenters: match stored.presenters_only {
                true => listed(|m| m.presenter && m.host.is_none()),
                false => Vec::new(),
            },
        }
    }

    /// Whether a member may send media at all: anyone outside a lecture.
    fn presents(&self, member: &Member) -> bool {
        !self.settings.presenters_only || member.host.is_some() || member.presenter
    }

    /// What a member may send under the room's settings: media only as a
    /// host or presenter in a lecture, a screen only as a host where
    /// sharing is for hosts.
    fn allowed(&self, member: &Member, mut media: MediaState) -> MediaState {
        let presents = self.presents(member);
        let shares = presents && (self.settings.share == SharePolicy::Everyone || member.host.is_some());
        media.audio &= presents;
        media.video &= presents;
        media.screen &= shares;
        media
    }

    /// Turns off what members send that the settings no longer allow, and
    /// tells the others.
    fn silence(&mut self) {
        let changed: Vec<(PeerId, MediaState)> = self
            .members
            .values()
            .filter_map(|m| {
                let allowed = self.allowed(m, m.info.media);
                (allowed != m.info.media).then_some((m.info.id, allowed))
            })
            .collect();
        for (id, media) in changed {
            if let Some(member) = self.members.get_mut(&id) {
                member.info.media = media;
            }
            broadcast(&mut self.members, &ServerMsg::Media { id, media }, Some(id));
        }
    }

    /// Moves a mesh room that became a lecture to the forwarding unit.
    fn forward_lecture(&mut self, sizes: Sizes) {
        if self.settings.presenters_only && sizes.forwarding && self.mode == RoomMode::Mesh {
            self.mode = RoomMode::Forwarded;
            broadcast(&mut self.members, &ServerMsg::Mode { mode: RoomMode::Forwarded }, None);
        }
    }

    /// The room's members, if `by` is a host of it: the one host check.
    fn as_host(&mut self, by: PeerId) -> Result<&mut Members, HostError> {
        match self.members.get(&by) {
            Some(member) if member.host.is_some() => Ok(&mut self.members),
            _ => Err(HostError::NotHost),
        }
    }

    fn tell_settings(&mut self) {
        let settings = self.shown();
        broadcast(&mut self.members, &ServerMsg::Settings { settings }, None);
    }
}

/// All rooms of this server instance.
pub struct Rooms {
    rooms: Mutex<HashMap<RoomId, Room>>,
    store: Store,
    /// Held while a room's settings are written, so writes land in order.
    saving: Mutex<()>,
}

impl Rooms {
    pub fn new(store: Store) -> Self {
        Self { rooms: Mutex::default(), store, saving: Mutex::default() }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<RoomId, Room>> {
        // A panic elsewhere must not take every room down with it.
        self.rooms.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A room's settings, read from disk (off the async threads) the first
    /// time they are needed.
    pub async fn settings(self: &Arc<Self>, room: RoomId) -> Stored {
        if let Some(room) = self.lock().get(&room) {
            return room.settings.clone();
        }
        let store = self.store.clone();
        let loaded =
            tokio::task::spawn_blocking(move || store.load(room)).await.unwrap_or_else(|_| Stored::unreadable());
        // Defaults are kept only once someone is in (see `join`): joins
        // refused from made-up rooms must not grow memory. Unreadable ones
        // are read again each time, so a mended file counts at once.
        if loaded.is_default() || loaded.unreadable {
            return loaded;
        }
        self.lock().entry(room).or_insert_with(|| Room { settings: loaded, ..Room::default() }).settings.clone()
    }

    /// Writes a room's settings as they are now, off the async threads.
    fn persist(self: &Arc<Self>, room: RoomId) {
        let rooms = self.clone();
        tokio::task::spawn_blocking(move || {
            let _order = rooms.saving.lock().unwrap_or_else(|p| p.into_inner());
            let now = rooms.lock().get(&room).map(|r| r.settings.clone()).unwrap_or_default();
            rooms.store.save(room, &now);
        });
    }

    /// A room nobody is in goes if its settings are the defaults; others
    /// stay (on disk too). When the last one just left (`left`), they are
    /// kept `empty_room_days` from now (see [`Rooms::sweep`]).
    fn emptied(&self, rooms: &mut HashMap<RoomId, Room>, room_id: RoomId, left: bool) {
        let Some(room) = rooms.get_mut(&room_id).filter(|room| room.members.is_empty()) else { return };
        room.mode = RoomMode::Mesh;
        if room.settings.is_default() {
            rooms.remove(&room_id);
            return;
        }
        if !left {
            return;
        }
        let store = self.store.clone();
        // A runtime is there but for some unit tests.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn_blocking(move || store.touch(room_id));
        }
    }

    /// Forgets rooms nobody has been in for `expiry`: their settings file
    /// goes (the room is as new again: whoever comes first is its host),
    /// unless the room still has recordings, which its password guards.
    /// Settings of empty rooms are dropped from memory too (they are on
    /// disk), so that rooms once visited do not fill it. Blocking.
    pub fn sweep(&self, expiry: std::time::Duration, has_recordings: impl Fn(RoomId) -> bool) -> usize {
        let mut forgotten = 0;
        for (room_id, touched) in self.store.rooms() {
            let old = touched.elapsed().is_ok_and(|age| age >= expiry);
            if !old || self.is_live(room_id) || has_recordings(room_id) {
                continue;
            }
            let _order = self.saving.lock().unwrap_or_else(|p| p.into_inner());
            // Looked at again, and held, under the lock of the rooms: nobody
            // may come in while the room is forgotten (rare, and quick).
            let mut rooms = self.lock();
            if rooms.get(&room_id).is_some_and(|room| !room.members.is_empty()) {
                continue;
            }
            match self.store.remove(room_id) {
                Ok(()) => forgotten += 1,
                Err(err) => tracing::warn!(room = %room_id, %err, "cannot forget an expired room's settings"),
            }
            rooms.remove(&room_id);
        }
        let empty: Vec<RoomId> =
            self.lock().iter().filter(|(_, room)| room.members.is_empty()).map(|(id, _)| *id).collect();
        for room_id in empty {
            let _order = self.saving.lock().unwrap_or_else(|p| p.into_inner());
            // Only what is on disk as it is kept: a write still on its way
            // reads the map.
            let on_disk = self.store.load(room_id);
            let mut rooms = self.lock();
            if rooms.get(&room_id).is_some_and(|room| room.members.is_empty() && room.settings == on_disk) {
                rooms.remove(&room_id);
            }
        }
        forgotten
    }

    /// The name `id` goes by in the room, if it is there.
    pub fn member_name(&self, room_id: RoomId, id: PeerId) -> Option<String> {
        self.lock().get(&room_id).and_then(|room| room.members.get(&id)).map(|m| m.info.name.clone())
    }

    /// Whether anyone is in the room (or holds a place in it).
    pub fn is_live(&self, room_id: RoomId) -> bool {
        self.lock().get(&room_id).is_some_and(|room| !room.members.is_empty())
    }

    /// Whether the room holds a place for `id`: it is in, or its socket
    /// broke and the grace period has not run out.
    pub fn holds(&self, room_id: RoomId, id: PeerId) -> bool {
        self.lock().get(&room_id).is_some_and(|room| room.members.contains_key(&id))
    }

    /// How the room's media travels now.
    pub fn mode(&self, room_id: RoomId) -> RoomMode {
        self.lock().get(&room_id).map(|room| room.mode).unwrap_or_default()
    }

    /// Whether `id` is a host of the room.
    pub fn is_host(&self, room_id: RoomId, id: PeerId) -> bool {
        self.lock().get_mut(&room_id).is_some_and(|room| room.as_host(id).is_ok())
    }

    /// A host's request on its room, with the room under the lock.
    fn as_host(rooms: &mut HashMap<RoomId, Room>, room_id: RoomId, by: PeerId) -> Result<&mut Room, HostError> {
        let room = rooms.get_mut(&room_id).ok_or(HostError::NotHost)?;
        room.as_host(by)?;
        Ok(room)
    }

    /// A host changes the room's settings; everyone is told and the change
    /// is written to disk. `change` runs under the lock, so it must be quick.
    pub fn update(
        self: &Arc<Self>,
        room_id: RoomId,
        by: PeerId,
        sizes: Sizes,
        change: impl FnOnce(&mut Stored),
    ) -> Result<(), HostError> {
        let mut rooms = self.lock();
        let room = Self::as_host(&mut rooms, room_id, by)?;
        change(&mut room.settings);
        // Screens shared by non-hosts end when sharing becomes host-only,
        // and a lecture's watchers stop sending.
        room.silence();
        room.forward_lecture(sizes);
        room.tell_settings();
        drop(rooms);
        self.persist(room_id);
        Ok(())
    }

    /// A host removes a participant: it is told so and closed, the others
    /// hear it left, and its id and browser key may not come back.
    pub fn remove(self: &Arc<Self>, room_id: RoomId, by: PeerId, id: PeerId) -> Result<(), HostError> {
        let mut rooms = self.lock();
        let room = Self::as_host(&mut rooms, room_id, by)?;
        if id == by {
            return Err(HostError::UnknownPeer(id));
        }
        let member = room.members.remove(&id).ok_or(HostError::UnknownPeer(id))?;
        // The error and then the close, in order (a kick would send its
        // close frame first); only a full outbox needs the kick.
        let notice = ServerMsg::error(ErrorCode::Removed, "the host removed you from this meeting");
        let close = Frame::Close(CloseCode::Removed);
        if !(offer(&member, encode(&notice)) && offer(&member, close)) {
            member.socket.kick.send(Some(CloseCode::Removed));
        }
        room.settings.removed_peers.push(id);
        room.settings.removed_devices.extend(member.device.clone());
        broadcast(&mut room.members, &ServerMsg::PeerLeft { id }, None);
        if member.host.is_some() {
            room.tell_settings();
        }
        drop(rooms);
        self.persist(room_id);
        Ok(())
    }

    /// A host makes another participant a host with a capability of its
    /// own (`grant`, shown by `token`): it gets the token, and everyone the
    /// new list of hosts.
    pub fn make_host(
        &self,
        room_id: RoomId,
        by: PeerId,
        id: PeerId,
        grant: Uuid,
        token: String,
    ) -> Result<(), HostError> {
        let mut rooms = self.lock();
        let room = Self::as_host(&mut rooms, room_id, by)?;
        let member = room.members.get_mut(&id).ok_or(HostError::UnknownPeer(id))?;
        if member.host.is_some() {
            return Ok(());
        }
        member.host = Some(grant);
        if !offer(member, encode(&ServerMsg::HostToken { token })) {
            evict(&mut room.members, vec![id]);
        }
        room.tell_settings();
        Ok(())
    }

    /// A host takes back another host's capability: it stops being a host
    /// now, and its token (in any tab that holds it) never makes anyone a
    /// host of this room again. Everyone gets the new list of hosts.
    pub fn revoke_host(self: &Arc<Self>, room_id: RoomId, by: PeerId, id: PeerId) -> Result<(), HostError> {
        let mut rooms = self.lock();
        let room = Self::as_host(&mut rooms, room_id, by)?;
        if id == by {
            return Err(HostError::UnknownPeer(id));
        }
        let grant = room.members.get(&id).ok_or(HostError::UnknownPeer(id))?.host.ok_or(HostError::NotAHost(id))?;
        for member in room.members.values_mut().filter(|m| m.host == Some(grant)) {
            member.host = None;
        }
        room.settings.revoke_host(grant);
        room.tell_settings();
        drop(rooms);
        self.persist(room_id);
        Ok(())
    }

    /// A host lets a participant present in a lecture, or stops it (its
    /// media is turned off). Everyone gets the new list of presenters.
    pub fn set_presenter(&self, room_id: RoomId, by: PeerId, id: PeerId, presenter: bool) -> Result<(), HostError> {
        let mut rooms = self.lock();
        let room = Self::as_host(&mut rooms, room_id, by)?;
        room.members.get_mut(&id).ok_or(HostError::UnknownPeer(id))?.presenter = presenter;
        room.silence();
        room.tell_settings();
        Ok(())
    }

    /// Whether `id` may send media in the room now.
    pub fn may_send(&self, room_id: RoomId, id: PeerId) -> bool {
        let rooms = self.lock();
        let Some(room) = rooms.get(&room_id) else { return false };
        room.members.get(&id).is_some_and(|member| room.presents(member))
    }

    /// Puts `info` in the room on `socket` and queues the `welcome` made
    /// from [`Admitted`] for it. If the room still holds `info.id` (the
    /// caller has checked its resume token) the place is taken over: the
    /// others hear nothing but a media change, and what waited for it follows
    /// the welcome. The welcome is queued under the lock so that nothing
    /// from the room can reach the participant before it. Returns `resumed`.
    pub fn join(
        &self,
        room_id: RoomId,
        info: PeerInfo,
        socket: Socket,
        sizes: Sizes,
        entry: Entry,
        welcome: impl FnOnce(Admitted) -> ServerMsg,
    ) -> Result<bool, JoinError> {
        let mut rooms = self.lock();
        // The room's settings come with it: loaded by `settings` when they
        // are not the defaults, the defaults for a room made here.
        let room = rooms.entry(room_id).or_default();
        let result = Self::enter(room, info, socket, sizes, entry, welcome);
        // A refused first comer leaves nothing behind.
        self.emptied(&mut rooms, room_id, false);
        result
    }

    fn enter(
        room: &mut Room,
        info: PeerInfo,
        socket: Socket,
        sizes: Sizes,
        entry: Entry,
        welcome: impl FnOnce(Admitted) -> ServerMsg,
    ) -> Result<bool, JoinError> {
        let id = info.id;
        let others = |members: &Members| members.values().filter(|m| m.info.id != id).map(|m| m.info.clone()).collect();
        if room.members.contains_key(&id) {
            let present = others(&room.members);
            let settings = room.shown();
            let mode = room.mode;
            let members = &mut room.members;
            let member = members.get_mut(&id).expect("checked above");
            let parked = member.parked.take();
            if parked.is_none() {
                // The old socket is still open (a network change the server
                // has not noticed yet): this one replaces it.
                member.socket.kick.send(Some(CloseCode::Replaced));
            }
            member.socket = socket;
            let gained_host = member.host.is_none() && entry.host.is_some();
            member.host = member.host.or(entry.host);
            let changed = member.info.media != info.media;
            member.info = info;
            let host = member.host;
            let mut settings = settings;
            if gained_host {
                settings.hosts.push(id);
                settings.hosts.sort();
            }
            let admitted = Admitted { peers: present, resumed: true, settings, host, mode };
            let mut fits = offer(member, encode(&welcome(admitted)));
            if let Some(Parked { mut queue, unsent }) = parked {
                fits &= unsent.is_none_or(|frame| offer(member, frame));
                while let Ok(outgoing) = queue.try_recv() {
                    // A close frame was meant for the socket that broke.
                    if !matches!(outgoing.frame, Frame::Close(_)) {
                        fits &= member.socket.outbox.try_send(outgoing).is_ok();
                    }
                }
            }
            if !fits {
                evict(members, vec![id]);
            } else if changed {
                let media = members[&id].info.media;
                broadcast(members, &ServerMsg::Media { id, media }, Some(id));
            }
            return Ok(true);
        }
        let stored = &room.settings;
        let capacity = match stored.presenters_only {
            true => sizes.lecture,
            false => sizes.capacity,
        };
        let refused = if room.members.len() >= capacity {
            Some(JoinError::Full(capacity))
        } else if entry.host.is_some() || entry.returning {
            None
        } else if stored.locked {
            Some(JoinError::Locked)
        } else if stored.password_hash != entry.checked_hash {
            Some(JoinError::PasswordChanged)
        } else {
            None
        };
        if let Some(refused) = refused {
            return Err(refused);
        }
        // Whoever opens a fresh room is its host. A room with a password,
        // a lock or removals is not fresh: it waits for a host to come back.
        let fresh = room.members.is_empty() && !entry.returning && stored.is_default();
        let host = entry.host.or_else(|| fresh.then(Uuid::new_v4));
        let mut member =
            Member { info, socket, parked: None, host, device: entry.device, presenter: false, shares: HashMap::new() };
        // A lecture's watcher comes in sending nothing.
        member.info.media = room.allowed(&member, member.info.media);
        let mut settings = room.shown();
        if host.is_some() {
            settings.hosts.push(id);
            settings.hosts.sort();
        }
        let lecture = room.settings.presenters_only && sizes.forwarding;
        let moves = room.mode == RoomMode::Mesh && (room.members.len() >= sizes.mesh_max || lecture);
        let mode = if moves { RoomMode::Forwarded } else { room.mode };
        let admitted =
            Admitted { peers: others(&room.members), resumed: false, settings: settings.clone(), host, mode };
        if !offer(&member, encode(&welcome(admitted))) {
            member.socket.kick.send(Some(CloseCode::TooSlow));
            return Ok(false);
        }
        if moves {
            room.mode = mode;
            broadcast(&mut room.members, &ServerMsg::Mode { mode }, None);
        }
        broadcast(&mut room.members, &ServerMsg::PeerJoined { peer: member.info.clone() }, None);
        if host.is_some() {
            broadcast(&mut room.members, &ServerMsg::Settings { settings }, None);
        }
        room.members.insert(id, member);
        Ok(false)
    }

    /// Removes a participant (if `socket` still holds its place) and tells the others.
    pub fn leave(&self, room_id: RoomId, id: PeerId, socket: u64) {
        let mut rooms = self.lock();
        let Some(room) = rooms.get_mut(&room_id) else { return };
        if room.members.get(&id).is_some_and(|m| m.socket.id == socket) {
            let member = room.members.remove(&id);
            broadcast(&mut room.members, &ServerMsg::PeerLeft { id }, None);
            if member.is_some_and(|m| m.host.is_some()) && !room.members.is_empty() {
                room.tell_settings();
            }
        }
        self.emptied(&mut rooms, room_id, true);
    }

    /// Keeps a participant whose socket broke, with what is queued for it.
    /// Returns false (and parks nothing) if another socket holds the place.
    pub fn park(&self, room_id: RoomId, id: PeerId, socket: u64, parked: Parked) -> bool {
        let mut rooms = self.lock();
        let Some(member) = rooms.get_mut(&room_id).and_then(|room| room.members.get_mut(&id)) else { return false };
        if member.socket.id != socket {
            return false;
        }
        member.parked = Some(parked);
        true
    }

    /// Ends a parked participant's grace: if it has not come back on another
    /// socket, it leaves.
    pub fn expire(&self, room_id: RoomId, id: PeerId, socket: u64) {
        let still_parked = {
            let rooms = self.lock();
            rooms.get(&room_id).and_then(|room| room.members.get(&id)).is_some_and(|m| m.socket.id == socket)
        };
        if still_parked {
            self.leave(room_id, id, socket);
        }
    }

    /// Passes a signal to one peer of the sender's own room.
    pub fn relay(&self, room_id: RoomId, from: PeerId, to: PeerId, signal: Signal) -> Result<(), RelayError> {
        // The hot path: encode (SDP can be kilobytes) before taking the lock.
        self.relay_frame(room_id, from, to, encode(&ServerMsg::Signal { from, signal }))
    }

    /// Passes a chat message to one peer of the sender's room, or to all
    /// the others (`to` absent). Each recipient takes it within the
    /// sender's share of its outbox, as a signal: a flood of chat cannot
    /// close anyone. A recipient with no room left is skipped and the
    /// sender told (`Busy`), so nothing is dropped unknown to it.
    pub fn chat(&self, room_id: RoomId, from: PeerId, to: Option<PeerId>, msg: PeerMsg) -> Result<(), RelayError> {
        let frame = encode(&ServerMsg::Chat { from, msg });
        let Some(to) = to else {
            let mut rooms = self.lock();
            let members = &mut rooms.get_mut(&room_id).ok_or(RelayError::UnknownPeer(from))?.members;
            if !members.contains_key(&from) {
                return Err(RelayError::UnknownPeer(from));
            }
            let others: Vec<PeerId> = members.keys().filter(|id| **id != from).copied().collect();
            let mut busy = Ok(());
            for to in others {
                if let Err(err) = queue_shared(members, from, to, frame.clone()) {
                    busy = Err(err);
                }
            }
            return busy;
        };
        self.relay_frame(room_id, from, to, frame)
    }

    /// Queues an encoded message from `from` for `to` in the sender's room.
    fn relay_frame(&self, room_id: RoomId, from: PeerId, to: PeerId, frame: Frame) -> Result<(), RelayError> {
        let mut rooms = self.lock();
        let members = &mut rooms.get_mut(&room_id).ok_or(RelayError::UnknownPeer(to))?.members;
        if to == from || !members.contains_key(&from) {
            return Err(RelayError::UnknownPeer(to));
        }
        queue_shared(members, from, to, frame)
    }

    /// Records a participant's camera/microphone state and tells the others.
    /// What the room's settings do not allow (a watcher's camera in a
    /// lecture, a non-host's screen where sharing is for hosts) is refused,
    /// and recorded as off.
    pub fn set_media(&self, room_id: RoomId, id: PeerId, media: MediaState) -> Result<(), MediaError> {
        let mut rooms = self.lock();
        let Some(room) = rooms.get_mut(&room_id) else { return Ok(()) };
        let Some(member) = room.members.get(&id) else { return Ok(()) };
        let allowed = room.allowed(member, media);
        let refused = match (allowed == media, room.presents(member)) {
            (true, _) => Ok(()),
            (false, false) => Err(MediaError::NotPresenter),
            (false, true) => Err(MediaError::ShareHostOnly),
        };
        if let Some(member) = room.members.get_mut(&id) {
            member.info.media = allowed;
        }
        broadcast(&mut room.members, &ServerMsg::Media { id, media: allowed }, Some(id));
        refused
    }
}

/// What the forwarding unit may do in the rooms.
impl super::forward::Seats for Rooms {
    fn tell(&self, room_id: RoomId, id: PeerId, msg: &ServerMsg) {
        let mut rooms = self.lock();
        let Some(room) = rooms.get_mut(&room_id) else { return };
        if room.members.get(&id).is_some_and(|member| !offer(member, encode(msg))) {
            evict(&mut room.members, vec![id]);
        }
    }

    fn holds(&self, room_id: RoomId, id: PeerId) -> bool {
        Rooms::holds(self, room_id, id)
    }

    fn presents(&self, room_id: RoomId, id: PeerId) -> bool {
        Rooms::may_send(self, room_id, id)
    }
}

/// Queues a message from `from` for `to`, within the sender's share of
/// the recipient's outbox (see [`Share`]).
fn queue_shared(members: &mut Members, from: PeerId, to: PeerId, frame: Frame) -> Result<(), RelayError> {
    let recipient = members.get_mut(&to).ok_or(RelayError::UnknownPeer(to))?;
    let limit = (recipient.socket.outbox.max_capacity() / SHARE).max(1);
    if recipient.shares.len() > 64 {
        recipient.shares.retain(|_, waiting| waiting.load(Ordering::Relaxed) > 0);
    }
    let waiting = recipient.shares.entry(from).or_default().clone();
    if waiting.fetch_add(1, Ordering::Relaxed) >= limit {
        waiting.fetch_sub(1, Ordering::Relaxed);
        return Err(RelayError::Busy(to));
    }
    let outgoing = Outgoing { frame, _share: Some(Share(waiting)) };
    if recipient.socket.outbox.try_send(Box::new(outgoing)).is_err() {
        evict(members, vec![to]);
    }
    Ok(())
}

fn encode(msg: &ServerMsg) -> Frame {
    Frame::Text(Utf8Bytes::from(msg.encode()))
}

/// Queues a message without waiting; false if the outbox is full or gone.
fn offer(member: &Member, frame: Frame) -> bool {
    member.socket.outbox.try_send(Box::new(frame.into())).is_ok()
}

/// Sends to everyone in the room but `except`, evicting those who cannot keep up.
fn broadcast(members: &mut Members, msg: &ServerMsg, except: Option<PeerId>) {
    let frame = encode(msg);
    let slow: Vec<PeerId> =
        members.values().filter(|m| Some(m.info.id) != except && !offer(m, frame.clone())).map(|m| m.info.id).collect();
    evict(members, slow);
}

/// Closes the given participants and tells the rest they left. Telling the
/// rest may overflow another outbox, so this works through a queue.
fn evict(members: &mut Members, mut slow: Vec<PeerId>) {
    while let Some(id) = slow.pop() {
        let Some(member) = members.remove(&id) else { continue };
        member.socket.kick.send(Some(CloseCode::TooSlow));
        let left = encode(&ServerMsg::PeerLeft { id });
        for other in members.values() {
            if !offer(other, left.clone()) && !slow.contains(&other.info.id) {
                slow.push(other.info.id);
            }
        }
    }
}
