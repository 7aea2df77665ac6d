//! The page shell, the root component and the routes. Compiled for both the
//! server (rendering) and the browser (hydration).

pub(crate) mod chat;
mod client_files;
mod files;
mod home;
mod in_call;
mod recordings;
mod room;
mod settings;
mod state;
mod tile;

use client_files::ClientFiles;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    ParamSegment, StaticSegment,
};

pub use recordings::{clock, recording_file_name};
// The recorder draws a tile's initial as the tile does.
pub use state::{
    CallState, ChatLine, Device, Direction, Link, RecordingStatus, Remote, SavedFile, Stage, Transfer, TransferState,
};
#[cfg(feature = "hydrate")]
pub(crate) use tile::initial;

/// The browser side of a call. During server rendering nothing is captured
/// or connected, so the server gets a stand-in whose methods do nothing; the
/// buttons that call them only act once the page has hydrated.
#[cfg(feature = "hydrate")]
pub(crate) use crate::client::Call;
#[cfg(not(feature = "hydrate"))]
pub(crate) use state::ServerCall as Call;

/// The room's [`Call`], reachable from every control. It is empty during
/// server rendering and until the page has hydrated, so a control's action
/// simply does nothing then.
#[derive(Clone, Copy)]
pub(crate) struct CallHandle(StoredValue<Option<Call>, LocalStorage>);

impl CallHandle {
    fn new() -> Self {
        Self(StoredValue::new_local(None))
    }

    /// Runs `f` on the call, if there is one.
    pub(crate) fn run<R>(&self, f: impl FnOnce(&Call) -> R) -> Option<R> {
        self.0.try_with_value(|call| call.as_ref().map(f)).flatten()
    }
}

/// The HTML document around [`App`].
pub fn shell(options: LeptosOptions) -> impl IntoView {
    // The page's Content-Security-Policy names the nonce Leptos made for
    // this response's inline scripts.
    #[cfg(feature = "ssr")]
    if let (Some(nonce), Some(response)) = (use_nonce(), use_context::<leptos_axum::ResponseOptions>()) {
        if let Ok(policy) = axum::http::HeaderValue::from_str(&crate::server::headers::page_policy(&nonce)) {
            response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, policy);
        }
    }
    view! {
        <!DOCTYPE html>
        <html lang="en">
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
    view! {
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
            <h1>"Page not found"</h1>
            <p><a href="/">"Go to the moim home page"</a></p>
        </main>
    }
}
