//! A real moim server on 127.0.0.1:0 and tokio-tungstenite clients for it.
#![allow(dead_code)]

pub mod fuzz;
pub mod synthetic;

use futures_util::{SinkExt, StreamExt};
use moim::{
    protocol::{ClientMsg, Encode, MediaState, PeerId, PeerInfo, Resume, RoomId, ServerMsg, PROTOCOL_VERSION},
    server::{self, config::Config},
};
use std::{net::SocketAddr, path::PathBuf, time::Duration};
use tokio::{net::TcpStream, sync::oneshot};
use tokio_tungstenite::{
    tungstenite::{protocol::CloseFrame, Message},
    MaybeTlsStream, WebSocketStream,
};

pub struct Server {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

impl Server {
    pub async fn start() -> Self {
        Self::with(Config::default()).await
    }

    /// A server with these settings; unless they name one, its data
    /// directory is a fresh temporary one.
    pub async fn with(mut config: Config) -> Self {
        if config.data_dir == Config::default().data_dir {
            config.data_dir = temp_dir();
        }
        if config.recordings.dir == Config::default().recordings.dir {
            config.recordings.dir = config.data_dir.join("recordings");
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel();
        tokio::spawn(server::run(listener, config, async {
            let _ = stopped.await;
        }));
        Self { addr, stop: Some(stop) }
    }

    /// A server running elsewhere (another process) at `addr`.
    pub fn at(addr: SocketAddr) -> Self {
        Self { addr, stop: None }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn client(&self) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", self.addr)).await.unwrap();
        Client { ws }
    }

    /// A client that has joined `room` as `name`; returns it with its welcome.
    pub async fn joined(&self, room: RoomId, name: &str) -> (Client, PeerId, Vec<PeerInfo>) {
        let (client, welcome) = self.entered(join(room, name)).await;
        (client, welcome.you, welcome.peers)
    }

    /// A client that has sent this `join`; returns it with the whole welcome.
    pub async fn entered(&self, join: ClientMsg) -> (Client, Welcome) {
        let mut client = self.client().await;
        client.send(&join).await;
        match client.recv().await {
            ServerMsg::Welcome { you, peers, resume_token, resumed, host_token, .. } => {
                (client, Welcome { you, peers, resume_token, resumed, host_token })
            }
            other => panic!("expected welcome, got {other:?}"),
        }
    }

    /// `GET path`, answered whole (see [`Server::request`]).
    pub async fn get(&self, path: &str) -> Answer {
        self.request("GET", path, &[], b"").await
    }

    /// `POST path` with an empty body.
    pub async fn post(&self, path: &str) -> Answer {
        self.request("POST", path, &[], b"").await
    }
}

/// An HTTP answer: status, headers (names in lower case) and body.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", self.text()))
    }
}

impl Server {
    /// Any HTTP/1.1 request with a body (and the server's address as `Host`
    /// unless `headers` has one); the answer is read whole (the
    /// server's own chunked encoding is undone), within 10 s. The one HTTP
    /// client of the tests.
    pub async fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
        self.try_request(method, path, headers, body).await.unwrap_or_else(|why| panic!("{method} {path}: {why}"))
    }

    /// [`Server::request`] to a server that may die while answering: the
    /// error says what came instead of an answer.
    pub async fn try_request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Answer, String> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = TcpStream::connect(self.addr).await.map_err(|e| e.to_string())?;
        // The server's own address as Host, unless the test names another.
        let mut head = format!("{method} {path} HTTP/1.1\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
        if !headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("host")) {
            head.push_str(&format!("Host: {}\r\n", self.addr));
        }
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).await.map_err(|e| e.to_string())?;
        // A refused request may be answered before its body is all sent.
        let _ = stream.write_all(body).await;
        let mut raw = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw)).await;
        let got = String::from_utf8_lossy(&raw[..raw.len().min(200)]).into_owned();
        match read {
            Err(_) => return Err(format!("no whole answer in 10 s; got {got:?}")),
            Ok(Err(err)) => return Err(format!("{err}; got {got:?}")),
            Ok(Ok(_)) => {}
        }
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| format!("no answer: {got:?}"))?;
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let mut lines = head.lines();
        let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok());
        let status = status.ok_or_else(|| format!("no status line: {got:?}"))?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let mut body = raw[split + 4..].to_vec();
        if headers.iter().any(|(n, v)| n == "transfer-encoding" && v == "chunked") {
            body = unchunk(&body);
        }
        Ok(Answer { status, headers, body })
    }

    /// Begins a graceful shutdown, as SIGTERM does.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The parts of a `welcome` the tests look at.
#[derive(Debug)]
pub struct Welcome {
    pub you: PeerId,
    pub peers: Vec<PeerInfo>,
    pub resume_token: String,
    pub resumed: bool,
    pub host_token: Option<String>,
}

impl Welcome {
    /// The body that starts a recording as this participant.
    pub fn start_body(&self) -> String {
        serde_json::json!({ "peer": self.you, "token": self.resume_token }).to_string()
    }
}

/// A directory of its own for one test server.
pub fn temp_dir() -> PathBuf {
    std::env::temp_dir().join(format!("moim-test-{}", uuid::Uuid::new_v4()))
}

pub fn join(room: RoomId, name: &str) -> ClientMsg {
    ClientMsg::Join {
        version: PROTOCOL_VERSION,
        room,
        name: name.into(),
        media: MediaState { audio: true, video: true, screen: false, recording: false },
        resume: None,
        password: None,
        host_token: None,
        device: None,
    }
}

/// `join` that asks to come back as `id`.
pub fn rejoin(room: RoomId, name: &str, id: PeerId, token: &str) -> ClientMsg {
    let ClientMsg::Join { version, room, name, media, password, host_token, device, .. } = join(room, name) else {
        unreachable!()
    };
    ClientMsg::Join {
        version,
        room,
        name,
        media,
        resume: Some(Resume { id, token: token.into() }),
        password,
        host_token,
        device,
    }
}

pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    pub async fn send(&mut self, msg: &ClientMsg) {
        self.send_text(&msg.encode()).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.unwrap();
    }

    /// The next frame, whatever it is (fails the test after 5 s).
    pub async fn next(&mut self) -> Option<Message> {
        self.next_within(Duration::from_secs(5)).await
    }

    async fn next_within(&mut self, wait: Duration) -> Option<Message> {
        match tokio::time::timeout(wait, self.ws.next()).await {
            Ok(Some(Ok(msg))) => Some(msg),
            Ok(_) => None,
            Err(_) => panic!("no frame within {wait:?}"),
        }
    }

    /// The next protocol message (fails the test on anything else).
    pub async fn recv(&mut self) -> ServerMsg {
        self.recv_within(Duration::from_secs(5)).await
    }

    /// [`Client::recv`], waiting up to `wait` (for answers that queue).
    pub async fn recv_within(&mut self, wait: Duration) -> ServerMsg {
        loop {
            match self.next_within(wait).await {
                Some(Message::Text(text)) => return ServerMsg::decode(&text).expect("server sent valid JSON"),
                Some(Message::Ping(_) | Message::Pong(_)) => continue,
                other => panic!("expected a message, got {other:?}"),
            }
        }
    }

    /// Asserts that the next message says `name` joined; returns who that is.
    pub async fn joined(&mut self, name: &str) -> PeerInfo {
        match self.recv().await {
            ServerMsg::PeerJoined { peer } if peer.name == name => peer,
            other => panic!("expected {name} to join, got {other:?}"),
        }
    }

    /// Asserts that nothing but the answer to a ping is waiting: the ping is
    /// a barrier, since the server answers in order.
    pub async fn expect_nothing_pending(&mut self) {
        self.send(&ClientMsg::Ping).await;
        assert_eq!(self.recv().await, ServerMsg::Pong);
    }

    /// Reads until the server closes; returns its close frame.
    pub async fn closed(&mut self) -> Option<CloseFrame> {
        loop {
            match self.next().await {
                Some(Message::Close(frame)) => return frame,
                None => return None,
                Some(_) => continue,
            }
        }
    }
}

/// Undoes HTTP/1.1 chunked transfer encoding.
fn unchunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = raw.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&raw[..line_end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&raw[line_end + 2..line_end + 2 + size]);
        raw = &raw[line_end + 4 + size..];
    }
    out
}
