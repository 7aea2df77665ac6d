//! Sharing a screen, or playing a video into the call: either way one more
//! video (and audio) track on every connection, shown to the others as a
//! large tile.
//!
//! A video (a local file, or a recording just made) plays in a `<video>`
//! element of its own, and `captureStream()` turns what it plays into live
//! tracks, sound included. Only one share runs at a time: a screen or a video.

use super::Call;
use crate::app::Notice;
use crate::client::media::Kind;
use crate::client::{js_error, media};
use leptos::{prelude::*, task::spawn_local};
use std::cell::RefCell;
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{HtmlVideoElement, MediaStream, Url};

/// What this participant shares: a screen, or a video played into the call.
#[derive(Default)]
pub(super) struct Shares {
    /// The shared screen (or the played video's stream), while sharing.
    pub(super) screen: RefCell<Option<MediaStream>>,
    /// The video played into the call, while it plays.
    pub(super) playing: RefCell<Option<Playing>>,
}

/// A video being played into the call.
pub(super) struct Playing {
    video: HtmlVideoElement,
    /// An object URL this call made for a picked file, freed at the end.
    owned_url: Option<String>,
}

impl Call {
    /// Asks for a screen and sends it to everyone. A refused or cancelled
    /// picker leaves the call as it was, with a short message.
    pub fn share_screen(&self) {
        if self.0.shares.screen.borrow().is_some() {
            return;
        }
        let this = self.clone();
        spawn_local(async move {
            let stream = match media::capture_screen().await {
                Ok(stream) => stream,
                Err(err) => return this.0.state.notice.set(err.notice()),
            };
            if this.0.left.get() {
                return media::stop(&stream);
            }
            // The browser's own "Stop sharing" ends the track.
            if let Some(track) = media::first_track(&stream, Kind::Video) {
                let ended = this.stopper();
                let _ = track.add_event_listener_with_callback("ended", ended.unchecked_ref());
            }
            this.begin_share(stream);
        });
    }

    /// A handler that stops the share, for the browser to call once.
    fn stopper(&self) -> JsValue {
        let weak = std::rc::Rc::downgrade(&self.0);
        Closure::once_into_js(move || {
            if let Some(inner) = weak.upgrade() {
                Call(inner).stop_sharing();
            }
        })
    }

    fn begin_share(&self, stream: MediaStream) {
        *self.0.shares.screen.borrow_mut() = Some(stream.clone());
        self.each_peer(|peer| peer.share(Some(&stream)));
        self.on_uplink(|u| u.share(Some(&stream)));
        self.0.state.sharing.set(Some(stream));
        self.0.state.notice.set(None);
        self.0.state.media.update(|m| m.screen = true);
        self.announce();
    }

    /// Plays a video file into the call: everyone sees and hears it as it
    /// plays here. It ends by itself at the end of the video.
    pub fn play_file(&self, file: web_sys::File) {
        match Url::create_object_url_with_blob(&file) {
            Ok(url) => self.play_video(url.clone(), file.name(), Some(url)),
            Err(err) => self.0.state.notice.set(Some(Notice::CannotPlay { name: None, why: js_error(&err) })),
        }
    }

    /// Plays the video at `url` (named `name` for the person playing it)
    /// into the call; `owned_url` is freed when it ends.
    pub fn play_video(&self, url: String, name: String, owned_url: Option<String>) {
        let state = self.0.state;
        if self.0.shares.screen.borrow().is_some() {
            state.notice.set(Some(Notice::OneShareAtATime));
            return;
        }
        let Some(video) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.create_element("video").ok())
            .and_then(|e| e.dyn_into::<HtmlVideoElement>().ok())
        else {
            return;
        };
        video.set_src(&url);
        let this = self.clone();
        spawn_local(async move {
            let refuse = |why: String| {
                if let Some(url) = &owned_url {
                    let _ = Url::revoke_object_url(url);
                }
                state.notice.set(Some(Notice::CannotPlay { name: Some(name.clone()), why }));
            };
            let played = match video.play() {
                Ok(promise) => JsFuture::from(promise).await.map(|_| ()),
                Err(err) => Err(err),
            };
            if let Err(err) = played {
                return refuse(js_error(&err));
            }
            // Firefox still names it with its prefix.
            let capture = ["captureStream", "mozCaptureStream"].iter().find_map(|name| {
                js_sys::Reflect::get(&video, &JsValue::from_str(name))
                    .and_then(|f| f.dyn_into::<js_sys::Function>())
                    .and_then(|f| f.call0(&video))
                    .and_then(|s| s.dyn_into::<MediaStream>())
                    .ok()
            });
            let Some(stream) = capture else {
                return refuse("this browser cannot send a playing video".into());
            };
            if this.0.left.get() || this.0.shares.screen.borrow().is_some() {
                let _ = video.pause();
                return refuse("the call has moved on".into());
            }
            let _ = video.add_event_listener_with_callback("ended", this.stopper().unchecked_ref());
            *this.0.shares.playing.borrow_mut() = Some(Playing { video, owned_url });
            this.0.state.playing.set(Some(name));
            this.begin_share(stream);
        });
    }

    /// Stops sharing (a screen or a video), for everyone.
    pub fn stop_sharing(&self) {
        let Some(stream) = self.0.shares.screen.borrow_mut().take() else { return };
        media::stop(&stream);
        if let Some(Playing { video, owned_url }) = self.0.shares.playing.borrow_mut().take() {
            let _ = video.pause();
            video.remove_attribute("src").ok();
            if let Some(url) = owned_url {
                let _ = Url::revoke_object_url(&url);
            }
        }
        let _ = self.0.state.playing.try_set(None);
        self.each_peer(|peer| peer.share(None));
        self.on_uplink(|u| u.share(None));
        let _ = self.0.state.sharing.try_set(None);
        let _ = self.0.state.media.try_update(|m| m.screen = false);
        self.announce();
    }
}
