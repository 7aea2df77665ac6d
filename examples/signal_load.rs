//! Signaling load generator (`make bench`, section 3).
//!
//! Opens `--connections` websockets to a running moim server, joins them in
//! rooms of `--room-size`, then has them relay signals to a room-mate at
//! each `--rate` in messages per second for `--seconds`: one offer and one answer
//! (3 KB each) for every eight candidates (200 B), as a call's setup sends
//! them. Each signal carries its send time, so the receiver measures relay
//! latency on one clock. With `--server-pid` it reads the server's resident
//! memory and CPU time from /proc before and after, and prints memory per
//! connection and CPU per relayed message. It prints its own CPU time too:
//! it shares the two cores with the server, and when the two together need
//! more than that, the latency measured is queueing, not relaying.
//!
//! One process drives every connection: a writer task per room-mate group
//! would cost more than the server being measured.

use futures_util::{stream::SplitSink, SinkExt, StreamExt};
use moim::protocol::{ClientMsg, Encode, MediaState, PeerId, RoomId, SdpType, ServerMsg, Signal, PROTOCOL_VERSION};
use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    tungstenite::{protocol::WebSocketConfig, Message},
    MaybeTlsStream, WebSocketStream,
};

type Sink = SplitSink<WebSocketStream<MaybeTlsStream<TcpStream>>, Message>;

/// Drives a running moim server's signaling with many connections.
#[derive(clap::Parser)]
struct Args {
    /// The server's signaling socket.
    #[arg(long, default_value = "ws://127.0.0.1:3300/ws")]
    url: String,
    /// Sockets to open and join.
    #[arg(long, default_value_t = 10_000)]
    connections: usize,
    /// Participants per room.
    #[arg(long, default_value_t = 4)]
    room_size: usize,
    /// Signals per second over all connections; several rates (`10000,50000`)
    /// run one after the other on the same connections.
    #[arg(long, value_delimiter = ',', default_value = "10000")]
    rate: Vec<u64>,
    /// How long to relay.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// The server's process id, to read its memory and CPU time.
    #[arg(long)]
    server_pid: Option<u32>,
}

/// Resident memory (KiB) and CPU time (user and system clock ticks) of a process.
fn usage(pid: u32) -> Option<(u64, (u64, u64))> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss =
        status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?.trim().trim_end_matches(" kB").trim().parse().ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start after ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let user = fields.get(11)?.parse().ok()?;
    let system = fields.get(12)?.parse().ok()?;
    Some((rss, (user, system)))
}

/// What every reader task reports into.
#[derive(Default)]
struct Tally {
    received: AtomicU64,
    errors: AtomicU64,
    latencies_us: Mutex<Vec<u32>>,
}

fn join_msg(room: RoomId, i: usize) -> String {
    ClientMsg::Join {
        version: PROTOCOL_VERSION,
        room,
        name: format!("load {i}"),
        media: MediaState { audio: true, video: true, screen: false, recording: false },
        resume: None,
        password: None,
        host_token: None,
        device: None,
    }
    .encode()
}

/// The three signals of the mix, encoded once with a stand-in recipient
/// and time stamp that [`Templates::signal`] fills in: encoding a 3 KB SDP
/// for every message made the generator use more CPU than the server it
/// measures, and the two together saturated the machine at 50,000/s.
struct Templates {
    offer: String,
    answer: String,
    candidate: String,
    /// [`STAND_IN`] as it appears in the JSON.
    stand_in: String,
}

const STAND_IN: PeerId = PeerId(uuid::Uuid::nil());
const STAMP: &str = "t=STAMP";

impl Templates {
    fn new() -> Self {
        let description = |sdp_type: SdpType| {
            ClientMsg::Signal {
                to: STAND_IN,
                signal: Signal::Description {
                    sdp_type,
                    sdp: format!("{STAMP}\r\n{}", "a=x-filler:0123456789abcdef\r\n".repeat(110)),
                },
            }
            .encode()
        };
        let candidate = ClientMsg::Signal {
            to: STAND_IN,
            signal: Signal::Candidate {
                candidate: format!(
                    "{STAMP} candidate:1 1 udp 2122260223 192.0.2.2 40000 typ host generation 0 ufrag abcd network-id 1"
                ),
                sdp_mid: Some("0".into()),
                sdp_m_line_index: Some(0),
            },
        }
        .encode();
        Self {
            offer: description(SdpType::Offer),
            answer: description(SdpType::Answer),
            candidate,
            stand_in: STAND_IN.to_string(),
        }
    }

    /// Signal `n` of the mix to `to`, stamped with its send time in µs since `start`.
    fn signal(&self, n: u64, to: PeerId, start: Instant) -> String {
        let template = match n % 10 {
            0 => &self.offer,
            1 => &self.answer,
            _ => &self.candidate,
        };
        let stamp = format!("t={}", start.elapsed().as_micros());
        template.replacen(&self.stand_in, &to.to_string(), 1).replacen(STAMP, &stamp, 1)
    }
}

/// The send time in a relayed signal (its SDP or candidate starts with
/// it), found without decoding the message.
fn stamp_in(text: &str) -> Option<u128> {
    let rest = text.split_once("\"t=")?.1;
    let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    rest[..digits].parse().ok()
}

#[tokio::main]
async fn main() {
    let args = <Args as clap::Parser>::parse();
    let start = Instant::now();
    let tally = Arc::new(Tally::default());
    let before = args.server_pid.and_then(usage);

    // Connect and join, a few hundred at a time.
    let mut sinks: Vec<Option<Sink>> = Vec::with_capacity(args.connections);
    let mut ids: Vec<Option<PeerId>> = vec![None; args.connections];
    let rooms: Vec<RoomId> = (0..args.connections.div_ceil(args.room_size)).map(|_| RoomId::random()).collect();
    let connect_started = Instant::now();
    for batch in (0..args.connections).collect::<Vec<_>>().chunks(250) {
        let joins = batch.iter().map(|&i| {
            let url = args.url.clone();
            let room = rooms[i / args.room_size];
            async move {
                // tungstenite zero-fills its read buffer on every read: at its
                // default 128 KiB that was half of the generator's CPU time.
                // 4 KiB holds a whole offer; no Nagle, as in browsers.
                let config = WebSocketConfig::default().read_buffer_size(4096);
                let (ws, _) = tokio_tungstenite::connect_async_with_config(&url, Some(config), true).await.ok()?;
                let (mut sink, mut stream) = ws.split();
                sink.send(Message::text(join_msg(room, i))).await.ok()?;
                while let Some(Ok(msg)) = stream.next().await {
                    if let Message::Text(text) = msg {
                        if let Ok(ServerMsg::Welcome { you, .. }) = ServerMsg::decode(&text) {
                            return Some((i, sink, stream, you));
                        }
                    }
                }
                None
            }
        });
        for joined in futures_util::future::join_all(joins).await {
            let Some((i, sink, mut stream, you)) = joined else {
                tally.errors.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            while sinks.len() < i {
                sinks.push(None);
            }
            sinks.push(Some(sink));
            ids[i] = Some(you);
            let tally = tally.clone();
            tokio::spawn(async move {
                while let Some(frame) = stream.next().await {
                    let Ok(Message::Text(text)) = frame else {
                        if frame.is_err() {
                            tally.errors.fetch_add(1, Ordering::Relaxed);
                        }
                        continue;
                    };
                    // The server's JSON puts `type` first.
                    if text.starts_with(r#"{"type":"signal","#) {
                        tally.received.fetch_add(1, Ordering::Relaxed);
                        if let Some(sent) = stamp_in(&text) {
                            let us = start.elapsed().as_micros().saturating_sub(sent);
                            tally.latencies_us.lock().unwrap().push(us.min(u32::MAX as u128) as u32);
                        }
                        continue;
                    }
                    if let Ok(ServerMsg::Error { .. }) = ServerMsg::decode(&text) {
                        tally.errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    }
    let held = sinks.iter().filter(|s| s.is_some()).count();
    println!(
        "connections held: {held} of {} ({} failed), in {:.1} s",
        args.connections,
        tally.errors.load(Ordering::Relaxed),
        connect_started.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = args.server_pid.and_then(usage);
    if let (Some((rss0, _)), Some((rss1, _))) = (before, idle) {
        let per = (rss1.saturating_sub(rss0)) as f64 * 1024.0 / held.max(1) as f64;
        println!(
            "server RSS: {rss0} KiB before, {rss1} KiB with {held} connections: {:.1} KB per connection (budget: <= 6 KB)",
            per / 1000.0
        );
    }

    // Relay at the set rate: every millisecond, the messages due by then.
    let room_size = args.room_size;
    let pairs: Vec<(usize, PeerId)> = (0..args.connections)
        .filter_map(|i| {
            let room_start = i / room_size * room_size;
            let mate = room_start + (i - room_start + 1) % room_size.min(args.connections - room_start);
            (mate != i && sinks.get(i).is_some_and(Option::is_some)).then_some((i, ids[mate]?))
        })
        .collect();
    if pairs.is_empty() {
        println!("nobody to relay between");
        return;
    }
    for &rate in &args.rate {
        relay(&mut sinks, &pairs, rate, args.seconds, args.server_pid, start, &tally).await;
    }
}

/// One relay phase at `rate` messages per second; prints what it measured.
async fn relay(
    sinks: &mut [Option<Sink>],
    pairs: &[(usize, PeerId)],
    rate: u64,
    seconds: u64,
    server_pid: Option<u32>,
    start: Instant,
    tally: &Tally,
) {
    tally.latencies_us.lock().unwrap().clear();
    let received0 = tally.received.load(Ordering::Relaxed);
    let errors0 = tally.errors.load(Ordering::Relaxed);
    let relay_started = Instant::now();
    let cpu0 = server_pid.and_then(usage);
    let own0 = usage(std::process::id());
    let total = rate * seconds;
    let mut sent = 0u64;
    let templates = Templates::new();
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    while sent < total {
        tick.tick().await;
        let due = ((relay_started.elapsed().as_secs_f64() * rate as f64) as u64).min(total);
        while sent < due {
            let (i, to) = pairs[(sent as usize) % pairs.len()];
            if let Some(sink) = sinks[i].as_mut() {
                if sink.send(Message::text(templates.signal(sent, to, start))).await.is_err() {
                    tally.errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            sent += 1;
        }
    }
    let send_secs = relay_started.elapsed().as_secs_f64();
    // Let the last messages arrive.
    for _ in 0..50 {
        if tally.received.load(Ordering::Relaxed) - received0 >= sent {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let cpu1 = server_pid.and_then(usage);
    let own1 = usage(std::process::id());
    let received = tally.received.load(Ordering::Relaxed) - received0;
    println!(
        "\nat {rate}/s: {sent} signals sent in {send_secs:.1} s ({:.0}/s), {received} received, {} errors",
        sent as f64 / send_secs,
        tally.errors.load(Ordering::Relaxed) - errors0
    );
    if let (Some((_, (u0, s0))), Some((_, (u1, s1)))) = (cpu0, cpu1) {
        // /proc reports CPU time in USER_HZ ticks, 1/100 s on Linux.
        let per = |ticks: u64| ticks as f64 * 10_000.0 / received.max(1) as f64;
        let (user, system) = (u1 - u0, s1 - s0);
        println!(
            "server CPU: {:.2} s over the relay phase, {:.1} µs per relayed message ({:.1} user, {:.1} kernel) (budget: <= 5 µs)",
            (user + system) as f64 / 100.0,
            per(user + system),
            per(user),
            per(system)
        );
    }
    if let (Some((_, (u0, s0))), Some((_, (u1, s1)))) = (own0, own1) {
        // The generator shares the machine's two cores with the server: if
        // the two together need more than that, latency is queueing. Ticks
        // are 1/100 s, so ticks per second is percent of one core.
        let secs = relay_started.elapsed().as_secs_f64();
        println!(
            "load generator CPU: {:.2} s over the same {secs:.1} s ({:.0}% of one core)",
            (u1 + s1 - u0 - s0) as f64 / 100.0,
            (u1 + s1 - u0 - s0) as f64 / secs
        );
    }
    let mut lat = std::mem::take(&mut *tally.latencies_us.lock().unwrap());
    lat.sort_unstable();
    let pct = |p: f64| lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).copied();
    if let (Some(p50), Some(p99)) = (pct(0.50), pct(0.99)) {
        let budget = if rate <= 10_000 { 1 } else { 5 };
        println!(
            "relay latency: p50 {:.2} ms, p99 {:.2} ms (budget: p99 <= {budget} ms)",
            p50 as f64 / 1000.0,
            p99 as f64 / 1000.0
        );
    }
}
