//! The "Room settings" panel: what the room allows, and for hosts the
//! controls to change it (password, lock, who may share, who is in, who
//! else is host).
//!
//! Everyone sees the settings, so nobody has to guess why sharing is off or
//! why a friend cannot get in; only hosts get the controls. The server has
//! the last word: these controls ask, and the panel shows what it answers.

use super::{state::CallState, Action, CallHandle, Remote};
use crate::protocol::{SharePolicy, MAX_PASSWORD_BYTES};
use crate::{t, tr};
use leptos::prelude::*;

#[component]
pub fn SettingsPanel(state: CallState, call: CallHandle) -> impl IntoView {
    let settings = state.settings;
    let host = move || state.is_host(None);
    let locked = move || settings.with(|s| s.locked);
    let host_only = move || settings.with(|s| s.share == SharePolicy::Host);
    let lecture = move || settings.with(|s| s.presenters_only);
    view! {
        <aside class="settings" aria-label=t!(people_and_settings)>
            <h2>{t!(people)}</h2>
            <ul class="people-list">
                <li>
                    <span class="who">{move || tr!(you_named, name = state.name.get())}</span>
                    <Show when=host><span class="tag">{t!(host)}</span></Show>
                </li>
                <For each=move || state.remotes.get() key=|r| r.id let:remote>
                    <Person state call remote/>
                </For>
            </ul>
            <h2>{t!(room_settings)}</h2>
            <p class="settings-state" role="status">
                {move || match (locked(), settings.with(|s| s.password)) {
                    (true, _) => tr!(room_is_locked),
                    (false, true) => tr!(room_has_password),
                    (false, false) => tr!(room_is_open),
                }}
            </p>
            <Show when=host fallback=|| view! { <p class="muted">{t!(only_host_changes)}</p> }>
                <PasswordForm state call/>
            </Show>
            <label class="switch">
                <input
                    type="checkbox"
                    prop:checked=locked
                    prop:disabled=move || !host()
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        call.act(Action::Lock(on));
                    }
                />
                " " {t!(lock_room)}
            </label>
            <label class="switch">
                <input
                    type="checkbox"
                    prop:checked=host_only
                    prop:disabled=move || !host()
                    on:change=move |ev| {
                        let share = if event_target_checked(&ev) { SharePolicy::Host } else { SharePolicy::Everyone };
                        call.act(Action::SetShare(share));
                    }
                />
                " " {t!(only_hosts_share_setting)}
            </label>
            <label class="switch">
                <input
                    type="checkbox"
                    prop:checked=lecture
                    prop:disabled=move || !host()
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        call.act(Action::SetPresentersOnly(on));
                    }
                />
                " " {t!(presenters_only_setting)}
            </label>
        </aside>
    }
}

/// Set a new password, or remove the one there is.
#[component]
fn PasswordForm(state: CallState, call: CallHandle) -> impl IntoView {
    let draft = RwSignal::new(String::new());
    let has_password = move || state.settings.with(|s| s.password);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let password = draft.get_untracked();
        if password.is_empty() || password.len() > MAX_PASSWORD_BYTES {
            return;
        }
        call.act(Action::SetPassword(password));
        draft.set(String::new());
    };
    view! {
        <form class="password-form" on:submit=submit>
            <label for="room-password">{t!(room_password)}</label>
            <div class="row">
                <input
                    id="room-password"
                    type="password"
                    required
                    maxlength=MAX_PASSWORD_BYTES.to_string()
                    autocomplete="new-password"
                    prop:value=move || draft.get()
                    on:input=move |ev| draft.set(event_target_value(&ev))
                />
                <button type="submit" class="control small">{t!(set_password)}</button>
            </div>
            <Show when=has_password>
                <button type="button" class="control small" on:click=move |_| _ = call.act(Action::SetPassword(String::new()))>
                    {t!(remove_password)}
                </button>
            </Show>
        </form>
    }
}

/// One other participant, with a host's controls.
#[component]
fn Person(state: CallState, call: CallHandle, remote: Remote) -> impl IntoView {
    let Remote { id, name, .. } = remote;
    let is_host = move || state.is_host(Some(id));
    let i_am_host = move || state.is_host(None);
    let lecture = move || state.settings.with(|s| s.presenters_only);
    let presenter = move || state.settings.with(|s| s.presenters.contains(&id));
    view! {
        <li>
            <span class="who">{move || name.get()}</span>
            <Show when=is_host><span class="tag">{t!(host)}</span></Show>
            <Show when=presenter><span class="tag">{t!(presenter)}</span></Show>
            <Show when=move || i_am_host()>
                <span class="actions">
                    // In a lecture: one button that lets a non-host present, or stops it.
                    <Show when=move || lecture() && !is_host()>
                        <button
                            class="control small"
                            aria-label=move || match presenter() {
                                true => tr!(stop_presenting_named, name = name.get()),
                                false => tr!(let_present_named, name = name.get()),
                            }
                            on:click=move |_| _ = call.act(Action::SetPresenter(id, !presenter()))
                        >
                            {move || if presenter() { tr!(stop_presenting) } else { tr!(let_present) }}
                        </button>
                    </Show>
                    // One button that makes a host, or takes it back.
                    <button
                        class="control small"
                        aria-label=move || match is_host() {
                            true => tr!(take_host_from, name = name.get()),
                            false => tr!(make_host_named, name = name.get()),
                        }
                        on:click=move |_| {
                            let host = is_host();
                            _ = call.act(if host { Action::RevokeHost(id) } else { Action::MakeHost(id) });
                        }
                    >
                        {move || if is_host() { tr!(take_host) } else { tr!(make_host) }}
                    </button>
                    <button
                        class="control small danger"
                        aria-label=move || tr!(remove_named, name = name.get())
                        on:click=move |_| _ = call.act(Action::Remove(id))
                    >
                        {t!(remove)}
                    </button>
                </span>
            </Show>
        </li>
    }
}
