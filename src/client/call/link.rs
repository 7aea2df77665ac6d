//! The call's link to the signaling server: connecting, reconnecting with
//! backoff and jitter, resuming as the same participant, and reconciling the
//! peer list after a `welcome`.
//!
//! What a reconnect keeps depends on how the socket ended (see section 2 of
//! docs/protocol.md): after a server restart or a network drop, every peer
//! connection stays up and the room is merged back as people return; after
//! an eviction (4008), the others were told this participant left, so every
//! connection is closed and made again.

use super::{upgrade, Call};
use crate::{
    app::{Connection, Link, Remote},
    client::{signaling::Socket, warn},
    protocol::{ClientMsg, CloseCode, PeerId, PeerInfo, Resume, PROTOCOL_VERSION},
};
use leptos::prelude::*;
use std::{
    cell::{Cell, RefCell},
    collections::{HashSet, VecDeque},
    time::Duration,
};
use wasm_bindgen::{closure::Closure, JsCast};

/// Close code of an eviction: messages were lost, start over.
/// The first retry waits about this long, doubling up to [`MAX_DELAY_MS`].
const FIRST_DELAY_MS: f64 = 250.0;
const MAX_DELAY_MS: f64 = 2_000.0;
/// Signals kept while the socket is down; a long outage makes older ones
/// useless (a later ICE restart supersedes them).
const MAX_PENDING: usize = 500;

/// The signaling side of a call: the socket, and what it takes to come
/// back on a new one as the same participant.
#[derive(Default)]
pub(super) struct Signaling {
    pub(super) socket: RefCell<Option<Socket>>,
    /// The name this participant joined with, for joining again.
    pub(super) joined_as: RefCell<Option<String>>,
    /// Whether the current socket has been welcomed (signals may go out).
    pub(super) welcomed: Cell<bool>,
    /// Signals made while the socket was down, sent after the next welcome.
    pub(super) pending: RefCell<VecDeque<ClientMsg>>,
    /// The room password the person typed, for this join and every rejoin.
    pub(super) password: RefCell<Option<String>>,
    /// Who this participant is, and its token to come back as it after a
    /// reconnect (the one place that says who "I" am: see [`Call::me`]).
    pub(super) resume: RefCell<Option<Resume>>,
    /// Failed connection attempts since the last welcome (for backoff).
    pub(super) attempts: Cell<u32>,
    /// Remote participants the current server session has told us about.
    /// After a server restart, the others are kept only while their peer
    /// connection works, until they come back too.
    pub(super) confirmed: RefCell<HashSet<PeerId>>,
    /// Leaves the call when the tab closes.
    pub(super) on_pagehide: RefCell<Option<Closure<dyn FnMut()>>>,
    pub(super) ice_servers: RefCell<Vec<crate::protocol::IceServer>>,
    /// The server asks for TURN relays only (`relay_only` in `welcome`).
    pub(super) relay_only: Cell<bool>,
}

impl Call {
    /// This participant's id, once the server has welcomed it.
    pub(super) fn me(&self) -> Option<PeerId> {
        self.0.link.resume.borrow().as_ref().map(|resume| resume.id)
    }
}

impl Call {
    /// Opens a socket and joins (or rejoins) the room on it. Before
    /// [`Call::join`] has named the participant, the socket only opens:
    /// see [`Call::warm_up`].
    pub(super) fn connect(&self) {
        self.0.link.welcomed.set(false);
        let weak = std::rc::Rc::downgrade(&self.0);
        let on_open = {
            let weak = weak.clone();
            move || {
                if let Some(call) = upgrade(&weak) {
                    call.send_join();
                }
            }
        };
        let on_message = {
            let weak = weak.clone();
            move |msg| {
                if let Some(call) = upgrade(&weak) {
                    call.handle(msg);
                }
            }
        };
        let on_close = move |code: u16, reason: String| {
            if let Some(call) = upgrade(&weak) {
                call.disconnected(code, &reason);
            }
        };
        match Socket::connect(on_open, on_message, on_close) {
            Ok(socket) => *self.0.link.socket.borrow_mut() = Some(socket),
            Err(err) => {
                warn(&format!("moim: cannot open the signaling socket: {}", crate::client::js_error(&err)));
                if self.0.link.joined_as.borrow().is_some() {
                    self.retry_later();
                }
            }
        }
    }

    /// Sends `join` on the open socket, once a name has been chosen.
    pub(super) fn send_join(&self) {
        let state = self.0.state;
        let Some(name) = self.0.link.joined_as.borrow().clone() else { return };
        let join = ClientMsg::Join {
            version: PROTOCOL_VERSION,
            room: state.room,
            name,
            media: state.media.get_untracked(),
            resume: self.0.link.resume.borrow().clone(),
            password: self.0.link.password.borrow().clone(),
            host_token: super::host_token(state.room),
            device: super::device_key(),
        };
        self.send(&join);
    }

    /// Opens the socket while the camera is still opening, so that `join`
    /// goes out the moment the devices are ready rather than a handshake
    /// later (about 30 ms on loopback, a round trip or two more over TLS).
    /// The server closes a socket that has not joined within its join
    /// timeout; [`Call::disconnected`] then just forgets it.
    pub(super) fn warm_up(&self) {
        if !self.0.link.socket.borrow().as_ref().is_some_and(|s| s.is_open() || s.is_connecting()) {
            self.connect();
        }
    }

    /// Joins on the socket there is (open, or about to open and join from
    /// its `on_open`), or on a new one.
    pub(super) fn join_now(&self) {
        let (open, connecting) = match self.0.link.socket.borrow().as_ref() {
            Some(socket) => (socket.is_open(), socket.is_connecting()),
            None => (false, false),
        };
        match (open, connecting) {
            (true, _) => self.send_join(),
            (false, true) => {}
            (false, false) => self.connect(),
        }
    }

    /// The socket closed: keep the call going and try again.
    fn disconnected(&self, code: u16, reason: &str) {
        if self.0.left.get() {
            return;
        }
        if self.0.link.joined_as.borrow().is_none() {
            // A warmed-up socket nobody joined on: the next join opens
            // another. (It is not dropped here, inside its own close
            // handler: that would free the handler while it runs.)
            return;
        }
        self.0.link.welcomed.set(false);
        if CloseCode::from_code(code) == Some(CloseCode::TooSlow) {
            // The room was told this participant left: start over.
            for id in self.0.peers.borrow().keys().copied().collect::<Vec<_>>() {
                self.remove_remote(id);
            }
            self.0.link.pending.borrow_mut().clear();
        }
        warn(&format!("moim: signaling closed ({code} {reason}); reconnecting"));
        self.0.state.link.set(Link::Reconnecting);
        self.retry_later();
    }

    /// Schedules the next attempt: a random wait between half and all of
    /// 250 ms × 2ⁿ (at most 2 s), so that clients do not all hit a server
    /// that comes back at the same instant.
    fn retry_later(&self) {
        let n = self.0.link.attempts.get();
        self.0.link.attempts.set(n.saturating_add(1));
        let ceiling = (FIRST_DELAY_MS * 2f64.powi(n.min(8) as i32)).min(MAX_DELAY_MS);
        let delay = ceiling * (0.5 + js_sys::Math::random() / 2.0);
        let weak = std::rc::Rc::downgrade(&self.0);
        set_timeout(
            move || {
                if let Some(call) = upgrade(&weak) {
                    if !call.0.left.get() {
                        call.connect();
                    }
                }
            },
            Duration::from_millis(delay as u64),
        );
    }

    /// The server was too busy to check the password of our `join`: ask
    /// again in a moment, on the same socket.
    pub(super) fn join_again_soon(&self) {
        let delay = 1000.0 + 1000.0 * js_sys::Math::random();
        let weak = std::rc::Rc::downgrade(&self.0);
        set_timeout(
            move || {
                if let Some(call) = upgrade(&weak) {
                    if !call.0.left.get() && !call.0.link.welcomed.get() {
                        call.join_now();
                    }
                }
            },
            Duration::from_millis(delay as u64),
        );
    }

    /// A closing tab often drops its socket without a close frame, which
    /// the server would take for a network blip and hold the place for a
    /// while: say goodbye explicitly, so the others see this person go at once.
    pub(super) fn leave_with_the_page(&self) {
        let Some(window) = web_sys::window() else { return };
        let weak = std::rc::Rc::downgrade(&self.0);
        let handler = Closure::<dyn FnMut()>::new(move || {
            if let Some(call) = upgrade(&weak) {
                call.leave();
            }
        });
        let _ = window.add_event_listener_with_callback("pagehide", handler.as_ref().unchecked_ref());
        *self.0.link.on_pagehide.borrow_mut() = Some(handler);
    }

    pub(super) fn forget_the_page(&self) {
        let Some(handler) = self.0.link.on_pagehide.borrow_mut().take() else { return };
        if let Some(window) = web_sys::window() {
            let _ = window.remove_event_listener_with_callback("pagehide", handler.as_ref().unchecked_ref());
        }
        // Dropping a closure while the browser runs it is an error: the
        // pagehide handler itself ends up here through `leave`.
        leptos::prelude::set_timeout(move || drop(handler), Duration::ZERO);
    }

    pub(super) fn send(&self, msg: &ClientMsg) -> bool {
        self.0.link.socket.borrow().as_ref().is_some_and(|s| s.send(msg))
    }

    /// Sends a signal now, or after the next welcome if the socket is down.
    pub(super) fn send_signal(&self, msg: ClientMsg) {
        if self.0.link.welcomed.get() && self.send(&msg) {
            return;
        }
        let mut pending = self.0.link.pending.borrow_mut();
        if pending.len() >= MAX_PENDING {
            pending.pop_front();
            warn("moim: too many signals waiting for the server; dropping the oldest");
        }
        pending.push_back(msg);
    }

    /// Takes in a `welcome`: who this participant is now, and who is there.
    pub(super) fn welcomed(&self, you: PeerId, token: String, resumed: bool, peers: Vec<PeerInfo>) {
        let state = self.0.state;
        let before = self.0.link.resume.replace(Some(Resume { id: you, token })).map(|resume| resume.id);
        self.0.link.attempts.set(0);
        self.0.link.welcomed.set(true);
        state.link.set(Link::Connected);
        if before.is_some_and(|before| before != you) {
            // The server did not take our token (its key changed): the
            // others know us under a new id, so every connection starts over.
            for id in self.0.peers.borrow().keys().copied().collect::<Vec<_>>() {
                self.remove_remote(id);
            }
        }
        let listed: HashSet<PeerId> = peers.iter().map(|p| p.id).collect();
        if resumed {
            // The server kept our place, so its list is the whole room.
            let gone: Vec<PeerId> = state
                .remotes
                .with_untracked(|all| all.iter().map(|r| r.id).filter(|id| !listed.contains(id)).collect());
            for id in gone {
                self.remove_remote(id);
            }
        }
        *self.0.link.confirmed.borrow_mut() = listed;
        for info in peers {
            let id = info.id;
            match state.remote(id) {
                Some(remote) => {
                    remote.name.set(info.name);
                    remote.media.set(info.media);
                }
                None => state.remotes.update(|all| all.push(Remote::new(id, info.name, info.media))),
            }
            let connected = self.0.peers.borrow().contains_key(&id);
            match connected {
                true => self.mend(id),
                // A forwarded room has no mesh to join.
                false if self.forwarded() => {}
                // The one who (re)joins makes the first offer.
                false => _ = self.open_peer(id, true),
            }
        }
        let pending: Vec<ClientMsg> = self.0.link.pending.borrow_mut().drain(..).collect();
        for msg in pending {
            self.send(&msg);
        }
        // Anyone kept from before who no longer has a working connection is gone.
        let stale: Vec<(PeerId, Connection)> =
            state.remotes.with_untracked(|all| all.iter().map(|r| (r.id, r.connection.get_untracked())).collect());
        for (id, connection) in stale {
            self.connection_changed(id, connection);
        }
    }
}
