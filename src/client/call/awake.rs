//! Keeps the screen on during a call (Screen Wake Lock).
//!
//! A phone that dims and locks in the middle of a meeting stops the camera
//! and drops the person out of the picture. The browser lets a page hold the
//! screen awake only while it is visible and takes the lock back whenever
//! it is hidden, so the lock is asked for again each time the page comes
//! back into view, and let go when the call ends.
//!
//! `navigator.wakeLock` is reached through `Reflect`: web-sys has it only
//! behind its unstable-API flag, and browsers without it (or a page on
//! plain http) simply keep their usual screen timeout.

use super::{upgrade, Call};
use js_sys::{Function, Promise, Reflect};
use std::cell::RefCell;
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// The lock while it is held, and the listener that takes it again.
#[derive(Default)]
pub(super) struct Awake {
    /// The `WakeLockSentinel`, while held.
    sentinel: RefCell<Option<JsValue>>,
    on_visible: RefCell<Option<Closure<dyn FnMut()>>>,
}

impl Call {
    /// Holds the screen awake from now until [`Call::let_the_screen_sleep`].
    pub(super) fn keep_the_screen_on(&self) {
        let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
        if self.0.awake.on_visible.borrow().is_none() {
            let weak = std::rc::Rc::downgrade(&self.0);
            let handler = Closure::<dyn FnMut()>::new(move || {
                if let Some(call) = upgrade(&weak) {
                    call.ask_for_the_lock();
                }
            });
            let _ = document.add_event_listener_with_callback("visibilitychange", handler.as_ref().unchecked_ref());
            *self.0.awake.on_visible.borrow_mut() = Some(handler);
        }
        self.ask_for_the_lock();
    }

    /// Lets go of the lock and stops asking for it.
    pub(super) fn let_the_screen_sleep(&self) {
        if let Some(handler) = self.0.awake.on_visible.borrow_mut().take() {
            if let Some(document) = web_sys::window().and_then(|w| w.document()) {
                let _ =
                    document.remove_event_listener_with_callback("visibilitychange", handler.as_ref().unchecked_ref());
            }
            // Not dropped while it may be running (see `forget_the_page`).
            leptos::prelude::set_timeout(move || drop(handler), std::time::Duration::ZERO);
        }
        if let Some(sentinel) = self.0.awake.sentinel.borrow_mut().take() {
            call_method(&sentinel, "release", &[]);
        }
    }

    fn ask_for_the_lock(&self) {
        let Some(window) = web_sys::window() else { return };
        let visible = window.document().is_some_and(|d| d.visibility_state() == web_sys::VisibilityState::Visible);
        if !visible || self.0.left.get() || self.holds_the_lock() {
            return;
        }
        let Ok(wake_lock) = Reflect::get(&window.navigator(), &"wakeLock".into()) else { return };
        if wake_lock.is_undefined() || wake_lock.is_null() {
            return;
        }
        let Some(promise) = call_method(&wake_lock, "request", &["screen".into()]) else { return };
        let weak = std::rc::Rc::downgrade(&self.0);
        wasm_bindgen_futures::spawn_local(async move {
            // Refused (battery saver, a hidden page): the screen keeps its
            // usual timeout, which is what the person had before.
            let Ok(sentinel) = JsFuture::from(Promise::from(promise)).await else { return };
            match upgrade(&weak) {
                Some(call) if !call.0.left.get() => *call.0.awake.sentinel.borrow_mut() = Some(sentinel),
                _ => _ = call_method(&sentinel, "release", &[]),
            }
        });
    }

    /// Whether a lock is held and the browser has not taken it back.
    fn holds_the_lock(&self) -> bool {
        let sentinel = self.0.awake.sentinel.borrow();
        sentinel.as_ref().is_some_and(|s| Reflect::get(s, &"released".into()).ok() == Some(JsValue::FALSE))
    }
}

/// `target.name(...args)`, or `None` when there is no such method or it throws.
fn call_method(target: &JsValue, name: &str, args: &[JsValue]) -> Option<JsValue> {
    let method = Reflect::get(target, &name.into()).ok()?.dyn_into::<Function>().ok()?;
    let args: js_sys::Array = args.iter().collect();
    Reflect::apply(&method, target, &args).ok()
}
