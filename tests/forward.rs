//! The forwarding unit, from outside: a real server on 127.0.0.1:0, clients
//! that speak the signaling protocol, and str0m as a browser would offer.

mod support;

use moim::{
    protocol::{ChatMessage, ClientMsg, ErrorCode, PeerMsg, Published, RoomId, RoomMode, ServerMsg, Source},
    server::config::Config,
};
use std::time::Instant;
use str0m::{
    change::{SdpAnswer, SdpPendingOffer},
    media::{Direction, MediaKind},
    Rtc,
};
use support::{join, Client, Server};

fn mesh_up_to(people: usize) -> Config {
    let mut config = Config::default();
    config.forward.mesh_max = people;
    config
}

/// Joins and returns the client with the `mode` its welcome gave.
async fn enter(server: &Server, room: RoomId, name: &str) -> (Client, moim::protocol::PeerId, RoomMode) {
    let mut client = server.client().await;
    client.send(&join(room, name)).await;
    match client.recv().await {
        ServerMsg::Welcome { you, mode, .. } => (client, you, mode),
        other => panic!("expected welcome, got {other:?}"),
    }
}

/// An offer as a browser in a forwarded room makes: microphone and camera
/// to send, one slot of each kind to receive.
fn browser_offer() -> (Rtc, SdpPendingOffer, String, Vec<Published>) {
    str0m::crypto::from_feature_flags().install_process_default();
    let mut rtc = Rtc::builder().build(Instant::now());
    let mut change = rtc.sdp_api();
    let mic = change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
    let camera = change.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
    change.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
    change.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
    let (offer, pending) = change.apply().expect("an offer");
    let sending = vec![
        Published { mid: mic.to_string(), source: Source::Mic },
        Published { mid: camera.to_string(), source: Source::Camera },
    ];
    (rtc, pending, offer.to_sdp_string(), sending)
}

/// The next message that is not about someone joining or the room's mode.
async fn next_answer(client: &mut Client) -> ServerMsg {
    loop {
        match client.recv().await {
            ServerMsg::PeerJoined { .. } | ServerMsg::Mode { .. } | ServerMsg::ForwardSlots { .. } => continue,
            other => return other,
        }
    }
}

#[tokio::test]
async fn a_mesh_room_refuses_forwarded_media_and_chat() {
    let server = Server::with(mesh_up_to(4)).await;
    let room = RoomId::random();
    let (mut alice, _, mode) = enter(&server, room, "Alice").await;
    assert_eq!(mode, RoomMode::Mesh);
    let (_, _, sdp, sending) = browser_offer();
    alice.send(&ClientMsg::ForwardOffer { sdp, sending }).await;
    assert!(matches!(alice.recv().await, ServerMsg::Error { code: ErrorCode::NotForwarded, .. }));
    alice.send(&ClientMsg::Chat { to: None, msg: PeerMsg::HistoryRequest }).await;
    assert!(matches!(alice.recv().await, ServerMsg::Error { code: ErrorCode::NotForwarded, .. }));
}

#[tokio::test]
async fn one_more_than_mesh_max_moves_the_room_and_it_stays_moved() {
    let server = Server::with(mesh_up_to(2)).await;
    let room = RoomId::random();
    let (mut alice, _, first) = enter(&server, room, "Alice").await;
    let (mut bob, _, second) = enter(&server, room, "Bob").await;
    assert_eq!((first, second), (RoomMode::Mesh, RoomMode::Mesh));
    alice.joined("Bob").await;
    let (carol, _, third) = enter(&server, room, "Carol").await;
    assert_eq!(third, RoomMode::Forwarded, "the third of mesh_max 2 finds the room forwarded");
    for client in [&mut alice, &mut bob] {
        assert_eq!(client.recv().await, ServerMsg::Mode { mode: RoomMode::Forwarded }, "before peer_joined");
        client.joined("Carol").await;
    }
    // Shrinking does not move it back.
    drop(carol);
    let (_, _, again) = enter(&server, room, "Dan").await;
    assert_eq!(again, RoomMode::Forwarded);
}

#[tokio::test]
async fn offers_are_answered_and_junk_is_refused_without_harm() {
    let server = Server::with(mesh_up_to(1)).await;
    let room = RoomId::random();
    let (mut alice, _, _) = enter(&server, room, "Alice").await;
    let (mut bob, _, mode) = enter(&server, room, "Bob").await;
    assert_eq!(mode, RoomMode::Forwarded);

    bob.send(&ClientMsg::ForwardOffer { sdp: "not sdp at all".into(), sending: Vec::new() }).await;
    assert!(matches!(next_answer(&mut bob).await, ServerMsg::Error { code: ErrorCode::Malformed, .. }));
    let (_, _, sdp, mut sending) = browser_offer();
    sending.push(sending[0].clone());
    bob.send(&ClientMsg::ForwardOffer { sdp, sending }).await;
    assert!(
        matches!(next_answer(&mut bob).await, ServerMsg::Error { code: ErrorCode::Malformed, .. }),
        "a transceiver named twice"
    );

    let (mut rtc, pending, sdp, sending) = browser_offer();
    bob.send(&ClientMsg::ForwardOffer { sdp, sending }).await;
    let ServerMsg::ForwardAnswer { sdp: answer } = next_answer(&mut bob).await else { panic!("no answer") };
    assert!(answer.contains("a=ice-lite"), "{answer}");
    let port: u16 = answer
        .lines()
        .find_map(|line| {
            let candidate = line.strip_prefix("a=candidate:")?;
            let fields: Vec<&str> = candidate.split(' ').collect();
            (fields.get(4) == Some(&"127.0.0.1")).then(|| fields[5].parse().ok()).flatten()
        })
        .expect("a host candidate on 127.0.0.1");
    let answer = SdpAnswer::from_sdp_string(&answer).expect("the answer is SDP");
    rtc.sdp_api().accept_answer(pending, answer).expect("a browser would take it");

    // Junk on the UDP port: nothing breaks, and the next offer is answered.
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for n in 0..200u8 {
        let junk: Vec<u8> = (0..(n as usize * 7 % 1400)).map(|i| (i as u8).wrapping_mul(n)).collect();
        udp.send_to(&junk, ("127.0.0.1", port)).await.unwrap();
    }
    let (_, _, sdp, sending) = browser_offer();
    alice.send(&ClientMsg::ForwardOffer { sdp, sending }).await;
    assert!(matches!(next_answer(&mut alice).await, ServerMsg::ForwardAnswer { .. }));
}

#[tokio::test]
async fn chat_through_the_server_names_its_true_sender() {
    let server = Server::with(mesh_up_to(1)).await;
    let room = RoomId::random();
    let (mut alice, alice_id, _) = enter(&server, room, "Alice").await;
    let (mut bob, _, _) = enter(&server, room, "Bob").await;
    let (mut mallory, mallory_id, _) = enter(&server, room, "Mallory").await;
    let forged = ChatMessage {
        id: uuid::Uuid::new_v4(),
        from: alice_id,
        name: "Alice".into(),
        time: 1.0,
        text: "I resign".into(),
    };
    mallory.send(&ClientMsg::Chat { to: None, msg: PeerMsg::Chat { message: forged.clone() } }).await;
    for client in [&mut alice, &mut bob] {
        let got = loop {
            match client.recv().await {
                ServerMsg::Chat { from, msg } => break (from, msg),
                _ => continue,
            }
        };
        assert_eq!(got, (mallory_id, PeerMsg::Chat { message: forged.clone() }), "from is the server's word");
    }
    // Nobody outside the room can be reached.
    let stranger = moim::protocol::PeerId::random();
    mallory.send(&ClientMsg::Chat { to: Some(stranger), msg: PeerMsg::HistoryRequest }).await;
    assert!(matches!(next_answer(&mut mallory).await, ServerMsg::Error { code: ErrorCode::UnknownPeer, .. }));
}

#[tokio::test]
async fn past_max_participants_the_unit_takes_no_new_connection() {
    let mut config = mesh_up_to(1);
    config.forward.max_participants = 1;
    let server = Server::with(config).await;
    let room = RoomId::random();
    let (mut alice, _, _) = enter(&server, room, "Alice").await;
    let (mut bob, _, _) = enter(&server, room, "Bob").await;
    let (_, _, sdp, sending) = browser_offer();
    alice.send(&ClientMsg::ForwardOffer { sdp, sending }).await;
    assert!(matches!(next_answer(&mut alice).await, ServerMsg::ForwardAnswer { .. }));
    let (_, _, sdp, sending) = browser_offer();
    bob.send(&ClientMsg::ForwardOffer { sdp, sending }).await;
    assert!(matches!(next_answer(&mut bob).await, ServerMsg::Error { code: ErrorCode::RoomFull, .. }));
    // Another offer on Alice's connection (a renegotiation, an ICE
    // restart) is no new connection: not refused as full.
    let (_, _, sdp, sending) = browser_offer();
    alice.send(&ClientMsg::ForwardOffer { sdp, sending }).await;
    assert!(!matches!(next_answer(&mut alice).await, ServerMsg::Error { code: ErrorCode::RoomFull, .. }));
}
