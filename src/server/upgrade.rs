//! `GET /ws`: the HTTP side of the signaling socket. `edge::guard` has
//! checked its name and origin; here the address's socket count is taken
//! and the websocket is sized, then `signal.rs` runs the session.
//!
//! A plain axum route rather than a Leptos websocket server function: as of
//! server_fn 0.8.13 those upgrade with axum's defaults (64 MiB messages) and
//! drop frames when their queue is full, while signaling must refuse frames
//! over 64 KiB with a typed error and never drop a message silently. The
//! shared [`crate::protocol`] enums keep the typing that server functions
//! would give.

use super::{edge::client_ip, listen::ClientAddr, signal::session, AppState};
use crate::protocol::MAX_FRAME_BYTES;
use axum::{
    extract::{ConnectInfo, State, WebSocketUpgrade},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};

/// Frames up to this size are read so they can be answered with a typed
/// `too_large` error; larger ones make the socket fail at once.
const READ_LIMIT: usize = 4 * MAX_FRAME_BYTES;

/// `GET /ws`: upgrades to the signaling socket.
pub async fn upgrade(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    ConnectInfo(ClientAddr(peer)): ConnectInfo<ClientAddr>,
    headers: HeaderMap,
) -> Response {
    let ip = client_ip(peer.ip(), &headers, state.config.behind_proxy);
    let Some(slot) = state.sockets.take(ip, state.config.sockets_per_address) else {
        let text = "too many signaling sockets from this address";
        return (StatusCode::TOO_MANY_REQUESTS, text).into_response();
    };
    // Signaling frames are small: modest buffers keep thousands of idle
    // sockets cheap (axum's defaults reserve 128 KiB per socket for reading
    // and writing). The read buffer grows when a large SDP arrives; 1 KiB
    // instead of 4 KiB saves 2 KB per idle socket (make bench, section 3).
    ws.read_buffer_size(1024)
        .write_buffer_size(0)
        .max_write_buffer_size(READ_LIMIT)
        .max_message_size(READ_LIMIT)
        .max_frame_size(READ_LIMIT)
        .on_upgrade(move |socket| session(socket, state, ip, slot))
}
