//! Camera and microphone during the call: mute, camera off and on, and
//! switching devices, all through `replaceTrack` on the existing senders.

use super::Call;
use crate::client::media;
use crate::client::media::Kind;
use leptos::{prelude::*, task::spawn_local};
use std::cell::{Cell, RefCell};
use web_sys::{MediaStream, MediaStreamTrack};

/// This participant's camera and microphone.
pub(super) struct Local {
    /// The local stream; its tracks are what every peer sends.
    pub(super) stream: RefCell<Option<MediaStream>>,
    /// The prejoin capture of camera and microphone is still running.
    pub(super) capturing: Cell<bool>,
    /// Join was pressed during that capture: join when it ends, with the
    /// devices (joining without them would send the others nothing).
    pub(super) join_pending: Cell<bool>,
}

impl Local {
    /// As a call starts: capturing.
    pub(super) fn capturing() -> Self {
        Self { stream: RefCell::default(), capturing: Cell::new(true), join_pending: Cell::new(false) }
    }
}

impl Call {
    /// Mutes or unmutes the microphone. A muted track stays open and sends
    /// silence, so unmuting is instant.
    pub fn set_audio(&self, on: bool) {
        let Some(track) = self.track(Kind::Audio) else {
            if on {
                // Released (a lecture's watcher who now presents): open it.
                self.open(Kind::Audio);
            }
            return;
        };
        track.set_enabled(on);
        self.0.state.media.update(|m| m.audio = on);
        self.announce();
    }

    /// Stops sending anything, and lets go of camera, microphone and
    /// screen (their lights go off): a lecture's watcher.
    pub(super) fn stop_sending(&self) {
        if self.0.shares.screen.borrow().is_some() {
            self.stop_sharing();
        }
        self.drop_camera();
        if let Some(track) = self.track(Kind::Audio) {
            track.stop();
            if let Some(stream) = self.0.local.stream.borrow().as_ref() {
                stream.remove_track(&track);
            }
            self.each_peer(|p| p.replace(Kind::Audio, None));
            self.on_uplink(|u| u.replace(Kind::Audio, None));
            self.0.state.local.update(|_| {});
        }
        let media = self.0.state.media.get_untracked();
        if media.audio || media.video {
            self.0.state.media.update(|m| (m.audio, m.video) = (false, false));
            self.announce();
        }
    }

    /// Turns the camera off (released, light off) or on again.
    pub fn set_video(&self, on: bool) {
        if !on {
            self.drop_camera();
            self.0.state.media.update(|m| m.video = false);
            self.announce();
            return;
        }
        self.open(Kind::Video);
    }

    /// Opens the chosen camera or microphone and sends it.
    fn open(&self, kind: Kind) {
        let this = self.clone();
        spawn_local(async move {
            let state = this.0.state;
            let device = match kind {
                Kind::Video => state.camera_id.get_untracked(),
                Kind::Audio => state.mic_id.get_untracked(),
            };
            match media::capture_one(kind, device.as_deref()).await {
                Ok(track) => {
                    state.media.update(|m| match kind {
                        Kind::Video => m.video = true,
                        Kind::Audio => m.audio = true,
                    });
                    this.put_track(kind, track);
                    this.announce();
                }
                Err(err) => state.notice.set(Some(err.into())),
            }
        });
    }

    pub(super) fn drop_camera(&self) {
        if let Some(track) = self.track(Kind::Video) {
            track.stop();
            if let Some(stream) = self.0.local.stream.borrow().as_ref() {
                stream.remove_track(&track);
            }
            self.each_peer(|p| p.replace(Kind::Video, None));
            self.on_uplink(|u| u.replace(Kind::Video, None));
            self.0.state.local.update(|_| {});
        }
    }

    /// Puts a new camera or microphone track in place of the old one, in the
    /// preview and on every connection.
    fn put_track(&self, kind: Kind, track: MediaStreamTrack) {
        let stream = self.0.local.stream.borrow().clone();
        let stream = match stream {
            Some(stream) => stream,
            None => match MediaStream::new() {
                Ok(stream) => {
                    *self.0.local.stream.borrow_mut() = Some(stream.clone());
                    stream
                }
                Err(_) => return,
            },
        };
        if let Some(old) = media::first_track(&stream, kind) {
            old.stop();
            stream.remove_track(&old);
        }
        if kind == Kind::Audio {
            track.set_enabled(self.0.state.media.get_untracked().audio);
        }
        stream.add_track(&track);
        self.each_peer(|p| p.replace(kind, Some(&track)));
        self.on_uplink(|u| u.replace(kind, Some(&track)));
        // Re-set so the preview element picks up the changed stream.
        self.0.state.local.set(None);
        self.0.state.local.set(Some(stream));
    }

    fn switch(&self, kind: Kind, id: String) {
        let state = self.0.state;
        let chosen = match kind {
            Kind::Video => state.camera_id,
            Kind::Audio => state.mic_id,
        };
        chosen.set(Some(id.clone()));
        if kind == Kind::Video && self.track(Kind::Video).is_none() {
            return; // the camera is off; it opens on this device when turned on
        }
        let this = self.clone();
        spawn_local(async move {
            match media::capture_one(kind, Some(&id)).await {
                Ok(track) => this.put_track(kind, track),
                Err(err) => state.notice.set(Some(err.into())),
            }
        });
    }

    /// Switches to another camera, on every connection via `replaceTrack`.
    pub fn use_camera(&self, id: String) {
        self.switch(Kind::Video, id);
    }

    /// Switches to another microphone, keeping the mute state.
    pub fn use_mic(&self, id: String) {
        self.switch(Kind::Audio, id);
    }

    /// Plays the others' sound into another speaker.
    pub fn use_speaker(&self, id: String) {
        self.0.state.speaker_id.set(Some(id.clone()));
        media::use_speaker(id);
    }

    /// The next camera in the browser's list: front to back on a phone.
    pub fn flip_camera(&self) {
        let state = self.0.state;
        let next = state.cameras.with_untracked(|all| {
            let now = state.camera_id.get_untracked();
            let at = all.iter().position(|d| Some(&d.id) == now.as_ref()).map_or(0, |i| i + 1);
            all.get(at % all.len().max(1)).map(|d| d.id.clone())
        });
        if let Some(id) = next {
            self.use_camera(id);
        }
    }
}
