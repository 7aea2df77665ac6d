//! Security headers on every response.
//!
//! Pages get a Content-Security-Policy that lets them load only moim's own
//! files: the one inline script (the WASM loader, and Leptos' small state
//! scripts) carries a per-response nonce, WebAssembly may be compiled
//! (`wasm-unsafe-eval`), and the signaling socket goes to the page's own
//! origin (`connect-src 'self'` covers ws:/wss: to the same host). The
//! nonce is made by Leptos while it renders, so the page's policy is set by
//! the shell (`app::client_files::page_policy`, beside the loader script it
//! lets run); this middleware adds the headers that are
//! the same for every response, and a closed policy for anything that is
//! not a page.
//!
//! Hand-written rather than tower-http's `SetResponseHeaderLayer`s: five
//! layers for five fixed headers, and one of them conditional, read worse
//! than one small function.

use axum::{
    extract::Request,
    http::{header, HeaderName, HeaderValue},
    middleware::Next,
    response::Response,
};

/// For responses that are not pages (files, redirects, errors): nothing
/// in them may run or be framed.
const CLOSED_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// Camera, microphone and screen capture for moim's own pages only; the
/// rest of the powerful features for nobody.
const PERMISSIONS: &str = "camera=(self), microphone=(self), display-capture=(self), \
     geolocation=(), payment=(), usb=(), serial=()";

/// Adds the fixed security headers, and the closed policy where the
/// response has none of its own.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(HeaderName::from_static("permissions-policy"), HeaderValue::from_static(PERMISSIONS));
    headers.entry(header::CONTENT_SECURITY_POLICY).or_insert(HeaderValue::from_static(CLOSED_POLICY));
    response
}
