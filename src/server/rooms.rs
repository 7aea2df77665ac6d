//! The rooms this server knows and who is in them.
//!
//! Every participant has an outbox: a bounded queue drained by its socket's
//! writer task. Delivery never waits: when an outbox is full the server
//! closes that participant (with [`crate::server::signal::CLOSE_TOO_SLOW`])
//! and tells the room it left, so a stalled browser cannot hold up a room
//! and no message is lost without the participant knowing.
//!
//! A participant whose socket breaks (no close frame) is *parked* rather
//! than removed: the others are told nothing, and what is sent to it waits in
//! its outbox. If it comes back within the grace period with its resume
//! token, it gets a `welcome` and then everything that waited, in order.

use crate::protocol::{MediaState, PeerId, PeerInfo, RoomId, ServerMsg, Signal};
use axum::extract::ws::Message;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
};
use tokio::sync::{mpsc, Notify};

/// Encoded messages on their way to one socket.
pub type Outbox = mpsc::Sender<Message>;

/// The writer side of one socket, taken back when the socket breaks.
pub struct Parked {
    pub queue: mpsc::Receiver<Message>,
    /// A message the broken socket failed to send; it goes first on resume.
    pub unsent: Option<Message>,
}

/// Ends one socket from elsewhere (a slow reader, a resumed session, a
/// shutdown), with the close code and reason the writer sends.
#[derive(Default)]
pub struct Kick {
    notify: Notify,
    why: Mutex<Option<(u16, &'static str)>>,
}

impl Kick {
    /// The first reason given wins; code 0 ends the writer without a close frame.
    pub fn send(&self, code: u16, reason: &'static str) {
        let mut why = self.why.lock().unwrap_or_else(|p| p.into_inner());
        why.get_or_insert((code, reason));
        self.notify.notify_one();
    }

    /// Waits for [`Kick::send`]; returns its code and reason.
    pub async fn wait(&self) -> (u16, &'static str) {
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
}

/// Why `join` was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    #[error("this room is full ({0} people); try again when someone leaves")]
    Full(usize),
}

/// Why a signal could not be relayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RelayError {
    #[error("peer {0} is not in your room")]
    UnknownPeer(PeerId),
}

type Room = HashMap<PeerId, Member>;

/// All rooms of this server instance.
#[derive(Default)]
pub struct Rooms {
    rooms: Mutex<HashMap<RoomId, Room>>,
}

/// Close code used when a newer socket resumed this participant.
pub const CLOSE_REPLACED: u16 = 4009;

impl Rooms {
    fn lock(&self) -> MutexGuard<'_, HashMap<RoomId, Room>> {
        // A panic elsewhere must not take every room down with it.
        self.rooms.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Puts `info` in the room on `socket` and queues `welcome(peers already
    /// there, resumed)` for it. If the room still holds `info.id` (the
    /// caller has checked its resume token) the place is taken over: the
    /// others hear nothing but a media change, and what waited for it follows
    /// the welcome. The welcome is queued under the lock so that nothing
    /// from the room can reach the participant before it. Returns `resumed`.
    pub fn join(
        &self,
        room_id: RoomId,
        info: PeerInfo,
        socket: Socket,
        capacity: usize,
        welcome: impl FnOnce(Vec<PeerInfo>, bool) -> ServerMsg,
    ) -> Result<bool, JoinError> {
        let mut rooms = self.lock();
        let room = rooms.entry(room_id).or_default();
        let id = info.id;
        let others = |room: &Room| room.values().filter(|m| m.info.id != id).map(|m| m.info.clone()).collect();
        if room.contains_key(&id) {
            let present = others(room);
            let member = room.get_mut(&id).expect("checked above");
            let parked = member.parked.take();
            if parked.is_none() {
                // The old socket is still open (a network change the server
                // has not noticed yet): this one replaces it.
                member.socket.kick.send(CLOSE_REPLACED, "this participant reconnected on another socket");
            }
            member.socket = socket;
            let changed = member.info.media != info.media;
            member.info = info;
            let mut fits = offer(member, encode(&welcome(present, true)));
            if let Some(Parked { mut queue, unsent }) = parked {
                fits &= unsent.is_none_or(|msg| offer(member, msg));
                while let Ok(msg) = queue.try_recv() {
                    // A close frame was meant for the socket that broke.
                    if !matches!(msg, Message::Close(_)) {
                        fits &= offer(member, msg);
                    }
                }
            }
            if !fits {
                evict(room, vec![id]);
            } else if changed {
                let media = room[&id].info.media;
                broadcast(room, &ServerMsg::Media { id, media }, Some(id));
            }
            return Ok(true);
        }
        if room.len() >= capacity {
            if room.is_empty() {
                rooms.remove(&room_id);
            }
            return Err(JoinError::Full(capacity));
        }
        let member = Member { info, socket, parked: None };
        if !offer(&member, encode(&welcome(others(room), false))) {
            member.socket.kick.send(super::signal::CLOSE_TOO_SLOW, "too many messages waiting; reconnect");
            return Ok(false);
        }
        broadcast(room, &ServerMsg::PeerJoined { peer: member.info.clone() }, None);
        room.insert(id, member);
        Ok(false)
    }

    /// Removes a participant (if `socket` still holds its place) and tells the others.
    pub fn leave(&self, room_id: RoomId, id: PeerId, socket: u64) {
        let mut rooms = self.lock();
        let Some(room) = rooms.get_mut(&room_id) else { return };
        if room.get(&id).is_some_and(|m| m.socket.id == socket) {
            room.remove(&id);
            broadcast(room, &ServerMsg::PeerLeft { id }, None);
        }
        if room.is_empty() {
            rooms.remove(&room_id);
        }
    }

    /// Keeps a participant whose socket broke, with what is queued for it.
    /// Returns false (and parks nothing) if another socket holds the place.
    pub fn park(&self, room_id: RoomId, id: PeerId, socket: u64, parked: Parked) -> bool {
        let mut rooms = self.lock();
        let Some(member) = rooms.get_mut(&room_id).and_then(|room| room.get_mut(&id)) else { return false };
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
            rooms.get(&room_id).and_then(|room| room.get(&id)).is_some_and(|m| m.socket.id == socket)
        };
        if still_parked {
            self.leave(room_id, id, socket);
        }
    }

    /// Passes a signal to one peer of the sender's own room.
    pub fn relay(&self, room_id: RoomId, from: PeerId, to: PeerId, signal: Signal) -> Result<(), RelayError> {
        // The hot path: encode (SDP can be kilobytes) before taking the lock.
        let msg = encode(&ServerMsg::Signal { from, signal });
        let mut rooms = self.lock();
        let room = rooms.get_mut(&room_id).ok_or(RelayError::UnknownPeer(to))?;
        if to == from || !room.contains_key(&from) || !room.contains_key(&to) {
            return Err(RelayError::UnknownPeer(to));
        }
        if !offer(&room[&to], msg) {
            evict(room, vec![to]);
        }
        Ok(())
    }

    /// Records a participant's camera/microphone state and tells the others.
    pub fn set_media(&self, room_id: RoomId, id: PeerId, media: MediaState) {
        let mut rooms = self.lock();
        if let Some(room) = rooms.get_mut(&room_id) {
            if let Some(member) = room.get_mut(&id) {
                member.info.media = media;
                broadcast(room, &ServerMsg::Media { id, media }, Some(id));
            }
        }
    }
}

fn encode(msg: &ServerMsg) -> Message {
    Message::Text(msg.encode().into())
}

/// Queues a message without waiting; false if the outbox is full or gone.
fn offer(member: &Member, msg: Message) -> bool {
    member.socket.outbox.try_send(msg).is_ok()
}

/// Sends to everyone in the room but `except`, evicting those who cannot keep up.
fn broadcast(room: &mut Room, msg: &ServerMsg, except: Option<PeerId>) {
    let msg = encode(msg);
    let slow: Vec<PeerId> =
        room.values().filter(|m| Some(m.info.id) != except && !offer(m, msg.clone())).map(|m| m.info.id).collect();
    evict(room, slow);
}

/// Closes the given participants and tells the rest they left. Telling the
/// rest may overflow another outbox, so this works through a queue.
fn evict(room: &mut Room, mut slow: Vec<PeerId>) {
    while let Some(id) = slow.pop() {
        let Some(member) = room.remove(&id) else { continue };
        member.socket.kick.send(super::signal::CLOSE_TOO_SLOW, "too many messages waiting; reconnect");
        let left = encode(&ServerMsg::PeerLeft { id });
        for other in room.values() {
            if !offer(other, left.clone()) && !slow.contains(&other.info.id) {
                slow.push(other.info.id);
            }
        }
    }
}
