//! Records the meeting as this person sees it.
//!
//! Picture: every visible tile of the call screen is drawn into a canvas
//! 30 times a second, where it is on screen (scaled to 1280×720), with its
//! name, so the recording shows the layout people saw, screens included.
//! Sound: every participant's microphone (and a shared screen's sound) is
//! mixed through WebAudio. The canvas's stream and the mix go into one
//! MediaRecorder (WebM, VP9 or VP8 with Opus), which hands over a chunk
//! every second: `on_chunk` gets it, with the time recorded so far.
//!
//! The drawing runs on a timer rather than on animation frames: browsers
//! stop animation frames in a hidden tab, which would freeze the picture.
//! They slow timers there too (to about once a second), so a recording made
//! in a background tab is choppy but complete. Drawing from the page's own
//! elements costs no second decode of anyone's video.
//!
//! Everything is released in [`Recorder::stop`] (and on drop): the timer,
//! the audio graph, the canvas track.

use super::warn;
use crate::app::CallState;
use crate::client::media::Kind;
use leptos::prelude::GetUntracked;
use std::{cell::RefCell, collections::HashMap, rc::Rc};
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use web_sys::{
    AudioContext, Blob, BlobEvent, CanvasRenderingContext2d, Document, HtmlCanvasElement, HtmlElement,
    HtmlVideoElement, MediaRecorder, MediaRecorderOptions, MediaStream, MediaStreamAudioDestinationNode,
    MediaStreamAudioSourceNode, MediaStreamTrack,
};

const WIDTH: f64 = 1280.0;
const HEIGHT: f64 = 720.0;
const FPS: i32 = 30;
/// How often MediaRecorder hands over a chunk (and the upload goes).
const SLICE_MS: i32 = 1000;

/// The containers to try, best first.
const TYPES: &[&str] = &["video/webm;codecs=vp9,opus", "video/webm;codecs=vp8,opus", "video/webm"];

pub struct Recorder {
    recorder: MediaRecorder,
    canvas_track: Option<MediaStreamTrack>,
    audio: AudioContext,
    timer: i32,
    _draw: Closure<dyn FnMut()>,
    _data: Closure<dyn FnMut(BlobEvent)>,
    stopped: std::cell::Cell<bool>,
}

/// The sound sources in the mix, by track id, so each is added once and
/// removed when its track goes.
type Sources = Rc<RefCell<HashMap<String, MediaStreamAudioSourceNode>>>;

impl Recorder {
    /// Starts recording the call screen. `on_chunk(blob, ms)` gets every
    /// chunk with the length recorded so far.
    pub fn start(state: CallState, mut on_chunk: impl FnMut(Blob, u64) + 'static) -> Result<Self, JsValue> {
        let window = web_sys::window().ok_or("no window")?;
        let document = window.document().ok_or("no document")?;
        let canvas: HtmlCanvasElement = document.create_element("canvas")?.unchecked_into();
        canvas.set_width(WIDTH as u32);
        canvas.set_height(HEIGHT as u32);
        let ctx: CanvasRenderingContext2d = canvas.get_context("2d")?.ok_or("no 2d canvas")?.unchecked_into();
        let audio = AudioContext::new()?;
        // Started from a click, so the browser lets it run.
        let _ = audio.resume();
        let mix = audio.create_media_stream_destination()?;
        let sources: Sources = Rc::default();
        let mut tick = 0u32;
        let draw = {
            let (audio, mix, sources) = (audio.clone(), mix.clone(), sources.clone());
            Closure::<dyn FnMut()>::new(move || {
                draw(&document, &ctx);
                // Who is heard changes as people come, go and unmute; the
                // mix follows twice a second.
                if tick.is_multiple_of(15) {
                    follow_sounds(state, &audio, &mix, &sources);
                }
                tick = tick.wrapping_add(1);
            })
        };
        let timer =
            window.set_interval_with_callback_and_timeout_and_arguments_0(draw.as_ref().unchecked_ref(), 1000 / FPS)?;
        follow_sounds(state, &audio, &mix, &sources);
        let picture = canvas.capture_stream_with_frame_request_rate(f64::from(FPS))?;
        let stream = MediaStream::new()?;
        let canvas_track = super::media::first_track(&picture, Kind::Video);
        if let Some(track) = &canvas_track {
            stream.add_track(track);
        }
        if let Some(track) = super::media::first_track(&mix.stream(), Kind::Audio) {
            stream.add_track(&track);
        }
        let options = MediaRecorderOptions::new();
        if let Some(mime) = TYPES.iter().find(|t| MediaRecorder::is_type_supported(t)) {
            options.set_mime_type(mime);
        }
        options.set_video_bits_per_second(2_000_000);
        options.set_audio_bits_per_second(128_000);
        let recorder = MediaRecorder::new_with_media_stream_and_media_recorder_options(&stream, &options)?;
        let started = js_sys::Date::now();
        let data = Closure::<dyn FnMut(BlobEvent)>::new(move |event: BlobEvent| {
            if let Some(blob) = event.data().filter(|b| b.size() > 0.0) {
                on_chunk(blob, (js_sys::Date::now() - started).max(0.0) as u64);
            }
        });
        recorder.set_ondataavailable(Some(data.as_ref().unchecked_ref()));
        recorder.start_with_time_slice(SLICE_MS)?;
        Ok(Self {
            recorder,
            canvas_track,
            audio,
            timer,
            _draw: draw,
            _data: data,
            stopped: std::cell::Cell::new(false),
        })
    }

    /// Stops: the last chunk arrives, then `done` runs. The recorder lives
    /// until then (its chunk handler is still needed), owned by the stop
    /// handler that JavaScript holds and frees after the one call.
    pub fn stop(self, done: impl FnOnce() + 'static) {
        self.stopped.set(true);
        self.release();
        let recorder = self.recorder.clone();
        if recorder.state() == web_sys::RecordingState::Inactive {
            // It stopped by itself (an encoder error): nothing more will come.
            return done();
        }
        let on_stop = Closure::once_into_js(move || {
            done();
            drop(self);
        });
        recorder.set_onstop(Some(on_stop.unchecked_ref()));
        if recorder.stop().is_err() {
            warn("moim: the recorder could not be stopped");
        }
    }

    fn release(&self) {
        if let Some(window) = web_sys::window() {
            window.clear_interval_with_handle(self.timer);
        }
        if let Some(track) = &self.canvas_track {
            track.stop();
        }
        let _ = self.audio.close();
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if !self.stopped.replace(true) {
            let _ = self.recorder.stop();
            self.release();
        }
    }
}

/// Keeps one audio source per live sound track of the call in the mix.
fn follow_sounds(state: CallState, audio: &AudioContext, mix: &MediaStreamAudioDestinationNode, sources: &Sources) {
    let mut streams: Vec<MediaStream> = state.local.get_untracked().into_iter().collect();
    for remote in state.remotes.get_untracked() {
        streams.extend(remote.stream.get_untracked());
        streams.extend(remote.screen.get_untracked());
    }
    streams.extend(state.sharing.get_untracked());
    let mut live = HashMap::new();
    for stream in &streams {
        for track in stream.get_audio_tracks().iter() {
            let track: MediaStreamTrack = track.unchecked_into();
            if track.ready_state() == web_sys::MediaStreamTrackState::Live {
                live.insert(track.id(), track);
            }
        }
    }
    let mut sources = sources.borrow_mut();
    sources.retain(|id, source| {
        let keep = live.contains_key(id);
        if !keep {
            let _ = source.disconnect();
        }
        keep
    });
    for (id, track) in live {
        if sources.contains_key(&id) {
            continue;
        }
        let single = MediaStream::new().ok();
        let Some(single) = single else { continue };
        single.add_track(&track);
        match audio.create_media_stream_source(&single) {
            Ok(source) => {
                let _ = source.connect_with_audio_node(mix);
                sources.insert(id, source);
            }
            Err(err) => warn(&format!("moim: cannot record a sound: {}", super::js_error(&err))),
        }
    }
}

/// Draws the visible tiles of the call screen, where they are, with names.
fn draw(document: &Document, ctx: &CanvasRenderingContext2d) {
    ctx.set_fill_style_str("#111");
    ctx.fill_rect(0.0, 0.0, WIDTH, HEIGHT);
    let Some(stage) = document.query_selector(".stage").ok().flatten() else { return };
    let area = stage.get_bounding_client_rect();
    if area.width() < 1.0 || area.height() < 1.0 {
        return;
    }
    let scale = (WIDTH / area.width()).min(HEIGHT / area.height());
    let (ox, oy) = ((WIDTH - area.width() * scale) / 2.0, (HEIGHT - area.height() * scale) / 2.0);
    let Ok(tiles) = stage.query_selector_all("figure.tile") else { return };
    for i in 0..tiles.length() {
        let Some(tile) = tiles.get(i).and_then(|n| n.dyn_into::<HtmlElement>().ok()) else { continue };
        let r = tile.get_bounding_client_rect();
        if tile.hidden() || r.width() < 1.0 || r.height() < 1.0 {
            continue;
        }
        let (x, y, w, h) = (
            ox + (r.left() - area.left()) * scale,
            oy + (r.top() - area.top()) * scale,
            r.width() * scale,
            r.height() * scale,
        );
        ctx.set_fill_style_str("#262626");
        ctx.fill_rect(x, y, w, h);
        let screen = tile.class_list().contains("screen");
        let camera_off = tile.class_list().contains("camera-off");
        let video = tile.query_selector("video").ok().flatten().and_then(|v| v.dyn_into::<HtmlVideoElement>().ok());
        let name = tile.query_selector(".name").ok().flatten().and_then(|n| n.text_content()).unwrap_or_default();
        match video {
            Some(video) if !camera_off && video.ready_state() >= 2 && video.video_width() > 0 => {
                draw_video(ctx, &video, (x, y, w, h), screen);
            }
            _ => {
                // The initial, as the tile shows it when the camera is off.
                let initial = crate::shared::initial(&name);
                ctx.set_fill_style_str("#ddd");
                ctx.set_font(&format!("{}px sans-serif", (h / 3.0).round()));
                ctx.set_text_align("center");
                ctx.set_text_baseline("middle");
                let _ = ctx.fill_text(&initial, x + w / 2.0, y + h / 2.0);
            }
        }
        if !name.is_empty() {
            ctx.set_font("18px sans-serif");
            ctx.set_text_align("left");
            ctx.set_text_baseline("bottom");
            let width = ctx.measure_text(&name).map(|m| m.width()).unwrap_or(0.0);
            ctx.set_fill_style_str("rgba(0,0,0,0.6)");
            ctx.fill_rect(x + 6.0, y + h - 32.0, width + 16.0, 26.0);
            ctx.set_fill_style_str("#fff");
            let _ = ctx.fill_text(&name, x + 14.0, y + h - 10.0);
        }
    }
}

/// Draws a video into a box: a screen whole (letterboxed), a camera
/// filling the box (cropped), as the tiles show them.
fn draw_video(
    ctx: &CanvasRenderingContext2d,
    video: &HtmlVideoElement,
    (x, y, w, h): (f64, f64, f64, f64),
    whole: bool,
) {
    let (vw, vh) = (f64::from(video.video_width()), f64::from(video.video_height()));
    let result = if whole {
        let s = (w / vw).min(h / vh);
        let (dw, dh) = (vw * s, vh * s);
        ctx.draw_image_with_html_video_element_and_dw_and_dh(video, x + (w - dw) / 2.0, y + (h - dh) / 2.0, dw, dh)
    } else {
        let s = (w / vw).max(h / vh);
        let (sw, sh) = (w / s, h / s);
        ctx.draw_image_with_html_video_element_and_sw_and_sh_and_dx_and_dy_and_dw_and_dh(
            video,
            (vw - sw) / 2.0,
            (vh - sh) / 2.0,
            sw,
            sh,
            x,
            y,
            w,
            h,
        )
    };
    if let Err(err) = result {
        warn(&format!("moim: a tile could not be drawn: {}", super::js_error(&err)));
    }
}
