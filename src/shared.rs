//! Small helpers both worlds use (the pages, the browser's call, the
//! server): how times, sizes and file names are written, hex, a tile's
//! initial. Kept here, not in a page file, so that `server/` and `client/`
//! need nothing from `app/` but its views.

use crate::protocol::RoomId;

/// The name a recording is saved under: the room's first characters and
/// when it started (UTC), e.g. `moim-3f2a9c1e-2026-11-27-0845.webm`.
pub fn recording_file_name(room: RoomId, started_ms: u64) -> String {
    let (date, time) = utc(started_ms);
    let short: String = room.0.simple().to_string().chars().take(8).collect();
    format!("moim-{short}-{date}-{}.webm", time.replace(':', ""))
}

/// A moment in UTC, in calendar numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Utc {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
}

impl Utc {
    /// The calendar moment of `ms` milliseconds since the Unix epoch.
    pub fn at(ms: u64) -> Self {
        let secs = ms / 1000;
        let days = (secs / 86_400) as i64;
        // Days since 1970-01-01 to a civil date, in 400-year eras of 146,097
        // days starting on 0000-03-01 (so leap days fall at the end of a year).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let day_of_era = z.rem_euclid(146_097);
        let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let mp = (5 * day_of_year + 2) / 153;
        let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
        let month = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        let (hour, minute) = (((secs % 86_400) / 3600) as u32, ((secs % 3600) / 60) as u32);
        Self { year, month, day, hour, minute }
    }
}

/// `YYYY-MM-DD` and `HH:MM` in UTC for milliseconds since the Unix epoch.
pub fn utc(ms: u64) -> (String, String) {
    let Utc { year, month, day, hour, minute } = Utc::at(ms);
    (format!("{year:04}-{month:02}-{day:02}"), format!("{hour:02}:{minute:02}"))
}

/// `1:05` or `1:02:05`.
pub fn clock(ms: u64) -> String {
    let s = ms / 1000;
    match s / 3600 {
        0 => format!("{}:{:02}", s / 60, s % 60),
        h => format!("{h}:{:02}:{:02}", (s / 60) % 60, s % 60),
    }
}

/// A size as people read it: `420 kB`, `12.3 MB`.
pub fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1_000_000 => format!("{:.1} MB", b as f64 / 1e6),
        b => format!("{} kB", b.div_ceil(1000)),
    }
}

/// Bytes as lower-case hex (a file's SHA-256, the server's key on disk).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The first letter of a name, shown (and recorded) when the camera is off.
pub fn initial(name: &str) -> String {
    name.chars().next().map(|c| c.to_uppercase().collect()).unwrap_or_default()
}

/// `4000` as `4,000` (so in English and in Korean alike).
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn dates_and_names() {
        assert_eq!(utc(0), ("1970-01-01".into(), "00:00".into()));
        assert_eq!(utc(951_782_400_000), ("2000-02-29".into(), "00:00".into()));
        assert_eq!(utc(1_795_740_300_000), ("2026-11-27".into(), "00:45".into()));
        let room = RoomId(Uuid::parse_str("3f2a9c1e-0000-4000-8000-000000000000").unwrap());
        assert_eq!(recording_file_name(room, 1_795_740_300_000), "moim-3f2a9c1e-2026-11-27-0045.webm");
        assert_eq!(clock(65_000), "1:05");
        assert_eq!(clock(3_725_000), "1:02:05");
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(999), "999");
    }

    #[test]
    fn hex_and_initials() {
        assert_eq!(hex(&[0, 15, 255]), "000fff");
        assert_eq!(initial("ada"), "A");
        assert_eq!(initial("민준"), "민");
        assert_eq!(initial(""), "");
    }
}
