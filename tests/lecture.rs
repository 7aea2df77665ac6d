//! Lectures (`presenters_only`), from outside: a real server on
//! 127.0.0.1:0 and participants that speak the signaling protocol. A
//! watcher who sends anyway is the attacker here.

mod support;

use moim::{
    protocol::{ClientMsg, ErrorCode, MediaState, PeerId, RoomId, RoomMode, RoomSettings, ServerMsg},
    server::config::Config,
};
use support::{join, Client, Server};

fn lecture_config() -> Config {
    Config { room_capacity: 2, lecture_capacity: 4, ..Config::default() }
}

/// Joins; returns the client, its id, and the mode and settings of its welcome.
async fn enter(server: &Server, room: RoomId, name: &str) -> (Client, PeerId, RoomMode, RoomSettings) {
    let mut client = server.client().await;
    client.send(&join(room, name)).await;
    match client.recv().await {
        ServerMsg::Welcome { you, mode, settings, .. } => (client, you, mode, settings),
        other => panic!("expected welcome, got {other:?}"),
    }
}

/// The next message that is not about others joining, media or slots.
async fn next_reply(client: &mut Client) -> ServerMsg {
    loop {
        match client.recv().await {
            ServerMsg::PeerJoined { .. } | ServerMsg::Media { .. } | ServerMsg::ForwardSlots { .. } => continue,
            other => return other,
        }
    }
}

/// The next `settings`, skipping what comes before it.
async fn settings(client: &mut Client) -> RoomSettings {
    loop {
        if let ServerMsg::Settings { settings } = client.recv().await {
            return settings;
        }
    }
}

/// The next `media` about `id`.
async fn media_of(client: &mut Client, id: PeerId) -> MediaState {
    loop {
        if let ServerMsg::Media { id: of, media } = client.recv().await {
            if of == id {
                return media;
            }
        }
    }
}

const ON: MediaState = MediaState { audio: true, video: true, screen: false, recording: false };

#[tokio::test]
async fn a_lecture_is_forwarded_from_its_first_person_and_holds_lecture_capacity() {
    let server = Server::with(lecture_config()).await;
    let room = RoomId::random();
    let (mut host, _, mode, _) = enter(&server, room, "Teacher").await;
    assert_eq!(mode, RoomMode::Mesh, "a meeting until the host says otherwise");
    host.send(&ClientMsg::SetPresentersOnly { presenters_only: true }).await;
    assert_eq!(host.recv().await, ServerMsg::Mode { mode: RoomMode::Forwarded }, "the one person moves at once");
    assert!(settings(&mut host).await.presenters_only);

    // Four fit, past the room capacity of two; the fifth is told the lecture's size.
    let mut watchers = Vec::new();
    for name in ["Ann", "Ben", "Cho"] {
        let (watcher, _, mode, settings) = enter(&server, room, name).await;
        assert_eq!(mode, RoomMode::Forwarded);
        assert!(settings.presenters_only);
        watchers.push(watcher);
    }
    let mut late = server.client().await;
    late.send(&join(room, "Dae")).await;
    match late.recv().await {
        ServerMsg::Error { code: ErrorCode::RoomFull, capacity: Some(4), .. } => {}
        other => panic!("expected room_full of 4, got {other:?}"),
    }

    // Only a host makes a lecture a meeting.
    watchers[0].send(&ClientMsg::SetPresentersOnly { presenters_only: false }).await;
    assert!(matches!(next_reply(&mut watchers[0]).await, ServerMsg::Error { code: ErrorCode::NotHost, .. }));
}

#[tokio::test]
async fn a_watchers_media_is_refused_until_a_host_lets_it_present() {
    let server = Server::with(lecture_config()).await;
    let room = RoomId::random();
    let (mut host, _, _, _) = enter(&server, room, "Teacher").await;
    host.send(&ClientMsg::SetPresentersOnly { presenters_only: true }).await;
    settings(&mut host).await;
    let (mut watcher, watcher_id, _, _) = enter(&server, room, "Ann").await;
    match host.recv().await {
        ServerMsg::PeerJoined { peer } => assert_eq!(peer.media, MediaState::default(), "joined sending nothing"),
        other => panic!("expected peer_joined, got {other:?}"),
    }

    // Camera and microphone, and media offered to the forwarding unit: refused.
    watcher.send(&ClientMsg::Media { media: ON }).await;
    assert!(matches!(next_reply(&mut watcher).await, ServerMsg::Error { code: ErrorCode::NotPresenter, .. }));
    assert_eq!(media_of(&mut host, watcher_id).await, MediaState::default(), "the others see nothing on");
    let offer = ClientMsg::ForwardOffer {
        sdp: "v=0\r\n".into(),
        sending: vec![moim::protocol::Published { mid: "0".into(), source: moim::protocol::Source::Camera }],
    };
    watcher.send(&offer).await;
    assert!(matches!(next_reply(&mut watcher).await, ServerMsg::Error { code: ErrorCode::NotPresenter, .. }));

    // Only a host names presenters.
    watcher.send(&ClientMsg::SetPresenter { id: watcher_id, presenter: true }).await;
    assert!(matches!(next_reply(&mut watcher).await, ServerMsg::Error { code: ErrorCode::NotHost, .. }));

    host.send(&ClientMsg::SetPresenter { id: watcher_id, presenter: true }).await;
    assert_eq!(settings(&mut watcher).await.presenters, vec![watcher_id]);
    watcher.send(&ClientMsg::Media { media: ON }).await;
    assert_eq!(media_of(&mut host, watcher_id).await, ON, "a presenter sends");

    // Stopped again: its camera and microphone are off for everyone at once.
    host.send(&ClientMsg::SetPresenter { id: watcher_id, presenter: false }).await;
    assert_eq!(media_of(&mut host, watcher_id).await, MediaState::default());
    assert!(settings(&mut watcher).await.presenters.is_empty());
    watcher.send(&ClientMsg::Ping).await;
    assert_eq!(next_reply(&mut watcher).await, ServerMsg::Pong);
}
