//! Chat on the peer connections' data channels (in a forwarded room,
//! through the server: `chat` on the signaling socket): sending, receiving,
//! and the history exchange that lets a late joiner catch up without a
//! server store.
//!
//! Whose words a line is cannot be proven once it has passed through
//! someone else, so the rule is ownership (docs/security.md, "Chat"): a
//! peer speaks only for itself, and its history is taken at face value only
//! for its own messages. Messages of someone in the room now come from that
//! person's own history and no one else's; messages of someone who has
//! left are taken from anyone, marked with who passed them on. A peer's
//! history is taken once per asking and up to [`MAX_CHAT_HISTORY`]
//! messages, and the whole chat keeps the newest [`MAX_CHAT_HISTORY`].

use super::Call;
use crate::app::Notice;
use crate::{
    app::ChatLine,
    protocol::{ChatMessage, ClientMsg, PeerId, PeerMsg, HISTORY_BATCH, MAX_CHAT_CHARS, MAX_CHAT_HISTORY},
};
use leptos::prelude::*;
use uuid::Uuid;

/// History messages still taken from each peer: set when we ask it, so
/// that nobody can push history unasked or without end.
#[derive(Default)]
pub(super) struct History {
    pub(super) wanted: std::cell::RefCell<std::collections::HashMap<PeerId, usize>>,
}

/// "14:05" by the reader's clock.
fn clock(time: f64) -> String {
    let date = js_sys::Date::new(&time.into());
    format!("{:02}:{:02}", date.get_hours(), date.get_minutes())
}

impl Call {
    /// Sends a chat message to everyone connected; refused when empty,
    /// too long, or not in the call yet.
    pub fn send_chat(&self, text: String) -> Result<(), Notice> {
        let text = text.trim_end().to_string();
        if text.trim().is_empty() {
            return Err(Notice::ChatEmpty);
        }
        let chars = text.chars().count();
        if chars > MAX_CHAT_CHARS {
            return Err(Notice::ChatTooLong(chars));
        }
        let Some(from) = self.me() else {
            return Err(Notice::NotConnected);
        };
        let message = ChatMessage {
            id: Uuid::new_v4(),
            from,
            name: self.0.state.name.get_untracked(),
            time: js_sys::Date::now(),
            text,
        };
        self.merge_chat(vec![(message.clone(), None)], false);
        // A peer whose channel is not open yet gets it from the history
        // exchange when the channel opens.
        let msg = PeerMsg::Chat { message };
        if self.forwarded() {
            // Everyone, through the server; queued while the socket is down.
            self.send_signal(ClientMsg::Chat { to: None, msg });
            return Ok(());
        }
        self.each_peer(|peer| {
            peer.send_chat(&msg);
        });
        Ok(())
    }

    /// On entering a forwarded room: asks everyone there, through the
    /// server, for the messages they have.
    pub(super) fn ask_history(&self) {
        let ids: Vec<PeerId> = self.0.state.remotes.with_untracked(|all| all.iter().map(|r| r.id).collect());
        for id in ids {
            self.0.chat.wanted.borrow_mut().insert(id, MAX_CHAT_HISTORY);
            self.send_signal(ClientMsg::Chat { to: Some(id), msg: PeerMsg::HistoryRequest });
        }
    }

    /// Asks the peer for the messages it has, whenever a channel opens.
    pub(super) fn chat_opened(&self, id: PeerId) {
        if let Some(peer) = self.0.peers.borrow().get(&id) {
            self.0.chat.wanted.borrow_mut().insert(id, MAX_CHAT_HISTORY);
            peer.send_chat(&PeerMsg::HistoryRequest);
        }
    }

    pub(super) fn chat_received(&self, from: PeerId, msg: PeerMsg) {
        match msg {
            PeerMsg::Chat { message } => {
                // A peer speaks only for itself on its own channel.
                if message.from == from && message.is_valid() {
                    self.merge_chat(vec![(message, None)], true);
                } else {
                    super::warn(&format!("moim: refused a chat message from {from}"));
                }
            }
            PeerMsg::HistoryRequest => {
                // The newest, as many as the asker takes.
                let all: Vec<ChatMessage> = self.0.state.chat.with_untracked(|lines| {
                    let from = lines.len().saturating_sub(MAX_CHAT_HISTORY);
                    lines[from..].iter().map(|l| l.message.clone()).collect()
                });
                let batches = PeerMsg::history_batches(&all);
                match self.0.peers.borrow().get(&from) {
                    Some(peer) => {
                        for batch in &batches {
                            peer.send_chat(batch);
                        }
                    }
                    None if self.forwarded() => {
                        for msg in batches {
                            self.send_signal(ClientMsg::Chat { to: Some(from), msg });
                        }
                    }
                    None => {}
                }
            }
            PeerMsg::History { messages } => {
                let taken = self.history_taken(from, messages);
                self.merge_chat(taken, false);
            }
        }
    }

    /// The messages of a `history` from `from` that the ownership rule
    /// lets in, each with who passed it on if that is not its author.
    fn history_taken(&self, from: PeerId, messages: Vec<ChatMessage>) -> Vec<(ChatMessage, Option<String>)> {
        let state = self.0.state;
        let mut wanted = self.0.chat.wanted.borrow_mut();
        let left = wanted.entry(from).or_default();
        if *left == 0 {
            super::warn(&format!("moim: refused chat history from {from} that was not asked for"));
            return Vec::new();
        }
        let take = messages.len().min(HISTORY_BATCH).min(*left);
        *left -= take;
        let me = self.me();
        let present = |id: PeerId| Some(id) == me || state.remote(id).is_some();
        let via = state.remote(from).map(|remote| remote.name.get_untracked());
        let mut refused = 0;
        let taken = messages
            .into_iter()
            .take(take)
            .filter(|m| m.is_valid())
            .filter_map(|m| match m.from == from {
                true => Some((m, None)),
                false if !present(m.from) => Some((m, via.clone())),
                false => {
                    refused += 1;
                    None
                }
            })
            .collect();
        if refused > 0 {
            super::warn(&format!("moim: refused {refused} chat lines {from} passed on for people in the room"));
        }
        taken
    }

    /// Adds the messages not yet known (by id), keeping time order and the
    /// newest [`MAX_CHAT_HISTORY`]: one sort of the whole, O(n log n) however
    /// many arrive at once.
    fn merge_chat(&self, messages: Vec<(ChatMessage, Option<String>)>, count_unread: bool) {
        let state = self.0.state;
        let mut added = 0;
        state.chat.update(|lines| {
            let mut known: std::collections::HashSet<Uuid> = lines.iter().map(|l| l.message.id).collect();
            for (message, via) in messages {
                if known.insert(message.id) {
                    lines.push(ChatLine { clock: clock(message.time), message, via });
                    added += 1;
                }
            }
            if added > 0 {
                lines.sort_by(|a, b| a.message.time.total_cmp(&b.message.time).then(a.message.id.cmp(&b.message.id)));
                let over = lines.len().saturating_sub(MAX_CHAT_HISTORY);
                lines.drain(..over);
            }
        });
        if count_unread && added > 0 && !state.chat_open.get_untracked() {
            state.unread.update(|n| *n += added);
        }
    }
}
