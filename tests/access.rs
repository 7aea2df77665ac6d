//! Room access over real websockets: the host, passwords, the lock,
//! removal, host-only screen sharing, and that settings survive a restart.

mod support;

use moim::{
    protocol::{ClientMsg, CloseCode, ErrorCode, MediaState, Resume, RoomId, RoomSettings, ServerMsg, SharePolicy},
    server::config::Config,
};
use support::{join, rejoin, temp_dir, Client, Server};

fn error_code(msg: ServerMsg) -> ErrorCode {
    match msg {
        ServerMsg::Error { code, .. } => code,
        other => panic!("expected an error, got {other:?}"),
    }
}

/// A `join` with the given password, host token and browser key.
fn join_with(room: RoomId, name: &str, password: Option<&str>, host: Option<&str>, device: Option<&str>) -> ClientMsg {
    let ClientMsg::Join { version, room, name, media, resume, .. } = join(room, name) else { unreachable!() };
    ClientMsg::Join {
        version,
        room,
        name,
        media,
        resume,
        password: password.map(Into::into),
        host_token: host.map(Into::into),
        device: device.map(Into::into),
    }
}

/// Reads until a `settings` message arrives.
async fn next_settings(client: &mut Client) -> RoomSettings {
    loop {
        if let ServerMsg::Settings { settings } = client.recv().await {
            return settings;
        }
    }
}

/// The host of a fresh room: the first to join, with the host token.
async fn host(server: &Server, room: RoomId) -> (Client, String) {
    let mut client = server.client().await;
    client.send(&join_with(room, "Host", None, None, Some("host-device"))).await;
    match client.recv().await {
        ServerMsg::Welcome { host_token: Some(token), settings, you, .. } => {
            assert_eq!(settings.hosts, vec![you], "the first person in a room is its host");
            (client, token)
        }
        other => panic!("expected a host's welcome, got {other:?}"),
    }
}

#[tokio::test]
async fn the_first_person_is_host_and_only_a_host_changes_settings() {
    let server = Server::start().await;
    let room = RoomId::random();
    let (mut host, _) = host(&server, room).await;
    let (mut guest, guest_id, _) = server.joined(room, "Guest").await;
    host.joined("Guest").await;
    guest.send(&ClientMsg::Lock { locked: true }).await;
    assert_eq!(error_code(guest.recv().await), ErrorCode::NotHost);
    guest.send(&ClientMsg::Remove { id: guest_id }).await;
    assert_eq!(error_code(guest.recv().await), ErrorCode::NotHost);
    host.send(&ClientMsg::Lock { locked: true }).await;
    assert!(next_settings(&mut guest).await.locked);
    assert!(next_settings(&mut host).await.locked);
}

#[tokio::test]
async fn a_password_is_required_checked_and_guessing_is_slowed() {
    let server = Server::start().await;
    let room = RoomId::random();
    let (mut host, token) = host(&server, room).await;
    host.send(&ClientMsg::SetPassword { password: "open sesame".into() }).await;
    assert!(next_settings(&mut host).await.password);

    let mut guest = server.client().await;
    guest.send(&join_with(room, "Guest", None, None, None)).await;
    assert_eq!(error_code(guest.recv().await), ErrorCode::PasswordRequired);
    guest.send(&join_with(room, "Guest", Some("open sesame!"), None, None)).await;
    assert_eq!(error_code(guest.recv().await), ErrorCode::WrongPassword);
    guest.send(&join_with(room, "Guest", Some("open sesame"), None, None)).await;
    assert!(matches!(guest.recv().await, ServerMsg::Welcome { host_token: None, .. }), "admitted, not a host");

    // The host comes back past the password with its token.
    let mut again = server.client().await;
    again.send(&join_with(room, "Host again", None, Some(&token), None)).await;
    assert!(matches!(again.recv().await, ServerMsg::Welcome { host_token: Some(_), .. }));

    // Three wrong guesses are free; the fourth earns a wait, and while it
    // lasts even the right password is not tried.
    let mut guesser = server.client().await;
    for _ in 0..4 {
        guesser.send(&join_with(room, "Guesser", Some("guess"), None, None)).await;
        assert_eq!(error_code(guesser.recv().await), ErrorCode::WrongPassword);
    }
    guesser.send(&join_with(room, "Guesser", Some("open sesame"), None, None)).await;
    match guesser.recv().await {
        ServerMsg::Error { code: ErrorCode::TooManyAttempts, message, retry_after_ms, .. } => {
            assert!(message.contains("try again in"), "{message}");
            assert!(retry_after_ms.is_some_and(|ms| ms >= 1000), "the wait, typed: {retry_after_ms:?}");
        }
        other => panic!("expected too_many_attempts, got {other:?}"),
    }
}

#[tokio::test]
async fn a_locked_room_refuses_newcomers_but_not_its_host() {
    let server = Server::start().await;
    let room = RoomId::random();
    let (mut host, token) = host(&server, room).await;
    host.send(&ClientMsg::Lock { locked: true }).await;
    assert!(next_settings(&mut host).await.locked);
    let mut knocker = server.client().await;
    knocker.send(&join(room, "Knocker")).await;
    assert_eq!(error_code(knocker.recv().await), ErrorCode::RoomLocked);
    let mut co_host = server.client().await;
    co_host.send(&join_with(room, "Host tab", None, Some(&token), None)).await;
    assert!(matches!(co_host.recv().await, ServerMsg::Welcome { .. }));
}

#[tokio::test]
async fn a_removed_participant_stays_out_by_every_path() {
    let server = Server::start().await;
    let room = RoomId::random();
    let (mut host, _) = host(&server, room).await;
    let mut troll = server.client().await;
    troll.send(&join_with(room, "Troll", None, None, Some("troll-device"))).await;
    let ServerMsg::Welcome { you: troll_id, resume_token, .. } = troll.recv().await else { panic!("no welcome") };
    host.joined("Troll").await;

    host.send(&ClientMsg::Remove { id: troll_id }).await;
    assert_eq!(error_code(troll.recv().await), ErrorCode::Removed);
    assert_eq!(u16::from(troll.closed().await.expect("a close frame").code), CloseCode::Removed.code());
    assert_eq!(host.recv().await, ServerMsg::PeerLeft { id: troll_id });

    // Back from the same browser, with the resume token, under another
    // name, or from another browser with the token: refused.
    let with_token = |name: &str, device: Option<&str>| {
        let ClientMsg::Join { version, room, name, media, password, host_token, .. } = join(room, name) else {
            unreachable!()
        };
        let resume = Some(Resume { id: troll_id, token: resume_token.clone() });
        ClientMsg::Join { version, room, name, media, resume, password, host_token, device: device.map(Into::into) }
    };
    let mut back = server.client().await;
    back.send(&join_with(room, "Troll", None, None, Some("troll-device"))).await;
    assert_eq!(error_code(back.recv().await), ErrorCode::Removed);
    back.send(&with_token("Someone else", Some("troll-device"))).await;
    assert_eq!(error_code(back.recv().await), ErrorCode::Removed);
    back.send(&with_token("Troll", Some("a new browser"))).await;
    assert_eq!(error_code(back.recv().await), ErrorCode::Removed);

    // A new password is a fresh start, but only with it: neither the old
    // token nor the old browser key gets past it.
    host.send(&ClientMsg::SetPassword { password: "new one".into() }).await;
    assert!(next_settings(&mut host).await.password, "the password is set");
    back.send(&with_token("Troll", Some("troll-device"))).await;
    assert_eq!(error_code(back.recv().await), ErrorCode::PasswordRequired, "the old resume token");
    back.send(&join_with(room, "Troll", None, None, Some("troll-device"))).await;
    assert_eq!(error_code(back.recv().await), ErrorCode::PasswordRequired, "the old browser key");
    back.send(&join_with(room, "Troll", Some("new one"), None, Some("troll-device"))).await;
    assert!(matches!(back.recv().await, ServerMsg::Welcome { .. }), "given the new password, they may come back");
}

#[tokio::test]
async fn a_lock_holds_for_everyone_not_in_the_room_now() {
    let server = Server::with(Config { resume_grace_secs: 5, ..Config::default() }).await;
    let room = RoomId::random();
    let (mut host, _) = host(&server, room).await;
    let (mut leaver, left) = server.entered(join(room, "Leaver")).await;
    let (dropped, away) = server.entered(join(room, "Dropped")).await;
    leaver.send(&ClientMsg::Leave).await;
    let _ = leaver.closed().await;
    drop(dropped); // a broken connection: its place is kept for the grace period
    host.send(&ClientMsg::Lock { locked: true }).await;
    assert!(next_settings(&mut host).await.locked);

    let mut again = server.client().await;
    again.send(&rejoin(room, "Leaver", left.you, &left.resume_token)).await;
    assert_eq!(error_code(again.recv().await), ErrorCode::RoomLocked, "who left is a newcomer to the lock");
    let mut back = server.client().await;
    back.send(&rejoin(room, "Dropped", away.you, &away.resume_token)).await;
    assert!(matches!(back.recv().await, ServerMsg::Welcome { resumed: true, .. }), "a reconnect keeps its place");
}

#[tokio::test]
async fn host_only_sharing_is_enforced_and_hosts_can_be_made() {
    let server = Server::start().await;
    let room = RoomId::random();
    let (mut host, _) = host(&server, room).await;
    let (mut guest, guest_id, _) = server.joined(room, "Guest").await;
    host.joined("Guest").await;
    let sharing = MediaState { audio: true, video: true, screen: true, recording: false };
    guest.send(&ClientMsg::Media { media: sharing }).await;
    assert_eq!(host.recv().await, ServerMsg::Media { id: guest_id, media: sharing });

    // Host-only: the guest's share is ended for everyone, and a new one refused.
    host.send(&ClientMsg::SetShare { share: SharePolicy::Host }).await;
    let not_sharing = MediaState { screen: false, ..sharing };
    assert_eq!(host.recv().await, ServerMsg::Media { id: guest_id, media: not_sharing });
    assert_eq!(next_settings(&mut guest).await.share, SharePolicy::Host);
    guest.send(&ClientMsg::Media { media: sharing }).await;
    assert_eq!(error_code(guest.recv().await), ErrorCode::NotAllowed);

    // Made a host, the guest gets the token and may share.
    host.send(&ClientMsg::MakeHost { id: guest_id }).await;
    assert!(matches!(guest.recv().await, ServerMsg::HostToken { .. }));
    assert!(next_settings(&mut guest).await.hosts.contains(&guest_id));
    guest.send(&ClientMsg::Media { media: sharing }).await;
    guest.expect_nothing_pending().await;
}

#[tokio::test]
async fn a_host_can_take_another_hosts_capability_back() {
    let server = Server::start().await;
    let room = RoomId::random();
    let (mut alice, alice_token) = host(&server, room).await;
    let (mut bob, bob_id, _) = server.joined(room, "Bob").await;
    alice.joined("Bob").await;
    alice.send(&ClientMsg::MakeHost { id: bob_id }).await;
    let ServerMsg::HostToken { token: bob_token } = bob.recv().await else { panic!("no host token") };
    assert_ne!(bob_token, alice_token, "a capability of his own");
    assert!(next_settings(&mut bob).await.hosts.contains(&bob_id));
    assert!(next_settings(&mut alice).await.hosts.contains(&bob_id), "everyone hears of the new host");

    alice.send(&ClientMsg::RevokeHost { id: bob_id }).await;
    assert!(!next_settings(&mut bob).await.hosts.contains(&bob_id));
    assert!(!next_settings(&mut alice).await.hosts.contains(&bob_id));
    bob.send(&ClientMsg::Lock { locked: true }).await;
    assert_eq!(error_code(bob.recv().await), ErrorCode::NotHost, "no longer a host");
    // His token no longer makes him a host, from any tab; Alice's still does.
    let mut tab = server.client().await;
    tab.send(&join_with(room, "Bob's tab", None, Some(&bob_token), None)).await;
    let ServerMsg::Welcome { host_token, settings, you, .. } = tab.recv().await else { panic!("no welcome") };
    assert_eq!(host_token, None);
    assert!(!settings.hosts.contains(&you));
    alice.send(&ClientMsg::RevokeHost { id: alice_id(&settings) }).await;
    let refused = loop {
        // (After the tab's peer_joined.)
        if let ServerMsg::Error { code, .. } = alice.recv().await {
            break code;
        }
    };
    assert_eq!(refused, ErrorCode::UnknownPeer, "not oneself");
    let mut again = server.client().await;
    again.send(&join_with(room, "Alice's tab", None, Some(&alice_token), None)).await;
    assert!(matches!(again.recv().await, ServerMsg::Welcome { host_token: Some(_), .. }));
}

/// The one host in these settings.
fn alice_id(settings: &RoomSettings) -> moim::protocol::PeerId {
    settings.hosts[0]
}

#[tokio::test]
async fn an_emptied_room_with_a_password_waits_for_its_host() {
    let server = Server::start().await;
    let room = RoomId::random();
    let (mut host, token) = host(&server, room).await;
    host.send(&ClientMsg::SetPassword { password: "ours".into() }).await;
    assert!(next_settings(&mut host).await.password, "the password is set");
    host.send(&ClientMsg::Leave).await;
    let _ = host.closed().await;
    let mut first = server.client().await;
    first.send(&join_with(room, "First back", Some("ours"), None, None)).await;
    let ServerMsg::Welcome { host_token, settings, .. } = first.recv().await else { panic!("no welcome") };
    assert_eq!((host_token, settings.hosts), (None, vec![]), "the first one in is not made host");
    let mut back = server.client().await;
    back.send(&join_with(room, "Host", None, Some(&token), None)).await;
    assert!(matches!(back.recv().await, ServerMsg::Welcome { host_token: Some(_), .. }));
}

#[tokio::test]
async fn settings_survive_a_restart() {
    let data_dir = temp_dir();
    let config = Config { data_dir: data_dir.clone(), ..Config::default() };
    let room = RoomId::random();
    let mut first = Server::with(config.clone()).await;
    let (mut host, token) = host(&first, room).await;
    host.send(&ClientMsg::SetPassword { password: "kept".into() }).await;
    assert!(next_settings(&mut host).await.password, "the password is set");
    first.stop();
    drop(host);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let second = Server::with(config).await;
    let mut guest = second.client().await;
    guest.send(&join(room, "Guest")).await;
    assert_eq!(error_code(guest.recv().await), ErrorCode::PasswordRequired, "the password outlived the server");
    let mut host = second.client().await;
    host.send(&join_with(room, "Host", None, Some(&token), None)).await;
    assert!(matches!(host.recv().await, ServerMsg::Welcome { host_token: Some(_), .. }), "and so did the host");
    let _ = std::fs::remove_dir_all(data_dir);
}

#[tokio::test]
async fn a_room_whose_settings_cannot_be_read_stays_closed() {
    let data_dir = temp_dir();
    let room = RoomId::random();
    std::fs::create_dir_all(data_dir.join("rooms")).unwrap();
    // A damaged file, as a full disk or a crash of another program leaves it.
    std::fs::write(data_dir.join("rooms").join(format!("{room}.json")), b"{\"password_hash\":\"$argon2id$v=19")
        .unwrap();
    let server = Server::with(Config { data_dir: data_dir.clone(), ..Config::default() }).await;
    let mut guest = server.client().await;
    guest.send(&join(room, "Guest")).await;
    assert_eq!(error_code(guest.recv().await), ErrorCode::Unavailable, "not open with defaults");
    let page = server.get(&format!("/r/{room}/recordings")).await;
    assert!(page.text().contains("Enter it to see its recordings"), "the recordings stay closed too");
    // Mended, the room opens (no restart needed).
    std::fs::write(data_dir.join("rooms").join(format!("{room}.json")), b"{\"locked\":false}").unwrap();
    let (_guest, welcome) = server.entered(join(room, "Guest")).await;
    assert!(!welcome.resumed);
    let _ = std::fs::remove_dir_all(data_dir);
}
