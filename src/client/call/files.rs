//! Sending files to the others, browser to browser, on each connection's
//! files channel (see the "Files" section of docs/protocol.md).
//!
//! A file is offered to every participant separately; each one accepts or
//! declines. Accepted, it is read a slice at a time and sent in 64 KiB
//! frames, waiting whenever the channel holds more than [`HIGH_WATER`]
//! unsent bytes: a large file never sits whole in memory on the sending
//! side, and the channel is never overfilled. The receiver hashes what
//! arrives (SHA-256, RustCrypto's `sha2`, incrementally: WebCrypto only
//! hashes a whole buffer at once) and compares with the sender's hash. What
//! has arrived is folded into a Blob every [`FOLD_BYTES`], which lets the
//! browser keep large files out of the page's memory.

use super::Call;
use crate::{
    app::{Direction, FileEnd, Notice, Transfer, TransferState},
    client::warn,
    protocol::{clean_file_name, file_frame_head, FileMsg, PeerId, FILE_CHUNK_BYTES, FILE_ID_BYTES, MAX_FILE_BYTES},
    shared::hex,
};
use leptos::{prelude::*, task::spawn_local};
use sha2::{Digest, Sha256};
use std::{
    cell::{Cell, RefCell},
    collections::HashMap,
    rc::Rc,
};
use uuid::Uuid;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, BlobPropertyBag, File, RtcDataChannel, Url};

/// Files being sent and received, by transfer id.
#[derive(Default)]
pub(super) struct Transfers {
    pub(super) outgoing: RefCell<HashMap<Uuid, Rc<Outgoing>>>,
    pub(super) incoming: RefCell<HashMap<Uuid, Incoming>>,
}

/// Unsent bytes a files channel may hold before the sender waits.
const HIGH_WATER: u32 = 4 * 1024 * 1024;
/// How much of the file is read at once (and sent as several frames).
const READ_BYTES: u64 = 1024 * 1024;
/// How far the channel drains before the sender goes on.
const LOW_WATER: u32 = 1024 * 1024;
/// How many received bytes are gathered before they are folded into a Blob.
const FOLD_BYTES: u64 = 8 * 1024 * 1024;

/// A file this participant is sending to one peer.
pub(super) struct Outgoing {
    file: File,
    peer: PeerId,
    stopped: Cell<bool>,
}

/// A file coming in from one peer.
pub(super) struct Incoming {
    peer: PeerId,
    name: String,
    size: u64,
    accepted: bool,
    received: u64,
    hasher: Sha256,
    folded: Option<Blob>,
    parts: js_sys::Array,
    unfolded: u64,
}

/// The type of every received file: only ever saved, never shown. A
/// `blob:` URL has this page's origin, so a file received as `text/html`
/// and opened from its link would run its scripts as moim; the type the
/// sender claims is not taken.
const RECEIVED: &str = "application/octet-stream";

/// One Blob of `parts` (Blobs and byte arrays), of type `mime`.
pub(super) fn blob_of(parts: &js_sys::Array, mime: &str) -> Option<Blob> {
    let options = BlobPropertyBag::new();
    options.set_type(mime);
    Blob::new_with_blob_sequence_and_options(parts.unchecked_ref(), &options).ok()
}

impl Call {
    fn transfer(&self, id: Uuid) -> Option<Transfer> {
        self.0.state.transfers.with_untracked(|all| all.iter().find(|t| t.id == id).cloned())
    }

    fn set_transfer(&self, id: Uuid, state: TransferState) {
        if let Some(t) = self.transfer(id) {
            let _ = t.state.try_set(state);
        }
    }

    fn name_of(&self, peer: PeerId) -> String {
        self.0.state.remote(peer).map(|r| r.name.get_untracked()).unwrap_or_else(|| "Someone".into())
    }

    /// Offers a file to everyone in the call.
    pub fn send_file(&self, file: File) {
        let state = self.0.state;
        let Some(name) = clean_file_name(&file.name()) else { return };
        let size = file.size() as u64;
        // In a forwarded room, a connection for files is made to each person
        // (the file goes browser to browser, never through the server).
        let peers: Vec<_> = match self.forwarded() {
            true => state
                .remotes
                .with_untracked(|all| all.iter().map(|r| r.id).collect::<Vec<_>>())
                .into_iter()
                .filter_map(|id| self.files_peer(id))
                .collect(),
            false => self.0.peers.borrow().values().cloned().collect(),
        };
        let mut offered = 0;
        for peer in peers {
            let id = Uuid::new_v4();
            let offer = FileMsg::Offer { id, name: name.clone(), size, mime: file.type_() };
            if !peer.send_file_msg(&offer) {
                continue;
            }
            offered += 1;
            let outgoing = Outgoing { file: file.clone(), peer: peer.id, stopped: Cell::new(false) };
            self.0.files.outgoing.borrow_mut().insert(id, Rc::new(outgoing));
            state.transfers.update(|all| {
                all.push(Transfer {
                    id,
                    peer: peer.id,
                    who: self.name_of(peer.id),
                    name: name.clone(),
                    size,
                    direction: Direction::Outgoing,
                    moved: RwSignal::new(0),
                    state: RwSignal::new(TransferState::Waiting),
                })
            });
        }
        if offered == 0 {
            state.notice.set(Some(Notice::NobodyToSendTo));
        }
    }

    /// Accepts a file offered to this participant.
    pub fn accept_file(&self, id: Uuid) {
        let peer = {
            let mut incoming = self.0.files.incoming.borrow_mut();
            let Some(file) = incoming.get_mut(&id) else { return };
            file.accepted = true;
            file.peer
        };
        self.set_transfer(id, TransferState::Moving);
        self.tell(peer, &FileMsg::Accept { id });
    }

    pub fn decline_file(&self, id: Uuid) {
        let Some(file) = self.0.files.incoming.borrow_mut().remove(&id) else { return };
        self.set_transfer(id, TransferState::Ended(FileEnd::YouDeclined));
        self.tell(file.peer, &FileMsg::Decline { id });
    }

    /// Stops a transfer either way, and tells the other side.
    pub fn cancel_file(&self, id: Uuid) {
        let peer = if let Some(out) = self.0.files.outgoing.borrow_mut().remove(&id) {
            out.stopped.set(true);
            Some(out.peer)
        } else {
            self.0.files.incoming.borrow_mut().remove(&id).map(|f| f.peer)
        };
        if let Some(peer) = peer {
            self.set_transfer(id, TransferState::Ended(FileEnd::YouCancelled));
            self.tell(peer, &FileMsg::Cancel { id });
        }
    }

    /// Takes a finished transfer off the list (and frees its file).
    pub fn dismiss_file(&self, id: Uuid) {
        if let Some(TransferState::Ready(url)) = self.transfer(id).map(|t| t.state.get_untracked()) {
            let _ = Url::revoke_object_url(&url);
        }
        self.0.state.transfers.update(|all| all.retain(|t| t.id != id));
    }

    fn tell(&self, peer: PeerId, msg: &FileMsg) {
        let sent = self.0.peers.borrow().get(&peer).is_some_and(|p| p.send_file_msg(msg));
        if !sent {
            warn(&format!("moim: could not tell {peer} about a file"));
        }
    }

    /// A message about a file from `from`.
    pub(super) fn file_message(&self, from: PeerId, msg: FileMsg) {
        let id = msg.id();
        // Only the peer a transfer is with may move it on.
        let with = |peer: PeerId| peer == from;
        match msg {
            // The sender's `mime` is not used: see RECEIVED.
            FileMsg::Offer { name, size, .. } => {
                let Some(name) = clean_file_name(&name) else { return self.tell(from, &FileMsg::Decline { id }) };
                if size > MAX_FILE_BYTES || self.transfer(id).is_some() {
                    return self.tell(from, &FileMsg::Decline { id });
                }
                let incoming = Incoming {
                    peer: from,
                    name: name.clone(),
                    size,
                    accepted: false,
                    received: 0,
                    hasher: Sha256::new(),
                    folded: None,
                    parts: js_sys::Array::new(),
                    unfolded: 0,
                };
                self.0.files.incoming.borrow_mut().insert(id, incoming);
                let who = self.name_of(from);
                self.0.state.transfers.update(|all| {
                    all.push(Transfer {
                        id,
                        peer: from,
                        who,
                        name,
                        size,
                        direction: Direction::Incoming,
                        moved: RwSignal::new(0),
                        state: RwSignal::new(TransferState::Asked),
                    })
                });
            }
            FileMsg::Accept { .. } => {
                // Accepted once: a repeated accept must not send the file again.
                if self.transfer(id).is_none_or(|t| t.state.get_untracked() != TransferState::Waiting) {
                    return;
                }
                let out = self.0.files.outgoing.borrow().get(&id).filter(|o| with(o.peer)).cloned();
                if let Some(out) = out {
                    self.set_transfer(id, TransferState::Moving);
                    let this = self.clone();
                    spawn_local(async move { this.stream(id, out).await });
                }
            }
            FileMsg::Decline { .. } | FileMsg::Cancel { .. } => {
                let who = self.name_of(from);
                let declined = matches!(msg, FileMsg::Decline { .. });
                let out = self.0.files.outgoing.borrow_mut().remove(&id);
                let known = match out {
                    Some(out) if with(out.peer) => {
                        out.stopped.set(true);
                        true
                    }
                    Some(out) => {
                        self.0.files.outgoing.borrow_mut().insert(id, out);
                        false
                    }
                    None => self.0.files.incoming.borrow_mut().remove(&id).is_some(),
                };
                if known {
                    self.set_transfer(
                        id,
                        TransferState::Ended(match declined {
                            true => FileEnd::TheyDeclined(who),
                            false => FileEnd::TheyCancelled(who),
                        }),
                    );
                }
            }
            FileMsg::Done { sha256, .. } => self.file_done(from, id, &sha256),
            FileMsg::Received { intact, .. } => {
                let out = self.0.files.outgoing.borrow_mut().remove(&id);
                if out.is_some_and(|o| with(o.peer)) {
                    let who = self.name_of(from);
                    self.set_transfer(
                        id,
                        match intact {
                            true => TransferState::Delivered,
                            false => TransferState::Ended(FileEnd::TheirCopyDamaged(who)),
                        },
                    );
                }
            }
        }
    }

    /// Some bytes of an accepted file from `from`.
    pub(super) fn file_data(&self, from: PeerId, id: Uuid, bytes: js_sys::Uint8Array) {
        let mut incoming = self.0.files.incoming.borrow_mut();
        let Some(file) = incoming.get_mut(&id).filter(|f| f.peer == from && f.accepted) else { return };
        let len = u64::from(bytes.length());
        file.received += len;
        if file.received > file.size {
            drop(incoming);
            self.0.files.incoming.borrow_mut().remove(&id);
            self.set_transfer(id, TransferState::Ended(FileEnd::TooManyBytes));
            return self.tell(from, &FileMsg::Cancel { id });
        }
        file.hasher.update(bytes.to_vec());
        file.parts.push(&bytes);
        file.unfolded += len;
        if file.unfolded >= FOLD_BYTES {
            let all = js_sys::Array::new();
            if let Some(folded) = &file.folded {
                all.push(folded);
            }
            if let Some(part) = blob_of(&file.parts, "application/octet-stream") {
                all.push(&part);
            }
            file.folded = blob_of(&all, RECEIVED);
            file.parts = js_sys::Array::new();
            file.unfolded = 0;
        }
        // The bar moves once a mebibyte (and at the end), not once a frame.
        let received = file.received;
        let show = received / READ_BYTES != (received - len) / READ_BYTES || received == file.size;
        drop(incoming);
        if show {
            if let Some(t) = self.transfer(id) {
                let _ = t.moved.try_set(received);
            }
        }
    }

    /// The sender says every byte went: check them, and offer the file.
    fn file_done(&self, from: PeerId, id: Uuid, sha256: &str) {
        let Some(file) = self.0.files.incoming.borrow_mut().remove(&id) else { return };
        if file.peer != from {
            self.0.files.incoming.borrow_mut().insert(id, file);
            return;
        }
        let intact = file.received == file.size && hex(&file.hasher.finalize()) == sha256.to_ascii_lowercase();
        self.tell(from, &FileMsg::Received { id, intact });
        if !intact {
            let who = self.name_of(from);
            return self.set_transfer(id, TransferState::Ended(FileEnd::ArrivedDamaged(who)));
        }
        let all = js_sys::Array::new();
        if let Some(folded) = &file.folded {
            all.push(folded);
        }
        for part in file.parts.iter() {
            all.push(&part);
        }
        let url = blob_of(&all, RECEIVED).and_then(|blob| Url::create_object_url_with_blob(&blob).ok());
        self.set_transfer(
            id,
            match url {
                Some(url) => TransferState::Ready(url),
                None => TransferState::Ended(FileEnd::CannotKeep(file.name.clone())),
            },
        );
    }

    /// Sends an accepted file to its peer, slice by slice, with backpressure.
    async fn stream(&self, id: Uuid, out: Rc<Outgoing>) {
        let size = out.file.size() as u64;
        let mut hasher = Sha256::new();
        let mut sent = 0u64;
        let moved = self.transfer(id).map(|t| t.moved);
        loop {
            if out.stopped.get() {
                return;
            }
            let Some(channel) = self.channel_to(out.peer) else { return self.lost(id, out.peer) };
            if channel.buffered_amount() > HIGH_WATER {
                drained(&channel).await;
                continue;
            }
            if sent >= size {
                break;
            }
            // One read per slice, then frames of FILE_CHUNK_BYTES from it.
            let end = (sent + READ_BYTES).min(size);
            let slice = out.file.slice_with_f64_and_f64(sent as f64, end as f64);
            let Ok(slice) = slice else { return self.lost(id, out.peer) };
            let Ok(buffer) = JsFuture::from(slice.array_buffer()).await else { return self.lost(id, out.peer) };
            let bytes = js_sys::Uint8Array::new(&buffer);
            hasher.update(bytes.to_vec());
            if out.stopped.get() {
                return;
            }
            let mut at = 0;
            while at < bytes.length() {
                let part = bytes.subarray(at, (at + FILE_CHUNK_BYTES as u32).min(bytes.length()));
                // The frame is made in JS memory: the file's bytes never
                // cross into WebAssembly and back (see protocol::file_frame).
                let head = FILE_ID_BYTES as u32;
                let frame = js_sys::Uint8Array::new_with_length(head + part.length());
                frame.subarray(0, head).copy_from(&file_frame_head(id));
                frame.set(&part, head);
                if channel.send_with_array_buffer_view(&frame).is_err() {
                    return self.lost(id, out.peer);
                }
                at += part.length();
            }
            sent = end;
            if let Some(moved) = moved {
                let _ = moved.try_set(sent);
            }
        }
        self.tell(out.peer, &FileMsg::Done { id, sha256: hex(&hasher.finalize()) });
    }

    fn channel_to(&self, peer: PeerId) -> Option<RtcDataChannel> {
        self.0.peers.borrow().get(&peer).and_then(|p| p.files_channel())
    }

    fn lost(&self, id: Uuid, peer: PeerId) {
        self.0.files.outgoing.borrow_mut().remove(&id);
        let who = self.name_of(peer);
        self.set_transfer(id, TransferState::Ended(FileEnd::ConnectionBroke(who)));
    }

    /// A participant left: their unfinished transfers end, saying so.
    pub(super) fn files_left(&self, peer: PeerId) {
        let who = self.name_of(peer);
        let gone: Vec<Uuid> =
            self.0.state.transfers.with_untracked(|all| all.iter().filter(|t| t.peer == peer).map(|t| t.id).collect());
        for id in gone {
            let was_out = self.0.files.outgoing.borrow_mut().remove(&id).inspect(|o| o.stopped.set(true)).is_some();
            let was_in = self.0.files.incoming.borrow_mut().remove(&id).is_some();
            if was_out {
                self.set_transfer(id, TransferState::Ended(FileEnd::LeftBeforeItArrived(who.clone())));
            } else if was_in {
                self.set_transfer(id, TransferState::Ended(FileEnd::LeftBeforeSendingAll(who.clone())));
            }
        }
    }
}

/// Waits until the channel has sent most of what it holds, or half a
/// second (so a channel that closed meanwhile is noticed).
async fn drained(channel: &RtcDataChannel) {
    channel.set_buffered_amount_low_threshold(LOW_WATER);
    let either = js_sys::Promise::new(&mut |resolve, _| {
        channel.set_onbufferedamountlow(Some(&resolve));
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 500);
        }
    });
    let _ = JsFuture::from(either).await;
    channel.set_onbufferedamountlow(None);
}
