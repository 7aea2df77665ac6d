//! The built-in HTTPS listener: pages and the signaling socket over TLS,
//! a stalled or plain-text client does not hold anyone up, and unusable
//! certificate files stop the server with a clear error.

mod support;

use futures_util::{SinkExt, StreamExt};
use moim::{
    protocol::{ClientMsg, Encode, RoomId, ServerMsg},
    server::{self, config::Config, listen::Tls},
};
use std::{path::PathBuf, sync::Arc, time::Duration};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tokio_rustls::{
    client::TlsStream,
    rustls::{self, pki_types::ServerName, RootCertStore},
    TlsConnector,
};
use tokio_tungstenite::tungstenite::Message;

/// A self-signed certificate for localhost and 127.0.0.1, written as PEM
/// files; returns the settings naming them and the certificate for clients.
fn certificate() -> (Tls, rustls::pki_types::CertificateDer<'static>) {
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let rcgen::CertifiedKey { cert, signing_key } = rcgen::generate_simple_self_signed(names).unwrap();
    let dir = support::temp_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let tls = Tls { cert: dir.join("cert.pem"), key: dir.join("key.pem") };
    std::fs::write(&tls.cert, cert.pem()).unwrap();
    std::fs::write(&tls.key, signing_key.serialize_pem()).unwrap();
    (tls, cert.der().clone())
}

async fn tls_server() -> (support::Server, TlsConnector) {
    let (tls, cert) = certificate();
    let server = support::Server::with(Config { tls: Some(tls), ..Config::default() }).await;
    let mut roots = RootCertStore::empty();
    roots.add(cert).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    (server, TlsConnector::from(Arc::new(config)))
}

async fn connect(server: &support::Server, tls: &TlsConnector) -> TlsStream<TcpStream> {
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    tls.connect(ServerName::try_from("localhost").unwrap(), tcp).await.unwrap()
}

async fn get(server: &support::Server, tls: &TlsConnector, path: &str) -> String {
    let mut stream = connect(server, tls).await;
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response)).await.unwrap();
    // Some servers end TLS without close_notify; what was read still counts.
    if let Err(err) = read {
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof, "{err}");
    }
    String::from_utf8_lossy(&response).into_owned()
}

#[tokio::test]
async fn pages_and_signaling_are_served_over_tls() {
    let (server, tls) = tls_server().await;
    let page = get(&server, &tls, "/").await;
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.to_ascii_lowercase().contains("content-security-policy"), "{page}");

    let stream = connect(&server, &tls).await;
    let (mut ws, _) = tokio_tungstenite::client_async("wss://localhost/ws", stream).await.unwrap();
    let join = support::join(RoomId::random(), "Ada");
    ws.send(Message::text(join.encode())).await.unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.unwrap().unwrap().unwrap();
    let reply = ServerMsg::decode(reply.to_text().unwrap()).unwrap();
    assert!(matches!(reply, ServerMsg::Welcome { .. }), "{reply:?}");
    ws.send(Message::text(ClientMsg::Leave.encode())).await.unwrap();
}

#[tokio::test]
async fn one_address_holds_a_limited_number_of_handshakes() {
    let (server, tls) = tls_server().await;
    let per_address = moim::server::listen::HANDSHAKES_PER_ADDRESS as usize;
    // Connections from 127.0.0.2 that never say hello…
    let from = |_| async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        socket.connect(server.addr).await.unwrap()
    };
    let mut stalled = Vec::new();
    for n in 0..per_address {
        stalled.push(from(n).await);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // …hold that many handshakes; one more is closed at once (not after
    // the 10 s handshake timeout),
    let mut one_more = from(per_address).await;
    let mut byte = [0; 1];
    let read = tokio::time::timeout(Duration::from_secs(3), one_more.read(&mut byte)).await;
    assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "the connection past the limit stayed open: {read:?}");
    // while another address is served as usual.
    assert!(get(&server, &tls, "/").await.starts_with("HTTP/1.1 200"));
    drop(stalled);
}

#[tokio::test]
async fn a_stalled_or_plain_client_holds_nobody_up() {
    let (server, tls) = tls_server().await;
    // Connected, but never starts a handshake.
    let _stalled = TcpStream::connect(server.addr).await.unwrap();
    // Speaks plain HTTP to the TLS port: the handshake fails, nothing is served.
    let mut plain = TcpStream::connect(server.addr).await.unwrap();
    plain.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), plain.read_to_end(&mut answer)).await.unwrap();
    assert!(!String::from_utf8_lossy(&answer).contains("<html"), "plain HTTP got a page");

    let page = get(&server, &tls, "/").await;
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
}

#[tokio::test]
async fn unusable_certificate_files_stop_the_server_with_a_clear_error() {
    let missing = Tls { cert: PathBuf::from("/nonexistent/cert.pem"), key: PathBuf::from("/nonexistent/key.pem") };
    let (good, _) = certificate();
    let no_key = Tls { cert: good.cert.clone(), key: good.cert.clone() };
    for (tls, expected) in [(missing, "cannot read the TLS certificate"), (no_key, "cannot read the TLS key")] {
        let config = Config { tls: Some(tls), data_dir: support::temp_dir(), ..Config::default() };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let err = server::run(listener, config, std::future::pending()).await.unwrap_err();
        assert!(err.to_string().contains(expected), "{err}");
    }
}
