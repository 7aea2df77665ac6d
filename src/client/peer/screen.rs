//! The screen this side shares, on transceivers of its own after the
//! camera and microphone ones.

use super::Peer;
use crate::client::media::Kind;
use web_sys::{MediaStream, RtcRtpTransceiverDirection, RtcRtpTransceiverInit};

impl Peer {
    /// Starts (or with `None` stops) sending a shared screen.
    pub fn share(&self, screen: Option<&MediaStream>) {
        *self.screen.borrow_mut() = screen.cloned();
        if self.ready.get() {
            self.apply_screen();
        }
    }

    /// Puts the screen's video (and audio, if any) on this side's screen
    /// transceivers, making them on first use. Changing their direction
    /// starts a renegotiation.
    pub(super) fn apply_screen(&self) {
        if self.data_only {
            return;
        }
        let screen = self.screen.borrow().clone();
        for kind in [Kind::Video, Kind::Audio] {
            let track = screen.as_ref().and_then(|s| crate::client::media::first_track(s, kind));
            let existing = self.screen_transceivers.borrow().iter().find(|(k, _)| *k == kind).map(|(_, t)| t.clone());
            match (existing, track) {
                (Some(t), Some(track)) => {
                    let _ = t.sender().replace_track(Some(&track));
                    t.set_direction(RtcRtpTransceiverDirection::Sendonly);
                }
                (Some(t), None) => {
                    let _ = t.sender().replace_track(None);
                    t.set_direction(RtcRtpTransceiverDirection::Inactive);
                }
                (None, Some(track)) => {
                    let init = RtcRtpTransceiverInit::new();
                    init.set_direction(RtcRtpTransceiverDirection::Sendonly);
                    let t = self.pc.add_transceiver_with_media_stream_track_and_init(&track, &init);
                    self.screen_transceivers.borrow_mut().push((kind, t));
                }
                (None, None) => {}
            }
        }
    }
}
