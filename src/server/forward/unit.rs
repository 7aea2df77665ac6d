//! The unit's one task: every participant's `Rtc`, the UDP socket they
//! share, and the forwarding table.
//!
//! One task, not one per participant: a packet from Alice is written to
//! Bob's and Carol's `Rtc` in the same breath, with no channel or lock in
//! between, and str0m needs nothing else (it is sans-IO). A packet is
//! matched to its `Rtc` by its source address (remembered once ICE has
//! seen it) or, for STUN, by the ICE user name.

use super::{
    layers::{Copy, Layers},
    slots::{self, Slot, Track},
    speakers::{self, Loudness, Speakers},
    Command, ForwardError, Seats,
};
use crate::protocol::{PeerId, Published, RoomId, ServerMsg, Slot as SlotMsg, Source};
use std::{
    collections::{HashMap, HashSet},
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};
use str0m::{
    bwe::{Bitrate, BweKind},
    change::SdpOffer,
    media::{Direction, KeyframeRequestKind, MediaData, MediaKind, Mid, Rid},
    net::{Protocol, Receive},
    Candidate, Event, Input, Output, Rtc, RtcConfig,
};
use tokio::{net::UdpSocket, sync::mpsc};

type Key = (RoomId, PeerId);

/// The fewest milliseconds between two keyframe requests for one track:
/// every newcomer and every lost packet asks for one, and a keyframe is
/// ten times the size of another frame.
const KEYFRAME_GAP: Duration = Duration::from_millis(500);

/// Where each receiver's bandwidth estimate starts, in kbit/s.
const INITIAL_ESTIMATE_KBPS: u64 = 2_500;

/// How often the unit asks the rooms who is still in.
const SWEEP: Duration = Duration::from_secs(1);

/// Datagrams taken from the socket at most before the clients are polled.
const BATCH: usize = 64;

/// How often keyframes asked for too soon after the last are asked again.
const OWED_EVERY: Duration = Duration::from_millis(100);

/// One participant's connection to the unit.
struct Client {
    rtc: Rtc,
    /// What each of its sending transceivers carries (from its offer).
    sending: HashMap<Mid, Source>,
    /// Its tracks that have carried media: only those are forwarded, so a
    /// camera that is off takes no slot at the others.
    live: HashSet<Source>,
    /// Its receiving transceivers.
    slots: Vec<Slot>,
    /// The last `forward_slots` it was sent.
    told: Option<ServerMsg>,
    /// When a keyframe was last asked of each of its tracks (and layers).
    asked: HashMap<(Mid, Option<Rid>), Instant>,
    /// Keyframes wanted within [`KEYFRAME_GAP`] of the last one asked:
    /// asked once the gap has passed, so that a newcomer does not wait
    /// for the camera's next keyframe of its own accord.
    owed: HashSet<(Source, Option<Rid>)>,
    /// Its camera's simulcast layers, as they arrive.
    layers: Layers,
    /// As a receiver: its copy of each simulcast track, by slot.
    copies: HashMap<Mid, Copy>,
    /// As a receiver: how big it shows each participant's camera (device
    /// pixels), as it last said.
    views: HashMap<PeerId, (u16, u16)>,
    /// As a receiver: what its link carries, by the bandwidth estimate.
    estimate: Option<f64>,
    /// How loud its microphone has been lately.
    loudness: Loudness,
    /// When its `Rtc` wants time to move on next.
    due: Instant,
}

impl Client {
    fn new(rtc: Rtc) -> Self {
        Self {
            rtc,
            sending: HashMap::new(),
            live: HashSet::new(),
            slots: Vec::new(),
            told: None,
            asked: HashMap::new(),
            owed: HashSet::new(),
            layers: Layers::default(),
            copies: HashMap::new(),
            views: HashMap::new(),
            estimate: None,
            loudness: Loudness::default(),
            due: Instant::now(),
        }
    }

    fn mid_of(&self, source: Source) -> Option<Mid> {
        self.sending.iter().find(|(_, s)| **s == source).map(|(mid, _)| *mid)
    }

    /// Asks the browser for a keyframe of one of its tracks (of one
    /// simulcast layer), at most once per [`KEYFRAME_GAP`].
    fn ask_keyframe(&mut self, source: Source, rid: Option<Rid>, now: Instant) {
        let Some(mid) = self.mid_of(source) else {
            self.owed.remove(&(source, rid));
            return;
        };
        if self.asked.get(&(mid, rid)).is_some_and(|at| now.duration_since(*at) < KEYFRAME_GAP) {
            self.owed.insert((source, rid));
            return;
        }
        self.owed.remove(&(source, rid));
        if let Some(mut writer) = self.rtc.writer(mid) {
            match writer.request_keyframe(rid, KeyframeRequestKind::Pli) {
                Ok(()) => _ = self.asked.insert((mid, rid), now),
                Err(err) => tracing::debug!(?source, ?rid, %err, "cannot ask for a keyframe"),
            }
        }
    }

    /// Asks for the keyframes owed whose gap has passed.
    fn settle(&mut self, now: Instant) {
        for (source, rid) in self.owed.clone() {
            self.ask_keyframe(source, rid, now);
        }
    }
}

/// What polling a client produced for the others. (Media is most of
/// them, so its size is no waste.)
#[allow(clippy::large_enum_variant)]
enum Out {
    Media(Key, Source, MediaData),
    Keyframe(Key, Track, Option<Rid>),
}

struct Unit {
    socket: UdpSocket,
    /// The address packets arrive at, as str0m's candidates know it.
    local: SocketAddr,
    announced: Vec<SocketAddr>,
    /// The most clients at once (`max_participants`).
    max: usize,
    clients: HashMap<Key, Client>,
    /// Which client a source address belongs to, once seen.
    by_addr: HashMap<SocketAddr, Key>,
    /// Who receives each track, and on which of their transceivers.
    routes: HashMap<(RoomId, Track), Vec<(PeerId, Mid)>>,
    /// Rooms whose forwarding table must be worked out again.
    dirty: HashSet<RoomId>,
    /// Clients that were given input since they were last polled: only
    /// they can have output, so only they are polled (polling every client
    /// for every packet costs the room's size per packet).
    touched: HashSet<Key>,
    /// Receivers whose camera layers must be chosen again.
    choose: HashSet<Key>,
    /// The voices forwarded in each room big enough to forward only the
    /// loudest (`speakers.rs`).
    speakers: HashMap<RoomId, Speakers>,
    seats: Arc<dyn Seats>,
    /// How every connection is made: one certificate for the whole unit
    /// (a key pair per participant would cost a keygen per join).
    config: RtcConfig,
}

pub(super) async fn run(
    socket: UdpSocket,
    announced: Vec<SocketAddr>,
    max: usize,
    mut commands: mpsc::Receiver<Command>,
    seats: Arc<dyn Seats>,
) {
    let crypto = Arc::new(str0m::crypto::from_feature_flags());
    // The bandwidth estimate (TWCC) each receiver's layers are fitted to
    // starts where a video call usually has room.
    let mut config = Rtc::builder()
        .set_ice_lite(true)
        .clear_codecs()
        .enable_opus(true, false)
        .enable_vp8(true)
        .enable_h264(true)
        .enable_bwe(Some(Bitrate::kbps(INITIAL_ESTIMATE_KBPS)));
    match crypto.dtls_provider.generate_certificate() {
        Some(cert) => config = config.set_dtls_cert(cert),
        None => tracing::warn!("no DTLS certificate for the forwarding unit: one per connection"),
    }
    let config = config.set_crypto_provider(crypto);
    let local = announced[0];
    let mut unit = Unit {
        socket,
        local,
        announced,
        max,
        clients: HashMap::new(),
        by_addr: HashMap::new(),
        routes: HashMap::new(),
        dirty: HashSet::new(),
        touched: HashSet::new(),
        choose: HashSet::new(),
        speakers: HashMap::new(),
        seats,
        config,
    };
    let mut buf = vec![0; 2000];
    let mut next_sweep = Instant::now() + SWEEP;
    let mut next_speakers = Instant::now() + speakers::CHOOSE_EVERY;
    let mut next_owed = Instant::now() + OWED_EVERY;
    loop {
        // Timers are kept here, not in the sleep below: under a steady
        // stream of packets the socket is always ready first, and a sleep
        // made anew each turn would never fire.
        let now = Instant::now();
        if now >= next_sweep {
            unit.sweep();
            next_sweep = now + SWEEP;
        }
        if now >= next_owed {
            for (key, client) in unit.clients.iter_mut().filter(|(_, client)| !client.owed.is_empty()) {
                client.settle(now);
                unit.touched.insert(*key);
            }
            next_owed = now + OWED_EVERY;
        }
        if now >= next_speakers {
            unit.choose_speakers(now);
            next_speakers = now + speakers::CHOOSE_EVERY;
        }
        for (key, client) in unit.clients.iter_mut().filter(|(_, client)| client.due <= now) {
            let _ = client.rtc.handle_input(Input::Timeout(now));
            unit.touched.insert(*key);
        }
        unit.poll();
        let mut wake = unit.clients.values().map(|client| client.due).min().unwrap_or(next_sweep).min(next_sweep);
        if !unit.speakers.is_empty() {
            wake = wake.min(next_speakers);
        }
        if unit.clients.values().any(|client| !client.owed.is_empty()) {
            wake = wake.min(next_owed);
        }
        tokio::select! {
            received = unit.socket.recv_from(&mut buf) => match received {
                Ok((n, source)) => {
                    // What else has arrived is taken in the same turn, so
                    // the work of a turn (timers, the next wake-up, over
                    // every client) is shared by many packets. Each is
                    // polled out at once: str0m wants its output drained
                    // after every input (a layer switch went missing when
                    // sixty-four inputs came first).
                    unit.receive(&buf[..n], source);
                    for _ in 0..BATCH {
                        unit.poll();
                        let Ok((n, source)) = unit.socket.try_recv_from(&mut buf) else { break };
                        unit.receive(&buf[..n], source);
                    }
                }
                Err(err) => tracing::debug!(%err, "forwarding socket"),
            },
            command = commands.recv() => match command {
                Some(command) => unit.command(command),
                None => return,
            },
            _ = tokio::time::sleep_until(wake.into()) => {}
        }
    }
}

impl Unit {
    /// Drains the output of every client that was given input (sending
    /// its packets, acting on its events), and of those its media went to,
    /// until nothing is left.
    fn poll(&mut self) {
        loop {
            let mut out = Vec::new();
            let mut dead = Vec::new();
            for key in std::mem::take(&mut self.touched) {
                let Some(client) = self.clients.get_mut(&key) else { continue };
                loop {
                    match client.rtc.poll_output() {
                        Ok(Output::Timeout(at)) => {
                            client.due = at;
                            break;
                        }
                        Ok(Output::Transmit(t)) => {
                            // A full socket buffer drops the packet, as the
                            // network would; RTP and ICE recover from loss.
                            let _ = self.socket.try_send_to(&t.contents, t.destination);
                        }
                        Ok(Output::Event(event)) => {
                            on_event(key, client, event, &mut out, &mut self.dirty, &mut self.choose)
                        }
                        Err(err) => {
                            tracing::debug!(room = %key.0, peer = %key.1, %err, "forwarded connection failed");
                            dead.push(key);
                            break;
                        }
                    }
                }
                if !client.rtc.is_alive() {
                    dead.push(key);
                }
            }
            for key in dead {
                self.drop_client(key);
            }
            for item in out {
                self.forward(item);
            }
            let dirty: Vec<RoomId> = self.dirty.drain().collect();
            for room in dirty {
                self.reassign(room);
            }
            for key in std::mem::take(&mut self.choose) {
                self.choose_layers(key);
            }
            if self.touched.is_empty() {
                return;
            }
        }
    }

    fn receive(&mut self, data: &[u8], source: SocketAddr) {
        let Ok(contents) = data.try_into() else { return };
        let input =
            Input::Receive(Instant::now(), Receive { proto: Protocol::Udp, source, destination: self.local, contents });
        let known = self
            .by_addr
            .get(&source)
            .copied()
            .filter(|key| self.clients.get(key).is_some_and(|client| client.rtc.accepts(&input)));
        let key = known.or_else(|| self.clients.iter().find(|(_, c)| c.rtc.accepts(&input)).map(|(key, _)| *key));
        let Some(key) = key else { return };
        self.by_addr.insert(source, key);
        if let Some(client) = self.clients.get_mut(&key) {
            if let Err(err) = client.rtc.handle_input(input) {
                tracing::debug!(room = %key.0, peer = %key.1, %err, "forwarded connection refused a packet");
            }
            self.touched.insert(key);
        }
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::Offer { room, peer, sdp, sending, reply } => {
                let _ = reply.send(self.offer((room, peer), &sdp, sending));
            }
            Command::Leave { room, peer } => self.drop_client((room, peer)),
            Command::Refresh { room } => {
                self.dirty.insert(room);
            }
            Command::View { room, peer, of, width, height } => {
                if let Some(client) = self.clients.get_mut(&(room, peer)) {
                    if client.views.len() < 1024 || client.views.contains_key(&of) {
                        client.views.insert(of, (width, height));
                    }
                    self.choose.insert((room, peer));
                }
            }
        }
    }

    fn offer(&mut self, key: Key, sdp: &str, sending: Vec<Published>) -> Result<String, ForwardError> {
        let offer = SdpOffer::from_sdp_string(sdp).map_err(|err| ForwardError::BadOffer(err.to_string()))?;
        let mut map = HashMap::new();
        for published in &sending {
            let mid = Mid::from(published.mid.as_str());
            if map.insert(mid, published.source).is_some()
                || map.values().filter(|s| **s == published.source).count() > 1
            {
                return Err(ForwardError::BadSending);
            }
        }
        let fresh = !self.clients.contains_key(&key);
        if fresh && self.clients.len() >= self.max {
            return Err(ForwardError::Full(self.max));
        }
        // An offer that waited in the queue while its sender was removed
        // (or left) makes no connection.
        if fresh && !self.seats.holds(key.0, key.1) {
            return Err(ForwardError::Gone);
        }
        if fresh {
            let mut rtc = self.config.clone().build(Instant::now());
            for addr in &self.announced {
                if let Ok(candidate) = Candidate::host(*addr, "udp") {
                    rtc.add_local_candidate(candidate);
                }
            }
            self.clients.insert(key, Client::new(rtc));
        }
        self.touched.insert(key);
        let client = self.clients.get_mut(&key).expect("inserted above");
        match client.rtc.sdp_api().accept_offer(offer) {
            Ok(answer) => {
                // A sending transceiver must be one the browser receives
                // nothing on, of the kind its source says.
                map.retain(|mid, source| {
                    client.rtc.media(*mid).is_some_and(|media| {
                        media.direction() == Direction::RecvOnly
                            && (media.kind() == MediaKind::Audio) == source.is_audio()
                    })
                });
                client.sending = map;
                self.dirty.insert(key.0);
                Ok(answer.to_sdp_string())
            }
            Err(err) => {
                if fresh {
                    self.clients.remove(&key);
                }
                Err(ForwardError::BadOffer(err.to_string()))
            }
        }
    }

    fn drop_client(&mut self, key: Key) {
        if let Some(mut client) = self.clients.remove(&key) {
            client.rtc.disconnect();
            self.by_addr.retain(|_, k| *k != key);
            self.dirty.insert(key.0);
        }
    }

    /// Lets go of participants the rooms no longer hold.
    fn sweep(&mut self) {
        let gone: Vec<Key> =
            self.clients.keys().filter(|(room, peer)| !self.seats.holds(*room, *peer)).copied().collect();
        for key in gone {
            self.drop_client(key);
        }
    }

    fn forward(&mut self, item: Out) {
        match item {
            Out::Media((room, peer), source, data) => {
                if source == Source::Mic
                    && self.speakers.get(&room).is_some_and(|chosen| !chosen.passes(peer))
                    && self.clients.get(&(room, peer)).is_some_and(|c| c.loudness.measured)
                {
                    return;
                }
                let Some(routes) = self.routes.get(&(room, Track { peer, source })) else { return };
                for (to, mid) in routes {
                    let Some(client) = self.clients.get_mut(&(room, *to)) else { continue };
                    let Some(time) = client.copies.entry(*mid).or_default().pass(&data) else { continue };
                    let Some(writer) = client.rtc.writer(*mid) else { continue };
                    let Some(pt) = writer.match_params(data.params) else { continue };
                    // The level goes on, for the receivers' speaking indicators.
                    let writer = match (data.ext_vals.audio_level, data.ext_vals.voice_activity) {
                        (Some(level), voice) => writer.audio_level(level, voice.unwrap_or(false)),
                        (None, _) => writer,
                    };
                    if let Err(err) = writer.write(pt, data.network_time, time, data.data.clone()) {
                        tracing::debug!(%room, peer = %to, %err, "cannot forward");
                    }
                    self.touched.insert((room, *to));
                }
            }
            Out::Keyframe((room, _), track, rid) => {
                if let Some(client) = self.clients.get_mut(&(room, track.peer)) {
                    client.ask_keyframe(track.source, rid, Instant::now());
                    self.touched.insert((room, track.peer));
                }
            }
        }
    }

    /// Works out again who receives what in a room, after someone came,
    /// went, offered, or started sending a track.
    fn reassign(&mut self, room: RoomId) {
        let mut members: Vec<PeerId> = self.clients.keys().filter(|(r, _)| *r == room).map(|(_, p)| *p).collect();
        members.sort();
        match members.len() > speakers::LOUDEST_ABOVE {
            true => _ = self.speakers.entry(room).or_default(),
            false => _ = self.speakers.remove(&room),
        }
        let tracks: Vec<Track> = members
            .iter()
            .filter(|peer| self.seats.presents(room, **peer))
            .flat_map(|peer| {
                let client = &self.clients[&(room, *peer)];
                let mut live: Vec<Source> = client.live.iter().copied().collect();
                live.sort();
                live.into_iter().map(move |source| Track { peer: *peer, source })
            })
            .collect();
        self.routes.retain(|(r, _), _| *r != room);
        let mut keyframes = Vec::new();
        for peer in &members {
            let wanted: Vec<Track> = tracks.iter().filter(|t| t.peer != *peer).copied().collect();
            let client = self.clients.get_mut(&(room, *peer)).expect("listed above");
            let assigned = slots::assign(&mut client.slots, &wanted);
            for (mid, track) in &assigned.placed {
                // A new track on the slot: its copy starts at a keyframe.
                client.copies.remove(mid);
                keyframes.push(*track);
            }
            for slot in &client.slots {
                if let Some(track) = slot.carries {
                    self.routes.entry((room, track)).or_default().push((*peer, slot.mid));
                }
            }
            let told = ServerMsg::ForwardSlots {
                slots: client
                    .slots
                    .iter()
                    .filter_map(|slot| {
                        let track = slot.carries?;
                        Some(SlotMsg { mid: slot.mid.to_string(), peer: track.peer, source: track.source })
                    })
                    .collect(),
                audio: assigned.audio.min(usize::from(crate::protocol::MAX_SLOTS)) as u16,
                video: assigned.video.min(usize::from(crate::protocol::MAX_SLOTS)) as u16,
            };
            if client.told.as_ref() != Some(&told) {
                self.seats.tell(room, *peer, &told);
                client.told = Some(told);
            }
        }
        let now = Instant::now();
        for track in keyframes.into_iter().filter(|t| t.source != Source::Camera) {
            if let Some(client) = self.clients.get_mut(&(room, track.peer)) {
                client.ask_keyframe(track.source, None, now);
                self.touched.insert((room, track.peer));
            }
        }
        // Cameras: a keyframe of the layer each new copy wants.
        self.choose.extend(members.iter().map(|peer| (room, *peer)));
    }

    /// Chooses again the voices each big room forwards.
    fn choose_speakers(&mut self, now: Instant) {
        for (room, speakers) in &mut self.speakers {
            let mut voices: Vec<(PeerId, f32)> = self
                .clients
                .iter()
                .filter(|((r, _), _)| r == room)
                .map(|((_, peer), client)| (*peer, client.loudness.now(now)))
                .collect();
            speakers.choose(&mut voices, now);
        }
    }

    /// Picks the layer of each camera one receiver gets: the smallest that
    /// fills the tile, then smaller ones while the sum is more than its
    /// bandwidth estimate carries. A copy whose layer changes asks the
    /// camera for a keyframe of it.
    fn choose_layers(&mut self, (room, peer): Key) {
        let Some(client) = self.clients.get(&(room, peer)) else { return };
        let layers_of = |from: &PeerId| self.clients.get(&(room, *from)).map(|c| &c.layers);
        let mut wanted: Vec<(Mid, PeerId, Rid)> = client
            .slots
            .iter()
            .filter_map(|slot| {
                let from = slot.carries.filter(|t| t.source == Source::Camera)?.peer;
                Some((slot.mid, from, layers_of(&from)?.fits(client.views.get(&from).copied())?))
            })
            .collect();
        let rate = |wanted: &[(Mid, PeerId, Rid)]| -> f64 {
            wanted.iter().map(|(_, from, rid)| layers_of(from).map_or(0.0, |l| l.rate(*rid))).sum()
        };
        let desired = rate(&wanted);
        if let Some(estimate) = client.estimate {
            // Audio and overhead take some; lower the costliest copy a step
            // at a time until the rest fits.
            while rate(&wanted) > estimate * 0.85 {
                let lowerable = wanted
                    .iter()
                    .enumerate()
                    .filter_map(|(i, (_, from, rid))| {
                        let layers = layers_of(from)?;
                        Some((i, layers.below(*rid)?, layers.rate(*rid)))
                    })
                    .max_by(|a, b| a.2.total_cmp(&b.2));
                let Some((i, below, _)) = lowerable else { break };
                wanted[i].2 = below;
            }
        }
        tracing::debug!(%room, %peer, desired, estimate = ?client.estimate, ?wanted, "layers chosen");
        let client = self.clients.get_mut(&(room, peer)).expect("found above");
        if desired > 0.0 {
            client.rtc.bwe().set_desired_bitrate(Bitrate::bps((desired * 1.2) as u64 + 200_000));
            self.touched.insert((room, peer));
        }
        let mut keyframes = Vec::new();
        for (mid, from, rid) in wanted {
            let copy = client.copies.entry(mid).or_default();
            copy.wanted = Some(rid);
            if copy.chosen != Some(rid) {
                keyframes.push((from, rid));
            }
        }
        let now = Instant::now();
        for (from, rid) in keyframes {
            if let Some(client) = self.clients.get_mut(&(room, from)) {
                client.ask_keyframe(Source::Camera, Some(rid), now);
                self.touched.insert((room, from));
            }
        }
    }
}

/// Acts on one event of one client's connection.
fn on_event(
    key: Key,
    client: &mut Client,
    event: Event,
    out: &mut Vec<Out>,
    dirty: &mut HashSet<RoomId>,
    choose: &mut HashSet<Key>,
) {
    match event {
        Event::MediaAdded(added) if added.direction == Direction::SendOnly => {
            if !client.slots.iter().any(|slot| slot.mid == added.mid) {
                client.slots.push(Slot { mid: added.mid, audio: added.kind == MediaKind::Audio, carries: None });
                dirty.insert(key.0);
            }
        }
        Event::MediaData(data) => {
            let Some(source) = client.sending.get(&data.mid).copied() else { return };
            if client.live.insert(source) {
                dirty.insert(key.0);
            }
            match source {
                Source::Camera => client.layers.saw(&data, Instant::now()),
                Source::Mic => client.loudness.heard(data.ext_vals.audio_level, Instant::now()),
                Source::Screen | Source::ScreenAudio => {}
            }
            out.push(Out::Media(key, source, data));
        }
        Event::KeyframeRequest(request) => {
            let carried = client.slots.iter().find(|slot| slot.mid == request.mid).and_then(|slot| slot.carries);
            if let Some(track) = carried {
                let rid = client.copies.get(&request.mid).and_then(|copy| copy.chosen);
                out.push(Out::Keyframe(key, track, rid));
            }
        }
        Event::EgressBitrateEstimate(BweKind::Twcc { estimate, .. }) => {
            // A tenth up or down is worth choosing the layers again: the
            // estimate climbs towards what the chosen layers want, and the
            // bigger layer is taken once it fits (not only at the next
            // tile-size report).
            let estimate = estimate.as_f64();
            if client.estimate.is_none_or(|old| (estimate - old).abs() > old * 0.1) {
                choose.insert(key);
            }
            client.estimate = Some(estimate);
        }
        Event::IceConnectionStateChange(state) => {
            tracing::debug!(room = %key.0, peer = %key.1, ?state, "forwarded connection");
        }
        _ => {}
    }
}
