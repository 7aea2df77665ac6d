//! Simulcast: a camera sends three layers (`q`, `h`, `f`: a quarter, half
//! and the whole of its picture), and each receiver gets, per tile, the
//! smallest layer that fills the tile as it shows it, or a smaller one when
//! its bandwidth estimate cannot carry that.
//!
//! A receiver moves to another layer only at a keyframe of that layer (it
//! could not decode anything else), and the layers' RTP clocks start at
//! unrelated values, so each receiver's copy runs on a clock of its own:
//! the offset from the layer's clock is set again at every switch.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};
use str0m::media::{MediaData, MediaTime, Rid};

/// How long a layer may send nothing before it counts as stopped.
const STILL: Duration = Duration::from_millis(1_500);

/// The layers' names, smallest first, as moim's browsers send them.
pub const RIDS: [&str; 3] = ["q", "h", "f"];

fn rank(rid: &Rid) -> usize {
    RIDS.iter().position(|name| **rid == **name).unwrap_or(RIDS.len())
}

/// What a publisher's camera layers are, as seen arriving.
#[derive(Default)]
pub struct Layers {
    /// By layer: its picture size (from its last keyframe) and bitrate.
    seen: HashMap<Rid, Seen>,
}

#[derive(Default)]
struct Seen {
    size: Option<(u16, u16)>,
    /// When its last frame came: a browser short of CPU or bandwidth
    /// stops sending its biggest layers for a while.
    last: Option<Instant>,
    bytes: u64,
    since: Option<Instant>,
    /// Bits per second over the last full second.
    rate: f64,
}

impl Layers {
    /// Takes note of a frame of one layer.
    pub fn saw(&mut self, data: &MediaData, now: Instant) {
        let Some(rid) = data.rid else { return };
        let seen = self.seen.entry(rid).or_default();
        if data.is_keyframe() {
            seen.size = vp8_size(&data.data).or(seen.size);
        }
        seen.bytes += data.data.len() as u64;
        seen.last = Some(now);
        let since = *seen.since.get_or_insert(now);
        let span = now.duration_since(since);
        if span >= Duration::from_secs(1) {
            seen.rate = seen.bytes as f64 * 8.0 / span.as_secs_f64();
            seen.bytes = 0;
            seen.since = Some(now);
        }
    }

    /// The layers that are arriving, smallest first.
    fn known(&self) -> Vec<Rid> {
        let now = Instant::now();
        let flowing = |seen: &Seen| seen.last.is_some_and(|last| now.duration_since(last) < STILL);
        let mut rids: Vec<Rid> = self.seen.iter().filter(|(_, seen)| flowing(seen)).map(|(rid, _)| *rid).collect();
        rids.sort_by_key(|rid| (rank(rid), self.seen[rid].size.map_or(0, |(_, h)| h)));
        rids
    }

    /// The layer a tile `view` (width, height in device pixels) wants,
    /// before bandwidth: the smallest that fills it. With no view yet, the
    /// middle one.
    pub fn fits(&self, view: Option<(u16, u16)>) -> Option<Rid> {
        let known = self.known();
        let (_, height) = match view {
            Some(view) => view,
            None => return known.get(known.len() / 2).copied(),
        };
        let tall_enough =
            |rid: &&Rid| self.seen[*rid].size.is_some_and(|(_, h)| u32::from(h) * 10 >= u32::from(height) * 9);
        known.iter().find(tall_enough).or(known.last()).copied()
    }

    /// The next smaller layer than `rid`, if there is one.
    pub fn below(&self, rid: Rid) -> Option<Rid> {
        let known = self.known();
        let at = known.iter().position(|r| *r == rid)?;
        at.checked_sub(1).map(|below| known[below])
    }

    /// The bits per second a layer takes (0 until measured).
    pub fn rate(&self, rid: Rid) -> f64 {
        self.seen.get(&rid).map_or(0.0, |seen| seen.rate)
    }
}

/// A VP8 keyframe's picture size, from its header (RFC 6386, 9.1).
fn vp8_size(frame: &[u8]) -> Option<(u16, u16)> {
    if frame.len() < 10 || frame[0] & 1 != 0 || frame[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let width = u16::from_le_bytes([frame[6], frame[7]]) & 0x3fff;
    let height = u16::from_le_bytes([frame[8], frame[9]]) & 0x3fff;
    Some((width, height))
}

/// One receiver's copy of one simulcast track.
#[derive(Default)]
pub struct Copy {
    /// The layer it gets now, and the one it should get.
    pub chosen: Option<Rid>,
    pub wanted: Option<Rid>,
    /// Added (wrapping) to the layer's RTP clock (90 kHz) to make this
    /// copy's clock.
    offset: u64,
    /// This copy's last time out, and when it went.
    last: Option<(u64, Instant)>,
}

impl Copy {
    /// Whether a frame goes to this receiver, switching layers at a
    /// keyframe of the wanted one; the time to send it with if so.
    pub fn pass(&mut self, data: &MediaData) -> Option<MediaTime> {
        if data.rid.is_none() {
            return Some(data.time);
        }
        let switch = data.rid == self.wanted && self.wanted != self.chosen && data.is_keyframe();
        if switch || (self.chosen.is_none() && data.is_keyframe()) {
            tracing::debug!(from = ?self.chosen, to = ?data.rid, "a copy switches layers");
            self.chosen = data.rid;
            let at = data.time.numer();
            // Go on from where this copy's clock was, by the time that passed.
            self.offset = match self.last {
                Some((last, when)) => {
                    let passed = data.network_time.saturating_duration_since(when).as_micros() as u64 * 9 / 100;
                    (last + passed.max(1)).wrapping_sub(at)
                }
                None => 0,
            };
        }
        if data.rid != self.chosen {
            return None;
        }
        let time = data.time.numer().wrapping_add(self.offset);
        self.last = Some((time, data.network_time));
        Some(MediaTime::new(time, data.time.frequency()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vp8_keyframe_header_gives_its_size() {
        let mut frame = vec![0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a];
        frame.extend_from_slice(&640u16.to_le_bytes());
        frame.extend_from_slice(&360u16.to_le_bytes());
        assert_eq!(vp8_size(&frame), Some((640, 360)));
        frame[0] |= 1;
        assert_eq!(vp8_size(&frame), None, "not a keyframe");
    }
}
