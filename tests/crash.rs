//! The real server process killed between storing a recording's chunk and
//! writing down that it has it: after a restart the recording is whole, the
//! chunk is taken again, and the file holds every chunk once.

mod support;

use moim::protocol::RoomId;
use std::{
    net::SocketAddr,
    path::Path,
    process::{Child, Command, Stdio},
    time::Duration,
};
use support::{temp_dir, Server};

/// Starts the moim binary on a free port, with its data under `dir`.
async fn start(dir: &Path, crash: bool) -> (Child, SocketAddr) {
    let addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_moim"));
    command
        .args(["--config", "none.toml", "--addr", &addr.to_string()])
        .arg("--data-dir")
        .arg(dir.join("data"))
        .arg("--recordings-dir")
        .arg(dir.join("recordings"))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if crash {
        command.env("MOIM_TEST_CRASH_BEFORE_META", "1");
    }
    let mut child = command.spawn().unwrap();
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return (child, addr);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the server did not start");
}

/// A chunk to a server that may die while storing it: its status, if it answered.
async fn put(server: &Server, path: &str, key: &str, body: &[u8]) -> Option<u16> {
    let auth = format!("Bearer {key}");
    server.try_request("PUT", path, &[("authorization", &auth)], body).await.ok().map(|answer| answer.status)
}

#[tokio::test]
async fn a_kill_between_a_chunk_and_its_record_loses_nothing() {
    let dir = temp_dir();
    let room = RoomId::random();
    let (mut first, addr) = start(&dir, true).await;
    let server = Server::at(addr);
    let (_alice, welcome) = server.entered(support::join(room, "Alice")).await;
    let who = welcome.start_body();
    let started = server.request("POST", &format!("/api/rooms/{room}/recordings"), &[], who.as_bytes()).await;
    assert_eq!(started.status, 201, "{}", started.text());
    let id = started.json()["id"].as_str().unwrap().to_string();
    let key = started.json()["upload_token"].as_str().unwrap().to_string();
    let chunk = |n: u32| format!("/api/rooms/{room}/recordings/{id}/chunks/{n}");

    assert_eq!(put(&server, &chunk(0), &key, b"first chunk ").await, None, "killed while storing it");
    let status = tokio::task::spawn_blocking(move || first.wait().unwrap()).await.unwrap();
    assert!(!status.success(), "the server died: {status}");

    let (mut second, addr) = start(&dir, false).await;
    let server = Server::at(addr);
    assert_eq!(put(&server, &chunk(0), &key, b"first chunk ").await, Some(200), "sent again, taken");
    assert_eq!(put(&server, &chunk(1), &key, b"second chunk").await, Some(200));
    let file = server.request("GET", &format!("/r/{room}/recordings/{id}.webm"), &[], b"").await;
    assert_eq!(file.status, 200);
    assert_eq!(file.body, b"first chunk second chunk", "each chunk once, nothing of the crash left");
    second.kill().unwrap();
    let _ = second.wait();
    let _ = std::fs::remove_dir_all(dir);
}
