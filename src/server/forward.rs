//! The forwarding unit: media of rooms beyond the mesh, through the server.
//!
//! In a forwarded room every browser holds one RTCPeerConnection, to this
//! server: it sends its microphone, camera and screen once, and receives
//! everyone else's. The unit runs on str0m, a sans-IO WebRTC library: one
//! task owns every participant's `Rtc` and one UDP socket that all of them
//! share, so a deployment opens one UDP port and runs nothing else.
//!
//! It sits beside signaling, not inside it. The signaling socket carries
//! the browser's offers and the unit's answers (`forward_offer`,
//! `forward_answer`) and the unit's word on which receiving transceiver
//! carries whose track (`forward_slots`, see `protocol/forward.rs`); the
//! rooms tell the unit who is still in a room ([`Seats`]), and the unit
//! knows nothing of sockets.
//!
//! Media is decrypted in the server (DTLS-SRTP ends here) and encrypted
//! again for each receiver: the call screen says so in a forwarded room.
//!
//! # Limits
//!
//! - One connection (`Rtc`) per participant of a forwarded room, so at most
//!   `room_capacity` per room (`lecture_capacity` in a lecture) and
//!   `[forward] max_participants` in the whole server; a participant's receiving transceivers are
//!   at most [`crate::protocol::MAX_SLOTS`] of each kind, and the tile sizes
//!   it reports at most 1,024.
//! - Nothing queues per receiver in moim: a frame is written to each
//!   receiver's `Rtc` as it arrives, and str0m keeps a bounded send buffer
//!   per stream (its defaults), dropping the oldest packets of a receiver
//!   that cannot keep up; that receiver's bandwidth estimate then gets it
//!   smaller layers (`layers.rs`).
//! - Commands reach the unit on a bounded channel ([`COMMANDS`]). An offer
//!   waits for room in it, which holds back the one signaling socket that
//!   sent it; a tile size or a leave that finds it full is dropped, since a
//!   browser says its tile sizes again every few seconds and the unit's
//!   sweep lets go of whoever the rooms no longer hold within a second.
//!
//! In a lecture (`presenters_only`), only hosts' and presenters' tracks
//! are forwarded: the rooms say who presents ([`Seats::presents`]), asked
//! again whenever that changes, so a watcher's browser that sends anyway
//! reaches nobody.
//!
//! Above ten people a room forwards only its three loudest voices (by the
//! audio level in the packets' header extension, `speakers.rs`).
//!
//! What one unit carries on this project's 2-core machine (35 people all
//! publishing, a lecture of 100 at two fifths of a core) is measured by
//! `examples/forward_load.rs` and recorded in BENCHMARKS.md.

mod layers;
mod slots;
mod speakers;
mod unit;

use super::config::ForwardSettings;
use crate::protocol::{PeerId, Published, RoomId, ServerMsg};
use std::{net::SocketAddr, sync::Arc};
use tokio::sync::{mpsc, oneshot};

/// What the unit needs from the rooms.
pub trait Seats: Send + Sync + 'static {
    /// Queues a message for one participant.
    fn tell(&self, room: RoomId, peer: PeerId, msg: &ServerMsg);
    /// Whether the room still holds the participant's place.
    fn holds(&self, room: RoomId, peer: PeerId) -> bool;
    /// Whether the participant may send media (not a lecture's watcher):
    /// the unit forwards nobody else's.
    fn presents(&self, room: RoomId, peer: PeerId) -> bool;
}

/// Why an offer was not answered.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error("the offer is not usable SDP: {0}")]
    BadOffer(String),
    #[error("the offer names a transceiver it does not have, or one twice")]
    BadSending,
    #[error("the server forwards media for as many people as it can ({0}); try again later")]
    Full(usize),
    #[error("you are no longer in this meeting")]
    Gone,
    #[error("the forwarding unit has stopped")]
    Stopped,
}

pub(crate) enum Command {
    Offer {
        room: RoomId,
        peer: PeerId,
        sdp: String,
        sending: Vec<Published>,
        reply: oneshot::Sender<Result<String, ForwardError>>,
    },
    Leave {
        room: RoomId,
        peer: PeerId,
    },
    /// Who may present changed: work out the room's forwarding again.
    Refresh {
        room: RoomId,
    },
    View {
        room: RoomId,
        peer: PeerId,
        of: PeerId,
        width: u16,
        height: u16,
    },
}

/// The UDP buffers asked for. Linux's default (208 KiB) holds a few
/// milliseconds of forty cameras: packets that arrive while the unit is
/// busy for longer are lost in the kernel (BENCHMARKS.md, forwarded rooms).
const UDP_BUFFER: usize = 8 << 20;

/// Asks for [`UDP_BUFFER`]-sized buffers; the kernel grants at most
/// `net.core.rmem_max` / `wmem_max`, which the log says.
fn size_buffers(socket: &tokio::net::UdpSocket) {
    let sock = socket2::SockRef::from(socket);
    let _ = sock.set_recv_buffer_size(UDP_BUFFER);
    let _ = sock.set_send_buffer_size(UDP_BUFFER);
    let granted = (sock.recv_buffer_size().unwrap_or(0), sock.send_buffer_size().unwrap_or(0));
    if granted.0 < UDP_BUFFER {
        tracing::warn!(
            receive = granted.0,
            send = granted.1,
            wanted = UDP_BUFFER,
            "the forwarding unit's UDP buffers are smaller than asked: raise net.core.rmem_max and wmem_max"
        );
    } else {
        tracing::info!(receive = granted.0, send = granted.1, "forwarding unit's UDP buffers");
    }
}

/// How many commands may wait for the unit.
pub const COMMANDS: usize = 4096;

/// A handle on the running unit; cheap to clone.
#[derive(Clone)]
pub struct Forwarder {
    commands: mpsc::Sender<Command>,
    /// Where the UDP socket listens.
    pub addr: SocketAddr,
}

impl Forwarder {
    /// Binds the UDP socket and starts the unit. `announce` are the
    /// addresses browsers are told to send to (the socket's own when empty).
    pub async fn start(settings: &ForwardSettings, seats: Arc<dyn Seats>) -> std::io::Result<Self> {
        let socket = tokio::net::UdpSocket::bind(settings.udp).await?;
        let addr = socket.local_addr()?;
        size_buffers(&socket);
        let announced: Vec<SocketAddr> = match settings.announce.as_slice() {
            [] => vec![addr],
            ips => ips.iter().map(|ip| SocketAddr::new(*ip, addr.port())).collect(),
        };
        let (commands, queue) = mpsc::channel(COMMANDS);
        let unit = tokio::spawn(unit::run(socket, announced, settings.max_participants, queue, seats));
        tokio::spawn(async move {
            match unit.await {
                Ok(()) => tracing::info!("forwarding unit stopped"),
                Err(err) => tracing::error!(%err, "forwarding unit failed"),
            }
        });
        tracing::info!(%addr, "forwarding unit listening");
        Ok(Self { commands, addr })
    }

    /// Answers a participant's offer: a new connection, or a change to
    /// (or an ICE restart of) the one it has.
    pub async fn offer(
        &self,
        room: RoomId,
        peer: PeerId,
        sdp: String,
        sending: Vec<Published>,
    ) -> Result<String, ForwardError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Offer { room, peer, sdp, sending, reply })
            .await
            .map_err(|_| ForwardError::Stopped)?;
        answer.await.map_err(|_| ForwardError::Stopped)?
    }

    /// How big `peer` shows `of`'s camera now (device pixels): picks the
    /// simulcast layer it gets.
    pub fn view(&self, room: RoomId, peer: PeerId, of: PeerId, width: u16, height: u16) {
        if self.commands.try_send(Command::View { room, peer, of, width, height }).is_err() {
            tracing::debug!(%room, %peer, "forwarding unit busy: a tile size waits for the next report");
        }
    }

    /// Forwards only who may present now, after a host changed it. Waits
    /// for room in the queue: a lecture's watcher must not stay heard.
    pub async fn refresh(&self, room: RoomId) {
        let _ = self.commands.send(Command::Refresh { room }).await;
    }

    /// Ends a participant's connection at once (it left, or was removed).
    pub fn leave(&self, room: RoomId, peer: PeerId) {
        if self.commands.try_send(Command::Leave { room, peer }).is_err() {
            tracing::debug!(%room, %peer, "forwarding unit busy: the sweep ends this connection");
        }
    }
}
