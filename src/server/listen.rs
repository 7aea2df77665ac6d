//! How connections come in: plain TCP, or TLS with the built-in HTTPS
//! listener, both with `TCP_NODELAY`.
//!
//! Signaling is small messages in quick succession (a welcome, then offers,
//! answers and candidates). With Nagle's algorithm on, a message sent while
//! the previous one is unacknowledged waits for the peer's delayed ACK, up
//! to 40 ms on Linux; that showed as 30–50 ms per hop in the call-setup
//! benchmark. axum's `serve` leaves the option alone, so both listeners
//! here set it on every accepted socket.
//!
//! HTTPS is for small setups without a reverse proxy: browsers give camera
//! and microphone only to secure origins, so a moim reached by anything but
//! `localhost` needs it. Most deployments put a proxy in front (README,
//! "Deployment"); with `[tls]` in the settings moim speaks TLS itself, from
//! a certificate chain and key in PEM files.
//!
//! Built on tokio-rustls with the `ring` provider rather than axum-server:
//! the connection loop (`serve.rs`) takes any [`Listener`], so a listener
//! that hands out finished TLS streams keeps the one serving path
//! (timeouts, graceful shutdown, connect info) for HTTP and HTTPS, and
//! costs no further dependency. The
//! handshakes run in tasks of their own, so a client that stalls in one
//! delays nobody else.

use axum::serve::Listener;
use serde::Deserialize;
use std::{io, net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::mpsc,
};
use tokio_rustls::{
    rustls::{
        self,
        pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer},
    },
    server::TlsStream,
    TlsAcceptor,
};

/// `[tls]` in the settings: PEM files of the certificate chain (leaf
/// first) and its private key.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A handshake slower than this is given up (it holds a socket and a task).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Finished handshakes waiting for the server to take them.
const QUEUE: usize = 64;

/// Handshakes one address may have under way at once, and all addresses
/// together: each holds a socket, a task and TLS state for up to
/// [`HANDSHAKE_TIMEOUT`] before the connection counts against
/// `connections_per_address`. A handshake takes milliseconds, so a class
/// behind one NAT rarely has more than a few in flight.
pub const HANDSHAKES_PER_ADDRESS: u32 = 32;
pub const HANDSHAKES_IN_ALL: usize = 1024;

/// Why the certificate or key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the TLS certificate {0}: {1}")]
    Cert(PathBuf, String),
    #[error("cannot read the TLS key {0}: {1}")]
    Key(PathBuf, String),
    #[error("the TLS certificate {0} holds no certificate")]
    NoCert(PathBuf),
    #[error("the TLS certificate and key do not fit together: {0}")]
    Config(String),
}

impl Tls {
    /// Reads the files and makes the server side of TLS (1.2 and 1.3,
    /// HTTP/1.1, which carries the websocket upgrade).
    pub fn load(&self) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let certs = CertificateDer::pem_file_iter(&self.cert)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|err| TlsError::Cert(self.cert.clone(), err.to_string()))?;
        if certs.is_empty() {
            return Err(TlsError::NoCert(self.cert.clone()));
        }
        let key =
            PrivateKeyDer::from_pem_file(&self.key).map_err(|err| TlsError::Key(self.key.clone(), err.to_string()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|builder| builder.with_no_client_auth().with_single_cert(certs, key))
            .map_err(|err| TlsError::Config(err.to_string()))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// A TCP listener whose connections come out TLS-decrypted.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Starts accepting on `tcp`; stops when the listener is dropped.
    pub fn new(tcp: TcpListener, config: Arc<rustls::ServerConfig>) -> io::Result<Self> {
        let local = tcp.local_addr()?;
        let acceptor = TlsAcceptor::from(config);
        let (done, ready) = mpsc::channel(QUEUE);
        let per_address = super::serve::PerAddress::default();
        let in_all = Arc::new(tokio::sync::Semaphore::new(HANDSHAKES_IN_ALL));
        tokio::spawn(async move {
            loop {
                let (stream, addr) = tokio::select! {
                    accepted = accept(&tcp) => match accepted {
                        Ok(accepted) => accepted,
                        Err(err) => {
                            // Out of file descriptors, usually: wait, as axum does.
                            tracing::warn!("accept failed: {err}");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    },
                    () = done.closed() => return,
                };
                // Past either limit the connection is closed at once.
                let Some(slot) = per_address.take(addr.ip(), HANDSHAKES_PER_ADDRESS) else { continue };
                let Ok(permit) = in_all.clone().try_acquire_owned() else { continue };
                let acceptor = acceptor.clone();
                let done = done.clone();
                tokio::spawn(async move {
                    let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await;
                    drop((slot, permit));
                    match handshake {
                        Ok(Ok(tls)) => _ = done.send((tls, addr)).await,
                        Ok(Err(err)) => tracing::debug!("TLS handshake with {addr} failed: {err}"),
                        Err(_) => tracing::debug!("TLS handshake with {addr} timed out"),
                    }
                });
            }
        });
        Ok(Self { ready, local })
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(accepted) => accepted,
            // The accepting task only ends once this listener is gone.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// Accepts one connection and turns Nagle's algorithm off on it.
async fn accept(tcp: &TcpListener) -> io::Result<(TcpStream, SocketAddr)> {
    let (stream, addr) = tcp.accept().await?;
    if let Err(err) = stream.set_nodelay(true) {
        tracing::debug!("cannot set TCP_NODELAY for {addr}: {err}");
    }
    Ok((stream, addr))
}

/// Plain TCP, with `TCP_NODELAY` on every connection.
pub struct TcpNoDelay(pub TcpListener);

impl Listener for TcpNoDelay {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match accept(&self.0).await {
                Ok(accepted) => return accepted,
                Err(err) => {
                    // Out of file descriptors, usually: wait, as axum does.
                    tracing::warn!("accept failed: {err}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// The address a connection comes from, over plain TCP or TLS, as handlers
/// get it (`ConnectInfo<ClientAddr>`, given by `serve.rs`).
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub SocketAddr);
