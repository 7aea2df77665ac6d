//! The server-rendered pages, read as raw HTML (no JavaScript runs).

mod support;

use moim::protocol::RoomId;
use support::Server;

#[tokio::test]
async fn the_room_page_is_rendered_with_its_id_and_the_prejoin_form() {
    let server = Server::start().await;
    let room = RoomId::random();
    let html = server.get(&room.path()).await;
    assert!(html.starts_with("HTTP/1.1 200"), "{html}");
    assert!(html.contains(&room.to_string()), "the room id is in the HTML");
    assert!(html.contains(r#"<label for="name">Your name</label>"#), "the name field is labelled");
    assert!(html.contains(r#"id="name""#));
    assert!(html.contains(">Join</button>"), "the Join button is there before hydration");
    assert!(html.contains("/pkg/moim"), "the page loads the client");
}

#[tokio::test]
async fn the_home_page_works_as_plain_html() {
    let server = Server::start().await;
    let html = server.get("/").await;
    assert!(html.starts_with("HTTP/1.1 200"));
    assert!(html.contains(r#"<form method="post" action="/new">"#));
    assert!(html.contains("New meeting"));
    assert!(html.contains(r#"action="/join""#));
}

#[tokio::test]
async fn new_meeting_redirects_to_a_fresh_room() {
    let server = Server::start().await;
    let first = server.post("/new").await;
    let second = server.post("/new").await;
    let location = |r: &str| {
        r.lines()
            .find_map(|l| l.strip_prefix("location: ").map(str::to_string))
            .unwrap_or_else(|| panic!("no location in {r}"))
    };
    assert!(first.starts_with("HTTP/1.1 303"), "{first}");
    let (a, b) = (location(&first), location(&second));
    assert!(a.starts_with("/r/") && RoomId::parse_link(&a).is_some(), "{a}");
    assert_ne!(a, b, "every meeting is new");
}

#[tokio::test]
async fn join_accepts_a_link_or_a_code() {
    let server = Server::start().await;
    let room = RoomId::random();
    for link in [room.to_string(), format!("http%3A%2F%2Fhost%2Fr%2F{room}")] {
        let response = server.get(&format!("/join?link={link}")).await;
        assert!(response.contains(&format!("location: /r/{room}")), "{response}");
    }
    let response = server.get("/join?link=nonsense").await;
    assert!(response.contains("location: /?error=link"), "{response}");
    let html = server.get("/?error=link").await;
    assert!(html.contains("That is not a moim meeting link or code"));
}

#[tokio::test]
async fn an_invalid_room_link_says_so() {
    let server = Server::start().await;
    let html = server.get("/r/not-a-room").await;
    assert!(html.contains("No such meeting"));
}
