//! Camera and microphone: capture with plain-language errors, and device lists.
//!
//! Capture asks for both devices at once (one permission prompt), and falls
//! back to either alone when the other is missing, so a laptop without a
//! camera still joins with sound.

use super::js_object;
use crate::app::Device;
use serde_json::json;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    DisplayMediaStreamConstraints, MediaDeviceInfo, MediaDeviceKind, MediaDevices, MediaStream, MediaStreamConstraints,
    MediaStreamTrack,
};

/// Why camera or microphone could not be used, in words a person can act on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    #[error("moim may not use your camera and microphone: permission was denied. Allow them in your browser's address bar and reload the page, or join without them to watch and listen.")]
    Denied,
    #[error("No camera or microphone was found. You can still join to watch and listen.")]
    NotFound,
    #[error("Your camera or microphone is in use by another program, or failed to start. Close the other program and reload, or join without them.")]
    InUse,
    #[error("This browser does not offer camera access on this page (it needs HTTPS or localhost). You can still join to watch and listen.")]
    Unavailable,
    #[error("No camera was found, so you join with sound only.")]
    NoCamera,
    #[error("No microphone was found, so you join with video only.")]
    NoMic,
    #[error("The camera or microphone could not be started ({0}). You can still join to watch and listen.")]
    Other(String),
}

impl MediaError {
    fn from_js(err: JsValue) -> Self {
        let name = err
            .dyn_ref::<web_sys::DomException>()
            .map(|e| e.name())
            .or_else(|| err.dyn_ref::<js_sys::Error>().map(|e| String::from(e.name())))
            .unwrap_or_default();
        match name.as_str() {
            "NotAllowedError" | "SecurityError" | "PermissionDeniedError" => Self::Denied,
            "NotFoundError" | "OverconstrainedError" | "DevicesNotFoundError" => Self::NotFound,
            "NotReadableError" | "AbortError" | "TrackStartError" => Self::InUse,
            _ => Self::Other(super::js_error(&err)),
        }
    }
}

fn devices() -> Result<MediaDevices, MediaError> {
    web_sys::window().and_then(|w| w.navigator().media_devices().ok()).ok_or(MediaError::Unavailable)
}

/// What a track carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Audio,
    Video,
}

impl Kind {
    fn tracks(self, stream: &MediaStream) -> js_sys::Array {
        match self {
            Self::Audio => stream.get_audio_tracks(),
            Self::Video => stream.get_video_tracks(),
        }
    }
}

/// Constraints for one kind: a chosen device, or any. 360p at up to 24 fps
/// keeps a full mesh of several people within a home uplink.
fn constraint(kind: Kind, device: Option<&str>) -> serde_json::Value {
    let mut c = if kind == Kind::Video {
        json!({ "width": { "ideal": 640 }, "height": { "ideal": 360 }, "frameRate": { "ideal": 24, "max": 30 } })
    } else {
        json!({ "echoCancellation": true, "noiseSuppression": true, "autoGainControl": true })
    };
    if let Some(id) = device {
        c["deviceId"] = json!({ "exact": id });
    }
    c
}

async fn get_user_media(audio: Option<Option<&str>>, video: Option<Option<&str>>) -> Result<MediaStream, MediaError> {
    let constraints = MediaStreamConstraints::new();
    match audio {
        Some(device) => constraints.set_audio(&js_object(&constraint(Kind::Audio, device))),
        None => constraints.set_audio_bool(false),
    }
    match video {
        Some(device) => constraints.set_video(&js_object(&constraint(Kind::Video, device))),
        None => constraints.set_video_bool(false),
    }
    let promise = devices()?.get_user_media_with_constraints(&constraints).map_err(MediaError::from_js)?;
    let stream = JsFuture::from(promise).await.map_err(MediaError::from_js)?;
    Ok(stream.unchecked_into())
}

/// Captures camera and microphone (or whichever exists). The error, if any,
/// is the one to show; the stream may still hold one of the two.
pub async fn capture(mic: Option<&str>, camera: Option<&str>) -> (Option<MediaStream>, Option<MediaError>) {
    match get_user_media(Some(mic), Some(camera)).await {
        Ok(stream) => (Some(stream), None),
        Err(MediaError::NotFound) | Err(MediaError::InUse) | Err(MediaError::Other(_)) => {
            // One of the two may work alone.
            if let Ok(stream) = get_user_media(Some(mic), None).await {
                return (Some(stream), Some(MediaError::NoCamera));
            }
            if let Ok(stream) = get_user_media(None, Some(camera)).await {
                return (Some(stream), Some(MediaError::NoMic));
            }
            (None, Some(MediaError::NotFound))
        }
        Err(err) => (None, Some(err)),
    }
}

/// Opens one device of one kind, for switching or turning the camera back on.
pub async fn capture_one(kind: Kind, device: Option<&str>) -> Result<MediaStreamTrack, MediaError> {
    let stream = match kind {
        Kind::Video => get_user_media(None, Some(device)).await?,
        Kind::Audio => get_user_media(Some(device), None).await?,
    };
    first_track(&stream, kind).ok_or(MediaError::NotFound)
}

/// Why no screen could be shared.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScreenError {
    #[error("Screen sharing was cancelled.")]
    Cancelled,
    #[error("This browser cannot share a screen here.")]
    Unavailable,
    #[error("The screen could not be shared ({0}).")]
    Other(String),
}

/// Asks the browser for a screen, window or tab, with its sound when the
/// browser offers it. 15 frames a second keep text sharp at modest bitrates.
pub async fn capture_screen() -> Result<MediaStream, ScreenError> {
    let devices = devices().map_err(|_| ScreenError::Unavailable)?;
    let constraints = DisplayMediaStreamConstraints::new();
    constraints.set_video(&js_object(&json!({ "frameRate": { "ideal": 15, "max": 30 } })));
    constraints.set_audio(&JsValue::TRUE);
    let classify = |err: JsValue| match err.dyn_ref::<web_sys::DomException>().map(|e| e.name()).as_deref() {
        Some("NotAllowedError" | "AbortError") => ScreenError::Cancelled,
        Some("NotSupportedError" | "InvalidStateError") => ScreenError::Unavailable,
        _ => ScreenError::Other(super::js_error(&err)),
    };
    let promise = devices.get_display_media_with_constraints(&constraints).map_err(classify)?;
    Ok(JsFuture::from(promise).await.map_err(classify)?.unchecked_into())
}

/// The cameras and microphones the browser lists (with labels once access is granted).
pub async fn list() -> (Vec<Device>, Vec<Device>) {
    let Ok(promise) = devices().and_then(|d| d.enumerate_devices().map_err(MediaError::from_js)) else {
        return (Vec::new(), Vec::new());
    };
    let Ok(infos) = JsFuture::from(promise).await else { return (Vec::new(), Vec::new()) };
    let (mut cameras, mut mics) = (Vec::new(), Vec::new());
    for info in js_sys::Array::from(&infos).iter() {
        let Ok(info) = info.dyn_into::<MediaDeviceInfo>() else { continue };
        let list = match info.kind() {
            MediaDeviceKind::Videoinput => &mut cameras,
            MediaDeviceKind::Audioinput => &mut mics,
            _ => continue,
        };
        if info.device_id().is_empty() {
            continue;
        }
        let label = match info.label() {
            l if l.is_empty() => format!("Device {}", list.len() + 1),
            l => l,
        };
        list.push(Device { id: info.device_id(), label });
    }
    (cameras, mics)
}

/// Stops every track of a stream, which turns the camera light off.
pub fn stop(stream: &MediaStream) {
    for track in stream.get_tracks().iter() {
        if let Ok(track) = track.dyn_into::<MediaStreamTrack>() {
            track.stop();
        }
    }
}

/// The first track of a kind in a stream.
pub fn first_track(stream: &MediaStream, kind: Kind) -> Option<MediaStreamTrack> {
    kind.tracks(stream).get(0).dyn_into().ok()
}

/// The device a track was opened on.
pub fn device_id(track: &MediaStreamTrack) -> Option<String> {
    let settings = track.get_settings();
    js_sys::Reflect::get(&settings, &JsValue::from_str("deviceId")).ok()?.as_string()
}
