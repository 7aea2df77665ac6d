//! One websocket to the signaling server, on the page's own origin.
//!
//! Frames are the typed [`crate::protocol`] messages. A keepalive ping every
//! 10 s keeps proxies from closing a quiet socket and lets the server drop
//! dead ones; the pongs let this side notice a dead socket too. A socket that
//! has heard nothing for [`SILENCE`] is given up at once rather than after
//! the browser's own TCP timeout, which can take minutes: the call then
//! reconnects (see [`crate::client::call`]).
//!
//! `on_close` runs exactly once per socket. Dropping a [`Socket`] closes it
//! and removes its handlers without running `on_close`.

use crate::protocol::{ClientMsg, CloseCode, Encode, ServerMsg};
use leptos::prelude::{set_interval_with_handle, IntervalHandle};
use std::{cell::RefCell, rc::Rc, time::Duration};
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use web_sys::{CloseEvent, MessageEvent, WebSocket};

const PING_EVERY: Duration = Duration::from_secs(10);
/// Two missed pongs and a half.
const SILENCE: f64 = 25_000.0;

type OnClose = Rc<RefCell<Option<Box<dyn FnOnce(u16, String)>>>>;

pub struct Socket {
    ws: WebSocket,
    ping: Option<IntervalHandle>,
    on_close_cb: OnClose,
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
    /// server message, `on_close` once with the close code and reason.
    pub fn connect(
        on_open: impl FnMut() + 'static,
        mut on_message: impl FnMut(ServerMsg) + 'static,
        on_close: impl FnOnce(u16, String) + 'static,
    ) -> Result<Self, JsValue> {
        let ws = WebSocket::new(&url()?)?;
        let heard = Rc::new(RefCell::new(js_sys::Date::now()));
        let on_close_cb: OnClose = Rc::new(RefCell::new(Some(Box::new(on_close))));
        let on_open = Closure::<dyn FnMut()>::new(on_open);
        let last = heard.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            *last.borrow_mut() = js_sys::Date::now();
            let Some(text) = ev.data().as_string() else { return };
            match ServerMsg::decode(&text) {
                Ok(msg) => on_message(msg),
                Err(err) => super::warn(&format!("moim: unreadable signaling message: {err}")),
            }
        });
        let closing = on_close_cb.clone();
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |ev: CloseEvent| {
            if let Some(f) = closing.borrow_mut().take() {
                f(ev.code(), ev.reason())
            }
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        let pinger = ws.clone();
        let closing = on_close_cb.clone();
        let ping = set_interval_with_handle(
            move || {
                if pinger.ready_state() != WebSocket::OPEN {
                    return;
                }
                if js_sys::Date::now() - *heard.borrow() > SILENCE {
                    let _ = pinger.close();
                    if let Some(f) = closing.borrow_mut().take() {
                        f(CloseCode::Silent.code(), CloseCode::Silent.reason().into())
                    }
                    return;
                }
                let _ = pinger.send_with_str(&ClientMsg::Ping.encode());
            },
            PING_EVERY,
        )
        .ok();
        Ok(Self { ws, ping, on_close_cb, _on_open: on_open, _on_message: on_message, _on_close: on_close })
    }

    pub fn is_open(&self) -> bool {
        self.ws.ready_state() == WebSocket::OPEN
    }

    pub fn is_connecting(&self) -> bool {
        self.ws.ready_state() == WebSocket::CONNECTING
    }

    /// Sends a message; false if the socket is not open.
    pub fn send(&self, msg: &ClientMsg) -> bool {
        self.is_open() && self.ws.send_with_str(&msg.encode()).is_ok()
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        if let Some(ping) = self.ping.take() {
            ping.clear();
        }
        self.on_close_cb.borrow_mut().take();
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}
