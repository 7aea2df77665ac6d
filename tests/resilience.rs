//! Sessions that outlive a socket: resume, server restart, graceful
//! shutdown and slow consumers, over real websockets.

mod support;

use moim::{
    protocol::{ClientMsg, CloseCode, ErrorCode, MediaState, PeerId, RoomId, SdpType, ServerMsg, Signal},
    server::config::Config,
};
use support::{join, rejoin, temp_dir, Server};
use tokio_tungstenite::tungstenite::Message;

fn offer(sdp: String) -> Signal {
    Signal::Description { sdp_type: SdpType::Offer, sdp }
}

#[tokio::test]
async fn a_broken_socket_resumes_with_its_id_and_gets_what_waited() {
    let server = Server::start().await;
    let room = RoomId::random();
    let (ada, ada_welcome) = server.entered(join(room, "Ada")).await;
    let (mut grace, grace_id, _) = server.joined(room, "Grace").await;
    drop(ada); // the network drops: no close frame
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let sent = offer("v=0\r\nwhile away".into());
    grace.send(&ClientMsg::Signal { to: ada_welcome.you, signal: sent.clone() }).await;
    grace.expect_nothing_pending().await;

    let (mut ada, welcome) = server.entered(rejoin(room, "Ada", ada_welcome.you, &ada_welcome.resume_token)).await;
    assert_eq!(welcome.you, ada_welcome.you);
    assert!(welcome.resumed, "the server kept Ada's place");
    assert_eq!(welcome.peers.iter().map(|p| p.id).collect::<Vec<_>>(), vec![grace_id]);
    assert_eq!(ada.recv().await, ServerMsg::Signal { from: grace_id, signal: sent });
    // Grace never heard that Ada left or came back.
    grace.expect_nothing_pending().await;
    ada.expect_nothing_pending().await;
}

#[tokio::test]
async fn a_forged_or_foreign_token_joins_as_someone_new() {
    let server = Server::start().await;
    let room = RoomId::random();
    let (_ada, ada) = server.entered(join(room, "Ada")).await;
    for (id, token) in
        [(ada.you, "00".repeat(32)), (ada.you, "not hex".into()), (PeerId::random(), ada.resume_token.clone())]
    {
        let (_client, welcome) = server.entered(rejoin(room, "Mallory", id, &token)).await;
        assert_ne!(welcome.you, ada.you);
        assert!(!welcome.resumed);
    }
    // The same token in another room proves nothing there either.
    let (_client, welcome) = server.entered(rejoin(RoomId::random(), "Ada", ada.you, &ada.resume_token)).await;
    assert_ne!(welcome.you, ada.you);
}

#[tokio::test]
async fn after_a_restart_everyone_rejoins_with_their_ids_and_nobody_twice() {
    let data_dir = temp_dir();
    let room = RoomId::random();
    let mut first = Server::with(Config { data_dir: data_dir.clone(), ..Config::default() }).await;
    let (mut ada, ada_welcome) = first.entered(join(room, "Ada")).await;
    let (mut grace, grace_welcome) = first.entered(join(room, "Grace")).await;
    ada.joined("Grace").await;

    // A graceful stop closes every socket with 1012 and tells nobody anyone left.
    first.stop();
    for client in [&mut ada, &mut grace] {
        let frame = client.closed().await.expect("a close frame");
        assert_eq!(u16::from(frame.code), CloseCode::Restarting.code());
        assert_eq!(frame.reason.as_str(), "server restarting");
    }

    let second = Server::with(Config { data_dir, ..Config::default() }).await;
    let (mut ada2, welcome) = second.entered(rejoin(room, "Ada", ada_welcome.you, &ada_welcome.resume_token)).await;
    assert_eq!((welcome.you, welcome.resumed, welcome.peers.len()), (ada_welcome.you, false, 0));
    let (_grace2, welcome) =
        second.entered(rejoin(room, "Grace", grace_welcome.you, &grace_welcome.resume_token)).await;
    assert_eq!(welcome.you, grace_welcome.you);
    assert_eq!(welcome.peers.iter().map(|p| p.id).collect::<Vec<_>>(), vec![ada_welcome.you]);
    match ada2.recv().await {
        ServerMsg::PeerJoined { peer } => assert_eq!(peer.id, grace_welcome.you),
        other => panic!("expected peer_joined, got {other:?}"),
    }
    // A third person sees each of them once.
    let (_linus, _, peers) = second.joined(room, "Linus").await;
    let mut ids: Vec<_> = peers.iter().map(|p| p.id).collect();
    ids.sort();
    let mut expected = vec![ada_welcome.you, grace_welcome.you];
    expected.sort();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn a_client_that_stops_reading_is_closed_and_the_room_goes_on() {
    let server = Server::with(Config { send_queue: 8, ..Config::default() }).await;
    let room = RoomId::random();
    let (mut ada, ada_id, _) = server.joined(room, "Ada").await;
    let (mut stalled, stalled_id, _) = server.joined(room, "Stalled").await;
    let (mut grace, grace_id, _) = server.joined(room, "Grace").await;
    ada.joined("Stalled").await;
    ada.joined("Grace").await;
    stalled.joined("Grace").await;

    // Stalled reads nothing more; Ada floods it until the kernel buffers
    // are full and her signals wait in its outbox. She may fill only her
    // share of it: then she is told to wait, and Stalled stays (one person
    // cannot have another closed by flooding them).
    let sdp = "a".repeat(60 * 1024);
    let mut refused = false;
    for _ in 0..2_000 {
        ada.send(&ClientMsg::Signal { to: stalled_id, signal: offer(sdp.clone()) }).await;
        ada.send(&ClientMsg::Ping).await;
        match ada.recv().await {
            ServerMsg::Pong => continue,
            ServerMsg::Error { code: ErrorCode::RateLimited, .. } => {
                refused = true;
                assert_eq!(ada.recv().await, ServerMsg::Pong);
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(refused, "the flooding sender was refused");

    // What the room tells everyone (here, Ada's media changes) still fills
    // a client that does not read, and it is let go.
    let mut left = false;
    for n in 0..100 {
        let media = MediaState { audio: n % 2 == 0, video: true, screen: false, recording: false };
        ada.send(&ClientMsg::Media { media }).await;
        ada.send(&ClientMsg::Ping).await;
        assert_eq!(grace.recv().await, ServerMsg::Media { id: ada_id, media }, "Grace reads hers");
        match ada.recv().await {
            ServerMsg::Pong => continue,
            ServerMsg::PeerLeft { id } if id == stalled_id => {
                left = true;
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(left, "the stalled client was let go");
    assert_eq!(ada.recv().await, ServerMsg::Pong);
    assert_eq!(grace.recv().await, ServerMsg::PeerLeft { id: stalled_id });

    // The others are unaffected.
    grace.send(&ClientMsg::Signal { to: ada_id, signal: offer("v=0\r\n".into()) }).await;
    assert_eq!(ada.recv().await, ServerMsg::Signal { from: grace_id, signal: offer("v=0\r\n".into()) });

    // When the stalled client reads again, what was queued is followed by
    // the documented close code.
    loop {
        match stalled.next().await {
            Some(Message::Close(Some(frame))) => {
                assert_eq!(u16::from(frame.code), CloseCode::TooSlow.code());
                break;
            }
            Some(_) => continue,
            None => panic!("closed without a reason"),
        }
    }
}
