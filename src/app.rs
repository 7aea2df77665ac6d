//! The page shell, the root component and the routes. Compiled for both the
//! server (rendering) and the browser (hydration).

pub(crate) mod chat;
mod client_files;
mod devices;
mod files;
mod home;
pub mod icon;
mod in_call;
mod keys;
pub mod lang;
mod notice;
mod recordings;
mod room;
mod settings;
mod state;
mod tile;

use crate::t;
use client_files::ClientFiles;
use leptos::prelude::*;
// `Locale::as_str`.
use leptos_i18n::Locale as _;
use leptos_meta::{provide_meta_context, Html, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    ParamSegment, StaticSegment,
};

pub use state::{
    CallState, ChatLine, Connection, Device, Direction, FileEnd, Link, Notice, RecordingStatus, Remote, SavedFile,
    Stage, Transfer, TransferState,
};

pub use state::Action;

/// The browser side of a call; nothing on the server, where nothing is
/// captured or connected.
#[cfg(feature = "hydrate")]
type Call = crate::client::Call;
#[cfg(not(feature = "hydrate"))]
type Call = ();

/// The room's call, reachable from every control. It is empty during
/// server rendering and until the page has hydrated, so an [`Action`]
/// simply does nothing then. The one seam between the two worlds, as
/// leptos-use's hooks have theirs: the views are the same on both.
#[derive(Clone, Copy)]
pub(crate) struct CallHandle(
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))] StoredValue<Option<Call>, LocalStorage>,
);

impl CallHandle {
    fn new() -> Self {
        Self(StoredValue::new_local(None))
    }

    /// Starts the call's preview (camera, microphone; joining at once if
    /// asked), unless it has started. Only in the browser: Effects, which
    /// call this, never run during server rendering.
    fn start(&self, state: CallState, join_at_once: bool) {
        #[cfg(feature = "hydrate")]
        if self.0.with_value(Option::is_none) {
            self.0.set_value(Some(Call::preview(state, join_at_once)));
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (state, join_at_once);
    }

    /// Asks the call to do `action`: `None` when there is no call yet (or,
    /// on the server, ever).
    pub(crate) fn act(&self, action: Action) -> Option<Result<(), Notice>> {
        #[cfg(feature = "hydrate")]
        return self.0.try_with_value(|call| call.as_ref().map(|call| call.act(action))).flatten();
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = action;
            None
        }
    }
}

/// The HTML document around [`App`].
pub fn shell(options: LeptosOptions) -> impl IntoView {
    // The page's Content-Security-Policy names the nonce Leptos made for
    // this response's inline scripts.
    #[cfg(feature = "ssr")]
    if let (Some(nonce), Some(response)) = (use_nonce(), use_context::<leptos_axum::ResponseOptions>()) {
        if let Ok(policy) = axum::http::HeaderValue::from_str(&client_files::page_policy(&nonce)) {
            response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, policy);
        }
    }
    view! {
        <!DOCTYPE html>
        <html>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="dark light"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                // File names carry a hash of their content (cargo-leptos
                // `hash-files`), so browsers may cache them for good.
                <ClientFiles options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The root component: title and routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    lang::provide();
    view! {
        <Html attr:lang=move || lang::locale().as_str()/>
        <Title text="moim"/>
        <Router>
            <Routes fallback=|| view! { <NotFound/> }>
                <Route path=StaticSegment("") view=home::HomePage/>
                <Route path=(StaticSegment("r"), ParamSegment("room")) view=room::RoomPage/>
                <Route
                    path=(StaticSegment("r"), ParamSegment("room"), StaticSegment("recordings"))
                    view=recordings::RecordingsPage
                />
            </Routes>
        </Router>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    view! {
        <main class="page narrow">
            <h1>{t!(not_found)}</h1>
            <p><a href="/">{t!(go_home)}</a></p>
        </main>
    }
}
