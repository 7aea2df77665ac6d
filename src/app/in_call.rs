//! The call screen: a top bar (who is here, REC, link state), the tiles
//! (a shared screen takes the stage), a side panel (chat, or people and
//! room settings), and one bar of icon buttons with a More menu.
//!
//! The bar holds what people use every minute (microphone, camera, share,
//! chat, people, leave), as Meet, Zoom and Jitsi do; rarer actions live in
//! More, and device choice in the Settings dialog. Each button's name says
//! what pressing it does now, in the reader's language, and toggles carry
//! `aria-pressed`.

use super::{
    chat::ChatPanel,
    devices::{DeviceSettings, Dialog},
    files::{file_button, FileButton, Transfers},
    icon::{Icon, Svg},
    keys,
    lang::words,
    settings::SettingsPanel,
    state::{CallState, Link},
    tile::{bind_stream, ScreenTile, SelfTile, Tile},
    Action, CallHandle,
};
use crate::shared::{clock, size};
use crate::{t, tr};
use leptos::prelude::*;

/// The call: tiles and controls.
#[component]
pub fn InCall(state: CallState, call: CallHandle) -> impl IntoView {
    let CallState { link, remotes, notice, settings, sharing, recording, .. } = state;
    keys::listen(state, call);
    // The choice kept in this browser; read once the page runs there.
    Effect::new(move |_| state.shortcuts.set(keys::load()));
    let count = move || remotes.with(Vec::len) + 1;
    // In a lecture only presenters have tiles: a class of a hundred
    // watchers would bury the one picture everyone came for.
    let lecture = move || settings.with(|s| s.presenters_only);
    let presents = move || state.may_present(None);
    let shown = move || remotes.get().into_iter().filter(|r| state.may_present(Some(r.id))).collect::<Vec<_>>();
    let tiles = move || shown().len() + usize::from(presents());
    // Someone's screen takes the stage; cameras move to a strip beside it.
    let spotlight =
        move || remotes.with(|all| all.iter().any(|r| r.media.get().screen && r.screen.with(Option::is_some)));
    view! {
        <section class="call">
            <header class="top-bar">
                <span class="people">{move || match count() {
                    1 => tr!(only_you).to_string(),
                    n => tr!(people_count, count = n),
                }}</span>
                <Show when=move || settings.with(|s| s.locked)>
                    <span class="tag">{t!(locked)}</span>
                </Show>
                <Show when=lecture>
                    <span class="tag">{t!(lecture)}</span>
                </Show>
                <Show when=move || state.forwarded.get()>
                    <span class="tag" role="note" title=t!(via_server_about) aria-label=t!(via_server_about)>
                        {t!(via_server)}
                    </span>
                </Show>
                <RecBadge state/>
                <span class="copied" role="status">{move || state.copied.get().then(|| tr!(link_copied))}</span>
                // Said to screen readers in every state, shown only when
                // something is wrong: a working link needs no banner.
                <span class="link-state" role="status" class:quiet=move || link.get() == Link::Connected>
                    {move || match link.get() {
                        Link::Connecting => tr!(connecting),
                        Link::Connected => tr!(connected),
                        Link::Reconnecting => tr!(reconnecting),
                    }}
                </span>
            </header>
            {move || notice.get().map(|notice| view! { <p class="notice" role="alert">{move || notice.words()}</p> })}
            <Show when=move || !presents()>
                <p class="watching" role="status">{t!(you_are_watching)}</p>
            </Show>
            <Show when=move || sharing.with(Option::is_some)>
                <ShareBar state call/>
            </Show>
            <Show when=move || recording.with(Option::is_some)>
                <RecordingBar state call/>
            </Show>
            <Transfers state call/>
            <div class="middle">
                <div class="stage" class:spotlight=spotlight>
                    <div class="screens">
                        <For each=move || remotes.get() key=|r| r.id let:remote>
                            <ScreenTile remote/>
                        </For>
                    </div>
                    <div class="tiles" data-count=tiles>
                        <Show when=presents>
                            <SelfTile state/>
                        </Show>
                        <For each=shown key=|r| r.id let:remote>
                            <Tile remote/>
                        </For>
                    </div>
                </div>
                <Show when=move || state.chat_open.get()>
                    <ChatPanel state call/>
                </Show>
                <Show when=move || state.settings_open.get()>
                    <SettingsPanel state call/>
                </Show>
            </div>
            <ControlBar state call/>
            <DeviceSettings state call/>
            <Shortcuts state/>
        </section>
    }
}

/// A round icon button: its name (what pressing it does now) is both the
/// accessible name and the tooltip, with the shortcut's key when there is one.
#[component]
fn BarButton(
    icon: Signal<Icon>,
    name: Signal<String>,
    #[prop(optional)] key: Option<&'static str>,
    #[prop(optional, into)] pressed: Option<Signal<bool>>,
    #[prop(optional, into)] expanded: Option<Signal<bool>>,
    #[prop(optional, into)] disabled: Signal<bool>,
    #[prop(optional, into)] why_disabled: Signal<Option<String>>,
    #[prop(optional)] class: &'static str,
    on_press: Callback<()>,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    let tip = move || match (why_disabled.get(), key) {
        (Some(why), _) if disabled.get() => why,
        (_, Some(key)) => format!("{} ({key})", name.get()),
        _ => name.get(),
    };
    view! {
        <button
            type="button"
            class=format!("bar-button {class}")
            aria-label=move || name.get()
            title=tip
            aria-pressed=move || pressed.map(|p| p.get().to_string())
            aria-expanded=move || expanded.map(|e| e.get().to_string())
            disabled=move || disabled.get()
            on:click=move |_| on_press.run(())
        >
            {move || view! { <Svg icon=icon.get()/> }}
            {children.map(|c| c())}
        </button>
    }
}

/// The one row of controls.
#[component]
fn ControlBar(state: CallState, call: CallHandle) -> impl IntoView {
    let CallState { media, has_mic, has_camera, sharing, chat_open, settings_open, unread, more_open, .. } = state;
    let share_blocked = move || !state.may_share();
    let toggle_people = move || {
        settings_open.update(|open| *open = !*open);
        chat_open.set(false);
    };
    view! {
        <footer class="controls" role="toolbar" aria-label=t!(call_controls)>
            // A lecture's watcher sends nothing: no controls for it.
            <Show when=move || state.may_present(None)>
                <BarButton
                    icon=Signal::derive(move || if media.get().audio { Icon::Mic } else { Icon::MicOff })
                    name=Signal::derive(move || match media.get().audio {
                        true => tr!(mute_mic).to_string(),
                        false => tr!(unmute_mic).to_string(),
                    })
                    key="M"
                    pressed=Signal::derive(move || media.get().audio)
                    disabled=Signal::derive(move || !has_mic.get())
                    why_disabled=Signal::derive(move || Some(tr!(no_mic_found).to_string()))
                    class="toggle"
                    on_press=Callback::new(move |()| _ = call.act(Action::SetAudio(!media.get_untracked().audio)))
                />
                <BarButton
                    icon=Signal::derive(move || if media.get().video { Icon::Video } else { Icon::VideoOff })
                    name=Signal::derive(move || match media.get().video {
                        true => tr!(camera_turn_off).to_string(),
                        false => tr!(camera_turn_on).to_string(),
                    })
                    key="V"
                    pressed=Signal::derive(move || media.get().video)
                    disabled=Signal::derive(move || !has_camera.get())
                    why_disabled=Signal::derive(move || Some(tr!(no_camera_found).to_string()))
                    class="toggle"
                    on_press=Callback::new(move |()| _ = call.act(Action::SetVideo(!media.get_untracked().video)))
                />
                <BarButton
                    icon=Signal::derive(move || if sharing.with(Option::is_some) { Icon::StopShare } else { Icon::Share })
                    name=Signal::derive(move || match sharing.with(Option::is_some) {
                        true => tr!(stop_sharing).to_string(),
                        false => tr!(share_screen).to_string(),
                    })
                    key="S"
                    pressed=Signal::derive(move || sharing.with(Option::is_some))
                    disabled=Signal::derive(move || sharing.with(Option::is_none) && share_blocked())
                    why_disabled=Signal::derive(move || Some(tr!(only_hosts_share).to_string()))
                    on_press=Callback::new(move |()| {
                        let action = if sharing.with_untracked(Option::is_some) { Action::StopSharing } else { Action::ShareScreen };
                        call.act(action);
                    })
                />
            </Show>
            <BarButton
                icon=Signal::from(Icon::Chat)
                name=Signal::derive(move || match unread.get() {
                    0 => tr!(chat).to_string(),
                    n => tr!(chat_unread, count = n),
                })
                key="C"
                pressed=Signal::derive(move || chat_open.get())
                on_press=Callback::new(move |()| state.toggle_chat())
            >
                <Show when=move || { unread.get() > 0 }>
                    <span class="unread" aria-hidden="true">{move || unread.get()}</span>
                </Show>
            </BarButton>
            <BarButton
                icon=Signal::from(Icon::People)
                name=words(t!(people))
                pressed=Signal::derive(move || settings_open.get())
                on_press=Callback::new(move |()| toggle_people())
            />
            // Escape closes the menu from its button or from inside it, and
            // the focus goes back to the button, not to the page's start.
            <div class="more-wrap" on:keydown=move |ev| {
                if ev.key() == "Escape" && more_open.get_untracked() {
                    more_open.set(false);
                    focus_first_button(ev.current_target());
                }
            }>
                <BarButton
                    icon=Signal::from(Icon::More)
                    name=words(t!(more))
                    expanded=Signal::derive(move || more_open.get())
                    on_press=Callback::new(move |()| more_open.update(|open| *open = !*open))
                />
                <More state call/>
            </div>
            <BarButton
                icon=Signal::from(Icon::Leave)
                name=words(t!(leave))
                class="leave"
                on_press=Callback::new(move |()| _ = call.act(Action::Leave))
            />
        </footer>
    }
}

/// Focuses the first button inside `target` (an element).
fn focus_first_button(target: Option<web_sys::EventTarget>) {
    use wasm_bindgen::JsCast;
    let button = target
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|el| el.query_selector("button").ok().flatten())
        .and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(button) = button {
        let _ = button.focus();
    }
}

/// The rarer actions. Hidden, not removed, while closed: the file inputs
/// inside must outlive the browser's file picker.
#[component]
fn More(state: CallState, call: CallHandle) -> impl IntoView {
    let CallState { more_open, recording, room, .. } = state;
    let recording_now = move || recording.with(|r| r.as_ref().is_some_and(|r| r.running));
    let close = move || more_open.set(false);
    let item = move |icon: Icon, label: Signal<String>, run: Callback<()>, disabled: Signal<bool>| {
        view! {
            <button type="button" class="menu-item" disabled=move || disabled.get() on:click=move |_| { close(); run.run(()); }>
                <Svg icon/>
                <span>{move || label.get()}</span>
            </button>
        }
    };
    let copy = move |()| {
        let Some(window) = web_sys::window() else { return };
        let Ok(href) = window.location().href() else { return };
        let _ = window.navigator().clipboard().write_text(&href);
        state.copied.set(true);
        set_timeout(move || state.copied.set(false), std::time::Duration::from_secs(2));
    };
    view! {
        <div class="backdrop clear" hidden=move || !more_open.get() on:click=move |_| close()></div>
        <div
            class="menu"
            role="group"
            aria-label=t!(more)
            hidden=move || !more_open.get()
        >
            // A recording is stored under this participant's place in the
            // room, which exists once the server has welcomed it (the call
            // screen shows while the camera is still opening).
            {item(
                Icon::Record,
                Signal::derive(move || match recording_now() {
                    true => tr!(stop_recording).to_string(),
                    false => tr!(start_recording).to_string(),
                }),
                Callback::new(move |()| {
                    _ = call.act(if recording_now() { Action::StopRecording } else { Action::StartRecording })
                }),
                Signal::derive(move || !recording_now() && state.me.get().is_none()),
            )}
            <PlayVideo state call/>
            {file_button(
                FileButton {
                    icon: Icon::File,
                    label: Signal::derive(t!(send_file)),
                    input_label: Signal::derive(t!(file_to_send)),
                    accept: "",
                    disabled: Signal::from(false),
                    title: Signal::from(None),
                    class: "menu-item",
                    before: Callback::new(move |()| close()),
                },
                move |file| _ = call.act(Action::SendFile(file)),
            )}
            {item(
                Icon::Room,
                words(t!(room_settings)),
                Callback::new(move |()| {
                    state.settings_open.set(true);
                    state.chat_open.set(false);
                }),
                Signal::from(false),
            )}
            <a class="menu-item" href=format!("{}/recordings", room.path()) target="_blank" rel="noopener" on:click=move |_| close()>
                <Svg icon=Icon::Recordings/>
                <span>{t!(recordings_page)}</span>
            </a>
            {item(Icon::Link, words(t!(copy_link)), Callback::new(copy), Signal::from(false))}
            {item(
                Icon::Settings,
                words(t!(settings)),
                Callback::new(move |()| state.devices_open.set(true)),
                Signal::from(false),
            )}
            {item(
                Icon::Keyboard,
                words(t!(keyboard_shortcuts)),
                Callback::new(move |()| state.keys_open.set(true)),
                Signal::from(false),
            )}
        </div>
    }
}

/// The list of shortcuts (`?`).
#[component]
fn Shortcuts(state: CallState) -> impl IntoView {
    let row = |key: &'static str, what: fn() -> &'static str| view! { <dt><kbd>{key}</kbd></dt><dd>{what}</dd> };
    view! {
        <Dialog open=state.keys_open title=Signal::derive(t!(keyboard_shortcuts)) id="keys-title">
            <dl class="keys">
                {row("M", || tr!(key_mic))}
                {row("V", || tr!(key_camera))}
                {row("S", || tr!(key_share))}
                {row("C", || tr!(key_chat))}
                {row("Space", || tr!(key_talk))}
                {row("?", || tr!(key_help))}
            </dl>
            <p class="muted">{move || match state.shortcuts.get() {
                true => tr!(keys_how_to_turn_off),
                false => tr!(keys_are_off),
            }}</p>
        </Dialog>
    }
}

/// Shown to the person sharing: a small preview and the way to stop.
#[component]
fn ShareBar(state: CallState, call: CallHandle) -> impl IntoView {
    let preview = NodeRef::<leptos::html::Video>::new();
    bind_stream(preview, state.sharing);
    let stop = move |_| _ = call.act(Action::StopSharing);
    let playing = state.playing;
    view! {
        <div class="share-bar" role="status">
            <video node_ref=preview class="share-preview" aria-label=t!(your_shared_screen) autoplay playsinline muted=true prop:muted=true></video>
            <span>{move || match playing.get() {
                Some(name) => tr!(you_are_playing, name = name.as_str()),
                None => tr!(you_are_sharing).to_string(),
            }}</span>
            // A screen stops from the bar's share button (one control, one
            // name); a video also from here, where it is named.
            <Show when=move || playing.with(Option::is_some)>
                <button class="control" on:click=stop>{t!(stop_the_video)}</button>
            </Show>
        </div>
    }
}

/// "REC": shown to everyone while anyone records, with who it is, so
/// nobody is recorded without knowing.
#[component]
fn RecBadge(state: CallState) -> impl IntoView {
    let CallState { remotes, media, .. } = state;
    let who = move || {
        let me = media.get().recording;
        let names: Vec<String> =
            remotes.with(|all| all.iter().filter(|r| r.media.get().recording).map(|r| r.name.get()).collect());
        match (me, names.as_slice()) {
            (false, []) => None,
            (true, []) => Some(tr!(you_are_recording).to_string()),
            (false, [one]) => Some(tr!(someone_is_recording, who = one.as_str())),
            (me, more) => {
                let mut all = more.join(", ");
                if me {
                    all = tr!(you_and_others, others = all.as_str());
                }
                Some(tr!(several_are_recording, who = all.as_str()))
            }
        }
    };
    view! {
        <Show when=move || who().is_some()>
            <span class="rec" role="status" aria-label=move || who().unwrap_or_default() title=move || who().unwrap_or_default()>
                "REC"
            </span>
        </Show>
    }
}

/// Shown to the person recording: how long, how much is saved on the
/// server, and, once stopped, the file.
#[component]
fn RecordingBar(state: CallState, call: CallHandle) -> impl IntoView {
    let recording = state.recording;
    let room = state.room;
    let status = move || recording.get().unwrap_or_default();
    let saved = move || {
        let s = status();
        match &s.problem {
            Some(problem) => tr!(not_saved, why = problem.words()),
            None if s.done => tr!(saved_on_server).to_string(),
            None => tr!(saved_so_far, stored = s.stored, made = s.made.max(s.stored)),
        }
    };
    let close = move |_| {
        if let Some(file) = recording.get_untracked().and_then(|r| r.download) {
            #[cfg(feature = "hydrate")]
            let _ = web_sys::Url::revoke_object_url(&file.url);
            let _ = file;
        }
        recording.set(None);
    };
    view! {
        <div class="recording-bar" role="region" aria-label=t!(your_recording)>
            <span role="status">
                {move || match status().running {
                    true => tr!(recording_for, time = clock(status().ms)),
                    false => tr!(recorded_for, time = clock(status().ms)),
                }}
            </span>
            <span class="saved">{saved}</span>
            {move || status().download.map(|file| view! {
                <a class="control" href=file.url download=file.name>
                    {move || tr!(download_recording, size = size(file.bytes))}
                </a>
            })}
            {move || status().download.map(|file| {
                let play = move |_| {
                    let (url, name) = (file.url.clone(), tr!(your_recording_lower).to_string());
                    call.act(Action::PlayVideo { url, name });
                };
                view! { <button class="control small" on:click=play>{t!(play_into_call)}</button> }
            })}
            <a href=format!("{}/recordings", room.path()) target="_blank" rel="noopener">{t!(recordings_page)}</a>
            <Show when=move || !status().running>
                <button class="control small" aria-label=t!(close_recording_bar) on:click=close>{t!(close)}</button>
            </Show>
        </div>
    }
}

/// Plays a video file into the call, in place of a screen share.
#[component]
fn PlayVideo(state: CallState, call: CallHandle) -> impl IntoView {
    let button = FileButton {
        icon: Icon::Play,
        label: Signal::derive(t!(play_video)),
        input_label: Signal::derive(t!(video_to_play)),
        accept: "video/*,audio/*",
        disabled: Signal::derive(move || state.sharing.with(Option::is_some) || !state.may_share()),
        title: Signal::derive(move || (!state.may_share()).then(|| tr!(only_hosts_share_any))),
        class: "menu-item",
        before: Callback::new(move |()| state.more_open.set(false)),
    };
    file_button(button, move |file| _ = call.act(Action::PlayFile(file)))
}
