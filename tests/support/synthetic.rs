//! A synthetic participant of a forwarded room: a str0m `Rtc` in place of
//! a browser, for the forwarding unit's tests (`tests/forward.rs`) and its
//! load generator (`examples/forward_load.rs`, which takes this file by
//! path).
//!
//! It joins a room on a signaling socket of its own, binds a UDP socket on
//! 127.0.0.1:0 and, once the room is forwarded, offers what a browser
//! offers: a microphone (Opus), a camera (VP8, simulcast in the layers of
//! [`Options::layers`]) and receiving slots. It follows `forward_slots`
//! (adding slots and offering again when asked for more), drives its `Rtc`
//! from one tokio task, and sends made-up media at a browser's rates: 50
//! audio packets a second, and camera frames at [`Options::fps`] on every
//! layer, sized by the layer's bitrate, with a keyframe (a VP8 keyframe
//! header that carries the layer's picture size) now and then and whenever
//! the server asks for one.
//!
//! Every payload carries a marker: the sender's id and a sequence number
//! (audio packets and camera frames are numbered apart; a frame has one
//! number on all layers). A receiver counts what came from whom by the
//! marker, so a packet that reaches the wrong slot, or comes from someone
//! who should be gone, is seen for what it is.

#![allow(dead_code)]

use futures_util::{
    stream::{SplitSink, SplitStream},
    SinkExt, StreamExt,
};
use moim::protocol::{
    ClientMsg, Encode, ErrorCode, MediaState, PeerId, Published, RoomId, RoomMode, ServerMsg, Source, PROTOCOL_VERSION,
};
use std::{
    collections::HashMap,
    net::SocketAddr,
    ops::Range,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use str0m::{
    change::{SdpAnswer, SdpPendingOffer},
    format::Codec,
    media::{Direction, Frequency, MediaData, MediaKind, MediaTime, Mid, Pt, Rid, Simulcast, SimulcastLayer},
    net::{Protocol, Receive},
    Candidate, Event, IceConnectionState, Input, Output, Rtc,
};
use tokio::{
    net::{TcpStream, UdpSocket},
    sync::mpsc,
    time::MissedTickBehavior,
};
use tokio_tungstenite::{tungstenite::Message, MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One simulcast layer as the camera sends it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Layer {
    pub rid: &'static str,
    pub width: u16,
    pub height: u16,
    /// Its bitrate, which sizes its frames.
    pub kbps: u32,
}

/// A 720p camera's three layers at about a browser's rates.
pub const LAYERS: [Layer; 3] = [
    Layer { rid: "q", width: 320, height: 180, kbps: 100 },
    Layer { rid: "h", width: 640, height: 360, kbps: 300 },
    Layer { rid: "f", width: 1280, height: 720, kbps: 1000 },
];

/// What a synthetic participant sends and how it receives.
#[derive(Clone, Debug)]
pub struct Options {
    pub name: String,
    /// Send a microphone.
    pub mic: bool,
    /// Send a camera, in these layers (none: no camera).
    pub layers: Vec<Layer>,
    /// Camera frames a second, on every layer.
    pub fps: u32,
    /// Bytes of one audio packet (Opus at about 40 kbit/s: 100).
    pub audio_bytes: usize,
    /// The audio level its packets say (RFC 6464, dBov: 0 loudest, -127
    /// silence), as browsers write it. None: no level.
    pub audio_level: Option<i8>,
    /// A keyframe at least this often, on every layer.
    pub keyframe_every: Duration,
    /// Receiving slots (audio, video) in the first offer; more are added
    /// when `forward_slots` asks for them.
    pub slots: (usize, usize),
    /// The most receiving slots of each kind it will have, whatever the
    /// server asks: it then gets only the tracks the server puts in them.
    pub max_slots: usize,
    /// How big it shows every camera it receives (`forward_view`, sent
    /// once for each camera as its slot appears). None: never says.
    pub view: Option<(u16, u16)>,
    /// Joins as host with this token.
    pub host_token: Option<String>,
}

impl Options {
    /// Microphone and a three-layer camera, at 30 frames a second.
    pub fn publisher(name: &str) -> Self {
        Self {
            name: name.into(),
            mic: true,
            layers: LAYERS.to_vec(),
            fps: 30,
            audio_bytes: 100,
            audio_level: None,
            keyframe_every: Duration::from_secs(10),
            slots: (1, 1),
            max_slots: usize::MAX,
            view: None,
            host_token: None,
        }
    }

    /// Sends nothing, only receives.
    pub fn watcher(name: &str) -> Self {
        Self { mic: false, layers: Vec::new(), ..Self::publisher(name) }
    }
}

/// Which numbers of a sequence arrived, each counted once.
#[derive(Clone, Debug, Default)]
pub struct Marks {
    bits: Vec<u64>,
    /// Distinct numbers seen.
    pub distinct: u64,
    /// Numbers seen again.
    pub again: u64,
    /// When the last one came.
    pub last: Option<Instant>,
}

/// The highest number [`Marks`] keeps (about 23 hours of audio).
const MAX_MARK: u64 = 1 << 22;

impl Marks {
    fn mark(&mut self, n: u64, now: Instant) {
        self.last = Some(now);
        if n >= MAX_MARK {
            return;
        }
        let (word, bit) = ((n / 64) as usize, n % 64);
        if self.bits.len() <= word {
            self.bits.resize(word + 1, 0);
        }
        if self.bits[word] & (1 << bit) != 0 {
            self.again += 1;
        } else {
            self.bits[word] |= 1 << bit;
            self.distinct += 1;
        }
    }

    /// How many numbers of `range` arrived.
    pub fn count_in(&self, range: Range<u64>) -> u64 {
        range.filter(|n| self.bits.get((n / 64) as usize).is_some_and(|w| w & (1 << (n % 64)) != 0)).count() as u64
    }
}

/// What arrived from one sender (by the marker in its payloads).
#[derive(Clone, Debug, Default)]
pub struct Heard {
    /// Audio packets, by the sender's audio sequence.
    pub audio: Marks,
    /// Camera frames, by the sender's frame number.
    pub video: Marks,
    /// Camera frames by layer (the index in the sender's layers).
    pub layers: [u64; 3],
    /// RTP packets those frames and audio packets came in.
    pub packets: u64,
}

/// What it has sent.
#[derive(Clone, Debug, Default)]
pub struct Sent {
    /// Audio packets: the next audio sequence number.
    pub audio: u64,
    /// Camera frames: the next frame number (each sent on every layer).
    pub frames: u64,
    pub keyframes: u64,
    /// RTP datagrams and their bytes (SRTP, as on the wire), RTCP apart.
    pub rtp: u64,
    pub rtp_bytes: u64,
    pub rtcp: u64,
    /// Any datagram, STUN and DTLS too.
    pub datagrams: u64,
}

/// Everything it knows, shared with whoever made it.
#[derive(Debug, Default)]
pub struct State {
    pub mode: RoomMode,
    /// ICE and DTLS are up.
    pub connected: bool,
    /// The ICE agent's last state.
    pub ice: Option<IceConnectionState>,
    /// ICE restarts it made after its connection dropped, as a browser does.
    pub ice_restarts: u32,
    /// Times it sent its last DTLS flight again (see [`Participant::resend_flight`]).
    pub dtls_resends: u32,
    /// The server's media address, from its answer.
    pub server_udp: Option<SocketAddr>,
    /// The `Rtc` failed or was closed: why.
    pub failed: Option<String>,
    /// Which of its receiving slots carries whose track (`forward_slots`).
    pub slots: HashMap<Mid, (PeerId, Source)>,
    /// What came from each sender.
    pub heard: HashMap<PeerId, Heard>,
    /// Media whose marker names another sender than its slot's.
    pub misrouted: u64,
    /// Media on a slot it was not (yet) told about.
    pub unslotted: u64,
    /// Media with no marker.
    pub unmarked: u64,
    pub sent: Sent,
    /// RTP datagrams received (media, retransmissions and padding), and
    /// those with the padding bit (bandwidth probes); RTCP apart.
    pub received_rtp: u64,
    pub received_padding: u64,
    pub received_rtcp: u64,
    pub keyframe_requests: u64,
    pub offers: u32,
    pub answers: u32,
    /// The largest offer it made, in bytes (the signaling socket takes
    /// frames of up to 64 KiB).
    pub offer_bytes: usize,
    /// Who joined and left after it, by `peer_joined` and `peer_left`.
    pub joined: Vec<PeerId>,
    pub left: Vec<PeerId>,
    /// Error codes the server sent.
    pub errors: Vec<ErrorCode>,
    /// The signaling socket is closed.
    pub closed: bool,
}

impl State {
    /// What came from `peer` (nothing yet: empty).
    pub fn from(&self, peer: PeerId) -> Heard {
        self.heard.get(&peer).cloned().unwrap_or_default()
    }
}

enum Command {
    Send(ClientMsg),
    /// Close the signaling socket, and keep the media going.
    CloseSignaling,
}

/// A synthetic participant, running in a task of its own; dropping it
/// stops the task.
pub struct Synthetic {
    pub id: PeerId,
    pub name: String,
    /// Present when it joined as the room's host.
    pub host_token: Option<String>,
    /// Its media socket's address.
    pub udp: SocketAddr,
    pub state: Arc<Mutex<State>>,
    commands: mpsc::UnboundedSender<Command>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Synthetic {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Synthetic {
    /// Joins `room` on the signaling socket at `ws_url` (`ws://…/ws`) and
    /// starts its task; fails when the server refuses the join.
    pub async fn join(ws_url: &str, room: RoomId, options: Options) -> Result<Self, String> {
        str0m::crypto::from_feature_flags().install_process_default();
        let (ws, _) = tokio_tungstenite::connect_async(ws_url).await.map_err(|e| e.to_string())?;
        let (mut sink, mut stream) = ws.split();
        let join = ClientMsg::Join {
            version: PROTOCOL_VERSION,
            room,
            name: options.name.clone(),
            media: MediaState { audio: options.mic, video: !options.layers.is_empty(), ..MediaState::default() },
            resume: None,
            password: None,
            host_token: options.host_token.clone(),
            device: Some(format!("synthetic-{}", uuid::Uuid::new_v4())),
        };
        sink.send(Message::text(join.encode())).await.map_err(|e| e.to_string())?;
        let (id, host_token, mode) = loop {
            let frame = tokio::time::timeout(Duration::from_secs(10), stream.next())
                .await
                .map_err(|_| "no welcome in 10 s".to_string())?;
            match frame {
                Some(Ok(Message::Text(text))) => match ServerMsg::decode(&text) {
                    Ok(ServerMsg::Welcome { you, host_token, mode, .. }) => break (you, host_token, mode),
                    Ok(other) => return Err(format!("expected welcome, got {other:?}")),
                    Err(err) => return Err(err.to_string()),
                },
                Some(Ok(_)) => continue,
                other => return Err(format!("the socket ended before welcome: {other:?}")),
            }
        };
        let socket = UdpSocket::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
        // A browser's socket holds more than Linux's default 208 KiB: a
        // generator running a hundred of these must not lose what the
        // server sent while another participant's task held the thread.
        let _ = socket2::SockRef::from(&socket).set_recv_buffer_size(RECEIVE_BUFFER);
        let udp = socket.local_addr().map_err(|e| e.to_string())?;
        let state = Arc::new(Mutex::new(State { mode, ..State::default() }));
        let (commands, queue) = mpsc::unbounded_channel();
        let name = options.name.clone();
        let participant = Participant::new(id, options, sink, socket, udp, state.clone());
        let task = tokio::spawn(participant.run(stream, queue));
        Ok(Self { id, name, host_token, udp, state, commands, task })
    }

    /// Sends any message on its signaling socket (`remove`, `forward_view`…).
    pub fn send(&self, msg: ClientMsg) {
        let _ = self.commands.send(Command::Send(msg));
    }

    /// Says how big it shows `peer`'s camera.
    pub fn view(&self, peer: PeerId, width: u16, height: u16) {
        self.send(ClientMsg::ForwardView { peer, width, height });
    }

    /// Closes its signaling socket; its media keeps going.
    pub fn close_signaling(&self) {
        let _ = self.commands.send(Command::CloseSignaling);
    }

    /// Reads its state.
    pub fn with<R>(&self, read: impl FnOnce(&State) -> R) -> R {
        read(&self.state.lock().unwrap())
    }

    /// Waits until `done` holds of its state, up to `within`.
    pub async fn until(&self, within: Duration, done: impl Fn(&State) -> bool) -> bool {
        let deadline = Instant::now() + within;
        loop {
            if self.with(&done) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Bytes each participant's UDP socket may hold unread (Linux doubles it,
/// up to `net.core.rmem_max`).
const RECEIVE_BUFFER: usize = 1 << 20;

/// How long a dropped connection waits before an ICE restart, and between
/// restarts (as moim's browsers do).
const RESTART_EVERY: Duration = Duration::from_secs(3);

/// How long a DTLS flight waits for an answer before it goes again (the
/// wait doubles each time, as in RFC 6347, 4.2.4).
const FLIGHT_WAIT: Duration = Duration::from_secs(1);

/// The marker that starts every payload's own bytes.
const MAGIC: [u8; 4] = *b"mSyn";
/// Where the marker sits in a camera frame: after a VP8 keyframe's header.
const VIDEO_AT: usize = 10;
/// Magic, sender id, number, layer (0xff: audio).
const MARKER_LEN: usize = 4 + 16 + 8 + 1;

fn marker(into: &mut [u8], id: PeerId, n: u64, layer: u8) {
    into[..4].copy_from_slice(&MAGIC);
    into[4..20].copy_from_slice(id.0.as_bytes());
    into[20..28].copy_from_slice(&n.to_be_bytes());
    into[28] = layer;
}

fn read_marker(payload: &[u8]) -> Option<(PeerId, u64, u8)> {
    let at = [0, VIDEO_AT].into_iter().find(|at| payload.get(*at..*at + 4) == Some(&MAGIC[..]))?;
    let marker = payload.get(at..at + MARKER_LEN)?;
    let id = PeerId(uuid::Uuid::from_slice(&marker[4..20]).ok()?);
    let n = u64::from_be_bytes(marker[20..28].try_into().ok()?);
    Some((id, n, marker[28]))
}

/// A camera frame of `size` bytes: a keyframe starts as VP8's does (frame
/// tag, start code, picture size), so the server reads its layer's size.
fn frame(size: usize, key: bool, layer: &Layer, id: PeerId, n: u64, index: u8) -> Vec<u8> {
    let mut frame = vec![0x5a; size.max(VIDEO_AT + MARKER_LEN)];
    if key {
        frame[..3].copy_from_slice(&[0x10, 0x02, 0x00]);
        frame[3..6].copy_from_slice(&[0x9d, 0x01, 0x2a]);
        frame[6..8].copy_from_slice(&layer.width.to_le_bytes());
        frame[8..10].copy_from_slice(&layer.height.to_le_bytes());
    } else {
        frame[..3].copy_from_slice(&[0x11, 0x02, 0x00]);
    }
    marker(&mut frame[VIDEO_AT..], id, n, index);
    frame
}

/// RTP or RTCP (RFC 5761: RTCP's packet types 192–223 take the marker
/// bit's place), by the clear header of an SRTP datagram.
fn classify(datagram: &[u8]) -> Option<bool> {
    let (&first, &second) = (datagram.first()?, datagram.get(1)?);
    (first >> 6 == 2).then_some(!(192..=223).contains(&second))
}

struct Participant {
    id: PeerId,
    options: Options,
    sink: Option<SplitSink<Ws, Message>>,
    socket: UdpSocket,
    local: SocketAddr,
    state: Arc<Mutex<State>>,
    rtc: Option<Rtc>,
    /// The offer awaiting its answer, and whether another is wanted.
    pending: Option<SdpPendingOffer>,
    reoffer: bool,
    mic: Option<Mid>,
    camera: Option<Mid>,
    /// Its receiving slots by kind.
    audio_slots: Vec<Mid>,
    video_slots: Vec<Mid>,
    /// Slot counts the server last asked for.
    asked: (usize, usize),
    /// Peers whose camera it has sent a view of.
    viewed: Vec<PeerId>,
    connected: bool,
    /// DTLS has come up once (later drops are ICE's).
    secured: bool,
    /// Since when the connection has been down, once it was answered.
    down_since: Option<Instant>,
    /// Its last DTLS handshake flight as sent, when, and the wait before
    /// sending it again.
    flight: Vec<(Vec<u8>, SocketAddr)>,
    flight_sent: Option<Instant>,
    flight_wait: Duration,
    due: Instant,
    opus: Option<Pt>,
    vp8: Option<Pt>,
    /// By layer: a keyframe is wanted next.
    key_wanted: Vec<bool>,
    last_key: Instant,
}

impl Participant {
    fn new(
        id: PeerId,
        options: Options,
        sink: SplitSink<Ws, Message>,
        socket: UdpSocket,
        local: SocketAddr,
        state: Arc<Mutex<State>>,
    ) -> Self {
        let layers = options.layers.len();
        Self {
            id,
            options,
            sink: Some(sink),
            socket,
            local,
            state,
            rtc: None,
            pending: None,
            reoffer: false,
            mic: None,
            camera: None,
            audio_slots: Vec::new(),
            video_slots: Vec::new(),
            asked: (0, 0),
            viewed: Vec::new(),
            connected: false,
            secured: false,
            down_since: None,
            flight: Vec::new(),
            flight_sent: None,
            flight_wait: FLIGHT_WAIT,
            due: Instant::now(),
            opus: None,
            vp8: None,
            key_wanted: vec![true; layers],
            last_key: Instant::now(),
        }
    }

    async fn run(mut self, stream: SplitStream<Ws>, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut stream = Some(stream);
        if self.state.lock().unwrap().mode == RoomMode::Forwarded {
            self.start().await;
        }
        // Each participant starts its clocks at a moment of its own, as
        // people do: a hundred cameras in step would send in bursts.
        let phase = Duration::from_micros(u64::from(self.id.0.as_bytes()[0]) * 20_000 / 256);
        let start = tokio::time::Instant::now() + phase;
        let mut audio = tokio::time::interval_at(start, Duration::from_millis(20));
        audio.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let frame_gap = Duration::from_micros(1_000_000 / u64::from(self.options.fps.max(1)));
        let mut video = tokio::time::interval_at(start, frame_gap);
        video.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut buf = vec![0u8; 2048];
        loop {
            self.drive();
            self.restart_if_down().await;
            self.resend_flight();
            let sends_audio = self.connected && self.mic.is_some();
            let sends_video = self.connected && self.camera.is_some();
            let wake = tokio::time::Instant::from_std(self.due);
            tokio::select! {
                received = self.socket.recv_from(&mut buf) => {
                    if let Ok((n, source)) = received {
                        self.receive(&buf[..n], source);
                        // Take whatever else is waiting before polling.
                        for _ in 0..64 {
                            match self.socket.try_recv_from(&mut buf) {
                                Ok((n, source)) => self.receive(&buf[..n], source),
                                Err(_) => break,
                            }
                        }
                    }
                }
                frame = async { stream.as_mut().expect("guarded").next().await }, if stream.is_some() => {
                    match frame {
                        Some(Ok(Message::Text(text))) => match ServerMsg::decode(&text) {
                            Ok(msg) => self.signal(msg).await,
                            Err(err) => note_undecodable(&self.state, &err.to_string()),
                        },
                        Some(Ok(_)) => {}
                        _ => {
                            stream = None;
                            self.sink = None;
                            self.state.lock().unwrap().closed = true;
                        }
                    }
                }
                command = commands.recv() => match command {
                    Some(Command::Send(msg)) => self.tell(&msg).await,
                    Some(Command::CloseSignaling) => {
                        if let Some(mut sink) = self.sink.take() {
                            let _ = sink.close().await;
                        }
                        stream = None;
                        self.state.lock().unwrap().closed = true;
                    }
                    None => return,
                },
                _ = audio.tick(), if sends_audio => self.send_audio(),
                _ = video.tick(), if sends_video => self.send_frame(),
                _ = tokio::time::sleep_until(wake) => {}
            }
        }
    }

    async fn tell(&mut self, msg: &ClientMsg) {
        if let Some(sink) = self.sink.as_mut() {
            if sink.send(Message::text(msg.encode())).await.is_err() {
                self.sink = None;
            }
        }
    }

    /// The room is forwarded: make the connection and offer.
    async fn start(&mut self) {
        if self.rtc.is_some() {
            return;
        }
        let mut rtc = Rtc::builder().clear_codecs().enable_opus(true, false).enable_vp8(true).build(Instant::now());
        if let Ok(candidate) = Candidate::host(self.local, "udp") {
            rtc.add_local_candidate(candidate);
        }
        let mut change = rtc.sdp_api();
        if self.options.mic {
            self.mic = Some(change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None));
        }
        if !self.options.layers.is_empty() {
            let mut simulcast = Simulcast::new();
            for layer in &self.options.layers {
                simulcast.add_send_layer(SimulcastLayer::new(layer.rid));
            }
            self.camera = Some(change.add_media(MediaKind::Video, Direction::SendOnly, None, None, Some(simulcast)));
        }
        for _ in 0..self.options.slots.0.min(self.options.max_slots) {
            self.audio_slots.push(change.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None));
        }
        for _ in 0..self.options.slots.1.min(self.options.max_slots) {
            self.video_slots.push(change.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None));
        }
        let applied = change.apply();
        self.rtc = Some(rtc);
        if let Some((offer, pending)) = applied {
            self.pending = Some(pending);
            self.offer(offer.to_sdp_string()).await;
        }
    }

    async fn offer(&mut self, sdp: String) {
        let mut sending = Vec::new();
        if let Some(mid) = self.mic {
            sending.push(Published { mid: mid.to_string(), source: Source::Mic });
        }
        if let Some(mid) = self.camera {
            sending.push(Published { mid: mid.to_string(), source: Source::Camera });
        }
        {
            let mut state = self.state.lock().unwrap();
            state.offers += 1;
            state.offer_bytes = state.offer_bytes.max(sdp.len());
        }
        self.tell(&ClientMsg::ForwardOffer { sdp, sending }).await;
    }

    /// Adds the slots the server asked for, unless an offer is out.
    async fn add_slots(&mut self) {
        let (audio, video) = self.asked;
        let (audio, video) = (audio.min(self.options.max_slots), video.min(self.options.max_slots));
        if audio <= self.audio_slots.len() && video <= self.video_slots.len() {
            return;
        }
        if self.pending.is_some() {
            self.reoffer = true;
            return;
        }
        let Some(rtc) = self.rtc.as_mut() else { return };
        let mut change = rtc.sdp_api();
        while self.audio_slots.len() < audio {
            self.audio_slots.push(change.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None));
        }
        while self.video_slots.len() < video {
            self.video_slots.push(change.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None));
        }
        if let Some((offer, pending)) = change.apply() {
            self.pending = Some(pending);
            self.offer(offer.to_sdp_string()).await;
        }
    }

    /// A connection down for [`RESTART_EVERY`] is offered again with
    /// fresh ICE credentials, every [`RESTART_EVERY`] until it is back.
    async fn restart_if_down(&mut self) {
        let Some(since) = self.down_since else { return };
        if since.elapsed() < RESTART_EVERY || self.pending.is_some() || self.sink.is_none() {
            return;
        }
        let Some(rtc) = self.rtc.as_mut() else { return };
        let mut change = rtc.sdp_api();
        change.ice_restart(true);
        if let Some((offer, pending)) = change.apply() {
            self.pending = Some(pending);
            self.down_since = Some(Instant::now());
            self.state.lock().unwrap().ice_restarts += 1;
            self.offer(offer.to_sdp_string()).await;
        }
    }

    async fn signal(&mut self, msg: ServerMsg) {
        match msg {
            ServerMsg::Mode { mode } => {
                self.state.lock().unwrap().mode = mode;
                if mode == RoomMode::Forwarded {
                    self.start().await;
                }
            }
            ServerMsg::ForwardAnswer { sdp } => {
                let (Some(pending), Some(rtc)) = (self.pending.take(), self.rtc.as_mut()) else { return };
                let server_udp = sdp.lines().find_map(|line| {
                    let fields: Vec<&str> = line.strip_prefix("a=candidate:")?.split(' ').collect();
                    format!("{}:{}", fields.get(4)?, fields.get(5)?).parse().ok()
                });
                if !self.connected {
                    self.down_since.get_or_insert_with(Instant::now);
                }
                let accepted = SdpAnswer::from_sdp_string(&sdp)
                    .map_err(|e| e.to_string())
                    .and_then(|answer| rtc.sdp_api().accept_answer(pending, answer).map_err(|e| e.to_string()));
                {
                    let mut state = self.state.lock().unwrap();
                    match accepted {
                        Ok(()) => {
                            state.answers += 1;
                            state.server_udp = state.server_udp.or(server_udp);
                        }
                        Err(err) => state.failed = Some(format!("answer refused: {err}")),
                    }
                }
                if std::mem::take(&mut self.reoffer) {
                    self.add_slots().await;
                }
            }
            ServerMsg::ForwardSlots { slots, audio, video } => {
                let mut cameras = Vec::new();
                {
                    let mut state = self.state.lock().unwrap();
                    state.slots =
                        slots.iter().map(|slot| (Mid::from(slot.mid.as_str()), (slot.peer, slot.source))).collect();
                    for slot in &slots {
                        if slot.source == Source::Camera && !self.viewed.contains(&slot.peer) {
                            cameras.push(slot.peer);
                        }
                    }
                }
                if let Some((width, height)) = self.options.view {
                    for peer in cameras {
                        self.viewed.push(peer);
                        self.tell(&ClientMsg::ForwardView { peer, width, height }).await;
                    }
                }
                self.asked = (usize::from(audio), usize::from(video));
                self.add_slots().await;
            }
            ServerMsg::PeerJoined { peer } => self.state.lock().unwrap().joined.push(peer.id),
            ServerMsg::PeerLeft { id } => self.state.lock().unwrap().left.push(id),
            ServerMsg::Error { code, .. } => {
                let mut state = self.state.lock().unwrap();
                state.errors.push(code);
                // A refused offer frees the way for the next one.
                if code == ErrorCode::Malformed {
                    self.pending = None;
                }
            }
            _ => {}
        }
    }

    /// str0m's OpenSSL DTLS moves its handshake on only when a datagram
    /// comes in: it never sends a lost flight again by itself, and a
    /// handshake whose flight was lost (a full socket buffer at the server
    /// drops it as a network would) waits forever, where a browser would
    /// send it again on a timer. So this does: the flight's datagrams as
    /// they were, while the other side has said nothing since.
    fn resend_flight(&mut self) {
        let Some(sent) = self.flight_sent else { return };
        if self.secured || self.flight.is_empty() || sent.elapsed() < self.flight_wait {
            return;
        }
        for (datagram, to) in &self.flight {
            let _ = self.socket.try_send_to(datagram, *to);
        }
        self.flight_sent = Some(Instant::now());
        self.flight_wait = (self.flight_wait * 2).min(Duration::from_secs(8));
        self.state.lock().unwrap().dtls_resends += 1;
    }

    fn receive(&mut self, data: &[u8], source: SocketAddr) {
        if !self.secured && data.first().is_some_and(|b| (20..=63).contains(b)) {
            // The other side answered: the next flight is a new one.
            self.flight.clear();
            self.flight_sent = None;
            self.flight_wait = FLIGHT_WAIT;
        }
        match classify(data) {
            Some(true) => {
                let mut state = self.state.lock().unwrap();
                state.received_rtp += 1;
                if data[0] & 0x20 != 0 {
                    state.received_padding += 1;
                }
            }
            Some(false) => self.state.lock().unwrap().received_rtcp += 1,
            None => {}
        }
        let Some(rtc) = self.rtc.as_mut() else { return };
        let Ok(contents) = data.try_into() else { return };
        let input =
            Input::Receive(Instant::now(), Receive { proto: Protocol::Udp, source, destination: self.local, contents });
        let _ = rtc.handle_input(input);
    }

    /// Moves the `Rtc`'s time on, sends what it has to send, and acts on
    /// its events.
    fn drive(&mut self) {
        let Some(rtc) = self.rtc.as_mut() else {
            self.due = Instant::now() + Duration::from_millis(500);
            return;
        };
        let now = Instant::now();
        if now >= self.due {
            let _ = rtc.handle_input(Input::Timeout(now));
        }
        let mut events = Vec::new();
        let mut sent = Sent::default();
        loop {
            match rtc.poll_output() {
                Ok(Output::Timeout(at)) => {
                    self.due = at.max(now + Duration::from_micros(200));
                    break;
                }
                Ok(Output::Transmit(t)) => {
                    sent.datagrams += 1;
                    if !self.secured && t.contents.first().is_some_and(|b| (20..=63).contains(b)) {
                        self.flight.push((t.contents.to_vec(), t.destination));
                        self.flight_sent = Some(now);
                    }
                    match classify(&t.contents) {
                        Some(true) => {
                            sent.rtp += 1;
                            sent.rtp_bytes += t.contents.len() as u64;
                        }
                        Some(false) => sent.rtcp += 1,
                        None => {}
                    }
                    let _ = self.socket.try_send_to(&t.contents, t.destination);
                }
                Ok(Output::Event(event)) => events.push(event),
                Err(err) => {
                    self.state.lock().unwrap().failed = Some(err.to_string());
                    self.rtc = None;
                    self.connected = false;
                    break;
                }
            }
        }
        {
            let mut state = self.state.lock().unwrap();
            state.sent.datagrams += sent.datagrams;
            state.sent.rtp += sent.rtp;
            state.sent.rtp_bytes += sent.rtp_bytes;
            state.sent.rtcp += sent.rtcp;
        }
        for event in events {
            self.event(event);
        }
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::Connected => {
                self.connected = true;
                self.secured = true;
                self.down_since = None;
                self.state.lock().unwrap().connected = true;
                let rtc = self.rtc.as_mut().expect("events come from it");
                let pt = |rtc: &mut Rtc, mid: Option<Mid>, codec: Codec| {
                    let writer = rtc.writer(mid?)?;
                    let pt = writer.payload_params().find(|p| p.spec().codec == codec)?.pt();
                    Some(pt)
                };
                self.opus = pt(rtc, self.mic, Codec::Opus);
                self.vp8 = pt(rtc, self.camera, Codec::Vp8);
                self.key_wanted.iter_mut().for_each(|k| *k = true);
            }
            Event::IceConnectionStateChange(ice) => {
                let mut state = self.state.lock().unwrap();
                state.ice = Some(ice);
                match ice {
                    IceConnectionState::Disconnected => {
                        self.connected = false;
                        state.connected = false;
                        self.down_since.get_or_insert_with(Instant::now);
                    }
                    IceConnectionState::Connected | IceConnectionState::Completed if self.secured => {
                        self.connected = true;
                        state.connected = true;
                        self.down_since = None;
                    }
                    _ => {}
                }
            }
            Event::MediaData(data) => self.heard(&data),
            Event::KeyframeRequest(request) if Some(request.mid) == self.camera => {
                self.state.lock().unwrap().keyframe_requests += 1;
                for (layer, wanted) in self.options.layers.iter().zip(self.key_wanted.iter_mut()) {
                    if request.rid.is_none() || request.rid == Some(Rid::from(layer.rid)) {
                        *wanted = true;
                    }
                }
            }
            _ => {}
        }
    }

    fn heard(&mut self, data: &MediaData) {
        let now = Instant::now();
        let mut state = self.state.lock().unwrap();
        let Some((from, n, layer)) = read_marker(&data.data) else {
            state.unmarked += 1;
            return;
        };
        match state.slots.get(&data.mid) {
            Some((peer, _)) if *peer != from => state.misrouted += 1,
            Some(_) => {}
            None => state.unslotted += 1,
        }
        let packets = (**data.seq_range.end()).saturating_sub(**data.seq_range.start()) + 1;
        let heard = state.heard.entry(from).or_default();
        heard.packets += packets;
        if layer == 0xff {
            heard.audio.mark(n, now);
        } else {
            heard.video.mark(n, now);
            if let Some(count) = heard.layers.get_mut(usize::from(layer)) {
                *count += 1;
            }
        }
    }

    fn send_audio(&mut self) {
        let (Some(rtc), Some(mid), Some(pt)) = (self.rtc.as_mut(), self.mic, self.opus) else { return };
        let seq = self.state.lock().unwrap().sent.audio;
        let mut payload = vec![0x33; self.options.audio_bytes.max(MARKER_LEN)];
        marker(&mut payload, self.id, seq, 0xff);
        let time = MediaTime::new(seq * 960, Frequency::FORTY_EIGHT_KHZ);
        let Some(mut writer) = rtc.writer(mid) else { return };
        if let Some(level) = self.options.audio_level {
            writer = writer.audio_level(level, level > -60);
        }
        if writer.write(pt, Instant::now(), time, payload).is_ok() {
            self.state.lock().unwrap().sent.audio += 1;
        }
    }

    fn send_frame(&mut self) {
        let (Some(rtc), Some(mid), Some(pt)) = (self.rtc.as_mut(), self.camera, self.vp8) else { return };
        let now = Instant::now();
        if now.duration_since(self.last_key) >= self.options.keyframe_every {
            self.key_wanted.iter_mut().for_each(|k| *k = true);
        }
        let n = self.state.lock().unwrap().sent.frames;
        let fps = u64::from(self.options.fps.max(1));
        let time = MediaTime::new(n * 90_000 / fps, Frequency::NINETY_KHZ);
        let mut keys = 0;
        for (index, layer) in self.options.layers.iter().enumerate() {
            let key = std::mem::take(&mut self.key_wanted[index]);
            let size = (u64::from(layer.kbps) * 1000 / 8 / fps) as usize;
            // A keyframe is several times the size of another frame.
            let size = if key { size * 4 } else { size };
            let bytes = frame(size, key, layer, self.id, n, index as u8);
            let Some(writer) = rtc.writer(mid) else { return };
            if writer.rid(Rid::from(layer.rid)).write(pt, now, time, bytes).is_ok() && key {
                keys += 1;
            }
        }
        if keys > 0 {
            self.last_key = now;
        }
        let mut state = self.state.lock().unwrap();
        state.sent.frames += 1;
        state.sent.keyframes += keys;
    }
}

fn note_undecodable(state: &Mutex<State>, why: &str) {
    state.lock().unwrap().failed.get_or_insert_with(|| format!("undecodable server message: {why}"));
}
