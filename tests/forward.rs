//! The forwarding unit, from outside: a real server on 127.0.0.1:0, clients
//! that speak the signaling protocol, and str0m as a browser would offer.

mod support;

use moim::{
    protocol::{ChatMessage, ClientMsg, ErrorCode, PeerMsg, Published, RoomId, RoomMode, ServerMsg, Source},
    server::config::Config,
};
use std::time::{Duration, Instant};
use str0m::{
    change::{SdpAnswer, SdpPendingOffer},
    media::{Direction, MediaKind},
    Rtc,
};
use support::{
    join,
    synthetic::{Heard, Options, Synthetic},
    Client, Server,
};

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
    // Longer than other frames may be (a browser's offer lists every codec
    // it has): read, and refused for what it says, not for its size.
    let long = format!("v=0\r\n{}", "a=x\r\n".repeat(25_000));
    bob.send(&ClientMsg::ForwardOffer { sdp: long, sending: Vec::new() }).await;
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

/// The signaling socket's address, for synthetic participants.
fn ws_url(server: &Server) -> String {
    format!("ws://{}/ws", server.addr)
}

/// Synthetic participants, one after the other, in one room.
async fn synthetic_room(server: &Server, room: RoomId, people: Vec<Options>) -> Vec<Synthetic> {
    let mut joined = Vec::new();
    for options in people {
        joined.push(Synthetic::join(&ws_url(server), room, options).await.expect("joined"));
    }
    joined
}

/// Waits until `receiver` has heard at least `audio` packets and `frames`
/// camera frames from `sender` more than it had in `since`.
async fn hears(receiver: &Synthetic, sender: &Synthetic, since: &Heard, audio: u64, frames: u64) {
    let (audio0, frames0) = (since.audio.distinct, since.video.distinct);
    let heard = receiver
        .until(Duration::from_secs(10), |state| {
            let heard = state.from(sender.id);
            heard.audio.distinct >= audio0 + audio && heard.video.distinct >= frames0 + frames
        })
        .await;
    assert!(
        heard,
        "{} heard too little from {} in 10 s: {:?}",
        receiver.name,
        sender.name,
        receiver.with(|state| format!("{:?}; slots {:?}", state.from(sender.id), state.slots))
    );
}

#[tokio::test]
async fn three_synthetic_participants_each_receive_the_other_twos_media() {
    let server = Server::with(mesh_up_to(1)).await;
    let room = RoomId::random();
    // Ann shows every camera small, Ben big, Cat says nothing.
    let people = synthetic_room(
        &server,
        room,
        vec![
            Options { view: Some((320, 180)), ..Options::publisher("Ann") },
            Options { view: Some((1280, 720)), ..Options::publisher("Ben") },
            Options::publisher("Cat"),
        ],
    )
    .await;
    for receiver in &people {
        for sender in people.iter().filter(|sender| sender.id != receiver.id) {
            hears(receiver, sender, &Heard::default(), 25, 10).await;
        }
    }
    // Each gets the layer that fits how it shows the camera: the smallest
    // that fills the tile; the middle one with no word.
    for (receiver, layer) in people.iter().zip([0, 2, 1]) {
        for sender in people.iter().filter(|sender| sender.id != receiver.id) {
            let since = receiver.with(|state| state.from(sender.id).layers[layer]);
            let got = receiver
                .until(Duration::from_secs(10), |state| state.from(sender.id).layers[layer] >= since + 10)
                .await;
            assert!(
                got,
                "{} gets layer {layer} of {}: {:?}",
                receiver.name,
                sender.name,
                receiver.with(|s| s.from(sender.id))
            );
        }
    }
    for person in &people {
        person.with(|state| {
            assert_eq!(state.failed, None, "{}", person.name);
            assert_eq!(
                (state.misrouted, state.unmarked),
                (0, 0),
                "{}: every payload came on its sender's slot",
                person.name
            );
            assert!(state.errors.is_empty(), "{}: {:?}", person.name, state.errors);
        });
    }
}

#[tokio::test]
async fn a_removed_participants_media_stops_reaching_the_others() {
    let server = Server::with(mesh_up_to(1)).await;
    let room = RoomId::random();
    let people = synthetic_room(
        &server,
        room,
        vec![Options::publisher("Host"), Options::publisher("Guest"), Options::publisher("Troll")],
    )
    .await;
    let [host, guest, troll] = &people[..] else { unreachable!() };
    assert!(host.host_token.is_some(), "the first to join is host");
    for (receiver, sender) in [(host, guest), (host, troll), (guest, host), (guest, troll)] {
        hears(receiver, sender, &Heard::default(), 25, 5).await;
    }

    host.send(ClientMsg::Remove { id: troll.id });
    let told = troll.until(Duration::from_secs(5), |state| state.errors.contains(&ErrorCode::Removed) && state.closed);
    assert!(told.await, "the troll is told and its socket closed: {:?}", troll.with(|s| s.errors.clone()));
    for other in [host, guest] {
        assert!(other.until(Duration::from_secs(5), |state| state.left.contains(&troll.id)).await, "{}", other.name);
    }
    // Packets already on their way may still land; from here on, none.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before: Vec<Heard> = [host, guest].iter().map(|other| other.with(|state| state.from(troll.id))).collect();
    let pushed = troll.with(|state| state.sent.rtp);

    // The two who stay keep hearing each other while the troll keeps
    // pushing RTP at the server's port.
    let (host_heard, guest_heard) = (host.with(|s| s.from(guest.id)), guest.with(|s| s.from(host.id)));
    hears(host, guest, &host_heard, 50, 15).await;
    hears(guest, host, &guest_heard, 50, 15).await;
    let kept_pushing = troll.until(Duration::from_secs(5), |state| state.sent.rtp >= pushed + 200).await;
    assert!(kept_pushing, "the troll went on sending: {} RTP packets", troll.with(|s| s.sent.rtp) - pushed);

    for (other, before) in [host, guest].iter().zip(before) {
        let after = other.with(|state| state.from(troll.id));
        assert_eq!(
            (after.audio.distinct, after.video.distinct, after.packets),
            (before.audio.distinct, before.video.distinct, before.packets),
            "{} got the removed troll's media",
            other.name
        );
    }
}
