//! Resume tokens from outside: they expire, they are renewed while their
//! participant is in the room, they are bound to their room, and after a
//! restart they let back only those who were inside since the last lock.

mod support;

use moim::{
    protocol::{ClientMsg, ErrorCode, RoomId, ServerMsg},
    server::config::Config,
};
use std::time::Duration;
use support::{join, rejoin, temp_dir, Server};

/// Tokens that last a second and a half (no grace period).
fn short_lived() -> Config {
    Config { resume_grace_secs: 0, resume_token_secs: 1, ..Config::default() }
}

#[tokio::test]
async fn an_expired_token_gets_no_place_back() {
    let server = Server::with(short_lived()).await;
    let room = RoomId::random();
    let (_host, _, _) = server.joined(room, "Host").await;
    let (mut guest, first) = server.entered(join(room, "Guest")).await;
    guest.send(&ClientMsg::Leave).await;
    let _ = guest.closed().await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, again) = server.entered(rejoin(room, "Guest", first.you, &first.resume_token)).await;
    assert_ne!(again.you, first.you, "an expired token is not honoured: a new id");
}

#[tokio::test]
async fn a_token_is_renewed_while_its_participant_is_in_the_room() {
    let server = Server::with(short_lived()).await;
    let room = RoomId::random();
    let (_host, _, _) = server.joined(room, "Host").await;
    let (mut guest, first) = server.entered(join(room, "Guest")).await;
    let mut newest = first.resume_token.clone();
    // The browser pings every 15 s; here every 200 ms, for twice the lifetime.
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        guest.send(&ClientMsg::Ping).await;
        // A renewal, if one is due, comes before the pong.
        loop {
            match guest.recv().await {
                ServerMsg::ResumeToken { token } => {
                    assert_ne!(token, newest);
                    newest = token;
                }
                ServerMsg::Pong => break,
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    assert_ne!(newest, first.resume_token, "renewed");
    guest.send(&ClientMsg::Leave).await;
    let _ = guest.closed().await;
    let (_, stale) = server.entered(rejoin(room, "Guest", first.you, &first.resume_token)).await;
    assert_ne!(stale.you, first.you, "the first token has expired");
    let (_, back) = server.entered(rejoin(room, "Guest", first.you, &newest)).await;
    assert_eq!(back.you, first.you, "the newest one has not");
}

#[tokio::test]
async fn a_token_is_for_its_own_room_only() {
    let server = Server::start().await;
    let (room, other) = (RoomId::random(), RoomId::random());
    let (_guest, first) = server.entered(join(room, "Guest")).await;
    let (_, elsewhere) = server.entered(rejoin(other, "Guest", first.you, &first.resume_token)).await;
    assert_ne!(elsewhere.you, first.you);
}

#[tokio::test]
async fn after_a_restart_only_those_inside_since_the_lock_come_back_past_it() {
    let data_dir = temp_dir();
    // Tokens live 3 s and are renewed after 1 s.
    let config = Config { data_dir: data_dir.clone(), resume_grace_secs: 0, resume_token_secs: 3, ..Config::default() };
    let room = RoomId::random();
    let mut first = Server::with(config.clone()).await;
    let (mut host, _, _) = first.joined(room, "Host").await;
    let (mut stayer, stayed) = first.entered(join(room, "Stayer")).await;
    let (mut leaver, left) = first.entered(join(room, "Leaver")).await;
    leaver.send(&ClientMsg::Leave).await;
    let _ = leaver.closed().await;
    host.send(&ClientMsg::Lock { locked: true }).await;
    // Inside when the room was locked, the stayer gets a token made since.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    stayer.send(&ClientMsg::Ping).await;
    let renewed = loop {
        if let ServerMsg::ResumeToken { token } = stayer.recv().await {
            break token;
        }
    };
    first.stop();
    drop((host, stayer));
    tokio::time::sleep(Duration::from_millis(300)).await;

    let second = Server::with(config).await;
    let mut again = second.client().await;
    again.send(&rejoin(room, "Leaver", left.you, &left.resume_token)).await;
    match again.recv().await {
        ServerMsg::Error { code, .. } => assert_eq!(code, ErrorCode::RoomLocked, "left before the lock"),
        other => panic!("expected room_locked, got {other:?}"),
    }
    let (_, back) = second.entered(rejoin(room, "Stayer", stayed.you, &renewed)).await;
    assert_eq!(back.you, stayed.you, "inside since the lock: back in, as before the restart");
    let _ = std::fs::remove_dir_all(data_dir);
}
