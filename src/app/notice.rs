//! What the page tells the person, as facts: the call and the server hand
//! over a [`Notice`] or a [`FileEnd`], never a sentence, and the page words
//! it in the reader's language when it shows it. A switch of language
//! rewords what is already on the screen.

use crate::protocol::{recording::Refused, ErrorCode, MAX_CHAT_CHARS, MAX_NAME_CHARS};
use crate::shared::thousands;
use crate::tr;

/// Something to tell the person: a refusal, a missing device, a step that
/// cannot be taken now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// The signaling server refused something, with its typed details.
    Server {
        code: ErrorCode,
        retry_after_ms: Option<u64>,
        capacity: Option<u32>,
    },
    /// The recordings service refused something.
    Recording(Refused),
    /// A request got no answer of moim's: the browser's or a proxy's detail.
    Network(String),
    NameNeeded,
    JoiningSoon,
    NotConnected,
    /// A host made sharing host-only while this person shared.
    ShareMadeHostOnly,
    /// A host let this lecture's watcher present.
    MayPresent,
    OneShareAtATime,
    NobodyToSendTo,
    /// A recording asked for before the server welcomed this person.
    NotInCallYet,
    MediaDenied,
    NoDevices,
    DeviceBusy,
    /// No `getUserMedia` here: the page is not HTTPS or localhost.
    InsecurePage,
    NoCamera,
    NoMic,
    /// A device failed in a way the browser explained (its words).
    MediaFailed(String),
    ShareUnavailable,
    ShareFailed(String),
    /// A file could not be played into the call (the browser's words).
    CannotPlay {
        name: Option<String>,
        why: String,
    },
    CannotRecord(String),
    ChatEmpty,
    ChatTooLong(usize),
}

impl Notice {
    /// The notice in the page's language (tracked: call it in a closure).
    pub fn words(&self) -> String {
        match self {
            Self::Server { code, retry_after_ms, capacity } => server(*code, *retry_after_ms, *capacity),
            Self::Recording(refused) => recording(*refused),
            Self::Network(detail) => tr!(network_failed, detail = detail.as_str()),
            Self::NameNeeded => tr!(name_needed, max = MAX_NAME_CHARS),
            Self::JoiningSoon => tr!(joining_soon).into(),
            Self::NotConnected => tr!(not_connected).into(),
            Self::ShareMadeHostOnly => tr!(share_made_host_only).into(),
            Self::MayPresent => tr!(may_present_now).into(),
            Self::OneShareAtATime => tr!(one_share_at_a_time).into(),
            Self::NobodyToSendTo => tr!(nobody_to_send_to).into(),
            Self::NotInCallYet => tr!(not_in_call_yet).into(),
            Self::MediaDenied => tr!(media_denied).into(),
            Self::NoDevices => tr!(no_devices).into(),
            Self::DeviceBusy => tr!(device_busy).into(),
            Self::InsecurePage => tr!(insecure_page).into(),
            Self::NoCamera => tr!(no_camera).into(),
            Self::NoMic => tr!(no_mic).into(),
            Self::MediaFailed(why) => tr!(media_failed, why = why.as_str()),
            Self::ShareUnavailable => tr!(share_unavailable).into(),
            Self::ShareFailed(why) => tr!(share_failed, why = why.as_str()),
            Self::CannotPlay { name: Some(name), why } => {
                tr!(cannot_play_named, name = name.as_str(), why = why.as_str())
            }
            Self::CannotPlay { name: None, why } => tr!(cannot_play, why = why.as_str()),
            Self::CannotRecord(why) => tr!(cannot_record, why = why.as_str()),
            Self::ChatEmpty => tr!(chat_empty).into(),
            Self::ChatTooLong(chars) => too_long(*chars),
        }
    }
}

/// What a person is told about a chat message over [`MAX_CHAT_CHARS`]: by
/// the page as it is typed, by the call if it is sent anyway.
pub fn too_long(chars: usize) -> String {
    tr!(chat_too_long, max = thousands(MAX_CHAT_CHARS), chars = thousands(chars))
}

fn server(code: ErrorCode, retry_after_ms: Option<u64>, capacity: Option<u32>) -> String {
    let secs = retry_after_ms.map_or(0, |ms| ms.div_ceil(1000));
    match code {
        ErrorCode::RoomFull => match capacity {
            Some(capacity) => tr!(err_room_full_of, capacity = capacity),
            None => tr!(err_room_full).into(),
        },
        ErrorCode::RateLimited if secs > 0 => tr!(err_rate_limited_for, secs = secs),
        ErrorCode::RateLimited => tr!(err_rate_limited).into(),
        ErrorCode::TooManyAttempts if secs > 0 => tr!(err_too_many_attempts_for, secs = secs),
        ErrorCode::TooManyAttempts => tr!(err_too_many_attempts).into(),
        ErrorCode::PasswordRequired => tr!(err_password_required).into(),
        ErrorCode::WrongPassword => tr!(err_wrong_password).into(),
        ErrorCode::RoomLocked => tr!(err_room_locked).into(),
        ErrorCode::Removed => tr!(err_removed).into(),
        ErrorCode::NotHost => tr!(err_not_host).into(),
        ErrorCode::NotAllowed => tr!(err_not_allowed).into(),
        ErrorCode::NotPresenter => tr!(err_not_presenter).into(),
        ErrorCode::TooManyRooms => tr!(err_too_many_rooms).into(),
        ErrorCode::Unavailable => tr!(err_unavailable).into(),
        ErrorCode::Version => tr!(err_version).into(),
        ErrorCode::BadName => tr!(name_needed, max = MAX_NAME_CHARS),
        ErrorCode::AlreadyJoined => tr!(err_already_joined).into(),
        ErrorCode::Internal => tr!(err_internal).into(),
        ErrorCode::Malformed
        | ErrorCode::UnknownType
        | ErrorCode::TooLarge
        | ErrorCode::Binary
        | ErrorCode::NotJoined
        | ErrorCode::UnknownPeer
        | ErrorCode::NotForwarded => tr!(err_protocol).into(),
    }
}

fn recording(refused: Refused) -> String {
    match refused {
        Refused::NotInRoom => tr!(rec_not_in_room).into(),
        Refused::Removed => tr!(err_removed).into(),
        Refused::PasswordRequired => tr!(err_password_required).into(),
        Refused::NotHost => tr!(err_not_host).into(),
        Refused::Unknown => tr!(rec_unknown).into(),
        Refused::TooMany => tr!(rec_too_many).into(),
        Refused::Busy => tr!(rec_busy).into(),
        Refused::RoomFull => tr!(rec_room_full).into(),
        Refused::ServerFull => tr!(rec_server_full).into(),
        Refused::TooLarge => tr!(rec_too_large).into(),
        Refused::Internal => tr!(err_internal).into(),
        Refused::Malformed | Refused::BadKey | Refused::Incomplete | Refused::Gap | Refused::Finished => {
            tr!(err_protocol).into()
        }
    }
}

/// Why a file transfer ended without the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileEnd {
    YouDeclined,
    YouCancelled,
    /// The other person (named) declined or cancelled it.
    TheyDeclined(String),
    TheyCancelled(String),
    /// The receiver's copy failed its check.
    TheirCopyDamaged(String),
    /// This copy failed its check.
    ArrivedDamaged(String),
    TooManyBytes,
    /// The browser would not keep the file (its name).
    CannotKeep(String),
    ConnectionBroke(String),
    LeftBeforeItArrived(String),
    LeftBeforeSendingAll(String),
}

impl FileEnd {
    pub fn words(&self) -> String {
        match self {
            Self::YouDeclined => tr!(file_you_declined).into(),
            Self::YouCancelled => tr!(file_you_cancelled).into(),
            Self::TheyDeclined(who) => tr!(file_they_declined, who = who.as_str()),
            Self::TheyCancelled(who) => tr!(file_they_cancelled, who = who.as_str()),
            Self::TheirCopyDamaged(who) => tr!(file_their_copy_damaged, who = who.as_str()),
            Self::ArrivedDamaged(who) => tr!(file_arrived_damaged, who = who.as_str()),
            Self::TooManyBytes => tr!(file_too_many_bytes).into(),
            Self::CannotKeep(name) => tr!(file_cannot_keep, name = name.as_str()),
            Self::ConnectionBroke(who) => tr!(file_connection_broke, who = who.as_str()),
            Self::LeftBeforeItArrived(who) => tr!(file_left_before_arrived, who = who.as_str()),
            Self::LeftBeforeSendingAll(who) => tr!(file_left_before_sending, who = who.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::lang::{provide_with, Locale};
    use leptos::prelude::Owner;

    /// `f`'s words in `locale`.
    fn said_in(locale: Locale, f: impl FnOnce() -> String) -> String {
        let owner = Owner::new();
        owner.with(|| {
            provide_with(locale);
            f()
        })
    }

    #[test]
    fn the_server_sends_facts_and_the_page_words_them() {
        let full = Notice::Server { code: ErrorCode::RoomFull, retry_after_ms: None, capacity: Some(8) };
        assert_eq!(
            said_in(Locale::en, || full.words()),
            "This room is full (8 people); try again when someone leaves."
        );
        assert_eq!(
            said_in(Locale::ko, || full.words()),
            "회의실이 가득 찼습니다 (8명). 누군가 나가면 다시 시도하세요."
        );
        let wait = Notice::Server { code: ErrorCode::TooManyAttempts, retry_after_ms: Some(4_200), capacity: None };
        assert_eq!(said_in(Locale::ko, || wait.words()), "비밀번호를 너무 많이 틀렸습니다. 5초 후 다시 시도하세요.");
    }

    #[test]
    fn the_limit_in_words_is_the_limit_in_code() {
        let words = said_in(Locale::en, || Notice::ChatTooLong(MAX_CHAT_CHARS + 1).words());
        assert_eq!(
            words,
            format!(
                "A message can have at most {} characters; this one has {}.",
                thousands(MAX_CHAT_CHARS),
                thousands(MAX_CHAT_CHARS + 1)
            )
        );
        assert!(said_in(Locale::ko, || too_long(4_001)).contains("4,001자"));
    }
}
