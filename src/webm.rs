//! Gives a WebM recording its duration.
//!
//! Browsers' MediaRecorder writes WebM as a live stream: the header comes
//! first, before anyone knows how long the recording will be, so it has no
//! `Duration`. Players then show no length and cannot seek well. Both sides
//! mend that here, on the start of the file only (the first chunk or the
//! first few, see [`HEAD_BYTES`]): the browser before offering the
//! download, the server as soon as the uploaded chunks hold the header
//! (and after every later chunk it rewrites the eight bytes of the value in
//! place, so that a recording cut short by a crashed tab still says how
//! long it is).
//!
//! Only what that needs of EBML (Matroska's binary format) is read: the
//! EBML header, the `Segment` and its `Info`. Anything else, or a chunk that
//! ends too early, leaves the bytes as they are ([`None`]): a recording
//! without a duration still plays. Nothing here panics on any input.

/// Element ids (with their length marker bits, as written).
const EBML: u32 = 0x1A45_DFA3;
const SEGMENT: u32 = 0x1853_8067;
const INFO: u32 = 0x1549_A966;
const TIMECODE_SCALE: u32 = 0x2A_D7B1;
const DURATION: u32 = 0x4489;

/// How far into a file its header is looked for. MediaRecorder's first
/// chunk is sometimes only the first few dozen bytes, so the start of a
/// file may take several chunks; a header is far smaller than this.
pub const HEAD_BYTES: usize = 64 * 1024;

/// The default `TimecodeScale`: durations count milliseconds.
const DEFAULT_SCALE_NS: u64 = 1_000_000;

/// Where a recording's duration lives once [`add_duration`] has put it there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DurationField {
    /// Offset of the 8-byte big-endian float from the start of the file.
    pub offset: u64,
    /// Nanoseconds per unit of the value (the file's `TimecodeScale`).
    pub scale_ns: u64,
}

impl DurationField {
    /// The eight bytes to write at [`DurationField::offset`] for `ms`.
    pub fn value(&self, ms: f64) -> [u8; 8] {
        let units = ms.max(0.0) * 1e6 / self.scale_ns.max(1) as f64;
        units.to_be_bytes()
    }
}

/// Reads a variable-length integer at `at`: its value (marker bit removed
/// unless `keep_marker`) and its length. `None` past the end or on a zero byte.
fn vint(bytes: &[u8], at: usize, keep_marker: bool) -> Option<(u64, usize)> {
    let first = *bytes.get(at)?;
    let len = first.leading_zeros() as usize + 1;
    if len > 8 {
        return None;
    }
    let mut value = if keep_marker { u64::from(first) } else { u64::from(first) & (0xFF >> len) };
    for i in 1..len {
        value = (value << 8) | u64::from(*bytes.get(at + i)?);
    }
    Some((value, len))
}

/// An element header: id, data size (`None`: unknown, as live streams write
/// the Segment) and where the data starts.
fn header(bytes: &[u8], at: usize) -> Option<(u32, Option<u64>, usize)> {
    let (id, id_len) = vint(bytes, at, true)?;
    let (size, size_len) = vint(bytes, at + id_len, false)?;
    let unknown = size == (1u64 << (7 * size_len)) - 1;
    Some((u32::try_from(id).ok()?, (!unknown).then_some(size), at + id_len + size_len))
}

/// The start of a WebM file (at least its header up to the end of `Info`)
/// with a `Duration` of `ms` added to `Info`, and where that value is.
/// `None` when the bytes are not such a start, or already have a duration.
pub fn add_duration(head: &[u8], ms: f64) -> Option<(Vec<u8>, DurationField)> {
    let (id, size, data) = header(head, 0)?;
    if id != EBML {
        return None;
    }
    let (id, _, mut at) = header(head, data.checked_add(usize::try_from(size?).ok()?)?)?;
    if id != SEGMENT {
        return None;
    }
    // The Segment's first children (SeekHead, Void…) come before Info.
    let (info_start, body, end) = loop {
        let (id, size, data) = header(head, at)?;
        let end = data.checked_add(usize::try_from(size?).ok()?)?;
        if id == INFO {
            break (at, data, end);
        }
        at = end;
    };
    let info = head.get(body..end)?;
    let mut scale_ns = DEFAULT_SCALE_NS;
    let mut at = 0;
    while at < info.len() {
        let (id, size, data) = header(info, at)?;
        let size = usize::try_from(size?).ok()?;
        let value = info.get(data..data.checked_add(size)?)?;
        match id {
            DURATION => return None,
            TIMECODE_SCALE if (1..=8).contains(&size) => {
                scale_ns = value.iter().fold(0, |n, b| (n << 8) | u64::from(*b)).max(1);
            }
            _ => {}
        }
        at = data + size;
    }
    // Info is rewritten with an 8-byte size field, which fits any size.
    let new_size = (info.len() + 11) as u64;
    let mut out = Vec::with_capacity(head.len() + 16);
    out.extend_from_slice(&head[..info_start]);
    out.extend_from_slice(&INFO.to_be_bytes());
    out.push(0x01);
    out.extend_from_slice(&new_size.to_be_bytes()[1..]);
    out.extend_from_slice(info);
    out.extend_from_slice(&[0x44, 0x89, 0x88]);
    let field = DurationField { offset: out.len() as u64, scale_ns };
    out.extend_from_slice(&field.value(ms));
    out.extend_from_slice(&head[end..]);
    Some((out, field))
}

/// The start of a file as Chromium's MediaRecorder writes it: EBML
/// header, a Segment of unknown size, Info (scale, muxer, writer), and
/// the beginning of Tracks.
#[cfg(test)]
pub(crate) fn chromium_head() -> Vec<u8> {
    let mut b = vec![0x1A, 0x45, 0xDF, 0xA3, 0x84, 0x42, 0x82, 0x81, 0x77];
    b.extend([0x18, 0x53, 0x80, 0x67, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
    let info_body = [
        0x2A, 0xD7, 0xB1, 0x83, 0x0F, 0x42, 0x40, // TimecodeScale 1,000,000
        0x4D, 0x80, 0x82, b'C', b'h', // MuxingApp
        0x57, 0x41, 0x82, b'C', b'h', // WritingApp
    ];
    b.extend([0x15, 0x49, 0xA9, 0x66, 0x80 | info_body.len() as u8]);
    b.extend(info_body);
    b.extend([0x16, 0x54, 0xAE, 0x6B, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xAE]);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duration_is_added_to_info_and_can_be_rewritten() {
        let head = chromium_head();
        let (out, field) = add_duration(&head, 4_250.0).expect("a WebM start");
        assert_eq!(out.len(), head.len() + 7 + 11, "8-byte size field and the Duration element");
        assert_eq!(field.scale_ns, 1_000_000);
        let at = field.offset as usize;
        assert_eq!(&out[at - 3..at], &[0x44, 0x89, 0x88]);
        assert_eq!(f64::from_be_bytes(out[at..at + 8].try_into().unwrap()), 4_250.0);
        assert!(out.ends_with(&head[head.len() - 13..]), "what follows Info is kept");
        // The patched file parses again and now has a duration.
        assert_eq!(add_duration(&out, 1.0), None);
    }

    #[test]
    fn anything_else_is_left_alone_without_panicking() {
        assert_eq!(add_duration(b"", 1.0), None);
        assert_eq!(add_duration(b"not a webm file at all", 1.0), None);
        let head = chromium_head();
        for cut in 0..40 {
            assert_eq!(add_duration(&head[..cut], 1.0), None, "cut at {cut}");
        }
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..20_000 {
            let mut bytes = head.clone();
            for _ in 0..3 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let i = (seed % bytes.len() as u64) as usize;
                bytes[i] = (seed >> 32) as u8;
            }
            let _ = add_duration(&bytes, 1.0);
        }
    }
}
