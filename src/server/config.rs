//! Runtime settings: defaults, then `Leptos.toml`, then `MOIM_*` environment
//! variables and command-line flags (see `moim --help`).
//!
//! cargo-leptos reads only `[package.metadata.leptos]` in `Cargo.toml` (how to
//! build). `Leptos.toml` holds how to *run*: where to listen, which ICE servers
//! browsers get, and the limits. Nothing is written in both places.

use super::{listen::Tls, turn::Turn};
use crate::protocol::IceServer;
use serde::Deserialize;
use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

/// Everything the server needs to know at run time.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the HTTP and signaling server listens.
    pub address: SocketAddr,
    /// Serve HTTPS from these PEM files instead of plain HTTP (see
    /// [`Tls`]); without it, put a TLS-terminating proxy in front.
    pub tls: Option<Tls>,
    /// Handed to every browser in `welcome`. Empty by default: a self-hosted app
    /// must not call out to a public STUN server, and browsers on one network
    /// connect through their host candidates.
    pub ice_servers: Vec<IceServer>,
    /// A TURN server that shares a secret with moim: every participant gets
    /// credentials of its own that expire (see [`Turn`]).
    pub turn: Option<Turn>,
    /// Browsers connect only through TURN relays, never directly.
    pub relay_only: bool,
    /// The most participants in one room (the full mesh grows as n²).
    pub room_capacity: usize,
    /// The most participants in a lecture (a room where only presenters
    /// send: the forwarding unit sends each watcher the presenters alone).
    pub lecture_capacity: usize,
    /// The origin browsers reach this server by, `https://meet.example.org`
    /// (scheme, name and port if not the scheme's default). Needed when moim
    /// is reached by a name rather than an address: other host names are
    /// refused (see `server/edge.rs`).
    pub public_origin: Option<String>,
    /// Origins, besides the page's own and `public_origin`, whose pages may
    /// open the signaling socket and send forms (their host names are
    /// served too).
    pub allowed_origins: Vec<String>,
    /// Seconds a socket may stay silent before it is dropped. Clients ping
    /// every 15 s, so this only removes dead connections.
    pub idle_timeout_secs: u64,
    /// Seconds a new socket has to send `join`.
    pub join_timeout_secs: u64,
    /// Messages queued for one slow client before the server closes it.
    pub send_queue: usize,
    /// Seconds a connection may take to send a request's head, and an idle
    /// keep-alive connection may wait for the next one.
    pub http_header_timeout_secs: u64,
    /// Seconds a request body may pause between pieces.
    pub http_body_timeout_secs: u64,
    /// Open connections one client address may hold.
    pub connections_per_address: u32,
    /// Open signaling sockets one client address may hold (a school or
    /// office behind one NAT is one address).
    pub sockets_per_address: u32,
    /// New rooms one client address may open an hour (and at once): a room
    /// nobody is in, joined as its new host. Rooms others are in, and hosts
    /// coming back, do not count.
    pub rooms_per_address_hour: u32,
    /// Messages a second one signaling socket may send on average…
    pub rate_per_sec: u32,
    /// …and in one burst (joining a full room sends about a hundred).
    pub rate_burst: u32,
    /// Seconds a participant whose socket dropped keeps its place (and its
    /// peers their connections to it) while it reconnects.
    pub resume_grace_secs: u64,
    /// Seconds a resume token lasts past the grace period once its
    /// participant stops renewing it (by leaving or losing the connection):
    /// room for a server restart or a slow reconnect.
    pub resume_token_secs: u64,
    /// Days a room nobody is in keeps its settings (password, lock,
    /// removals), counted from when it emptied; then it is as new. A room
    /// with recordings keeps them as long as it has any.
    pub empty_room_days: u64,
    /// Where the server keeps what must outlive a restart (its secret key,
    /// and the settings of rooms that have any).
    pub data_dir: PathBuf,
    /// The server sits behind a reverse proxy: a client's address is the
    /// last one in `X-Forwarded-For` (for the brake on password guessing).
    pub behind_proxy: bool,
    /// Where uploaded recordings go, and how much room they may take.
    pub recordings: RecordingSettings,
    /// The server's forwarding unit, for rooms beyond the mesh.
    pub forward: ForwardSettings,
}

/// `[forward]` in Leptos.toml: rooms with more than `mesh_max` people send
/// their media through the server (see `server/forward.rs`).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ForwardSettings {
    /// The one UDP port every forwarded participant's media uses. Port 0
    /// takes a free one (fine on one machine; open a fixed one in the
    /// firewall for a deployment).
    pub udp: SocketAddr,
    /// The addresses browsers are told to send media to: the public
    /// address when the server is behind NAT, or when `udp` listens on
    /// 0.0.0.0. Empty: the address of `udp` itself.
    pub announce: Vec<std::net::IpAddr>,
    /// A room of up to this many people is a full mesh; one more person
    /// moves it to the forwarding unit. 0 turns forwarding off.
    pub mesh_max: usize,
    /// The most connections the unit keeps at once, over all rooms: one
    /// task forwards everything, on one core (see BENCHMARKS.md for what
    /// it carries). Past it, a forwarded room's newcomer gets `room_full`.
    pub max_participants: usize,
}

impl Default for ForwardSettings {
    fn default() -> Self {
        Self { udp: SocketAddr::from(([127, 0, 0, 1], 0)), announce: Vec::new(), mesh_max: 4, max_participants: 300 }
    }
}

/// `[recordings]` in Leptos.toml.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RecordingSettings {
    pub dir: PathBuf,
    /// The most all recordings of one room may take, in megabytes.
    pub room_quota_mb: u64,
    /// The most all recordings together may take, in megabytes.
    pub total_quota_mb: u64,
    /// A recording that has not grown for this many minutes is stopped
    /// (its tab went away), or deleted if it holds nothing.
    pub idle_minutes: u64,
}

impl Default for RecordingSettings {
    fn default() -> Self {
        Self { dir: PathBuf::from("recordings"), room_quota_mb: 2_000, total_quota_mb: 20_000, idle_minutes: 60 }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            address: SocketAddr::from(([127, 0, 0, 1], 3000)),
            tls: None,
            ice_servers: Vec::new(),
            turn: None,
            relay_only: false,
            room_capacity: 8,
            lecture_capacity: 100,
            public_origin: None,
            allowed_origins: Vec::new(),
            idle_timeout_secs: 45,
            join_timeout_secs: 10,
            send_queue: 256,
            http_header_timeout_secs: 10,
            http_body_timeout_secs: 30,
            connections_per_address: 500,
            sockets_per_address: 200,
            rooms_per_address_hour: 30,
            rate_per_sec: 50,
            rate_burst: 200,
            resume_grace_secs: 20,
            resume_token_secs: 180,
            empty_room_days: 30,
            data_dir: PathBuf::from("data"),
            behind_proxy: false,
            recordings: RecordingSettings::default(),
            forward: ForwardSettings::default(),
        }
    }
}

/// Why the settings could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path} is not valid moim settings: {source}")]
    Parse { path: String, source: toml::de::Error },
    #[error("{path}: {origin:?} is not an origin; write it as https://meet.example.org")]
    Origin { path: String, origin: String },
}

impl Config {
    /// Reads a settings file. A missing file means the defaults.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let shown = path.display().to_string();
        let config = match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text).map_err(|source| ConfigError::Parse { path: shown.clone(), source })?,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Self::default(),
            Err(source) => return Err(ConfigError::Read { path: shown, source }),
        };
        let origins = config.public_origin.iter().chain(&config.allowed_origins);
        if let Some(bad) = origins.into_iter().find(|o| super::edge::Origin::parse(o).is_none()) {
            return Err(ConfigError::Origin { path: shown, origin: bad.clone() });
        }
        Ok(config)
    }

    pub fn parse(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs.max(1))
    }

    pub fn http_header_timeout(&self) -> Duration {
        Duration::from_secs(self.http_header_timeout_secs.max(1))
    }

    pub fn http_body_timeout(&self) -> Duration {
        Duration::from_secs(self.http_body_timeout_secs.max(1))
    }

    pub fn join_timeout(&self) -> Duration {
        Duration::from_secs(self.join_timeout_secs.max(1))
    }

    pub fn resume_grace(&self) -> Duration {
        Duration::from_secs(self.resume_grace_secs)
    }

    pub fn empty_room_expiry(&self) -> Duration {
        Duration::from_secs(self.empty_room_days.saturating_mul(86_400))
    }

    /// How long a resume token lasts from when it was made.
    pub fn resume_lifetime(&self) -> Duration {
        self.resume_grace() + Duration::from_secs(self.resume_token_secs.max(1))
    }

    /// How old a participant's token may grow before the server makes it a
    /// new one: well within its lifetime.
    pub fn resume_renewal(&self) -> Duration {
        (self.resume_lifetime() / 3).min(Duration::from_secs(60))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped Leptos.toml must parse and keep the app local-only by default.
    #[test]
    fn shipped_settings_parse() {
        let config = Config::parse(include_str!("../../Leptos.toml")).expect("Leptos.toml");
        assert!(config.ice_servers.is_empty(), "no ICE server may be called by default");
        assert_eq!(config, Config::default(), "Leptos.toml shows the defaults");
        let mut tests = Config::parse(include_str!("../../end2end/server.toml")).expect("end2end/server.toml");
        tests.rooms_per_address_hour = config.rooms_per_address_hour;
        assert_eq!(tests, config, "the browser tests run the shipped settings");
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(Config::parse("adress = \"127.0.0.1:1\"").is_err());
    }
}
