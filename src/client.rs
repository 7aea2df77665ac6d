//! The browser side of a call (feature `hydrate`).
//!
//! [`Call`] is what the room page holds: it captures the local camera and
//! microphone, connects to the signaling server, keeps one [`peer::Peer`] per
//! remote participant, and writes everything the page shows into
//! [`crate::app::CallState`].

pub mod call;
pub mod media;
pub mod peer;
pub mod recorder;
pub mod signaling;
pub mod uplink;
pub mod upload;

pub use call::Call;

use wasm_bindgen::JsValue;

/// Turns a JSON value into the equivalent JavaScript object, for the
/// dictionary arguments (constraints, RTCConfiguration) that web-sys models
/// loosely.
pub(crate) fn js_object(value: &serde_json::Value) -> JsValue {
    js_sys::JSON::parse(&value.to_string()).unwrap_or(JsValue::UNDEFINED)
}

/// A readable line from a JavaScript error, for logs.
pub(crate) fn js_error(err: &JsValue) -> String {
    if let Some(err) = err.dyn_ref::<js_sys::Error>() {
        return format!("{}: {}", err.name(), err.message());
    }
    err.as_string().unwrap_or_else(|| format!("{err:?}"))
}

use wasm_bindgen::JsCast;

pub(crate) fn warn(text: &str) {
    web_sys::console::warn_1(&JsValue::from_str(text));
}

/// Waits without blocking the page.
pub(crate) async fn sleep(pause: std::time::Duration) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, pause.as_millis() as i32);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
