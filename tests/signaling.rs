//! The signaling server, end to end over real websockets.

mod support;

use moim::{
    protocol::{ClientMsg, CloseCode, Encode, ErrorCode, PeerId, RoomId, SdpType, ServerMsg, Signal, MAX_FRAME_BYTES},
    server::config::Config,
};
use support::{join, Server};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};

fn offer() -> Signal {
    Signal::Description { sdp_type: SdpType::Offer, sdp: "v=0\r\n".into() }
}

fn error_code(msg: ServerMsg) -> ErrorCode {
    match msg {
        ServerMsg::Error { code, message, .. } => {
            assert!(!message.is_empty(), "errors carry a sentence");
            code
        }
        other => panic!("expected an error, got {other:?}"),
    }
}

#[tokio::test]
async fn joiners_get_the_peer_list_and_the_room_hears_of_them() {
    let server = Server::start().await;
    let room = RoomId::random();
    let (mut ada, ada_id, peers) = server.joined(room, "Ada").await;
    assert!(peers.is_empty());

    let (_grace, grace_id, peers) = server.joined(room, "Grace").await;
    assert_eq!(peers.len(), 1);
    assert_eq!((peers[0].id, peers[0].name.as_str()), (ada_id, "Ada"));

    match ada.recv().await {
        ServerMsg::PeerJoined { peer } => assert_eq!((peer.id, peer.name.as_str()), (grace_id, "Grace")),
        other => panic!("expected peer_joined, got {other:?}"),
    }
}

#[tokio::test]
async fn signals_reach_one_peer_and_never_another_room() {
    let server = Server::start().await;
    let room = RoomId::random();
    let (mut ada, ada_id, _) = server.joined(room, "Ada").await;
    let (mut grace, grace_id, _) = server.joined(room, "Grace").await;
    let (mut linus, _, _) = server.joined(room, "Linus").await;
    let (mut other, _, peers) = server.joined(RoomId::random(), "Elsewhere").await;
    assert!(peers.is_empty(), "a room is not shared with another");

    ada.joined("Grace").await;
    ada.joined("Linus").await;
    ada.send(&ClientMsg::Signal { to: grace_id, signal: offer() }).await;
    grace.joined("Linus").await;
    assert_eq!(grace.recv().await, ServerMsg::Signal { from: ada_id, signal: offer() });

    linus.expect_nothing_pending().await;
    other.expect_nothing_pending().await;

    // The other room cannot address Ada even knowing her id.
    other.send(&ClientMsg::Signal { to: ada_id, signal: offer() }).await;
    assert_eq!(error_code(other.recv().await), ErrorCode::UnknownPeer);
    ada.expect_nothing_pending().await;
}

#[tokio::test]
async fn malformed_frames_get_typed_errors_and_the_socket_survives() {
    let server = Server::start().await;
    let (mut ada, _, _) = server.joined(RoomId::random(), "Ada").await;
    let cases: &[(&str, ErrorCode)] = &[
        ("garbage", ErrorCode::Malformed),
        (r#"{"type":"teleport"}"#, ErrorCode::UnknownType),
        (r#"{"type":"signal","to":"nope"}"#, ErrorCode::Malformed),
        (r#"{"type":"join","version":1}"#, ErrorCode::Malformed),
    ];
    for (frame, code) in cases {
        ada.send_text(frame).await;
        assert_eq!(error_code(ada.recv().await), *code, "{frame}");
    }
    use futures_util::SinkExt;
    ada.ws.send(Message::binary(vec![1, 2, 3])).await.unwrap();
    assert_eq!(error_code(ada.recv().await), ErrorCode::Binary);

    ada.send(&ClientMsg::Signal { to: PeerId::random(), signal: offer() }).await;
    assert_eq!(error_code(ada.recv().await), ErrorCode::UnknownPeer);
    ada.send(&join(RoomId::random(), "Ada")).await;
    assert_eq!(error_code(ada.recv().await), ErrorCode::AlreadyJoined);

    ada.expect_nothing_pending().await;
}

#[tokio::test]
async fn messages_before_join_and_bad_joins_are_refused() {
    let server = Server::start().await;
    let mut client = server.client().await;
    client.send(&ClientMsg::Media { media: Default::default() }).await;
    assert_eq!(error_code(client.recv().await), ErrorCode::NotJoined);
    client.send(&join(RoomId::random(), "   ")).await;
    assert_eq!(error_code(client.recv().await), ErrorCode::BadName);
    client
        .send_text(&format!(
            r#"{{"type":"join","version":999,"room":"{}","name":"Ada","media":{{"audio":true,"video":true}}}}"#,
            RoomId::random()
        ))
        .await;
    assert_eq!(error_code(client.recv().await), ErrorCode::Version);
    client.expect_nothing_pending().await;
}

#[tokio::test]
async fn oversized_frames_are_refused_and_the_socket_closed() {
    let server = Server::start().await;
    let (mut ada, _, _) = server.joined(RoomId::random(), "Ada").await;
    let big = format!(r#"{{"type":"ping","pad":"{}"}}"#, "x".repeat(MAX_FRAME_BYTES));
    ada.send_text(&big).await;
    assert_eq!(error_code(ada.recv().await), ErrorCode::TooLarge);
    let frame = ada.closed().await.expect("a close frame");
    assert_eq!(u16::from(frame.code), CloseCode::TooLarge.code());
}

#[tokio::test]
async fn a_closed_socket_makes_the_others_see_peer_left() {
    let server = Server::with(Config { resume_grace_secs: 1, ..Config::default() }).await;
    let room = RoomId::random();
    let (mut ada, _, _) = server.joined(room, "Ada").await;
    let (grace, grace_id, _) = server.joined(room, "Grace").await;
    ada.joined("Grace").await;
    drop(grace); // no close handshake: like a crashed tab; gone once the grace period ends
    assert_eq!(ada.recv().await, ServerMsg::PeerLeft { id: grace_id });

    let (mut linus, linus_id, _) = server.joined(room, "Linus").await;
    ada.joined("Linus").await;
    linus.send(&ClientMsg::Leave).await;
    assert_eq!(linus.closed().await.map(|f| u16::from(f.code)), Some(CloseCode::Left.code()));
    assert_eq!(ada.recv().await, ServerMsg::PeerLeft { id: linus_id });
}

#[tokio::test]
async fn media_changes_reach_the_others() {
    let server = Server::start().await;
    let room = RoomId::random();
    let (mut ada, ada_id, _) = server.joined(room, "Ada").await;
    let (mut grace, _, _) = server.joined(room, "Grace").await;
    ada.joined("Grace").await;
    let muted = moim::protocol::MediaState { audio: false, video: true, screen: false, recording: false };
    ada.send(&ClientMsg::Media { media: muted }).await;
    assert_eq!(grace.recv().await, ServerMsg::Media { id: ada_id, media: muted });
    ada.expect_nothing_pending().await;
    // A newcomer learns the state from the peer list.
    let (_linus, _, peers) = server.joined(room, "Linus").await;
    assert_eq!(peers.iter().find(|p| p.id == ada_id).map(|p| p.media), Some(muted));
}

#[tokio::test]
async fn a_full_room_refuses_the_next_person() {
    let server = Server::with(Config { room_capacity: 2, ..Config::default() }).await;
    let room = RoomId::random();
    let _a = server.joined(room, "A").await;
    let _b = server.joined(room, "B").await;
    let mut c = server.client().await;
    c.send(&join(room, "C")).await;
    match c.recv().await {
        ServerMsg::Error { code: ErrorCode::RoomFull, capacity, .. } => {
            assert_eq!(capacity, Some(2), "the size, typed")
        }
        other => panic!("expected room_full, got {other:?}"),
    }
}

#[tokio::test]
async fn a_foreign_origin_cannot_open_the_socket() {
    let server = Server::start().await;
    let mut request = format!("ws://{}/ws", server.addr).into_client_request().unwrap();
    request.headers_mut().insert("Origin", "https://evil.example".parse().unwrap());
    assert!(tokio_tungstenite::connect_async(request).await.is_err());

    let mut request = format!("ws://{}/ws", server.addr).into_client_request().unwrap();
    request.headers_mut().insert("Origin", format!("http://{}", server.addr).parse().unwrap());
    assert!(tokio_tungstenite::connect_async(request).await.is_ok());
}

#[tokio::test]
async fn a_socket_that_never_joins_is_closed() {
    let server = Server::with(Config { join_timeout_secs: 1, ..Config::default() }).await;
    let mut client = server.client().await;
    let frame = client.closed().await.expect("a close frame");
    assert_eq!(u16::from(frame.code), CloseCode::NoJoin.code());
}

#[tokio::test]
async fn a_silent_participant_is_dropped_and_the_room_told() {
    let server = Server::with(Config { idle_timeout_secs: 1, ..Config::default() }).await;
    let room = RoomId::random();
    let (mut silent, silent_id, _) = server.joined(room, "Silent").await;
    let (mut chatty, _, _) = server.joined(room, "Chatty").await;
    // Chatty keeps talking; Silent says nothing and is closed as idle.
    let frame = tokio::join!(silent.closed(), async {
        for _ in 0..3 {
            tokio::time::sleep(std::time::Duration::from_millis(400)).await;
            chatty.send(&ClientMsg::Ping).await;
        }
    })
    .0
    .expect("a close frame");
    assert_eq!(u16::from(frame.code), CloseCode::Idle.code());
    loop {
        match chatty.recv().await {
            ServerMsg::Pong => continue,
            other => break assert_eq!(other, ServerMsg::PeerLeft { id: silent_id }),
        }
    }
}

#[tokio::test]
async fn a_flood_is_refused_with_rate_limited_and_then_closed() {
    let server = Server::with(Config { rate_per_sec: 1, rate_burst: 5, ..Config::default() }).await;
    let room = RoomId::random();
    let (mut flood, _, _) = server.joined(room, "Flood").await; // the join took one token
    for _ in 0..4 {
        flood.send(&ClientMsg::Ping).await;
        assert_eq!(flood.recv().await, ServerMsg::Pong, "within the burst");
    }
    flood.send(&ClientMsg::Ping).await;
    match flood.recv().await {
        ServerMsg::Error { code: ErrorCode::RateLimited, message, retry_after_ms, .. } => {
            assert!(message.contains("try again in"), "{message}");
            assert!(retry_after_ms.is_some(), "the wait, typed");
        }
        other => panic!("expected rate_limited, got {other:?}"),
    }
    // Going on regardless: a burst's worth of refusals, then the socket is closed.
    for _ in 0..5 {
        flood.send_text(&ClientMsg::Ping.encode()).await;
    }
    let frame = flood.closed().await.expect("a close frame");
    assert_eq!(u16::from(frame.code), CloseCode::TooFast.code());
}

#[tokio::test]
async fn a_name_cannot_turn_the_text_around_it() {
    let server = Server::start().await;
    let room = RoomId::random();
    let (mut ada, _, _) = server.joined(room, "Ada").await;
    // U+202E turns what follows around: "Eve" and then "admin", reversed.
    let _eve = server.joined(room, "Eve\u{202e}nimda").await;
    match ada.recv().await {
        ServerMsg::PeerJoined { peer } => assert_eq!(peer.name, "Evenimda"),
        other => panic!("expected peer_joined, got {other:?}"),
    }
}
