//! The Recordings page of a room (`/r/<room>/recordings`): what was
//! uploaded, newest first, each playable in the page and downloadable.
//!
//! The list is read from the store while the server renders the page and
//! travels inside it (a blocking resource), so the page needs no request
//! of its own. A room with a password shows a password form first; the
//! server then keeps a cookie for it (see `server/recording_routes.rs`).

use crate::protocol::RoomId;
use leptos::{either::EitherOf3, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One recording as the page shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordingItem {
    pub id: Uuid,
    pub by: String,
    pub started_ms: u64,
    pub duration_ms: u64,
    pub bytes: u64,
    pub finished: bool,
}

/// What the page may show.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Listing {
    Shown(Vec<RecordingItem>),
    /// The room has a password this browser has not given yet.
    NeedsPassword,
    NoSuchRoom,
}

/// The name a recording is saved under: the room's first characters and
/// when it started (UTC), e.g. `moim-3f2a9c1e-2026-11-27-0845.webm`.
pub fn recording_file_name(room: RoomId, started_ms: u64) -> String {
    let (date, time) = utc(started_ms);
    let short: String = room.0.simple().to_string().chars().take(8).collect();
    format!("moim-{short}-{date}-{}.webm", time.replace(':', ""))
}

/// `YYYY-MM-DD` and `HH:MM` in UTC for milliseconds since the Unix epoch.
pub fn utc(ms: u64) -> (String, String) {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let (h, m) = ((secs % 86_400) / 3600, (secs % 3600) / 60);
    // Days since 1970-01-01 to a civil date, in 400-year eras of 146,097
    // days starting on 0000-03-01 (so leap days fall at the end of a year).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (format!("{year:04}-{month:02}-{day:02}"), format!("{h:02}:{m:02}"))
}

/// `1:05` or `1:02:05`.
pub fn clock(ms: u64) -> String {
    let s = ms / 1000;
    match s / 3600 {
        0 => format!("{}:{:02}", s / 60, s % 60),
        h => format!("{h}:{:02}:{:02}", (s / 60) % 60, s % 60),
    }
}

/// A size as people read it: `420 kB`, `12.3 MB`.
pub fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1_000_000 => format!("{:.1} MB", b as f64 / 1e6),
        b => format!("{} kB", b.div_ceil(1000)),
    }
}

#[cfg(feature = "ssr")]
async fn load(room: Option<RoomId>, state: Option<crate::server::AppState>, headers: axum::http::HeaderMap) -> Listing {
    let (Some(room), Some(state)) = (room, state) else { return Listing::NoSuchRoom };
    if !crate::server::recording_routes::may_view(&state, room, &headers).await {
        return Listing::NeedsPassword;
    }
    let store = state.recordings.clone();
    let metas = tokio::task::spawn_blocking(move || store.list(room)).await.unwrap_or_default();
    let items = metas
        .into_iter()
        .map(|m| RecordingItem {
            id: m.id,
            by: m.by,
            started_ms: m.started_ms,
            duration_ms: m.duration_ms,
            bytes: m.bytes,
            finished: m.finished,
        })
        .collect();
    Listing::Shown(items)
}

#[component]
pub fn RecordingsPage() -> impl IntoView {
    let params = use_params_map();
    let room = params.with_untracked(|p| p.get("room").and_then(|r| RoomId::parse_link(&r)));
    #[cfg(feature = "ssr")]
    let listing = {
        let state = use_context::<crate::server::AppState>();
        let headers = use_context::<axum::http::request::Parts>().map(|p| p.headers).unwrap_or_default();
        Resource::new_blocking(|| (), move |_| load(room, state.clone(), headers.clone()))
    };
    // In the browser the list comes with the page; it is never fetched.
    #[cfg(not(feature = "ssr"))]
    let listing = Resource::new_blocking(|| (), |_| async { Listing::Shown(Vec::new()) });
    let query = use_query_map();
    let error = query.with_untracked(|q| match q.get("error").as_deref() {
        Some("wrong") => Some("Wrong password.".to_string()),
        Some("wait") => {
            Some(format!("Too many wrong passwords: try again in {} s.", q.get("secs").unwrap_or_default()))
        }
        _ => None,
    });
    view! {
        <Title text="Recordings · moim"/>
        <main class="page recordings">
            <h1>"Recordings"</h1>
            {room.map(|room| view! { <p><a href=room.path()>"Back to the meeting"</a></p> })}
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || listing.get().map(|listing| match (listing, room) {
                    (Listing::Shown(items), Some(room)) => EitherOf3::A(view! { <List room items/> }),
                    (Listing::NeedsPassword, Some(_)) => EitherOf3::B(view! { <PasswordForm error=error.clone()/> }),
                    _ => EitherOf3::C(view! { <p>"This link does not point to a moim meeting."</p> }),
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn List(room: RoomId, items: Vec<RecordingItem>) -> impl IntoView {
    if items.is_empty() {
        return view! { <p>"Nothing has been recorded in this meeting yet."</p> }.into_any();
    }
    let rows = items
        .into_iter()
        .map(|item| {
            let (date, time) = utc(item.started_ms);
            let src = crate::protocol::recording::file_path(room, item.id);
            let download = format!("{src}?download");
            let label = format!("Recording by {} on {date} at {time} UTC", item.by);
            let note = (!item.finished).then_some(" (not stopped: cut off, or still recording)");
            let video_label = label.clone();
            let label_for_delete = label.clone();
            view! {
                <article class="recording" aria-label=label>
                    <video controls preload="metadata" src=src aria-label=video_label></video>
                    <p>
                        <strong>{item.by}</strong>" · "
                        <time datetime=format!("{date}T{time}Z")>{format!("{date} {time} UTC")}</time>" · "
                        {clock(item.duration_ms)}" · "{size(item.bytes)}{note}
                    </p>
                    <a href=download download=recording_file_name(room, item.started_ms)>"Download"</a>
                    <DeleteButton room id=item.id label=label_for_delete/>
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
fn DeleteButton(room: RoomId, id: Uuid, label: String) -> impl IntoView {
    let token = RwSignal::new(None::<String>);
    let problem = RwSignal::new(None::<String>);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| token.set(crate::client::call::host_token(room)));
    let delete = move |_| {
        let Some(token) = token.get_untracked() else { return };
        #[cfg(feature = "hydrate")]
        let sure = web_sys::window()
            .and_then(|w| w.confirm_with_message("Delete this recording for everyone? This cannot be undone.").ok());
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
                Err(why) => problem.set(Some(format!("Could not delete it: {why}."))),
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (room, id, token, problem);
    };
    view! {
        <Show when=move || token.with(Option::is_some)>
            <button type="button" class="control small danger" aria-label=format!("Delete: {label}") on:click=delete>
                "Delete"
            </button>
        </Show>
        {move || problem.get().map(|p| view! { <p class="notice" role="alert">{p}</p> })}
    }
}

#[component]
fn PasswordForm(error: Option<String>) -> impl IntoView {
    view! {
        <form method="post" class="password-form">
            <p>"This meeting has a password. Enter it to see its recordings."</p>
            <label>"Meeting password" <input type="password" name="password" required autofocus/></label>
            <button type="submit">"Show recordings"</button>
            {error.map(|e| view! { <p class="notice" role="alert">{e}</p> })}
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_names() {
        assert_eq!(utc(0), ("1970-01-01".into(), "00:00".into()));
        assert_eq!(utc(951_782_400_000), ("2000-02-29".into(), "00:00".into()));
        assert_eq!(utc(1_795_740_300_000), ("2026-11-27".into(), "00:45".into()));
        let room = RoomId(Uuid::parse_str("3f2a9c1e-0000-4000-8000-000000000000").unwrap());
        assert_eq!(recording_file_name(room, 1_795_740_300_000), "moim-3f2a9c1e-2026-11-27-0045.webm");
        assert_eq!(clock(65_000), "1:05");
        assert_eq!(clock(3_725_000), "1:02:05");
    }
}
