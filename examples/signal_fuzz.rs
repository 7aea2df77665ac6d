//! Loopback fuzz benchmark (`make bench`): sends `--frames` random and
//! mutated frames (default 1,000,000) to a running moim server over
//! `--sockets` connections, then checks that the server process is alive
//! and still serves a normal call. Prints the frame rate and what the
//! server answered. The server's log is checked for panics by the caller
//! (scripts/bench.sh), since a panic in a server task is logged, not fatal.
//!
//! The frames are made by `tests/support/fuzz.rs`, which `tests/fuzz.rs`
//! also runs (with fewer frames) in `make test`.

#[path = "../tests/support/fuzz.rs"]
mod fuzz;

use futures_util::{SinkExt, StreamExt};
use moim::protocol::{ClientMsg, Encode, MediaState, RoomId, SdpType, ServerMsg, Signal, PROTOCOL_VERSION};
use std::time::Instant;
use tokio_tungstenite::tungstenite::Message;

#[derive(clap::Parser)]
struct Args {
    /// The server's signaling socket.
    #[arg(long, default_value = "ws://127.0.0.1:3302/ws")]
    url: String,
    #[arg(long, default_value_t = 1_000_000)]
    frames: u64,
    #[arg(long, default_value_t = 32)]
    sockets: u64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[tokio::main]
async fn main() {
    let args = <Args as clap::Parser>::parse();
    let start = Instant::now();
    let report = fuzz::run(&args.url, args.frames, args.sockets, args.seed).await;
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{} frames handled in {seconds:.1} s ({:.0} frames/s) over {} sockets; {} lost",
        report.handled,
        report.handled as f64 / seconds,
        args.sockets,
        report.lost
    );
    println!("replies: {}; errors by code: {:?}", report.replies, report.errors);
    println!("sockets closed by the server, by close code: {:?}; refused: {}", report.closes, report.refused);
    match call(&args.url).await {
        Ok(()) => println!("after the fuzz run: a normal call (join, join, offer relayed) works"),
        Err(err) => {
            println!("after the fuzz run: a normal call FAILED: {err}");
            std::process::exit(1);
        }
    }
}

/// Two participants join a fresh room and one relays an offer to the other.
async fn call(url: &str) -> Result<(), String> {
    let room = RoomId::random();
    let join = |name: &str| ClientMsg::Join {
        version: PROTOCOL_VERSION,
        room,
        name: name.into(),
        media: MediaState::default(),
        resume: None,
        password: None,
        host_token: None,
        device: None,
    };
    let (mut ada, _) = tokio_tungstenite::connect_async(url).await.map_err(|e| e.to_string())?;
    let (mut bob, _) = tokio_tungstenite::connect_async(url).await.map_err(|e| e.to_string())?;
    ada.send(Message::text(join("Ada").encode())).await.map_err(|e| e.to_string())?;
    expect(&mut ada, |m| matches!(m, ServerMsg::Welcome { .. })).await?;
    bob.send(Message::text(join("Bob").encode())).await.map_err(|e| e.to_string())?;
    let ServerMsg::Welcome { you: bob_id, .. } = expect(&mut bob, |m| matches!(m, ServerMsg::Welcome { .. })).await?
    else {
        unreachable!()
    };
    let offer = ClientMsg::Signal {
        to: bob_id,
        signal: Signal::Description { sdp_type: SdpType::Offer, sdp: "v=0\r\n".into() },
    };
    ada.send(Message::text(offer.encode())).await.map_err(|e| e.to_string())?;
    expect(&mut bob, |m| matches!(m, ServerMsg::Signal { .. })).await?;
    Ok(())
}

async fn expect<S>(ws: &mut S, want: impl Fn(&ServerMsg) -> bool) -> Result<ServerMsg, String>
where
    S: StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let next = tokio::time::timeout_at(deadline, ws.next()).await.map_err(|_| "no answer in 5 s".to_string())?;
        match next {
            Some(Ok(Message::Text(text))) => {
                let msg = ServerMsg::decode(&text).map_err(|e| e.to_string())?;
                if want(&msg) {
                    return Ok(msg);
                }
            }
            Some(Ok(_)) => {}
            other => return Err(format!("socket ended: {other:?}")),
        }
    }
}
