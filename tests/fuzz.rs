//! Loopback fuzzing: random and mutated frames against the real server,
//! which must answer each with a reply or a typed error, never panic, and
//! still serve a normal call afterwards. `make bench` sends a million
//! (examples/signal_fuzz.rs); this test sends `MOIM_FUZZ_FRAMES` (default
//! 20,000) so it stays quick in `make test`.

mod support;

use moim::{
    protocol::{ClientMsg, RoomId, SdpType, ServerMsg, Signal},
    server::config::Config,
};
use std::sync::atomic::{AtomicU64, Ordering};
use support::{fuzz, Server};

static PANICS: AtomicU64 = AtomicU64::new(0);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fuzzed_server_never_panics_and_still_serves_a_call() {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::Relaxed);
        hook(info);
    }));
    let frames = std::env::var("MOIM_FUZZ_FRAMES").ok().and_then(|n| n.parse().ok()).unwrap_or(20_000);
    // Limits that let the frames through to the decoder and the rooms.
    let config = Config {
        rate_per_sec: 1_000_000,
        rate_burst: 1_000_000,
        rooms_per_address_hour: 1_000_000,
        ..Config::default()
    };
    let server = Server::with(config).await;
    let report = fuzz::run(&format!("ws://{}/ws", server.addr), frames, 16, 0x5EED).await;
    println!("{report:#?}");
    assert_eq!(PANICS.load(Ordering::Relaxed), 0, "no panic anywhere");
    assert_eq!(report.handled, frames, "every frame handled: {report:#?}");
    assert_eq!(report.lost, 0);
    for code in ["malformed", "unknown_type", "binary", "not_joined", "bad_name", "version", "too_large"] {
        assert!(report.errors.get(code).copied().unwrap_or(0) > 0, "some {code} errors in {report:#?}");
    }
    assert_eq!(report.refused, 0, "every socket opened");

    // A normal call still works.
    let room = RoomId::random();
    let (mut ada, ada_id, _) = server.joined(room, "Ada").await;
    let (mut bob, bob_id, peers) = server.joined(room, "Bob").await;
    assert_eq!(peers.len(), 1);
    assert!(matches!(ada.recv().await, ServerMsg::PeerJoined { .. }));
    let signal = Signal::Description { sdp_type: SdpType::Offer, sdp: "v=0\r\n".into() };
    ada.send(&ClientMsg::Signal { to: bob_id, signal: signal.clone() }).await;
    assert_eq!(bob.recv().await, ServerMsg::Signal { from: ada_id, signal });
}
