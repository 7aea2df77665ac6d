//! Attackers against a running moim server (`make bench`, "Abuse"): how
//! many of each kind one instance holds with its memory under 300 MB and a
//! call's signaling unaffected (issue 15, "Figures").
//!
//! Each attacker kind runs on its own, from many client addresses
//! (127.0.x.y: every loopback address reaches the server, and the server's
//! per-address limits apply as they would on the internet):
//! - `sockets`: signaling sockets that join rooms and then only ping;
//! - `uploads`: recording chunks of 8 MiB streamed as fast as the server takes them;
//! - `argon2`: hosts sending new room passwords as fast as they may, and
//!   guessers trying passwords at a protected room.
//!
//! Meanwhile a call (two participants from 127.0.0.1) relays a signal
//! every 20 ms, and the relay latency is compared with that of a quiet
//! period measured first, in the same run. The server's resident memory is
//! sampled every 100 ms (peak shown).

use futures_util::{SinkExt, StreamExt};
use moim::protocol::{ClientMsg, Encode, MediaState, PeerId, RoomId, ServerMsg, Signal, PROTOCOL_VERSION};
use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
};
use tokio_tungstenite::{tungstenite::Message, WebSocketStream};

#[derive(clap::Parser)]
struct Args {
    /// The server, `127.0.0.1:port`.
    #[arg(long, default_value = "127.0.0.1:3303")]
    server: SocketAddr,
    /// The server's process id, to read its memory.
    #[arg(long)]
    server_pid: u32,
    /// Client addresses the attackers come from.
    #[arg(long, default_value_t = 40)]
    addresses: u8,
    /// Seconds each attack runs (after it is set up).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Which attacks to run, in this order.
    #[arg(long, value_delimiter = ',', default_value = "sockets,uploads,argon2")]
    attacks: Vec<String>,
}

type Socket = WebSocketStream<TcpStream>;

/// Client address `n` of an attack: each attack has addresses of its own
/// (127.0.`attack`.x), so the per-address limits of one do not spill into
/// the next.
fn address(attack: u8, n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, attack, n.saturating_add(1)))
}

async fn tcp_from(ip: IpAddr, server: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(ip, 0))?;
    socket.connect(server).await
}

fn join(room: RoomId, name: &str, password: Option<&str>) -> ClientMsg {
    ClientMsg::Join {
        version: PROTOCOL_VERSION,
        room,
        name: name.into(),
        media: MediaState { audio: false, video: false, screen: false, recording: false },
        resume: None,
        password: password.map(Into::into),
        host_token: None,
        device: None,
    }
}

async fn send(socket: &mut Socket, msg: &ClientMsg) -> bool {
    socket.send(Message::text(msg.encode())).await.is_ok()
}

/// The next message from the server (pings and pongs of the socket aside).
async fn recv(socket: &mut Socket) -> Option<ServerMsg> {
    loop {
        match socket.next().await? {
            Ok(Message::Text(text)) => return ServerMsg::decode(&text).ok(),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// A socket from `ip` that joined `room`: its id and resume token.
async fn joined(server: SocketAddr, ip: IpAddr, msg: &ClientMsg) -> Option<(Socket, PeerId, String)> {
    let tcp = tcp_from(ip, server).await.ok()?;
    let (mut socket, _) = tokio_tungstenite::client_async(format!("ws://{server}/ws"), tcp).await.ok()?;
    send(&mut socket, msg).await;
    match tokio::time::timeout(Duration::from_secs(20), recv(&mut socket)).await.ok()?? {
        ServerMsg::Welcome { you, resume_token, .. } => Some((socket, you, resume_token)),
        _ => None,
    }
}

/// Peak resident memory of the server while it is watched, in MB.
struct Memory {
    peak_kb: Arc<AtomicU64>,
    watching: Arc<AtomicBool>,
}

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

impl Memory {
    fn watch(pid: u32) -> Self {
        let peak_kb = Arc::new(AtomicU64::new(rss_kb(pid)));
        let watching = Arc::new(AtomicBool::new(true));
        let (peak, on) = (peak_kb.clone(), watching.clone());
        tokio::spawn(async move {
            while on.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kb(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        Self { peak_kb, watching }
    }

    fn peak_mb(self) -> f64 {
        self.watching.store(false, Ordering::Relaxed);
        self.peak_kb.load(Ordering::Relaxed) as f64 / 1024.0
    }
}

/// Two participants from 127.0.0.1; one relays a time-stamped signal to
/// the other every 20 ms. [`Call::measure`] gives the latencies over a span.
struct Call {
    latencies_us: Arc<Mutex<Vec<u64>>>,
    lost: Arc<AtomicU64>,
}

impl Call {
    async fn start(server: SocketAddr) -> Self {
        let room = RoomId::random();
        let local = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let (mut alice, _, _) = joined(server, local, &join(room, "Alice", None)).await.expect("Alice joins");
        let (mut bob, bob_id, _) = joined(server, local, &join(room, "Bob", None)).await.expect("Bob joins");
        let start = Instant::now();
        let latencies_us = Arc::new(Mutex::new(Vec::new()));
        let lost = Arc::new(AtomicU64::new(0));
        let sent = Arc::new(AtomicU64::new(0));
        let got = Arc::new(AtomicU64::new(0));
        tokio::spawn({
            let sent = sent.clone();
            async move {
                let mut tick = tokio::time::interval(Duration::from_millis(20));
                loop {
                    tick.tick().await;
                    let stamp = start.elapsed().as_micros();
                    let signal =
                        Signal::Candidate { candidate: format!("t={stamp}"), sdp_mid: None, sdp_m_line_index: None };
                    if !send(&mut alice, &ClientMsg::Signal { to: bob_id, signal }).await {
                        return;
                    }
                    sent.fetch_add(1, Ordering::Relaxed);
                    if sent.load(Ordering::Relaxed).is_multiple_of(500) {
                        let _ = send(&mut alice, &ClientMsg::Ping).await;
                    }
                }
            }
        });
        tokio::spawn({
            let (latencies, got) = (latencies_us.clone(), got.clone());
            async move {
                let mut pinged = Instant::now();
                while let Some(msg) = recv(&mut bob).await {
                    if let ServerMsg::Signal { signal: Signal::Candidate { candidate, .. }, .. } = msg {
                        if let Some(t) = candidate.strip_prefix("t=").and_then(|t| t.parse::<u128>().ok()) {
                            let now = start.elapsed().as_micros();
                            latencies.lock().unwrap().push(now.saturating_sub(t) as u64);
                            got.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    if pinged.elapsed() > Duration::from_secs(10) {
                        pinged = Instant::now();
                        let _ = send(&mut bob, &ClientMsg::Ping).await;
                    }
                }
            }
        });
        tokio::spawn({
            let lost = lost.clone();
            async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    // Signals more than a second behind count as lost.
                    let behind = sent.load(Ordering::Relaxed).saturating_sub(got.load(Ordering::Relaxed));
                    lost.store(behind.saturating_sub(50), Ordering::Relaxed);
                }
            }
        });
        Self { latencies_us, lost }
    }

    /// p50 and p99 relay latency (ms) over the next `span`, and signals lost so far.
    async fn measure(&self, span: Duration) -> (f64, f64, u64) {
        self.latencies_us.lock().unwrap().clear();
        tokio::time::sleep(span).await;
        let mut all = std::mem::take(&mut *self.latencies_us.lock().unwrap());
        all.sort_unstable();
        let at = |q: f64| all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1))).copied();
        let ms = |v: Option<u64>| v.map_or(f64::NAN, |us| us as f64 / 1000.0);
        (ms(at(0.5)), ms(at(0.99)), self.lost.load(Ordering::Relaxed))
    }
}

fn report(kind: &str, held: &str, peak_mb: f64, (p50, p99, lost): (f64, f64, u64), floor: (f64, f64, u64)) {
    println!(
        "{kind}: {held}; server peak {peak_mb:.0} MB (budget < 300 MB); call relay p50 {p50:.2} ms, p99 {p99:.2} ms \
         (quiet floor {:.2} / {:.2} ms), {lost} signals lost",
        floor.0, floor.1
    );
}

/// Idle attackers: every address fills its sockets (`sockets_per_address`)
/// in rooms of eight, then only pings.
async fn sockets(args: &Args, call: &Call, floor: (f64, f64, u64)) {
    let memory = Memory::watch(args.server_pid);
    let per_address = 200;
    let mut held = Vec::new();
    let refused = AtomicU64::new(0);
    for a in 0..args.addresses {
        let ip = address(1, a);
        let mut room = RoomId::random();
        for i in 0..per_address {
            if i % 8 == 0 {
                room = RoomId::random();
            }
            match joined(args.server, ip, &join(room, "idle", None)).await {
                Some((socket, ..)) => held.push(socket),
                None => _ = refused.fetch_add(1, Ordering::Relaxed),
            }
        }
    }
    // Pings every 15 s keep them, as a browser's would.
    let pinging = tokio::spawn(async move {
        loop {
            for socket in &mut held {
                let _ = send(socket, &ClientMsg::Ping).await;
            }
            tokio::time::sleep(Duration::from_secs(15)).await;
        }
    });
    let during = call.measure(Duration::from_secs(args.seconds)).await;
    let held = format!(
        "{} idle sockets from {} addresses ({} refused)",
        per_address as u64 * args.addresses as u64 - refused.load(Ordering::Relaxed),
        args.addresses,
        refused.load(Ordering::Relaxed)
    );
    report("idle sockets", &held, memory.peak_mb(), during, floor);
    pinging.abort();
}

/// A raw HTTP request from `ip`; returns the status (0: no answer).
async fn http(server: SocketAddr, ip: IpAddr, head: &str, body: &[u8], pace: Option<Duration>) -> u16 {
    let Ok(mut tcp) = tcp_from(ip, server).await else { return 0 };
    if tcp.write_all(head.as_bytes()).await.is_err() {
        return 0;
    }
    for piece in body.chunks(256 * 1024) {
        if tcp.write_all(piece).await.is_err() {
            break;
        }
        if let Some(pace) = pace {
            tokio::time::sleep(pace).await;
        }
    }
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), tcp.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// Upload attackers: every address keeps four recordings' chunk uploads
/// going all the time, 8 MiB each, sent in 256 KiB pieces every 50 ms (5
/// MB/s each: slow enough that the disk is not what is measured).
async fn uploads(args: &Args, call: &Call, floor: (f64, f64, u64)) {
    let memory = Memory::watch(args.server_pid);
    let stored = Arc::new(AtomicU64::new(0));
    let busy = Arc::new(AtomicU64::new(0));
    let other = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    let mut keep = Vec::new();
    let chunk = Arc::new(vec![7u8; 8 * 1024 * 1024]);
    for a in 0..args.addresses {
        let ip = address(2, a);
        let room = RoomId::random();
        let Some((socket, you, token)) = joined(args.server, ip, &join(room, "uploader", None)).await else { continue };
        keep.push(socket);
        for _ in 0..4 {
            let body = serde_json::json!({ "peer": you, "token": token }).to_string();
            let head = format!(
                "POST /api/rooms/{room}/recordings HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let Ok(mut tcp) = tcp_from(ip, args.server).await else { continue };
            let _ = tcp.write_all(head.as_bytes()).await;
            let mut answer = String::new();
            let _ = tcp.read_to_string(&mut answer).await;
            let Some(json) =
                answer.split_once("\r\n\r\n").and_then(|(_, b)| serde_json::from_str::<serde_json::Value>(b).ok())
            else {
                continue;
            };
            let (Some(id), Some(key)) = (json["id"].as_str(), json["upload_token"].as_str()) else { continue };
            let (id, key) = (id.to_string(), key.to_string());
            let (server, chunk, stop) = (args.server, chunk.clone(), stop.clone());
            let (stored, busy, other) = (stored.clone(), busy.clone(), other.clone());
            tasks.push(tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let head = format!(
                        "PUT /api/rooms/{room}/recordings/{id}/chunks/{n} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        chunk.len()
                    );
                    match http(server, ip, &head, &chunk, Some(Duration::from_millis(50))).await {
                        200 => {
                            stored.fetch_add(1, Ordering::Relaxed);
                            n += 1;
                        }
                        429 => {
                            busy.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                        _ => {
                            other.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                    }
                }
            }));
        }
    }
    let during = call.measure(Duration::from_secs(args.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let held = format!(
        "{} uploaders from {} addresses: {} chunks stored ({} MB), {} told busy, {} other answers",
        tasks.len(),
        args.addresses,
        stored.load(Ordering::Relaxed),
        stored.load(Ordering::Relaxed) * 8,
        busy.load(Ordering::Relaxed),
        other.load(Ordering::Relaxed)
    );
    report("uploads", &held, memory.peak_mb(), during, floor);
    for task in tasks {
        task.abort();
    }
}

/// Argon2 attackers: every address opens its 30 rooms as host and sends
/// new passwords there as fast as it may; and guesses at a protected room.
async fn argon2(args: &Args, call: &Call, floor: (f64, f64, u64)) {
    let memory = Memory::watch(args.server_pid);
    let local = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let guarded = RoomId::random();
    let (mut owner, ..) = joined(args.server, local, &join(guarded, "Owner", None)).await.expect("owner joins");
    send(&mut owner, &ClientMsg::SetPassword { password: "correct horse".into() }).await;
    // Guesses start once the password is in place.
    while !matches!(recv(&mut owner).await, Some(ServerMsg::Settings { settings }) if settings.password) {}
    let answers = Arc::new(Mutex::new(std::collections::BTreeMap::<String, u64>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for a in 0..args.addresses {
        let ip = address(3, a);
        for _ in 0..30 {
            let Some((mut socket, ..)) = joined(args.server, ip, &join(RoomId::random(), "hasher", None)).await else {
                continue;
            };
            let (answers, stop) = (answers.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    if !send(&mut socket, &ClientMsg::SetPassword { password: format!("{n:0>200}") }).await {
                        return;
                    }
                    let answer = match recv(&mut socket).await {
                        Some(ServerMsg::Settings { .. }) => "set".to_string(),
                        Some(ServerMsg::Error { code, .. }) => format!("{code:?}"),
                        Some(_) => continue,
                        None => return,
                    };
                    *answers.lock().unwrap().entry(answer).or_default() += 1;
                }
            }));
        }
        let (answers, stop, server) = (answers.clone(), stop.clone(), args.server);
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let Ok(tcp) = tcp_from(ip, server).await else { return };
                let Ok((mut socket, _)) = tokio_tungstenite::client_async(format!("ws://{server}/ws"), tcp).await
                else {
                    return;
                };
                send(&mut socket, &join(guarded, "guesser", Some("wrong guess"))).await;
                let answer = match recv(&mut socket).await {
                    Some(ServerMsg::Error { code, .. }) => format!("guess {code:?}"),
                    Some(_) => "guess admitted".to_string(),
                    None => "guess closed".to_string(),
                };
                *answers.lock().unwrap().entry(answer).or_default() += 1;
            }
        }));
    }
    let during = call.measure(Duration::from_secs(args.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let held = format!(
        "{} hashing hosts and {} guessers, answers {:?}",
        tasks.len() - args.addresses as usize,
        args.addresses,
        answers.lock().unwrap()
    );
    report("argon2", &held, memory.peak_mb(), during, floor);
    for task in tasks {
        task.abort();
    }
}

#[tokio::main]
async fn main() {
    let args = <Args as clap::Parser>::parse();
    let call = Call::start(args.server).await;
    let _ = call.measure(Duration::from_secs(1)).await;
    let floor = call.measure(Duration::from_secs(args.seconds)).await;
    println!("server at rest: {:.0} MB", rss_kb(args.server_pid) as f64 / 1024.0);
    println!("quiet call: relay p50 {:.2} ms, p99 {:.2} ms", floor.0, floor.1);
    for attack in &args.attacks {
        match attack.as_str() {
            "sockets" => sockets(&args, &call, floor).await,
            "uploads" => uploads(&args, &call, floor).await,
            "argon2" => argon2(&args, &call, floor).await,
            other => eprintln!("no attack called {other}"),
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    println!("server after: {:.0} MB", rss_kb(args.server_pid) as f64 / 1024.0);
}
