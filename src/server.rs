//! The server (feature `ssr`): pages, static files and the signaling socket.
//!
//! [`run`] takes a bound listener and a shutdown future, so `main.rs` stays
//! thin and tests start the real server on `127.0.0.1:0`.

pub mod config;
pub mod rooms;
pub mod signal;

use crate::{
    app::{shell, App},
    protocol::RoomId,
};
use axum::{
    extract::{FromRef, Query},
    response::Redirect,
    routing::{get, post},
    Router,
};
use config::Config;
use leptos::config::LeptosOptions;
use leptos_axum::{generate_route_list, LeptosRoutes};
use rooms::Rooms;
use serde::Deserialize;
use std::{
    future::{Future, IntoFuture},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};
use tokio::net::TcpListener;
use tower_http::{compression::CompressionLayer, CompressionLevel};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub leptos: LeptosOptions,
    pub config: Arc<Config>,
    pub rooms: Arc<Rooms>,
    /// Signaling frames refused since start (malformed, unknown, too large…).
    pub rejected: Arc<AtomicU64>,
}

impl AppState {
    /// Counts and logs a refused signaling message or frame.
    pub fn reject(&self, why: &dyn std::fmt::Display) {
        let total = self.rejected.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::debug!(%why, total, "refused signaling input");
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}

/// Where the built client (`pkg/`) and the `public/` assets are. cargo-leptos
/// sets these variables when it runs the server; the defaults match its
/// output layout so `target/release/moim` also works when started by hand.
pub fn leptos_options(config: &Config) -> LeptosOptions {
    let var = |key: &str, default: &str| std::env::var(key).unwrap_or_else(|_| default.to_string());
    LeptosOptions::builder()
        .output_name(option_env!("LEPTOS_OUTPUT_NAME").unwrap_or(env!("CARGO_PKG_NAME")))
        .site_root(var("LEPTOS_SITE_ROOT", "target/site"))
        .site_pkg_dir(var("LEPTOS_SITE_PKG_DIR", "pkg"))
        .site_addr(config.address)
        .build()
}

/// Builds the whole HTTP application.
pub fn app(config: Config) -> Router {
    let leptos = leptos_options(&config);
    let state =
        AppState { leptos: leptos.clone(), config: Arc::new(config), rooms: Arc::default(), rejected: Arc::default() };
    let routes = generate_route_list(App);
    Router::new()
        .route("/ws", get(signal::upgrade))
        .route("/new", post(new_room))
        .route("/join", get(join_link))
        .leptos_routes(&state, routes, move || shell(leptos.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .with_state(state)
        // Pages, JS, WASM and CSS compress well. Level 5 keeps brotli fast
        // enough to run per request (precompressed files would be cheaper).
        .layer(CompressionLayer::new().quality(CompressionLevel::Precise(5)))
}

/// How long open signaling sockets get to finish after shutdown begins.
const DRAIN: Duration = Duration::from_secs(2);

/// Serves until `shutdown` completes, then stops accepting and returns once
/// open connections have ended or [`DRAIN`] has passed (signaling sockets
/// never end by themselves).
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let signal = async move {
        shutdown.await;
        let _ = stop.send(true);
    };
    let serve = axum::serve(listener, app(config)).with_graceful_shutdown(signal);
    let deadline = async move {
        let _ = stopped.wait_for(|stop| *stop).await;
        tokio::time::sleep(DRAIN).await;
    };
    tokio::select! {
        result = serve.into_future() => result,
        () = deadline => Ok(()),
    }
}

/// `POST /new` (the "New meeting" form): a fresh, unguessable room.
async fn new_room() -> Redirect {
    Redirect::to(&RoomId::random().path())
}

#[derive(Deserialize)]
struct JoinQuery {
    #[serde(default)]
    link: String,
}

/// `GET /join?link=…` (the home page's Join form, which works without
/// WebAssembly): a pasted link or code leads to its room.
async fn join_link(Query(query): Query<JoinQuery>) -> Redirect {
    match RoomId::parse_link(&query.link) {
        Some(room) => Redirect::to(&room.path()),
        None => Redirect::to("/?error=link"),
    }
}
