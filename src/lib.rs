//! # moim (모임, "a gathering")
//!
//! A video-meeting web app in Rust end to end. The server renders each page,
//! the page hydrates into a WebAssembly client, and the browsers of a small
//! room talk to each other directly over WebRTC (full mesh); the server
//! introduces them over a websocket (signaling), hands out ICE servers and
//! keeps the rooms. A room past `mesh_max` people is forwarded: each
//! browser sends its media once, to the forwarding unit inside the server,
//! which passes it on.
//!
//! # Layout
//!
//! The world a file runs in shows in its path: `server/` is compiled only
//! with feature `ssr`, `client/` only with feature `hydrate`, everything else
//! in both.
//!
//! - `protocol.rs`: the whole wire contract, shared by server and client
//!   (`docs/protocol.md` says the same in prose): ids, the limits both
//!   sides keep, names as they may be shown, and the `Encode` of every
//!   message; `protocol/` holds its parts:
//!   - `signal.rs`: server ⇄ browser on the signaling socket, one serde
//!     enum each way; `close.rs`: its close codes, with their reasons;
//!   - `forward.rs`: server ⇄ browser in a forwarded room (modes, sources,
//!     slots);
//!   - `peer.rs`: browser ⇄ browser on the data channels (chat, history, files);
//!   - `recording.rs`: the recordings' HTTP paths, bodies and codes, and
//!     what the Recordings page is given by the server (`ListRecordings`);
//!   - `tests.rs`: round trips, the doc's examples, and a fuzzed decoder.
//! - `shared.rs`: small helpers both worlds use (times, sizes and file
//!   names as written for people, hex, a tile's initial), so that
//!   `server/` and `client/` need nothing from `app/` but its views and
//!   state.
//! - `locales/en.json`, `locales/ko.json` (beside `src/`): every sentence a
//!   person sees or hears, in English and Korean; `build.rs` turns them into
//!   the `i18n` module (leptos_i18n), so a missing key or argument is a
//!   compile error.
//! - `webm.rs`: adds the missing duration to a recording's WebM header
//!   (used by the browser for downloads and by the server for uploads).
//! - `app.rs`: `shell()`, `App` and the routes; `app/` holds the pages and
//!   components:
//!   - `home.rs`: the landing page (New meeting, Join by link or code);
//!   - `room.rs`: the room page and its prejoin form;
//!   - `in_call.rs`: the call screen: top bar, tiles, spotlight for shared
//!     screens, the sharing bar, one bar of icon buttons and its More menu;
//!   - `lang.rs`: the reader's language (chosen on the server from a
//!     cookie, then `Accept-Language`), the `tr!` macro, dates for the
//!     locale, and the language switch;
//!   - `notice.rs`: what the page tells a person (server codes, device and
//!     file problems) as typed values, worded only when shown;
//!   - `icon.rs`: the icons, inline SVG (Lucide, ISC licence);
//!   - `devices.rs`: the Settings dialog (camera, microphone, speaker,
//!     language, shortcuts) and the dialog it is built on;
//!   - `keys.rs`: the keyboard shortcuts (M, V, S, C, Space, ?);
//!   - `chat.rs`: the chat panel (text stays text; only http(s) links);
//!   - `settings.rs`: the Room settings panel (password, lock, who shares,
//!     remove, make host);
//!   - `files.rs`: Send file and the list of file transfers;
//!   - `recordings.rs`: a room's Recordings page (list, play, download,
//!     the password form of a protected room);
//!   - `tile.rs`: a participant's camera tile and screen tile;
//!   - `client_files.rs`: the stylesheet, preloads and loader script, with
//!     the hashed file names read once, and the page's
//!     Content-Security-Policy that lets the loader run;
//!   - `state.rs`: the reactive state of a call that the views read and the
//!     client writes, and the `Action`s the controls ask of the call.
//! - `server.rs` (`ssr`): `run(listener, config, shutdown)` and the router;
//!   `server/` holds:
//!   - `config.rs`: run-time settings from `Leptos.toml`, env and flags;
//!   - `rooms.rs`: who is in which room, fan-out with bounded outboxes of
//!     frames (text or a close code; the sockets are `signal.rs`'s),
//!     places kept for participants whose socket broke;
//!   - `upgrade.rs`: `GET /ws`, the HTTP side of the signaling socket
//!     (sockets per address, buffer sizes); `signal.rs`: the session on
//!     it, one reader and one writer task;
//!   - `edge.rs`: what every request must show first (a host name moim
//!     serves; for anything that changes state, moim's own origin) and
//!     the client's address;
//!   - `access.rs`: room passwords (Argon2id, a few at a time), the brake on
//!     guessing per address and room, and room settings kept in
//!     `data_dir/rooms/`;
//!   - `limit.rs`: the per-socket token bucket, and `Hourly`, what each
//!     address may start only so often (rooms, recordings);
//!   - `secret.rs`: the server key in `data_dir`, and the expiring resume
//!     tokens and per-host capabilities signed with it;
//!   - `turn.rs`: expiring TURN credentials (the TURN REST convention);
//!   - `forward.rs`: the forwarding unit's handle and what it needs from
//!     the rooms (`Seats`); `forward/unit.rs`: its one task, every
//!     participant's str0m `Rtc` on one UDP socket, and the forwarding
//!     table; `forward/slots.rs`: which receiving transceiver carries
//!     which track; `forward/layers.rs`: simulcast layers and each
//!     receiver's copy; `forward/speakers.rs`: the loudest voices of a
//!     big room;
//!   - `recordings.rs`: recordings on disk (chunks appended in order,
//!     fsynced, quotas); `recording_routes.rs`: their HTTP side (start,
//!     upload, finish, delete, files with range requests, the viewer
//!     cookie, the per-address limits on starts and uploads);
//!   - `headers.rs`: the Content-Security-Policy and the other security headers;
//!   - `listen.rs`: plain TCP and the built-in HTTPS listener, both with
//!     `TCP_NODELAY`; `serve.rs`: the connection loop (hyper with its
//!     timer: header, keep-alive and body timeouts; connections per
//!     address).
//! - `client.rs` (`hydrate`): the browser side of a call; `client/` holds:
//!   - `media.rs`: camera, microphone and screen capture, device lists;
//!   - `signaling.rs`: one websocket to the server, with keepalive and a
//!     watchdog for silent sockets;
//!   - `recorder.rs`: the call screen drawn into a canvas and everyone's
//!     sound mixed, into a MediaRecorder; `upload.rs` sends its chunks in
//!     order, with retries;
//!   - `uplink.rs`: a forwarded room's one RTCPeerConnection, to the
//!     server: four sending transceivers, slots to receive, offers only
//!     from this side;
//!   - `peer.rs`: one RTCPeerConnection with perfect negotiation and its
//!     chat and files data channels (files only, in a forwarded room); `peer/screen.rs` puts a shared screen on
//!     transceivers of its own, `peer/quality.rs` caps the camera's bitrate
//!     and frame rate by the size of the call;
//!   - `call.rs`: the mesh: one peer per remote participant, driven by
//!     signaling, writing the call state; `call/act.rs` does what the
//!     controls ask, `call/devices.rs` mutes, turns
//!     the camera off and on and switches devices, `call/chat.rs` sends,
//!     receives and merges chat (with the history exchange),
//!     `call/screen.rs` shares a screen or plays a video into the call,
//!     `call/files.rs` sends and receives files on the files channel,
//!     `call/forwarded.rs` moves the call to the server's forwarding unit
//!     without a dark tile and shows what it forwards,
//!     `call/awake.rs` keeps the screen on during the call, `call/link.rs` reconnects, resumes
//!     and merges the room back after a restart, `call/host.rs` sends a
//!     host's requests and follows the room's settings, `call/record.rs`
//!     starts and stops a recording and offers the file.
//! - `main.rs` (`ssr`): reads settings, binds, calls `server::run`.
//!
//! # Choices
//!
//! - Forwarding runs on str0m (sans-IO WebRTC) inside the server rather than
//!   beside it (mediasoup, LiveKit, Janus are separate services to deploy).
//!   Its DTLS and SRTP use Debian's OpenSSL: str0m's "rust-crypto" backend
//!   still makes certificates with aws-lc and brings 57 crates to
//!   OpenSSL's 19. A browser always offers and the server always answers,
//!   on receiving transceivers the server reuses ("slots"): no glare, and
//!   people coming and going seldom renegotiate.
//! - The browser code talks to web-sys directly rather than through
//!   leptos-use: the call needs per-track control (replaceTrack, fallbacks
//!   from camera+mic to either alone, device ids) and websocket close codes
//!   that the generic hooks hide, and every hook pulled in adds to the WASM
//!   every participant downloads before joining.
//! - The server allocates with mimalloc rather than glibc's malloc: page
//!   rendering makes and frees many small objects, and the page-serving
//!   benchmark went up by about a third (BENCHMARKS.md, section 4).
//! - Views are type-erased in release builds too (`always-erase-components`
//!   in Cargo.toml), as cargo-leptos already makes them in dev builds: every
//!   participant downloads the WASM before joining, and erasure took 63 KB
//!   of brotli off it (BENCHMARKS.md) for a virtual call per render. The
//!   server's HTML and the browser's hydration must agree on this, so the
//!   examples are built with the same flag (see the Makefile's `ERASED`).
//! - Signaling is a plain axum websocket route, not a Leptos server function;
//!   `server/upgrade.rs` says why.
//! - Resume tokens are HMACs (RustCrypto's `hmac` and `sha2`) rather than
//!   entries in a session store: a restarted server checks them with nothing
//!   but its key, which is what lets a call outlive the server's memory.

// Leptos view types nest deeply.
#![recursion_limit = "256"]

pub mod app;
// The `i18n` module that build.rs makes from locales/*.json: `Locale` and
// `td_string!`, which `tr!` (app/lang.rs) words every key with.
include!(concat!(env!("OUT_DIR"), "/i18n/mod.rs"));
pub mod protocol;
pub mod shared;
pub mod webm;

#[cfg(feature = "hydrate")]
pub mod client;
#[cfg(feature = "ssr")]
pub mod server;

/// The WASM entry point: attaches the client to the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
    // A mark that tests and benchmarks wait for before they click.
    if let Some(root) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
        let _ = root.set_attribute("data-hydrated", "");
    }
}
