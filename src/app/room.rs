//! The room page: the prejoin form, then the call.
//!
//! The server renders the prejoin form with the room id in it, so the page is
//! usable at once; the camera preview and the call start after hydration.

use super::{
    state::{CallState, Device, Link, Stage},
    tile::{SelfTile, Tile},
    Call,
};
use crate::protocol::{MediaState, RoomId};
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn RoomPage() -> impl IntoView {
    let params = use_params_map();
    let room = params.with_untracked(|p| p.get("room").and_then(|r| RoomId::parse_link(&r)));
    match room {
        Some(room) => Either::Left(view! { <Room room/> }),
        None => Either::Right(view! {
            <main class="page narrow">
                <h1>"No such meeting"</h1>
                <p>"This link does not point to a moim meeting. Check it, or "<a href="/">"start a new one"</a>"."</p>
            </main>
        }),
    }
}

/// Reads a prejoin form that was submitted before the WebAssembly had
/// loaded: the browser then sent it as `?join&name=…&mic=on&cam=on`.
fn early_join(state: CallState) -> bool {
    let query = use_query_map();
    query.with_untracked(|q| {
        if q.get("join").is_none() {
            return false;
        }
        state.name.set(q.get("name").unwrap_or_default());
        state.media.set(MediaState { audio: q.get("mic").is_some(), video: q.get("cam").is_some() });
        true
    })
}

#[component]
fn Room(room: RoomId) -> impl IntoView {
    let state = CallState::new(room);
    let join_at_once = early_join(state);
    let call = StoredValue::new_local(None::<Call>);
    // The preview starts once the page runs in a browser; Effects never run
    // during server rendering.
    Effect::new(move |_| {
        if call.with_value(Option::is_none) {
            call.set_value(Some(Call::preview(state, join_at_once)));
        }
    });
    on_cleanup(move || {
        // Releases camera, microphone, peer connections and the socket.
        if let Some(call) = call.try_get_value().flatten() {
            call.leave();
        }
    });
    let stage = state.stage;
    view! {
        <Title text="Meeting · moim"/>
        <main class="room" data-room=room.to_string()>
            {move || match stage.get() {
                Stage::Prejoin => view! { <Prejoin state call/> }.into_any(),
                Stage::InCall => view! { <InCall state call/> }.into_any(),
                Stage::Left => view! {
                    <section class="page narrow" aria-live="polite">
                        <h1>"You left the meeting"</h1>
                        <p><a href=room.path()>"Rejoin"</a>" · "<a href="/">"Home"</a></p>
                    </section>
                }.into_any(),
                Stage::Refused(why) => view! {
                    <section class="page narrow" role="alert">
                        <h1>"You could not join"</h1>
                        <p>{why}</p>
                        <p><a href=room.path()>"Try again"</a>" · "<a href="/">"Home"</a></p>
                    </section>
                }.into_any(),
            }}
        </main>
    }
}

/// Name, preview, device choice, and Join.
#[component]
fn Prejoin(state: CallState, call: StoredValue<Option<Call>, LocalStorage>) -> impl IntoView {
    let CallState { room, name, media, notice, .. } = state;
    // Attribute values for the server-rendered HTML; the props keep them live.
    let (initial_name, initial) = (name.get_untracked(), media.get_untracked());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        call.with_value(|c| if let Some(c) = c { c.join() });
    };
    view! {
        <section class="prejoin">
            <div class="preview">
                <SelfTile state/>
            </div>
            // Before hydration this is a plain GET form back to this page
            // (see `early_join`), so an early click still joins.
            <form class="prejoin-form" method="get" on:submit=submit>
                <input type="hidden" name="join" value=""/>
                <h1>"Join the meeting"</h1>
                <p class="room-code">"Meeting code " <code>{room.to_string()}</code></p>
                <label for="name">"Your name"</label>
                <input
                    id="name"
                    name="name"
                    required
                    maxlength="64"
                    autocomplete="name"
                    value=initial_name
                    prop:value=move || name.get()
                    on:input=move |ev| name.set(event_target_value(&ev))
                />
                <div class="toggles">
                    <label class="switch">
                        <input
                            type="checkbox"
                            name="mic"
                            checked=initial.audio
                            prop:checked=move || media.get().audio
                            prop:disabled=move || !state.has_mic.get()
                            on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                call.with_value(|c| if let Some(c) = c { c.set_audio(on) });
                            }
                        />
                        " Microphone on"
                    </label>
                    <label class="switch">
                        <input
                            type="checkbox"
                            name="cam"
                            checked=initial.video
                            prop:checked=move || media.get().video
                            prop:disabled=move || !state.has_camera.get()
                            on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                call.with_value(|c| if let Some(c) = c { c.set_video(on) });
                            }
                        />
                        " Camera on"
                    </label>
                </div>
                <DevicePickers state call/>
                {move || notice.get().map(|text| view! { <p class="notice" role="alert">{text}</p> })}
                <button type="submit" class="primary big">"Join"</button>
            </form>
        </section>
    }
}

/// Camera and microphone pickers, filled from `enumerateDevices` once the
/// browser has granted access (labels are hidden before that).
#[component]
fn DevicePickers(state: CallState, call: StoredValue<Option<Call>, LocalStorage>) -> impl IntoView {
    let pick = move |list: RwSignal<Vec<Device>>, chosen: RwSignal<Option<String>>, label: &'static str, camera: bool| {
        view! {
            <label class="picker">
                <span>{label}</span>
                <select
                    aria-label=label
                    disabled=move || list.with(Vec::is_empty)
                    on:change=move |ev| {
                        let id = event_target_value(&ev);
                        chosen.set(Some(id.clone()));
                        call.with_value(|c| if let Some(c) = c {
                            if camera { c.use_camera(id.clone()) } else { c.use_mic(id.clone()) }
                        });
                    }
                >
                    <For each=move || list.get() key=|d| d.id.clone() let:device>
                        <option value=device.id.clone() selected=move || chosen.get().as_deref() == Some(device.id.as_str())>
                            {device.label.clone()}
                        </option>
                    </For>
                </select>
            </label>
        }
    };
    view! {
        <div class="pickers">
            {pick(state.cameras, state.camera_id, "Camera", true)}
            {pick(state.mics, state.mic_id, "Microphone", false)}
        </div>
    }
}

/// The call: tiles and controls.
#[component]
fn InCall(state: CallState, call: StoredValue<Option<Call>, LocalStorage>) -> impl IntoView {
    let CallState { media, link, remotes, notice, has_camera, has_mic, .. } = state;
    let act = move |f: Box<dyn Fn(&Call)>| call.with_value(|c| if let Some(c) = c { f(c) });
    let toggle_mic = move |_| {
        let on = !media.get_untracked().audio;
        act(Box::new(move |c| c.set_audio(on)));
    };
    let toggle_camera = move |_| {
        let on = !media.get_untracked().video;
        act(Box::new(move |c| c.set_video(on)));
    };
    let count = move || remotes.with(Vec::len) + 1;
    view! {
        <section class="call">
            <header class="call-bar">
                <span class="people">{move || match count() { 1 => "Only you".to_string(), n => format!("{n} people") }}</span>
                <CopyLink/>
                <span class="link-state" role="status">
                    {move || match link.get() {
                        Link::Connecting => "Connecting…".to_string(),
                        Link::Connected => String::new(),
                        Link::Lost(why) => why,
                    }}
                </span>
            </header>
            {move || notice.get().map(|text| view! { <p class="notice" role="alert">{text}</p> })}
            <div class="tiles" data-count=count>
                <SelfTile state/>
                <For each=move || remotes.get() key=|r| r.id let:remote>
                    <Tile remote/>
                </For>
            </div>
            <footer class="controls">
                <button
                    class="control"
                    class:off=move || !media.get().audio
                    disabled=move || !has_mic.get()
                    on:click=toggle_mic
                >
                    {move || if media.get().audio { "Mute microphone" } else { "Unmute microphone" }}
                </button>
                <button
                    class="control"
                    class:off=move || !media.get().video
                    disabled=move || !has_camera.get()
                    on:click=toggle_camera
                >
                    {move || if media.get().video { "Turn camera off" } else { "Turn camera on" }}
                </button>
                <DevicePickers state call/>
                <button class="control leave" on:click=move |_| act(Box::new(|c| c.leave()))>"Leave"</button>
            </footer>
        </section>
    }
}

/// Copies the page's address, so inviting someone is one click and a paste.
#[component]
fn CopyLink() -> impl IntoView {
    let copied = RwSignal::new(false);
    let copy = move |_| {
        let Some(window) = web_sys::window() else { return };
        let Ok(href) = window.location().href() else { return };
        let _ = window.navigator().clipboard().write_text(&href);
        copied.set(true);
        set_timeout(move || copied.set(false), std::time::Duration::from_secs(2));
    };
    view! {
        <button class="control small" on:click=copy>"Copy meeting link"</button>
        <span class="copied" role="status">{move || if copied.get() { "Link copied" } else { "" }}</span>
    }
}
