//! Serving connections: hyper with its timer, and a cap on connections
//! from one address.
//!
//! axum's `serve` runs hyper without a timer, and hyper's header timeout
//! needs one: without it, a client that sends a request a byte a minute
//! (slowloris), or opens a keep-alive connection and says nothing, holds a
//! connection and a task for as long as it likes, and a few thousand such
//! clients hold the server. Here a connection waits at most
//! `http_header_timeout_secs` for each request head, the first and every
//! next one, so an idle keep-alive connection ends after it too; bodies get
//! `http_body_timeout_secs` between pieces (tower-http's body timeout, in
//! `server.rs`). The TLS listener hands over finished handshakes (which have
//! a timeout of their own), so the same rules hold after it. An upgraded
//! signaling socket is the session's to time out (`signal.rs`).
//!
//! This is the loop axum's `serve` runs, with those settings, the
//! per-address cap, and the client's address given to handlers as
//! [`ConnectInfo`] (what `into_make_service_with_connect_info` did).

use super::listen::ClientAddr;
use axum::{body::Body, extract::ConnectInfo, http::Request, serve::Listener, Extension, Router};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto::Builder,
    service::TowerToHyperService,
};
use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::sync::{mpsc, watch};
use tower::{Layer, ServiceExt};

/// How many of something (connections, signaling sockets) each client
/// address holds now.
#[derive(Clone, Default)]
pub struct PerAddress(Arc<Mutex<HashMap<IpAddr, u32>>>);

/// One held by an address; given back when dropped.
pub struct Slot {
    counts: PerAddress,
    ip: IpAddr,
}

impl PerAddress {
    /// A slot for `ip`, unless it already holds `limit`.
    pub fn take(&self, ip: IpAddr, limit: u32) -> Option<Slot> {
        let mut counts = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let count = counts.entry(ip).or_default();
        if *count >= limit {
            return None;
        }
        *count += 1;
        Some(Slot { counts: self.clone(), ip })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.counts.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = counts.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

/// How connections are served.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub header_timeout: Duration,
    pub per_address: u32,
}

/// Serves `router` on `listener` until `stop` turns true. Then each
/// connection finishes the request in hand (hyper's graceful shutdown),
/// and this returns once every connection has closed.
pub async fn serve<L>(mut listener: L, router: Router, limits: Limits, mut stop: watch::Receiver<bool>)
where
    L: Listener<Addr = SocketAddr>,
{
    let connections = PerAddress::default();
    // Every connection's task holds a sender: when all are gone, all closed.
    let (open, mut closed) = mpsc::channel::<()>(1);
    loop {
        let (io, addr) = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|stop| *stop) => break,
        };
        let Some(slot) = connections.take(addr.ip(), limits.per_address) else {
            tracing::debug!(%addr, "too many connections from one address; closed at once");
            continue;
        };
        let service = Extension(ConnectInfo(ClientAddr(addr)))
            .layer(router.clone())
            .map_request(|request: Request<Incoming>| request.map(Body::new));
        let (open, mut stop) = (open.clone(), stop.clone());
        tokio::spawn(async move {
            let _slot = slot;
            let _open = open;
            let mut builder = Builder::new(TokioExecutor::new());
            builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
            let connection =
                builder.serve_connection_with_upgrades(TokioIo::new(io), TowerToHyperService::new(service));
            tokio::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(err) = result {
                        tracing::trace!(%addr, %err, "connection ended");
                    }
                    return;
                }
                _ = stop.wait_for(|stop| *stop) => connection.as_mut().graceful_shutdown(),
            }
            let _ = connection.await;
        });
    }
    drop(open);
    drop(listener);
    let _ = closed.recv().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_holds_at_most_its_limit_and_gets_slots_back() {
        let counts = PerAddress::default();
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let first = counts.take(a, 2).unwrap();
        let _second = counts.take(a, 2).unwrap();
        assert!(counts.take(a, 2).is_none());
        assert!(counts.take(b, 2).is_some(), "another address is not held up");
        drop(first);
        assert!(counts.take(a, 2).is_some());
    }
}
