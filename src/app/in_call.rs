//! The call screen: tiles (with a spotlight for shared screens), the bar
//! for the person sharing, the chat panel, and the controls.

use super::{
    chat::ChatPanel,
    files::{file_button, FileButton, SendFile, Transfers},
    room::DevicePickers,
    settings::SettingsPanel,
    state::{CallState, Link},
    tile::{bind_stream, ScreenTile, SelfTile, Tile},
    Action, CallHandle,
};
use crate::shared::{clock, size};
use leptos::prelude::*;

/// The call: tiles and controls.
#[component]
pub fn InCall(state: CallState, call: CallHandle) -> impl IntoView {
    let CallState {
        media,
        link,
        remotes,
        notice,
        has_camera,
        has_mic,
        sharing,
        chat_open,
        unread,
        settings,
        settings_open,
        recording,
        ..
    } = state;
    let recording_now = move || recording.with(|r| r.as_ref().is_some_and(|r| r.running));
    let toggle_mic = move |_| {
        let on = !media.get_untracked().audio;
        call.act(Action::SetAudio(on));
    };
    let toggle_camera = move |_| {
        let on = !media.get_untracked().video;
        call.act(Action::SetVideo(on));
    };
    let count = move || remotes.with(Vec::len) + 1;
    // Someone's screen takes the stage; cameras move to a strip beside it.
    let spotlight =
        move || remotes.with(|all| all.iter().any(|r| r.media.get().screen && r.screen.with(Option::is_some)));
    // One side panel at a time: the tiles keep most of the screen.
    let toggle_chat = move |_| {
        chat_open.update(|open| *open = !*open);
        settings_open.set(false);
        unread.set(0);
    };
    let toggle_settings = move |_| {
        settings_open.update(|open| *open = !*open);
        chat_open.set(false);
    };
    let share_blocked = move || !state.may_share();
    view! {
        <section class="call">
            <header class="call-bar">
                <span class="people">{move || match count() { 1 => "Only you".to_string(), n => format!("{n} people") }}</span>
                <CopyLink/>
                <Show when=move || settings.with(|s| s.locked)>
                    <span class="tag">"Locked"</span>
                </Show>
                <RecBadge state/>
                <button class="control small" aria-expanded=move || settings_open.get().to_string() on:click=toggle_settings>
                    "Room settings"
                </button>
                // Said to screen readers in every state, shown only when
                // something is wrong: a working link needs no banner.
                <span class="link-state" role="status" class:quiet=move || link.get() == Link::Connected>
                    {move || match link.get() {
                        Link::Connecting => "Connecting…",
                        Link::Connected => "Connected",
                        Link::Reconnecting => "Reconnecting…",
                    }}
                </span>
            </header>
            {move || notice.get().map(|text| view! { <p class="notice" role="alert">{text}</p> })}
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
                    <div class="tiles" data-count=count>
                        <SelfTile state/>
                        <For each=move || remotes.get() key=|r| r.id let:remote>
                            <Tile remote/>
                        </For>
                    </div>
                </div>
                <Show when=move || chat_open.get()>
                    <ChatPanel state call/>
                </Show>
                <Show when=move || settings_open.get()>
                    <SettingsPanel state call/>
                </Show>
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
                <button
                    class="control"
                    disabled=move || sharing.with(Option::is_some) || share_blocked()
                    title=move || share_blocked().then_some("Only hosts can share screens in this meeting")
                    on:click=move |_| _ = call.act(Action::ShareScreen)
                >
                    "Share screen"
                </button>
                <PlayVideo state call/>
                <SendFile call/>
                // A recording is stored under this participant's place in the
                // room, which exists once the server has welcomed it (the
                // call screen shows while the camera is still opening).
                <button
                    class="control"
                    class:on=recording_now
                    disabled=move || !recording_now() && state.me.get().is_none()
                    title=move || state.me.get().is_none().then_some("You can record once you are in the call")
                    on:click=move |_| _ = call.act(if recording_now() { Action::StopRecording } else { Action::StartRecording })
                >
                    {move || if recording_now() { "Stop recording" } else { "Start recording" }}
                </button>
                <button class="control" aria-expanded=move || chat_open.get().to_string() on:click=toggle_chat>
                    "Chat"
                    <Show when=move || { unread.get() > 0 }>
                        <span class="unread" aria-label=move || format!("{} unread", unread.get())>{move || unread.get()}</span>
                    </Show>
                </button>
                <DevicePickers state call/>
                <button class="control leave" on:click=move |_| _ = call.act(Action::Leave)>"Leave"</button>
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

/// Shown to the person sharing: a small preview and the way to stop.
#[component]
fn ShareBar(state: CallState, call: CallHandle) -> impl IntoView {
    let preview = NodeRef::<leptos::html::Video>::new();
    bind_stream(preview, state.sharing);
    let stop = move |_| _ = call.act(Action::StopSharing);
    view! {
        <div class="share-bar" role="status">
            <video node_ref=preview class="share-preview" aria-label="Your shared screen" autoplay playsinline muted=true prop:muted=true></video>
            <span>{move || match state.playing.get() {
                Some(name) => format!("You are playing {name} into the call"),
                None => "You are sharing your screen".to_string(),
            }}</span>
            <button class="control" on:click=stop>
                {move || if state.playing.with(Option::is_some) { "Stop the video" } else { "Stop sharing" }}
            </button>
        </div>
    }
}

/// "REC": shown to everyone while anyone records, with who it is, so
/// nobody is recorded without knowing.
#[component]
fn RecBadge(state: CallState) -> impl IntoView {
    let CallState { remotes, media, .. } = state;
    let who = move || {
        let mut names: Vec<String> = Vec::new();
        if media.get().recording {
            names.push("you".into());
        }
        remotes.with(|all| names.extend(all.iter().filter(|r| r.media.get().recording).map(|r| r.name.get())));
        match names.as_slice() {
            [] => None,
            [one] if one == "you" => Some("You are recording this meeting".to_string()),
            [one] => Some(format!("{one} is recording this meeting")),
            more => Some(format!("{} are recording this meeting", more.join(", "))),
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
            Some(problem) => problem.clone(),
            None if s.done => "Saved on the server.".to_string(),
            None => format!("Saved on the server: {} of {} s.", s.stored, s.made.max(s.stored)),
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
        <div class="recording-bar" role="region" aria-label="Your recording">
            <span role="status">
                {move || match status().running {
                    true => format!("Recording {}", clock(status().ms)),
                    false => format!("Recorded {}", clock(status().ms)),
                }}
            </span>
            <span class="saved">{saved}</span>
            {move || status().download.map(|file| view! {
                <a class="control" href=file.url download=file.name>
                    {format!("Download recording ({})", size(file.bytes))}
                </a>
            })}
            {move || status().download.map(|file| {
                let play = move |_| {
                    let (url, name) = (file.url.clone(), "your recording".to_string());
                    call.act(Action::PlayVideo { url, name });
                };
                view! { <button class="control small" on:click=play>"Play it into the call"</button> }
            })}
            <a href=format!("{}/recordings", room.path()) target="_blank" rel="noopener">"Recordings page"</a>
            <Show when=move || !status().running>
                <button class="control small" aria-label="Close the recording bar" on:click=close>"Close"</button>
            </Show>
        </div>
    }
}

/// Plays a video file into the call, in place of a screen share.
#[component]
fn PlayVideo(state: CallState, call: CallHandle) -> impl IntoView {
    let button = FileButton {
        label: "Play a video",
        input_label: "Video to play into the call",
        accept: "video/*,audio/*",
        disabled: Signal::derive(move || state.sharing.with(Option::is_some) || !state.may_share()),
        title: Signal::derive(move || (!state.may_share()).then_some("Only hosts can share in this meeting")),
    };
    file_button(button, move |file| _ = call.act(Action::PlayFile(file)))
}
