//! How much camera video each connection sends, by the size of the call.
//!
//! In a full mesh every browser encodes its camera once per peer and
//! decodes every peer's, so its work and its uplink grow with the call.
//! Caps per number of peers keep every picture moving: a call of two gets
//! the capture's full rate, a call of four trades frame rate and bitrate
//! for smoothness (`make bench`, section 5: four browsers on two cores).
//! The screen share is left alone: it is one stream, and text needs its bits.

use super::Peer;
use crate::client::{js_error, warn};
use js_sys::{Array, Function, Promise, Reflect};
use leptos::task::spawn_local;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// What one camera sender may use.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VideoLimits {
    /// Bits per second.
    pub max_bitrate: u32,
    pub max_framerate: f64,
}

impl VideoLimits {
    /// The limits for a call in which this browser has `peers` connections.
    pub fn for_peers(peers: usize) -> Self {
        match peers {
            0 | 1 => Self { max_bitrate: 1_000_000, max_framerate: 30.0 },
            2 => Self { max_bitrate: 600_000, max_framerate: 24.0 },
            _ => Self { max_bitrate: 400_000, max_framerate: 20.0 },
        }
    }
}

impl Peer {
    /// Sets the camera sender's limits now, or once the connection has its
    /// transceivers.
    pub fn limit_video(&self, limits: VideoLimits) {
        self.limits.set(Some(limits));
        if self.ready.get() {
            self.apply_limits();
        }
    }

    pub(super) fn apply_limits(&self) {
        let Some(limits) = self.limits.get() else { return };
        let Some(sender) = self.senders.borrow().as_ref().map(|(_, video)| video.clone()) else { return };
        // Through Reflect: web-sys gates these behind dictionary types that
        // would add nothing here.
        let call = |name: &str, args: &Array| -> Result<JsValue, JsValue> {
            Reflect::get(&sender, &name.into())?.dyn_into::<Function>()?.apply(&sender, args)
        };
        let result = (|| {
            let params = call("getParameters", &Array::new())?;
            let encodings: Array = Reflect::get(&params, &"encodings".into())?.dyn_into()?;
            if encodings.length() == 0 {
                return Ok(None);
            }
            for encoding in encodings.iter() {
                Reflect::set(&encoding, &"maxBitrate".into(), &limits.max_bitrate.into())?;
                Reflect::set(&encoding, &"maxFramerate".into(), &limits.max_framerate.into())?;
            }
            call("setParameters", &Array::of1(&params))?.dyn_into::<Promise>().map(Some)
        })();
        let id = self.id;
        match result {
            Ok(Some(promise)) => spawn_local(async move {
                if let Err(err) = JsFuture::from(promise).await {
                    warn(&format!("moim: cannot limit the video to {id}: {}", js_error(&err)));
                }
            }),
            Ok(None) => {}
            Err(err) => warn(&format!("moim: cannot limit the video to {id}: {}", js_error(&err))),
        }
    }
}
