//! The state of a call as the page shows it: reactive signals that the views
//! read and the browser client ([`crate::client`]) writes.
//!
//! Media streams are JavaScript objects that live on the page's thread, so
//! they sit in local (non-`Send`) signals.

pub use super::notice::{FileEnd, Notice};
use crate::protocol::{ChatMessage, MediaState, PeerId, RoomId, RoomSettings, SharePolicy};
use leptos::prelude::*;
use web_sys::MediaStream;

/// Where the person is on the room page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Choosing name and devices.
    Prejoin,
    /// In the call (also while connecting).
    InCall,
    /// Pressed Leave.
    Left,
    /// The server refused to let them in, and why.
    Refused(Notice),
    /// A host removed them from the call.
    Removed,
}

/// The signaling connection as the person should understand it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Link {
    Connecting,
    Connected,
    /// The socket dropped; the call goes on and the client is reconnecting.
    Reconnecting,
}

/// A camera or microphone the browser offers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    pub id: String,
    pub label: String,
}

/// Another participant in the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Remote {
    pub id: PeerId,
    pub name: RwSignal<String>,
    pub media: RwSignal<MediaState>,
    /// Their camera and microphone as received, once the connection is up.
    pub stream: RwSignal<Option<MediaStream>, LocalStorage>,
    /// The screen they share, while they share one.
    pub screen: RwSignal<Option<MediaStream>, LocalStorage>,
    /// The peer connection's state (`new`, `connecting`, `connected`, `failed`…).
    pub connection: RwSignal<Connection>,
}

impl Remote {
    pub fn new(id: PeerId, name: String, media: MediaState) -> Self {
        Self {
            id,
            name: RwSignal::new(name),
            media: RwSignal::new(media),
            stream: RwSignal::new_local(None),
            screen: RwSignal::new_local(None),
            connection: RwSignal::new(Connection::New),
        }
    }
}

/// How a peer connection stands (`RTCPeerConnectionState`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Connection {
    #[default]
    New,
    Connecting,
    Connected,
    Disconnected,
    Failed,
    Closed,
}

impl Connection {
    /// It was up and is not: the tile says it is being restored.
    pub fn is_lost(self) -> bool {
        matches!(self, Self::Disconnected | Self::Failed)
    }
}

/// Everything the room page shows about a call.
#[derive(Clone, Copy, Debug)]
pub struct CallState {
    pub room: RoomId,
    pub stage: RwSignal<Stage>,
    pub link: RwSignal<Link>,
    pub name: RwSignal<String>,
    /// What this participant sends; also drives the toggle buttons.
    pub media: RwSignal<MediaState>,
    /// The local camera/microphone preview (none when receive-only).
    pub local: RwSignal<Option<MediaStream>, LocalStorage>,
    /// Whether a camera and a microphone could be captured at all.
    pub has_camera: RwSignal<bool>,
    pub has_mic: RwSignal<bool>,
    pub cameras: RwSignal<Vec<Device>>,
    pub mics: RwSignal<Vec<Device>>,
    /// Where remote sound plays (empty where the browser cannot choose).
    pub speakers: RwSignal<Vec<Device>>,
    pub camera_id: RwSignal<Option<String>>,
    pub mic_id: RwSignal<Option<String>>,
    /// The chosen speaker; `None` is the system's default.
    pub speaker_id: RwSignal<Option<String>>,
    /// A problem to tell the person about (denied camera, no microphone…).
    pub notice: RwSignal<Option<Notice>>,
    pub remotes: RwSignal<Vec<Remote>>,
    /// The screen this participant shares, while sharing.
    pub sharing: RwSignal<Option<MediaStream>, LocalStorage>,
    /// The name of the video played into the call, when the share is one.
    pub playing: RwSignal<Option<String>>,
    /// Chat messages, ordered by time, each once.
    pub chat: RwSignal<Vec<ChatLine>>,
    pub chat_open: RwSignal<bool>,
    /// Messages that arrived while the chat panel was closed.
    pub unread: RwSignal<usize>,
    /// The room's settings (password, lock, share policy, hosts), from the server.
    pub settings: RwSignal<RoomSettings>,
    /// The panel of people and room settings.
    pub settings_open: RwSignal<bool>,
    /// Push-to-talk: the microphone is on only while Space is held.
    pub talking: RwSignal<bool>,
    /// The Settings dialog (camera, microphone, speaker, language, shortcuts).
    pub devices_open: RwSignal<bool>,
    /// The More menu of the call bar.
    pub more_open: RwSignal<bool>,
    /// The meeting's link was just copied.
    pub copied: RwSignal<bool>,
    /// The list of keyboard shortcuts.
    pub keys_open: RwSignal<bool>,
    /// Single-key shortcuts; off for people whose screen reader needs the keys.
    pub shortcuts: RwSignal<bool>,
    /// This participant's id, once the server has welcomed it.
    pub me: RwSignal<Option<PeerId>>,
    /// The server asked for the room's password: the prejoin form shows a field for it.
    pub password_needed: RwSignal<bool>,
    pub password: RwSignal<String>,
    /// Join was pressed before the call existed (right after hydration,
    /// before the effect that makes it has run): join once it does.
    pub join_asked: RwSignal<bool>,
    /// This participant's recording, if it made one in this call.
    pub recording: RwSignal<Option<RecordingStatus>>,
    /// Files sent and received in this call, oldest first.
    pub transfers: RwSignal<Vec<Transfer>>,
    /// The room's media goes through the server's forwarding unit (the
    /// call screen says so: the server could see and hear it).
    pub forwarded: RwSignal<bool>,
}

/// This participant's recording, while it runs and after it stopped.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecordingStatus {
    pub running: bool,
    /// Length recorded so far.
    pub ms: u64,
    /// Chunks recorded, and stored on the server.
    pub made: u64,
    pub stored: u64,
    /// Every chunk is stored and the server knows the recording stopped.
    pub done: bool,
    /// What went wrong with saving it on the server.
    pub problem: Option<Notice>,
    /// Once stopped: the file, ready to download.
    pub download: Option<SavedFile>,
}

/// Which way a file goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Outgoing,
    Incoming,
}

/// Where a file transfer stands.
#[derive(Clone, Debug, PartialEq)]
pub enum TransferState {
    /// Offered; waiting for the other side to accept.
    Waiting,
    /// Offered to this person; waiting for them to accept.
    Asked,
    /// Bytes are moving.
    Moving,
    /// Received whole and checked: the file, behind an object URL.
    Ready(String),
    /// Sent, and the other side found it intact.
    Delivered,
    /// Declined, cancelled, damaged, or the other side left: why.
    Ended(FileEnd),
}

/// One file on its way to or from one participant.
#[derive(Clone, Debug, PartialEq)]
pub struct Transfer {
    pub id: uuid::Uuid,
    pub peer: PeerId,
    /// The other participant's name.
    pub who: String,
    pub name: String,
    pub size: u64,
    pub direction: Direction,
    /// Bytes sent or received so far.
    pub moved: RwSignal<u64>,
    pub state: RwSignal<TransferState>,
}

/// A recording kept in the browser, behind an object URL.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedFile {
    pub url: String,
    pub name: String,
    pub bytes: u64,
}

/// A chat message with its time as the reader's clock shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct ChatLine {
    pub message: ChatMessage,
    pub clock: String,
    /// Who passed the message on, when it came from the history of
    /// someone other than its author (who has left): shown, since nobody
    /// can prove what a departed person wrote.
    pub via: Option<String>,
}

impl CallState {
    pub fn new(room: RoomId) -> Self {
        Self {
            room,
            stage: RwSignal::new(Stage::Prejoin),
            link: RwSignal::new(Link::Connecting),
            name: RwSignal::new(String::new()),
            media: RwSignal::new(MediaState { audio: true, video: true, screen: false, recording: false }),
            local: RwSignal::new_local(None),
            has_camera: RwSignal::new(false),
            has_mic: RwSignal::new(false),
            cameras: RwSignal::new(Vec::new()),
            mics: RwSignal::new(Vec::new()),
            speakers: RwSignal::new(Vec::new()),
            camera_id: RwSignal::new(None),
            mic_id: RwSignal::new(None),
            speaker_id: RwSignal::new(None),
            notice: RwSignal::new(None),
            remotes: RwSignal::new(Vec::new()),
            sharing: RwSignal::new_local(None),
            playing: RwSignal::new(None),
            chat: RwSignal::new(Vec::new()),
            chat_open: RwSignal::new(false),
            unread: RwSignal::new(0),
            settings: RwSignal::new(RoomSettings::default()),
            settings_open: RwSignal::new(false),
            talking: RwSignal::new(false),
            devices_open: RwSignal::new(false),
            more_open: RwSignal::new(false),
            copied: RwSignal::new(false),
            keys_open: RwSignal::new(false),
            shortcuts: RwSignal::new(true),
            me: RwSignal::new(None),
            password_needed: RwSignal::new(false),
            password: RwSignal::new(String::new()),
            join_asked: RwSignal::new(false),
            recording: RwSignal::new(None),
            transfers: RwSignal::new(Vec::new()),
            forwarded: RwSignal::new(false),
        }
    }

    /// Whether `id` (or, with `None`, this participant) is a host of the room.
    pub fn is_host(&self, id: Option<PeerId>) -> bool {
        let Some(id) = id.or_else(|| self.me.get()) else { return false };
        self.settings.with(|s| s.hosts.contains(&id))
    }

    /// Opens or closes the chat (the bar's button and the C key); the
    /// people panel shares its place, and what is shown is read.
    pub fn toggle_chat(&self) {
        self.chat_open.update(|open| *open = !*open);
        self.settings_open.set(false);
        self.unread.set(0);
    }

    /// Whether this participant may share a screen under the room's settings.
    pub fn may_share(&self) -> bool {
        self.may_present(None) && (self.settings.with(|s| s.share == SharePolicy::Everyone) || self.is_host(None))
    }

    /// Whether `id` (or, with `None`, this participant) may send camera,
    /// microphone and screen: everyone but a lecture's watchers.
    pub fn may_present(&self, id: Option<PeerId>) -> bool {
        match id.or_else(|| self.me.get()) {
            Some(id) => self.settings.with(|s| s.may_present(id)),
            None => !self.settings.with(|s| s.presenters_only),
        }
    }

    pub fn remote(&self, id: PeerId) -> Option<Remote> {
        self.remotes.with_untracked(|all| all.iter().find(|r| r.id == id).copied())
    }
}

/// What a control asks of the call. The views name what the person did;
/// the browser's call (`client::Call::act`) does it. On the server nothing
/// is captured or connected, so nothing is asked: see `CallHandle::act`.
pub enum Action {
    Join,
    Leave,
    SetAudio(bool),
    SetVideo(bool),
    UseCamera(String),
    UseMic(String),
    UseSpeaker(String),
    /// The next camera (front and back on a phone).
    FlipCamera,
    ShareScreen,
    StopSharing,
    PlayVideo {
        url: String,
        name: String,
    },
    PlayFile(web_sys::File),
    SendFile(web_sys::File),
    AcceptFile(uuid::Uuid),
    DeclineFile(uuid::Uuid),
    CancelFile(uuid::Uuid),
    DismissFile(uuid::Uuid),
    /// Refused when empty, too long, or not in yet.
    SendChat(String),
    SetPassword(String),
    Lock(bool),
    SetShare(SharePolicy),
    /// Make the room a lecture, or a meeting again.
    SetPresentersOnly(bool),
    /// Let a participant present in a lecture, or stop it.
    SetPresenter(PeerId, bool),
    Remove(PeerId),
    MakeHost(PeerId),
    RevokeHost(PeerId),
    StartRecording,
    StopRecording,
}
