//! Files sent browser to browser: the Send file button and the list of
//! transfers, each with its progress and what can be done with it.

use super::{
    state::{CallState, Direction, Transfer, TransferState},
    Action, CallHandle,
};
use crate::shared::size;
use leptos::prelude::*;

/// What a file button looks like and when it may be used.
pub struct FileButton {
    /// The button's text.
    pub label: &'static str,
    /// The name of the (hidden) file input, which tests and screen readers use.
    pub input_label: &'static str,
    /// The input's `accept` (empty: any file).
    pub accept: &'static str,
    pub disabled: Signal<bool>,
    /// Why it is disabled, as a tooltip.
    pub title: Signal<Option<&'static str>>,
}

/// A button that opens the browser's file picker and hands the chosen file
/// to `picked`.
pub fn file_button(button: FileButton, picked: impl Fn(web_sys::File) + 'static) -> impl IntoView {
    let FileButton { label, input_label, accept, disabled, title } = button;
    let input = NodeRef::<leptos::html::Input>::new();
    let pick = move |_| {
        if let Some(input) = input.get() {
            input.click();
        }
    };
    let changed = move |_| {
        let Some(input) = input.get() else { return };
        if let Some(file) = input.files().and_then(|files| files.get(0)) {
            picked(file);
        }
        // Picking the same file again must fire `change` again.
        input.set_value("");
    };
    view! {
        <button class="control" disabled=disabled title=title on:click=pick>{label}</button>
        <input node_ref=input type="file" accept=accept hidden aria-label=input_label on:change=changed/>
    }
}

/// Picks a file and offers it to everyone in the call.
#[component]
pub fn SendFile(call: CallHandle) -> impl IntoView {
    let button = FileButton {
        label: "Send file",
        input_label: "File to send to everyone",
        accept: "",
        disabled: Signal::from(false),
        title: Signal::from(None),
    };
    file_button(button, move |file| _ = call.act(Action::SendFile(file)))
}

/// Every file sent or received in this call.
#[component]
pub fn Transfers(state: CallState, call: CallHandle) -> impl IntoView {
    let transfers = state.transfers;
    view! {
        <Show when=move || transfers.with(|all| !all.is_empty())>
            <section class="transfers" aria-label="File transfers">
                <For each=move || transfers.get() key=|t| t.id let:transfer>
                    <TransferRow transfer call/>
                </For>
            </section>
        </Show>
    }
}

#[component]
fn TransferRow(transfer: Transfer, call: CallHandle) -> impl IntoView {
    let Transfer { id, who, name, size: total, direction, moved, state, .. } = transfer;
    let label = match direction {
        Direction::Outgoing => format!("{name} to {who}"),
        Direction::Incoming => format!("{name} from {who}"),
    };
    let line = match direction {
        Direction::Outgoing => format!("Sending {name} ({}) to {who}", size(total)),
        Direction::Incoming => format!("{who} sends {name} ({})", size(total)),
    };
    let status = move || match state.get() {
        TransferState::Waiting => format!("waiting for {who} to accept"),
        TransferState::Asked => "accept it?".into(),
        TransferState::Moving => format!("{} %", (moved.get() * 100).checked_div(total).unwrap_or(100)),
        TransferState::Ready(_) => "received and checked".into(),
        TransferState::Delivered => "delivered".into(),
        TransferState::Ended(why) => why,
    };
    let open = move || matches!(state.get(), TransferState::Waiting | TransferState::Asked | TransferState::Moving);
    let dismiss_name = format!("Dismiss {label}");
    let progress_label = label.clone();
    view! {
        <div class="transfer" role="group" aria-label=label>
            <span class="what">{line}</span>
            <progress aria-label=progress_label max=total.max(1).to_string() value=move || moved.get().to_string()></progress>
            <span class="status" role="status">{status}</span>
            <Show when=move || state.get() == TransferState::Asked>
                <button class="control small" on:click=move |_| _ = call.act(Action::AcceptFile(id))>"Accept"</button>
                <button class="control small" on:click=move |_| _ = call.act(Action::DeclineFile(id))>"Decline"</button>
            </Show>
            {
                let name = name.clone();
                move || match state.get() {
                    TransferState::Ready(url) => Some(view! {
                        <a class="control small" href=url download=name.clone()>{format!("Download {name}")}</a>
                    }),
                    _ => None,
                }
            }
            <Show when=open>
                <button class="control small" on:click=move |_| _ = call.act(Action::CancelFile(id))>"Cancel"</button>
            </Show>
            <Show when=move || !open()>
                <button class="control small" aria-label=dismiss_name.clone() on:click=move |_| _ = call.act(Action::DismissFile(id))>"✕"</button>
            </Show>
        </div>
    }
}
