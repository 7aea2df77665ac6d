//! The server-rendered pages, read as raw HTML (no JavaScript runs).

mod support;

use moim::protocol::RoomId;
use support::Server;

#[tokio::test]
async fn the_room_page_is_rendered_with_its_id_and_the_prejoin_form() {
    let server = Server::start().await;
    let room = RoomId::random();
    let page = server.get(&room.path()).await;
    let html = page.text();
    assert_eq!(page.status, 200, "{html}");
    assert!(html.contains(&room.to_string()), "the room id is in the HTML");
    // Words are reactive (the language can change), so a hydration marker
    // may follow them.
    assert!(html.contains(r#"<label for="name">Your name"#), "the name field is labelled");
    assert!(html.contains(r#"id="name""#));
    assert!(html.contains(">Join<"), "the Join button is there before hydration");
    assert!(html.contains("/pkg/moim"), "the page loads the client");
}

#[tokio::test]
async fn the_home_page_works_as_plain_html() {
    let server = Server::start().await;
    let page = server.get("/").await;
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(html.contains(r#"<form method="post" action="/new">"#));
    assert!(html.contains("New meeting"));
    assert!(html.contains(r#"action="/join""#));
}

#[tokio::test]
async fn new_meeting_redirects_to_a_fresh_room() {
    let server = Server::start().await;
    let first = server.post("/new").await;
    let second = server.post("/new").await;
    let location = |r: &support::Answer| r.header("location").expect("a location").to_string();
    assert_eq!(first.status, 303, "{}", first.text());
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
        assert_eq!(response.header("location"), Some(room.path().as_str()));
    }
    let response = server.get("/join?link=nonsense").await;
    assert_eq!(response.header("location"), Some("/?error=link"));
    let html = server.get("/?error=link").await.text();
    assert!(html.contains("That is not a moim meeting link or code"));
}

#[tokio::test]
async fn an_invalid_room_link_says_so() {
    let server = Server::start().await;
    let html = server.get("/r/not-a-room").await.text();
    assert!(html.contains("No such meeting"));
}

#[tokio::test]
async fn every_response_has_the_security_headers_and_pages_a_nonce_policy() {
    let server = Server::start().await;
    let header = |response: &support::Answer, name: &str| {
        response.header(name).unwrap_or_else(|| panic!("no {name} in {}", response.text())).to_string()
    };
    let page = server.get(&RoomId::random().path()).await;
    let policy = header(&page, "content-security-policy");
    let nonce = policy.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).expect("a nonce");
    assert!(nonce.len() >= 16, "{policy}");
    let loader = format!(r#"<script type="module" nonce="{nonce}">"#);
    assert!(page.text().contains(&loader), "the loader carries the nonce");
    for needed in ["'wasm-unsafe-eval'", "connect-src 'self'", "frame-ancestors 'none'", "object-src 'none'"] {
        assert!(policy.contains(needed), "{needed} in {policy}");
    }
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    let again = header(&server.get(&RoomId::random().path()).await, "content-security-policy");
    assert_ne!(policy, again, "a new nonce for every page");

    // (Static files are not built when `cargo test` runs: a redirect and a
    // refused socket upgrade stand for the responses that are not pages.)
    for response in [page, server.post("/new").await, server.get("/ws").await] {
        assert_eq!(header(&response, "x-content-type-options"), "nosniff");
        assert_eq!(header(&response, "referrer-policy"), "no-referrer");
        let permissions = header(&response, "permissions-policy");
        assert!(permissions.contains("camera=(self)") && permissions.contains("display-capture=(self)"));
        assert!(header(&response, "content-security-policy").contains("frame-ancestors 'none'"));
    }
    let redirect = server.post("/new").await;
    assert_eq!(header(&redirect, "content-security-policy"), "default-src 'none'; frame-ancestors 'none'");
}
