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

    /// `history` messages that carry `messages`, each with at most
    /// [`HISTORY_BATCH`] of them and well under [`super::MAX_FRAME_BYTES`]
    /// when encoded (a batch of long Hangul messages could be ten times
    /// that), so every one passes the server in a forwarded room.
    pub fn history_batches(messages: &[ChatMessage]) -> Vec<Self> {
        const ROOM: usize = super::MAX_FRAME_BYTES / 2;
        let mut batches = Vec::new();
        let mut batch: Vec<ChatMessage> = Vec::new();
        let mut bytes = 0;
        for message in messages {
            let size = message.text.len() + message.name.len() + 128;
            if !batch.is_empty() && (batch.len() == HISTORY_BATCH || bytes + size > ROOM) {
                batches.push(Self::History { messages: std::mem::take(&mut batch) });
                bytes = 0;
            }
            bytes += size;
            batch.push(message.clone());
        }
        if !batch.is_empty() {
            batches.push(Self::History { messages: batch });
        }
        batches
    }
}

/// The largest file a browser sends or takes: a received file ends up
/// whole in a Blob.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// The longest file name a transfer may carry, in characters.
pub const MAX_FILE_NAME_CHARS: usize = 255;

/// How many bytes of a file one binary frame on the files channel carries
/// (after the 16-byte transfer id): small enough for every browser's
/// data-channel message limit.
pub const FILE_CHUNK_BYTES: usize = 64 * 1024;

/// A binary frame on the files channel starts with the transfer's id,
/// this long; the file's bytes follow.
pub const FILE_ID_BYTES: usize = 16;

/// The start of every binary frame of transfer `id`.
pub fn file_frame_head(id: Uuid) -> [u8; FILE_ID_BYTES] {
    id.into_bytes()
}

/// The transfer a binary frame belongs to, read from its start; `None`
/// when it is too short to have one.
pub fn file_frame_id(frame_start: &[u8]) -> Option<Uuid> {
    Uuid::from_slice(frame_start.get(..FILE_ID_BYTES)?).ok()
}

/// One whole binary frame: `bytes` (at most [`FILE_CHUNK_BYTES`]) of transfer `id`.
pub fn file_frame(id: Uuid, bytes: &[u8]) -> Vec<u8> {
    [&file_frame_head(id)[..], bytes].concat()
}

/// A binary frame's transfer and bytes.
pub fn parse_file_frame(frame: &[u8]) -> Option<(Uuid, &[u8])> {
    Some((file_frame_id(frame)?, &frame[FILE_ID_BYTES..]))
}

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
