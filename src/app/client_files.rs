//! The links and the loader script that bring the built client (CSS, JS,
//! WASM under `/pkg/`) into the page.
//!
//! This stands in for Leptos' `HashedStylesheet` and `HydrationScripts`:
//! with content-hashed file names those two read `hash.txt` from disk on
//! every page they render (twice per page), which cost the room page about
//! a fifth of its throughput (`make bench`, section 4). Here the names are
//! read once per process. The loader is a small module script that carries
//! the response's nonce, which the page's Content-Security-Policy
//! ([`page_policy`]) names; `server::headers` adds the other headers.

use leptos::prelude::*;
use std::sync::OnceLock;

/// The policy of a server-rendered page whose inline scripts carry `nonce`.
#[cfg(feature = "ssr")]
pub fn page_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// The file names under the package directory.
struct Names {
    css: String,
    js: String,
    wasm: String,
}

/// Reads the names once. cargo-leptos (`hash-files` in Cargo.toml) writes
/// `hash.txt` beside the server binary, one `kind: hash` line per file;
/// without it (a server built by hand, a test harness) the files keep
/// their plain names.
fn names(options: &LeptosOptions) -> &'static Names {
    static NAMES: OnceLock<Names> = OnceLock::new();
    NAMES.get_or_init(|| {
        let base = options.output_name.to_string();
        let hashes = options
            .hash_files
            .then(|| std::env::current_exe().ok()?.parent()?.join(options.hash_file.as_ref()).into())
            .flatten()
            .and_then(|path: std::path::PathBuf| std::fs::read_to_string(path).ok())
            .unwrap_or_default();
        let named = |kind: &str, ext: &str| {
            let hash = hashes.lines().find_map(|line| {
                let (k, hash) = line.split_once(':')?;
                (k.trim() == kind).then(|| hash.trim().to_string())
            });
            match hash {
                Some(hash) => format!("{base}.{hash}.{ext}"),
                None => format!("{base}.{ext}"),
            }
        };
        Names { css: named("css", "css"), js: named("js", "js"), wasm: named("wasm", "wasm") }
    })
}

/// The stylesheet, early hints for the JS and WASM, and the script that
/// loads them and hydrates the page.
#[component]
pub fn ClientFiles(options: LeptosOptions) -> impl IntoView {
    let Names { css, js, wasm } = names(&options);
    let pkg = format!("/{}", options.site_pkg_dir);
    let loader = format!("import init, {{ hydrate }} from '{pkg}/{js}';\ninit({{ module_or_path: '{pkg}/{wasm}' }}).then(() => hydrate());");
    view! {
        <link rel="stylesheet" id="moim" href=format!("{pkg}/{css}")/>
        <link rel="modulepreload" href=format!("{pkg}/{js}")/>
        // wasm-bindgen fetches the module in CORS mode; the preload must match.
        <link rel="preload" href=format!("{pkg}/{wasm}") r#as="fetch" r#type="application/wasm" crossorigin=""/>
        // As inner HTML: text children would be escaped (`=>` becomes `&gt;`).
        <script type="module" nonce=use_nonce() inner_html=loader></script>
    }
}
