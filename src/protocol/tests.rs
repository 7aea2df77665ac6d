use super::*;

fn peer() -> PeerId {
    PeerId(Uuid::from_u128(7))
}

fn every_client_msg() -> Vec<ClientMsg> {
    vec![
        ClientMsg::Join {
            version: PROTOCOL_VERSION,
            room: RoomId(Uuid::from_u128(1)),
            name: "Ada".into(),
            media: MediaState { audio: true, video: false, screen: false, recording: false },
            resume: None,
            password: None,
            host_token: None,
            device: None,
        },
        ClientMsg::Join {
            version: PROTOCOL_VERSION,
            room: RoomId(Uuid::from_u128(1)),
            name: "Ada".into(),
            media: MediaState::default(),
            resume: Some(Resume { id: peer(), token: "ab".repeat(32) }),
            password: Some("correct horse".into()),
            host_token: Some("cd".repeat(32)),
            device: Some("f3a9c1d2e4b5".into()),
        },
        ClientMsg::SetPassword { password: "correct horse".into() },
        ClientMsg::Lock { locked: true },
        ClientMsg::SetShare { share: SharePolicy::Host },
        ClientMsg::SetPresentersOnly { presenters_only: true },
        ClientMsg::SetPresenter { id: peer(), presenter: true },
        ClientMsg::Remove { id: peer() },
        ClientMsg::MakeHost { id: peer() },
        ClientMsg::RevokeHost { id: peer() },
        ClientMsg::Signal {
            to: peer(),
            signal: Signal::Description { sdp_type: SdpType::Offer, sdp: "v=0\r\n".into() },
        },
        ClientMsg::Signal {
            to: peer(),
            signal: Signal::Candidate {
                candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host".into(),
                sdp_mid: Some("0".into()),
                sdp_m_line_index: Some(0),
            },
        },
        ClientMsg::Media { media: MediaState::default() },
        ClientMsg::Ping,
        ClientMsg::Leave,
        ClientMsg::ForwardOffer {
            sdp: "v=0\r\n".into(),
            sending: vec![
                Published { mid: "0".into(), source: Source::Mic },
                Published { mid: "1".into(), source: Source::Camera },
            ],
        },
        ClientMsg::ForwardView { peer: peer(), width: 640, height: 360 },
        ClientMsg::Chat { to: None, msg: PeerMsg::HistoryRequest },
        ClientMsg::Chat { to: Some(peer()), msg: PeerMsg::HistoryRequest },
    ]
}

fn every_server_msg() -> Vec<ServerMsg> {
    let info = PeerInfo {
        id: peer(),
        name: "Grace".into(),
        media: MediaState { audio: true, video: true, screen: false, recording: false },
    };
    vec![
        ServerMsg::Welcome {
            version: PROTOCOL_VERSION,
            you: PeerId(Uuid::from_u128(8)),
            room: RoomId(Uuid::from_u128(1)),
            peers: vec![info.clone()],
            ice_servers: vec![IceServer {
                urls: vec!["turn:127.0.0.1:3478".into()],
                username: Some("1700000000:x".into()),
                credential: Some("secret".into()),
            }],
            resume_token: "ab".repeat(32),
            resumed: false,
            relay_only: false,
            settings: RoomSettings {
                password: true,
                locked: false,
                share: SharePolicy::Host,
                hosts: vec![PeerId(Uuid::from_u128(8))],
                presenters_only: true,
                presenters: vec![PeerId(Uuid::from_u128(9))],
            },
            host_token: Some("cd".repeat(32)),
            mode: RoomMode::Forwarded,
        },
        ServerMsg::Mode { mode: RoomMode::Forwarded },
        ServerMsg::Chat { from: peer(), msg: PeerMsg::HistoryRequest },
        ServerMsg::ForwardAnswer { sdp: "v=0\r\n".into() },
        ServerMsg::ForwardSlots {
            slots: vec![Slot { mid: "4".into(), peer: peer(), source: Source::Camera }],
            audio: 1,
            video: 2,
        },
        ServerMsg::Settings { settings: RoomSettings::default() },
        ServerMsg::HostToken { token: "cd".repeat(32) },
        ServerMsg::ResumeToken { token: format!("1796601600000.{}", "ab".repeat(32)) },
        ServerMsg::PeerJoined { peer: info },
        ServerMsg::PeerLeft { id: peer() },
        ServerMsg::Signal {
            from: peer(),
            signal: Signal::Candidate { candidate: String::new(), sdp_mid: None, sdp_m_line_index: None },
        },
        ServerMsg::Media {
            id: peer(),
            media: MediaState { audio: false, video: true, screen: false, recording: false },
        },
        ServerMsg::Pong,
        ServerMsg::error(ErrorCode::UnknownPeer, "no such peer"),
        ServerMsg::error(ErrorCode::TooManyAttempts, "too many wrong passwords: try again in 9 s").retry_after(9_000),
        ServerMsg::error(ErrorCode::RoomFull, "this room is full (8 people)").with_capacity(8),
    ]
}

#[test]
fn every_client_message_round_trips() {
    for msg in every_client_msg() {
        assert_eq!(ClientMsg::decode(&msg.encode()), Ok(msg));
    }
}

/// CLIENT_TYPES (what tells an unknown type from a malformed message) is
/// every client message's tag: the match below does not compile until a
/// new message is named in it, and then the lists must agree.
#[test]
fn client_types_name_every_client_message() {
    let tag = |msg: &ClientMsg| match msg {
        ClientMsg::Join { .. } => "join",
        ClientMsg::Signal { .. } => "signal",
        ClientMsg::Media { .. } => "media",
        ClientMsg::Ping => "ping",
        ClientMsg::Leave => "leave",
        ClientMsg::SetPassword { .. } => "set_password",
        ClientMsg::Lock { .. } => "lock",
        ClientMsg::SetShare { .. } => "set_share",
        ClientMsg::SetPresentersOnly { .. } => "set_presenters_only",
        ClientMsg::SetPresenter { .. } => "set_presenter",
        ClientMsg::Remove { .. } => "remove",
        ClientMsg::MakeHost { .. } => "make_host",
        ClientMsg::RevokeHost { .. } => "revoke_host",
        ClientMsg::ForwardOffer { .. } => "forward_offer",
        ClientMsg::ForwardView { .. } => "forward_view",
        ClientMsg::Chat { .. } => "chat",
    };
    let mut seen = Vec::new();
    for msg in every_client_msg() {
        let json: serde_json::Value = serde_json::from_str(&msg.encode()).unwrap();
        assert_eq!(json["type"], tag(&msg), "the tag serde writes");
        seen.push(tag(&msg));
    }
    seen.sort_unstable();
    seen.dedup();
    let mut listed = signal::CLIENT_TYPES.to_vec();
    listed.sort_unstable();
    assert_eq!(seen, listed, "every_client_msg covers every message, and CLIENT_TYPES lists each");
}

#[test]
fn every_server_message_round_trips() {
    for msg in every_server_msg() {
        assert_eq!(ServerMsg::decode(&msg.encode()), Ok(msg));
    }
}

#[test]
fn every_peer_message_round_trips() {
    let message = ChatMessage {
        id: Uuid::from_u128(9),
        from: peer(),
        name: "Ada".into(),
        time: 1_700_000_000_000.0,
        text: "hello <b>there</b>".into(),
    };
    for msg in [
        PeerMsg::Chat { message: message.clone() },
        PeerMsg::HistoryRequest,
        PeerMsg::History { messages: vec![message] },
    ] {
        assert_eq!(PeerMsg::decode(&msg.encode()), Ok(msg));
    }
}

#[test]
fn chat_messages_out_of_bounds_are_invalid() {
    let ok = ChatMessage { id: Uuid::from_u128(1), from: peer(), name: "Ada".into(), time: 1.0, text: "hi".into() };
    assert!(ok.is_valid());
    assert!(!ChatMessage { text: "x".repeat(MAX_CHAT_CHARS + 1), ..ok.clone() }.is_valid());
    assert!(!ChatMessage { text: "  ".into(), ..ok.clone() }.is_valid());
    assert!(!ChatMessage { name: String::new(), ..ok.clone() }.is_valid());
    assert!(!ChatMessage { time: f64::NAN, ..ok }.is_valid());
    assert!(PeerMsg::decode("{\"type\":\"chat\"}").is_err());
}

#[test]
fn oversized_frames_are_refused_before_parsing() {
    // An offer may be three times as long (every codec on twenty
    // transceivers), and no longer.
    let offer = |bytes: usize| format!(r#"{{"type":"forward_offer","sdp":"{}","sending":[]}}"#, "x".repeat(bytes));
    assert!(matches!(ClientMsg::decode(&offer(2 * MAX_FRAME_BYTES)), Ok(ClientMsg::ForwardOffer { .. })));
    assert!(matches!(ClientMsg::decode(&offer(MAX_OFFER_BYTES)), Err(ProtocolError::TooLarge(_))));
    let big = format!(r#"{{"type":"ping","pad":"{}"}}"#, "x".repeat(MAX_FRAME_BYTES));
    let err = ClientMsg::decode(&big).unwrap_err();
    assert_eq!(err.code(), ErrorCode::TooLarge);
}

#[test]
fn unknown_types_and_malformed_frames_get_their_own_codes() {
    let cases = [
        (r#"{"type":"teleport"}"#, ErrorCode::UnknownType),
        (r#"{"type":42}"#, ErrorCode::Malformed),
        (r#"{"to":"x"}"#, ErrorCode::Malformed),
        ("not json", ErrorCode::Malformed),
        ("", ErrorCode::Malformed),
        (r#"{"type":"signal","to":"not-a-uuid","signal":{"kind":"candidate","candidate":""}}"#, ErrorCode::Malformed),
        (r#"{"type":"join","version":1}"#, ErrorCode::Malformed),
        (
            r#"{"type":"signal","to":"00000000-0000-0000-0000-000000000007","signal":{"kind":"smoke"}}"#,
            ErrorCode::Malformed,
        ),
        ("[1,2,3]", ErrorCode::Malformed),
        ("\u{0}\u{ffff}", ErrorCode::Malformed),
    ];
    for (frame, code) in cases {
        let err = ClientMsg::decode(frame).unwrap_err();
        assert_eq!(err.code(), code, "{frame:?} gave {err}");
        match err.to_reply() {
            ServerMsg::Error { code: sent, message, .. } => {
                assert_eq!(sent, code);
                assert!(!message.is_empty());
            }
            other => panic!("reply was {other:?}"),
        }
    }
}

#[test]
fn room_links_and_codes_parse() {
    let id = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
    for input in [
        id.to_string(),
        format!("  {id}  "),
        format!("http://127.0.0.1:3000/r/{id}"),
        format!("https://meet.example/r/{id}/?x=1#top"),
    ] {
        assert_eq!(RoomId::parse_link(&input).map(|r| r.to_string()).as_deref(), Some(id), "{input}");
    }
    for bad in ["", "hello", "/r/", "https://x/r/123"] {
        assert_eq!(RoomId::parse_link(bad), None, "{bad}");
    }
}

#[test]
fn names_are_trimmed_and_bounded() {
    assert_eq!(clean_name("  Ada \n").as_deref(), Some("Ada"));
    assert_eq!(clean_name("   "), None);
    assert_eq!(clean_name(&"x".repeat(MAX_NAME_CHARS + 1)), None);
    assert_eq!(clean_name("a\u{7}b").as_deref(), Some("ab"));
}

#[test]
fn names_and_file_names_lose_direction_controls_and_keep_every_script() {
    assert_eq!(clean_name("Eve\u{202e}nimda").as_deref(), Some("Evenimda"));
    assert_eq!(clean_name("\u{2067}\u{200f}").as_deref(), None, "nothing left");
    assert_eq!(clean_name(" 김민지 ").as_deref(), Some("김민지"));
    assert_eq!(clean_name("مريم").as_deref(), Some("مريم"));
    assert_eq!(clean_file_name("invoice\u{202e}fdp.exe").as_deref(), Some("invoicefdp.exe"));
    assert_eq!(clean_file_name("C:\\Users\\x\\회의록.txt").as_deref(), Some("회의록.txt"));
    assert_eq!(clean_file_name("../../.."), None);
    assert_eq!(clean_file_name(&"가".repeat(300)).map(|n| n.chars().count()), Some(MAX_FILE_NAME_CHARS));
}

/// Every JSON example in docs/protocol.md parses as a message of one direction
/// and encodes back to the same JSON, so the document cannot drift from the code.
#[test]
fn protocol_doc_examples_parse() {
    let doc = include_str!("../../docs/protocol.md");
    let mut examples = 0;
    for block in doc.split("```json").skip(1) {
        let json = block.split("```").next().unwrap_or_default().trim();
        let value: serde_json::Value = serde_json::from_str(json).expect(json);
        // A server message may also parse as a client one with fields
        // ignored, so the example must round-trip in at least one direction.
        let client = ClientMsg::decode(json).ok().map(|m| serde_json::to_value(m).unwrap());
        let server = ServerMsg::decode(json).ok().map(|m| serde_json::to_value(m).unwrap());
        let peer = PeerMsg::decode(json).ok().map(|m| serde_json::to_value(m).unwrap());
        let file = FileMsg::decode(json).ok().map(|m| serde_json::to_value(m).unwrap());
        assert!(
            [client, server, peer, file].iter().any(|v| v.as_ref() == Some(&value)),
            "example does not round-trip as a client, server or peer message:\n{json}"
        );
        examples += 1;
    }
    assert!(examples >= 12, "only {examples} examples found");
}

#[test]
fn the_recordings_refusal_table_in_the_doc_is_refused() {
    let doc = include_str!("../../docs/protocol.md");
    let section = doc.split("**Refusals** have a JSON body").nth(1).expect("the refusals table");
    let mut rows: Vec<(u16, String)> = Vec::new();
    for line in section.lines().skip_while(|l| !l.starts_with('|')).take_while(|l| l.starts_with('|')) {
        let mut cells = line.strip_prefix("| ").unwrap_or_default().split(" | ");
        let Some(status) = cells.next().and_then(|c| c.parse().ok()) else { continue };
        for code in cells.next().unwrap_or_default().split(" / ") {
            rows.push((status, code.trim_matches('`').to_string()));
        }
    }
    rows.sort_unstable();
    let mut codes: Vec<(u16, String)> = recording::Refused::ALL
        .iter()
        .map(|r| (r.status(), serde_json::to_value(r).unwrap().as_str().unwrap().to_string()))
        .collect();
    codes.sort_unstable();
    assert_eq!(rows, codes);
}

#[test]
fn file_frames_carry_their_transfer_and_bytes() {
    let id = Uuid::from_u128(0x1234);
    let frame = file_frame(id, b"some bytes");
    assert_eq!(frame.len(), FILE_ID_BYTES + 10);
    assert_eq!(parse_file_frame(&frame), Some((id, &b"some bytes"[..])));
    assert_eq!(parse_file_frame(&file_frame(id, b"")), Some((id, &b""[..])), "an empty chunk");
    assert_eq!(parse_file_frame(&frame[..FILE_ID_BYTES - 1]), None, "too short for an id");
    assert_eq!(file_frame_id(&frame), Some(id));
}

#[test]
fn sdp_types_are_written_by_their_one_name() {
    for ty in SdpType::ALL {
        assert_eq!(serde_json::to_string(&ty).unwrap(), format!("\"{}\"", ty.as_str()));
        assert_eq!(SdpType::parse(ty.as_str()), Some(ty));
    }
    let unknown = r#"{"type":"signal","to":"00000000-0000-0000-0000-000000000007","signal":{"kind":"description","sdp_type":"offers","sdp":""}}"#;
    assert!(matches!(ClientMsg::decode(unknown), Err(ProtocolError::Malformed(_))));
}

#[test]
fn the_close_code_table_in_the_doc_is_close_code() {
    let doc = include_str!("../../docs/protocol.md");
    let mut rows: Vec<(u16, &str)> = doc
        .lines()
        .filter_map(|line| {
            let mut cells = line.strip_prefix("| ")?.split(" | ");
            // Websocket close codes; the HTTP statuses are 3 digits.
            let code = cells.next()?.parse().ok().filter(|code| *code >= 1000)?;
            let reason = cells.next()?.strip_prefix('`')?.strip_suffix('`')?;
            Some((code, reason))
        })
        .collect();
    rows.sort_unstable();
    let mut codes: Vec<(u16, &str)> = CloseCode::ALL.iter().map(|c| (c.code(), c.reason())).collect();
    codes.sort_unstable();
    assert_eq!(rows, codes);
    for code in CloseCode::ALL {
        assert_eq!(CloseCode::from_code(code.code()), Some(code));
    }
}

/// The decoder's fuzz target: any text, and every valid message with
/// random edits, decodes to a message or to a typed error, never a panic;
/// whatever decodes encodes and decodes back to itself. The loopback fuzz
/// benchmark (`examples/signal_fuzz.rs`) sends the same kinds of frames to
/// a running server.
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    /// One edit of a frame's bytes.
    #[derive(Debug, Clone)]
    enum Edit {
        Flip(usize, u8),
        Insert(usize, u8),
        Delete(usize),
        Truncate(usize),
        Repeat(usize, usize),
    }

    fn edit() -> impl Strategy<Value = Edit> {
        prop_oneof![
            (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Edit::Flip(at, b)),
            (any::<usize>(), prop::sample::select(b"{}[]\":,\\0123456789aeflnrstu -".to_vec()))
                .prop_map(|(at, b)| Edit::Insert(at, b)),
            any::<usize>().prop_map(Edit::Delete),
            any::<usize>().prop_map(Edit::Truncate),
            (any::<usize>(), 1..64usize).prop_map(|(at, n)| Edit::Repeat(at, n)),
        ]
    }

    fn apply(bytes: &mut Vec<u8>, edit: &Edit) {
        if bytes.is_empty() {
            return;
        }
        let len = bytes.len();
        match *edit {
            Edit::Flip(at, b) => bytes[at % len] ^= b,
            Edit::Insert(at, b) => bytes.insert(at % (len + 1), b),
            Edit::Delete(at) => {
                bytes.remove(at % len);
            }
            Edit::Truncate(at) => bytes.truncate(at % len),
            Edit::Repeat(at, n) => {
                let at = at % len;
                let piece = bytes[at..(at + n).min(len)].to_vec();
                bytes.splice(at..at, piece);
            }
        }
    }

    fn decodes_or_errs(text: &str) {
        if let Ok(msg) = ClientMsg::decode(text) {
            assert_eq!(ClientMsg::decode(&msg.encode()), Ok(msg));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

        #[test]
        fn any_text_decodes_or_errs(text in any::<String>()) {
            decodes_or_errs(&text);
        }

        #[test]
        fn edited_messages_decode_or_err(
            which in 0..every_client_msg().len(),
            edits in prop::collection::vec(edit(), 1..8),
        ) {
            let mut bytes = every_client_msg()[which].encode().into_bytes();
            for edit in &edits {
                apply(&mut bytes, edit);
            }
            // Frames are UTF-8 by the time they reach the decoder.
            decodes_or_errs(&String::from_utf8_lossy(&bytes));
        }

        #[test]
        fn deep_nesting_is_an_error(depth in 1..100_000usize) {
            let text = format!("{{\"type\":\"signal\",\"to\":{}{}", "[".repeat(depth), "]".repeat(depth));
            prop_assert!(ClientMsg::decode(&text).is_err());
        }
    }
}
