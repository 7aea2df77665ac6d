//! Which receiving transceiver of a browser carries which track.
//!
//! A browser's receiving transceivers (slots) are made once and given to
//! tracks as they come: a track keeps its slot while it is wanted, and a
//! slot freed by someone who left carries the next newcomer's track with
//! no renegotiation. Only when no slot of the right kind is free does the
//! browser have to add transceivers and offer again.

use crate::protocol::{PeerId, Source};
use str0m::media::Mid;

/// A participant's track, as the forwarding table names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Track {
    pub peer: PeerId,
    pub source: Source,
}

/// One receiving transceiver.
#[derive(Clone, Debug, PartialEq)]
pub struct Slot {
    pub mid: Mid,
    pub audio: bool,
    pub carries: Option<Track>,
}

/// What [`assign`] changed.
#[derive(Debug, Default, PartialEq)]
pub struct Assigned {
    /// Tracks put in a slot just now: their receivers need a keyframe.
    pub placed: Vec<(Mid, Track)>,
    /// How many slots of each kind the browser should have.
    pub audio: usize,
    pub video: usize,
}

/// Gives every wanted track a slot of its kind, keeping those already
/// placed and freeing slots whose track is no longer wanted.
pub fn assign(slots: &mut [Slot], wanted: &[Track]) -> Assigned {
    for slot in slots.iter_mut() {
        if slot.carries.is_some_and(|track| !wanted.contains(&track)) {
            slot.carries = None;
        }
    }
    let mut done = Assigned::default();
    let (mut short_audio, mut short_video) = (0, 0);
    for track in wanted {
        if slots.iter().any(|slot| slot.carries == Some(*track)) {
            continue;
        }
        let audio = track.source.is_audio();
        match slots.iter_mut().find(|slot| slot.audio == audio && slot.carries.is_none()) {
            Some(slot) => {
                slot.carries = Some(*track);
                done.placed.push((slot.mid, *track));
            }
            None if audio => short_audio += 1,
            None => short_video += 1,
        }
    }
    done.audio = slots.iter().filter(|slot| slot.audio).count() + short_audio;
    done.video = slots.iter().filter(|slot| !slot.audio).count() + short_video;
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(mid: &str, audio: bool) -> Slot {
        Slot { mid: Mid::from(mid), audio, carries: None }
    }

    #[test]
    fn tracks_keep_their_slots_and_freed_slots_are_reused() {
        let (alice, bob, carol) = (PeerId::random(), PeerId::random(), PeerId::random());
        let mut slots = vec![slot("4", true), slot("5", false)];
        let cam = |peer| Track { peer, source: Source::Camera };
        let mic = |peer| Track { peer, source: Source::Mic };

        let first = assign(&mut slots, &[mic(alice), cam(alice), cam(bob)]);
        assert_eq!(first.placed.len(), 2);
        assert_eq!((first.audio, first.video), (1, 2), "one more video slot is needed");

        slots.push(slot("6", false));
        let second = assign(&mut slots, &[mic(alice), cam(alice), cam(bob)]);
        assert_eq!(second.placed, vec![(Mid::from("6"), cam(bob))], "only the new one is placed");

        // Alice leaves, Carol comes: Carol takes Alice's slots.
        let third = assign(&mut slots, &[cam(bob), cam(carol), mic(carol)]);
        assert_eq!(slots[0].carries, Some(mic(carol)));
        assert_eq!(slots[1].carries, Some(cam(carol)));
        assert_eq!(slots[2].carries, Some(cam(bob)));
        assert_eq!((third.audio, third.video), (1, 2));
    }
}
