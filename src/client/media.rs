//! Camera and microphone: capture with plain-language errors, and device lists.
//!
//! Capture asks for both devices at once (one permission prompt), and falls
//! back to either alone when the other is missing, so a laptop without a
//! camera still joins with sound.

use super::js_object;
use crate::app::{Device, Notice};
use serde_json::json;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    DisplayMediaStreamConstraints, MediaDeviceInfo, MediaDeviceKind, MediaDevices, MediaStream, MediaStreamConstraints,
    MediaStreamTrack,
};

/// Why camera or microphone could not be used; the page words it
/// ([`Notice`]) so a person can act on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MediaError {
    Denied,
    NotFound,
    InUse,
    /// No `getUserMedia` on this page (it needs HTTPS or localhost).
    Unavailable,
    NoCamera,
    NoMic,
    Other(String),
}

impl From<MediaError> for Notice {
    fn from(err: MediaError) -> Self {
        match err {
            MediaError::Denied => Notice::MediaDenied,
            MediaError::NotFound => Notice::NoDevices,
            MediaError::InUse => Notice::DeviceBusy,
            MediaError::Unavailable => Notice::InsecurePage,
            MediaError::NoCamera => Notice::NoCamera,
            MediaError::NoMic => Notice::NoMic,
            MediaError::Other(why) => Notice::MediaFailed(why),
        }
    }
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
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScreenError {
    /// The person closed the picker: nothing to tell them.
    Cancelled,
    Unavailable,
    Other(String),
}

impl ScreenError {
    pub fn notice(self) -> Option<Notice> {
        match self {
            Self::Cancelled => None,
            Self::Unavailable => Some(Notice::ShareUnavailable),
            Self::Other(why) => Some(Notice::ShareFailed(why)),
        }
    }
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

/// The devices the browser lists, by kind.
#[derive(Default)]
pub struct Devices {
    pub cameras: Vec<Device>,
    pub mics: Vec<Device>,
    /// Empty where the browser cannot route sound (`setSinkId`).
    pub speakers: Vec<Device>,
}

/// The cameras, microphones and speakers the browser lists (labelled once
/// access is granted; the page names unlabelled ones by number).
pub async fn list() -> Devices {
    let mut found = Devices::default();
    let Ok(promise) = devices().and_then(|d| d.enumerate_devices().map_err(MediaError::from_js)) else {
        return found;
    };
    let Ok(infos) = JsFuture::from(promise).await else { return found };
    let can_route = can_route_sound();
    for info in js_sys::Array::from(&infos).iter() {
        let Ok(info) = info.dyn_into::<MediaDeviceInfo>() else { continue };
        let list = match info.kind() {
            MediaDeviceKind::Videoinput => &mut found.cameras,
            MediaDeviceKind::Audioinput => &mut found.mics,
            MediaDeviceKind::Audiooutput if can_route => &mut found.speakers,
            _ => continue,
        };
        if info.device_id().is_empty() {
            continue;
        }
        list.push(Device { id: info.device_id(), label: info.label() });
    }
    found
}

thread_local! {
    /// The speaker chosen in Settings; `None` is the system's default.
    static SPEAKER: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Whether this browser can play into a chosen speaker.
fn can_route_sound() -> bool {
    let prototype = js_sys::Reflect::get(&js_sys::global(), &"HTMLMediaElement".into())
        .and_then(|class| js_sys::Reflect::get(&class, &"prototype".into()));
    prototype.is_ok_and(|p| js_sys::Reflect::has(&p, &"setSinkId".into()).unwrap_or(false))
}

/// Plays every remote sound into `id` from now on.
pub fn use_speaker(id: String) {
    SPEAKER.with(|speaker| *speaker.borrow_mut() = Some(id));
    let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
    if let Ok(all) = document.query_selector_all("video") {
        for i in 0..all.length() {
            if let Some(el) = all.get(i).and_then(|n| n.dyn_into::<web_sys::HtmlMediaElement>().ok()) {
                route_sound(&el);
            }
        }
    }
}

/// Sends an element's sound to the chosen speaker (`setSinkId`, through
/// Reflect: web-sys has it only behind its unstable APIs).
pub fn route_sound(el: &web_sys::HtmlMediaElement) {
    let Some(id) = SPEAKER.with(|speaker| speaker.borrow().clone()) else { return };
    let set = js_sys::Reflect::get(el, &"setSinkId".into()).ok().and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    if let Some(set) = set {
        if let Ok(promise) = set.call1(el, &JsValue::from_str(&id)) {
            if let Ok(promise) = promise.dyn_into::<js_sys::Promise>() {
                wasm_bindgen_futures::spawn_local(async move {
                    let _ = JsFuture::from(promise).await;
                });
            }
        }
    }
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
