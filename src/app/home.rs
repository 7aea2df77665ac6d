//! The landing page. Both forms are plain HTML forms handled by the server
//! (`POST /new`, `GET /join`), so they work before the WebAssembly has loaded.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn HomePage() -> impl IntoView {
    let query = use_query_map();
    let bad_link = move || query.read().get("error").as_deref() == Some("link");
    view! {
        <main class="page narrow home">
            <h1 class="brand">"moim"</h1>
            <p class="lead">"Video meetings in your browser. Open a link, say hello."</p>
            <form method="post" action="/new">
                <button type="submit" class="primary big">"New meeting"</button>
            </form>
            <form method="get" action="/join" class="join-link">
                <label for="link">"Meeting link or code"</label>
                <div class="row">
                    <input
                        id="link"
                        name="link"
                        required
                        autocomplete="off"
                        placeholder="https://…/r/… or the code"
                        aria-invalid=move || bad_link().to_string()
                        aria-describedby="link-error"
                    />
                    <button type="submit">"Join"</button>
                </div>
                <Show when=bad_link>
                    <p id="link-error" class="error" role="alert">
                        "That is not a moim meeting link or code. A code looks like 3f2504e0-4f89-41d3-9a0c-0305e82c3301."
                    </p>
                </Show>
            </form>
        </main>
    }
}
