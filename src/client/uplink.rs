//! The one connection to the server's forwarding unit, in a forwarded room
//! (docs/protocol.md, section 11).
//!
//! It sends on four transceivers made at once — microphone, camera (in
//! three simulcast layers), screen, screen sound — so that turning a device
//! on or off, or sharing a screen, is a `replaceTrack` and never a
//! renegotiation. It receives on
//! *slots*: receiving transceivers the server fills with whoever's track
//! it chooses, and tells us whose (`forward_slots`).
//!
//! This side always offers and the server always answers, one exchange at
//! a time, so there is no glare and no perfect negotiation to do. A lost
//! path is repaired with an ICE restart on the same connection.
//!
//! The connection is `window.moimUplink`, for the browser tests and for
//! debugging in the console.

use super::{js_error, js_object, media::Kind, peer::LocalTracks, warn};
use crate::app::Connection;
use crate::protocol::{ClientMsg, IceServer, PeerId, Published, Slot, Source};
use leptos::task::spawn_local;
use serde_json::json;
use std::{
    cell::{Cell, RefCell},
    collections::HashMap,
    rc::{Rc, Weak},
    time::Duration,
};
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    MediaStream, MediaStreamTrack, RtcPeerConnection, RtcPeerConnectionState, RtcRtpReceiver, RtcRtpTransceiver,
    RtcRtpTransceiverDirection, RtcRtpTransceiverInit, RtcSdpType, RtcSessionDescriptionInit,
};

/// How long the connection may stay `disconnected` before an ICE restart,
/// and how often a restart is tried again while it is not back.
const REPAIR_AFTER: Duration = Duration::from_secs(3);

type Handler = Closure<dyn FnMut(JsValue)>;

/// What the uplink reports to the call.
pub struct Events {
    /// An offer to send to the server.
    pub offer: Box<dyn Fn(ClientMsg)>,
    /// A slot now carries this participant's track (on this receiver).
    pub track: Box<dyn Fn(PeerId, Source, RtcRtpReceiver)>,
    /// The connection's state changed.
    pub state: Box<dyn Fn(Connection)>,
}

pub struct Uplink {
    pc: RtcPeerConnection,
    sending: Vec<(Source, RtcRtpTransceiver)>,
    receiving: RefCell<Vec<RtcRtpTransceiver>>,
    /// The server's latest word on the slots, and what of it was passed on.
    slots: RefCell<Vec<Slot>>,
    shown: RefCell<HashMap<String, (PeerId, Source)>>,
    /// An offer is out and its answer not yet applied; `again` when
    /// another is needed after it.
    negotiating: Cell<bool>,
    again: Cell<bool>,
    restart: Cell<bool>,
    repairing: Cell<bool>,
    /// This participant may send (it is not a lecture's watcher): the
    /// offer names its sending transceivers only then.
    presenting: Cell<bool>,
    events: Events,
    handlers: RefCell<Vec<Handler>>,
}

fn kind_name(source: Source) -> &'static str {
    match source.is_audio() {
        true => "audio",
        false => "video",
    }
}

/// The camera's simulcast layers: the server sends each receiver the one
/// that fits the tile it shows (`server/forward/layers.rs`). Chromium sends
/// at most two layers of a picture under 540 lines (and leaves the rest
/// out, whatever is asked), so a 360p camera (moim's) sends half and
/// whole, and a taller one a quarter, half and whole.
fn layers(height: Option<i32>) -> JsValue {
    let quarter = json!({ "rid": "q", "scaleResolutionDownBy": 4.0, "maxBitrate": 150_000 });
    let half = json!({ "rid": "h", "scaleResolutionDownBy": 2.0, "maxBitrate": 400_000 });
    let whole = json!({ "rid": "f", "maxBitrate": 1_200_000 });
    match height.unwrap_or(360) >= 540 {
        true => js_object(&json!([quarter, half, whole])),
        false => js_object(&json!([half, whole])),
    }
}

impl Uplink {
    pub fn new(
        ice_servers: &[IceServer],
        relay_only: bool,
        local: &LocalTracks,
        screen: Option<&MediaStream>,
        presenting: bool,
        events: Events,
    ) -> Result<Rc<Self>, JsValue> {
        let pc = super::peer::new_connection(ice_servers, relay_only)?;
        let sending = Source::ALL
            .into_iter()
            .map(|source| {
                let init = RtcRtpTransceiverInit::new();
                init.set_direction(RtcRtpTransceiverDirection::Sendonly);
                if source == Source::Camera {
                    let height = local.video.as_ref().and_then(|t| t.get_settings().get_height());
                    let _ = js_sys::Reflect::set(&init, &JsValue::from_str("sendEncodings"), &layers(height));
                }
                let transceiver = pc.add_transceiver_with_str_and_init(kind_name(source), &init);
                (source, transceiver)
            })
            .collect();
        let uplink = Rc::new(Self {
            pc,
            sending,
            receiving: RefCell::default(),
            slots: RefCell::default(),
            shown: RefCell::default(),
            negotiating: Cell::new(false),
            again: Cell::new(false),
            restart: Cell::new(false),
            repairing: Cell::new(false),
            presenting: Cell::new(presenting),
            events,
            handlers: RefCell::default(),
        });
        uplink.replace(Kind::Audio, local.audio.as_ref());
        uplink.replace(Kind::Video, local.video.as_ref());
        uplink.share(screen);
        uplink.listen();
        if let Some(window) = web_sys::window() {
            let _ = js_sys::Reflect::set(&window, &JsValue::from_str("moimUplink"), &uplink.pc);
        }
        uplink.negotiate();
        Ok(uplink)
    }

    fn listen(self: &Rc<Self>) {
        let weak: Weak<Self> = Rc::downgrade(self);
        let handler = Handler::new(move |_| {
            let Some(uplink) = weak.upgrade() else { return };
            let state = uplink.pc.connection_state();
            if matches!(state, RtcPeerConnectionState::Failed | RtcPeerConnectionState::Disconnected) {
                uplink.repair();
            }
            (uplink.events.state)(super::peer::connection(state));
        });
        let _ = self.pc.add_event_listener_with_callback("connectionstatechange", handler.as_ref().unchecked_ref());
        self.handlers.borrow_mut().push(handler);
    }

    /// Restarts ICE if the connection is still not up after a moment, and
    /// again every moment until it is.
    fn repair(self: &Rc<Self>) {
        if self.repairing.replace(true) {
            return;
        }
        let weak = Rc::downgrade(self);
        leptos::prelude::set_timeout(
            move || {
                let Some(uplink) = weak.upgrade() else { return };
                uplink.repairing.set(false);
                let state = uplink.pc.connection_state();
                if matches!(state, RtcPeerConnectionState::Failed | RtcPeerConnectionState::Disconnected) {
                    uplink.restart.set(true);
                    uplink.negotiate();
                    uplink.repair();
                }
            },
            REPAIR_AFTER,
        );
    }

    /// Makes an offer and sends it, unless one is out already (then once
    /// its answer is in).
    pub fn negotiate(self: &Rc<Self>) {
        if self.negotiating.replace(true) {
            self.again.set(true);
            return;
        }
        let uplink = self.clone();
        spawn_local(async move {
            if let Err(err) = uplink.offer().await {
                warn(&format!("moim: offer to the server failed: {}", js_error(&err)));
                uplink.negotiating.set(false);
            }
        });
    }

    async fn offer(&self) -> Result<(), JsValue> {
        if self.restart.take() {
            super::peer::call0(&self.pc, "restartIce")?;
        }
        JsFuture::from(js_sys::Promise::from(super::peer::call0(&self.pc, "setLocalDescription")?)).await?;
        let sdp = self.pc.local_description().map(|d| d.sdp()).unwrap_or_default();
        let sending = match self.presenting.get() {
            true => self
                .sending
                .iter()
                .filter_map(|(source, t)| Some(Published { mid: t.mid()?, source: *source }))
                .collect(),
            false => Vec::new(),
        };
        (self.events.offer)(ClientMsg::ForwardOffer { sdp, sending });
        Ok(())
    }

    /// Applies the server's answer to the offer that is out.
    pub fn answer(self: &Rc<Self>, sdp: String) {
        let uplink = self.clone();
        spawn_local(async move {
            let desc = RtcSessionDescriptionInit::new(RtcSdpType::Answer);
            desc.set_sdp(&sdp);
            if let Err(err) = JsFuture::from(uplink.pc.set_remote_description(&desc)).await {
                warn(&format!("moim: the server's answer does not apply: {}", js_error(&err)));
            }
            uplink.negotiating.set(false);
            uplink.show_slots();
            if uplink.again.take() {
                uplink.negotiate();
            }
        });
    }

    /// The server refused the offer that is out (it could not read it, the
    /// room is no longer forwarded, or this side may no longer send): a
    /// change made since then offers again, else the next one will.
    pub fn refused(self: &Rc<Self>) {
        self.negotiating.set(false);
        if self.again.take() {
            self.negotiate();
        }
    }

    /// Starts or stops naming what this side sends (it became a presenter,
    /// or a watcher), with a new offer.
    pub fn set_presenting(self: &Rc<Self>, presenting: bool) {
        if self.presenting.replace(presenting) != presenting {
            self.negotiate();
        }
    }

    /// Takes the server's word on the slots: makes the receiving
    /// transceivers it asks for, and passes on whose tracks they carry.
    pub fn slots(self: &Rc<Self>, slots: Vec<Slot>, audio: u16, video: u16) {
        *self.slots.borrow_mut() = slots;
        let mut added = false;
        for (kind, wanted) in [("audio", audio), ("video", video)] {
            let wanted = usize::from(wanted.min(crate::protocol::MAX_SLOTS));
            let have = self.receiving.borrow().iter().filter(|t| t.receiver().track().kind() == kind).count();
            for _ in have..wanted {
                let init = RtcRtpTransceiverInit::new();
                init.set_direction(RtcRtpTransceiverDirection::Recvonly);
                let transceiver = self.pc.add_transceiver_with_str_and_init(kind, &init);
                self.receiving.borrow_mut().push(transceiver);
                added = true;
            }
        }
        if added {
            self.negotiate();
        }
        self.show_slots();
    }

    /// Passes on every slot whose track changed hands.
    fn show_slots(&self) {
        let slots = self.slots.borrow().clone();
        for slot in slots {
            let carried = (slot.peer, slot.source);
            if self.shown.borrow().get(&slot.mid) == Some(&carried) {
                continue;
            }
            let transceiver = self.receiving.borrow().iter().find(|t| t.mid().as_ref() == Some(&slot.mid)).cloned();
            if let Some(transceiver) = transceiver {
                self.shown.borrow_mut().insert(slot.mid.clone(), carried);
                (self.events.track)(slot.peer, slot.source, transceiver.receiver());
            }
        }
    }

    fn sender(&self, source: Source) -> Option<&RtcRtpTransceiver> {
        self.sending.iter().find(|(s, _)| *s == source).map(|(_, t)| t)
    }

    /// Sends this camera or microphone track (`None`: nothing).
    pub fn replace(&self, kind: Kind, track: Option<&MediaStreamTrack>) {
        let source = match kind {
            Kind::Audio => Source::Mic,
            Kind::Video => Source::Camera,
        };
        if let Some(t) = self.sender(source) {
            let _ = t.sender().replace_track(track);
        }
    }

    /// Sends a shared screen's picture and sound (`None`: stops).
    pub fn share(&self, screen: Option<&MediaStream>) {
        for (kind, source) in [(Kind::Video, Source::Screen), (Kind::Audio, Source::ScreenAudio)] {
            let track = screen.and_then(|s| super::media::first_track(s, kind));
            if let Some(t) = self.sender(source) {
                let _ = t.sender().replace_track(track.as_ref());
            }
        }
    }

    pub fn state(&self) -> Connection {
        super::peer::connection(self.pc.connection_state())
    }

    pub fn close(&self) {
        self.pc.close();
        for handler in self.handlers.borrow_mut().drain(..) {
            let _ =
                self.pc.remove_event_listener_with_callback("connectionstatechange", handler.as_ref().unchecked_ref());
        }
        if let Some(window) = web_sys::window() {
            let _ = js_sys::Reflect::delete_property(&window, &JsValue::from_str("moimUplink"));
        }
    }
}
