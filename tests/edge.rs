//! The edge of the server, attacked from outside: requests that change
//! something from another web site's pages (cross-site request forgery,
//! such as making visitors' browsers guess a room's password until their
//! whole NAT is locked out), origins that differ only in scheme or port,
//! and host names moim does not serve (DNS rebinding).

mod support;

use moim::{protocol::RoomId, server::config::Config};
use support::Server;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const EVIL: &str = "https://evil.example";

#[tokio::test]
async fn forms_and_uploads_from_another_site_are_refused() {
    let server = Server::start().await;
    let room = RoomId::random();
    let own = format!("http://{}", server.addr);
    // A real recording with its real key: only the origin is wrong below.
    let (_alice, welcome) = server.entered(support::join(room, "Alice")).await;
    let start = format!("/api/rooms/{room}/recordings");
    let who = welcome.start_body();
    let started = server.request("POST", &start, &[("origin", &own)], who.as_bytes()).await;
    assert_eq!(started.status, 201, "{}", started.text());
    let id = started.json()["id"].as_str().unwrap().to_string();
    let key = format!("Bearer {}", started.json()["upload_token"].as_str().unwrap());
    let chunk = format!("/api/rooms/{room}/recordings/{id}/chunks/0");
    let finish = format!("/api/rooms/{room}/recordings/{id}/finish");
    let unlock = format!("/r/{room}/recordings");
    let form = ("content-type", "application/x-www-form-urlencoded");
    let requests = [
        ("POST", "/new", b"".as_slice()),
        ("POST", &unlock, b"password=guess"),
        ("POST", &start, who.as_bytes()),
        ("PUT", &chunk, b"\x1a\x45\xdf\xa3"),
        ("POST", &finish, b""),
    ];
    for (method, path, body) in requests {
        let headers = [form, ("authorization", &key), ("origin", EVIL)];
        let foreign = server.request(method, path, &headers, body).await;
        assert_eq!(foreign.status, 403, "{method} {path} from another origin: {}", foreign.text());
        let headers = [form, ("authorization", &key), ("sec-fetch-site", "cross-site")];
        let marked = server.request(method, path, &headers, body).await;
        assert_eq!(marked.status, 403, "{method} {path} marked cross-site: {}", marked.text());
    }
    // `Origin: null` (what a browser sends under moim's no-referrer policy,
    // and from sandboxed frames) passes only when the browser itself marks
    // the request same-origin.
    for fetch_site in [None, Some("cross-site"), Some("same-site"), Some("none")] {
        let mut headers = vec![("origin", "null")];
        headers.extend(fetch_site.map(|site| ("sec-fetch-site", site)));
        let answer = server.request("POST", "/new", &headers, b"").await;
        assert_eq!(answer.status, 403, "Origin: null with {fetch_site:?}");
    }
    let answer = server.request("POST", "/new", &[("origin", "null"), ("sec-fetch-site", "same-origin")], b"").await;
    assert_eq!(answer.status, 303, "moim's own form, as Chromium sends it");
    // Nothing of it happened: the recording still expects its first chunk.
    let headers = [("authorization", key.as_str()), ("origin", &own)];
    let answer = server.request("PUT", &chunk, &headers, b"\x1a\x45\xdf\xa3").await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.json()["chunks"], 1);
    // The page's own forms still work.
    let answer = server.request("POST", "/new", &[("origin", &own), ("sec-fetch-site", "same-origin")], b"").await;
    assert_eq!(answer.status, 303, "{}", answer.text());
    let answer = server.request("POST", &unlock, &[form, ("origin", &own)], b"password=x").await;
    assert_eq!(answer.status, 303, "a room without a password sends the form back to its page");
    // Reading is not changing: another site may link to a room.
    let answer = server.request("GET", &format!("/r/{room}"), &[("sec-fetch-site", "cross-site")], b"").await;
    assert_eq!(answer.status, 200);
}

#[tokio::test]
async fn the_socket_origin_must_match_in_scheme_and_port_too() {
    let server = Server::start().await;
    let port = server.addr.port();
    for origin in [
        EVIL.to_string(),
        format!("https://127.0.0.1:{port}"),
        format!("http://127.0.0.1:{}", port.wrapping_add(1)),
        format!("http://127.0.0.1.evil.example:{port}"),
        "null".to_string(),
    ] {
        let mut request = format!("ws://{}/ws", server.addr).into_client_request().unwrap();
        request.headers_mut().insert("Origin", origin.parse().unwrap());
        assert!(tokio_tungstenite::connect_async(request).await.is_err(), "{origin} opened the socket");
    }
    let mut request = format!("ws://{}/ws", server.addr).into_client_request().unwrap();
    request.headers_mut().insert("Origin", format!("http://{}", server.addr).parse().unwrap());
    assert!(tokio_tungstenite::connect_async(request).await.is_ok());
}

#[tokio::test]
async fn host_names_moim_does_not_serve_are_refused() {
    let server = Server::start().await;
    let port = server.addr.port();
    let evil = format!("evil.example:{port}");
    let answer = server.request("GET", "/", &[("host", &evil)], b"").await;
    assert_eq!(answer.status, 421, "a rebound name: {}", answer.text());
    let answer = server.request("GET", "/", &[("host", &format!("localhost:{port}"))], b"").await;
    assert_eq!(answer.status, 200);
    let mut request = format!("ws://{}/ws", server.addr).into_client_request().unwrap();
    request.headers_mut().insert("Host", evil.parse().unwrap());
    assert!(tokio_tungstenite::connect_async(request).await.is_err(), "the socket too");

    let config = Config { public_origin: Some("https://meet.example".into()), ..Config::default() };
    let named = Server::with(config).await;
    let answer = named.request("GET", "/", &[("host", "meet.example")], b"").await;
    assert_eq!(answer.status, 200, "the configured name");
    let answer = named.request("GET", "/", &[("host", "evil.example")], b"").await;
    assert_eq!(answer.status, 421);
}
