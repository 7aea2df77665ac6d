//! The rooms this server knows and who is in them.
//!
//! Every participant has an outbox: a bounded queue drained by its socket's
//! writer task. Delivery never waits: when an outbox is full the server
//! closes that participant (with [`crate::server::signal::CLOSE_TOO_SLOW`])
//! and tells the room it left, so a stalled browser cannot hold up a room
//! and no message is lost without the participant knowing.

use crate::protocol::{MediaState, PeerId, PeerInfo, RoomId, ServerMsg, Signal};
use axum::extract::ws::Message;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
};
use tokio::sync::{mpsc, Notify};

/// Encoded messages on their way to one socket.
pub type Outbox = mpsc::Sender<Message>;

/// One participant's place in a room.
pub struct Member {
    pub info: PeerInfo,
    pub outbox: Outbox,
    /// Woken when the server gives up on this participant's socket.
    pub kick: Arc<Notify>,
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

impl Rooms {
    fn lock(&self) -> MutexGuard<'_, HashMap<RoomId, Room>> {
        // A panic elsewhere must not take every room down with it.
        self.rooms.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a participant, queues `welcome(peers already there)` for them and
    /// tells the others. The welcome is queued under the lock so that nothing
    /// from the room can reach the newcomer before it.
    pub fn join(
        &self,
        room_id: RoomId,
        member: Member,
        capacity: usize,
        welcome: impl FnOnce(Vec<PeerInfo>) -> ServerMsg,
    ) -> Result<(), JoinError> {
        let mut rooms = self.lock();
        let room = rooms.entry(room_id).or_default();
        if room.len() >= capacity {
            return Err(JoinError::Full(capacity));
        }
        let present = room.values().map(|m| m.info.clone()).collect();
        if !offer(&member, encode(&welcome(present))) {
            member.kick.notify_one();
            return Ok(());
        }
        let joined = ServerMsg::PeerJoined { peer: member.info.clone() };
        broadcast(room, &joined, None);
        room.insert(member.info.id, member);
        Ok(())
    }

    /// Removes a participant (if still there) and tells the others.
    pub fn leave(&self, room_id: RoomId, id: PeerId) {
        let mut rooms = self.lock();
        if let Some(room) = rooms.get_mut(&room_id) {
            if room.remove(&id).is_some() {
                broadcast(room, &ServerMsg::PeerLeft { id }, None);
            }
            if room.is_empty() {
                rooms.remove(&room_id);
            }
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
    member.outbox.try_send(msg).is_ok()
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
        member.kick.notify_one();
        let left = encode(&ServerMsg::PeerLeft { id });
        for other in room.values() {
            if !offer(other, left.clone()) && !slow.contains(&other.info.id) {
                slow.push(other.info.id);
            }
        }
    }
}
