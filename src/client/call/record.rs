//! Recording the meeting: the recorder, its upload, the REC badge for
//! everyone (`recording` in this participant's media state), and the file
//! offered for download once it stops.

use super::Call;
use crate::{
    app::{Notice, RecordingStatus, SavedFile},
    client::{
        recorder::Recorder,
        upload::{Progress, Upload},
        warn,
    },
    shared::recording_file_name,
};
use leptos::{prelude::*, task::spawn_local};
use std::{cell::RefCell, rc::Rc};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, Url};

/// A recording in progress.
pub(super) struct Recording {
    recorder: Recorder,
    /// Every chunk so far: the download is made of them.
    chunks: Rc<RefCell<Vec<(Blob, u64)>>>,
    /// The upload, once the server has made the recording.
    upload: Rc<RefCell<Option<Rc<Upload>>>>,
    started_ms: f64,
}

impl Call {
    /// Starts recording the call as this person sees it.
    pub fn start_recording(&self) {
        let state = self.0.state;
        if self.0.recording.borrow().is_some() {
            return;
        }
        // The old download's memory goes once a new recording starts.
        if let Some(old) = state.recording.get_untracked().and_then(|r| r.download) {
            let _ = Url::revoke_object_url(&old.url);
        }
        let chunks: Rc<RefCell<Vec<(Blob, u64)>>> = Rc::default();
        let upload: Rc<RefCell<Option<Rc<Upload>>>> = Rc::default();
        let on_chunk = {
            let (chunks, upload) = (chunks.clone(), upload.clone());
            move |blob: Blob, ms: u64| {
                chunks.borrow_mut().push((blob.clone(), ms));
                let made = chunks.borrow().len() as u64;
                let _ = state.recording.try_update(|r| {
                    if let Some(r) = r {
                        r.ms = ms;
                        r.made = made;
                    }
                });
                if let Some(upload) = upload.borrow().as_ref() {
                    upload.push(blob, ms);
                }
            }
        };
        let recorder = match Recorder::start(state, on_chunk) {
            Ok(recorder) => recorder,
            Err(err) => {
                let why = crate::client::js_error(&err);
                warn(&format!("moim: cannot record: {why}"));
                state.notice.set(Some(Notice::CannotRecord(why)));
                return;
            }
        };
        state.recording.set(Some(RecordingStatus { running: true, ..RecordingStatus::default() }));
        *self.0.recording.borrow_mut() = Some(Recording {
            recorder,
            chunks: chunks.clone(),
            upload: upload.clone(),
            started_ms: js_sys::Date::now(),
        });
        state.media.update(|m| m.recording = true);
        self.announce();
        // The server makes the recording while the first chunk is recorded.
        let (me, resume) = (self.me(), self.0.link.resume.borrow().clone());
        spawn_local(async move {
            let Some((me, resume)) = me.zip(resume) else {
                // The button waits for the welcome; say so rather than
                // record into nothing if this is ever reached before it.
                let _ = state.recording.try_update(|r| {
                    if let Some(r) = r {
                        r.problem = Some(Notice::NotInCallYet);
                    }
                });
                return;
            };
            let on_progress = move |p: Progress| {
                let _ = state.recording.try_update(|r| {
                    if let Some(r) = r {
                        r.stored = p.stored;
                        r.problem = p.failed;
                        r.done = p.done;
                    }
                });
            };
            match Upload::start(state.room, me, &resume.token, on_progress).await {
                Ok(started) => {
                    // What was recorded while waiting goes first.
                    for (blob, ms) in chunks.borrow().iter() {
                        started.push(blob.clone(), *ms);
                    }
                    let stopped = state.recording.with_untracked(|r| r.as_ref().is_some_and(|r| !r.running));
                    if stopped {
                        started.finish();
                    }
                    *upload.borrow_mut() = Some(started);
                }
                Err(why) => {
                    let _ = state.recording.try_update(|r| {
                        if let Some(r) = r {
                            r.problem = Some(why);
                        }
                    });
                }
            }
        });
    }

    /// Stops recording: the upload finishes and the file is offered.
    pub fn stop_recording(&self) {
        let Some(recording) = self.0.recording.borrow_mut().take() else { return };
        let state = self.0.state;
        let _ = state.recording.try_update(|r| {
            if let Some(r) = r {
                r.running = false;
            }
        });
        let _ = state.media.try_update(|m| m.recording = false);
        self.announce();
        let Recording { recorder, chunks, upload, started_ms } = recording;
        let room = state.room;
        recorder.stop(move || {
            if let Some(upload) = upload.borrow().as_ref() {
                upload.finish();
            }
            spawn_local(async move {
                let ms = state.recording.with_untracked(|r| r.as_ref().map_or(0, |r| r.ms));
                // Copied out (JS handles): the list must not stay borrowed
                // while the file is put together.
                let taken = chunks.borrow().clone();
                let Some(file) = file(&taken, ms).await else { return };
                let bytes = file.size() as u64;
                let Ok(url) = Url::create_object_url_with_blob(&file) else { return };
                let name = recording_file_name(room, started_ms as u64);
                let _ = state.recording.try_update(|r| match r {
                    Some(r) => r.download = Some(SavedFile { url, name, bytes }),
                    None => _ = Url::revoke_object_url(&url),
                });
            });
        });
    }
}

/// The recording as one WebM file, its header mended to say how long it is.
async fn file(chunks: &[(Blob, u64)], ms: u64) -> Option<Blob> {
    // The header may span the first few chunks.
    let mut head = Vec::new();
    let mut mended = None;
    for (used, (chunk, _)) in chunks.iter().enumerate() {
        let bytes = JsFuture::from(chunk.array_buffer()).await.ok()?;
        head.extend(js_sys::Uint8Array::new(&bytes).to_vec());
        if let Some((start, _)) = crate::webm::add_duration(&head, ms as f64) {
            mended = Some((start, used + 1));
            break;
        }
        if head.len() > crate::webm::HEAD_BYTES {
            break;
        }
    }
    let parts = js_sys::Array::new();
    let rest = match mended {
        Some((start, used)) => {
            parts.push(&js_sys::Uint8Array::from(start.as_slice()));
            &chunks[used..]
        }
        None => chunks,
    };
    for (chunk, _) in rest {
        parts.push(chunk);
    }
    super::files::blob_of(&parts, "video/webm")
}
