//! One participant's tile: video, name, and what they have switched off.

use super::{
    icon::{Icon, Svg},
    state::{CallState, Connection, Remote},
};
use crate::protocol::MediaState;
use crate::shared::initial;
use crate::{t, tr};
use leptos::{html::Video, prelude::*};
use wasm_bindgen::{closure::Closure, JsValue};
use web_sys::MediaStream;

thread_local! {
    /// One shared no-op rejection handler for `play()` promises.
    static IGNORE: Closure<dyn FnMut(JsValue)> = Closure::new(|_: JsValue| {});
}

/// Keeps a `<video>` element's `srcObject` in step with a stream signal.
pub(super) fn bind_stream(video: NodeRef<Video>, stream: RwSignal<Option<MediaStream>, LocalStorage>) {
    Effect::new(move |_| {
        let current = stream.get();
        if let Some(el) = video.get() {
            let el: &web_sys::HtmlMediaElement = &el;
            el.set_src_object(current.as_ref());
            #[cfg(feature = "hydrate")]
            crate::client::media::route_sound(el);
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

#[component]
fn Badges(media: Signal<MediaState>) -> impl IntoView {
    view! {
        <Show when=move || !media.get().audio>
            <span class="badge" role="img" aria-label=t!(mic_muted) title=t!(mic_muted)>
                <Svg icon=Icon::MicOff/>
            </span>
        </Show>
        <Show when=move || !media.get().video>
            <span class="badge" role="img" aria-label=t!(camera_off) title=t!(camera_off)>
                <Svg icon=Icon::VideoOff/>
            </span>
        </Show>
    }
}

/// The frame every tile shares: video, the initial shown when the camera is
/// off, and a caption with the name, the badges and `extra`.
#[component]
fn Frame(
    label: Signal<String>,
    stream: RwSignal<Option<MediaStream>, LocalStorage>,
    media: Signal<MediaState>,
    camera_off: Signal<bool>,
    #[prop(optional)] is_self: bool,
    #[prop(optional)] peer: Option<String>,
    children: Children,
) -> impl IntoView {
    let video = NodeRef::<Video>::new();
    bind_stream(video, stream);
    view! {
        <figure class="tile" class:self=is_self role="group" aria-label=label data-peer=peer class:camera-off=camera_off>
            // The own preview is muted so nobody hears themselves.
            <video node_ref=video autoplay playsinline muted=is_self prop:muted=is_self></video>
            <div class="avatar" aria-hidden="true">{move || initial(&label.get())}</div>
            <figcaption>
                <span class="name">{label}</span>
                <Badges media/>
                {children()}
            </figcaption>
        </figure>
    }
}

/// A remote participant: their video and sound, labelled with their name.
#[component]
pub fn Tile(remote: Remote) -> impl IntoView {
    let media = remote.media;
    let connection = remote.connection;
    let connecting = move || connection.get() != Connection::Connected;
    view! {
        <Frame
            label=remote.name.into()
            stream=remote.stream
            media=media.into()
            camera_off=Signal::derive(move || !media.get().video)
            peer=remote.id.to_string()
        >
            <Show when=connecting>
                <span class="state">{move || match connection.get().is_lost() {
                    true => tr!(connection_lost),
                    false => tr!(peer_connecting),
                }}</span>
            </Show>
        </Frame>
    }
}

/// This participant's own preview.
#[component]
pub fn SelfTile(state: CallState) -> impl IntoView {
    let CallState { name, media, local, .. } = state;
    let label = Signal::derive(move || match name.get().trim() {
        "" => tr!(you).to_string(),
        n => tr!(you_named, name = n),
    });
    view! {
        <Frame
            label
            stream=local
            media=media.into()
            camera_off=Signal::derive(move || !media.get().video || local.with(Option::is_none))
            is_self=true
        >
            ""
        </Frame>
    }
}

/// A participant's shared screen, shown large while they share.
#[component]
pub fn ScreenTile(remote: Remote) -> impl IntoView {
    let video = NodeRef::<Video>::new();
    bind_stream(video, remote.screen);
    let name = remote.name;
    let shown = move || remote.media.get().screen && remote.screen.with(Option::is_some);
    let label = move || tr!(screen_of, name = name.get());
    view! {
        <figure class="tile screen" role="group" aria-label=label hidden=move || !shown()>
            <video node_ref=video autoplay playsinline></video>
            <figcaption><span class="name">{label}</span></figcaption>
        </figure>
    }
}
