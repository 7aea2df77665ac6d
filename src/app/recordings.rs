//! The Recordings page of a room (`/r/<room>/recordings`): what was
//! uploaded, newest first, each playable in the page and downloadable.
//!
//! The list is read from the store while the server renders the page and
//! travels inside it (a blocking resource), so the page needs no request
//! of its own. A room with a password shows a password form first; the
//! server then keeps a cookie for it (see `server/recording_routes.rs`).

use super::{lang::date_time, Notice};
use crate::{
    protocol::{
        recording::{Listing, RecordingItem},
        RoomId,
    },
    shared::{clock, recording_file_name, size, utc},
    t, tr,
};
use leptos::{either::EitherOf3, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use uuid::Uuid;

#[component]
pub fn RecordingsPage() -> impl IntoView {
    let params = use_params_map();
    let room = params.with_untracked(|p| p.get("room").and_then(|r| RoomId::parse_link(&r)));
    #[cfg(feature = "ssr")]
    let listing = {
        let list = use_context::<crate::protocol::recording::ListRecordings>();
        let headers = use_context::<axum::http::request::Parts>().map(|p| p.headers).unwrap_or_default();
        Resource::new_blocking(
            || (),
            move |_| {
                let listed = room.zip(list.clone()).map(|(room, list)| (list.0)(room, headers.clone()));
                async move {
                    match listed {
                        Some(listed) => listed.await,
                        None => Listing::NoSuchRoom,
                    }
                }
            },
        )
    };
    // In the browser the list comes with the page; it is never fetched.
    #[cfg(not(feature = "ssr"))]
    let listing = Resource::new_blocking(|| (), |_| async { Listing::Shown(Vec::new()) });
    let query = use_query_map();
    let error = query.with_untracked(|q| match q.get("error").as_deref() {
        Some("wrong") => Some(PasswordError::Wrong),
        Some("wait") => Some(PasswordError::Wait(q.get("secs").and_then(|s| s.parse().ok()).unwrap_or(0))),
        _ => None,
    });
    view! {
        <Title text=move || format!("{} · moim", tr!(recordings))/>
        <main class="page recordings">
            <h1>{t!(recordings)}</h1>
            {room.map(|room| view! { <p><a href=room.path()>{t!(back_to_meeting)}</a></p> })}
            <Suspense fallback=|| view! { <p>{t!(loading)}</p> }>
                {move || listing.get().map(|listing| match (listing, room) {
                    (Listing::Shown(items), Some(room)) => EitherOf3::A(view! { <List room items/> }),
                    (Listing::NeedsPassword, Some(_)) => EitherOf3::B(view! { <PasswordForm error/> }),
                    _ => EitherOf3::C(view! { <p>{t!(no_such_meeting_text)}</p> }),
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn List(room: RoomId, items: Vec<RecordingItem>) -> impl IntoView {
    if items.is_empty() {
        return view! { <p>{t!(nothing_recorded)}</p> }.into_any();
    }
    // Server-rendered times are UTC; once the page runs, the reader's own.
    let local = RwSignal::new(false);
    Effect::new(move |_| local.set(true));
    let rows = items
        .into_iter()
        .map(|item| {
            let (date, time) = utc(item.started_ms);
            let src = crate::protocol::recording::file_path(room, item.id);
            let download = format!("{src}?download");
            let (by, started) = (item.by.clone(), item.started_ms);
            let when = move || date_time(started, local.get());
            let label = Signal::derive(move || tr!(recording_by, who = by.as_str(), when = when()));
            let finished = item.finished;
            view! {
                <article class="recording" aria-label=label>
                    <video controls preload="metadata" src=src aria-label=label></video>
                    <p>
                        <strong>{item.by}</strong>" · "
                        <time datetime=format!("{date}T{time}Z")>{when}</time>" · "
                        {clock(item.duration_ms)}" · "{size(item.bytes)}
                        {move || (!finished).then(|| format!(" ({})", tr!(not_stopped)))}
                    </p>
                    <a href=download download=recording_file_name(room, item.started_ms)>{t!(download)}</a>
                    <DeleteButton room id=item.id label/>
                </article>
            }
        })
        .collect_view();
    view! { <div class="recording-list">{rows}</div> }.into_any()
}

/// Delete, for a browser that holds the room's host capability. The page
/// is the same for everyone when the server renders it; the button appears
/// once the page runs and finds the capability in this browser's storage.
#[component]
fn DeleteButton(room: RoomId, id: Uuid, label: Signal<String>) -> impl IntoView {
    let token = RwSignal::new(None::<String>);
    let problem = RwSignal::new(None::<Notice>);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| token.set(crate::client::call::host_token(room)));
    let delete = move |_| {
        let Some(token) = token.get_untracked() else { return };
        #[cfg(feature = "hydrate")]
        let sure = web_sys::window().and_then(|w| w.confirm_with_message(tr!(delete_confirm)).ok());
        #[cfg(feature = "hydrate")]
        if sure != Some(true) {
            return;
        }
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            match crate::client::upload::delete(room, id, &token).await {
                Ok(()) => {
                    if let Some(window) = web_sys::window() {
                        let _ = window.location().reload();
                    }
                }
                Err(why) => problem.set(Some(why)),
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (room, id, token, problem);
    };
    view! {
        <Show when=move || token.with(Option::is_some)>
            <button
                type="button"
                class="control small danger"
                aria-label=move || tr!(delete_named, what = label.get())
                on:click=delete
            >
                {t!(delete)}
            </button>
        </Show>
        {move || problem.get().map(|p| view! {
            <p class="notice" role="alert">{move || tr!(could_not_delete, why = p.words())}</p>
        })}
    }
}

/// Why the password form came back.
#[derive(Clone, Copy)]
enum PasswordError {
    Wrong,
    /// Too many wrong guesses: seconds to wait.
    Wait(u64),
}

#[component]
fn PasswordForm(error: Option<PasswordError>) -> impl IntoView {
    view! {
        <form method="post" class="password-form">
            <p>{t!(recordings_need_password)}</p>
            <label>{t!(meeting_password)} <input type="password" name="password" required autofocus/></label>
            <button type="submit">{t!(show_recordings)}</button>
            {error.map(|e| view! {
                <p class="notice" role="alert">{move || match e {
                    PasswordError::Wrong => tr!(err_wrong_password).to_string(),
                    PasswordError::Wait(secs) => tr!(err_too_many_attempts_for, secs = secs),
                }}</p>
            })}
        </form>
    }
}
