//! The HTTP side of recordings: starting one, uploading its chunks,
//! stopping it, and serving the files (with range requests, so players can
//! seek). docs/protocol.md ("Recordings") has every request and answer.
//!
//! Who may do what:
//! - starting a recording takes a participant who is in the room now,
//!   shown by its id and resume token (what the browser already holds);
//! - a chunk or a stop takes the upload key made for that one recording;
//! - watching takes the room link, and when the room has a password, a
//!   cookie that the recordings page sets once the password was given.

use super::{
    edge::client_ip,
    recordings::{Meta, StoreError},
    secret::now_ms,
    AppState,
};
use crate::protocol::{
    recording::{
        Listing, Progress, RecordingItem, Refusal, Refused, StartRequest, Started, DURATION_HEADER, MAX_CHUNK_BYTES,
    },
    RoomId,
};
use axum::{
    body::{to_bytes, Body},
    extract::{ConnectInfo, Form, Path, Query, Request, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Redirect, Response},
    Json,
};
use serde::Deserialize;
use std::sync::Arc;
use tower_http::services::ServeFile;
use uuid::Uuid;

use super::listen::ClientAddr;

/// A refusal as the uploader reads it ([`Refusal`]), with its status.
fn refuse(code: Refused, message: impl Into<String>, expected: Option<u64>) -> Response {
    let status = StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(Refusal { error: code, message: message.into(), expected })).into_response()
}

impl IntoResponse for StoreError {
    fn into_response(self) -> Response {
        let message = self.to_string();
        match self {
            Self::Unknown => refuse(Refused::Unknown, message, None),
            Self::Gap { expected, .. } => refuse(Refused::Gap, message, Some(expected)),
            Self::Finished => refuse(Refused::Finished, message, None),
            Self::TooLarge => refuse(Refused::TooLarge, message, None),
            Self::Incomplete => refuse(Refused::Incomplete, message, None),
            Self::RoomFull(_) => refuse(Refused::RoomFull, message, None),
            Self::ServerFull(_) => refuse(Refused::ServerFull, message, None),
            Self::Io(err) => {
                tracing::error!(%err, "recording storage failed");
                refuse(Refused::Internal, "the server could not store it", None)
            }
        }
    }
}

fn unknown() -> Response {
    StoreError::Unknown.into_response()
}

/// Runs blocking store work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|err| Err(StoreError::Io(std::io::Error::other(err))))
}

fn parse_room(room: &str) -> Option<RoomId> {
    Uuid::try_parse(room).ok().map(RoomId)
}

/// `POST /api/rooms/{room}/recordings`: a participant starts a recording.
pub async fn start(
    State(state): State<AppState>,
    ConnectInfo(ClientAddr(peer)): ConnectInfo<ClientAddr>,
    Path(room): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(room) = parse_room(&room) else { return unknown() };
    let Ok(bytes) = to_bytes(body, 4096).await else {
        return refuse(Refused::TooLarge, "the request is too large", None);
    };
    let Ok(request) = serde_json::from_slice::<StartRequest>(&bytes) else {
        let text = "send { \"peer\": <your id>, \"token\": <your resume token> }".to_string();
        return refuse(Refused::Malformed, text, None);
    };
    let name = state.rooms.member_name(room, request.peer);
    let proven = state.fresh_resume(room, request.peer, &request.token, now_ms()).is_some();
    let Some(name) = name.filter(|_| proven) else {
        let text = "only a participant who is in the meeting may record it".to_string();
        return refuse(Refused::NotInRoom, text, None);
    };
    if !state.recording_starts.take(client_ip(peer.ip(), &headers, state.config.behind_proxy)) {
        let text = "this address has started too many recordings; try again later".to_string();
        return refuse(Refused::TooMany, text, None);
    }
    let store = state.recordings.clone();
    let by = request.peer;
    match blocking(move || store.create(room, name, by)).await {
        Ok(meta) => {
            let upload_token = state.secret.upload_token(meta.id);
            (StatusCode::CREATED, Json(Started { id: meta.id, upload_token })).into_response()
        }
        Err(err) => err.into_response(),
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "))
}

/// Why a chunk or a stop may not touch this recording, if it may not: it
/// must carry the recording's upload key, and its maker must not have been
/// removed from the room since (a key dies with that).
async fn upload_refused(state: &AppState, room: RoomId, id: Uuid, headers: &HeaderMap) -> Option<Response> {
    if !bearer(headers).is_some_and(|token| state.secret.verify_upload(id, token)) {
        return Some(refuse(Refused::BadKey, "this upload key is not for this recording", None));
    }
    let store = state.recordings.clone();
    let maker = tokio::task::spawn_blocking(move || store.video(room, id)).await.ok().flatten();
    let Some((_, meta)) = maker else { return Some(unknown()) };
    let stored = state.rooms.settings(room).await;
    if meta.by_peer.is_some_and(|peer| stored.is_removed(peer, None)) {
        let text = "a host removed the participant who made this recording".to_string();
        return Some(refuse(Refused::Removed, text, None));
    }
    None
}

fn progress(meta: Meta) -> Progress {
    Progress { chunks: meta.chunks, bytes: meta.bytes }
}

/// `PUT /api/rooms/{room}/recordings/{id}/chunks/{n}`: one chunk.
pub async fn chunk(
    State(state): State<AppState>,
    ConnectInfo(ClientAddr(peer)): ConnectInfo<ClientAddr>,
    Path((room, id, n)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (Some(room), Ok(id)) = (parse_room(&room), Uuid::try_parse(&id)) else { return unknown() };
    let Ok(n) = n.parse::<u64>() else {
        return refuse(Refused::Malformed, "a chunk number is a whole number", None);
    };
    if let Some(refused) = upload_refused(&state, room, id, &headers).await {
        return refused;
    }
    let ip = client_ip(peer.ip(), &headers, state.config.behind_proxy);
    let Some(_uploading) = state.uploads.take(ip) else {
        let text = "too many recordings are uploading right now; this chunk will be sent again".to_string();
        return refuse(Refused::Busy, text, None);
    };
    let duration = headers.get(DURATION_HEADER).and_then(|v| v.to_str().ok()?.parse::<u64>().ok()).unwrap_or(0);
    let Some(part) = state.recordings.incoming(room, id) else { return unknown() };
    let incoming = match Incoming::receive(body, part).await {
        Ok(incoming) => incoming,
        Err(err) => return err.into_response(),
    };
    let store = state.recordings.clone();
    let appended = blocking(move || {
        let file = std::fs::File::open(&incoming.path)?;
        store.append(room, id, n, std::io::BufReader::new(file), incoming.len, duration)
    });
    match appended.await {
        Ok(meta) => Json(progress(meta)).into_response(),
        Err(err) => err.into_response(),
    }
}

/// A chunk's body, written to a file as it arrives: only one read buffer
/// of it is in memory at a time, however large it is. The file goes when
/// this does.
struct Incoming {
    path: std::path::PathBuf,
    len: u64,
}

impl Incoming {
    async fn receive(body: Body, path: std::path::PathBuf) -> Result<Self, StoreError> {
        use futures_util::StreamExt;
        use tokio::io::AsyncWriteExt;
        let mut file = tokio::fs::File::create(&path).await?;
        let mut incoming = Self { path, len: 0 };
        let mut stream = body.into_data_stream();
        while let Some(piece) = stream.next().await {
            let piece = piece.map_err(|_| StoreError::Incomplete)?;
            incoming.len += piece.len() as u64;
            if incoming.len > MAX_CHUNK_BYTES as u64 {
                return Err(StoreError::TooLarge);
            }
            file.write_all(&piece).await?;
        }
        // tokio's file finishes its last write in the background otherwise.
        file.flush().await?;
        Ok(incoming)
    }
}

impl Drop for Incoming {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Chunk uploads in progress: at most [`Uploads::PER_ADDRESS`] from one
/// address and [`Uploads::IN_ALL`] in all. Bodies stream to disk (see
/// [`Incoming`]), so this bounds the disk they take while they arrive (128
/// MiB) and the blocking threads that copy them. Past that a chunk gets 429
/// `busy`, and the recorder sends it again after a pause.
#[derive(Clone)]
pub struct Uploads {
    per_address: super::serve::PerAddress,
    in_all: Arc<tokio::sync::Semaphore>,
}

impl Default for Uploads {
    fn default() -> Self {
        Self { per_address: Default::default(), in_all: Arc::new(tokio::sync::Semaphore::new(Self::IN_ALL)) }
    }
}

impl Uploads {
    pub const PER_ADDRESS: u32 = 4;
    pub const IN_ALL: usize = 16;

    fn take(&self, ip: std::net::IpAddr) -> Option<(super::serve::Slot, tokio::sync::OwnedSemaphorePermit)> {
        let slot = self.per_address.take(ip, Self::PER_ADDRESS)?;
        Some((slot, self.in_all.clone().try_acquire_owned().ok()?))
    }
}

/// Recordings one client address may start: anyone in a room can, and
/// each takes a folder and space until it is deleted.
pub const STARTS_BURST: u32 = 20;
/// …and then this many an hour.
pub const STARTS_PER_HOUR: u32 = 20;

/// `POST /api/rooms/{room}/recordings/{id}/finish`: the recorder stopped.
pub async fn finish(
    State(state): State<AppState>,
    Path((room, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let (Some(room), Ok(id)) = (parse_room(&room), Uuid::try_parse(&id)) else { return unknown() };
    if let Some(refused) = upload_refused(&state, room, id, &headers).await {
        return refused;
    }
    let store = state.recordings.clone();
    match blocking(move || store.finish(room, id)).await {
        Ok(meta) => Json(progress(meta)).into_response(),
        Err(err) => err.into_response(),
    }
}

/// The cookie that lets a browser watch a password-protected room's recordings.
fn viewer_cookie(room: RoomId) -> String {
    format!("moim-viewer-{}", room.0.simple())
}

/// Whether the request may see the recordings of `room`: always when the
/// room has no password, else with the cookie from [`unlock`].
pub async fn may_view(state: &AppState, room: RoomId, headers: &HeaderMap) -> bool {
    let stored = state.rooms.settings(room).await;
    if stored.unreadable {
        return false;
    }
    let Some(hash) = stored.password_hash else { return true };
    let name = viewer_cookie(room);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .any(|(key, value)| key == name && state.secret.verify_viewer(room, &hash, value))
}

/// The Recordings page's list (`protocol::recording::ListRecordings`):
/// nothing without the password of a room that has one.
pub async fn listing(state: AppState, room: RoomId, headers: HeaderMap) -> Listing {
    if !may_view(&state, room, &headers).await {
        return Listing::NeedsPassword;
    }
    let store = state.recordings.clone();
    let metas = tokio::task::spawn_blocking(move || store.list(room)).await.unwrap_or_default();
    let items = metas
        .into_iter()
        .map(|m| RecordingItem {
            id: m.id,
            by: m.by,
            started_ms: m.started_ms,
            duration_ms: m.duration_ms,
            bytes: m.bytes,
            finished: m.finished,
        })
        .collect();
    Listing::Shown(items)
}

#[derive(Deserialize)]
pub struct Download {
    #[serde(default)]
    download: Option<String>,
}

/// `GET /r/{room}/recordings/{id}.webm`: the file, with range requests;
/// `?download` makes it an attachment named after the room and the time.
pub async fn file(
    State(state): State<AppState>,
    Path((room, file)): Path<(String, String)>,
    Query(query): Query<Download>,
    request: Request,
) -> Response {
    let id = file.strip_suffix(".webm").and_then(|id| Uuid::try_parse(id).ok());
    let (Some(room), Some(id)) = (parse_room(&room), id) else { return unknown() };
    if !may_view(&state, room, request.headers()).await {
        let text = "enter the meeting's password on its recordings page first".to_string();
        return refuse(Refused::PasswordRequired, text, None);
    }
    let store = state.recordings.clone();
    let Ok(Some((path, meta))) = tokio::task::spawn_blocking(move || store.video(room, id)).await else {
        return unknown();
    };
    let mut response = match ServeFile::new(path).try_call(request).await {
        Ok(response) => response.map(Body::new),
        Err(err) => return StoreError::Io(err).into_response(),
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("video/webm"));
    // A recording may still grow while it is being recorded.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Opened on its own, the browser plays it in a page of its own making.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; media-src 'self'; frame-ancestors 'none'"),
    );
    if query.download.is_some() {
        let name = crate::shared::recording_file_name(room, meta.started_ms);
        if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
            headers.insert(header::CONTENT_DISPOSITION, value);
        }
    }
    response
}

/// `DELETE /r/{room}/recordings/{id}.webm`: a host deletes a recording,
/// with the room's host capability as `Authorization: Bearer …`.
pub async fn delete(
    State(state): State<AppState>,
    Path((room, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let id = file.strip_suffix(".webm").and_then(|id| Uuid::try_parse(id).ok());
    let (Some(room), Some(id)) = (parse_room(&room), id) else { return unknown() };
    let stored = state.rooms.settings(room).await;
    let grant = bearer(&headers).and_then(|token| state.secret.verify_host(room, token));
    if stored.unreadable || stored.host_grant(grant).is_none() {
        let text = "only a host of this meeting may delete its recordings".to_string();
        return refuse(Refused::NotHost, text, None);
    }
    let store = state.recordings.clone();
    match blocking(move || store.delete(room, id)).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(err) => err.into_response(),
    }
}

#[derive(Deserialize)]
pub struct Unlock {
    #[serde(default)]
    password: String,
}

/// `POST /r/{room}/recordings` (the recordings page's password form): a
/// right password sets the viewer cookie. Wrong ones count towards the
/// same brake as joining.
pub async fn unlock(
    State(state): State<AppState>,
    ConnectInfo(ClientAddr(peer)): ConnectInfo<ClientAddr>,
    Path(room): Path<String>,
    headers: HeaderMap,
    Form(form): Form<Unlock>,
) -> Response {
    let Some(room) = parse_room(&room) else { return unknown() };
    let page = format!("{}/recordings", room.path());
    let Some(hash) = state.rooms.settings(room).await.password_hash else {
        return Redirect::to(&page).into_response();
    };
    let ip = client_ip(peer.ip(), &headers, state.config.behind_proxy);
    let Ok(ticket) = state.password_work.reserve() else {
        return Redirect::to(&format!("{page}?error=wait&secs=1")).into_response();
    };
    if let Err(wait) = state.attempts.begin(ip, room) {
        return Redirect::to(&format!("{page}?error=wait&secs={}", wait.as_secs() + 1)).into_response();
    }
    let password = form.password;
    let checked = hash.clone();
    let right = password.len() <= crate::protocol::MAX_PASSWORD_BYTES
        && ticket.run(move || super::access::verify_password(&checked, &password)).await.unwrap_or(false);
    if !right {
        return Redirect::to(&format!("{page}?error=wrong")).into_response();
    }
    state.attempts.succeeded(ip, room);
    let cookie = format!(
        "{}={}; Path={}; HttpOnly; SameSite=Strict{}",
        viewer_cookie(room),
        state.secret.viewer_token(room, &hash),
        page,
        if state.config.tls.is_some() { "; Secure" } else { "" },
    );
    let mut response = Redirect::to(&page).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}
