//! One RTCPeerConnection to one remote participant, with "perfect
//! negotiation": either side may renegotiate at any time, and when both
//! offer at once the polite side (fixed by comparing peer ids) yields.
//!
//! Camera and microphone ride two transceivers made once per connection. The
//! participant who joins later makes them and sends the first offer; the
//! other side adopts the transceivers the offer creates. After that,
//! switching or turning off a device is `replaceTrack` on the same sender,
//! with no renegotiation and no new connection.
//!
//! A shared screen rides transceivers of its own, added after those two
//! (so a receiver tells camera from screen by the transceiver's position)
//! and renegotiated through the same perfect-negotiation path. Chat rides a
//! negotiated data channel (id 0) that both sides open on their own, so it
//! needs no signaling once the connection is up.
//!
//! Incoming signals are applied one at a time, in order: a candidate must
//! not be added before the description it belongs to.
//!
//! A connection that fails, or stays `disconnected` for [`DISCONNECTED_GRACE`],
//! is repaired with an ICE restart: a new offer through signaling on the
//! same RTCPeerConnection, so tiles, tracks and the chat channel stay. A
//! restart tried while the path is still broken is not retried by the
//! browser: its candidate pairs fail and the connection sits `disconnected`
//! until ICE gives up (15 s and more in Chromium). So the restart is tried
//! again every [`REPAIR_RETRY`] (with jitter) for as long as the connection
//! is not back.
//!
//! Only the impolite side restarts; the polite side waits for its offers.
//! Both sides see a path break at the same moment, and two offers that cross
//! make the polite side roll its own back. Chromium (148) loses the media of
//! a connection that has rolled back any offer: its camera sender never
//! encodes again and received video never reaches a `<video>` element,
//! although the connection reports `connected` (a bare two-connection page
//! shows the same; `replaceTrack(null)` and back revives the sender, nothing
//! found revives the receiver). So the polite side restarts only once the
//! other side has sent no offer for [`POLITE_PATIENCE`] while the connection
//! is down (the other side's page is gone or frozen). Other crossings (both
//! sides start sharing a screen in the same instant) are still possible and
//! would leave the polite side without video until someone reloads.
//!
//! Every open connection is also listed in `window.moimPeers` (a `Map` from
//! peer id to RTCPeerConnection): the browser tests read statistics and
//! break transports through it, and it helps when debugging a call in the
//! browser's console. It gives a page script nothing it could not reach
//! anyway.

mod quality;
mod screen;

pub use quality::VideoLimits;

use super::{js_error, js_object, warn};
use crate::app::Connection;
use crate::client::media::Kind;
use crate::protocol::{file_frame_id, Encode, FileMsg, IceServer, PeerId, PeerMsg, SdpType, Signal, FILE_ID_BYTES};
use leptos::task::spawn_local;
use serde_json::json;
use std::{
    cell::{Cell, RefCell},
    collections::VecDeque,
    rc::{Rc, Weak},
    time::Duration,
};
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    EventTarget, MediaStream, MediaStreamTrack, MessageEvent, RtcConfiguration, RtcDataChannel, RtcDataChannelInit,
    RtcDataChannelState, RtcIceCandidateInit, RtcIceTransportPolicy, RtcPeerConnection, RtcPeerConnectionIceEvent,
    RtcPeerConnectionState, RtcRtpSender, RtcRtpTransceiver, RtcRtpTransceiverDirection, RtcRtpTransceiverInit,
    RtcSdpType, RtcSessionDescriptionInit, RtcSignalingState, RtcTrackEvent,
};

/// How long a connection may stay `disconnected` before it is restarted;
/// brief losses recover by themselves within a second or two.
const DISCONNECTED_GRACE: Duration = Duration::from_secs(3);

/// How often a connection that is still not back gets another ICE restart
/// (plus up to half of it again as jitter).
const REPAIR_RETRY: Duration = Duration::from_secs(4);

/// How long the polite side leaves the repair to the other side (which
/// offers again every [`REPAIR_RETRY`] and a half at most) before it
/// restarts ICE itself.
const POLITE_PATIENCE: Duration = Duration::from_secs(12);

/// A handler registered on the connection or its chat channel.
type Listener = (EventTarget, &'static str, Closure<dyn FnMut(JsValue)>);

/// What a peer reports to the call.
pub struct Events {
    /// A signal to relay to the remote side.
    pub signal: Box<dyn Fn(Signal)>,
    /// A remote track arrived; `true` when it belongs to a shared screen.
    pub track: Box<dyn Fn(MediaStreamTrack, bool)>,
    /// The chat channel opened.
    pub chat_open: Box<dyn Fn()>,
    /// A message arrived on the chat channel.
    pub chat: Box<dyn Fn(PeerMsg)>,
    /// A message about a file arrived on the files channel…
    pub file: Box<dyn Fn(FileMsg)>,
    /// …or some of a file's bytes, for the transfer with this id.
    pub file_data: Box<dyn Fn(uuid::Uuid, js_sys::Uint8Array)>,
    /// The connection state changed.
    pub state: Box<dyn Fn(Connection)>,
}

/// How a connection starts: whether this side makes the first offer, and
/// whether it carries files only.
pub struct Opening {
    pub initiate: bool,
    pub data_only: bool,
}

/// This side's camera and microphone, as the peer should send them.
#[derive(Clone, Default)]
pub struct LocalTracks {
    pub audio: Option<MediaStreamTrack>,
    pub video: Option<MediaStreamTrack>,
}

pub struct Peer {
    pub id: PeerId,
    pc: RtcPeerConnection,
    /// Only the files channel, no media and no chat: a forwarded room's
    /// file transfer, browser to browser (see `call/files.rs`).
    data_only: bool,
    /// File messages waiting for the files channel to open (data-only
    /// connections are made when a file is sent).
    waiting_files: RefCell<Vec<FileMsg>>,
    polite: bool,
    making_offer: Cell<bool>,
    ignore_offer: Cell<bool>,
    inbox: RefCell<VecDeque<Signal>>,
    draining: Cell<bool>,
    local: RefCell<LocalTracks>,
    senders: RefCell<Option<(RtcRtpSender, RtcRtpSender)>>,
    /// Set once the first offer/answer has made the camera and microphone
    /// transceivers; the chat channel and screen transceivers come after.
    ready: Cell<bool>,
    /// Set while a repair is scheduled (see [`Peer::repair`]).
    repairing: Cell<bool>,
    /// When (ms since the epoch) the connection went down, if it is down, and
    /// when the last offer from the other side arrived: the polite side
    /// restarts ICE only when both are [`POLITE_PATIENCE`] ago.
    down_since: Cell<Option<f64>>,
    last_remote_offer: Cell<f64>,
    /// What the camera sender may use (see `quality.rs`).
    limits: Cell<Option<VideoLimits>>,
    /// The screen this side shares (if any), and the transceivers it uses.
    screen: RefCell<Option<MediaStream>>,
    screen_transceivers: RefCell<Vec<(Kind, RtcRtpTransceiver)>>,
    chat: RefCell<Option<RtcDataChannel>>,
    /// Files go on a channel of their own (id 1), so a large one never
    /// holds up chat.
    files: RefCell<Option<RtcDataChannel>>,
    events: Events,
    // The browser calls these until the connection is closed.
    handlers: RefCell<Vec<Listener>>,
}

pub(super) fn connection(state: RtcPeerConnectionState) -> Connection {
    match state {
        RtcPeerConnectionState::Connecting => Connection::Connecting,
        RtcPeerConnectionState::Connected => Connection::Connected,
        RtcPeerConnectionState::Disconnected => Connection::Disconnected,
        RtcPeerConnectionState::Failed => Connection::Failed,
        RtcPeerConnectionState::Closed => Connection::Closed,
        _ => Connection::New,
    }
}

/// An RTCPeerConnection with the server's ICE servers, through relays
/// only when the server asks for that (a mesh peer's and the uplink's).
pub(super) fn new_connection(ice_servers: &[IceServer], relay_only: bool) -> Result<RtcPeerConnection, JsValue> {
    let config = RtcConfiguration::new();
    config.set_ice_servers(&js_object(&json!(ice_servers)));
    if relay_only {
        config.set_ice_transport_policy(RtcIceTransportPolicy::Relay);
    }
    RtcPeerConnection::new_with_configuration(&config)
}

/// The browser's description type as the protocol's (by its one name).
fn sdp_type(ty: RtcSdpType) -> Option<SdpType> {
    SdpType::parse(&JsValue::from(ty).as_string()?)
}

/// Calls a method that web-sys does not model with no arguments
/// (`setLocalDescription()`, `restartIce()`).
pub(super) fn call0(pc: &RtcPeerConnection, method: &str) -> Result<JsValue, JsValue> {
    let f: js_sys::Function = js_sys::Reflect::get(pc, &JsValue::from_str(method))?.dyn_into()?;
    f.call0(pc)
}

impl Peer {
    /// Opens a connection to `id`. With `initiate`, this side makes the
    /// camera and microphone transceivers (unless `data_only`) and the
    /// data channels, which starts the first offer.
    pub fn new(
        id: PeerId,
        me: PeerId,
        ice_servers: &[IceServer],
        relay_only: bool,
        local: LocalTracks,
        Opening { initiate, data_only }: Opening,
        events: Events,
    ) -> Result<Rc<Self>, JsValue> {
        let pc = new_connection(ice_servers, relay_only)?;
        let peer = Rc::new(Self {
            id,
            pc,
            data_only,
            waiting_files: RefCell::default(),
            polite: me < id,
            making_offer: Cell::new(false),
            ignore_offer: Cell::new(false),
            inbox: RefCell::default(),
            draining: Cell::new(false),
            local: RefCell::new(local),
            senders: RefCell::new(None),
            limits: Cell::new(None),
            ready: Cell::new(false),
            repairing: Cell::new(false),
            down_since: Cell::new(None),
            last_remote_offer: Cell::new(0.0),
            screen: RefCell::new(None),
            screen_transceivers: RefCell::default(),
            chat: RefCell::new(None),
            files: RefCell::new(None),
            events,
            handlers: RefCell::default(),
        });
        peer.listen();
        registry(|peers| _ = peers.set(&JsValue::from_str(&id.to_string()), &peer.pc));
        if initiate {
            if !data_only {
                peer.add_transceivers();
            }
            peer.become_ready();
        }
        Ok(peer)
    }

    fn on(self: &Rc<Self>, target: &EventTarget, event: &'static str, f: impl Fn(&Rc<Self>, JsValue) + 'static) {
        let weak: Weak<Self> = Rc::downgrade(self);
        let handler = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
            if let Some(peer) = weak.upgrade() {
                f(&peer, ev);
            }
        });
        let _ = target.add_event_listener_with_callback(event, handler.as_ref().unchecked_ref());
        self.handlers.borrow_mut().push((target.clone(), event, handler));
    }

    /// Opens the chat channel and sends the screen, once the camera and
    /// microphone transceivers exist (doing it earlier on the answering side
    /// would start a second, competing offer).
    fn become_ready(self: &Rc<Self>) {
        if self.ready.replace(true) {
            return;
        }
        if !self.data_only {
            self.open_chat();
        }
        let init = RtcDataChannelInit::new();
        init.set_negotiated(true);
        init.set_id(1);
        let files = self.pc.create_data_channel_with_data_channel_dict("files", &init);
        files.set_binary_type(web_sys::RtcDataChannelType::Arraybuffer);
        self.on(&files, "open", |peer, _| {
            for msg in peer.waiting_files.take() {
                peer.send_file_msg(&msg);
            }
        });
        self.on(&files, "message", |peer, ev| {
            let data = ev.unchecked_into::<MessageEvent>().data();
            if let Some(text) = data.as_string() {
                match FileMsg::decode(&text) {
                    Ok(msg) => (peer.events.file)(msg),
                    Err(err) => warn(&format!("moim: unreadable file message from {}: {err}", peer.id)),
                }
                return;
            }
            let bytes = js_sys::Uint8Array::new(&data);
            let head = FILE_ID_BYTES as u32;
            match file_frame_id(&bytes.subarray(0, head.min(bytes.length())).to_vec()) {
                Some(id) => (peer.events.file_data)(id, bytes.subarray(head, bytes.length())),
                None => warn(&format!("moim: a file frame from {} without a transfer id", peer.id)),
            }
        });
        *self.files.borrow_mut() = Some(files);
        self.apply_screen();
        self.apply_limits();
    }

    /// The chat channel (id 0), negotiated: both sides open it on their own.
    fn open_chat(self: &Rc<Self>) {
        let init = RtcDataChannelInit::new();
        init.set_negotiated(true);
        init.set_id(0);
        let channel = self.pc.create_data_channel_with_data_channel_dict("chat", &init);
        self.on(&channel, "open", |peer, _| (peer.events.chat_open)());
        self.on(&channel, "message", |peer, ev| {
            let Some(text) = ev.unchecked_into::<MessageEvent>().data().as_string() else { return };
            match PeerMsg::decode(&text) {
                Ok(msg) => (peer.events.chat)(msg),
                Err(err) => warn(&format!("moim: unreadable chat message from {}: {err}", peer.id)),
            }
        });
        *self.chat.borrow_mut() = Some(channel);
    }

    pub fn data_only(&self) -> bool {
        self.data_only
    }

    /// Sends a message on the chat channel; false if it is not open yet
    /// (the other side then asks for history when it opens).
    pub fn send_chat(&self, msg: &PeerMsg) -> bool {
        let chat = self.chat.borrow();
        let Some(channel) = chat.as_ref().filter(|c| c.ready_state() == RtcDataChannelState::Open) else {
            return false;
        };
        channel.send_with_str(&msg.encode()).is_ok()
    }

    /// The files channel, once it is open.
    pub fn files_channel(&self) -> Option<RtcDataChannel> {
        self.files.borrow().clone().filter(|c| c.ready_state() == RtcDataChannelState::Open)
    }

    /// Sends a message about a file; false if the files channel is not
    /// open (on a data-only connection, it waits for the channel instead).
    pub fn send_file_msg(&self, msg: &FileMsg) -> bool {
        if let Some(channel) = self.files_channel() {
            return channel.send_with_str(&msg.encode()).is_ok();
        }
        let opening = self.files.borrow().as_ref().is_none_or(|c| c.ready_state() == RtcDataChannelState::Connecting);
        if self.data_only && opening {
            self.waiting_files.borrow_mut().push(msg.clone());
            return true;
        }
        false
    }

    fn listen(self: &Rc<Self>) {
        let pc: EventTarget = self.pc.clone().into();
        self.on(&pc, "negotiationneeded", |peer, _| {
            let peer = peer.clone();
            spawn_local(async move { peer.offer().await });
        });
        self.on(&pc, "icecandidate", |peer, ev| {
            let Some(c) = ev.unchecked_into::<RtcPeerConnectionIceEvent>().candidate() else { return };
            (peer.events.signal)(Signal::Candidate {
                candidate: c.candidate(),
                sdp_mid: c.sdp_mid(),
                sdp_m_line_index: c.sdp_m_line_index(),
            });
        });
        self.on(&pc, "track", |peer, ev| {
            let ev: RtcTrackEvent = ev.unchecked_into();
            // Camera and microphone are the first two transceivers of every
            // connection; anything after them is a shared screen.
            let position = peer.pc.get_transceivers().index_of(&ev.transceiver(), 0);
            (peer.events.track)(ev.track(), position >= 2);
        });
        self.on(&pc, "connectionstatechange", |peer, _| {
            let state = peer.pc.connection_state();
            let went_down = || {
                if peer.down_since.get().is_none() {
                    peer.down_since.set(Some(js_sys::Date::now()));
                }
            };
            match state {
                RtcPeerConnectionState::Failed => {
                    went_down();
                    peer.restart_ice();
                    peer.repair(REPAIR_RETRY);
                }
                RtcPeerConnectionState::Disconnected => {
                    went_down();
                    peer.repair(DISCONNECTED_GRACE);
                }
                RtcPeerConnectionState::Connected => peer.down_since.set(None),
                _ => {}
            }
            (peer.events.state)(connection(state));
        });
    }

    /// The joining side: one sendrecv transceiver each for microphone and camera.
    fn add_transceivers(&self) {
        let local = self.local.borrow().clone();
        let make = |kind: &str, track: Option<&MediaStreamTrack>| {
            let init = RtcRtpTransceiverInit::new();
            init.set_direction(RtcRtpTransceiverDirection::Sendrecv);
            let transceiver = match track {
                Some(track) => self.pc.add_transceiver_with_media_stream_track_and_init(track, &init),
                None => self.pc.add_transceiver_with_str_and_init(kind, &init),
            };
            transceiver.sender()
        };
        let audio = make("audio", local.audio.as_ref());
        let video = make("video", local.video.as_ref());
        *self.senders.borrow_mut() = Some((audio, video));
    }

    /// The answering side: take the first audio and video transceivers the
    /// remote offer created, and send on them too.
    fn adopt_transceivers(&self) {
        if self.senders.borrow().is_some() {
            return;
        }
        let local = self.local.borrow().clone();
        let (mut audio, mut video) = (None, None);
        for t in self.pc.get_transceivers().iter() {
            let t: RtcRtpTransceiver = t.unchecked_into();
            let (slot, track) = match t.receiver().track().kind().as_str() {
                "audio" => (&mut audio, local.audio.as_ref()),
                "video" => (&mut video, local.video.as_ref()),
                _ => continue,
            };
            if slot.is_some() {
                continue;
            }
            t.set_direction(RtcRtpTransceiverDirection::Sendrecv);
            let sender = t.sender();
            let _ = sender.replace_track(track);
            *slot = Some(sender);
        }
        if let (Some(audio), Some(video)) = (audio, video) {
            *self.senders.borrow_mut() = Some((audio, video));
        }
    }

    async fn offer(&self) {
        self.making_offer.set(true);
        let result = async {
            JsFuture::from(js_sys::Promise::from(call0(&self.pc, "setLocalDescription")?)).await?;
            self.send_description();
            Ok::<_, JsValue>(())
        }
        .await;
        self.making_offer.set(false);
        if let Err(err) = result {
            warn(&format!("moim: offer to {} failed: {}", self.id, js_error(&err)));
        }
    }

    fn send_description(&self) {
        if let Some(desc) = self.pc.local_description() {
            let Some(sdp_type) = sdp_type(desc.type_()) else { return };
            (self.events.signal)(Signal::Description { sdp_type, sdp: desc.sdp() });
        }
    }

    /// Queues a signal from the remote side; they are applied in order.
    pub fn receive(self: &Rc<Self>, signal: Signal) {
        self.inbox.borrow_mut().push_back(signal);
        if self.draining.replace(true) {
            return;
        }
        let peer = self.clone();
        spawn_local(async move {
            loop {
                let next = peer.inbox.borrow_mut().pop_front();
                let Some(signal) = next else { break };
                if let Err(err) = peer.apply(signal).await {
                    warn(&format!("moim: signal from {} failed: {}", peer.id, js_error(&err)));
                }
            }
            peer.draining.set(false);
        });
    }

    async fn apply(self: &Rc<Self>, signal: Signal) -> Result<(), JsValue> {
        match signal {
            Signal::Description { sdp_type, sdp } => {
                let ty = RtcSdpType::from_js_value(&JsValue::from_str(sdp_type.as_str()))
                    .ok_or_else(|| JsValue::from_str(&format!("no description type {sdp_type:?} here")))?;
                let is_offer = ty == RtcSdpType::Offer;
                if is_offer {
                    self.last_remote_offer.set(js_sys::Date::now());
                }
                let collision =
                    is_offer && (self.making_offer.get() || self.pc.signaling_state() != RtcSignalingState::Stable);
                self.ignore_offer.set(!self.polite && collision);
                if self.ignore_offer.get() {
                    return Ok(());
                }
                let init = RtcSessionDescriptionInit::new(ty);
                init.set_sdp(&sdp);
                JsFuture::from(self.pc.set_remote_description(&init)).await?;
                if is_offer {
                    self.adopt_transceivers();
                    JsFuture::from(js_sys::Promise::from(call0(&self.pc, "setLocalDescription")?)).await?;
                    self.send_description();
                    self.become_ready();
                }
            }
            Signal::Candidate { candidate, sdp_mid, sdp_m_line_index } => {
                let init = RtcIceCandidateInit::new(&candidate);
                init.set_sdp_mid(sdp_mid.as_deref());
                init.set_sdp_m_line_index(sdp_m_line_index);
                let added =
                    JsFuture::from(self.pc.add_ice_candidate_with_opt_rtc_ice_candidate_init(Some(&init))).await;
                // Candidates for an offer this side ignored are expected to fail.
                if let Err(err) = added {
                    if !self.ignore_offer.get() {
                        return Err(err);
                    }
                }
            }
        }
        Ok(())
    }

    /// Sends another track (or none) as camera or microphone, without renegotiating.
    pub fn replace(&self, kind: Kind, track: Option<&MediaStreamTrack>) {
        {
            let mut local = self.local.borrow_mut();
            let slot = match kind {
                Kind::Video => &mut local.video,
                Kind::Audio => &mut local.audio,
            };
            *slot = track.cloned();
        }
        let sender = self.senders.borrow().as_ref().map(|(a, v)| match kind {
            Kind::Video => v.clone(),
            Kind::Audio => a.clone(),
        });
        if let Some(sender) = sender {
            let promise = sender.replace_track(track);
            let id = self.id;
            spawn_local(async move {
                if let Err(err) = JsFuture::from(promise).await {
                    warn(&format!("moim: replacing a track for {id} failed: {}", js_error(&err)));
                }
            });
        }
    }

    /// A new ICE round, negotiated through signaling like any other change:
    /// it recovers from a changed or broken network path without a new
    /// connection. The polite side leaves it to the other side unless that
    /// side has stopped trying (see the module docs).
    fn restart_ice(&self) {
        if self.pc.signaling_state() == RtcSignalingState::Closed {
            return;
        }
        if self.polite {
            let now = js_sys::Date::now();
            let quiet = |since: f64| now - since >= POLITE_PATIENCE.as_millis() as f64;
            let down_long = self.down_since.get().is_some_and(quiet);
            if !(down_long && quiet(self.last_remote_offer.get())) {
                return;
            }
        }
        let _ = call0(&self.pc, "restartIce");
    }

    /// Restarts ICE after `delay` unless the connection is back by then, and
    /// keeps trying every [`REPAIR_RETRY`] until it is. One schedule per
    /// connection at a time.
    fn repair(self: &Rc<Self>, delay: Duration) {
        if self.repairing.replace(true) {
            return;
        }
        let weak = Rc::downgrade(self);
        leptos::prelude::set_timeout(
            move || {
                let Some(peer) = weak.upgrade() else { return };
                peer.repairing.set(false);
                let down = matches!(
                    peer.pc.connection_state(),
                    RtcPeerConnectionState::Disconnected
                        | RtcPeerConnectionState::Failed
                        | RtcPeerConnectionState::Connecting
                );
                if down && peer.pc.signaling_state() != RtcSignalingState::Closed {
                    peer.restart_ice();
                    let jitter = REPAIR_RETRY.mul_f64(js_sys::Math::random() / 2.0);
                    peer.repair(REPAIR_RETRY + jitter);
                }
            },
            delay,
        );
    }

    /// Called when signaling can reach the other side again: an offer that
    /// may have been lost on the way (sent while the other side was not
    /// yet back) is sent again, and a connection that is not up gets an ICE
    /// restart.
    pub fn mend(&self) {
        if self.pc.signaling_state() == RtcSignalingState::HaveLocalOffer && !self.making_offer.get() {
            self.send_description();
        }
        let state = self.pc.connection_state();
        if matches!(state, RtcPeerConnectionState::Failed | RtcPeerConnectionState::Disconnected) {
            self.restart_ice();
        }
    }

    /// Closes the connection and detaches every handler.
    pub fn close(&self) {
        let id = JsValue::from_str(&self.id.to_string());
        registry(|peers| _ = peers.delete(&id));
        if let Some(chat) = self.chat.borrow_mut().take() {
            chat.close();
        }
        if let Some(files) = self.files.borrow_mut().take() {
            files.close();
        }
        self.pc.close();
        for (target, event, handler) in self.handlers.borrow_mut().drain(..) {
            let _ = target.remove_event_listener_with_callback(event, handler.as_ref().unchecked_ref());
        }
    }
}

/// Runs `f` on `window.moimPeers`, making the map on first use.
fn registry(f: impl FnOnce(&js_sys::Map)) {
    let Some(window) = web_sys::window() else { return };
    let key = JsValue::from_str("moimPeers");
    let map = match js_sys::Reflect::get(&window, &key).ok().and_then(|m| m.dyn_into::<js_sys::Map>().ok()) {
        Some(map) => map,
        None => {
            let map = js_sys::Map::new();
            let _ = js_sys::Reflect::set(&window, &key, &map);
            map
        }
    };
    f(&map);
}
