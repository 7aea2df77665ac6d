//! Sharing a screen: one more video (and audio) track on every connection.

use super::Call;
use crate::client::media;
use leptos::{prelude::*, task::spawn_local};
use wasm_bindgen::{closure::Closure, JsCast};

impl Call {
    /// Asks for a screen and sends it to everyone. A refused or cancelled
    /// picker leaves the call as it was, with a short message.
    pub fn share_screen(&self) {
        if self.0.screen.borrow().is_some() {
            return;
        }
        let this = self.clone();
        spawn_local(async move {
            let stream = match media::capture_screen().await {
                Ok(stream) => stream,
                Err(err) => return this.0.state.notice.set(Some(err.to_string())),
            };
            if this.0.left.get() {
                return media::stop(&stream);
            }
            // The browser's own "Stop sharing" ends the track.
            if let Some(track) = media::first_track(&stream, true) {
                let weak = std::rc::Rc::downgrade(&this.0);
                let ended = Closure::once_into_js(move || {
                    if let Some(inner) = weak.upgrade() {
                        Call(inner).stop_sharing();
                    }
                });
                let _ = track.add_event_listener_with_callback("ended", ended.unchecked_ref());
            }
            *this.0.screen.borrow_mut() = Some(stream.clone());
            this.each_peer(|peer| peer.share(Some(&stream)));
            this.0.state.sharing.set(Some(stream));
            this.0.state.notice.set(None);
            this.0.state.media.update(|m| m.screen = true);
            this.announce();
        });
    }

    /// Stops sharing, for everyone.
    pub fn stop_sharing(&self) {
        let Some(stream) = self.0.screen.borrow_mut().take() else { return };
        media::stop(&stream);
        self.each_peer(|peer| peer.share(None));
        let _ = self.0.state.sharing.try_set(None);
        let _ = self.0.state.media.try_update(|m| m.screen = false);
        self.announce();
    }
}
