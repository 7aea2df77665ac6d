//! Keyboard shortcuts of the call: M microphone, V camera, S share,
//! C chat, Space held for push-to-talk while muted, `?` the list.
//!
//! Keys are matched by their place on the keyboard (`KeyboardEvent.code`),
//! not the letter they type, so they work the same with a Korean layout
//! (where M types ㅡ). None fires while a text field has the focus, or
//! with Ctrl, Alt or Meta held; a person can turn them all off in Settings
//! (some screen readers need single keys for themselves), which is kept in
//! this browser.

use super::{state::CallState, Action, CallHandle};
use leptos::{ev, prelude::*};

const KEY: &str = "moim.shortcuts";

/// Whether this browser has shortcuts on (the default).
pub fn load() -> bool {
    storage().and_then(|s| s.get_item(KEY).ok().flatten()).as_deref() != Some("off")
}

/// Keeps the choice in this browser.
pub fn remember(on: bool) {
    if let Some(storage) = storage() {
        let _ = storage.set_item(KEY, if on { "on" } else { "off" });
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// Where a key belongs to what the person is typing or pressing.
fn typing(target: Option<web_sys::EventTarget>, space: bool) -> bool {
    use wasm_bindgen::JsCast;
    let Some(el) = target.and_then(|t| t.dyn_into::<web_sys::Element>().ok()) else { return false };
    let tag = el.tag_name().to_ascii_lowercase();
    let field = matches!(tag.as_str(), "input" | "textarea" | "select")
        || el.get_attribute("contenteditable").is_some_and(|v| v != "false");
    // Space also presses the focused button or link.
    field || (space && matches!(tag.as_str(), "button" | "a" | "summary"))
}

/// Listens for the shortcuts while the call screen is shown.
pub fn listen(state: CallState, call: CallHandle) {
    let down = window_event_listener(ev::keydown, move |ev| {
        if !state.shortcuts.get_untracked() || ev.ctrl_key() || ev.alt_key() || ev.meta_key() || ev.is_composing() {
            return;
        }
        let code = ev.code();
        if typing(ev.target(), code == "Space") {
            return;
        }
        let media = state.media.get_untracked();
        let done = match code.as_str() {
            "KeyM" if !ev.shift_key() && state.has_mic.get_untracked() => {
                call.act(Action::SetAudio(!media.audio));
                true
            }
            "KeyV" if !ev.shift_key() && state.has_camera.get_untracked() => {
                call.act(Action::SetVideo(!media.video));
                true
            }
            "KeyS" if !ev.shift_key() => {
                let sharing = state.sharing.with_untracked(Option::is_some);
                if sharing || state.may_share() {
                    call.act(if sharing { Action::StopSharing } else { Action::ShareScreen });
                }
                true
            }
            "KeyC" if !ev.shift_key() => {
                state.toggle_chat();
                true
            }
            // `?` is Shift+Slash on most layouts; by its key where it is not.
            _ if ev.key() == "?" || (code == "Slash" && ev.shift_key()) => {
                state.keys_open.update(|open| *open = !*open);
                true
            }
            "Space" => {
                if !ev.repeat() && !media.audio && state.has_mic.get_untracked() {
                    state.talking.set(true);
                    call.act(Action::SetAudio(true));
                }
                // Held down, Space must not scroll the page either.
                state.talking.get_untracked()
            }
            _ => false,
        };
        if done {
            ev.prevent_default();
        }
    });
    let up = window_event_listener(ev::keyup, move |ev| {
        if ev.code() == "Space" && state.talking.get_untracked() {
            state.talking.set(false);
            call.act(Action::SetAudio(false));
            ev.prevent_default();
        }
    });
    // Leaving the window while holding Space must not leave the mic open.
    let blur = window_event_listener(ev::blur, move |_| {
        if state.talking.get_untracked() {
            state.talking.set(false);
            call.act(Action::SetAudio(false));
        }
    });
    on_cleanup(move || {
        down.remove();
        up.remove();
        blur.remove();
    });
}
