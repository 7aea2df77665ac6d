//! The server (feature `ssr`): pages, static files and the signaling socket.
//!
//! [`run`] takes a bound listener and a shutdown future, so `main.rs` stays
//! thin and tests start the real server on `127.0.0.1:0`.

pub mod access;
pub mod config;
mod edge;
pub mod forward;
mod headers;
mod limit;
pub mod listen;
pub mod recording_routes;
pub mod recordings;
mod rooms;
mod secret;
mod serve;
mod signal;
mod turn;
mod upgrade;

use crate::{
    app::{shell, App},
    protocol::{recording::ListRecordings, RoomId},
};
use axum::{
    extract::{DefaultBodyLimit, FromRef, Query, Request},
    http::{header, HeaderValue},
    middleware::Next,
    response::{Redirect, Response},
    routing::{get, post, put},
    Router,
};
use config::Config;
use leptos::{config::LeptosOptions, prelude::provide_context};
use leptos_axum::{generate_route_list, LeptosRoutes};
use rooms::Rooms;
use secret::Secret;
use serde::Deserialize;
use std::{
    future::Future,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};
use tokio::{net::TcpListener, sync::watch};
use tower_http::{
    compression::{
        predicate::{DefaultPredicate, NotForContentType, Predicate},
        CompressionLayer,
    },
    timeout::RequestBodyTimeoutLayer,
    CompressionLevel,
};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Behind an `Arc`: every signaling socket keeps a copy of the state
    /// for as long as it lives, and the options alone are 160 bytes.
    pub leptos: Arc<LeptosOptions>,
    pub config: Arc<Config>,
    pub rooms: Arc<Rooms>,
    /// Signaling frames refused since start (malformed, unknown, too large…).
    pub rejected: Arc<AtomicU64>,
    /// Signs resume tokens.
    pub secret: Arc<Secret>,
    /// When this process started serving (ms since the Unix epoch): resume
    /// tokens older than this come from before a restart.
    pub started_ms: u64,
    /// Becomes true when the server starts shutting down.
    pub shutdown: watch::Receiver<bool>,
    /// Open signaling sockets, which shutdown waits for.
    pub sessions: Sessions,
    /// Open signaling sockets per client address.
    pub sockets: serve::PerAddress,
    /// Recording chunks being received.
    pub uploads: recording_routes::Uploads,
    /// Recordings started per client address.
    pub recording_starts: Arc<limit::Hourly>,
    /// Rooms opened per client address.
    pub rooms_opened: Arc<limit::Hourly>,
    /// Wrong room passwords per client address and room.
    pub attempts: Arc<access::Attempts>,
    /// Argon2 checks and hashes, a few at a time.
    pub password_work: Arc<access::PasswordWork>,
    /// Uploaded recordings.
    pub recordings: Arc<recordings::Store>,
    /// The host names and origins this server answers for.
    pub names: Arc<edge::Names>,
    /// The forwarding unit, unless it is turned off or its UDP port could
    /// not be had (then every room stays a mesh).
    pub forward: Option<forward::Forwarder>,
}

impl AppState {
    /// When a resume token for `peer` in `room` was made, if it is valid
    /// and not past its lifetime (`Config::resume_lifetime`) at `now_ms`.
    pub fn fresh_resume(&self, room: RoomId, peer: crate::protocol::PeerId, token: &str, now_ms: u64) -> Option<u64> {
        let issued = self.secret.verify_resume(room, peer, token)?;
        let lifetime = self.config.resume_lifetime().as_millis() as u64;
        (now_ms.saturating_sub(issued) <= lifetime).then_some(issued)
    }

    /// How many people a room holds, and up to how many it is a mesh.
    pub fn sizes(&self) -> rooms::Sizes {
        let capacity = self.config.room_capacity;
        let mesh_max = match &self.forward {
            Some(_) if self.config.forward.mesh_max > 0 => self.config.forward.mesh_max,
            _ => capacity,
        };
        let forwarding = self.forward.is_some() && self.config.forward.mesh_max > 0;
        rooms::Sizes { capacity, lecture: self.config.lecture_capacity, mesh_max, forwarding }
    }

    /// Counts and logs a refused signaling message or frame.
    pub fn reject(&self, why: &dyn std::fmt::Display) {
        let total = self.rejected.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::debug!(%why, total, "refused signaling input");
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        LeptosOptions::clone(&state.leptos)
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
        .hash_files(hashed_files())
        .build()
}

/// Whether the client files have hashed names: cargo-leptos (`hash-files`
/// in Cargo.toml) writes `hash.txt` beside the server binary, and Leptos
/// reads the names from there. A binary without it (a test harness, a build
/// made by hand) serves the plain names; Leptos would fail on every page.
fn hashed_files() -> bool {
    if std::env::var("LEPTOS_HASH_FILES").is_ok_and(|v| v == "false") {
        return false;
    }
    std::env::current_exe().ok().and_then(|exe| Some(exe.parent()?.join("hash.txt").exists())).unwrap_or(false)
}

/// Builds the whole HTTP application.
fn app(state: AppState) -> Router {
    let leptos = LeptosOptions::clone(&state.leptos);
    let routes = generate_route_list(App);
    Router::new()
        .route("/ws", get(upgrade::upgrade))
        .route("/new", post(new_room))
        .route("/join", get(join_link))
        .route("/api/rooms/{room}/recordings", post(recording_routes::start))
        .route(
            "/api/rooms/{room}/recordings/{id}/chunks/{n}",
            // The body is read (and its size checked) by the handler.
            put(recording_routes::chunk).layer(DefaultBodyLimit::disable()),
        )
        .route("/api/rooms/{room}/recordings/{id}/finish", post(recording_routes::finish))
        .route("/r/{room}/recordings", post(recording_routes::unlock))
        .route("/r/{room}/recordings/{file}", get(recording_routes::file).delete(recording_routes::delete))
        .leptos_routes_with_context(
            &state,
            routes,
            {
                // The recordings page reads the store while rendering.
                let state = state.clone();
                move || {
                    let state = state.clone();
                    provide_context(ListRecordings(Arc::new(move |room, headers| {
                        Box::pin(recording_routes::listing(state.clone(), room, headers))
                    })))
                }
            },
            move || shell(leptos.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        // Every body but a recording chunk's (which streams to disk) is a
        // small form or JSON: what a request may hold in memory is bounded
        // by this, times the connections allowed.
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(cache_headers))
        // A body that stops arriving holds a connection and a task; pieces
        // must come this often (the headers' timeout is in serve.rs).
        .layer(RequestBodyTimeoutLayer::new(state.config.http_body_timeout()))
        // Refusals at the edge get the security headers too.
        .layer(axum::middleware::from_fn_with_state(state.clone(), edge::guard))
        .layer(axum::middleware::from_fn(headers::security_headers))
        .with_state(state)
        // The built JS, WASM and CSS are sent precompressed (brotli 11, see
        // the Makefile); what is left is small HTML made per request, where
        // the fastest level keeps nearly all the gain at a fraction of the
        // CPU (make bench, section 4).
        // Recordings are compressed already, and are served in ranges.
        .layer(
            CompressionLayer::new()
                .quality(CompressionLevel::Fastest)
                .compress_when(DefaultPredicate::new().and(NotForContentType::const_new("video/"))),
        )
}

/// The largest request body read into memory (the password form, a
/// recording's start).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Files under `/pkg/` have their content hash in their name: once fetched,
/// they never need asking for again. Everything else is checked each time.
async fn cache_headers(request: Request, next: Next) -> Response {
    let hashed = request.uri().path().starts_with("/pkg/");
    let mut response = next.run(request).await;
    if !response.headers().contains_key(header::CACHE_CONTROL) {
        let value =
            if hashed && response.status().is_success() { "public, max-age=31536000, immutable" } else { "no-cache" };
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    }
    response
}

/// The server key from `data_dir`, or (with a warning) one for this process only.
fn secret(config: &Config) -> Secret {
    Secret::load_or_create(&config.data_dir).unwrap_or_else(|err| {
        tracing::warn!(
            dir = %config.data_dir.display(),
            %err,
            "cannot keep the server key; browsers will not resume their sessions after a restart"
        );
        Secret::random()
    })
}

/// How long open signaling sockets get to close after shutdown begins.
const DRAIN: Duration = Duration::from_secs(3);

/// Counts open signaling sockets, so that shutdown can wait for them
/// (axum stops tracking a connection once it is upgraded).
#[derive(Clone)]
pub struct Sessions(Arc<watch::Sender<usize>>);

impl Sessions {
    /// Counts one socket until the guard is dropped.
    pub fn enter(&self) -> SessionGuard {
        self.0.send_modify(|n| *n += 1);
        SessionGuard(self.0.clone())
    }
}

pub struct SessionGuard(Arc<watch::Sender<usize>>);

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n -= 1);
    }
}

/// Serves until `shutdown` completes. Then it stops accepting, closes every
/// signaling socket with 1012 ("restarting": browsers reconnect and resume,
/// and nobody is told anyone left) and returns once they are closed or
/// [`DRAIN`] has passed.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let tls = match &config.tls {
        Some(tls) => Some(tls.load().map_err(std::io::Error::other)?),
        None => None,
    };
    let (stop, stopping) = watch::channel(false);
    let (live, mut open_sockets) = watch::channel(0usize);
    let stored = &config.recordings;
    let mb = |n: u64| n.saturating_mul(1_000_000);
    let store = recordings::Store::open(&stored.dir, mb(stored.room_quota_mb), mb(stored.total_quota_mb));
    let rooms_opened = limit::Hourly::new(config.rooms_per_address_hour, config.rooms_per_address_hour);
    let rooms = Arc::new(Rooms::new(access::Store::new(&config.data_dir)));
    let forward = match config.forward.mesh_max {
        0 => None,
        _ => {
            let settings = &config.forward;
            match forward::Forwarder::start(settings, rooms.clone()).await {
                Ok(unit) => Some(unit),
                Err(err) => {
                    tracing::error!(udp = %settings.udp, %err, "cannot open the forwarding unit's UDP port: rooms stay a mesh");
                    None
                }
            }
        }
    };
    let state = AppState {
        forward,
        recordings: Arc::new(store),
        leptos: Arc::new(leptos_options(&config)),
        names: Arc::new(edge::Names::new(&config)),
        secret: Arc::new(secret(&config)),
        rooms,
        config: Arc::new(config),
        attempts: Arc::default(),
        started_ms: secret::now_ms(),
        password_work: Arc::default(),
        rejected: Arc::default(),
        shutdown: stopping.clone(),
        sessions: Sessions(Arc::new(live)),
        sockets: serve::PerAddress::default(),
        uploads: recording_routes::Uploads::default(),
        recording_starts: Arc::new(limit::Hourly::new(
            recording_routes::STARTS_PER_HOUR,
            recording_routes::STARTS_BURST,
        )),
        rooms_opened: Arc::new(rooms_opened),
    };
    let limits = serve::Limits {
        header_timeout: state.config.http_header_timeout(),
        per_address: state.config.connections_per_address,
    };
    // What anonymous clients left behind is tidied before the first
    // request, and then every few minutes.
    sweep(&state);
    tokio::spawn({
        let state = state.clone();
        async move {
            loop {
                tokio::time::sleep(SWEEP_EVERY).await;
                let state = state.clone();
                let _ = tokio::task::spawn_blocking(move || sweep(&state)).await;
            }
        }
    });
    let router = app(state);
    let serve = async move {
        match tls {
            Some(tls) => {
                let listener = listen::TlsListener::new(listener, tls)?;
                serve::serve(listener, router, limits, stopping).await;
            }
            None => serve::serve(listen::TcpNoDelay(listener), router, limits, stopping).await,
        }
        Ok(())
    };
    let mut server = tokio::spawn(serve);
    tokio::select! {
        result = &mut server => return result.unwrap_or_else(|err| Err(std::io::Error::other(err))),
        () = shutdown => {}
    }
    tracing::info!("shutting down: closing signaling sockets");
    let _ = stop.send(true);
    let drained = async {
        let _ = open_sockets.wait_for(|n| *n == 0).await;
        let _ = (&mut server).await;
    };
    if tokio::time::timeout(DRAIN, drained).await.is_err() {
        tracing::warn!("some connections did not close in time");
        server.abort();
    }
    Ok(())
}

/// How often [`sweep`] runs.
const SWEEP_EVERY: Duration = Duration::from_secs(600);

/// Stops or deletes recordings whose recorder went away, and forgets
/// rooms that have been empty for `empty_room_days` (docs/security.md,
/// "State from anonymous clients"). Blocking.
fn sweep(state: &AppState) {
    let idle = Duration::from_secs(state.config.recordings.idle_minutes.saturating_mul(60));
    let recordings = state.recordings.sweep(idle);
    let store = &state.recordings;
    let rooms = state.rooms.sweep(state.config.empty_room_expiry(), |room| !store.list(room).is_empty());
    if recordings != Default::default() || rooms > 0 {
        tracing::info!(?recordings, rooms, "tidied up what was left behind");
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
