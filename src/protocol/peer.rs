//! Browser ⇄ browser: what the chat and files data channels carry
//! (docs/protocol.md, "Chat" and "Files"). The server never sees any of it.

use super::{clean_name, decode_limited, PeerId, ProtocolError};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

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

impl PeerMsg {
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
