//! The moim server binary: read settings, bind, serve until Ctrl-C or SIGTERM.

use clap::Parser;
use moim::server::{self, config::Config};
use std::{net::SocketAddr, path::PathBuf, process::ExitCode};
use tracing_subscriber::EnvFilter;

/// Rendering a page allocates and frees many small objects (the reactive
/// owner tree, attribute strings); mimalloc's thread-local free lists make
/// that a good deal cheaper than glibc's malloc (make bench, section 4).
/// Built without transparent huge pages (`no_thp` in Cargo.toml): with
/// them, memory freed after a burst of connections stayed resident in 2 MB
/// pages, and each idle signaling socket cost 9-10 KB instead of 7 (section 3).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A self-hostable video-meeting server.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Settings file (see the comments in Leptos.toml).
    #[arg(long, env = "MOIM_CONFIG", default_value = "Leptos.toml")]
    config: PathBuf,
    /// Listen on this address instead of the one in the settings file.
    #[arg(long, env = "MOIM_ADDR")]
    addr: Option<SocketAddr>,
    /// Keep the server's key here instead of the settings file's `data_dir`.
    #[arg(long, env = "MOIM_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Keep uploaded recordings here instead of `[recordings] dir`.
    #[arg(long, env = "MOIM_RECORDINGS_DIR")]
    recordings_dir: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_env("MOIM_LOG").unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    let args = Args::parse();
    let mut config = match Config::load(&args.config) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("moim: {err}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(addr) = args.addr {
        config.address = addr;
    }
    if let Some(dir) = args.data_dir {
        config.data_dir = dir;
    }
    if let Some(dir) = args.recordings_dir {
        config.recordings.dir = dir;
    }
    let listener = match tokio::net::TcpListener::bind(config.address).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("moim: cannot listen on {}: {err}", config.address);
            return ExitCode::FAILURE;
        }
    };
    let scheme = if config.tls.is_some() { "https" } else { "http" };
    tracing::info!("moim listening on {scheme}://{}", config.address);
    match server::run(listener, config, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("moim: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
