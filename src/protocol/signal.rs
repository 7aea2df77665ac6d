//! Server ⇄ browser: the signaling socket's messages, one enum per
//! direction, JSON with a `type` tag (docs/protocol.md, sections 2–5).

use super::{PeerId, PeerMsg, RoomId};
use super::{ProtocolError, MAX_FRAME_BYTES, MAX_OFFER_BYTES};
use super::{Published, RoomMode, Slot};
use serde::{Deserialize, Serialize};

/// Bumped whenever a message changes shape. A client that sends another
/// version in `join` is refused with [`ErrorCode::Version`].
pub const PROTOCOL_VERSION: u32 = 2;

/// What a participant is sending right now. Shown on their tile by everyone else.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaState {
    /// The microphone is on and not muted.
    pub audio: bool,
    /// The camera is on.
    pub video: bool,
    /// A screen, window or tab is being shared.
    #[serde(default)]
    pub screen: bool,
    /// This participant is recording the meeting: everyone is shown so.
    /// Left out of the JSON when false, as it nearly always is.
    #[serde(default, skip_serializing_if = "is_false")]
    pub recording: bool,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// Who may share a screen in a room.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SharePolicy {
    #[default]
    Everyone,
    /// Only hosts; the others' share button is disabled and the server
    /// refuses their `media` with `screen: true`.
    Host,
}

/// A room's settings as every participant sees them (the password itself
/// never leaves the server, only whether there is one).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomSettings {
    /// Joining needs the room's password.
    pub password: bool,
    /// Nobody new may join.
    pub locked: bool,
    pub share: SharePolicy,
    /// The participants present who are hosts.
    pub hosts: Vec<PeerId>,
    /// A lecture: only hosts and `presenters` send camera, microphone and
    /// screen; everyone else watches, listens and chats. The room is
    /// forwarded from its first participant and holds `lecture_capacity`.
    /// Left out of the JSON when false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub presenters_only: bool,
    /// The participants present whom a host named presenters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub presenters: Vec<PeerId>,
}

impl RoomSettings {
    /// Whether `id` may send media under these settings.
    pub fn may_present(&self, id: PeerId) -> bool {
        !self.presenters_only || self.hosts.contains(&id) || self.presenters.contains(&id)
    }
}

/// A participant as the others see them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerInfo {
    pub id: PeerId,
    pub name: String,
    pub media: MediaState,
}

/// One entry of `RTCConfiguration.iceServers`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// What one peer connection tells the other, relayed unread by the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Signal {
    /// An SDP offer or answer.
    Description { sdp_type: SdpType, sdp: String },
    /// A trickled ICE candidate; `candidate` is empty for end-of-candidates.
    Candidate {
        candidate: String,
        #[serde(default)]
        sdp_mid: Option<String>,
        #[serde(default)]
        sdp_m_line_index: Option<u16>,
    },
}

/// What a session description is (`RTCSdpType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SdpType {
    Offer,
    Answer,
    Pranswer,
    Rollback,
}

impl SdpType {
    pub const ALL: [Self; 4] = [Self::Offer, Self::Answer, Self::Pranswer, Self::Rollback];

    /// The name the browser's WebRTC API (and the JSON) uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Offer => "offer",
            Self::Answer => "answer",
            Self::Pranswer => "pranswer",
            Self::Rollback => "rollback",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

/// "I was in this room as `id`": sent in `join` after a reconnect, so that
/// the others keep their connections to this participant. `token` is the
/// `resume_token` of the last `welcome`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resume {
    pub id: PeerId,
    pub token: String,
}

/// Everything a browser may send to the server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    /// The first message on a socket: enter a room, or come back to it.
    Join {
        version: u32,
        room: RoomId,
        name: String,
        media: MediaState,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume: Option<Resume>,
        /// The room's password, if it has one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        password: Option<String>,
        /// A host capability for this room, from an earlier `welcome` or
        /// `host_token`: joins as host, past a password or a lock.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        host_token: Option<String>,
        /// A random key this browser keeps for good: what a removal bans.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        device: Option<String>,
    },
    /// Relay a signal to one peer in the same room.
    Signal { to: PeerId, signal: Signal },
    /// My camera or microphone changed.
    Media { media: MediaState },
    /// Keepalive; the server answers `pong`.
    Ping,
    /// I am leaving; the server tells the others at once and closes the socket.
    Leave,
    /// Host only: set the room's password (empty: no password). A new
    /// password also lets removed people back, with it.
    SetPassword { password: String },
    /// Host only: lock or unlock the room.
    Lock { locked: bool },
    /// Host only: who may share a screen.
    SetShare { share: SharePolicy },
    /// Host only: make the room a lecture (only hosts and presenters send
    /// media), or a meeting again.
    SetPresentersOnly { presenters_only: bool },
    /// Host only: let a participant present in a lecture, or stop it.
    SetPresenter { id: PeerId, presenter: bool },
    /// Host only: remove a participant, who may come back only with a new
    /// password or as a host.
    Remove { id: PeerId },
    /// Host only: make another participant a host too.
    MakeHost { id: PeerId },
    /// Host only: take another host's capability back.
    RevokeHost { id: PeerId },
    /// In a forwarded room: an SDP offer for the one connection to the
    /// server, with what each sending transceiver carries.
    ForwardOffer { sdp: String, sending: Vec<Published> },
    /// In a forwarded room: how big this browser shows `peer`'s camera now,
    /// in device pixels (it picks the simulcast layer the server sends).
    ForwardView { peer: PeerId, width: u16, height: u16 },
    /// In a forwarded room, chat goes through the server (there are no
    /// data channels between browsers): a chat-channel message for one
    /// peer, or for everyone else in the room when `to` is absent.
    Chat {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<PeerId>,
        msg: PeerMsg,
    },
}

/// Everything the server may send to a browser.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// The answer to `join`: who you are and who is already there.
    Welcome {
        version: u32,
        you: PeerId,
        room: RoomId,
        peers: Vec<PeerInfo>,
        ice_servers: Vec<IceServer>,
        /// Proves `you` in a later `join` (see [`Resume`]).
        resume_token: String,
        /// The server still had this participant's session: `peers` is the
        /// whole room and nobody was told this participant left. False for a
        /// first join and after a server restart.
        resumed: bool,
        /// Connect only through the TURN relays in `ice_servers`
        /// (`iceTransportPolicy: "relay"`), which keeps participants'
        /// addresses from each other.
        #[serde(default)]
        relay_only: bool,
        #[serde(default)]
        settings: RoomSettings,
        /// Present when you are a host: keep it to come back as one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        host_token: Option<String>,
        /// How the room's media travels now.
        #[serde(default)]
        mode: RoomMode,
    },
    /// The room's media moves to another path: connect to the server's
    /// forwarding unit (and keep the mesh until its media shows).
    Mode { mode: RoomMode },
    /// The answer to `forward_offer`.
    ForwardAnswer { sdp: String },
    /// Which receiving transceiver carries whose track, and how many of
    /// each kind the browser should have (it offers again to add more).
    ForwardSlots { slots: Vec<Slot>, audio: u16, video: u16 },
    /// A chat-channel message from a peer, in a forwarded room. `from` is
    /// the server's word, not the sender's.
    Chat { from: PeerId, msg: PeerMsg },
    /// The room's settings changed (password, lock, share policy, hosts).
    Settings { settings: RoomSettings },
    /// You were made a host; keep the token to come back as one.
    HostToken { token: String },
    /// A fresh resume token in place of the one in `welcome`: tokens expire
    /// a few minutes after their participant stops renewing them.
    ResumeToken { token: String },
    /// Someone entered the room after you.
    PeerJoined { peer: PeerInfo },
    /// Someone left, closed the tab, or lost the connection.
    PeerLeft { id: PeerId },
    /// A signal from a peer in your room.
    Signal { from: PeerId, signal: Signal },
    /// A peer's camera or microphone changed.
    Media { id: PeerId, media: MediaState },
    /// The answer to `ping`.
    Pong,
    /// Something you sent was refused; the socket stays open unless said
    /// otherwise. `message` is for logs and tools: a browser words `code`
    /// (with the values below) in its reader's language.
    Error {
        code: ErrorCode,
        message: String,
        /// With `rate_limited` and `too_many_attempts`: how long to wait
        /// before trying again, in milliseconds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
        /// With `room_full`: how many people the room holds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        capacity: Option<u32>,
    },
}

/// Why a message was refused. The browser words the code (and its typed
/// details) in the reader's language; the `message` beside it is English
/// for logs and for clients that have no words of their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, or a known type with missing or wrong fields.
    Malformed,
    /// A `type` this server does not know.
    UnknownType,
    /// The frame is larger than [`MAX_FRAME_BYTES`].
    TooLarge,
    /// Binary frames are not part of the protocol.
    Binary,
    /// `join` carried another protocol version.
    Version,
    /// The message needs a `join` first.
    NotJoined,
    /// A second `join` on the same socket.
    AlreadyJoined,
    /// The name is empty or too long.
    BadName,
    /// The addressed peer is not in your room.
    UnknownPeer,
    /// The room already holds as many participants as the server allows.
    RoomFull,
    /// The client sends faster than the server allows.
    RateLimited,
    /// The room has a password and `join` carried none.
    PasswordRequired,
    /// `join` carried the wrong password.
    WrongPassword,
    /// Too many wrong passwords from this address; the message says when to try again.
    TooManyAttempts,
    /// The host has locked the room.
    RoomLocked,
    /// The host removed you from this room.
    Removed,
    /// Only a host may do that.
    NotHost,
    /// The room's settings cannot be read: it stays closed to everyone
    /// until the server's operator mends them.
    Unavailable,
    /// The room's settings do not allow it (screen sharing for hosts only).
    NotAllowed,
    /// This address has opened too many new rooms lately; the message says
    /// so. Joining rooms that others are in still works.
    TooManyRooms,
    /// In a lecture, only hosts and presenters send media: a `media` that
    /// turns something on, or a `forward_offer` that sends, from anyone else.
    NotPresenter,
    /// A `forward_offer` in a room whose media is not forwarded (it moved
    /// back to a mesh after a server restart): use the mesh.
    NotForwarded,
    /// The server is failing; try again.
    Internal,
}

impl ProtocolError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::TooLarge(_) => ErrorCode::TooLarge,
            Self::Binary => ErrorCode::Binary,
            Self::UnknownType(_) => ErrorCode::UnknownType,
            Self::Malformed(_) => ErrorCode::Malformed,
        }
    }

    /// The reply the server sends for this error.
    pub fn to_reply(&self) -> ServerMsg {
        ServerMsg::error(self.code(), self.to_string())
    }
}

/// The `type` values of [`ClientMsg`], to tell an unknown type from a malformed one.
pub(crate) const CLIENT_TYPES: &[&str] = &[
    "join",
    "signal",
    "media",
    "ping",
    "leave",
    "set_password",
    "lock",
    "set_share",
    "set_presenters_only",
    "set_presenter",
    "remove",
    "make_host",
    "revoke_host",
    "forward_offer",
    "forward_view",
    "chat",
];

impl ClientMsg {
    /// Parses one text frame from a browser.
    pub fn decode(text: &str) -> Result<Self, ProtocolError> {
        // A forward_offer may be longer; browsers write the tag first.
        let limit = match text.starts_with(r#"{"type":"forward_offer""#) {
            true => MAX_OFFER_BYTES,
            false => MAX_FRAME_BYTES,
        };
        if text.len() > limit {
            return Err(ProtocolError::TooLarge(text.len()));
        }
        serde_json::from_str(text).map_err(|err| {
            #[derive(Deserialize)]
            struct Tag {
                #[serde(rename = "type")]
                kind: String,
            }
            match serde_json::from_str::<Tag>(text) {
                Ok(Tag { kind }) if !CLIENT_TYPES.contains(&kind.as_str()) => {
                    ProtocolError::UnknownType(kind.chars().take(64).collect())
                }
                _ => ProtocolError::Malformed(err.to_string()),
            }
        })
    }
}

impl ServerMsg {
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Error { code, message: message.into(), retry_after_ms: None, capacity: None }
    }

    /// An error that says when to try again.
    pub fn retry_after(mut self, ms: u64) -> Self {
        if let Self::Error { retry_after_ms, .. } = &mut self {
            *retry_after_ms = Some(ms);
        }
        self
    }

    /// A `room_full` that says how many the room holds.
    pub fn with_capacity(mut self, people: u32) -> Self {
        if let Self::Error { capacity, .. } = &mut self {
            *capacity = Some(people);
        }
        self
    }

    /// Parses one frame from the server (used by the browser and by tests).
    pub fn decode(text: &str) -> Result<Self, ProtocolError> {
        serde_json::from_str(text).map_err(|err| ProtocolError::Malformed(err.to_string()))
    }
}
