//! One participant's tile: video, name, and what they have switched off.

use super::state::{CallState, Remote};
use crate::protocol::MediaState;
use leptos::{html::Video, prelude::*};
use wasm_bindgen::{closure::Closure, JsValue};
use web_sys::MediaStream;

thread_local! {
    /// One shared no-op rejection handler for `play()` promises.
    static IGNORE: Closure<dyn FnMut(JsValue)> = Closure::new(|_: JsValue| {});
}

/// Keeps a `<video>` element's `srcObject` in step with a stream signal.
fn bind_stream(video: NodeRef<Video>, stream: RwSignal<Option<MediaStream>, LocalStorage>) {
    Effect::new(move |_| {
        let current = stream.get();
        if let Some(el) = video.get() {
            let el: &web_sys::HtmlMediaElement = &el;
            el.set_src_object(current.as_ref());
            // play() is refused when autoplay is blocked or a newer stream
            // replaced this one; neither is an error worth reporting.
            if current.is_some() {
                if let Ok(playing) = el.play() {
                    IGNORE.with(|ignore| {
                        let _ = playing.catch(ignore);
                    });
                }
            }
        }
    });
}

/// The first letter of a name, shown when the camera is off.
fn initial(name: &str) -> String {
    name.chars().next().map(|c| c.to_uppercase().collect()).unwrap_or_default()
}

#[component]
fn Badges(media: Signal<MediaState>) -> impl IntoView {
    view! {
        <Show when=move || !media.get().audio>
            <span class="badge" role="img" aria-label="Microphone muted" title="Microphone muted">"🔇"</span>
        </Show>
        <Show when=move || !media.get().video>
            <span class="badge" role="img" aria-label="Camera off" title="Camera off">"📷̸"</span>
        </Show>
    }
}

/// A remote participant: their video and sound, labelled with their name.
#[component]
pub fn Tile(remote: Remote) -> impl IntoView {
    let video = NodeRef::<Video>::new();
    bind_stream(video, remote.stream);
    let name = remote.name;
    let media = remote.media;
    let connecting = move || {
        let state = remote.connection.get();
        !matches!(state.as_str(), "connected")
    };
    view! {
        <figure
            class="tile"
            role="group"
            aria-label=move || name.get()
            data-peer=remote.id.to_string()
            class:camera-off=move || !media.get().video
        >
            <video node_ref=video autoplay playsinline></video>
            <div class="avatar" aria-hidden="true">{move || initial(&name.get())}</div>
            <figcaption>
                <span class="name">{move || name.get()}</span>
                <Badges media=media.into()/>
                <Show when=connecting>
                    <span class="state">{move || match remote.connection.get().as_str() {
                        "failed" | "disconnected" => "connection lost".to_string(),
                        _ => "connecting…".to_string(),
                    }}</span>
                </Show>
            </figcaption>
        </figure>
    }
}

/// This participant's own preview, muted so they do not hear themselves.
#[component]
pub fn SelfTile(state: CallState) -> impl IntoView {
    let video = NodeRef::<Video>::new();
    bind_stream(video, state.local);
    let name = state.name;
    let media = state.media;
    let label = move || match name.get().trim() {
        "" => "You".to_string(),
        n => format!("{n} (you)"),
    };
    view! {
        <figure
            class="tile self"
            role="group"
            aria-label=label
            class:camera-off=move || !media.get().video || state.local.with(Option::is_none)
        >
            <video node_ref=video autoplay playsinline muted=true prop:muted=true></video>
            <div class="avatar" aria-hidden="true">{move || initial(&name.get())}</div>
            <figcaption>
                <span class="name">{label}</span>
                <Badges media=media.into()/>
            </figcaption>
        </figure>
    }
}
