//! The signaling socket: one websocket per participant.
//!
//! A plain axum route rather than a Leptos websocket server function: as of
//! server_fn 0.8.13 those upgrade with axum's defaults (64 MiB messages) and
//! drop frames when their queue is full, while signaling must refuse frames
//! over 64 KiB with a typed error and never drop a message silently. The
//! shared [`crate::protocol`] enums keep the typing that server functions
//! would give.
//!
//! Each socket is two tasks (as in axum's chat example): this one reads and
//! dispatches, keeping the per-connection state; a writer task drains the
//! participant's bounded outbox. When either ends, the other is ended too.

use super::{rooms::Member, AppState};
use crate::protocol::{
    clean_name, ClientMsg, ErrorCode, PeerId, PeerInfo, ProtocolError, RoomId, ServerMsg, MAX_FRAME_BYTES,
    PROTOCOL_VERSION,
};
use axum::{
    extract::{
        ws::{close_code, CloseFrame, Message, Utf8Bytes, WebSocket},
        State, WebSocketUpgrade,
    },
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use futures_util::{
    stream::{SplitSink, SplitStream},
    SinkExt, StreamExt,
};
use std::{ops::ControlFlow, sync::Arc, time::Duration};
use tokio::{
    sync::{mpsc, Notify},
    time::Instant,
};

/// Close code: the participant's outbox filled up; reconnect and resynchronise.
pub const CLOSE_TOO_SLOW: u16 = 4008;
/// Close code: nothing arrived for `idle_timeout_secs`.
pub const CLOSE_IDLE: u16 = 4000;
/// Close code: no `join` within `join_timeout_secs`.
pub const CLOSE_NO_JOIN: u16 = 4001;

/// Frames up to this size are read so they can be answered with a typed
/// `too_large` error; larger ones make the socket fail at once.
const READ_LIMIT: usize = 4 * MAX_FRAME_BYTES;

/// `GET /ws`: checks the origin and upgrades to the signaling socket.
pub async fn upgrade(ws: WebSocketUpgrade, State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !origin_allowed(&headers, &state.config.allowed_origins) {
        return (StatusCode::FORBIDDEN, "this origin may not open moim's signaling socket").into_response();
    }
    // Signaling frames are small: modest buffers keep thousands of idle
    // sockets cheap (axum's defaults reserve 128 KiB per socket for writing).
    ws.read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(READ_LIMIT)
        .max_message_size(READ_LIMIT)
        .max_frame_size(READ_LIMIT)
        .on_upgrade(move |socket| session(socket, state))
}

/// A browser always sends Origin; it must be this page's own (or allowed).
/// Clients that send none (not browsers) cannot be tricked by a foreign page.
fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else { return true };
    let Ok(origin) = origin.to_str() else { return false };
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(origin)) {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

async fn session(socket: WebSocket, state: AppState) {
    let (sink, stream) = socket.split();
    let (outbox, queue) = mpsc::channel(state.config.send_queue.max(8));
    let kick = Arc::new(Notify::new());
    let mut writer = tokio::spawn(write(sink, queue, kick.clone()));
    let mut conn = Connection { state, outbox, kick, joined: None };
    let writer_done = tokio::select! {
        _ = conn.read(stream) => false,
        _ = &mut writer => true,
    };
    conn.leave();
    drop(conn);
    if !writer_done {
        // Let the writer flush the last replies and the close frame.
        if tokio::time::timeout(Duration::from_secs(2), &mut writer).await.is_err() {
            writer.abort();
        }
    }
}

/// Drains the outbox into the socket until every sender is gone, a close
/// frame has been sent, or the server gives up on this participant.
async fn write(mut sink: SplitSink<WebSocket, Message>, mut queue: mpsc::Receiver<Message>, kick: Arc<Notify>) {
    loop {
        let msg = tokio::select! {
            msg = queue.recv() => msg,
            _ = kick.notified() => Some(close(CLOSE_TOO_SLOW, "too many messages waiting; reconnect")),
        };
        let Some(msg) = msg else { break };
        let closing = matches!(msg, Message::Close(_));
        if sink.send(msg).await.is_err() || closing {
            break;
        }
    }
    let _ = sink.close().await;
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame { code, reason: Utf8Bytes::from_static(reason) }))
}

/// The reading side of one socket, with its per-connection state.
struct Connection {
    state: AppState,
    outbox: mpsc::Sender<Message>,
    kick: Arc<Notify>,
    joined: Option<(RoomId, PeerId)>,
}

impl Connection {
    async fn read(&mut self, mut stream: SplitStream<WebSocket>) {
        let join_deadline = Instant::now() + self.state.config.join_timeout();
        loop {
            let deadline = match self.joined {
                Some(_) => Instant::now() + self.state.config.idle_timeout(),
                None => join_deadline,
            };
            let frame = match tokio::time::timeout_at(deadline, stream.next()).await {
                Err(_) if self.joined.is_some() => return self.send(close(CLOSE_IDLE, "idle for too long")),
                Err(_) => return self.send(close(CLOSE_NO_JOIN, "no join in time")),
                Ok(None) => return,
                Ok(Some(Err(err))) => {
                    self.state.reject(&err);
                    // tungstenite reports frames over READ_LIMIT as "too long".
                    return match err.to_string().contains("too long") {
                        true => self.send(close(close_code::SIZE, "frame too large")),
                        false => self.send(close(close_code::PROTOCOL, "websocket protocol error")),
                    };
                }
                Ok(Some(Ok(frame))) => frame,
            };
            let result = match frame {
                Message::Text(text) => ClientMsg::decode(&text),
                Message::Binary(_) => Err(ProtocolError::Binary),
                Message::Ping(_) | Message::Pong(_) => continue,
                Message::Close(_) => return,
            };
            match result {
                Ok(msg) => {
                    if self.handle(msg).is_break() {
                        return;
                    }
                }
                Err(err) => {
                    self.state.reject(&err);
                    self.reply(err.to_reply());
                    if err.code() == ErrorCode::TooLarge {
                        return self.send(close(close_code::SIZE, "frame too large"));
                    }
                }
            }
        }
    }

    fn handle(&mut self, msg: ClientMsg) -> ControlFlow<()> {
        match (msg, self.joined) {
            (ClientMsg::Ping, _) => self.reply(ServerMsg::Pong),
            (ClientMsg::Join { version, room, name, media }, None) => {
                if version != PROTOCOL_VERSION {
                    let text =
                        format!("this server speaks protocol {PROTOCOL_VERSION}, not {version}: reload the page");
                    return self.refuse(ErrorCode::Version, text);
                }
                let Some(name) = clean_name(&name) else {
                    return self.refuse(ErrorCode::BadName, "a name must have 1 to 64 characters");
                };
                let you = PeerId::random();
                let member = Member {
                    info: PeerInfo { id: you, name, media },
                    outbox: self.outbox.clone(),
                    kick: self.kick.clone(),
                };
                let ice_servers = self.state.config.ice_servers.clone();
                let welcome = |peers| ServerMsg::Welcome { version, you, room, peers, ice_servers };
                match self.state.rooms.join(room, member, self.state.config.room_capacity, welcome) {
                    Ok(()) => self.joined = Some((room, you)),
                    Err(err) => return self.refuse(ErrorCode::RoomFull, err.to_string()),
                }
            }
            (ClientMsg::Join { .. }, Some(_)) => {
                return self.refuse(ErrorCode::AlreadyJoined, "this socket has already joined a room")
            }
            (_, None) => return self.refuse(ErrorCode::NotJoined, "send join first"),
            (ClientMsg::Signal { to, signal }, Some((room, from))) => {
                if let Err(err) = self.state.rooms.relay(room, from, to, signal) {
                    return self.refuse(ErrorCode::UnknownPeer, err.to_string());
                }
            }
            (ClientMsg::Media { media }, Some((room, id))) => self.state.rooms.set_media(room, id, media),
            (ClientMsg::Leave, Some(_)) => {
                self.leave();
                self.send(close(close_code::NORMAL, "left"));
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    }

    fn refuse(&mut self, code: ErrorCode, message: impl Into<String>) -> ControlFlow<()> {
        let message = message.into();
        self.state.reject(&message);
        self.reply(ServerMsg::error(code, message));
        ControlFlow::Continue(())
    }

    fn reply(&self, msg: ServerMsg) {
        self.send(Message::Text(msg.encode().into()));
    }

    /// Queues a frame for this socket; a full queue means the client is not
    /// reading, and it is closed rather than silently missing the frame.
    fn send(&self, msg: Message) {
        if self.outbox.try_send(msg).is_err() {
            self.kick.notify_one();
        }
    }

    fn leave(&mut self) {
        if let Some((room, id)) = self.joined.take() {
            self.state.rooms.leave(room, id);
        }
    }
}
