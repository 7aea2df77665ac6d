//! Chat on the peer connections' data channels: sending, receiving, and the
//! history exchange that lets a late joiner catch up without a server store.

use super::Call;
use crate::{
    app::ChatLine,
    protocol::{ChatMessage, PeerId, PeerMsg, HISTORY_BATCH, MAX_CHAT_CHARS},
};
use leptos::prelude::*;
use uuid::Uuid;

/// "14:05" by the reader's clock.
fn clock(time: f64) -> String {
    let date = js_sys::Date::new(&time.into());
    format!("{:02}:{:02}", date.get_hours(), date.get_minutes())
}

impl Call {
    /// Sends a chat message to everyone connected. The error is a sentence
    /// for the person (empty, too long, not in the call yet).
    pub fn send_chat(&self, text: String) -> Result<(), String> {
        let text = text.trim_end().to_string();
        if text.trim().is_empty() {
            return Err("Type a message first.".into());
        }
        let chars = text.chars().count();
        if chars > MAX_CHAT_CHARS {
            return Err(crate::app::chat::too_long(chars));
        }
        let Some(from) = self.0.me.get() else {
            return Err("Not connected to the meeting yet.".into());
        };
        let message = ChatMessage {
            id: Uuid::new_v4(),
            from,
            name: self.0.state.name.get_untracked(),
            time: js_sys::Date::now(),
            text,
        };
        self.merge_chat(vec![message.clone()], false);
        // A peer whose channel is not open yet gets it from the history
        // exchange when the channel opens.
        let msg = PeerMsg::Chat { message };
        self.each_peer(|peer| {
            peer.send_chat(&msg);
        });
        Ok(())
    }

    /// Asks the peer for the messages it has, whenever a channel opens.
    pub(super) fn chat_opened(&self, id: PeerId) {
        if let Some(peer) = self.0.peers.borrow().get(&id) {
            peer.send_chat(&PeerMsg::HistoryRequest);
        }
    }

    pub(super) fn chat_received(&self, from: PeerId, msg: PeerMsg) {
        match msg {
            PeerMsg::Chat { message } => {
                // A peer speaks only for itself on its own channel.
                if message.from == from && message.is_valid() {
                    self.merge_chat(vec![message], true);
                } else {
                    super::warn(&format!("moim: refused a chat message from {from}"));
                }
            }
            PeerMsg::HistoryRequest => {
                let all: Vec<ChatMessage> =
                    self.0.state.chat.with_untracked(|lines| lines.iter().map(|l| l.message.clone()).collect());
                if let Some(peer) = self.0.peers.borrow().get(&from) {
                    for batch in all.chunks(HISTORY_BATCH) {
                        peer.send_chat(&PeerMsg::History { messages: batch.to_vec() });
                    }
                }
            }
            PeerMsg::History { messages } => {
                self.merge_chat(messages.into_iter().filter(ChatMessage::is_valid).take(HISTORY_BATCH).collect(), false)
            }
        }
    }

    /// Adds the messages not yet known (by id), keeping time order.
    fn merge_chat(&self, messages: Vec<ChatMessage>, count_unread: bool) {
        let state = self.0.state;
        let mut added = 0;
        state.chat.update(|lines| {
            for message in messages {
                if lines.iter().any(|l| l.message.id == message.id) {
                    continue;
                }
                let key = (message.time, message.id);
                let at = lines.partition_point(|l| (l.message.time, l.message.id) <= key);
                lines.insert(at, ChatLine { clock: clock(message.time), message });
                added += 1;
            }
        });
        if count_unread && added > 0 && !state.chat_open.get_untracked() {
            state.unread.update(|n| *n += added);
        }
    }
}
