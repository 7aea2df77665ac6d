//! What a host may change (password, lock, who shares, who is in and who is
//! host), and what the others do when the settings change under them.
//!
//! The server decides: these only ask, and the room's new settings come
//! back to everyone (the asker included) as `settings`. A refused request
//! comes back as an error, shown as a notice.

use super::Call;
use crate::app::Notice;
use crate::protocol::{ClientMsg, PeerId, RoomSettings, SharePolicy};
use leptos::prelude::*;

impl Call {
    /// Sets the room's password; an empty one removes it.
    pub fn set_password(&self, password: String) {
        self.ask(ClientMsg::SetPassword { password });
    }

    pub fn lock(&self, locked: bool) {
        self.ask(ClientMsg::Lock { locked });
    }

    pub fn set_share(&self, share: SharePolicy) {
        self.ask(ClientMsg::SetShare { share });
    }

    pub fn set_presenters_only(&self, presenters_only: bool) {
        self.ask(ClientMsg::SetPresentersOnly { presenters_only });
    }

    pub fn set_presenter(&self, id: PeerId, presenter: bool) {
        self.ask(ClientMsg::SetPresenter { id, presenter });
    }

    /// Removes a participant; they may come back only with a new password.
    pub fn remove(&self, id: PeerId) {
        self.ask(ClientMsg::Remove { id });
    }

    pub fn make_host(&self, id: PeerId) {
        self.ask(ClientMsg::MakeHost { id });
    }

    /// Takes another host's capability back: its token stops working.
    pub fn revoke_host(&self, id: PeerId) {
        self.ask(ClientMsg::RevokeHost { id });
    }

    fn ask(&self, msg: ClientMsg) {
        if !(self.0.link.welcomed.get() && self.send(&msg)) {
            self.0.state.notice.set(Some(Notice::NotConnected));
        }
    }

    /// New settings from the server. A participant who shares a screen
    /// when sharing becomes host-only stops (the server has already told
    /// the others the share ended).
    pub(super) fn apply_settings(&self, settings: RoomSettings) {
        let state = self.0.state;
        if self.me().is_some_and(|me| !settings.hosts.contains(&me)) && untrack(|| state.is_host(None)) {
            // Another host took this browser's capability back.
            super::forget_host_token(state.room);
        }
        let presented = untrack(|| state.may_present(None));
        state.settings.set(settings);
        let presents = untrack(|| state.may_present(None));
        if !presents {
            // A lecture's watcher: nothing of its devices stays open.
            self.stop_sending();
        } else if !untrack(|| state.may_share()) && self.0.shares.screen.borrow().is_some() {
            self.stop_sharing();
            state.notice.set(Some(Notice::ShareMadeHostOnly));
        }
        if presents && !presented && self.me().is_some() {
            state.notice.set(Some(Notice::MayPresent));
        }
        self.on_uplink(|uplink| uplink.set_presenting(presents));
    }
}
