//! The call in a forwarded room: one connection to the server (the
//! uplink, `client/uplink.rs`) in place of one per person.
//!
//! A room that grows past the mesh moves while people talk. Each tile
//! keeps showing what the mesh connection brings until the same person's
//! forwarded picture (or, with their camera off, their sound) has arrived;
//! only then does the tile take the forwarded tracks and the mesh
//! connection to that person close. Nobody's tile goes dark for the move.

use super::{upgrade, with_call, Call};
use crate::{
    app::{Connection, Remote},
    client::{
        media::Kind,
        uplink::{Events, Uplink},
        warn,
    },
    protocol::{ClientMsg, PeerId, RoomMode, Source},
};

/// How often the size of the tiles is looked at.
const VIEW_CHECK: std::time::Duration = std::time::Duration::from_secs(1);
use leptos::{prelude::*, task::spawn_local};
use std::{cell::RefCell, collections::HashMap, rc::Rc};
use wasm_bindgen::{closure::Closure, JsCast};
use wasm_bindgen_futures::JsFuture;
use web_sys::{MediaStream, MediaStreamTrack, RtcRtpReceiver};

/// The forwarded side of a call.
#[derive(Default)]
pub(super) struct Forwarded {
    pub(super) mode: std::cell::Cell<RoomMode>,
    pub(super) uplink: RefCell<Option<Rc<Uplink>>>,
    /// Each participant's forwarded tracks, by source.
    tracks: RefCell<HashMap<PeerId, HashMap<Source, MediaStreamTrack>>>,
    /// How big each camera tile was last said to be, and the timer that
    /// looks again (see [`Call::report_views`]).
    views: RefCell<HashMap<PeerId, (u16, u16)>>,
    timer: RefCell<Option<IntervalHandle>>,
    /// Checks since the sizes were last all said again.
    checks: std::cell::Cell<u32>,
}

impl Call {
    pub(super) fn forwarded(&self) -> bool {
        self.0.forwarded.mode.get() == RoomMode::Forwarded
    }

    pub(super) fn on_uplink(&self, f: impl FnOnce(&Rc<Uplink>)) {
        if let Some(uplink) = self.0.forwarded.uplink.borrow().as_ref() {
            f(uplink);
        }
    }

    /// The room's media moves (or has moved) to the server: connect to it.
    /// `fresh`: the server has no connection of ours (a first join, or it
    /// restarted), so an old uplink is replaced.
    pub(super) fn forward(&self, fresh: bool) {
        self.0.forwarded.mode.set(RoomMode::Forwarded);
        self.0.state.forwarded.set(true);
        if fresh {
            if let Some(old) = self.0.forwarded.uplink.borrow_mut().take() {
                old.close();
            }
        }
        if self.0.forwarded.uplink.borrow().is_some() {
            return;
        }
        let weak = Rc::downgrade(&self.0);
        let events = Events {
            offer: with_call(&weak, |call, msg| call.send_signal(msg)),
            track: {
                let weak = weak.clone();
                Box::new(move |peer, source, track| {
                    if let Some(call) = upgrade(&weak) {
                        call.forwarded_track(peer, source, track);
                    }
                })
            },
            state: with_call(&weak, |call, state| call.uplink_state(state)),
        };
        let ice = self.0.link.ice_servers.borrow().clone();
        let screen = self.0.shares.screen.borrow().clone();
        let presenting = untrack(|| self.0.state.may_present(None));
        let relay_only = self.0.link.relay_only.get();
        match Uplink::new(&ice, relay_only, &self.local_tracks(), screen.as_ref(), presenting, events) {
            Ok(uplink) => {
                *self.0.forwarded.uplink.borrow_mut() = Some(uplink);
                self.0.forwarded.views.borrow_mut().clear();
                let weak = Rc::downgrade(&self.0);
                let timer = set_interval_with_handle(
                    move || {
                        if let Some(call) = upgrade(&weak) {
                            call.report_views();
                        }
                    },
                    VIEW_CHECK,
                );
                if let Some(old) = self.0.forwarded.timer.replace(timer.ok()) {
                    old.clear();
                }
            }
            Err(err) => warn(&format!("moim: cannot connect to the server's media: {}", crate::client::js_error(&err))),
        }
    }

    /// A slot now carries `peer`'s track from `source`.
    fn forwarded_track(&self, peer: PeerId, source: Source, receiver: RtcRtpReceiver) {
        let track = receiver.track();
        self.0.forwarded.tracks.borrow_mut().entry(peer).or_default().insert(source, track.clone());
        let Some(remote) = self.0.state.remote(peer) else { return };
        let meshed = self.meshed(peer);
        if !meshed {
            return self.show_forwarded(remote);
        }
        // Still on the mesh: move once this track brings something, if it
        // is the one that shows the person: their camera once a frame of it
        // is decoded (packets come before the first keyframe, and a tile
        // moved then would stand still), or their sound while their camera
        // is off.
        let weak = Rc::downgrade(&self.0);
        if source == Source::Camera {
            spawn_local(async move {
                decoded(&receiver).await;
                if let Some(call) = upgrade(&weak) {
                    if let Some(remote) = call.0.state.remote(peer).filter(|_| call.meshed(peer)) {
                        call.show_forwarded(remote);
                    }
                }
            });
            return;
        }
        if source != Source::Mic || remote.media.get_untracked().video {
            return;
        }
        if !track.muted() {
            return self.show_forwarded(remote);
        }
        let once = Closure::once_into_js(move || {
            if let Some(call) = upgrade(&weak) {
                if let Some(remote) = call.0.state.remote(peer) {
                    call.show_forwarded(remote);
                }
            }
        });
        track.set_onunmute(Some(once.unchecked_ref()));
    }

    /// Shows `remote` from its forwarded tracks, and ends the mesh
    /// connection to it if there is one.
    pub(super) fn show_forwarded(&self, remote: Remote) {
        let tracks = self.0.forwarded.tracks.borrow().get(&remote.id).cloned().unwrap_or_default();
        for (source, track) in &tracks {
            track.set_onunmute(None);
            let target = match source {
                Source::Mic | Source::Camera => remote.stream,
                Source::Screen | Source::ScreenAudio if remote.media.get_untracked().screen => remote.screen,
                Source::Screen | Source::ScreenAudio => continue,
            };
            put_track(target, track);
        }
        if self.meshed(remote.id) {
            if let Some(peer) = self.0.peers.borrow_mut().remove(&remote.id) {
                peer.close();
            }
        }
        if let Some(uplink) = self.0.forwarded.uplink.borrow().as_ref() {
            remote.connection.set(uplink.state());
        }
    }

    /// A participant started sharing again: their screen's slot is known.
    pub(super) fn show_forwarded_screen(&self, remote: Remote) {
        if !self.forwarded() || self.meshed(remote.id) {
            return;
        }
        let tracks = self.0.forwarded.tracks.borrow().get(&remote.id).cloned().unwrap_or_default();
        for source in [Source::Screen, Source::ScreenAudio] {
            if let Some(track) = tracks.get(&source) {
                put_track(remote.screen, track);
            }
        }
    }

    /// Every tile shown through the server follows the uplink's state.
    fn uplink_state(&self, state: Connection) {
        let meshed: Vec<PeerId> = self.0.peers.borrow().values().filter(|p| !p.data_only()).map(|p| p.id).collect();
        self.0.state.remotes.with_untracked(|all| {
            for remote in all.iter().filter(|r| !meshed.contains(&r.id)) {
                remote.connection.set(state);
            }
        });
    }

    /// Whether `peer`'s media still comes over a mesh connection.
    fn meshed(&self, peer: PeerId) -> bool {
        self.0.peers.borrow().get(&peer).is_some_and(|p| !p.data_only())
    }

    /// A connection to `peer` for files, made if there is none.
    pub(super) fn files_peer(&self, peer: PeerId) -> Option<Rc<crate::client::peer::Peer>> {
        let existing = self.0.peers.borrow().get(&peer).cloned();
        existing.or_else(|| self.open_peer(peer, true))
    }

    pub(super) fn forget_forwarded(&self, peer: PeerId) {
        self.0.forwarded.tracks.borrow_mut().remove(&peer);
    }

    /// Tells the server how big each forwarded camera tile shows now, when
    /// that changed by a fifth or more (and every few seconds anyway, so a
    /// word the server could not use yet is said again): it picks the
    /// layer to send by it.
    fn report_views(&self) {
        let checks = self.0.forwarded.checks.get().wrapping_add(1);
        self.0.forwarded.checks.set(checks);
        if checks.is_multiple_of(5) {
            self.0.forwarded.views.borrow_mut().clear();
        }
        let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
        let scale = web_sys::window().map_or(1.0, |w| w.device_pixel_ratio());
        let ids: Vec<PeerId> = self.0.state.remotes.with_untracked(|all| all.iter().map(|r| r.id).collect());
        for peer in ids.into_iter().filter(|peer| !self.meshed(*peer)) {
            let selector = format!(".tile[data-peer=\"{peer}\"] video");
            let size = match document.query_selector(&selector).ok().flatten() {
                Some(video) => {
                    let rect = video.get_bounding_client_rect();
                    let px = |v: f64| (v * scale).round().clamp(0.0, 8192.0) as u16;
                    (px(rect.width()), px(rect.height()))
                }
                None => (0, 0),
            };
            let last = self.0.forwarded.views.borrow().get(&peer).copied();
            let moved = last.is_none_or(|(_, h)| {
                let (h, now) = (f64::from(h), f64::from(size.1));
                (now - h).abs() > h.max(1.0) / 5.0
            });
            if moved {
                self.0.forwarded.views.borrow_mut().insert(peer, size);
                self.send(&ClientMsg::ForwardView { peer, width: size.0, height: size.1 });
            }
        }
    }

    pub(super) fn close_uplink(&self) {
        if let Some(timer) = self.0.forwarded.timer.borrow_mut().take() {
            timer.clear();
        }
        if let Some(uplink) = self.0.forwarded.uplink.borrow_mut().take() {
            uplink.close();
        }
        self.0.forwarded.tracks.borrow_mut().clear();
        let _ = self.0.state.forwarded.try_set(false);
    }
}

/// Returns once the receiver has decoded a frame, or after a few seconds
/// (a camera that sends nothing must not hold the move up for ever).
async fn decoded(receiver: &RtcRtpReceiver) {
    for _ in 0..50 {
        if let Ok(report) = JsFuture::from(receiver.get_stats()).await {
            let mut frames = 0.0;
            report.unchecked_into::<js_sys::Map>().for_each(&mut |stats, _| {
                let decoded = js_sys::Reflect::get(&stats, &"framesDecoded".into()).ok().and_then(|n| n.as_f64());
                frames += decoded.unwrap_or(0.0);
            });
            if frames > 0.0 {
                return;
            }
        }
        crate::client::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Puts a track in one of a participant's streams in place of the one of
/// its kind, so its tile plays it. A track swapped in a stream that plays
/// already is taken up by the `<video>` as it is; setting the stream again
/// would make the element load it anew, and stand still meanwhile.
fn put_track(stream: RwSignal<Option<MediaStream>, LocalStorage>, track: &MediaStreamTrack) {
    let current = stream.get_untracked().or_else(|| MediaStream::new().ok());
    let Some(current) = current else { return };
    let kind = if track.kind() == "audio" { Kind::Audio } else { Kind::Video };
    let old = crate::client::media::first_track(&current, kind);
    if old.as_ref().is_some_and(|old| old.id() == track.id()) {
        return;
    }
    if let Some(old) = &old {
        current.remove_track(old);
    }
    current.add_track(track);
    if old.is_none() {
        stream.set(None);
        stream.set(Some(current));
    }
}
