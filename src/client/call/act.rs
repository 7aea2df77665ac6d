//! What the controls ask ([`Action`]), done: the one door from the views
//! into the call.

use super::Call;
use crate::app::{Action, Notice};

impl Call {
    /// Does what a control asked. Only a chat message can be refused here.
    /// A lecture's watcher has no controls to send media; a shortcut key
    /// that asks anyway does nothing.
    pub fn act(&self, action: Action) -> Result<(), Notice> {
        let sends = matches!(
            action,
            Action::SetAudio(true)
                | Action::SetVideo(true)
                | Action::ShareScreen
                | Action::PlayVideo { .. }
                | Action::PlayFile(_)
        );
        if sends && !leptos::prelude::untrack(|| self.0.state.may_present(None)) {
            return Ok(());
        }
        match action {
            Action::Join => self.join(),
            Action::Leave => self.leave(),
            Action::SetAudio(on) => self.set_audio(on),
            Action::SetVideo(on) => self.set_video(on),
            Action::UseCamera(id) => self.use_camera(id),
            Action::UseMic(id) => self.use_mic(id),
            Action::UseSpeaker(id) => self.use_speaker(id),
            Action::FlipCamera => self.flip_camera(),
            Action::ShareScreen => self.share_screen(),
            Action::StopSharing => self.stop_sharing(),
            Action::PlayVideo { url, name } => self.play_video(url, name, None),
            Action::PlayFile(file) => self.play_file(file),
            Action::SendFile(file) => self.send_file(file),
            Action::AcceptFile(id) => self.accept_file(id),
            Action::DeclineFile(id) => self.decline_file(id),
            Action::CancelFile(id) => self.cancel_file(id),
            Action::DismissFile(id) => self.dismiss_file(id),
            Action::SendChat(text) => return self.send_chat(text),
            Action::SetPassword(password) => self.set_password(password),
            Action::Lock(locked) => self.lock(locked),
            Action::SetShare(share) => self.set_share(share),
            Action::SetPresentersOnly(on) => self.set_presenters_only(on),
            Action::SetPresenter(id, on) => self.set_presenter(id, on),
            Action::Remove(id) => self.remove(id),
            Action::MakeHost(id) => self.make_host(id),
            Action::RevokeHost(id) => self.revoke_host(id),
            Action::StartRecording => self.start_recording(),
            Action::StopRecording => self.stop_recording(),
        }
        Ok(())
    }
}
