//! The wire contract: everything the server and the browser, and two
//! browsers, say to each other, and the limits both sides keep.
//!
//! Both the server and the browser client compile this module, so no two
//! sides can disagree about a field name or a limit. `docs/protocol.md`
//! describes every message in prose with an example; a unit test parses
//! each of those examples.
//!
//! - [`signal`]: server ⇄ browser, JSON on the signaling websocket, and
//!   [`close`], its close codes;
//! - [`forward`]: server ⇄ browser in a forwarded room (its connection
//!   to the server's forwarding unit);
//! - [`peer`]: browser ⇄ browser, on the data channels (chat, its
//!   history, files);
//! - [`recording`]: the bodies and codes of the recordings' HTTP API.
//!
//! Decoding never panics: any frame the server receives goes through
//! [`ClientMsg::decode`], which answers with a typed [`ProtocolError`] that the
//! server sends back as [`ServerMsg::Error`].

pub mod close;
pub mod forward;
pub mod peer;
pub mod recording;
pub mod signal;

pub use close::CloseCode;
pub use forward::*;
pub use peer::*;
pub use signal::*;

use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

/// The largest frame either side accepts, in bytes. An SDP offer with many
/// tracks stays well under 16 KiB; 64 KiB leaves room without letting one
/// client make the server buffer megabytes.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// The largest `forward_offer`. A browser's offer in a forwarded room
/// lists every codec it knows on every transceiver, about 3 KB each, and a
/// room of eight with a screen shared needs twenty (over 64 KiB from
/// Chromium); the server reads only the codecs it forwards.
pub const MAX_OFFER_BYTES: usize = 3 * MAX_FRAME_BYTES;

/// The longest display name, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// The longest browser key (`device` in `join`) the server keeps; the
/// browser makes a 32-character one.
pub const MAX_DEVICE_CHARS: usize = 64;

/// The longest room password, in bytes.
pub const MAX_PASSWORD_BYTES: usize = 256;

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

/// A message of the contract, written as the JSON text frame it travels
/// in. (Serialising these plain types cannot fail.)
pub trait Encode: Serialize {
    fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl Encode for ClientMsg {}
impl Encode for ServerMsg {}
impl Encode for PeerMsg {}
impl Encode for FileMsg {}

/// Parses a data-channel message, refusing one over [`MAX_FRAME_BYTES`].
pub(crate) fn decode_limited<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ProtocolError> {
    if text.len() > MAX_FRAME_BYTES {
        return Err(ProtocolError::TooLarge(text.len()));
    }
    serde_json::from_str(text).map_err(|err| ProtocolError::Malformed(err.to_string()))
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
