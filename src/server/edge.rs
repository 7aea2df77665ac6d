//! What every request must show before a handler sees it, and who sent it.
//!
//! - **Host.** A name moim does not serve is refused (421). Without this, a
//!   page on `evil.example` whose name the attacker points at 127.0.0.1 (DNS
//!   rebinding) would be same-origin with a moim on loopback or an intranet,
//!   and could drive it with the visitor's browser. IP literals and
//!   `localhost` are always served: rebinding needs a name of the attacker's.
//!   Names come from `public_origin` and `allowed_origins`.
//! - **Origin.** Anything that changes state (every POST, PUT, PATCH and
//!   DELETE, and the signaling socket) from a browser must come from
//!   moim's own origin, scheme and port included, or an allowed one; a
//!   request marked `Sec-Fetch-Site: cross-site` is refused too, and one
//!   with `Origin: null` unless the browser marks it `same-origin`. Otherwise
//!   another web page could make its visitors' browsers guess room passwords
//!   and lock out everyone behind their NAT, start recordings, or make rooms.
//!   Clients that send no Origin are not browsers, and cannot be made to act
//!   for somebody else.
//! - **Address.** The client's address, for the per-address limits: the
//!   connection's own, or behind a proxy the last `X-Forwarded-For` entry.

use super::{config::Config, AppState};
use axum::{
    extract::{Request, State},
    http::{header, uri::Authority, HeaderMap, Method, StatusCode, Uri},
    middleware::Next,
    response::{IntoResponse, Response},
};
use std::net::IpAddr;

/// A web origin: scheme, host (lower case) and port (the scheme's default
/// when none is written).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// Parses `scheme://host[:port]`, as browsers send it in `Origin`.
    pub fn parse(text: &str) -> Option<Self> {
        let uri: Uri = text.parse().ok()?;
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return None;
        }
        let authority = uri.authority()?;
        let port = authority.port_u16().or_else(|| default_port(&scheme))?;
        Some(Self { host: authority.host().to_ascii_lowercase(), scheme, port })
    }

    /// The origin a `Host` header names when reached with `scheme`.
    fn of_host(scheme: &str, host: &str) -> Option<Self> {
        let authority: Authority = host.parse().ok()?;
        let port = authority.port_u16().or_else(|| default_port(scheme))?;
        Some(Self { scheme: scheme.into(), host: authority.host().to_ascii_lowercase(), port })
    }
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

/// The names and origins this server answers for, from the settings.
#[derive(Clone, Debug, Default)]
pub struct Names {
    /// `public_origin` and `allowed_origins`, parsed.
    origins: Vec<Origin>,
    tls: bool,
    behind_proxy: bool,
}

impl Names {
    pub fn new(config: &Config) -> Self {
        let origins = config.public_origin.iter().chain(&config.allowed_origins);
        Self {
            origins: origins.filter_map(|o| Origin::parse(o)).collect(),
            tls: config.tls.is_some(),
            behind_proxy: config.behind_proxy,
        }
    }

    /// Whether a `Host` header names this server (see the module doc).
    pub fn host_allowed(&self, host: &str) -> bool {
        let Ok(authority) = host.parse::<Authority>() else { return false };
        let name = authority.host().to_ascii_lowercase();
        let literal = name.trim_start_matches('[').trim_end_matches(']');
        literal.parse::<IpAddr>().is_ok() || name == "localhost" || self.origins.iter().any(|o| o.host == name)
    }

    /// Whether a request's `Origin` is this server's own or an allowed one.
    pub fn origin_allowed(&self, origin: &str, headers: &HeaderMap) -> bool {
        let Some(origin) = Origin::parse(origin) else { return false };
        if self.origins.contains(&origin) {
            return true;
        }
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        host.and_then(|host| Origin::of_host(self.scheme(headers), host)).is_some_and(|own| own == origin)
    }

    /// The scheme browsers reach this server by: https with `[tls]`, what
    /// the proxy says behind one, http otherwise.
    fn scheme<'a>(&self, headers: &'a HeaderMap) -> &'a str {
        if self.tls {
            return "https";
        }
        let forwarded = headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok());
        match forwarded {
            Some(proto) if self.behind_proxy && proto.eq_ignore_ascii_case("https") => "https",
            _ => "http",
        }
    }
}

/// Whether a request changes something, so a foreign page may not send it.
fn changes_state(request: &Request) -> bool {
    !matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) || request.uri().path() == "/ws"
}

/// The middleware: the Host check on every request, the Origin check on
/// those that change state.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    if host.is_some_and(|host| !state.names.host_allowed(host)) {
        let text = "moim does not serve this host name; set public_origin in its settings";
        return (StatusCode::MISDIRECTED_REQUEST, text).into_response();
    }
    if changes_state(&request) {
        let fetch_site = headers.get("sec-fetch-site").map(|v| v.as_bytes());
        // moim's pages say `Referrer-Policy: no-referrer`, under which a
        // browser sends `Origin: null` with its own forms and uploads; the
        // browser's own `Sec-Fetch-Site`, which no page can set, then says
        // whether the request comes from moim's origin.
        let foreign = match headers.get(header::ORIGIN).map(|o| o.to_str()) {
            None => false,
            Some(Ok("null")) => fetch_site != Some(b"same-origin"),
            Some(Ok(origin)) => !state.names.origin_allowed(origin, headers),
            Some(Err(_)) => true,
        };
        if foreign || fetch_site == Some(b"cross-site") {
            return (StatusCode::FORBIDDEN, "requests from other web sites are refused").into_response();
        }
    }
    next.run(request).await
}

/// The client's address: the connection's own, or behind a reverse proxy
/// (`behind_proxy`) the last address it added to `X-Forwarded-For`.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, behind_proxy: bool) -> IpAddr {
    if !behind_proxy {
        return peer;
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .next_back()
        .and_then(|ip| ip.trim().parse().ok())
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn the_client_address_comes_from_the_proxy_only_when_behind_one() {
        let peer: IpAddr = "10.0.0.1".parse().unwrap();
        let mut headers = headers(&[("x-forwarded-for", "203.0.113.9, 198.51.100.7")]);
        assert_eq!(client_ip(peer, &headers, false), peer, "a client's own header is not trusted");
        assert_eq!(client_ip(peer, &headers, true), "198.51.100.7".parse::<IpAddr>().unwrap(), "the proxy's entry");
        headers.insert("x-forwarded-for", "nonsense".parse().unwrap());
        assert_eq!(client_ip(peer, &headers, true), peer);
    }

    #[test]
    fn origins_match_by_scheme_host_and_port() {
        let names = Names::default();
        let own = headers(&[("host", "Meet.Example:3000")]);
        assert!(names.origin_allowed("http://meet.example:3000", &own));
        assert!(!names.origin_allowed("https://meet.example:3000", &own), "another scheme");
        assert!(!names.origin_allowed("http://meet.example:3001", &own), "another port");
        assert!(!names.origin_allowed("http://meet.example.evil:3000", &own));
        assert!(!names.origin_allowed("null", &own));
        assert!(!names.origin_allowed("http://meet.example:3000", &HeaderMap::new()), "no Host to compare");
        let default_port = headers(&[("host", "meet.example")]);
        assert!(names.origin_allowed("http://meet.example:80", &default_port));
    }

    #[test]
    fn configured_origins_and_the_proxy_scheme_count() {
        let config = Config {
            public_origin: Some("https://meet.example".into()),
            allowed_origins: vec!["https://other.example:8443".into()],
            behind_proxy: true,
            ..Config::default()
        };
        let names = Names::new(&config);
        let proxied = headers(&[("host", "127.0.0.1:3000")]);
        assert!(names.origin_allowed("https://meet.example", &proxied));
        assert!(names.origin_allowed("https://other.example:8443", &proxied));
        assert!(!names.origin_allowed("http://meet.example", &proxied));
        let forwarded = headers(&[("host", "meet.example"), ("x-forwarded-proto", "https")]);
        assert!(names.origin_allowed("https://meet.example:443", &forwarded));
        assert!(names.host_allowed("meet.example"));
        assert!(names.host_allowed("OTHER.example:1"));
        assert!(!names.host_allowed("evil.example"));
    }

    #[test]
    fn addresses_and_localhost_are_always_served_other_names_only_when_configured() {
        let names = Names::default();
        for host in ["127.0.0.1:3000", "[::1]:3000", "192.0.2.7", "localhost:3000", "LOCALHOST"] {
            assert!(names.host_allowed(host), "{host}");
        }
        for host in ["evil.example", "127.0.0.1.evil.example", "localhost.evil.example:3000", "", "a b"] {
            assert!(!names.host_allowed(host), "{host}");
        }
    }
}
