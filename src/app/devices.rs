//! The Settings dialog: camera, microphone and speaker, the camera flip,
//! the language, and the keyboard shortcuts. Reachable from the prejoin
//! form and the call's More menu; the call bar keeps only the toggles.

use super::{
    icon::{Icon, Svg},
    lang::LanguageSwitch,
    state::{CallState, Device},
    Action, CallHandle,
};
use crate::{t, tr};
use leptos::prelude::*;

/// Opens the Settings dialog.
#[component]
pub fn SettingsButton(state: CallState) -> impl IntoView {
    view! {
        <button
            type="button"
            class="control small"
            aria-haspopup="dialog"
            on:click=move |_| state.devices_open.set(true)
        >
            <Svg icon=Icon::Settings/>
            <span>{t!(settings)}</span>
        </button>
    }
}

/// A modal dialog; Escape or Close shuts it. Focus moves into it on open.
#[component]
pub fn Dialog(
    open: RwSignal<bool>,
    title: Signal<&'static str>,
    id: &'static str,
    children: ChildrenFn,
) -> impl IntoView {
    let panel = NodeRef::<leptos::html::Div>::new();
    Effect::new(move |_| {
        if let Some(panel) = panel.get() {
            let _ = panel.focus();
        }
    });
    let children = StoredValue::new(children);
    view! {
        <Show when=move || open.get()>
            <div class="backdrop" on:click=move |_| open.set(false)></div>
            <div
                class="dialog"
                role="dialog"
                aria-modal="true"
                aria-labelledby=id
                tabindex="-1"
                node_ref=panel
                on:keydown=move |ev| {
                    if ev.key() == "Escape" {
                        ev.stop_propagation();
                        open.set(false);
                    }
                }
            >
                <header>
                    <h2 id=id>{title}</h2>
                    <button type="button" class="icon-button" aria-label=t!(close) title=t!(close) on:click=move |_| open.set(false)>
                        <Svg icon=Icon::Close/>
                    </button>
                </header>
                {children.with_value(|children| children())}
            </div>
        </Show>
    }
}

/// Camera, microphone, speaker, language, shortcuts.
#[component]
pub fn DeviceSettings(state: CallState, call: CallHandle) -> impl IntoView {
    let pick = move |list: RwSignal<Vec<Device>>,
                     chosen: RwSignal<Option<String>>,
                     label: fn() -> &'static str,
                     act: fn(String) -> Action| {
        view! {
            <label class="picker">
                <span>{label}</span>
                <select
                    aria-label=label
                    disabled=move || list.with(Vec::is_empty)
                    on:change=move |ev| {
                        let id = event_target_value(&ev);
                        call.act(act(id));
                    }
                >
                    // Rebuilt whole when the list or the choice changes (a
                    // device plugged in): a handful of options, and 3.8 KB
                    // of brotli less WASM than a keyed <For> (BENCHMARKS.md).
                    {move || {
                        let chosen = chosen.get();
                        let rows: Vec<(String, String, bool)> = match list.get() {
                            devices if devices.is_empty() => vec![(String::new(), tr!(no_device).to_string(), false)],
                            devices => devices
                                .into_iter()
                                .enumerate()
                                .map(|(at, device)| {
                                    let selected = chosen.as_deref() == Some(device.id.as_str());
                                    let label = match device.label.is_empty() {
                                        true => tr!(device_n, n = at + 1),
                                        false => device.label,
                                    };
                                    (device.id, label, selected)
                                })
                                .collect(),
                        };
                        rows.into_iter()
                            .map(|(id, label, selected)| view! { <option value=id selected=selected>{label}</option> })
                            .collect_view()
                    }}
                </select>
            </label>
        }
    };
    let shortcuts = state.shortcuts;
    view! {
        <Dialog open=state.devices_open title=Signal::derive(t!(settings)) id="settings-title">
            {pick(state.cameras, state.camera_id, || tr!(camera), Action::UseCamera)}
            <Show when=move || state.cameras.with(|c| c.len() > 1)>
                <button type="button" class="control small" on:click=move |_| _ = call.act(Action::FlipCamera)>
                    <Svg icon=Icon::FlipCamera/>
                    <span>{t!(flip_camera)}</span>
                </button>
            </Show>
            {pick(state.mics, state.mic_id, || tr!(microphone), Action::UseMic)}
            <Show when=move || state.speakers.with(|s| !s.is_empty())>
                {pick(state.speakers, state.speaker_id, || tr!(speaker), Action::UseSpeaker)}
            </Show>
            <div class="picker"><LanguageSwitch/></div>
            <label class="switch">
                <input
                    type="checkbox"
                    prop:checked=move || shortcuts.get()
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        shortcuts.set(on);
                        super::keys::remember(on);
                    }
                />
                " " {t!(shortcuts_on)}
            </label>
        </Dialog>
    }
}
