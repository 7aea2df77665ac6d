//! The brake on password guessing and the cost of passwords, attacked from
//! outside with raw websockets: guesses sent side by side, a right password
//! to the guesser's own room, and a flood of new passwords from many
//! sockets (each password is 19 MiB and tens of milliseconds of Argon2).

mod support;

use futures_util::future::join_all;
use moim::{
    protocol::{ClientMsg, ErrorCode, RoomId, ServerMsg},
    server::{access::PasswordWork, config::Config},
};
use support::{join, Client, Server};

fn with_password(room: RoomId, name: &str, password: &str) -> ClientMsg {
    let ClientMsg::Join { version, room, name, media, resume, host_token, device, .. } = join(room, name) else {
        unreachable!()
    };
    ClientMsg::Join { version, room, name, media, resume, password: Some(password.into()), host_token, device }
}

/// A fresh room whose host has set `password`; returns the host's socket.
async fn protected(server: &Server, room: RoomId, password: &str) -> Client {
    let (mut host, _, _) = server.joined(room, "Host").await;
    host.send(&ClientMsg::SetPassword { password: password.into() }).await;
    loop {
        match host.recv().await {
            ServerMsg::Settings { settings } if settings.password => return host,
            ServerMsg::Error { code, message, .. } => panic!("{code:?}: {message}"),
            _ => {}
        }
    }
}

fn code(msg: ServerMsg) -> Option<ErrorCode> {
    match msg {
        ServerMsg::Error { code, .. } => Some(code),
        ServerMsg::Welcome { .. } => None,
        other => panic!("expected an answer to join, got {other:?}"),
    }
}

#[tokio::test]
async fn guesses_sent_side_by_side_all_count() {
    let server = Server::start().await;
    let room = RoomId::random();
    let _host = protected(&server, room, "the right one").await;
    let mut guessers = Vec::new();
    for _ in 0..12 {
        guessers.push(server.client().await);
    }
    let answers = join_all(guessers.iter_mut().map(|guesser| async move {
        guesser.send(&with_password(room, "Guesser", "a guess")).await;
        code(guesser.recv().await)
    }))
    .await;
    let tried = answers.iter().filter(|a| **a == Some(ErrorCode::WrongPassword)).count();
    let held = answers.iter().filter(|a| **a == Some(ErrorCode::TooManyAttempts)).count();
    assert_eq!((tried, held), (4, 8), "three free tries and one more, then waits: {answers:?}");
}

#[tokio::test]
async fn a_right_password_elsewhere_does_not_reset_the_brake() {
    let server = Server::start().await;
    let (target, own) = (RoomId::random(), RoomId::random());
    let _victim = protected(&server, target, "the victim's").await;
    let _mine = protected(&server, own, "mine").await;
    let mut guesser = server.client().await;
    for _ in 0..4 {
        guesser.send(&with_password(target, "Guesser", "a guess")).await;
        assert_eq!(code(guesser.recv().await), Some(ErrorCode::WrongPassword));
    }
    // The guesser enters the room it made itself, with the right password…
    let mut other = server.client().await;
    other.send(&with_password(own, "Guesser", "mine")).await;
    assert_eq!(code(other.recv().await), None, "admitted to its own room");
    // …and is still held back at the target.
    guesser.send(&with_password(target, "Guesser", "another guess")).await;
    assert_eq!(code(guesser.recv().await), Some(ErrorCode::TooManyAttempts));
}

#[tokio::test]
async fn a_flood_of_new_passwords_is_refused_past_the_queue() {
    // One address opens only so many rooms: this is the flood of many.
    let server = Server::with(Config { rooms_per_address_hour: 1_000, ..Config::default() }).await;
    let sockets = PasswordWork::QUEUE + 32;
    // Each socket is the host of a fresh room of its own.
    let mut hosts = Vec::new();
    for _ in 0..sockets {
        hosts.push(server.joined(RoomId::random(), "Host").await.0);
    }
    let answers = join_all(hosts.iter_mut().map(|host| async move {
        host.send(&ClientMsg::SetPassword { password: "p".repeat(200) }).await;
        loop {
            // The last in the queue waits for every hash before it, one
            // core's worth at a time (unoptimised Argon2 in tests).
            match host.recv_within(std::time::Duration::from_secs(60)).await {
                ServerMsg::Settings { .. } => return None,
                ServerMsg::Error { code, .. } => return Some(code),
                _ => {}
            }
        }
    }))
    .await;
    let refused = answers.iter().filter(|a| **a == Some(ErrorCode::RateLimited)).count();
    let set = answers.iter().filter(|a| a.is_none()).count();
    assert!(refused > 0, "every one of {sockets} hashes was queued: {answers:?}");
    assert_eq!(refused + set, sockets, "{answers:?}");
    // The server still serves a call.
    let room = RoomId::random();
    let _a = server.joined(room, "A").await;
    let _b = server.joined(room, "B").await;
}
