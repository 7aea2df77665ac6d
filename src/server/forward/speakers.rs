//! In a big room only the few loudest voices are forwarded.
//!
//! Twenty open microphones are mostly room noise, and each costs every
//! receiver a stream to decrypt, decode and mix. Above [`LOUDEST_ABOVE`]
//! people the unit forwards to everyone only the [`LOUDEST`] voices, going
//! by the audio level each browser writes in its packets' header extension
//! (RFC 6464: readable without decoding the sound). A voice once chosen
//! stays chosen for [`HOLD`] after it was last among the loudest, so the
//! pauses between words do not cut it off, and a cough does not take over.
//! A microphone whose packets carry no level cannot be judged, and is
//! always forwarded.

use crate::protocol::PeerId;
use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

/// Rooms with more participants than this forward only the loudest voices.
pub const LOUDEST_ABOVE: usize = 10;

/// How many voices are chosen at a time (a few more while chosen ones
/// fade out within [`HOLD`]).
pub const LOUDEST: usize = 3;

/// How long a voice stays chosen after it was last among the loudest.
pub const HOLD: Duration = Duration::from_millis(1_500);

/// How often the loudest voices are chosen again.
pub const CHOOSE_EVERY: Duration = Duration::from_millis(200);

/// Levels at or under this (dB over the quietest level the header can
/// say, 127 below full scale) are silence: an open microphone in a quiet
/// room sits about 70–80 dB below full scale.
const SILENT: f32 = 127.0 - 60.0;

/// A voice that sent nothing for this long is silent (a muted browser
/// sends no packets, or only comfort noise).
const QUIET_AFTER: Duration = Duration::from_millis(500);

/// How loud one microphone has been lately.
#[derive(Default)]
pub struct Loudness {
    /// Smoothed level, 0 (silence) to 127 (full scale).
    level: f32,
    last: Option<Instant>,
    /// Its packets say their level (the header extension was negotiated).
    pub measured: bool,
}

impl Loudness {
    /// Takes note of one packet's level (`audio_level`: 0 is full scale,
    /// -127 silence; none when the browser does not say).
    pub fn heard(&mut self, audio_level: Option<i8>, now: Instant) {
        let Some(level) = audio_level else { return };
        self.measured = true;
        let level = 127.0 + f32::from(level.clamp(-127, 0));
        // About a quarter of a second of packets (20 ms each) to rise or fall.
        self.level += (level - self.level) * 0.08;
        self.last = Some(now);
    }

    /// How loud it is now: silence when nothing came lately.
    pub fn now(&self, now: Instant) -> f32 {
        match self.last {
            Some(last) if now.duration_since(last) < QUIET_AFTER => self.level,
            _ => 0.0,
        }
    }
}

/// The voices a big room forwards.
#[derive(Default)]
pub struct Speakers {
    /// Each chosen voice, with when it was last among the loudest.
    chosen: HashMap<PeerId, Instant>,
}

impl Speakers {
    /// Chooses again from each voice's loudness now.
    pub fn choose(&mut self, voices: &mut [(PeerId, f32)], now: Instant) {
        voices.sort_by(|a, b| b.1.total_cmp(&a.1));
        for (peer, _) in voices.iter().filter(|(_, level)| *level > SILENT).take(LOUDEST) {
            self.chosen.insert(*peer, now);
        }
        self.chosen.retain(|_, at| now.duration_since(*at) < HOLD);
    }

    /// Whether this voice is forwarded now.
    pub fn passes(&self, peer: PeerId) -> bool {
        self.chosen.contains_key(&peer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(n: u128) -> PeerId {
        PeerId(uuid::Uuid::from_u128(n))
    }

    /// A second of packets at one level.
    fn speak(loudness: &mut Loudness, level: i8, start: Instant) -> Instant {
        let mut now = start;
        for _ in 0..50 {
            loudness.heard(Some(level), now);
            now += Duration::from_millis(20);
        }
        now
    }

    #[test]
    fn the_loudest_three_pass_and_stay_through_a_pause() {
        let start = Instant::now();
        let mut voices: Vec<Loudness> = (0..12).map(|_| Loudness::default()).collect();
        let mut now = start;
        for (i, voice) in voices.iter_mut().enumerate() {
            // Four speak (-20 … -35 dB), the rest hum at -90 dB.
            let level = if i < 4 { -20 - 5 * i as i8 } else { -90 };
            now = now.max(speak(voice, level, start));
        }
        let mut speakers = Speakers::default();
        let mut levels: Vec<(PeerId, f32)> =
            voices.iter().enumerate().map(|(i, v)| (peer(i as u128), v.now(now))).collect();
        speakers.choose(&mut levels, now);
        let passing: Vec<u128> = (0..12).filter(|i| speakers.passes(peer(*i))).collect();
        assert_eq!(passing, vec![0, 1, 2], "the three loudest, not the fourth, not the hum");

        // The loudest pauses for a breath: still chosen; the fourth, now
        // among the three loudest, comes in beside it.
        let later = now + Duration::from_millis(600);
        let mut levels: Vec<(PeerId, f32)> =
            (0..12).map(|i| (peer(i), if i == 0 { 0.0 } else { voices[i as usize].level })).collect();
        speakers.choose(&mut levels, later);
        assert!(speakers.passes(peer(0)) && speakers.passes(peer(3)));

        // Silent past the hold: gone.
        let much_later = later + HOLD;
        speakers.choose(&mut levels, much_later);
        assert!(!speakers.passes(peer(0)));
        assert!(voices[0].now(now + QUIET_AFTER) == 0.0, "no packets lately is silence");
    }
}
