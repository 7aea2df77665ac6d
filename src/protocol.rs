//! The signaling protocol: one message type per direction, JSON with a `type` tag.
//!
//! Both the server and the browser client compile this file, so the two sides
//! cannot disagree about a field name. `docs/protocol.md` describes every
//! message in prose with an example; a unit test parses each of those examples.
//!
//! Decoding never panics: any frame the server receives goes through
//! [`ClientMsg::decode`], which answers with a typed [`ProtocolError`] that the
//! server sends back as [`ServerMsg::Error`].

use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

/// Bumped whenever a message changes shape. A client that sends another
/// version in `join` is refused with [`ErrorCode::Version`].
pub const PROTOCOL_VERSION: u32 = 1;

/// The largest frame either side accepts, in bytes. An SDP offer with many
/// tracks stays well under 16 KiB; 64 KiB leaves room without letting one
/// client make the server buffer megabytes.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// The longest display name, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// Identifies a participant for the whole call. The server makes it; a
/// client can only keep one it was given, by showing the resume token that
/// came with it (see [`Resume`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PeerId(pub Uuid);

impl PeerId {
    pub fn random() -> Self {
        Self(Uuid::new_v4())
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Identifies a room. Always a UUID, so a room link cannot be guessed;
/// [`RoomId::parse_link`] accepts a bare code or a whole pasted link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RoomId(pub Uuid);

impl RoomId {
    pub fn random() -> Self {
        Self(Uuid::new_v4())
    }

    /// Reads a room code, or a link whose last path segment is one
    /// (`https://host/r/<id>`, with or without a query or fragment).
    pub fn parse_link(input: &str) -> Option<Self> {
        let input = input.trim();
        let path = input.split(['?', '#']).next().unwrap_or_default();
        let last = path.trim_end_matches('/').rsplit('/').next().unwrap_or_default();
        Uuid::try_parse(last).ok().map(Self)
    }

    /// The page a participant opens to join this room.
    pub fn path(&self) -> String {
        format!("/r/{}", self.0)
    }
}

impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

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
}

/// The longest room password, in bytes.
pub const MAX_PASSWORD_BYTES: usize = 256;

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
    /// An SDP offer or answer (`sdp_type` is `offer`, `answer`, `pranswer` or `rollback`).
    Description { sdp_type: String, sdp: String },
    /// A trickled ICE candidate; `candidate` is empty for end-of-candidates.
    Candidate {
        candidate: String,
        #[serde(default)]
        sdp_mid: Option<String>,
        #[serde(default)]
        sdp_m_line_index: Option<u16>,
    },
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Host only: remove a participant, who may come back only with a new
    /// password or as a host.
    Remove { id: PeerId },
    /// Host only: make another participant a host too.
    MakeHost { id: PeerId },
    /// Host only: take another host's capability back.
    RevokeHost { id: PeerId },
}

/// Everything the server may send to a browser.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
    },
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
    /// Something you sent was refused; the socket stays open unless said otherwise.
    Error { code: ErrorCode, message: String },
}

/// Why a message was refused. The `message` beside it is for people; this is for code.
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
    /// The server is failing; try again.
    Internal,
}

/// A frame the server could not accept, with the code sent back for it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("frame of {0} bytes is over the {MAX_FRAME_BYTES}-byte limit")]
    TooLarge(usize),
    #[error("binary frames are not part of the protocol")]
    Binary,
    #[error("unknown message type {0:?}")]
    UnknownType(String),
    #[error("malformed message: {0}")]
    Malformed(String),
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
const CLIENT_TYPES: &[&str] = &[
    "join",
    "signal",
    "media",
    "ping",
    "leave",
    "set_password",
    "lock",
    "set_share",
    "remove",
    "make_host",
    "revoke_host",
];

impl ClientMsg {
    /// Parses one text frame from a browser.
    pub fn decode(text: &str) -> Result<Self, ProtocolError> {
        if text.len() > MAX_FRAME_BYTES {
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

    pub fn encode(&self) -> String {
        // Serialising these plain structs cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl ServerMsg {
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Error { code, message: message.into() }
    }

    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses one frame from the server (used by the browser and by tests).
    pub fn decode(text: &str) -> Result<Self, ProtocolError> {
        serde_json::from_str(text).map_err(|err| ProtocolError::Malformed(err.to_string()))
    }
}

/// The longest chat message, in characters.
pub const MAX_CHAT_CHARS: usize = 4_000;

/// How many chat messages one `history` message carries at most; a long
/// history goes in several, so each stays far below data-channel limits.
pub const HISTORY_BATCH: usize = 50;

/// How many chat messages a browser keeps (the oldest go first), and so
/// the most one peer's history answer may carry.
pub const MAX_CHAT_HISTORY: usize = 1_000;

/// One chat message. It travels only between browsers, on the chat data
/// channel; the server never sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Made by the sender; merging histories by id removes duplicates.
    pub id: Uuid,
    pub from: PeerId,
    pub name: String,
    /// Milliseconds since the Unix epoch, by the sender's clock.
    pub time: f64,
    pub text: String,
}

impl ChatMessage {
    /// Whether a received message is within the limits a sender must keep.
    pub fn is_valid(&self) -> bool {
        clean_name(&self.name).is_some()
            && !self.text.trim().is_empty()
            && self.text.chars().count() <= MAX_CHAT_CHARS
            && self.time.is_finite()
    }
}

/// What browsers send each other on the chat data channel (see the
/// "Chat" section of docs/protocol.md).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PeerMsg {
    /// A new message from the channel's other end.
    Chat { message: ChatMessage },
    /// "Send me the messages you have"; sent when the channel opens.
    HistoryRequest,
    /// Part of the answer to `history_request`.
    History { messages: Vec<ChatMessage> },
}

/// Parses a data-channel message, refusing one over [`MAX_FRAME_BYTES`].
fn decode_limited<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ProtocolError> {
    if text.len() > MAX_FRAME_BYTES {
        return Err(ProtocolError::TooLarge(text.len()));
    }
    serde_json::from_str(text).map_err(|err| ProtocolError::Malformed(err.to_string()))
}

impl PeerMsg {
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn decode(text: &str) -> Result<Self, ProtocolError> {
        decode_limited(text)
    }
}

/// The longest file name a transfer may carry, in characters.
pub const MAX_FILE_NAME_CHARS: usize = 255;

/// How many bytes of a file one binary frame on the files channel carries
/// (after the 16-byte transfer id): small enough for every browser's
/// data-channel message limit.
pub const FILE_CHUNK_BYTES: usize = 64 * 1024;

/// What browsers send each other about files, as text frames on the files
/// data channel; the bytes go in binary frames, each the transfer's 16-byte
/// id and then up to [`FILE_CHUNK_BYTES`] of the file, in order (see the
/// "Files" section of docs/protocol.md). The server never sees any of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FileMsg {
    /// "May I send you this file?"
    Offer { id: Uuid, name: String, size: u64, mime: String },
    /// "Yes": the bytes may come.
    Accept { id: Uuid },
    /// "No, thanks."
    Decline { id: Uuid },
    /// Either side stops the transfer.
    Cancel { id: Uuid },
    /// Every byte was sent; their SHA-256, in hex.
    Done { id: Uuid, sha256: String },
    /// The receiver's verdict on the bytes it got.
    Received { id: Uuid, intact: bool },
}

impl FileMsg {
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn decode(text: &str) -> Result<Self, ProtocolError> {
        decode_limited(text)
    }

    /// The transfer this message is about.
    pub fn id(&self) -> Uuid {
        match self {
            Self::Offer { id, .. }
            | Self::Accept { id }
            | Self::Decline { id }
            | Self::Cancel { id }
            | Self::Done { id, .. }
            | Self::Received { id, .. } => *id,
        }
    }
}

/// Trims a display name and checks its length; `None` if it is unusable.
pub fn clean_name(name: &str) -> Option<String> {
    let name: String = name.chars().filter(|c| shown_as_is(*c)).collect();
    let name = name.trim().to_string();
    (!name.is_empty() && name.chars().count() <= MAX_NAME_CHARS).then_some(name)
}

/// A file name as it may be shown and saved: no path, no control or
/// direction characters, at most [`MAX_FILE_NAME_CHARS`].
pub fn clean_file_name(name: &str) -> Option<String> {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = last.chars().filter(|c| shown_as_is(*c)).take(MAX_FILE_NAME_CHARS).collect();
    let clean = clean.trim().to_string();
    (!clean.is_empty() && clean != "." && clean != "..").then_some(clean)
}

/// Whether a character may stand in a name shown to others: not a control
/// character, and not one that changes the direction of the text around
/// it (which would make `invoice\u{202e}fdp.exe` read as `invoiceexe.pdf`,
/// or push a name over its neighbours). Hangul, Arabic and every other
/// script show as they are; the browser orders them itself.
fn shown_as_is(c: char) -> bool {
    !c.is_control()
        && !matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests;
