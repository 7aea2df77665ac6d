//! The room page: the prejoin form, then the call.
//!
//! The server renders the prejoin form with the room id in it, so the page is
//! usable at once; the camera preview and the call start after hydration.

use super::{
    devices::{DeviceSettings, SettingsButton},
    in_call::InCall,
    state::{CallState, Stage},
    tile::SelfTile,
    Action, CallHandle,
};
use crate::protocol::{MediaState, RoomId, MAX_NAME_CHARS, MAX_PASSWORD_BYTES};
use crate::{t, tr};
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
                <Title text=move || format!("{} · moim", tr!(no_such_meeting))/>
                <h1>{t!(no_such_meeting)}</h1>
                <p>{t!(no_such_meeting_text)}" "<a href="/">{t!(start_new_one)}</a></p>
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
        state.media.set(MediaState {
            audio: q.get("mic").is_some(),
            video: q.get("cam").is_some(),
            screen: false,
            recording: false,
        });
        true
    })
}

#[component]
fn Room(room: RoomId) -> impl IntoView {
    let state = CallState::new(room);
    let join_at_once = early_join(state);
    let call = CallHandle::new();
    // The preview starts once the page runs in a browser; Effects never run
    // during server rendering.
    Effect::new(move |_| call.start(state, join_at_once || state.join_asked.get_untracked()));
    // Releases camera, microphone, peer connections and the socket.
    on_cleanup(move || _ = call.act(Action::Leave));
    let stage = state.stage;
    view! {
        <Title text=move || format!("{} · moim", tr!(meeting))/>
        <main class="room" data-room=room.to_string()>
            {move || match stage.get() {
                Stage::Prejoin => view! { <Prejoin state call/> }.into_any(),
                Stage::InCall => view! { <InCall state call/> }.into_any(),
                Stage::Left => view! {
                    <section class="page narrow" aria-live="polite">
                        <h1>{t!(you_left)}</h1>
                        <p><a href=room.path()>{t!(rejoin)}</a>" · "<a href="/">{t!(home)}</a></p>
                    </section>
                }.into_any(),
                Stage::Refused(why) => view! {
                    <section class="page narrow" role="alert">
                        <h1>{t!(could_not_join)}</h1>
                        <p>{move || why.words()}</p>
                        <p><a href=room.path()>{t!(try_again)}</a>" · "<a href="/">{t!(home)}</a></p>
                    </section>
                }.into_any(),
                Stage::Removed => view! {
                    <section class="page narrow" role="alert">
                        <h1>{t!(removed_title)}</h1>
                        <p>{t!(removed_text)}</p>
                        <p><a href="/">{t!(home)}</a></p>
                    </section>
                }.into_any(),
            }}
        </main>
    }
}

/// Name, preview, device choice, and Join.
#[component]
fn Prejoin(state: CallState, call: CallHandle) -> impl IntoView {
    let CallState { room, name, media, notice, .. } = state;
    // Attribute values for the server-rendered HTML; the props keep them live.
    let (initial_name, initial) = (name.get_untracked(), media.get_untracked());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if call.act(Action::Join).is_none() {
            state.join_asked.set(true);
        }
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
                <h1>{t!(join_title)}</h1>
                <p class="room-code">{t!(meeting_code)}" " <code>{room.to_string()}</code></p>
                <label for="name">{t!(your_name)}</label>
                <input
                    id="name"
                    name="name"
                    required
                    maxlength=MAX_NAME_CHARS.to_string()
                    autocomplete="name"
                    value=initial_name
                    prop:value=move || name.get()
                    on:input=move |ev| name.set(event_target_value(&ev))
                />
                <Show when=move || state.password_needed.get()>
                    <PasswordField state/>
                </Show>
                <div class="toggles">
                    <Switch
                        name="mic"
                        label=Signal::derive(t!(mic_on))
                        initial=initial.audio
                        on=Signal::derive(move || media.get().audio)
                        usable=state.has_mic.into()
                        set=Callback::new(move |on| _ = call.act(Action::SetAudio(on)))
                    />
                    <Switch
                        name="cam"
                        label=Signal::derive(t!(camera_on))
                        initial=initial.video
                        on=Signal::derive(move || media.get().video)
                        usable=state.has_camera.into()
                        set=Callback::new(move |on| _ = call.act(Action::SetVideo(on)))
                    />
                    <SettingsButton state/>
                </div>
                {move || notice.get().map(|notice| view! { <p class="notice" role="alert">{move || notice.words()}</p> })}
                <button type="submit" class="primary big">{t!(join)}</button>
            </form>
            <DeviceSettings state call/>
        </section>
    }
}

/// The room's password, asked for once the server said the room has one.
/// It has no `name`: it only appears after hydration, and a password must
/// never travel in a URL.
#[component]
fn PasswordField(state: CallState) -> impl IntoView {
    let input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(input) = input.get() {
            let _ = input.focus();
        }
    });
    view! {
        <label for="password">{t!(meeting_password)}</label>
        <input
            id="password"
            node_ref=input
            type="password"
            required
            maxlength=MAX_PASSWORD_BYTES.to_string()
            autocomplete="current-password"
            prop:value=move || state.password.get()
            on:input=move |ev| state.password.set(event_target_value(&ev))
        />
    }
}

/// A prejoin checkbox. Named, so that the form still carries it when sent
/// before hydration.
#[component]
fn Switch(
    name: &'static str,
    label: Signal<&'static str>,
    initial: bool,
    on: Signal<bool>,
    usable: Signal<bool>,
    set: Callback<bool>,
) -> impl IntoView {
    view! {
        <label class="switch">
            <input
                type="checkbox"
                name=name
                checked=initial
                prop:checked=on
                prop:disabled=move || !usable.get()
                on:change=move |ev| set.run(event_target_checked(&ev))
            />
            " " {label}
        </label>
    }
}
