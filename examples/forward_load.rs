//! Forwarding-unit load generator (`make bench`, "Forwarded rooms").
//!
//! Puts `--people` synthetic participants (`tests/support/synthetic.rs`,
//! taken by path) in ONE room of a running moim server whose `[forward]
//! mesh_max` is below that, so the room is forwarded. The first
//! `--publishers` of them (all by default) send a microphone (50 packets a
//! second of `--audio-bytes`) and a simulcast camera (`q`, `h`, `f` at
//! 320×180, 640×360 and 1280×720, each at its `--kbps` and `--fps`, a
//! keyframe every 10 s and when the server asks); the rest only watch.
//! Every receiver says it shows each camera as one tile of a grid of all
//! the cameras on a `--screen` of 1920×1080 (`forward_view`), so the server
//! picks a layer as it would for a browser: `h` for 19 tiles, `q` for 49 or
//! 99, `f` for one presenter.
//!
//! After everyone hears everyone (or 60 s) and `--warmup` seconds, it
//! measures for `--seconds`:
//!
//! - **sent**: RTP datagrams the publishers sent the server.
//! - **forwarded**: RTP datagrams the receivers' sockets got from the
//!   server (media, retransmissions and padding; RTCP not counted).
//! - **loss**: for each receiver and each publisher it should hear, the
//!   audio packets and camera frames the publisher sent in the window
//!   (by the sequence numbers in their payloads: a frame carries one
//!   number on all layers, so whichever layer the receiver gets, it should
//!   get every number once), against the distinct ones that arrived whole
//!   (str0m hands over a frame only when all its packets are in, after
//!   retransmissions) up to 1 s after the window. Loss is 1 − arrived /
//!   expected over all pairs, for audio and video apart, and for the worst
//!   receiver. Frames a receiver never got because its layer changed are
//!   not lost: every layer carries every frame number.
//! - **server CPU per forwarded packet**: the server's CPU time over the
//!   window (`/proc/PID/stat`, `--server-pid`) divided by the forwarded
//!   datagrams. It includes receiving and decrypting the publishers'
//!   packets, and the signaling.
//! - **server RSS per participant**: resident memory after the window
//!   minus before anyone joined, divided by `--people`.
//! - **generator CPU**: this process's own CPU time over the window. It
//!   decrypts and encrypts every packet too (DTLS-SRTP) and shares the
//!   machine's cores with the server: when the two together want more than
//!   the machine has, loss measures the machine, not the server alone.
//!
//! One process and one tokio runtime drive every participant: a task and a
//! UDP socket each, no thread of their own.

#[path = "../tests/support/synthetic.rs"]
mod synthetic;

use moim::protocol::RoomId;
use std::time::{Duration, Instant};
use synthetic::{Layer, Options, Synthetic, LAYERS};

/// Drives one forwarded room of a running moim server with synthetic participants.
#[derive(clap::Parser)]
struct Args {
    /// The server's signaling socket.
    #[arg(long, default_value = "ws://127.0.0.1:3310/ws")]
    url: String,
    /// Participants in the room.
    #[arg(long, default_value_t = 20)]
    people: usize,
    /// How many of them send a microphone and a camera (all by default).
    #[arg(long)]
    publishers: Option<usize>,
    /// How long to measure.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// How long media flows before measuring.
    #[arg(long, default_value_t = 3)]
    warmup: u64,
    /// Bitrates of the q, h and f layers, kbit/s.
    #[arg(long, value_delimiter = ',', default_value = "100,300,1000")]
    kbps: Vec<u32>,
    /// Camera frames a second, on every layer.
    #[arg(long, default_value_t = 30)]
    fps: u32,
    /// A keyframe at least this often on every layer, seconds (besides
    /// those the server asks for).
    #[arg(long, default_value_t = 10)]
    keyframe_secs: u64,
    /// How many publishers speak: their audio packets say -30 dBov, the
    /// others' -127 (silence), as browsers write the level. Audio is then
    /// expected only from the speakers (a server that forwards only the
    /// loudest voices drops the rest); silent audio that arrives anyway is
    /// counted apart. None: no levels, and every microphone is expected.
    #[arg(long)]
    speakers: Option<usize>,
    /// Bytes of one audio packet.
    #[arg(long, default_value_t = 100)]
    audio_bytes: usize,
    /// The most receiving slots of each kind a participant has: the server
    /// then forwards it only the tracks it put in them (none: as many as
    /// the server asks for). An offer with a slot pair per publisher
    /// outgrows the signaling socket's 64 KiB frame at about 30 people.
    #[arg(long)]
    max_slots: Option<usize>,
    /// The screen every receiver lays its camera tiles out on.
    #[arg(long, default_value = "1920x1080")]
    screen: String,
    /// The server's process id, to read its memory and CPU time.
    #[arg(long)]
    server_pid: Option<u32>,
}

/// Resident memory (KiB) and CPU time (user + system clock ticks) of a process.
fn usage(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss =
        status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?.trim().trim_end_matches(" kB").trim().parse().ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start after ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    Some((rss, user + system))
}

/// Datagrams the kernel dropped, since each socket opened, for want of
/// room in the receive buffers of UDP sockets on 127.0.0.1 at these ports
/// (`/proc/net/udp`, the last column).
fn udp_drops(ports: &[u16]) -> u64 {
    let Ok(table) = std::fs::read_to_string("/proc/net/udp") else { return 0 };
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (ip, port) = fields.get(1)?.split_once(':')?;
            let port = u16::from_str_radix(port, 16).ok()?;
            (ip == "0100007F" && ports.contains(&port)).then(|| fields.last()?.parse::<u64>().ok())?
        })
        .sum()
}

/// The size of one tile when `tiles` cameras share `screen` in a grid of
/// 16:9 tiles.
fn tile(tiles: usize, (width, height): (u16, u16)) -> (u16, u16) {
    let tiles = tiles.max(1);
    let columns = (1..=tiles)
        .find(|c| {
            let rows = tiles.div_ceil(*c);
            // Enough columns that the rows fit under the screen's height.
            u32::from(width) / *c as u32 * 9 / 16 * rows as u32 <= u32::from(height)
        })
        .unwrap_or(tiles);
    let rows = tiles.div_ceil(columns);
    let w = u32::from(width) / columns as u32;
    let h = (w * 9 / 16).min(u32::from(height) / rows as u32);
    (w as u16, h as u16)
}

/// Whether a receiver's slots carry `peer`'s microphone and camera.
fn carried(state: &synthetic::State, peer: moim::protocol::PeerId) -> (bool, bool) {
    let has = |source| state.slots.values().any(|slot| *slot == (peer, source));
    (has(moim::protocol::Source::Mic), has(moim::protocol::Source::Camera))
}

/// Whether a receiver holds as many tracks as it takes: a publisher it
/// has no slot for is then not one it should hear.
fn slots_full(state: &synthetic::State, max_slots: usize) -> bool {
    max_slots != usize::MAX && state.slots.len() >= 2 * max_slots
}

/// What one participant's counters said at a moment.
#[derive(Clone, Default)]
struct Snap {
    audio_sent: u64,
    frames_sent: u64,
    rtp_sent: u64,
    rtp_received: u64,
    padding_received: u64,
}

fn snap(people: &[Synthetic]) -> Vec<Snap> {
    people
        .iter()
        .map(|p| {
            p.with(|s| Snap {
                audio_sent: s.sent.audio,
                frames_sent: s.sent.frames,
                rtp_sent: s.sent.rtp,
                rtp_received: s.received_rtp,
                padding_received: s.received_padding,
            })
        })
        .collect()
}

fn percent(lost: u64, of: u64) -> f64 {
    if of == 0 {
        0.0
    } else {
        lost as f64 * 100.0 / of as f64
    }
}

#[tokio::main]
async fn main() {
    let args = <Args as clap::Parser>::parse();
    let people = args.people.max(2);
    let publishers = args.publishers.unwrap_or(people).min(people);
    let screen = args
        .screen
        .split_once('x')
        .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
        .expect("--screen WIDTHxHEIGHT");
    let layers: Vec<Layer> = LAYERS
        .iter()
        .zip(args.kbps.iter().chain(std::iter::repeat(&0)))
        .map(|(layer, kbps)| Layer { kbps: if *kbps > 0 { *kbps } else { layer.kbps }, ..*layer })
        .collect();
    let before = args.server_pid.and_then(usage);
    let room = RoomId::random();
    println!(
        "{people} people in one forwarded room, {publishers} publishing (mic 50/s x {} B; camera {} fps, {} kbit/s)",
        args.audio_bytes,
        args.fps,
        layers.iter().map(|l| format!("{} {}", l.rid, l.kbps)).collect::<Vec<_>>().join(" / ")
    );

    // Join in small batches; publishers first, so the watchers' first
    // offers already have the slots they need.
    let started = Instant::now();
    let mut joined: Vec<Synthetic> = Vec::with_capacity(people);
    let mut publishing: Vec<bool> = Vec::with_capacity(people);
    for batch in (0..people).collect::<Vec<_>>().chunks(10) {
        let joins = batch.iter().map(|&i| {
            let publishes = i < publishers;
            let others = publishers - usize::from(publishes);
            let base = if publishes {
                Options::publisher(&format!("load {i}"))
            } else {
                Options::watcher(&format!("load {i}"))
            };
            let options = Options {
                layers: if publishes { layers.clone() } else { Vec::new() },
                fps: args.fps,
                audio_bytes: args.audio_bytes,
                audio_level: args.speakers.map(|speakers| if i < speakers { -30 } else { -127 }),
                keyframe_every: Duration::from_secs(args.keyframe_secs),
                slots: (others, others),
                max_slots: args.max_slots.unwrap_or(usize::MAX),
                view: Some(tile(others.min(args.max_slots.unwrap_or(usize::MAX)), screen)),
                ..base
            };
            let url = &args.url;
            async move { (publishes, Synthetic::join(url, room, options).await) }
        });
        for (publishes, result) in futures_util::future::join_all(joins).await {
            match result {
                Ok(person) => {
                    joined.push(person);
                    publishing.push(publishes);
                }
                Err(err) => println!("a join failed: {err}"),
            }
        }
    }
    let people = joined;
    let senders: Vec<usize> = (0..people.len()).filter(|i| publishing[*i]).collect();
    // Whose voice is expected (by position among the publishers).
    let speaking = |s: usize| args.speakers.is_none_or(|speakers| s < speakers);

    // Everyone hears every publisher (or a minute passes).
    let max_slots = args.max_slots.unwrap_or(usize::MAX);
    let pairs = |people: &[Synthetic]| -> (usize, usize) {
        let mut done = 0;
        let mut all = 0;
        for (r, receiver) in people.iter().enumerate() {
            receiver.with(|state| {
                for &s in senders.iter().filter(|s| **s != r) {
                    let (audio, video) = carried(state, people[s].id);
                    let audio = audio && speaking(s);
                    if !audio && !video && slots_full(state, max_slots) {
                        continue;
                    }
                    all += 1;
                    let heard = state.heard.get(&people[s].id);
                    if heard.is_some_and(|h| (!audio || h.audio.distinct > 0) && (!video || h.video.distinct > 0))
                        && (audio || video)
                    {
                        done += 1;
                    }
                }
            });
        }
        (done, all)
    };
    let deadline = started + Duration::from_secs(60);
    loop {
        let (done, all) = pairs(&people);
        if done == all || Instant::now() >= deadline {
            println!(
                "setup: {} joined, {done} of {all} receiver-publisher pairs flowing after {:.1} s",
                people.len(),
                started.elapsed().as_secs_f64()
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let offers: u32 = people.iter().map(|p| p.with(|s| s.offers)).sum();
    let failed: Vec<String> = people.iter().filter_map(|p| p.with(|s| s.failed.clone())).collect();
    let errors: usize = people.iter().map(|p| p.with(|s| s.errors.len())).sum();
    let largest = people.iter().map(|p| p.with(|s| s.offer_bytes)).max().unwrap_or(0);
    println!(
        "offers made: {offers} (the largest {largest} bytes of SDP); server errors: {errors}; failed connections: {}",
        failed.len()
    );
    if let Some(why) = failed.first() {
        println!("  first failure: {why}");
    }
    if std::env::var_os("FORWARD_LOAD_DEBUG").is_some() {
        for (r, receiver) in people.iter().enumerate() {
            receiver.with(|state| {
                for &s in senders.iter().filter(|s| **s != r) {
                    let heard = state.from(people[s].id);
                    if heard.audio.distinct == 0 || heard.video.distinct == 0 {
                        let slots: Vec<_> = state.slots.values().filter(|(p, _)| *p == people[s].id).collect();
                        println!(
                            "  {} hears {} only partly: audio {} frames {} slots {slots:?} misrouted {} unslotted {}",
                            receiver.name,
                            people[s].name,
                            heard.audio.distinct,
                            heard.video.distinct,
                            state.misrouted,
                            state.unslotted
                        );
                    }
                }
            });
        }
        for person in &people {
            person.with(|s| {
                println!(
                    "  {}: mode {:?} ice {:?} connected {} offers {} answers {} slots {} heard {} sent a{} f{} rtp {} got rtp {} errors {:?} failed {:?}",
                    person.name, s.mode, s.ice, s.connected, s.offers, s.answers, s.slots.len(), s.heard.len(),
                    s.sent.audio, s.sent.frames, s.sent.rtp, s.received_rtp, s.errors, s.failed
                )
            });
        }
    }
    let server_port: Vec<u16> =
        people.iter().filter_map(|p| p.with(|s| s.server_udp)).map(|a| a.port()).take(1).collect();
    let own_ports: Vec<u16> = people.iter().map(|p| p.udp.port()).collect();
    println!(
        "UDP receive-buffer drops so far: the server's socket {} (since it opened), the generator's sockets {}",
        udp_drops(&server_port),
        udp_drops(&own_ports)
    );
    tokio::time::sleep(Duration::from_secs(args.warmup)).await;

    // The window.
    let drops0 = (udp_drops(&server_port), udp_drops(&own_ports));
    let s0 = snap(&people);
    let server0 = args.server_pid.and_then(usage);
    let own0 = usage(std::process::id());
    let window = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    let s1 = snap(&people);
    let server1 = args.server_pid.and_then(usage);
    let own1 = usage(std::process::id());
    let drops1 = (udp_drops(&server_port), udp_drops(&own_ports));
    let secs = window.elapsed().as_secs_f64();
    // What was sent in the window may still be on its way.
    tokio::time::sleep(Duration::from_secs(1)).await;

    let sent: u64 = s0.iter().zip(&s1).map(|(a, b)| b.rtp_sent - a.rtp_sent).sum();
    let forwarded: u64 = s0.iter().zip(&s1).map(|(a, b)| b.rtp_received - a.rtp_received).sum();
    let padding: u64 = s0.iter().zip(&s1).map(|(a, b)| b.padding_received - a.padding_received).sum();
    let (mut audio_expected, mut audio_got, mut video_expected, mut video_got) = (0, 0, 0, 0);
    let mut worst = (0.0f64, 0usize);
    let mut by_layer = [0u64; 3];
    let mut silent_got = 0;
    for (r, receiver) in people.iter().enumerate() {
        let (mut expected, mut got) = (0, 0);
        receiver.with(|state| {
            for &s in senders.iter().filter(|s| **s != r) {
                let heard = state.from(people[s].id);
                let (carries_audio, carries_video) = carried(state, people[s].id);
                if !speaking(s) {
                    silent_got += heard.audio.count_in(s0[s].audio_sent..s1[s].audio_sent);
                }
                let carries_audio = carries_audio && speaking(s);
                if max_slots != usize::MAX && !carries_audio && !carries_video {
                    continue;
                }
                let audio = if carries_audio || (max_slots == usize::MAX && speaking(s)) {
                    s0[s].audio_sent..s1[s].audio_sent
                } else {
                    0..0
                };
                let frames =
                    if carries_video || max_slots == usize::MAX { s0[s].frames_sent..s1[s].frames_sent } else { 0..0 };
                let (a, v) = (heard.audio.count_in(audio.clone()), heard.video.count_in(frames.clone()));
                audio_expected += audio.end - audio.start;
                video_expected += frames.end - frames.start;
                audio_got += a;
                video_got += v;
                expected += audio.end - audio.start + frames.end - frames.start;
                got += a + v;
                for (total, count) in by_layer.iter_mut().zip(heard.layers) {
                    *total += count;
                }
            }
        });
        let loss = percent(expected - got.min(expected), expected);
        if loss >= worst.0 {
            worst = (loss, r);
        }
    }
    let delivered = audio_got + video_got;
    println!(
        "\nin {secs:.1} s: {sent} RTP packets sent ({:.0}/s), {forwarded} forwarded to receivers ({:.0}/s, {padding} of them padding), {delivered} audio packets and frames delivered",
        sent as f64 / secs,
        forwarded as f64 / secs
    );
    let audio_loss = percent(audio_expected - audio_got.min(audio_expected), audio_expected);
    let video_loss = percent(video_expected - video_got.min(video_expected), video_expected);
    println!(
        "loss: audio {audio_loss:.2}% ({audio_got} of {audio_expected}), video frames {video_loss:.2}% ({video_got} of {video_expected}), worst receiver {:.2}% (#{})",
        worst.0, worst.1
    );
    if args.speakers.is_some() {
        println!("silent voices' audio packets that arrived anyway (not counted above): {silent_got}");
    }
    println!("frames received by layer since joining: q {} / h {} / f {}", by_layer[0], by_layer[1], by_layer[2]);
    let total_loss = percent(
        audio_expected + video_expected - delivered.min(audio_expected + video_expected),
        audio_expected + video_expected,
    );
    println!(
        "UDP receive-buffer drops in the window: the server's socket {}, the generator's sockets {}",
        drops1.0 - drops0.0,
        drops1.1 - drops0.1
    );
    let restarts: u32 = people.iter().map(|p| p.with(|s| s.ice_restarts)).sum();
    let resends: u32 = people.iter().map(|p| p.with(|s| s.dtls_resends)).sum();
    let down = people.iter().filter(|p| p.with(|s| !s.connected)).count();
    println!(
        "connections down at the end: {down}; since joining: {restarts} ICE restarts, {resends} DTLS flights sent again"
    );
    println!("LOSS {total_loss:.2}%");
    if let (Some((_, cpu0)), Some((rss1, cpu1))) = (server0, server1) {
        // /proc counts CPU time in ticks of 1/100 s.
        let ticks = cpu1 - cpu0;
        println!(
            "server CPU: {:.2} s over {secs:.1} s ({:.0}% of one core), {:.1} µs per forwarded packet",
            ticks as f64 / 100.0,
            ticks as f64 / secs,
            ticks as f64 * 10_000.0 / forwarded.max(1) as f64
        );
        if let Some((rss0, _)) = before {
            println!(
                "server RSS: {rss0} KiB before, {rss1} KiB with the room: {:.0} KiB per participant",
                rss1.saturating_sub(rss0) as f64 / people.len().max(1) as f64
            );
        }
    }
    if let (Some((_, own0)), Some((_, own1))) = (own0, own1) {
        println!(
            "load generator CPU: {:.2} s over the same {secs:.1} s ({:.0}% of one core)",
            (own1 - own0) as f64 / 100.0,
            (own1 - own0) as f64 / secs
        );
    }
}
