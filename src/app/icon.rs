//! Icons for the call controls and panels, as inline SVG.
//!
//! moim serves everything a page needs itself: no icon font, no CDN, nothing
//! fetched from a third party (the Content-Security-Policy would refuse it
//! anyway). Each icon is one short `&'static str` of SVG child elements, so
//! the WASM and the server carry only text, and an icon costs no request.
//!
//! The drawings are Lucide's (https://lucide.dev), version 1.87.0 of the
//! `lucide-static` npm package, under the ISC licence, "Copyright (c) 2026
//! Lucide Icons and Contributors". Of those used here, `ellipsis`
//! (Feather's `more-horizontal`), `link` and `x` derive from Feather: MIT
//! licence, "Copyright (c) 2013-present Cole Bemis". Both licence texts, as
//! the package ships them, are in `public/icons-LICENSE.txt`.
//!
//! Each string is the icon's elements minus what every Lucide icon shares
//! (`fill="none" stroke="currentColor" stroke-width="2"
//! stroke-linecap="round" stroke-linejoin="round"`), which the `.icon` rule
//! in the stylesheet sets instead. To keep the strings short, an icon's
//! `<path>`s are joined into one `d` as subpaths, each after the first
//! starting with an absolute `M`; with no fill and one stroke this draws
//! the same.

use leptos::prelude::*;

/// The icons moim draws; each names the Lucide icon it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Icon {
    /// Microphone on. Lucide `mic`.
    Mic,
    /// Microphone off. Lucide `mic-off`.
    MicOff,
    /// Camera on. Lucide `video`.
    Video,
    /// Camera off. Lucide `video-off`.
    VideoOff,
    /// Share the screen. Lucide `monitor-up`.
    Share,
    /// Stop sharing the screen. Lucide `monitor-x`.
    StopShare,
    /// Chat panel. Lucide `message-square`.
    Chat,
    /// Participants panel. Lucide `users`.
    People,
    /// More actions. Lucide `ellipsis`.
    More,
    /// Leave the call. Lucide `phone-off`.
    Leave,
    /// Settings. Lucide `settings`.
    Settings,
    /// Start recording. Lucide `circle-dot`.
    Record,
    /// Play a recording. Lucide `film`.
    Play,
    /// Send a file. Lucide `paperclip`.
    File,
    /// The room: its access and security settings. Lucide `shield`.
    Room,
    /// The recordings list. Lucide `folder-open`.
    Recordings,
    /// Copy the invitation link. Lucide `link`.
    Link,
    /// Switch between front and back cameras. Lucide `switch-camera`.
    FlipCamera,
    /// Close a panel or dialog. Lucide `x`.
    Close,
    /// Keyboard shortcuts. Lucide `keyboard`.
    Keyboard,
}

impl Icon {
    /// The icon's inner SVG elements (24×24 view box, stroked).
    fn markup(self) -> &'static str {
        match self {
            Icon::Mic => {
                r#"<path d="M12 19v3M19 10v2a7 7 0 0 1-14 0v-2"/><rect x="9" y="2" width="6" height="13" rx="3"/>"#
            }
            Icon::MicOff => {
                r#"<path d="M12 19v3M15 9.34V5a3 3 0 0 0-5.68-1.33M16.95 16.95A7 7 0 0 1 5 12v-2M18.89 13.23A7 7 0 0 0 19 12v-2M2 2l20 20M9 9v3a3 3 0 0 0 5.12 2.12"/>"#
            }
            Icon::Video => {
                r#"<path d="m16 13 5.223 3.482a.5.5 0 0 0 .777-.416V7.87a.5.5 0 0 0-.752-.432L16 10.5"/><rect x="2" y="6" width="14" height="12" rx="2"/>"#
            }
            Icon::VideoOff => {
                r#"<path d="M10.66 6H14a2 2 0 0 1 2 2v2.5l5.248-3.062A.5.5 0 0 1 22 7.87v8.196M16 16a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2V8a2 2 0 0 1 2-2h2M2 2l20 20"/>"#
            }
            Icon::Share => {
                r#"<path d="m9 10 3-3 3 3M12 13V7M12 17v4M8 21h8"/><rect width="20" height="14" x="2" y="3" rx="2"/>"#
            }
            Icon::StopShare => {
                r#"<path d="m14.5 12.5-5-5M9.5 12.5l5-5M12 17v4M8 21h8"/><rect width="20" height="14" x="2" y="3" rx="2"/>"#
            }
            Icon::Chat => {
                r#"<path d="M22 17a2 2 0 0 1-2 2H6.828a2 2 0 0 0-1.414.586l-2.202 2.202A.71.71 0 0 1 2 21.286V5a2 2 0 0 1 2-2h16a2 2 0 0 1 2 2z"/>"#
            }
            Icon::People => {
                r#"<path d="M16 21v-2a4 4 0 0 0-4-4H6a4 4 0 0 0-4 4v2M16 3.128a4 4 0 0 1 0 7.744M22 21v-2a4 4 0 0 0-3-3.87"/><circle cx="9" cy="7" r="4"/>"#
            }
            Icon::More => {
                r#"<circle cx="12" cy="12" r="1"/><circle cx="19" cy="12" r="1"/><circle cx="5" cy="12" r="1"/>"#
            }
            Icon::Leave => {
                r#"<path d="M10.1 13.9a14 14 0 0 0 3.732 2.668 1 1 0 0 0 1.213-.303l.355-.465A2 2 0 0 1 17 15h3a2 2 0 0 1 2 2v3a2 2 0 0 1-2 2 18 18 0 0 1-12.728-5.272M22 2 2 22M4.76 13.582A18 18 0 0 1 2 4a2 2 0 0 1 2-2h3a2 2 0 0 1 2 2v3a2 2 0 0 1-.8 1.6l-.468.351a1 1 0 0 0-.292 1.233 14 14 0 0 0 .244.473"/>"#
            }
            Icon::Settings => {
                r#"<path d="M9.671 4.136a2.34 2.34 0 0 1 4.659 0 2.34 2.34 0 0 0 3.319 1.915 2.34 2.34 0 0 1 2.33 4.033 2.34 2.34 0 0 0 0 3.831 2.34 2.34 0 0 1-2.33 4.033 2.34 2.34 0 0 0-3.319 1.915 2.34 2.34 0 0 1-4.659 0 2.34 2.34 0 0 0-3.32-1.915 2.34 2.34 0 0 1-2.33-4.033 2.34 2.34 0 0 0 0-3.831A2.34 2.34 0 0 1 6.35 6.051a2.34 2.34 0 0 0 3.319-1.915"/><circle cx="12" cy="12" r="3"/>"#
            }
            Icon::Record => r#"<circle cx="12" cy="12" r="1"/><circle cx="12" cy="12" r="10"/>"#,
            Icon::Play => {
                r#"<path d="M7 3v18M3 7.5h4M3 12h18M3 16.5h4M17 3v18M17 7.5h4M17 16.5h4"/><rect width="18" height="18" x="3" y="3" rx="2"/>"#
            }
            Icon::File => {
                r#"<path d="m16 6-8.414 8.586a2 2 0 0 0 2.829 2.829l8.414-8.586a4 4 0 1 0-5.657-5.657l-8.379 8.551a6 6 0 1 0 8.485 8.485l8.379-8.551"/>"#
            }
            Icon::Room => {
                r#"<path d="M20 13c0 5-3.5 7.5-7.66 8.95a1 1 0 0 1-.67-.01C7.5 20.5 4 18 4 13V6a1 1 0 0 1 1-1c2 0 4.5-1.2 6.24-2.72a1.17 1.17 0 0 1 1.52 0C14.51 3.81 17 5 19 5a1 1 0 0 1 1 1z"/>"#
            }
            Icon::Recordings => {
                r#"<path d="m6 14 1.5-2.9A2 2 0 0 1 9.24 10H20a2 2 0 0 1 1.94 2.5l-1.54 6a2 2 0 0 1-1.95 1.5H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h3.9a2 2 0 0 1 1.69.9l.81 1.2a2 2 0 0 0 1.67.9H18a2 2 0 0 1 2 2v2"/>"#
            }
            Icon::Link => {
                r#"<path d="m11 6 1.5-1.5a5 5 0 0 1 8.415 3.51A5 5 0 0 1 19.5 11.5L18 13M13 18l-1.5 1.5a5 5 0 0 1-8.415-3.51A5 5 0 0 1 4.5 12.5L6 11M9 15l6-6"/>"#
            }
            Icon::FlipCamera => {
                r#"<path d="M11 19H4a2 2 0 0 1-2-2V7a2 2 0 0 1 2-2h5M13 5h7a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2h-5M18 22l-3-3 3-3M6 2l3 3-3 3"/><circle cx="12" cy="12" r="3"/>"#
            }
            Icon::Close => r#"<path d="M18 6 6 18M6 6l12 12"/>"#,
            Icon::Keyboard => {
                r#"<path d="M10 8h.01M12 12h.01M14 8h.01M16 12h.01M18 8h.01M6 8h.01M7 16h10M8 12h.01"/><rect width="20" height="16" x="2" y="4" rx="2"/>"#
            }
        }
    }
}

/// An icon, hidden from screen readers: the control around it carries the name.
#[component]
pub fn Svg(icon: Icon) -> impl IntoView {
    view! {
        <svg
            class="icon"
            viewBox="0 0 24 24"
            aria-hidden="true"
            focusable="false"
            inner_html=icon.markup()
        ></svg>
    }
}

#[cfg(test)]
mod tests {
    use super::Icon;

    const ALL: [Icon; 20] = [
        Icon::Mic,
        Icon::MicOff,
        Icon::Video,
        Icon::VideoOff,
        Icon::Share,
        Icon::StopShare,
        Icon::Chat,
        Icon::People,
        Icon::More,
        Icon::Leave,
        Icon::Settings,
        Icon::Record,
        Icon::Play,
        Icon::File,
        Icon::Room,
        Icon::Recordings,
        Icon::Link,
        Icon::FlipCamera,
        Icon::Close,
        Icon::Keyboard,
    ];

    #[test]
    fn every_icon_has_plain_markup() {
        for icon in ALL {
            let markup = icon.markup();
            assert!(!markup.is_empty(), "{icon:?} has no markup");
            assert!(!markup.contains("<script"), "{icon:?} has a script");
            assert!(!markup.contains("class="), "{icon:?} has a class");
        }
    }
}
