//! Sends a recording's chunks to the server while it runs.
//!
//! One request at a time, in order (chunk `n` as
//! `PUT /api/rooms/<room>/recordings/<id>/chunks/<n>`, see docs/protocol.md).
//! A failed request (the network dropped, the server restarted) is tried
//! again after a pause that grows to 10 s, for as long as the page lives;
//! the chunks wait in memory meanwhile, where the download takes them from
//! anyway. When the server says a chunk is ahead of what it has (`gap`), the
//! upload goes back to the chunk it names. A refusal that a retry cannot
//! mend (no space, a bad key) ends the upload with the server's message;
//! the recording goes on and is still offered for download.

use super::{js_error, warn};
use crate::app::Notice;
use crate::protocol::{
    recording::{self, Refusal, Refused, StartRequest, Started, DURATION_HEADER},
    PeerId, RoomId,
};
use std::{
    cell::{Cell, RefCell},
    rc::Rc,
    time::Duration,
};
use uuid::Uuid;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, Headers, RequestInit, Response};

/// How an upload stands, for the page.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Progress {
    /// Chunks the server has stored.
    pub stored: u64,
    /// Why the upload stopped for good.
    pub failed: Option<Notice>,
    /// Every chunk is stored and the server knows the recording stopped.
    pub done: bool,
}

pub struct Upload {
    room: RoomId,
    id: Uuid,
    token: String,
    chunks: RefCell<Vec<(Blob, u64)>>,
    /// The next chunk to send.
    next: Cell<u64>,
    sending: Cell<bool>,
    stopped: Cell<bool>,
    progress: RefCell<Progress>,
    on_progress: Box<dyn Fn(Progress)>,
}

impl Upload {
    /// Asks the server for a new recording of `room`, as participant `peer`
    /// (shown by its resume token).
    pub async fn start(
        room: RoomId,
        peer: PeerId,
        resume_token: &str,
        on_progress: impl Fn(Progress) + 'static,
    ) -> Result<Rc<Self>, Notice> {
        let body = StartRequest { peer, token: resume_token.to_string() };
        let body = serde_json::to_string(&body).map_err(|e| Notice::Network(e.to_string()))?;
        let url = recording::start_path(room);
        let response = request("POST", &url, None, &JsValue::from_str(&body)).await.map_err(Notice::Network)?;
        let text = text(&response).await;
        if !response.ok() {
            return Err(refused_notice(response.status(), &text));
        }
        let started: Started = serde_json::from_str(&text).map_err(|e| Notice::Network(e.to_string()))?;
        Ok(Rc::new(Self {
            room,
            id: started.id,
            token: started.upload_token,
            chunks: RefCell::default(),
            next: Cell::new(0),
            sending: Cell::new(false),
            stopped: Cell::new(false),
            progress: RefCell::default(),
            on_progress: Box::new(on_progress),
        }))
    }

    /// Queues the next chunk, with the recording's length so far.
    pub fn push(self: &Rc<Self>, blob: Blob, ms: u64) {
        self.chunks.borrow_mut().push((blob, ms));
        self.pump();
    }

    /// No more chunks will come: once all are stored, tell the server.
    pub fn finish(self: &Rc<Self>) {
        self.stopped.set(true);
        self.pump();
    }

    fn set(&self, change: impl FnOnce(&mut Progress)) {
        let now = {
            let mut progress = self.progress.borrow_mut();
            change(&mut progress);
            progress.clone()
        };
        (self.on_progress)(now);
    }

    fn pump(self: &Rc<Self>) {
        if self.sending.replace(true) {
            return;
        }
        let this = self.clone();
        leptos::task::spawn_local(async move {
            this.send_all().await;
            this.sending.set(false);
        });
    }

    async fn send_all(&self) {
        let mut pause = Duration::from_millis(500);
        loop {
            if self.progress.borrow().failed.is_some() {
                return;
            }
            let n = self.next.get();
            let chunk = self.chunks.borrow().get(n as usize).cloned();
            let result = match chunk {
                Some((blob, ms)) => self.send_chunk(n, &blob, ms).await,
                None if self.stopped.get() && !self.progress.borrow().done => self.send_finish().await,
                None => return,
            };
            match result {
                Ok(()) => pause = Duration::from_millis(500),
                Err(Failure::Retry(why)) => {
                    warn(&format!("moim: recording upload failed ({why}); trying again"));
                    crate::client::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(10));
                }
                Err(Failure::Final(why)) => {
                    self.set(|p| p.failed = Some(why));
                    return;
                }
            }
        }
    }

    fn auth(&self) -> Option<Headers> {
        let headers = Headers::new().ok()?;
        headers.set("authorization", &format!("Bearer {}", self.token)).ok()?;
        Some(headers)
    }

    async fn send_chunk(&self, n: u64, blob: &Blob, ms: u64) -> Result<(), Failure> {
        let url = recording::chunk_path(self.room, self.id, n);
        let headers = self.auth();
        if let Some(h) = &headers {
            let _ = h.set(DURATION_HEADER, &ms.to_string());
        }
        let response = request("PUT", &url, headers.as_ref(), blob).await?;
        let body = text(&response).await;
        match response.status() {
            200 => {
                self.next.set(n + 1);
                self.set(|p| p.stored = p.stored.max(n + 1));
                Ok(())
            }
            status => self.refused(status, &body),
        }
    }

    async fn send_finish(&self) -> Result<(), Failure> {
        let url = recording::finish_path(self.room, self.id);
        let response = request("POST", &url, self.auth().as_ref(), &JsValue::NULL).await?;
        match response.status() {
            200 => {
                self.set(|p| p.done = true);
                Ok(())
            }
            status => self.refused(status, &text(&response).await),
        }
    }

    /// What to do about a refusal: go back for a missing chunk, try again
    /// later (the server failing), or give up, saying why.
    fn refused(&self, status: u16, body: &str) -> Result<(), Failure> {
        let Some(refusal) = refusal(body) else {
            // No refusal of moim's (a proxy's error page, say): the server
            // failing is worth another try, anything else is not.
            let why = format!("HTTP {status}");
            return Err(match status >= 500 && status != 507 {
                true => Failure::Retry(why),
                false => Failure::Final(Notice::Network(why)),
            });
        };
        match refusal {
            Refusal { error: Refused::Gap, expected: Some(expected), .. } => {
                self.next.set(expected);
                Ok(())
            }
            Refusal { error, message, .. } if error.passes() => Err(Failure::Retry(message)),
            Refusal { error, .. } => Err(Failure::Final(Notice::Recording(error))),
        }
    }
}

enum Failure {
    /// Worth another try; the detail is for the console.
    Retry(String),
    Final(Notice),
}

impl From<String> for Failure {
    fn from(why: String) -> Self {
        Self::Retry(why)
    }
}

/// Deletes a recording of `room` with the room's host capability
/// (`DELETE /r/<room>/recordings/<id>.webm`).
pub async fn delete(room: RoomId, id: Uuid, host_token: &str) -> Result<(), Notice> {
    let headers = Headers::new().map_err(|e| Notice::Network(js_error(&e)))?;
    headers.set("authorization", &format!("Bearer {host_token}")).map_err(|e| Notice::Network(js_error(&e)))?;
    let url = recording::file_path(room, id);
    let response = request("DELETE", &url, Some(&headers), &JsValue::NULL).await.map_err(Notice::Network)?;
    if response.ok() {
        return Ok(());
    }
    Err(refused_notice(response.status(), &text(&response).await))
}

/// A refusal's code, or, with no refusal of moim's, the status.
fn refused_notice(status: u16, body: &str) -> Notice {
    refusal(body).map_or_else(|| Notice::Network(format!("HTTP {status}")), |r| Notice::Recording(r.error))
}

fn refusal(body: &str) -> Option<Refusal> {
    serde_json::from_str(body).ok()
}

async fn request(method: &str, url: &str, headers: Option<&Headers>, body: &JsValue) -> Result<Response, String> {
    let window = web_sys::window().ok_or("no window")?;
    let init = RequestInit::new();
    init.set_method(method);
    if !body.is_null() {
        init.set_body(body);
    }
    if let Some(headers) = headers {
        init.set_headers(headers);
    }
    let response = JsFuture::from(window.fetch_with_str_and_init(url, &init)).await.map_err(|e| js_error(&e))?;
    response.dyn_into::<Response>().map_err(|_| "not a response".to_string())
}

async fn text(response: &Response) -> String {
    let Ok(promise) = response.text() else { return String::new() };
    JsFuture::from(promise).await.ok().and_then(|t| t.as_string()).unwrap_or_default()
}
