//! Server ⇄ browser, in a forwarded room: the types of the messages that
//! connect a browser's one RTCPeerConnection to the server's forwarding
//! unit (docs/protocol.md, section 11).
//!
//! The browser always makes the offer and the server always answers, so
//! the two sides never offer at once and need no perfect negotiation. The
//! server asks for what it needs (more receiving transceivers) and the
//! browser offers again. A receiving transceiver is a *slot*: the server
//! says which participant's track it carries, and may give it to another
//! one later without renegotiating.

use super::PeerId;
use serde::{Deserialize, Serialize};

/// How a room's media travels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomMode {
    /// Browser to browser: one connection per pair of participants.
    #[default]
    Mesh,
    /// Through the server: one connection from each browser to the server.
    Forwarded,
}

/// What a track is, as its sender says and its receivers show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Mic,
    Camera,
    Screen,
    /// The sound of a shared tab or screen.
    ScreenAudio,
}

impl Source {
    pub const ALL: [Self; 4] = [Self::Mic, Self::Camera, Self::Screen, Self::ScreenAudio];

    pub fn is_audio(self) -> bool {
        matches!(self, Self::Mic | Self::ScreenAudio)
    }
}

/// One sending transceiver of an offer: its `mid` and what it sends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    pub mid: String,
    pub source: Source,
}

/// One receiving transceiver and whose track the server sends on it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    pub mid: String,
    pub peer: PeerId,
    pub source: Source,
}

/// The most receiving transceivers of one kind a browser is asked for.
/// A room holds at most `room_capacity` people; this bounds what one
/// `forward_slots` can make a browser build.
pub const MAX_SLOTS: u16 = 256;
