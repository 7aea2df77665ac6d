//! The websocket to the signaling server, on the page's own origin.
//!
//! Frames are the typed [`crate::protocol`] messages. A keepalive ping every
//! 15 s keeps proxies from closing a quiet socket and lets the server drop
//! dead ones. Dropping a [`Socket`] closes it and removes its handlers.

use crate::protocol::{ClientMsg, ServerMsg};
use leptos::prelude::{set_interval_with_handle, IntervalHandle};
use std::time::Duration;
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use web_sys::{CloseEvent, MessageEvent, WebSocket};

pub struct Socket {
    ws: WebSocket,
    ping: Option<IntervalHandle>,
    // Kept alive as long as the socket; dropping them would leave the
    // browser calling freed closures.
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

/// `ws://host/ws` or `wss://host/ws` for the current page.
fn url() -> Result<String, JsValue> {
    let location = web_sys::window().ok_or("no window")?.location();
    let scheme = if location.protocol()? == "https:" { "wss" } else { "ws" };
    Ok(format!("{scheme}://{}/ws", location.host()?))
}

impl Socket {
    /// Connects; `on_open` runs once connected, `on_message` for every
    /// server message, `on_close` with the close code and reason.
    pub fn connect(
        on_open: impl FnMut() + 'static,
        mut on_message: impl FnMut(ServerMsg) + 'static,
        mut on_close: impl FnMut(u16, String) + 'static,
    ) -> Result<Self, JsValue> {
        let ws = WebSocket::new(&url()?)?;
        let on_open = Closure::<dyn FnMut()>::new(on_open);
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            let Some(text) = ev.data().as_string() else { return };
            match ServerMsg::decode(&text) {
                Ok(msg) => on_message(msg),
                Err(err) => super::warn(&format!("moim: unreadable signaling message: {err}")),
            }
        });
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |ev: CloseEvent| on_close(ev.code(), ev.reason()));
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        let pinger = ws.clone();
        let ping = set_interval_with_handle(
            move || {
                if pinger.ready_state() == WebSocket::OPEN {
                    let _ = pinger.send_with_str(&ClientMsg::Ping.encode());
                }
            },
            Duration::from_secs(15),
        )
        .ok();
        Ok(Self { ws, ping, _on_open: on_open, _on_message: on_message, _on_close: on_close })
    }

    /// Sends a message; false if the socket is not open (the caller decides
    /// whether that matters: signals are re-made after a reconnect).
    pub fn send(&self, msg: &ClientMsg) -> bool {
        self.ws.ready_state() == WebSocket::OPEN && self.ws.send_with_str(&msg.encode()).is_ok()
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        if let Some(ping) = self.ping.take() {
            ping.clear();
        }
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}
