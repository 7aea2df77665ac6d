//! Recording uploads against the real server: who may start one, chunks in
//! order, repeated, out of order, oversize, path-like ids, quotas, and
//! watching a password-protected room's recordings.

mod support;

use moim::{
    protocol::{ClientMsg, RoomId, ServerMsg},
    server::config::Config,
};
use support::{Answer, Server};

/// Alice in a fresh room, with a recording started; returns the room, the
/// recording's chunk URL prefix, its upload key and Alice's socket.
async fn recording(server: &Server) -> (RoomId, String, String, support::Client) {
    let room = RoomId::random();
    let (client, welcome) = server.entered(support::join(room, "Alice")).await;
    let body = welcome.start_body();
    let started = server.request("POST", &format!("/api/rooms/{room}/recordings"), &[], body.as_bytes()).await;
    assert_eq!(started.status, 201, "{}", started.text());
    let json = started.json();
    let id = json["id"].as_str().unwrap().to_string();
    let key = json["upload_token"].as_str().unwrap().to_string();
    (room, format!("/api/rooms/{room}/recordings/{id}"), key, client)
}

async fn put(server: &Server, base: &str, n: &str, key: &str, bytes: &[u8]) -> Answer {
    let auth = format!("Bearer {key}");
    let headers = [("authorization", auth.as_str()), ("x-moim-duration-ms", "1000")];
    server.request("PUT", &format!("{base}/chunks/{n}"), &headers, bytes).await
}

fn error(answer: &Answer) -> String {
    answer.json()["error"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn only_someone_in_the_room_may_start_a_recording() {
    let server = Server::start().await;
    let room = RoomId::random();
    let (_alice, welcome) = server.entered(support::join(room, "Alice")).await;
    let path = format!("/api/rooms/{room}/recordings");
    let forged = serde_json::json!({ "peer": welcome.you, "token": "00" }).to_string();
    let answer = server.request("POST", &path, &[], forged.as_bytes()).await;
    assert_eq!((answer.status, error(&answer)), (403, "not_in_room".into()));
    let other_room = format!("/api/rooms/{}/recordings", RoomId::random());
    let right = welcome.start_body();
    let answer = server.request("POST", &other_room, &[], right.as_bytes()).await;
    assert_eq!(answer.status, 403, "the token is for one room");
    let answer = server.request("POST", &path, &[], b"{\"peer\":").await;
    assert_eq!((answer.status, error(&answer)), (400, "malformed".into()));
    let answer = server.request("POST", &path, &[], right.as_bytes()).await;
    assert_eq!(answer.status, 201);
}

#[tokio::test]
async fn chunks_are_stored_in_order_once_and_gaps_are_refused() {
    let server = Server::start().await;
    let (room, base, key, _alice) = recording(&server).await;

    let ahead = put(&server, &base, "2", &key, b"third").await;
    assert_eq!((ahead.status, error(&ahead)), (409, "gap".into()));
    assert_eq!(ahead.json()["expected"], 0, "the uploader is told where to resume");

    assert_eq!(put(&server, &base, "0", &key, b"first-").await.status, 200);
    let again = put(&server, &base, "0", &key, b"first-").await;
    assert_eq!(again.status, 200, "a repeated chunk is accepted");
    assert_eq!(again.json()["chunks"], 1, "and not stored twice");
    assert_eq!(put(&server, &base, "1", &key, b"second-").await.status, 200);
    assert_eq!(put(&server, &base, "2", &key, b"third").await.json()["bytes"], 18);

    let wrong_key = put(&server, &base, "3", &"ab".repeat(32), b"x").await;
    assert_eq!((wrong_key.status, error(&wrong_key)), (403, "bad_key".into()));
    let not_a_number = put(&server, &base, "x", &key, b"x").await;
    assert_eq!((not_a_number.status, error(&not_a_number)), (400, "malformed".into()));

    let auth = format!("Bearer {key}");
    let finished = server.request("POST", &format!("{base}/finish"), &[("authorization", &auth)], b"").await;
    assert_eq!(finished.status, 200);
    let late = put(&server, &base, "3", &key, b"late").await;
    assert_eq!((late.status, error(&late)), (409, "finished".into()));

    let id = base.rsplit('/').next().unwrap();
    let file = server.request("GET", &format!("{}/recordings/{id}.webm", room.path()), &[], b"").await;
    assert_eq!(file.status, 200);
    assert_eq!(file.body, b"first-second-third", "bytes are not a WebM start: stored as they came");
    assert_eq!(file.header("content-type"), Some("video/webm"));
    assert_eq!(file.header("content-encoding"), None, "recordings are not compressed again");
    let part =
        server.request("GET", &format!("{}/recordings/{id}.webm", room.path()), &[("range", "bytes=6-11")], b"").await;
    assert_eq!((part.status, part.body.as_slice()), (206, b"second".as_slice()));
    let download = server.request("GET", &format!("{}/recordings/{id}.webm?download", room.path()), &[], b"").await;
    let disposition = download.header("content-disposition").unwrap_or_default();
    assert!(disposition.starts_with("attachment; filename=\"moim-"), "{disposition}");
}

#[tokio::test]
async fn oversize_chunks_and_made_up_ids_are_refused() {
    let server = Server::start().await;
    let (room, base, key, _alice) = recording(&server).await;
    let big = vec![0u8; moim::server::recordings::MAX_CHUNK_BYTES + 1];
    let answer = put(&server, &base, "0", &key, &big).await;
    assert_eq!((answer.status, error(&answer)), (413, "too_large".into()));
    assert_eq!(put(&server, &base, "0", &key, b"ok").await.status, 200, "nothing of it was kept");

    for id in ["..%2F..%2Fetc", "..", "not-a-uuid", &uuid::Uuid::new_v4().to_string()] {
        let path = format!("/api/rooms/{room}/recordings/{id}/chunks/0");
        let answer = server.request("PUT", &path, &[("authorization", &format!("Bearer {key}"))], b"x").await;
        assert!(matches!(answer.status, 403 | 404), "{id}: {}", answer.status);
        let file = server.request("GET", &format!("{}/recordings/{id}.webm", room.path()), &[], b"").await;
        assert_eq!(file.status, 404, "{id}");
    }
    let elsewhere = format!("/r/{}/recordings/{}.webm", RoomId::random(), base.rsplit('/').next().unwrap());
    assert_eq!(server.request("GET", &elsewhere, &[], b"").await.status, 404, "only under its own room");
}

#[tokio::test]
async fn a_full_quota_is_a_clear_error() {
    let mut config = Config::default();
    config.recordings.room_quota_mb = 1;
    let server = Server::with(config).await;
    let (_room, base, key, _alice) = recording(&server).await;
    let slice = vec![7u8; 400_000];
    assert_eq!(put(&server, &base, "0", &key, &slice).await.status, 200);
    assert_eq!(put(&server, &base, "1", &key, &slice).await.status, 200);
    let full = put(&server, &base, "2", &key, &slice).await;
    assert_eq!((full.status, error(&full)), (507, "room_full".into()));
    assert!(full.json()["message"].as_str().unwrap().contains("1 MB"), "{}", full.text());
}

#[tokio::test]
async fn a_password_room_shows_its_recordings_only_after_the_password() {
    let server = Server::start().await;
    let (room, base, key, mut alice) = recording(&server).await;
    assert_eq!(put(&server, &base, "0", &key, b"video").await.status, 200);
    alice.send(&ClientMsg::SetPassword { password: "s3cret".into() }).await;
    assert!(matches!(alice.recv().await, ServerMsg::Settings { .. }));

    let id = base.rsplit('/').next().unwrap();
    let file = format!("{}/recordings/{id}.webm", room.path());
    let refused = server.request("GET", &file, &[], b"").await;
    assert_eq!((refused.status, error(&refused)), (403, "password_required".into()));
    let page = server.request("GET", &format!("{}/recordings", room.path()), &[], b"").await;
    assert!(page.text().contains("Meeting password"), "the page asks for the password");
    assert!(!page.text().contains(id), "and lists nothing");

    let form = [("content-type", "application/x-www-form-urlencoded")];
    let wrong = server.request("POST", &format!("{}/recordings", room.path()), &form, b"password=nope").await;
    assert_eq!(wrong.status, 303);
    assert!(wrong.header("location").unwrap().ends_with("?error=wrong"));
    assert!(wrong.header("set-cookie").is_none());

    let right = server.request("POST", &format!("{}/recordings", room.path()), &form, b"password=s3cret").await;
    let cookie = right.header("set-cookie").expect("a viewer cookie").split(';').next().unwrap().to_string();
    let opened = server.request("GET", &file, &[("cookie", &cookie)], b"").await;
    assert_eq!((opened.status, opened.body.as_slice()), (200, b"video".as_slice()));
    let page = server.request("GET", &format!("{}/recordings", room.path()), &[("cookie", &cookie)], b"").await;
    assert!(page.text().contains(id), "the page lists the recording");
}

/// `who` in `room` starts a recording; returns its chunk URL prefix and key.
async fn start(server: &Server, room: RoomId, who: &support::Welcome) -> (String, String) {
    let body = who.start_body();
    let started = server.request("POST", &format!("/api/rooms/{room}/recordings"), &[], body.as_bytes()).await;
    assert_eq!(started.status, 201, "{}", started.text());
    let json = started.json();
    let id = json["id"].as_str().unwrap().to_string();
    (format!("/api/rooms/{room}/recordings/{id}"), json["upload_token"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn an_upload_key_dies_with_its_makers_removal() {
    let server = Server::start().await;
    let room = RoomId::random();
    let (mut alice, _) = server.entered(support::join(room, "Alice")).await;
    let (_bob, bob) = server.entered(support::join(room, "Bob")).await;
    let (base, key) = start(&server, room, &bob).await;
    assert_eq!(put(&server, &base, "0", &key, b"first").await.status, 200);
    alice.send(&ClientMsg::Remove { id: bob.you }).await;
    while alice.recv().await != (ServerMsg::PeerLeft { id: bob.you }) {}
    let answer = put(&server, &base, "1", &key, b"more").await;
    assert_eq!((answer.status, error(&answer)), (403, "removed".into()), "{}", answer.text());
    let auth = format!("Bearer {key}");
    let answer = server.request("POST", &format!("{base}/finish"), &[("authorization", &auth)], b"").await;
    assert_eq!((answer.status, error(&answer)), (403, "removed".into()));
}

#[tokio::test]
async fn a_stopped_recording_takes_nothing_more() {
    let server = Server::start().await;
    let (_room, base, key, _alice) = recording(&server).await;
    assert_eq!(put(&server, &base, "0", &key, b"first").await.status, 200);
    let auth = format!("Bearer {key}");
    let answer = server.request("POST", &format!("{base}/finish"), &[("authorization", &auth)], b"").await;
    assert_eq!(answer.status, 200);
    for n in ["0", "1"] {
        let answer = put(&server, &base, n, &key, b"late").await;
        assert_eq!((answer.status, error(&answer)), (409, "finished".into()), "chunk {n}");
    }
}

#[tokio::test]
async fn only_a_host_deletes_a_recording() {
    let server = Server::start().await;
    let room = RoomId::random();
    let (_alice, alice) = server.entered(support::join(room, "Alice")).await;
    let (_bob, bob) = server.entered(support::join(room, "Bob")).await;
    let (base, key) = start(&server, room, &alice).await;
    assert_eq!(put(&server, &base, "0", &key, b"first").await.status, 200);
    let id = base.rsplit('/').next().unwrap();
    let file = format!("/r/{room}/recordings/{id}.webm");
    let bobs = format!("Bearer {}", bob.resume_token);
    for auth in [None, Some(bobs.as_str()), Some("Bearer 00.00")] {
        let headers: Vec<(&str, &str)> = auth.map(|a| ("authorization", a)).into_iter().collect();
        let answer = server.request("DELETE", &file, &headers, b"").await;
        assert_eq!((answer.status, error(&answer)), (403, "not_host".into()), "{auth:?}");
    }
    let host = format!("Bearer {}", alice.host_token.expect("Alice opened the room"));
    let answer = server.request("DELETE", &file, &[("authorization", &host)], b"").await;
    assert_eq!(answer.status, 204, "{}", answer.text());
    assert_eq!(server.request("GET", &file, &[], b"").await.status, 404);
    assert!(!server.get(&format!("/r/{room}/recordings")).await.text().contains(id), "gone from the page");
}

#[tokio::test]
async fn chunks_arriving_together_cannot_overshoot_the_quota() {
    let mut config = Config::default();
    config.recordings.room_quota_mb = 1;
    let server = Server::with(config).await;
    let room = RoomId::random();
    let (_alice, alice) = server.entered(support::join(room, "Alice")).await;
    let mut uploads = Vec::new();
    // As many as one address may upload at once.
    for _ in 0..moim::server::recording_routes::Uploads::PER_ADDRESS {
        uploads.push(start(&server, room, &alice).await);
    }
    // Four chunks of 300 kB at once, against a room quota of 1 MB of
    // which the four recordings take 256 KiB: two fit.
    let slice = vec![7u8; 300_000];
    let answers =
        futures_util::future::join_all(uploads.iter().map(|(base, key)| put(&server, base, "0", key, &slice))).await;
    let stored = answers.iter().filter(|a| a.status == 200).count();
    let refused = answers.iter().filter(|a| a.status == 507).count();
    assert_eq!((stored, refused), (2, 2), "{:?}", answers.iter().map(|a| a.status).collect::<Vec<_>>());
}

#[tokio::test]
async fn one_address_uploads_a_few_chunks_at_a_time() {
    use tokio::io::AsyncWriteExt;
    let server = Server::start().await;
    let room = RoomId::random();
    let (_alice, alice) = server.entered(support::join(room, "Alice")).await;
    let per_address = moim::server::recording_routes::Uploads::PER_ADDRESS as usize;
    let mut uploads = Vec::new();
    for _ in 0..=per_address {
        uploads.push(start(&server, room, &alice).await);
    }
    // Four chunks whose bodies are still coming hold the places...
    let mut held = Vec::new();
    for (base, key) in &uploads[..per_address] {
        let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        let head = format!(
            "PUT {base}/chunks/0 HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {key}\r\nContent-Length: 100000\r\n\r\n",
            server.addr
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(&[7; 1000]).await.unwrap();
        held.push(stream);
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    // ...and a fifth is told to come back.
    let (base, key) = &uploads[per_address];
    let busy = put(&server, base, "0", key, b"chunk").await;
    assert_eq!((busy.status, error(&busy)), (429, "busy".into()), "{}", busy.text());
    drop(held);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(put(&server, base, "0", key, b"chunk").await.status, 200, "sent again, taken");
}

#[tokio::test]
async fn one_address_starts_a_limited_number_of_recordings() {
    let server = Server::start().await;
    let room = RoomId::random();
    let (_alice, alice) = server.entered(support::join(room, "Alice")).await;
    let body = alice.start_body();
    let path = format!("/api/rooms/{room}/recordings");
    for n in 0..moim::server::recording_routes::STARTS_BURST {
        assert_eq!(server.request("POST", &path, &[], body.as_bytes()).await.status, 201, "recording {n}");
    }
    let refused = server.request("POST", &path, &[], body.as_bytes()).await;
    assert_eq!((refused.status, error(&refused)), (429, "too_many".into()), "{}", refused.text());
}

#[tokio::test]
async fn a_chunk_goes_to_disk_as_it_arrives_not_into_memory() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let data_dir = support::temp_dir();
    let server = Server::with(Config { data_dir: data_dir.clone(), ..Config::default() }).await;
    let (room, base, key, _alice) = recording(&server).await;
    let id = base.rsplit('/').next().unwrap();
    let folder = data_dir.join("recordings").join(room.to_string()).join(id);
    let total = 6_000_000;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "PUT {base}/chunks/0 HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {key}\r\nContent-Length: {total}\r\nConnection: close\r\n\r\n",
        server.addr
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&vec![5; total / 2]).await.unwrap();
    // Half of the body is sent and the rest is not: the half is on disk.
    let on_disk = || {
        std::fs::read_dir(&folder)
            .unwrap()
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "part"))
            .map(|e| e.metadata().unwrap().len())
            .sum::<u64>()
    };
    let mut waited = 0;
    while on_disk() < (total / 2) as u64 && waited < 100 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        waited += 1;
    }
    assert_eq!(on_disk(), (total / 2) as u64, "the first half waits on disk");
    stream.write_all(&vec![5; total / 2]).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(on_disk(), 0, "nothing is left beside the recording");
    assert_eq!(std::fs::metadata(folder.join("video.webm")).unwrap().len(), total as u64);
    let _ = std::fs::remove_dir_all(data_dir);
}

#[tokio::test]
async fn a_form_body_past_the_limit_is_refused_unread() {
    let server = Server::start().await;
    let room = RoomId::random();
    let big = format!("password={}", "a".repeat(100_000));
    let headers = [("content-type", "application/x-www-form-urlencoded")];
    let answer = server.request("POST", &format!("{}/recordings", room.path()), &headers, big.as_bytes()).await;
    assert_eq!(answer.status, 413, "{}", answer.text());
}
