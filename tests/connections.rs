//! Connections held open from outside, as a slowloris client or one busy
//! address would: a request head that never ends, a keep-alive connection
//! that says nothing more, a body that stops, and too many connections or
//! signaling sockets from one address.

mod support;

use moim::{protocol::RoomId, server::config::Config};
use std::time::{Duration, Instant};
use support::Server;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

fn impatient() -> Config {
    Config { http_header_timeout_secs: 1, http_body_timeout_secs: 1, ..Config::default() }
}

/// Reads until the server closes the connection; how long that took, if
/// it did within `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0; 4096];
    loop {
        match tokio::time::timeout_at((start + limit).into(), stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return Some(start.elapsed()),
            Ok(Ok(_)) => continue,
            Err(_) => return None,
        }
    }
}

#[tokio::test]
async fn a_request_head_that_never_ends_is_cut_off() {
    let server = Server::with(impatient()).await;
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n").await.unwrap();
    assert!(closed_within(&mut slow, Duration::from_secs(4)).await.is_some(), "held open");
}

#[tokio::test]
async fn a_keep_alive_connection_that_says_nothing_more_is_closed() {
    let server = Server::with(impatient()).await;
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    idle.write_all(format!("GET /healthless HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr).as_bytes()).await.unwrap();
    assert!(closed_within(&mut idle, Duration::from_secs(4)).await.is_some(), "held open after its answer");
}

#[tokio::test]
async fn a_body_that_stops_is_cut_off() {
    let server = Server::with(impatient()).await;
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "POST /r/{}/recordings HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\npassword=",
        RoomId::random(),
        server.addr
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    assert!(closed_within(&mut slow, Duration::from_secs(4)).await.is_some(), "held open");
}

#[tokio::test]
async fn one_address_holds_a_limited_number_of_connections() {
    let server = Server::with(Config { connections_per_address: 3, ..Config::default() }).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(server.addr).await.unwrap());
    }
    let mut fourth = TcpStream::connect(server.addr).await.unwrap();
    let closed = closed_within(&mut fourth, Duration::from_secs(2)).await;
    assert!(closed.is_some_and(|t| t < Duration::from_secs(1)), "closed at once: {closed:?}");
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(server.get("/").await.status, 200, "a place was given back");
}

#[tokio::test]
async fn one_address_holds_a_limited_number_of_signaling_sockets() {
    let server = Server::with(Config { sockets_per_address: 2, ..Config::default() }).await;
    let first = server.client().await;
    let _second = server.client().await;
    let third = tokio_tungstenite::connect_async(format!("ws://{}/ws", server.addr)).await;
    match third {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 429),
        other => panic!("expected 429, got {:?}", other.map(|_| ())),
    }
    drop(first);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _again = server.joined(RoomId::random(), "Again").await;
}
