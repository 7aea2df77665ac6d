//! Floods from one socket, as an attacker with a raw websocket would send
//! them: a burst far past the limit must be answered (`rate_limited`, then
//! close 4029) rather than cut off, and websocket pings are messages too.

mod support;

use futures_util::{SinkExt, StreamExt};
use moim::{
    protocol::{ClientMsg, CloseCode, Encode, ErrorCode, RoomId, ServerMsg},
    server::config::Config,
};
use std::time::Duration;
use support::Server;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn a_burst_of_700_is_answered_and_then_closed_with_its_code() {
    let server = Server::start().await;
    let (mut flood, _, _) = server.joined(RoomId::random(), "Flood").await;
    // All 700 go out before a single answer is read.
    let ping = ClientMsg::Ping.encode();
    for _ in 0..700 {
        flood.ws.feed(Message::text(ping.clone())).await.unwrap();
    }
    flood.ws.flush().await.unwrap();
    let (mut pongs, mut refused) = (0, 0);
    let close = loop {
        match flood.next().await {
            Some(Message::Text(text)) => match ServerMsg::decode(&text).unwrap() {
                ServerMsg::Pong => pongs += 1,
                ServerMsg::Error { code: ErrorCode::RateLimited, .. } => refused += 1,
                other => panic!("unexpected {other:?}"),
            },
            Some(Message::Close(frame)) => break frame,
            Some(_) => {}
            None => panic!("the connection was cut after {pongs} pongs and {refused} refusals, with no close frame"),
        }
    };
    assert!(pongs >= 199, "the burst is served: {pongs}, {refused}, {close:?}");
    assert!(refused >= 200, "then each message is refused: {refused}");
    assert_eq!(close.map(|f| u16::from(f.code)), Some(CloseCode::TooFast.code()));
}

#[tokio::test]
async fn websocket_pings_count_against_the_rate() {
    let server = Server::with(Config { rate_per_sec: 1, rate_burst: 5, ..Config::default() }).await;
    let (mut flood, _, _) = server.joined(RoomId::random(), "Flood").await;
    for _ in 0..20 {
        flood.ws.send(Message::Ping(Vec::new().into())).await.unwrap();
    }
    // Five pass (the burst), then each is refused, and after a burst's
    // worth of refusals the socket is closed.
    let mut refused = 0;
    let close = loop {
        match flood.next().await {
            Some(Message::Text(text)) => {
                if let Ok(ServerMsg::Error { code: ErrorCode::RateLimited, .. }) = ServerMsg::decode(&text) {
                    refused += 1;
                }
            }
            Some(Message::Close(frame)) => break frame,
            Some(_) => {}
            None => panic!("cut off after {refused} refusals"),
        }
    };
    assert!(refused >= 5, "{refused}");
    assert_eq!(close.map(|f| u16::from(f.code)), Some(CloseCode::TooFast.code()));
}

#[tokio::test]
async fn websocket_pings_do_not_keep_a_silent_participant_in() {
    let server = Server::with(Config { idle_timeout_secs: 1, ..Config::default() }).await;
    let (mut silent, _, _) = server.joined(RoomId::random(), "Silent").await;
    // A ping frame every 200 ms for 4 s, and no message.
    let mut closed = None;
    'pinging: for _ in 0..20 {
        silent.ws.send(Message::Ping(Vec::new().into())).await.unwrap();
        let until = tokio::time::Instant::now() + Duration::from_millis(200);
        while let Ok(frame) = tokio::time::timeout_at(until, silent.ws.next()).await {
            match frame {
                Some(Ok(Message::Close(frame))) => {
                    closed = frame.map(|f| u16::from(f.code));
                    break 'pinging;
                }
                Some(Ok(_)) => {}
                _ => break 'pinging,
            }
        }
    }
    assert_eq!(closed, Some(CloseCode::Idle.code()), "pings alone do not put off the idle deadline");
}
