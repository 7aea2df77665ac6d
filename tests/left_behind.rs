//! What anonymous clients leave behind (issue 15, point 9), attacked from
//! outside: new rooms per address, settings of rooms long empty, and
//! recordings that were started and never fed or never stopped.

mod support;

use moim::{
    protocol::{ClientMsg, ErrorCode, RoomId, ServerMsg},
    server::config::Config,
};
use std::time::{Duration, SystemTime};
use support::{temp_dir, Server};

fn code(msg: ServerMsg) -> ErrorCode {
    match msg {
        ServerMsg::Error { code, .. } => code,
        other => panic!("expected an error, got {other:?}"),
    }
}

/// Makes a file look `age` old, as if the server had left it alone that long.
fn age(path: &std::path::Path, age: Duration) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - age).unwrap();
}

#[tokio::test]
async fn one_address_opens_a_limited_number_of_new_rooms() {
    let config = Config { rooms_per_address_hour: 5, ..Config::default() };
    let server = Server::with(config).await;
    let mut open = Vec::new();
    for _ in 0..5 {
        let room = RoomId::random();
        open.push((room, server.joined(room, "Opener").await.0));
    }
    let mut sixth = server.client().await;
    sixth.send(&support::join(RoomId::random(), "Opener")).await;
    assert_eq!(code(sixth.recv().await), ErrorCode::TooManyRooms);
    // Rooms that others are in are not new: joining them still works.
    let (_guest, _, peers) = server.joined(open[0].0, "Guest").await;
    assert_eq!(peers.len(), 1);
}

#[tokio::test]
async fn a_room_empty_for_long_forgets_its_settings_unless_it_has_recordings() {
    let data_dir = temp_dir();
    let config = Config { data_dir: data_dir.clone(), ..Config::default() };
    let mut first = Server::with(config.clone()).await;
    let (plain, kept) = (RoomId::random(), RoomId::random());
    for room in [plain, kept] {
        let (mut host, welcome) = first.entered(support::join(room, "Host")).await;
        if room == kept {
            let body = welcome.start_body();
            let path = format!("/api/rooms/{room}/recordings");
            assert_eq!(first.request("POST", &path, &[], body.as_bytes()).await.status, 201);
        }
        host.send(&ClientMsg::SetPassword { password: "long ago".into() }).await;
        assert!(matches!(host.recv().await, ServerMsg::Settings { .. }));
        host.send(&ClientMsg::Leave).await;
        let _ = host.closed().await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    first.stop();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rooms = data_dir.join("rooms");
    for room in [plain, kept] {
        age(&rooms.join(format!("{room}.json")), Duration::from_secs(31 * 86_400));
    }

    let second = Server::with(config).await;
    let (_new_host, welcome) = second.entered(support::join(plain, "Newcomer")).await;
    assert!(welcome.host_token.is_some(), "the room is as new: its first comer is its host");
    assert!(!rooms.join(format!("{plain}.json")).exists());
    let mut guest = second.client().await;
    guest.send(&support::join(kept, "Guest")).await;
    assert_eq!(code(guest.recv().await), ErrorCode::PasswordRequired, "its password still guards its recordings");
    let _ = std::fs::remove_dir_all(data_dir);
}

#[tokio::test]
async fn recordings_whose_recorder_went_away_are_stopped_or_deleted() {
    let data_dir = temp_dir();
    let config = Config { data_dir: data_dir.clone(), ..Config::default() };
    let mut first = Server::with(config.clone()).await;
    let room = RoomId::random();
    let (_alice, alice) = first.entered(support::join(room, "Alice")).await;
    let body = alice.start_body();
    let mut started = Vec::new();
    for _ in 0..2 {
        let answer = first.request("POST", &format!("/api/rooms/{room}/recordings"), &[], body.as_bytes()).await;
        let json = answer.json();
        started.push((json["id"].as_str().unwrap().to_string(), json["upload_token"].as_str().unwrap().to_string()));
    }
    let (fed, fed_key) = &started[0];
    let (empty, _) = &started[1];
    let auth = format!("Bearer {fed_key}");
    let chunk = first
        .request("PUT", &format!("/api/rooms/{room}/recordings/{fed}/chunks/0"), &[("authorization", &auth)], b"data")
        .await;
    assert_eq!(chunk.status, 200);
    first.stop();
    tokio::time::sleep(Duration::from_millis(300)).await;
    for id in [fed, empty] {
        age(&data_dir.join("recordings").join(room.to_string()).join(id).join("meta.json"), Duration::from_secs(7200));
    }

    let second = Server::with(config).await;
    let file = |id: &str| format!("{}/recordings/{id}.webm", room.path());
    assert_eq!(second.request("GET", &file(fed), &[], b"").await.body, b"data", "what it holds is kept");
    let late = second
        .request("PUT", &format!("/api/rooms/{room}/recordings/{fed}/chunks/1"), &[("authorization", &auth)], b"more")
        .await;
    assert_eq!((late.status, late.json()["error"].as_str()), (409, Some("finished")), "and it is stopped");
    assert_eq!(second.request("GET", &file(empty), &[], b"").await.status, 404, "an empty one is gone");
    let _ = std::fs::remove_dir_all(data_dir);
}

#[tokio::test]
async fn empty_recordings_fill_the_quota_too() {
    let mut config = Config::default();
    config.recordings.room_quota_mb = 1;
    let server = Server::with(config).await;
    let room = RoomId::random();
    let (_alice, alice) = server.entered(support::join(room, "Alice")).await;
    let body = alice.start_body();
    let path = format!("/api/rooms/{room}/recordings");
    let each = moim::server::recordings::RECORDING_OVERHEAD;
    let fit = 1_000_000 / each;
    for n in 0..fit {
        assert_eq!(server.request("POST", &path, &[], body.as_bytes()).await.status, 201, "recording {n}");
    }
    let full = server.request("POST", &path, &[], body.as_bytes()).await;
    assert_eq!((full.status, full.json()["error"].as_str()), (507, Some("room_full")), "{}", full.text());
}
