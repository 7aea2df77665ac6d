//! Why a signaling socket was closed: every websocket close code moim
//! sends or reports, with the reason text that goes with it
//! (docs/protocol.md, section 5, lists the same; a test checks the two
//! agree).

/// A close code of the signaling socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CloseCode {
    /// The server's answer to `leave`.
    Left,
    /// A frame over the size limit.
    TooLarge,
    /// The server is shutting down; reconnect and resume.
    Restarting,
    /// Nothing was received for `idle_timeout_secs`.
    Idle,
    /// No `join` within `join_timeout_secs`.
    NoJoin,
    /// A host removed this participant; do not reconnect.
    Removed,
    /// The outbox filled up; reconnect and start over as a newcomer.
    TooSlow,
    /// A newer socket resumed this participant.
    Replaced,
    /// The client went on sending after a burst of `rate_limited` errors.
    TooFast,
    /// The browser's own: it gave up on a socket whose server stopped
    /// answering pings (never on the wire).
    Silent,
}

impl CloseCode {
    pub const ALL: [Self; 10] = [
        Self::Left,
        Self::TooLarge,
        Self::Restarting,
        Self::Idle,
        Self::NoJoin,
        Self::Removed,
        Self::TooSlow,
        Self::Replaced,
        Self::TooFast,
        Self::Silent,
    ];

    /// The number in the close frame.
    pub const fn code(self) -> u16 {
        match self {
            Self::Left => 1000,
            Self::TooLarge => 1009,
            Self::Restarting => 1012,
            Self::Idle => 4000,
            Self::NoJoin => 4001,
            Self::Removed => 4003,
            Self::TooSlow => 4008,
            Self::Replaced => 4009,
            Self::TooFast => 4029,
            Self::Silent => 4900,
        }
    }

    /// The reason text sent with it.
    pub const fn reason(self) -> &'static str {
        match self {
            Self::Left => "left",
            Self::TooLarge => "frame too large",
            Self::Restarting => "server restarting",
            Self::Idle => "idle for too long",
            Self::NoJoin => "no join in time",
            Self::Removed => "removed by the host",
            Self::TooSlow => "too many messages waiting; reconnect",
            Self::Replaced => "this participant reconnected on another socket",
            Self::TooFast => "sending too fast",
            Self::Silent => "the server stopped answering",
        }
    }

    /// The close code with this number, if moim uses it.
    pub fn from_code(code: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }
}
