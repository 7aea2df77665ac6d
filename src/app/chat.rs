//! The chat panel: messages in time order, a box to write, Enter to send.
//!
//! Text is always rendered as text nodes, so names and messages containing
//! HTML or script stay inert. Only http(s) addresses become links, and
//! those open without handing this page to the linked one.

use super::{notice::too_long, state::CallState, Action, CallHandle, ChatLine, Notice};
use crate::protocol::MAX_CHAT_CHARS;
use crate::{t, tr};
use leptos::{either::Either, prelude::*};

/// Splits text into plain parts and http(s) links.
fn pieces(text: &str) -> Vec<(String, bool)> {
    let mut out: Vec<(String, bool)> = Vec::new();
    for word in text.split_inclusive(char::is_whitespace) {
        let bare = word.trim_end();
        let is_link = (bare.starts_with("https://") || bare.starts_with("http://")) && bare.len() > 8;
        if is_link {
            out.push((bare.to_string(), true));
            out.push((word[bare.len()..].to_string(), false));
        } else {
            match out.last_mut() {
                Some((last, false)) => last.push_str(word),
                _ => out.push((word.to_string(), false)),
            }
        }
    }
    out
}

#[component]
fn Line(line: ChatLine) -> impl IntoView {
    let ChatLine { message, clock, via } = line;
    view! {
        <li class="chat-line">
            <div class="meta">
                <span class="who">{message.name}</span>" "<time>{clock}</time>
                {via.map(|name| view! { " " <span class="via">{move || tr!(passed_on_by, name = name.as_str())}</span> })}
            </div>
            <p class="text">
                {pieces(&message.text).into_iter().map(|(text, link)| match link {
                    true => Either::Left(view! {
                        <a href=text.clone() target="_blank" rel="noopener noreferrer">{text.clone()}</a>
                    }),
                    false => Either::Right(text),
                }).collect_view()}
            </p>
        </li>
    }
}

#[component]
pub fn ChatPanel(state: CallState, call: CallHandle) -> impl IntoView {
    let draft = RwSignal::new(String::new());
    let error = RwSignal::new(None::<Notice>);
    let send = move || {
        let text = draft.get_untracked();
        let result = call.act(Action::SendChat(text));
        match result {
            Some(Ok(())) => {
                draft.set(String::new());
                error.set(None);
            }
            Some(Err(why)) => error.set(Some(why)),
            None => {}
        }
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        // Enter sends; Shift+Enter makes a new line.
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            send();
        }
    };
    let length = move || draft.with(|d| d.chars().count());
    view! {
        <aside class="chat" aria-label=t!(chat)>
            <h2>{t!(chat)}</h2>
            <ol class="chat-lines" aria-live="polite">
                <For each=move || state.chat.get() key=|line| line.message.id let:line>
                    <Line line/>
                </For>
            </ol>
            <form class="chat-form" on:submit=move |ev| { ev.prevent_default(); send(); }>
                <textarea
                    aria-label=t!(message)
                    rows="2"
                    placeholder=t!(message_everyone)
                    prop:value=move || draft.get()
                    on:input=move |ev| draft.set(event_target_value(&ev))
                    on:keydown=on_key
                ></textarea>
                <button type="submit">{t!(send)}</button>
            </form>
            <Show when=move || { length() > MAX_CHAT_CHARS }>
                <p class="error" role="alert">{move || too_long(length())}</p>
            </Show>
            {move || error.get().map(|why| view! { <p class="error" role="alert">{move || why.words()}</p> })}
        </aside>
    }
}

#[cfg(test)]
mod tests {
    use super::pieces;

    #[test]
    fn only_http_links_become_links() {
        let parts = pieces("see https://example.org/a?b and javascript:alert(1) or http://x.y");
        let links: Vec<_> = parts.iter().filter(|(_, l)| *l).map(|(t, _)| t.as_str()).collect();
        assert_eq!(links, ["https://example.org/a?b", "http://x.y"]);
        let text: String = parts.into_iter().map(|(t, _)| t).collect();
        assert_eq!(text, "see https://example.org/a?b and javascript:alert(1) or http://x.y");
    }
}
