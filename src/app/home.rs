//! The landing page. Both forms are plain HTML forms handled by the server
//! (`POST /new`, `GET /join`), so they work before the WebAssembly has loaded.

use super::lang::LanguageSwitch;
use crate::t;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn HomePage() -> impl IntoView {
    let query = use_query_map();
    let bad_link = move || query.read().get("error").as_deref() == Some("link");
    view! {
        <main class="page narrow home">
            <div class="corner"><LanguageSwitch/></div>
            <h1 class="brand">"moim"</h1>
            <p class="lead">{t!(home_lead)}</p>
            <form method="post" action="/new">
                <button type="submit" class="primary big">{t!(new_meeting)}</button>
            </form>
            <form method="get" action="/join" class="join-link">
                <label for="link">{t!(link_or_code)}</label>
                <div class="row">
                    <input
                        id="link"
                        name="link"
                        required
                        autocomplete="off"
                        placeholder=t!(link_placeholder)
                        aria-invalid=move || bad_link().to_string()
                        aria-describedby="link-error"
                    />
                    <button type="submit">{t!(join)}</button>
                </div>
                <Show when=bad_link>
                    <p id="link-error" class="error" role="alert">{t!(bad_link)}</p>
                </Show>
            </form>
        </main>
    }
}
