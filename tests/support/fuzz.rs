//! Random and mutated signaling frames, for the loopback fuzz test
//! (`tests/fuzz.rs`) and benchmark (`examples/signal_fuzz.rs`).
//!
//! A small xorshift generator rather than the `rand` crate: the frames only
//! need to be varied and repeatable from a seed, and the test and the
//! benchmark share this file by path.

use futures_util::{SinkExt, StreamExt};
use moim::protocol::{
    ClientMsg, Encode, ErrorCode, MediaState, PeerId, ProtocolError, Resume, RoomId, SdpType, ServerMsg, Signal,
    MAX_FRAME_BYTES, PROTOCOL_VERSION,
};
use std::collections::BTreeMap;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

pub struct Frames {
    state: u64,
    /// Rooms and peers to aim at, so some frames are valid and reach
    /// the relay path.
    rooms: Vec<RoomId>,
    peers: Vec<PeerId>,
}

impl Frames {
    pub fn new(seed: u64) -> Self {
        let mut frames = Self { state: seed | 1, rooms: Vec::new(), peers: Vec::new() };
        frames.rooms = (0..4).map(|_| RoomId(frames.uuid())).collect();
        frames.peers = (0..8).map(|_| PeerId(frames.uuid())).collect();
        frames
    }

    fn next(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn uuid(&mut self) -> Uuid {
        uuid::Builder::from_random_bytes(((u128::from(self.next()) << 64) | u128::from(self.next())).to_le_bytes())
            .into_uuid()
    }

    /// A well-formed message (though perhaps refused: not joined yet,
    /// unknown peer, a bad version).
    pub fn valid(&mut self) -> ClientMsg {
        let (r, p) = (self.below(self.rooms.len()), self.below(self.peers.len()));
        let (room, to) = (self.rooms[r], self.peers[p]);
        match self.below(6) {
            0 => ClientMsg::Join {
                version: if self.below(8) == 0 { 7 } else { PROTOCOL_VERSION },
                room,
                name: ["Ada", "", " ", "\u{0}x", &"n".repeat(70), "名前"][self.below(6)].to_string(),
                media: MediaState { audio: self.below(2) == 0, video: true, screen: false, recording: false },
                resume: (self.below(4) == 0).then(|| Resume { id: to, token: "ab".repeat(32) }),
                password: (self.below(4) == 0).then(|| "pw".repeat(self.below(200))),
                host_token: (self.below(8) == 0).then(|| "ab".repeat(32)),
                device: (self.below(2) == 0).then(|| format!("{:x}", self.next())),
            },
            1 => ClientMsg::Signal {
                to,
                signal: Signal::Description { sdp_type: SdpType::Offer, sdp: "v=0\r\n".repeat(self.below(200)) },
            },
            2 => ClientMsg::Signal {
                to,
                signal: Signal::Candidate {
                    candidate: "candidate:1 1 udp 2122260223 127.0.0.1 54321 typ host".into(),
                    sdp_mid: Some("0".into()),
                    sdp_m_line_index: Some(0),
                },
            },
            3 => ClientMsg::Media { media: MediaState { audio: true, video: false, screen: true, recording: false } },
            4 => ClientMsg::Leave,
            _ => ClientMsg::Ping,
        }
    }

    /// One frame: mostly mutations of valid messages, and every other kind
    /// of bad input the server must answer.
    pub fn frame(&mut self) -> Message {
        match self.below(20) {
            0..=7 => {
                let mut bytes = self.valid().encode().into_bytes();
                for _ in 0..=self.below(4) {
                    self.mutate(&mut bytes);
                }
                Message::text(String::from_utf8_lossy(&bytes).into_owned())
            }
            8..=10 => Message::text(self.valid().encode()),
            11 => {
                let text = ["{\"type\":\"signal\",\"to\":", "[", "{\"a\":"][self.below(3)];
                let depth = 1 + self.below(5_000);
                Message::text(format!("{{\"type\":\"join\",\"room\":{}", text.repeat(depth)))
            }
            12 => Message::text(
                [
                    r#"{"type":"signal","to":123,"signal":{}}"#,
                    r#"{"type":"join","version":1e400}"#,
                    r#"{"type":null}"#,
                    r#"[1,2,3]"#,
                    r#""join""#,
                    r#"{"type":"ping","type":"leave"}"#,
                    r#"{"type":"media","media":{"audio":"yes"}}"#,
                    r#"{"type":"\ud800"}"#,
                ][self.below(8)],
            ),
            13 => Message::text(format!("{{\"type\":\"x{}\"}}", self.next())),
            14 => {
                let n = self.below(300);
                let bytes: Vec<u8> = (0..n).map(|_| self.next() as u8).collect();
                Message::text(String::from_utf8_lossy(&bytes).into_owned())
            }
            15 => Message::binary((0..self.below(100)).map(|_| self.next() as u8).collect::<Vec<u8>>()),
            16 if self.below(10) == 0 => Message::text(format!(
                "{{\"type\":\"signal\",\"to\":\"{}\",\"signal\":{{\"kind\":\"description\",\"sdp_type\":\"offer\",\"sdp\":\"{}\"}}}}",
                self.peers[0],
                "x".repeat(64 * 1024)
            )),
            16 | 17 => Message::text(String::new()),
            _ => Message::text(self.valid().encode().repeat(1 + self.below(3))),
        }
    }

    fn mutate(&mut self, bytes: &mut Vec<u8>) {
        if bytes.is_empty() {
            return;
        }
        let at = self.below(bytes.len());
        match self.below(5) {
            0 => bytes[at] ^= 1 << self.below(8),
            1 => bytes.insert(at, b"{}[]\":,\\0-e9 "[self.below(13)]),
            2 => {
                bytes.remove(at);
            }
            3 => bytes.truncate(at),
            _ => {
                let end = (at + 1 + self.below(32)).min(bytes.len());
                let piece = bytes[at..end].to_vec();
                bytes.splice(at..at, piece);
            }
        }
    }
}

/// What the server answered to a fuzz run.
#[derive(Debug, Default)]
pub struct Report {
    /// Frames the server is known to have handled: each was followed by a
    /// ping that got its pong, or was the frame that closed the socket.
    pub handled: u64,
    /// Frames sent on a socket that then ended unexpectedly (should be 0).
    pub lost: u64,
    /// `error` replies by code.
    pub errors: BTreeMap<String, u64>,
    /// Other replies (welcome, peer_joined, signal…), pongs not counted.
    pub replies: u64,
    /// Sockets the server closed, by close code (0: no close frame).
    pub closes: BTreeMap<u16, u64>,
    /// Sockets that could not be opened.
    pub refused: u64,
}

impl Report {
    fn merge(&mut self, other: Report) {
        self.handled += other.handled;
        self.lost += other.lost;
        self.replies += other.replies;
        self.refused += other.refused;
        for (code, n) in other.errors {
            *self.errors.entry(code).or_default() += n;
        }
        for (code, n) in other.closes {
            *self.closes.entry(code).or_default() += n;
        }
    }
}

/// Sends `total` frames to the signaling socket at `url` over `sockets`
/// connections at once, opening a new socket whenever the server closes one.
pub async fn run(url: &str, total: u64, sockets: u64, seed: u64) -> Report {
    let tasks: Vec<_> = (0..sockets)
        .map(|i| {
            let url = url.to_string();
            let share = total / sockets + u64::from(i < total % sockets);
            tokio::spawn(socket_loop(url, share, seed.wrapping_add(i.wrapping_mul(0x9E37_79B9_7F4A_7C15))))
        })
        .collect();
    let mut report = Report::default();
    for task in tasks {
        report.merge(task.await.expect("a fuzz task panicked"));
    }
    report
}

/// Frames go in batches of at most this many, each followed by a ping.
const BATCH: usize = 64;

/// What the reader saw that the sender waits for.
enum Seen {
    Pong,
    Closed(u16),
}

/// One task's share: batches of frames, each ending with a ping (the
/// server answers in order, so its pong means the batch was handled) or
/// with a frame that closes the socket (`leave`, a frame over the limit),
/// after which a new socket is opened.
async fn socket_loop(url: String, mut left: u64, seed: u64) -> Report {
    let mut frames = Frames::new(seed);
    let mut report = Report::default();
    let mut next = None;
    while left > 0 {
        let Ok((ws, _)) = tokio_tungstenite::connect_async(&url).await else {
            report.refused += 1;
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        let (mut sink, stream) = ws.split();
        let (seen, mut events) = tokio::sync::mpsc::unbounded_channel();
        let reader = tokio::spawn(read(stream, seen));
        'socket: while left > 0 {
            let (mut batch, mut pongs, mut closing) = (0, 0, false);
            while batch < BATCH && (batch as u64) < left && !closing {
                let frame = next.take().unwrap_or_else(|| frames.frame());
                let decoded = match &frame {
                    Message::Text(text) => Some(ClientMsg::decode(text)),
                    _ => None,
                };
                pongs += usize::from(matches!(decoded, Some(Ok(ClientMsg::Ping))));
                closing = matches!(decoded, Some(Ok(ClientMsg::Leave)) | Some(Err(ProtocolError::TooLarge(_))))
                    || frame.len() > MAX_FRAME_BYTES;
                if sink.send(frame.clone()).await.is_err() {
                    // Gone before it could be sent: send it on the next socket.
                    next = Some(frame);
                    report.lost += batch as u64;
                    break 'socket;
                }
                batch += 1;
            }
            // After a frame that may close the socket too: `leave` before
            // `join` is only refused.
            let _ = sink.send(Message::text(ClientMsg::Ping.encode())).await;
            pongs += 1;
            let mut closed = None;
            while pongs > 0 {
                match events.recv().await {
                    Some(Seen::Pong) => pongs -= 1,
                    Some(Seen::Closed(code)) => {
                        closed = Some(code);
                        break;
                    }
                    None => {
                        closed = Some(0);
                        break;
                    }
                }
            }
            left -= batch as u64;
            match closed {
                None => report.handled += batch as u64,
                // `leave` (when joined) and oversized frames close the socket.
                Some(_) if closing => {
                    report.handled += batch as u64;
                    break 'socket;
                }
                Some(_) => {
                    report.lost += batch as u64;
                    break 'socket;
                }
            }
        }
        let _ = sink.close().await;
        if let Ok(seen) = reader.await {
            report.merge(seen);
        }
    }
    report
}

/// Counts what the server sends, and tells the sender of pongs and the close.
async fn read(
    mut stream: impl StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
    seen: tokio::sync::mpsc::UnboundedSender<Seen>,
) -> Report {
    let mut report = Report::default();
    let mut code = 0;
    while let Some(Ok(msg)) = stream.next().await {
        match msg {
            Message::Text(text) => match ServerMsg::decode(&text) {
                Ok(ServerMsg::Pong) => {
                    let _ = seen.send(Seen::Pong);
                }
                Ok(ServerMsg::Error { code, .. }) => *report.errors.entry(code_name(code)).or_default() += 1,
                Ok(_) => report.replies += 1,
                Err(err) => panic!("the server sent something that is not protocol: {err}: {text}"),
            },
            Message::Close(frame) => code = frame.map_or(0, |f| u16::from(f.code)),
            _ => {}
        }
    }
    *report.closes.entry(code).or_default() += 1;
    let _ = seen.send(Seen::Closed(code));
    report
}

fn code_name(code: ErrorCode) -> String {
    serde_json::to_string(&code).unwrap_or_default().trim_matches('"').to_string()
}
