//! A signaling session: one websocket per participant, once
//! `upgrade.rs` has let it in.
//!
//! Each socket is two tasks (as in axum's chat example): this one reads and
//! dispatches, keeping the per-connection state; a writer task drains the
//! participant's bounded outbox. When either ends, the other is ended too.
//!
//! How a socket ends decides what the room hears (see [`End`]): a goodbye
//! is passed on at once, a broken socket keeps its place for a while (the
//! writer hands its queue back so nothing queued is lost), and a shutdown
//! tells nobody anything. docs/protocol.md lists the close codes.

use super::{
    access::{hash_password, verify_password, Stored},
    forward::ForwardError,
    limit::TokenBucket,
    rooms::{Admitted, Entry, Frame, HostError, JoinError, Kick, MediaError, Parked, Queue, RelayError, Socket},
    secret::now_ms,
    serve::Slot,
    AppState,
};
use crate::protocol::{
    clean_name, ClientMsg, CloseCode, Encode, ErrorCode, PeerId, PeerInfo, ProtocolError, RoomId, RoomMode, ServerMsg,
    MAX_DEVICE_CHARS, MAX_NAME_CHARS, MAX_PASSWORD_BYTES, PROTOCOL_VERSION,
};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::{
    stream::{SplitSink, SplitStream},
    SinkExt, StreamExt,
};
use std::net::IpAddr;
use std::{
    ops::ControlFlow,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};
use tokio::{sync::mpsc, time::Instant};

/// What [`Connection::handle`] did with a message.
enum Handled {
    Done(ControlFlow<()>),
    /// Needs to await: see [`Connection::handle_slow`].
    Slow(ClientMsg),
}

/// How a socket's reading side ended, which decides what the room hears.
enum End {
    /// The participant said goodbye (`leave` or a close frame), or the
    /// server gave up on it: the others are told at once.
    Left,
    /// The connection broke without a goodbye: keep the place for a while.
    Broken,
    /// The server is stopping: tell nobody anything.
    Shutdown,
}

pub(super) async fn session(socket: WebSocket, state: AppState, ip: IpAddr, _slot: Slot) {
    // Held until this socket is done, so shutdown can wait for it.
    let _running = state.sessions.enter();
    let (sink, stream) = socket.split();
    let (outbox, queue) = mpsc::channel(state.config.send_queue.max(8));
    let kick = Arc::new(Kick::default());
    let id = NEXT_SOCKET.fetch_add(1, Ordering::Relaxed);
    let mut writer = tokio::spawn(write(sink, queue, kick.clone()));
    let bucket = TokenBucket::new(state.config.rate_per_sec, state.config.rate_burst);
    let mut conn = Connection {
        state,
        ip,
        socket: Socket { id, outbox, kick: kick.clone() },
        joined: None,
        bucket,
        refused_in_a_row: 0,
        token_issued_ms: 0,
    };
    let mut stream = stream;
    let (end, written) = tokio::select! {
        end = conn.read(&mut stream) => (end, None),
        written = &mut writer => (End::Broken, written.ok()),
    };
    let written = match written {
        Some(written) => Some(written),
        None => {
            if matches!(end, End::Broken) {
                // Nothing more can reach this socket: stop the writer and
                // keep what it had not sent.
                kick.send(None);
            }
            // Otherwise let the writer flush the last replies and the close frame.
            match tokio::time::timeout(Duration::from_secs(2), &mut writer).await {
                Ok(written) => written.ok(),
                Err(_) => {
                    writer.abort();
                    None
                }
            }
        }
    };
    let broken = matches!(end, End::Broken);
    match (end, conn.joined.take(), written) {
        (End::Shutdown, ..) => {}
        (End::Broken, Some((room, peer)), Some(parked)) => conn.park(room, peer, parked),
        (_, Some((room, peer)), _) => conn.state.rooms.leave(room, peer, id),
        (_, None, _) => {}
    }
    if !broken {
        // Read what the client still sends until it answers the close: a
        // socket closed with input unread is reset, and the reset makes the
        // client's system throw away what the client had not read yet (a
        // flood's `rate_limited` answers, and the close frame that says why).
        let _ = tokio::time::timeout(Duration::from_secs(2), drain(&mut stream)).await;
    }
}

/// Reads and drops what the client sends until it closes or stops.
async fn drain(stream: &mut SplitStream<WebSocket>) {
    while let Some(Ok(frame)) = stream.next().await {
        if matches!(frame, Message::Close(_)) {
            break;
        }
    }
}

/// Gives each socket its own number (see [`Socket::id`]).
static NEXT_SOCKET: AtomicU64 = AtomicU64::new(1);

/// When a browser may ask again after the server had too many passwords
/// to check.
const PASSWORD_RETRY_MS: u64 = 1000;

/// Drains the outbox into the socket until every sender is gone, a close
/// frame has been sent, or the socket is kicked. Hands the queue back, so
/// that a participant whose socket broke can get it on another one.
async fn write(mut sink: SplitSink<WebSocket, Message>, mut queue: Queue, kick: Arc<Kick>) -> Parked {
    let mut unsent = None;
    loop {
        let frame = tokio::select! {
            // A kicked socket gets its close frame before anything else queued.
            biased;
            code = kick.wait() => code.map(Frame::Close),
            outgoing = queue.recv() => outgoing.map(|outgoing| outgoing.frame),
        };
        let Some(frame) = frame else { break };
        let closing = matches!(frame, Frame::Close(_));
        if let Err(_broken) = sink.send(message(&frame)).await {
            unsent = (!closing).then_some(frame);
            break;
        }
        if closing {
            break;
        }
    }
    let _ = sink.close().await;
    Parked { queue, unsent }
}

/// The websocket message for a frame of the outbox.
fn message(frame: &Frame) -> Message {
    match frame {
        Frame::Text(text) => Message::Text(text.clone()),
        Frame::Close(code) => {
            Message::Close(Some(CloseFrame { code: code.code(), reason: Utf8Bytes::from_static(code.reason()) }))
        }
    }
}

/// The reading side of one socket, with its per-connection state.
struct Connection {
    state: AppState,
    /// The client's address, for the brake on password guessing.
    ip: IpAddr,
    socket: Socket,
    joined: Option<(RoomId, PeerId)>,
    /// This socket's message allowance (`rate_per_sec`, `rate_burst`).
    bucket: TokenBucket,
    /// Frames refused by the rate limit since the last one let through.
    refused_in_a_row: u32,
    /// When the participant's current resume token was made.
    token_issued_ms: u64,
}

impl Connection {
    async fn read(&mut self, stream: &mut SplitStream<WebSocket>) -> End {
        let join_deadline = Instant::now() + self.state.config.join_timeout();
        let mut shutdown = self.state.shutdown.clone();
        // Only messages keep a socket alive: websocket pings and pongs,
        // which cost a client nothing to send, do not put the idle deadline off.
        let mut heard = Instant::now();
        loop {
            let deadline = match self.joined {
                Some(_) => heard + self.state.config.idle_timeout(),
                None => join_deadline,
            };
            let next = tokio::select! {
                next = tokio::time::timeout_at(deadline, stream.next()) => next,
                _ = shutdown.wait_for(|stop| *stop) => {
                    self.send(Frame::Close(CloseCode::Restarting));
                    return End::Shutdown;
                }
            };
            // Frames already read into memory come without a wait, so a
            // flood would keep this task running, and on a busy thread keep
            // its own writer (and every other socket there) from running:
            // each frame counts against tokio's cooperative budget.
            tokio::task::consume_budget().await;
            let frame = match next {
                Err(_) if self.joined.is_some() => {
                    self.send(Frame::Close(CloseCode::Idle));
                    return End::Left;
                }
                Err(_) => {
                    self.send(Frame::Close(CloseCode::NoJoin));
                    return End::Left;
                }
                Ok(None) => return End::Broken,
                Ok(Some(Err(err))) => {
                    // tungstenite reports frames over READ_LIMIT as "too long";
                    // anything else is a reset or broken framing.
                    if err.to_string().contains("too long") {
                        self.state.reject(&err);
                        self.send(Frame::Close(CloseCode::TooLarge));
                        return End::Left;
                    }
                    // (Nothing is sent: a close frame would wait in the
                    // outbox and reach the participant's next socket.)
                    tracing::debug!(%err, "signaling socket broke");
                    return End::Broken;
                }
                Ok(Some(Ok(frame))) => frame,
            };
            // Every frame takes a token, pings and pongs too: each costs a read.
            if !matches!(frame, Message::Close(_)) && !self.bucket.take() {
                // Refused, not dropped: the client hears about every frame.
                self.refused_in_a_row += 1;
                if self.refused_in_a_row > self.state.config.rate_burst {
                    self.state.reject(&"rate limit: still sending after a burst of refusals");
                    self.send(Frame::Close(CloseCode::TooFast));
                    return End::Left;
                }
                let wait = self.bucket.wait().as_millis() + 1;
                let text = format!("sending too fast: try again in {wait} ms");
                let _ = self.refuse_with(ServerMsg::error(ErrorCode::RateLimited, text).retry_after(wait as u64));
                continue;
            }
            self.refused_in_a_row = 0;
            if matches!(frame, Message::Text(_) | Message::Binary(_)) {
                heard = Instant::now();
            }
            let result = match frame {
                Message::Text(text) => ClientMsg::decode(&text),
                Message::Binary(_) => Err(ProtocolError::Binary),
                Message::Ping(_) | Message::Pong(_) => continue,
                Message::Close(_) => return End::Left,
            };
            match result {
                Ok(msg) => {
                    let flow = match self.handle(msg) {
                        Handled::Done(flow) => flow,
                        // Boxed: joining awaits a disk read and password
                        // hashing, and inline that state would make every
                        // socket's task larger for as long as it lives
                        // (BENCHMARKS.md, section 3). Relayed signals and
                        // the other messages are handled without awaiting,
                        // so they allocate nothing for it.
                        Handled::Slow(msg) => Box::pin(self.handle_slow(msg)).await,
                    };
                    if flow.is_break() {
                        return End::Left;
                    }
                }
                Err(err) => {
                    self.state.reject(&err);
                    self.reply(err.to_reply());
                    if err.code() == ErrorCode::TooLarge {
                        self.send(Frame::Close(CloseCode::TooLarge));
                        return End::Left;
                    }
                }
            }
        }
    }

    /// Handles a message at once, or hands back one that must wait for
    /// something (`join`, a new password's hash) to [`Self::handle_slow`].
    fn handle(&mut self, msg: ClientMsg) -> Handled {
        match (&msg, self.joined) {
            (ClientMsg::Join { .. }, None)
            | (ClientMsg::SetPassword { .. }, Some(_))
            | (ClientMsg::ForwardOffer { .. }, Some(_))
            | (ClientMsg::SetPresentersOnly { .. }, Some(_))
            | (ClientMsg::SetPresenter { .. }, Some(_)) => Handled::Slow(msg),
            _ => Handled::Done(self.handle_now(msg)),
        }
    }

    fn handle_now(&mut self, msg: ClientMsg) -> ControlFlow<()> {
        match (msg, self.joined) {
            (ClientMsg::Ping, joined) => {
                // Browsers ping every 15 s: their token stays fresh while
                // they are in the room, and ages from the moment they leave.
                // The new token comes before the pong, so a ping is still a
                // barrier for everything it causes.
                let now = now_ms();
                let renewal = self.state.config.resume_renewal().as_millis() as u64;
                if let Some((room, you)) = joined.filter(|_| now.saturating_sub(self.token_issued_ms) > renewal) {
                    self.token_issued_ms = now;
                    self.reply(ServerMsg::ResumeToken { token: self.state.secret.resume_token(room, you, now) });
                }
                self.reply(ServerMsg::Pong);
            }
            (ClientMsg::Join { .. }, Some(_)) => {
                return self.refuse(ErrorCode::AlreadyJoined, "this socket has already joined a room")
            }
            (_, None) => return self.refuse(ErrorCode::NotJoined, "send join first"),
            (ClientMsg::Signal { to, signal }, Some((room, from))) => {
                match self.state.rooms.relay(room, from, to, signal) {
                    Ok(()) => {}
                    Err(err @ RelayError::UnknownPeer(_)) => {
                        return self.refuse(ErrorCode::UnknownPeer, err.to_string())
                    }
                    Err(err @ RelayError::Busy(_)) => return self.refuse(ErrorCode::RateLimited, err.to_string()),
                }
            }
            (ClientMsg::ForwardView { peer, width, height }, Some((room, id))) => {
                if let Some(forward) = &self.state.forward {
                    forward.view(room, id, peer, width, height);
                }
            }
            (ClientMsg::Chat { to, msg }, Some((room, from))) => {
                if self.state.rooms.mode(room) != RoomMode::Forwarded {
                    return self.refuse(ErrorCode::NotForwarded, "chat goes browser to browser in this meeting");
                }
                match self.state.rooms.chat(room, from, to, msg) {
                    Ok(()) => {}
                    Err(err @ RelayError::UnknownPeer(_)) => {
                        return self.refuse(ErrorCode::UnknownPeer, err.to_string())
                    }
                    Err(err @ RelayError::Busy(_)) => return self.refuse(ErrorCode::RateLimited, err.to_string()),
                }
            }
            (ClientMsg::Media { media }, Some((room, id))) => {
                if let Err(err) = self.state.rooms.set_media(room, id, media) {
                    return self.refuse(err.code(), err.to_string());
                }
            }
            (ClientMsg::Lock { locked }, Some((room, id))) => {
                let now = now_ms();
                let sizes = self.state.sizes();
                return self.host_result(self.state.rooms.update(room, id, sizes, |stored| stored.lock(locked, now)));
            }
            (ClientMsg::SetShare { share }, Some((room, id))) => {
                let sizes = self.state.sizes();
                return self.host_result(self.state.rooms.update(room, id, sizes, |stored| stored.share = share));
            }
            (ClientMsg::Remove { id: target }, Some((room, id))) => {
                let removed = self.state.rooms.remove(room, id, target);
                if let (Ok(()), Some(forward)) = (&removed, &self.state.forward) {
                    // Their media stops now, not at the next sweep.
                    forward.leave(room, target);
                }
                return self.host_result(removed);
            }
            (ClientMsg::MakeHost { id: target }, Some((room, id))) => {
                let grant = uuid::Uuid::new_v4();
                let token = self.state.secret.host_token(room, grant);
                return self.host_result(self.state.rooms.make_host(room, id, target, grant, token));
            }
            (ClientMsg::RevokeHost { id: target }, Some((room, id))) => {
                return self.host_result(self.state.rooms.revoke_host(room, id, target));
            }
            (ClientMsg::Leave, Some((room, id))) => {
                self.joined = None;
                self.state.rooms.leave(room, id, self.socket.id);
                if let Some(forward) = &self.state.forward {
                    forward.leave(room, id);
                }
                self.send(Frame::Close(CloseCode::Left));
                return ControlFlow::Break(());
            }
            // `handle` sends these (and `join`) to `handle_slow`.
            (
                ClientMsg::SetPassword { .. }
                | ClientMsg::ForwardOffer { .. }
                | ClientMsg::SetPresentersOnly { .. }
                | ClientMsg::SetPresenter { .. },
                Some(_),
            ) => {}
        }
        ControlFlow::Continue(())
    }

    /// The messages that await something; see the caller for why boxed.
    async fn handle_slow(&mut self, msg: ClientMsg) -> ControlFlow<()> {
        match (msg, self.joined) {
            (join @ ClientMsg::Join { .. }, None) => self.join(join).await,
            (ClientMsg::ForwardOffer { sdp, sending }, Some((room, id))) => {
                let forward = self.state.forward.clone().filter(|_| self.state.rooms.mode(room) == RoomMode::Forwarded);
                let Some(forward) = forward else {
                    return self.refuse(ErrorCode::NotForwarded, "this meeting's media is not forwarded by the server");
                };
                if !sending.is_empty() && !self.state.rooms.may_send(room, id) {
                    return self.refuse(ErrorCode::NotPresenter, MediaError::NotPresenter.to_string());
                }
                match forward.offer(room, id, sdp, sending).await {
                    Ok(sdp) => self.reply(ServerMsg::ForwardAnswer { sdp }),
                    Err(err @ ForwardError::Full(_)) => return self.refuse(ErrorCode::RoomFull, err.to_string()),
                    Err(err @ ForwardError::Gone) => return self.refuse(ErrorCode::UnknownPeer, err.to_string()),
                    Err(err) => return self.refuse(ErrorCode::Malformed, err.to_string()),
                }
                ControlFlow::Continue(())
            }
            (ClientMsg::SetPresentersOnly { presenters_only }, Some((room, id))) => {
                let sizes = self.state.sizes();
                let set = self.state.rooms.update(room, id, sizes, |stored| stored.presenters_only = presenters_only);
                self.refresh_forwarding(room, &set).await;
                self.host_result(set)
            }
            (ClientMsg::SetPresenter { id: target, presenter }, Some((room, id))) => {
                let set = self.state.rooms.set_presenter(room, id, target, presenter);
                self.refresh_forwarding(room, &set).await;
                self.host_result(set)
            }
            (ClientMsg::SetPassword { password }, Some((room, id))) => {
                if password.len() > MAX_PASSWORD_BYTES {
                    return self.refuse(
                        ErrorCode::Malformed,
                        format!("a password may have at most {MAX_PASSWORD_BYTES} bytes"),
                    );
                }
                if !self.state.rooms.is_host(room, id) {
                    return self.refuse(ErrorCode::NotHost, HostError::NotHost.to_string());
                }
                let hash = match password.is_empty() {
                    true => None,
                    false => match self.state.password_work.run(move || hash_password(&password)).await {
                        Ok(hash) => Some(hash),
                        Err(busy) => {
                            let busy = ServerMsg::error(ErrorCode::RateLimited, busy.to_string());
                            return self.refuse_with(busy.retry_after(PASSWORD_RETRY_MS));
                        }
                    },
                };
                let now = now_ms();
                let sizes = self.state.sizes();
                self.host_result(self.state.rooms.update(room, id, sizes, |stored| stored.set_password(hash, now)))
            }
            _ => ControlFlow::Continue(()),
        }
    }

    /// Admits a `join` (see [`Connection::admit`]) and puts the socket in
    /// its room.
    async fn join(&mut self, msg: ClientMsg) -> ControlFlow<()> {
        let ClientMsg::Join { version, room, name, media, resume, password, host_token, device } = msg else {
            return ControlFlow::Continue(());
        };
        if version != PROTOCOL_VERSION {
            let text = format!("this server speaks protocol {PROTOCOL_VERSION}, not {version}: reload the page");
            return self.refuse(ErrorCode::Version, text);
        }
        let Some(name) = clean_name(&name) else {
            return self.refuse(ErrorCode::BadName, format!("a name must have 1 to {MAX_NAME_CHARS} characters"));
        };
        let secret = self.state.secret.clone();
        let now = now_ms();
        // A token that does not check out (an old key, a forged id, past
        // its lifetime) is not an error: the browser simply joins as
        // someone new.
        let resumed = resume.as_ref().and_then(|r| Some((r.id, self.state.fresh_resume(room, r.id, &r.token, now)?)));
        let you = resumed.map_or_else(PeerId::random, |(id, _)| id);
        // A browser key is only ever compared: cap it, keep it as given.
        let device = device.filter(|d| !d.is_empty() && d.len() <= MAX_DEVICE_CHARS);
        let stored = self.state.rooms.settings(room).await;
        let host = stored.host_grant(host_token.and_then(|token| secret.verify_host(room, &token)));
        // A token alone gets past a lock or a password only for someone
        // who is in the room now: reconnecting while the room keeps its
        // place, or, after a server restart (the token is older than this
        // process), with a token made since the last lock or new password.
        // Everyone else is a newcomer to those rules (docs/security.md).
        let returning = resumed.is_some_and(|(id, issued)| {
            self.state.rooms.holds(room, id) || (issued < self.state.started_ms && issued > stored.access_changed_ms)
        });
        let entry = Entry { host, device, returning, checked_hash: stored.password_hash.clone() };
        if let Err(refusal) = self.admit(room, &stored, &entry, you, password).await {
            return self.refuse_with(*refusal);
        }
        // Opening a room nobody is in, as its new host, is what anyone
        // with no link at all can do: limited per address (a host coming
        // back with its capability is not opening a new room).
        let opens = entry.host.is_none() && !returning && stored.is_default() && !self.state.rooms.is_live(room);
        if opens && !self.state.rooms_opened.take(self.ip) {
            let text = "this address has opened too many new meetings lately; try again in a few minutes";
            return self.refuse(ErrorCode::TooManyRooms, text);
        }
        self.token_issued_ms = now;
        let resume_token = secret.resume_token(room, you, now);
        let config = &self.state.config;
        let mut ice_servers = config.ice_servers.clone();
        ice_servers.extend(config.turn.as_ref().map(|turn| turn.credentials(you)));
        let relay_only = config.relay_only;
        let welcome = |admitted: Admitted| ServerMsg::Welcome {
            version,
            you,
            room,
            peers: admitted.peers,
            ice_servers,
            resume_token,
            resumed: admitted.resumed,
            relay_only,
            settings: admitted.settings,
            host_token: admitted.host.map(|grant| secret.host_token(room, grant)),
            mode: admitted.mode,
        };
        let info = PeerInfo { id: you, name, media };
        let sizes = self.state.sizes();
        match self.state.rooms.join(room, info, self.socket.clone(), sizes, entry, welcome) {
            Ok(_) => self.joined = Some((room, you)),
            Err(err) => {
                let refusal = ServerMsg::error(err.code(), err.to_string());
                return self.refuse_with(match err {
                    JoinError::Full(people) => refusal.with_capacity(people as u32),
                    _ => refusal,
                });
            }
        }
        ControlFlow::Continue(())
    }

    /// Decides whether a `join` may enter: hosts always; participants who
    /// were in before (a valid resume token) unless removed; others unless
    /// removed or the room is locked, and with the password if it has one.
    async fn admit(
        &self,
        room: RoomId,
        stored: &Stored,
        entry: &Entry,
        you: PeerId,
        password: Option<String>,
    ) -> Result<(), Box<ServerMsg>> {
        if stored.unreadable {
            let text = "this meeting's settings cannot be read on the server; it stays closed until they are mended";
            return Err(Box::new(ServerMsg::error(ErrorCode::Unavailable, text)));
        }
        if entry.host.is_some() {
            return Ok(());
        }
        if stored.is_removed(you, entry.device.as_deref()) {
            return Err(Box::new(ServerMsg::error(ErrorCode::Removed, "the host removed you from this meeting")));
        }
        if entry.returning {
            return Ok(());
        }
        if stored.locked {
            return Err(Box::new(ServerMsg::error(ErrorCode::RoomLocked, JoinError::Locked.to_string())));
        }
        let Some(hash) = stored.password_hash.clone() else { return Ok(()) };
        let Some(password) = password.filter(|p| !p.is_empty()) else {
            return Err(Box::new(ServerMsg::error(ErrorCode::PasswordRequired, "this meeting needs a password")));
        };
        let ticket = self.state.password_work.reserve().map_err(|busy| {
            Box::new(ServerMsg::error(ErrorCode::RateLimited, busy.to_string()).retry_after(PASSWORD_RETRY_MS))
        })?;
        let attempts = &self.state.attempts;
        if let Err(wait) = attempts.begin(self.ip, room) {
            let secs = wait.as_secs() + 1;
            let text = format!("too many wrong passwords: try again in {secs} s");
            return Err(Box::new(ServerMsg::error(ErrorCode::TooManyAttempts, text).retry_after(secs * 1000)));
        }
        let right = password.len() <= MAX_PASSWORD_BYTES
            && ticket.run(move || verify_password(&hash, &password)).await.unwrap_or(false);
        if !right {
            return Err(Box::new(ServerMsg::error(ErrorCode::WrongPassword, "wrong password")));
        }
        attempts.succeeded(self.ip, room);
        Ok(())
    }

    /// After a change to who presents: the forwarding unit forwards only
    /// them from now on.
    async fn refresh_forwarding(&self, room: RoomId, result: &Result<(), HostError>) {
        if let (Ok(()), Some(forward)) = (result, &self.state.forward) {
            forward.refresh(room).await;
        }
    }

    /// Answers a host request: nothing when it was done, a typed error when not.
    fn host_result(&mut self, result: Result<(), HostError>) -> ControlFlow<()> {
        match result {
            Ok(()) => ControlFlow::Continue(()),
            Err(err) => self.refuse(err.code(), err.to_string()),
        }
    }

    fn refuse(&mut self, code: ErrorCode, message: impl Into<String>) -> ControlFlow<()> {
        self.refuse_with(ServerMsg::error(code, message))
    }

    /// Sends a refusal made with its typed values (`retry_after`, `with_capacity`).
    fn refuse_with(&mut self, refusal: ServerMsg) -> ControlFlow<()> {
        if let ServerMsg::Error { message, .. } = &refusal {
            self.state.reject(message);
        }
        self.reply(refusal);
        ControlFlow::Continue(())
    }

    fn reply(&self, msg: ServerMsg) {
        self.send(Frame::Text(msg.encode().into()));
    }

    /// Queues a frame for this socket; a full queue means the client is not
    /// reading, and it is closed rather than silently missing the frame.
    fn send(&self, frame: Frame) {
        if self.socket.outbox.try_send(Box::new(frame.into())).is_err() {
            self.socket.kick.send(Some(CloseCode::TooSlow));
        }
    }

    /// Keeps the participant's place after its socket broke, and lets it go
    /// once the grace period passes without a resume.
    fn park(&self, room: RoomId, peer: PeerId, parked: Parked) {
        let grace = self.state.config.resume_grace();
        let rooms = &self.state.rooms;
        if grace.is_zero() || !rooms.park(room, peer, self.socket.id, parked) {
            return rooms.leave(room, peer, self.socket.id);
        }
        let rooms = rooms.clone();
        let socket = self.socket.id;
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            rooms.expire(room, peer, socket);
        });
    }
}
