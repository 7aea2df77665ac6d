//! The call: local media, the signaling socket, and one peer per remote
//! participant, written into [`CallState`] for the page to show.
//!
//! Everything is released in [`Call::leave`], which the room page also runs
//! on cleanup: the camera light goes off, connections close, and the socket
//! closes so the others see this participant leave at once.
//!
//! The signaling socket comes and goes (see `link.rs`); the peer connections
//! do not depend on it, so the call goes on while it is down.

mod act;
mod awake;
mod chat;
mod devices;
mod files;
mod forwarded;
mod host;
mod link;
mod record;
mod screen;

use super::{
    media,
    peer::{Events, LocalTracks, Opening, Peer, VideoLimits},
    warn,
};
use crate::client::media::Kind;
use crate::{
    app::{CallState, Connection, Notice, Remote, Stage},
    protocol::{clean_name, ClientMsg, ErrorCode, PeerId, PeerInfo, RoomMode, ServerMsg},
};
use leptos::{prelude::*, task::spawn_local};
use std::{
    cell::{Cell, RefCell},
    collections::HashMap,
    rc::{Rc, Weak},
};
use web_sys::{MediaStream, MediaStreamTrack};

const NAME_KEY: &str = "moim.name";

#[derive(Clone)]
pub struct Call(Rc<Inner>);

/// A call's parts, each owned by the file that uses it.
struct Inner {
    state: CallState,
    /// The signaling socket and what it takes to come back (`link.rs`).
    link: link::Signaling,
    /// One peer connection per remote participant.
    peers: RefCell<HashMap<PeerId, Rc<Peer>>>,
    /// Camera and microphone (`devices.rs`).
    local: devices::Local,
    /// A shared screen or a played video (`screen.rs`).
    shares: screen::Shares,
    /// The recording, while recording (`record.rs`).
    recording: RefCell<Option<record::Recording>>,
    /// Files being sent and received (`files.rs`).
    files: files::Transfers,
    /// What chat history is still taken from whom (`chat.rs`).
    chat: chat::History,
    /// The screen wake lock while in the call (`awake.rs`).
    awake: awake::Awake,
    /// The connection to the server in a forwarded room (`forwarded.rs`).
    forwarded: forwarded::Forwarded,
    left: Cell<bool>,
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// Where this browser keeps the host capability of a room.
fn host_key(room: crate::protocol::RoomId) -> String {
    format!("moim-host-{room}")
}

/// The host capability this browser holds for `room`, if any.
pub(crate) fn host_token(room: crate::protocol::RoomId) -> Option<String> {
    storage()?.get_item(&host_key(room)).ok().flatten()
}

fn keep_host_token(room: crate::protocol::RoomId, token: &str) {
    if let Some(storage) = storage() {
        let _ = storage.set_item(&host_key(room), token);
    }
}

fn forget_host_token(room: crate::protocol::RoomId) {
    if let Some(storage) = storage() {
        let _ = storage.remove_item(&host_key(room));
    }
}

/// This browser's lasting random key (what a host's removal bans).
pub(crate) fn device_key() -> Option<String> {
    const KEY: &str = "moim-device";
    let storage = storage()?;
    if let Some(key) = storage.get_item(KEY).ok().flatten() {
        return Some(key);
    }
    let key = uuid::Uuid::new_v4().simple().to_string();
    storage.set_item(KEY, &key).ok()?;
    Some(key)
}

impl Call {
    /// Starts the prejoin preview: remembered name, camera and microphone,
    /// device lists. With `join_at_once` (the form was sent before the page
    /// hydrated), joins as soon as the devices are open.
    pub fn preview(state: CallState, join_at_once: bool) -> Self {
        if let Some(name) = storage().and_then(|s| s.get_item(NAME_KEY).ok().flatten()) {
            if state.name.get_untracked().is_empty() {
                state.name.set(name);
            }
        }
        let call = Self(Rc::new(Inner {
            state,
            link: link::Signaling::default(),
            peers: RefCell::default(),
            local: devices::Local::capturing(),
            shares: screen::Shares::default(),
            recording: RefCell::default(),
            files: files::Transfers::default(),
            chat: chat::History::default(),
            awake: awake::Awake::default(),
            forwarded: forwarded::Forwarded::default(),
            left: Cell::new(false),
        }));
        if join_at_once {
            call.warm_up();
        }
        let this = call.clone();
        spawn_local(async move {
            let (stream, err) = media::capture(None, None).await;
            if this.0.left.get() {
                if let Some(stream) = stream {
                    media::stop(&stream);
                }
                return;
            }
            this.set_local(stream);
            this.0.local.capturing.set(false);
            if let Some(err) = err {
                state.notice.set(Some(err.into()));
            }
            if join_at_once || this.0.local.join_pending.take() {
                this.join();
            }
            this.refresh_devices().await;
        });
        call
    }

    fn set_local(&self, stream: Option<MediaStream>) {
        let state = self.0.state;
        let (has_mic, has_camera) = match &stream {
            Some(s) => (media::first_track(s, Kind::Audio).is_some(), media::first_track(s, Kind::Video).is_some()),
            None => (false, false),
        };
        state.has_mic.set(has_mic);
        state.has_camera.set(has_camera);
        state.media.update(|m| {
            m.audio &= has_mic;
            m.video &= has_camera;
        });
        if let Some(s) = &stream {
            state.mic_id.set(media::first_track(s, Kind::Audio).as_ref().and_then(media::device_id));
            state.camera_id.set(media::first_track(s, Kind::Video).as_ref().and_then(media::device_id));
        }
        *self.0.local.stream.borrow_mut() = stream.clone();
        state.local.set(stream);
    }

    async fn refresh_devices(&self) {
        let found = media::list().await;
        self.0.state.cameras.set(found.cameras);
        self.0.state.mics.set(found.mics);
        self.0.state.speakers.set(found.speakers);
    }

    fn track(&self, kind: Kind) -> Option<MediaStreamTrack> {
        self.0.local.stream.borrow().as_ref().and_then(|s| media::first_track(s, kind))
    }

    fn local_tracks(&self) -> LocalTracks {
        LocalTracks { audio: self.track(Kind::Audio), video: self.track(Kind::Video) }
    }

    /// Enters the room with the name and the devices chosen on the prejoin form.
    pub fn join(&self) {
        let state = self.0.state;
        let Some(name) = clean_name(&state.name.get_untracked()) else {
            state.notice.set(Some(Notice::NameNeeded));
            return;
        };
        if self.0.local.capturing.get() {
            self.0.local.join_pending.set(true);
            state.notice.set(Some(Notice::JoiningSoon));
            // The socket's handshake and drawing the call screen (tens of
            // ms) both happen while the camera opens, not after it.
            self.warm_up();
            state.stage.set(Stage::InCall);
            return;
        }
        if let Some(storage) = storage() {
            let _ = storage.set_item(NAME_KEY, &name);
        }
        state.name.set(name.clone());
        // Apply the prejoin toggles: a muted microphone stays open but sends
        // silence; a camera switched off is released (its light goes off).
        let wanted = state.media.get_untracked();
        if let Some(track) = self.track(Kind::Audio) {
            track.set_enabled(wanted.audio);
        }
        if !wanted.video {
            self.drop_camera();
        }
        let password = state.password.get_untracked();
        *self.0.link.password.borrow_mut() = (!password.is_empty()).then_some(password);
        state.notice.set(None);
        state.stage.set(Stage::InCall);
        *self.0.link.joined_as.borrow_mut() = Some(name);
        self.leave_with_the_page();
        self.keep_the_screen_on();
        self.join_now();
    }

    fn handle(&self, msg: ServerMsg) {
        let state = self.0.state;
        match msg {
            ServerMsg::Welcome {
                you,
                peers,
                ice_servers,
                resume_token,
                resumed,
                relay_only,
                settings,
                host_token,
                mode,
                ..
            } => {
                *self.0.link.ice_servers.borrow_mut() = ice_servers;
                // Before `welcomed`, which opens mesh connections only in a mesh.
                if mode == RoomMode::Mesh {
                    self.0.forwarded.mode.set(RoomMode::Mesh);
                    self.close_uplink();
                } else {
                    self.0.forwarded.mode.set(mode);
                }
                self.0.link.relay_only.set(relay_only);
                state.password_needed.set(false);
                state.me.set(Some(you));
                self.apply_settings(settings);
                if let Some(token) = host_token {
                    keep_host_token(state.room, &token);
                }
                self.welcomed(you, resume_token, resumed, peers);
                if mode == RoomMode::Forwarded {
                    self.forward(!resumed);
                    if !resumed {
                        self.ask_history();
                    }
                }
            }
            ServerMsg::Chat { from, msg } => self.chat_received(from, msg),
            ServerMsg::Mode { mode } => {
                if mode == RoomMode::Forwarded {
                    self.forward(false);
                }
            }
            ServerMsg::ForwardAnswer { sdp } => {
                let uplink = self.0.forwarded.uplink.borrow().clone();
                if let Some(uplink) = uplink {
                    uplink.answer(sdp);
                }
            }
            ServerMsg::ForwardSlots { slots, audio, video } => {
                let uplink = self.0.forwarded.uplink.borrow().clone();
                if let Some(uplink) = uplink {
                    uplink.slots(slots, audio, video);
                }
            }
            ServerMsg::PeerJoined { peer } => {
                self.0.link.confirmed.borrow_mut().insert(peer.id);
                // Someone we still have a connection to (after a server
                // restart) is kept, not added twice; its offer is not needed.
                match state.remote(peer.id) {
                    Some(remote) => {
                        remote.name.set(peer.name);
                        remote.media.set(peer.media);
                        self.mend(peer.id);
                    }
                    None => self.add_remote(peer),
                }
            }
            ServerMsg::PeerLeft { id } => self.remove_remote(id),
            ServerMsg::Signal { from, signal } => {
                let existing = self.0.peers.borrow().get(&from).cloned();
                // In a forwarded room, a new connection is one for files only.
                let peer = existing.or_else(|| state.remote(from).and_then(|_| self.open_peer(from, false)));
                match peer {
                    Some(peer) => peer.receive(signal),
                    None => warn(&format!("moim: signal from unknown peer {from}")),
                }
            }
            ServerMsg::Media { id, media } => {
                if let Some(remote) = state.remote(id) {
                    let shares = media.screen && !remote.media.get_untracked().screen;
                    if !media.screen {
                        // The next share arrives as a fresh track event.
                        remote.screen.set(None);
                    }
                    remote.media.set(media);
                    if shares {
                        // In a forwarded room, on the slot it had before.
                        self.show_forwarded_screen(remote);
                    }
                }
            }
            ServerMsg::Settings { settings } => self.apply_settings(settings),
            ServerMsg::HostToken { token } => keep_host_token(state.room, &token),
            ServerMsg::ResumeToken { token } => {
                if let Some(resume) = self.0.link.resume.borrow_mut().as_mut() {
                    resume.token = token;
                }
            }
            ServerMsg::Pong => {}
            ServerMsg::Error { code, message, retry_after_ms, capacity } => {
                let notice = Notice::Server { code, retry_after_ms, capacity };
                match code {
                    // Asked again on the prejoin form, with the camera still on.
                    ErrorCode::PasswordRequired | ErrorCode::WrongPassword | ErrorCode::TooManyAttempts => {
                        self.ask_password(code, notice)
                    }
                    ErrorCode::NotAllowed | ErrorCode::NotHost => {
                        if code == ErrorCode::NotAllowed {
                            self.stop_sharing();
                        }
                        state.notice.set(Some(notice));
                    }
                    // Sent before the settings that made this one a
                    // watcher arrived: they stop everything.
                    ErrorCode::NotPresenter => {
                        self.on_uplink(|uplink| uplink.refused());
                        state.notice.set(Some(notice));
                    }
                    // Not yet in: the server had too many passwords to check.
                    ErrorCode::RateLimited if !self.0.link.welcomed.get() => {
                        state.notice.set(Some(notice));
                        self.join_again_soon();
                    }
                    ErrorCode::RoomFull
                    | ErrorCode::Version
                    | ErrorCode::BadName
                    | ErrorCode::AlreadyJoined
                    | ErrorCode::RoomLocked
                    | ErrorCode::TooManyRooms
                    | ErrorCode::Unavailable => {
                        self.release();
                        state.stage.set(Stage::Refused(notice));
                    }
                    // Removed during the call, or kept out when coming back.
                    ErrorCode::Removed => {
                        let during_the_call = self.me().is_some();
                        self.release();
                        state.stage.set(match during_the_call {
                            true => Stage::Removed,
                            false => Stage::Refused(notice),
                        });
                    }
                    _ => {
                        if matches!(code, ErrorCode::NotForwarded | ErrorCode::Malformed) {
                            // Maybe our offer: let the uplink offer again.
                            self.on_uplink(|uplink| uplink.refused());
                        }
                        warn(&format!("moim: the server refused a message ({code:?}): {message}"))
                    }
                }
            }
        }
    }

    /// The room wants a password (or another one): back to the prejoin
    /// form, which now has a field for it. The preview keeps running.
    fn ask_password(&self, code: ErrorCode, notice: Notice) {
        let state = self.0.state;
        self.unlink();
        *self.0.link.password.borrow_mut() = None;
        if code != ErrorCode::TooManyAttempts {
            state.password.set(String::new());
        }
        state.password_needed.set(true);
        state.link.set(crate::app::Link::Connecting);
        state.notice.set(Some(notice));
        state.stage.set(Stage::Prejoin);
    }

    fn add_remote(&self, info: PeerInfo) {
        let state = self.0.state;
        if state.remote(info.id).is_none() {
            state.remotes.update(|all| all.push(Remote::new(info.id, info.name, info.media)));
        }
    }

    fn remove_remote(&self, id: PeerId) {
        self.files_left(id);
        self.forget_forwarded(id);
        self.0.link.confirmed.borrow_mut().remove(&id);
        let peer = self.0.peers.borrow_mut().remove(&id);
        if let Some(peer) = peer {
            peer.close();
            self.retune();
        }
        self.0.state.remotes.update(|all| all.retain(|r| r.id != id));
    }

    /// A peer connection to someone the server does not know (any more)
    /// that stopped working means they are gone.
    fn connection_changed(&self, id: PeerId, connection: Connection) {
        let gone = matches!(connection, Connection::Failed | Connection::Closed)
            && !self.0.link.confirmed.borrow().contains(&id);
        if gone {
            self.remove_remote(id);
        }
    }

    /// Restarts ICE on a connection to `id` that is not up, now that
    /// signaling can carry the new offer.
    fn mend(&self, id: PeerId) {
        let peer = self.0.peers.borrow().get(&id).cloned();
        if let Some(peer) = peer {
            peer.mend();
        }
    }

    /// Opens a connection to `id`: one for media, chat and files in a mesh,
    /// one for files only in a forwarded room.
    fn open_peer(&self, id: PeerId, initiate: bool) -> Option<Rc<Peer>> {
        let me = self.me()?;
        let remote = self.0.state.remote(id)?;
        let data_only = self.forwarded();
        let weak = Rc::downgrade(&self.0);
        let opened = weak.clone();
        let events = Events {
            signal: with_call(&weak, move |call, signal| call.send_signal(ClientMsg::Signal { to: id, signal })),
            track: Box::new(move |track, screen| match screen {
                true => add_track(remote.screen, track),
                false => add_track(remote.stream, track),
            }),
            state: {
                let weak = weak.clone();
                Box::new(move |s| {
                    // The tile of a forwarded participant follows the uplink.
                    if data_only {
                        return;
                    }
                    remote.connection.set(s);
                    if let Some(call) = upgrade(&weak) {
                        call.connection_changed(id, s);
                    }
                })
            },
            chat_open: Box::new(move || {
                if let Some(call) = upgrade(&opened) {
                    call.chat_opened(id)
                }
            }),
            chat: with_call(&weak, move |call, msg| call.chat_received(id, msg)),
            file: with_call(&weak, move |call, msg| call.file_message(id, msg)),
            file_data: {
                let weak = weak.clone();
                Box::new(move |transfer, bytes| {
                    if let Some(call) = upgrade(&weak) {
                        call.file_data(id, transfer, bytes);
                    }
                })
            },
        };
        let ice = self.0.link.ice_servers.borrow().clone();
        let relay_only = self.0.link.relay_only.get();
        match Peer::new(id, me, &ice, relay_only, self.local_tracks(), Opening { initiate, data_only }, events) {
            Ok(peer) => {
                self.0.peers.borrow_mut().insert(id, peer.clone());
                self.retune();
                if let Some(screen) = self.0.shares.screen.borrow().as_ref().filter(|_| !data_only) {
                    peer.share(Some(screen));
                }
                Some(peer)
            }
            Err(err) => {
                warn(&format!("moim: cannot open a connection to {id}: {}", super::js_error(&err)));
                None
            }
        }
    }

    /// Caps every camera sender for the call's size (see `peer/quality.rs`).
    fn retune(&self) {
        let limits = VideoLimits::for_peers(self.0.peers.borrow().len());
        self.each_peer(|peer| peer.limit_video(limits));
    }

    fn each_peer(&self, f: impl Fn(&Peer)) {
        for peer in self.0.peers.borrow().values() {
            f(peer);
        }
    }

    fn announce(&self) {
        let media = self.0.state.media.get_untracked();
        self.send(&ClientMsg::Media { media });
    }

    /// Leaves the call and releases everything.
    pub fn leave(&self) {
        if self.0.left.get() {
            return;
        }
        self.send(&ClientMsg::Leave);
        self.release();
        let _ = self.0.state.stage.try_update(|stage| {
            if *stage == Stage::InCall {
                *stage = Stage::Left;
            }
        });
    }

    /// Closes the signaling socket (without reconnecting) and forgets what
    /// was waiting to go out on it.
    fn unlink(&self) {
        self.0.link.socket.borrow_mut().take();
        self.0.link.welcomed.set(false);
        self.0.link.pending.borrow_mut().clear();
        self.forget_the_page();
    }

    fn release(&self) {
        self.stop_sharing();
        self.stop_recording();
        self.0.left.set(true);
        self.let_the_screen_sleep();
        self.unlink();
        for (_, peer) in self.0.peers.borrow_mut().drain() {
            peer.close();
        }
        self.close_uplink();
        if let Some(stream) = self.0.local.stream.borrow_mut().take() {
            media::stop(&stream);
        }
        let _ = self.0.state.local.try_set(None);
        let _ = self.0.state.remotes.try_set(Vec::new());
    }
}

fn upgrade(weak: &Weak<Inner>) -> Option<Call> {
    weak.upgrade().map(Call)
}

/// A peer event handler that reaches the call without keeping it alive
/// (the call owns the peers, so a strong reference would be a cycle).
fn with_call<A: 'static>(weak: &Weak<Inner>, f: impl Fn(&Call, A) + 'static) -> Box<dyn Fn(A)> {
    let weak = weak.clone();
    Box::new(move |arg| {
        if let Some(call) = upgrade(&weak) {
            f(&call, arg)
        }
    })
}

/// Adds a received track to one of the participant's streams (camera or
/// screen), so its tile plays picture and sound together.
fn add_track(stream: RwSignal<Option<MediaStream>, LocalStorage>, track: MediaStreamTrack) {
    let current = stream.get_untracked().or_else(|| MediaStream::new().ok());
    let Some(current) = current else { return };
    current.add_track(&track);
    stream.set(None);
    stream.set(Some(current));
}
