//! Files sent browser to browser: the Send file button and the list of
//! transfers, each with its progress and what can be done with it.

use super::icon::{Icon, Svg};
use super::{
    state::{CallState, Direction, Transfer, TransferState},
    Action, CallHandle,
};
use crate::shared::size;
use crate::{t, tr};
use leptos::prelude::*;

/// What a file button looks like and when it may be used.
pub struct FileButton {
    pub icon: Icon,
    /// The button's text.
    pub label: Signal<&'static str>,
    /// The name of the (hidden) file input, which tests and screen readers use.
    pub input_label: Signal<&'static str>,
    /// The input's `accept` (empty: any file).
    pub accept: &'static str,
    pub disabled: Signal<bool>,
    /// Why it is disabled, as a tooltip.
    pub title: Signal<Option<&'static str>>,
    pub class: &'static str,
    /// Runs as the picker opens (the More menu closes).
    pub before: Callback<()>,
}

/// A button that opens the browser's file picker and hands the chosen file
/// to `picked`.
pub fn file_button(button: FileButton, picked: impl Fn(web_sys::File) + 'static) -> impl IntoView {
    let FileButton { icon, label, input_label, accept, disabled, title, class, before } = button;
    let input = NodeRef::<leptos::html::Input>::new();
    let pick = move |_| {
        before.run(());
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
        <button type="button" class=class disabled=disabled title=title on:click=pick>
            <Svg icon/>
            <span>{label}</span>
        </button>
        <input node_ref=input type="file" accept=accept hidden aria-label=input_label on:change=changed/>
    }
}

/// Every file sent or received in this call.
#[component]
pub fn Transfers(state: CallState, call: CallHandle) -> impl IntoView {
    let transfers = state.transfers;
    view! {
        <Show when=move || transfers.with(|all| !all.is_empty())>
            <section class="transfers" aria-label=t!(file_transfers)>
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
    let (label_name, label_who) = (name.clone(), who.clone());
    let label = move || match direction {
        Direction::Outgoing => tr!(file_to, name = label_name.as_str(), who = label_who.as_str()),
        Direction::Incoming => tr!(file_from, name = label_name.as_str(), who = label_who.as_str()),
    };
    let (line_name, line_who) = (name.clone(), who.clone());
    let line = move || {
        let (name, who, size) = (line_name.as_str(), line_who.as_str(), size(total));
        match direction {
            Direction::Outgoing => tr!(sending_file, name = name, size = size.as_str(), who = who),
            Direction::Incoming => tr!(receiving_file, name = name, size = size.as_str(), who = who),
        }
    };
    let status = move || match state.get() {
        TransferState::Waiting => tr!(file_waiting, who = who.as_str()),
        TransferState::Asked => tr!(file_accept_it).to_string(),
        TransferState::Moving => format!("{} %", (moved.get() * 100).checked_div(total).unwrap_or(100)),
        TransferState::Ready(_) => tr!(file_received).to_string(),
        TransferState::Delivered => tr!(file_delivered).to_string(),
        TransferState::Ended(why) => why.words(),
    };
    let open = move || matches!(state.get(), TransferState::Waiting | TransferState::Asked | TransferState::Moving);
    let label = Signal::derive(label);
    view! {
        <div class="transfer" role="group" aria-label=label>
            <span class="what">{line}</span>
            <progress aria-label=label max=total.max(1).to_string() value=move || moved.get().to_string()></progress>
            <span class="status" role="status">{status}</span>
            <Show when=move || state.get() == TransferState::Asked>
                <button class="control small" on:click=move |_| _ = call.act(Action::AcceptFile(id))>{t!(accept)}</button>
                <button class="control small" on:click=move |_| _ = call.act(Action::DeclineFile(id))>{t!(decline)}</button>
            </Show>
            {
                let name = name.clone();
                move || match state.get() {
                    TransferState::Ready(url) => Some(view! {
                        <a class="control small" href=url download=name.clone()>{
                            let name = name.clone();
                            move || tr!(download_named, name = name.as_str())
                        }</a>
                    }),
                    _ => None,
                }
            }
            <Show when=open>
                <button class="control small" on:click=move |_| _ = call.act(Action::CancelFile(id))>{t!(cancel)}</button>
            </Show>
            <Show when=move || !open()>
                <button
                    class="control small"
                    aria-label=move || tr!(dismiss, what = label.get())
                    on:click=move |_| _ = call.act(Action::DismissFile(id))
                >
                    <Svg icon=Icon::Close/>
                </button>
            </Show>
        </div>
    }
}
