//! The recordings' HTTP API (docs/protocol.md, "Recordings"): its paths,
//! the bodies both sides read and write, and the codes of its refusals.

use super::{PeerId, RoomId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The largest chunk accepted. A one-second slice of a 1080p recording is
/// well under 1 MB; 8 MiB leaves room for long slices.
pub const MAX_CHUNK_BYTES: usize = 8 * 1024 * 1024;

/// The header with the recording's length so far, in milliseconds.
pub const DURATION_HEADER: &str = "x-moim-duration-ms";

/// `POST`: start a recording of `room`.
pub fn start_path(room: RoomId) -> String {
    format!("/api/rooms/{room}/recordings")
}

/// `PUT`: chunk `n` of a recording.
pub fn chunk_path(room: RoomId, id: Uuid, n: u64) -> String {
    format!("/api/rooms/{room}/recordings/{id}/chunks/{n}")
}

/// `POST`: the recorder stopped.
pub fn finish_path(room: RoomId, id: Uuid) -> String {
    format!("/api/rooms/{room}/recordings/{id}/finish")
}

/// `GET` (watch, download) and `DELETE` (a host) a recording's file.
pub fn file_path(room: RoomId, id: Uuid) -> String {
    format!("{}/recordings/{id}.webm", room.path())
}

/// The body of a start: a participant who is in the room, shown by its
/// resume token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartRequest {
    pub peer: PeerId,
    pub token: String,
}

/// The answer to a start.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Started {
    pub id: Uuid,
    /// Goes with every chunk and the finish as `Authorization: Bearer …`.
    pub upload_token: String,
}

/// The answer to a chunk or a finish: what the server has stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub chunks: u64,
    pub bytes: u64,
}

/// A refusal's body: `{ "error": code, "message": … }`, plus `expected`
/// (the chunk to send next) for a gap.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub error: Refused,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<u64>,
}

/// Why a recordings request was refused; each goes with one HTTP status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refused {
    /// A start body that is not `{peer, token}`, a chunk number that is not a number.
    Malformed,
    /// Starting without being in the room (or with a wrong resume token).
    NotInRoom,
    /// Another recording's upload key.
    BadKey,
    /// A host removed the participant who made the recording.
    Removed,
    /// The file of a password room's recording, without the password.
    PasswordRequired,
    /// Deleting without being a host.
    NotHost,
    /// No such recording in this room.
    Unknown,
    /// The chunk's body broke off or paused too long.
    Incomplete,
    /// A chunk ahead of what the server has (`expected` says which to send).
    Gap,
    /// A chunk after the stop.
    Finished,
    /// A chunk over [`MAX_CHUNK_BYTES`].
    TooLarge,
    /// Too many recordings started from this address.
    TooMany,
    /// Too many chunks being received at once.
    Busy,
    /// The room's quota is used up.
    RoomFull,
    /// The server's quota is used up.
    ServerFull,
    /// The disk failed.
    Internal,
}

impl Refused {
    pub const ALL: [Self; 16] = [
        Self::Malformed,
        Self::NotInRoom,
        Self::BadKey,
        Self::Removed,
        Self::PasswordRequired,
        Self::NotHost,
        Self::Unknown,
        Self::Incomplete,
        Self::Gap,
        Self::Finished,
        Self::TooLarge,
        Self::TooMany,
        Self::Busy,
        Self::RoomFull,
        Self::ServerFull,
        Self::Internal,
    ];

    pub const fn status(self) -> u16 {
        match self {
            Self::Malformed => 400,
            Self::NotInRoom | Self::BadKey | Self::Removed | Self::PasswordRequired | Self::NotHost => 403,
            Self::Unknown => 404,
            Self::Incomplete => 408,
            Self::Gap | Self::Finished => 409,
            Self::TooLarge => 413,
            Self::TooMany | Self::Busy => 429,
            Self::RoomFull | Self::ServerFull => 507,
            Self::Internal => 500,
        }
    }

    /// Whether the same request may succeed later (the recorder sends it again).
    pub const fn passes(self) -> bool {
        matches!(self, Self::Incomplete | Self::Busy | Self::Internal)
    }
}

/// One recording as the page shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordingItem {
    pub id: Uuid,
    pub by: String,
    pub started_ms: u64,
    pub duration_ms: u64,
    pub bytes: u64,
    pub finished: bool,
}

/// What the Recordings page may show (rendered by the server, carried in
/// the page to the browser).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Listing {
    Shown(Vec<RecordingItem>),
    /// The room has a password this browser has not given yet.
    NeedsPassword,
    NoSuchRoom,
}

/// How the server lists a room's recordings for the Recordings page, for
/// the request being rendered (its headers carry the viewer cookie). The
/// server gives it to the page as context (`server.rs`): the page and the
/// server agree on this, and neither needs the other's modules.
#[cfg(feature = "ssr")]
#[derive(Clone)]
#[allow(clippy::type_complexity)]
pub struct ListRecordings(
    pub  std::sync::Arc<
        dyn Fn(RoomId, axum::http::HeaderMap) -> std::pin::Pin<Box<dyn std::future::Future<Output = Listing> + Send>>
            + Send
            + Sync,
    >,
);
