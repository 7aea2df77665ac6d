//! The reader's language: which one a page is in, how it is chosen, and how
//! a change is kept.
//!
//! The words are in `locales/en.json` and `locales/ko.json`; build.rs turns
//! them into the `i18n` module (leptos_i18n), whose keys and arguments are
//! checked at compile time. [`tr!`] words a key in the page's language and
//! re-runs where the language changes.
//!
//! moim keeps the chosen [`Locale`] in its own context instead of
//! leptos_i18n's `I18nContextProvider`: the provider brings leptos-use's
//! cookie and locale detection, 21 KB of brotli in every participant's
//! download (BENCHMARKS.md), for what is here a cookie read on the server
//! and `<html lang>` read in the browser.
//!
//! The server chooses, so the first paint is already right: the `moim_lang`
//! cookie (a choice made in the page), then `Accept-Language`, then
//! English. It writes the choice into `<html lang>`, and the browser starts
//! from there, so hydration never shows the other language.

pub use crate::i18n::Locale;
use leptos::prelude::*;
// `as_str`, `find_locale`.
use leptos_i18n::Locale as _;

/// The cookie that keeps a choice made in the page.
pub const LANG_COOKIE: &str = "moim_lang";

/// The page's language, provided by [`App`](super::App).
#[derive(Clone, Copy)]
struct Lang(RwSignal<Locale>);

/// Chooses the page's language and provides it to every view.
pub fn provide() {
    provide_with(first());
}

/// Provides `locale` as the page's language (tests word things with it).
pub(crate) fn provide_with(locale: Locale) {
    provide_context(Lang(RwSignal::new(locale)));
}

/// The page's language, tracked: a closure that calls it re-runs when the
/// person switches.
pub fn locale() -> Locale {
    use_context::<Lang>().map(|lang| lang.0.get()).unwrap_or_default()
}

/// Switches every string on the page at once, and keeps the choice.
pub fn set(locale: Locale) {
    if let Some(lang) = use_context::<Lang>() {
        lang.0.set(locale);
    }
    #[cfg(feature = "hydrate")]
    remember(locale);
}

/// Words a key of `locales/*.json` in the page's language (and tracks it):
/// `tr!(join)` gives a `&'static str`, `tr!(people_count, count = n)` a
/// `String` (arguments are anything `Display`).
#[macro_export]
macro_rules! tr {
    ($key:ident) => {
        $crate::i18n::td_string!($crate::app::lang::locale(), $key)
    };
    ($key:ident, $($name:ident = $value:expr),+ $(,)?) => {{
        // Bound first, so an argument is worked out once, outside the
        // generated code (which would otherwise re-evaluate or borrow it);
        // `name = name` is then a harmless rebinding.
        $(#[allow(clippy::redundant_locals)] let $name = $value;)+
        $crate::i18n::td_string!($crate::app::lang::locale(), $key, $($name = $name),+).to_string()
    }};
}

/// [`tr!`] for a view's text or attribute, re-worded when the language
/// changes: `{t!(join)}`, `aria-label=t!(chat)`. It is a plain function
/// pointer, not a closure, so every such text in the app shares one
/// compiled render path instead of one per closure type (a closure each
/// cost the WASM 1.3 KB of brotli in all; BENCHMARKS.md).
#[macro_export]
macro_rules! t {
    ($key:ident) => {{
        fn words() -> &'static str {
            $crate::tr!($key)
        }
        words as fn() -> &'static str
    }};
}

/// A key's words as a `Signal<String>`, for components that take one.
pub fn words(key: fn() -> &'static str) -> Signal<String> {
    Signal::derive(move || key().to_string())
}

/// The language the server chose for this request.
#[cfg(feature = "ssr")]
fn first() -> Locale {
    let headers = use_context::<axum::http::request::Parts>().map(|parts| parts.headers).unwrap_or_default();
    let header = |name| headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>().join(",");
    choose(&header(axum::http::header::COOKIE), &header(axum::http::header::ACCEPT_LANGUAGE))
}

/// The language the server chose, from `<html lang>`.
#[cfg(not(feature = "ssr"))]
fn first() -> Locale {
    let lang = document().document_element().and_then(|html| html.get_attribute("lang"));
    lang.and_then(|lang| lang.parse().ok()).unwrap_or_default()
}

/// The saved choice, else the best of `Accept-Language` (by its weights),
/// else English.
#[cfg(any(feature = "ssr", test))]
pub fn choose(cookie: &str, accept_language: &str) -> Locale {
    let saved = cookie.split(';').filter_map(|pair| pair.trim().split_once('=')).find(|(name, _)| *name == LANG_COOKIE);
    if let Some(locale) = saved.and_then(|(_, value)| value.parse().ok()) {
        return locale;
    }
    let mut wanted: Vec<(&str, f32)> = accept_language
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';');
            let tag = parts.next()?.trim();
            let weight =
                parts.find_map(|p| p.trim().strip_prefix("q=")).map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())?;
            (!tag.is_empty() && tag != "*" && weight > 0.0).then_some((tag, weight))
        })
        .collect();
    // Stable: equal weights keep the browser's order.
    wanted.sort_by(|a, b| b.1.total_cmp(&a.1));
    let tags: Vec<&str> = wanted.into_iter().map(|(tag, _)| tag).collect();
    Locale::find_locale(&tags)
}

/// When something happened, for the reader: `December 1, 2026 at 3:04 PM`,
/// `2026년 12월 1일 오후 3:04`. The browser knows the reader's time zone
/// and its `Intl` formats dates in every language for no download, so the
/// page uses it once it runs (`local`); the server, which knows neither
/// zone nor has `Intl`, writes UTC and says so.
pub fn date_time(ms: u64, local: bool) -> String {
    let locale = locale();
    #[cfg(feature = "hydrate")]
    if local {
        if let Some(text) = intl_date_time(ms, locale) {
            return text;
        }
    }
    let _ = local;
    let crate::shared::Utc { year, month, day, hour, minute } = crate::shared::Utc::at(ms);
    let twelve = if hour % 12 == 0 { 12 } else { hour % 12 };
    match locale {
        Locale::ko => {
            let half = if hour < 12 { "오전" } else { "오후" };
            format!("{year}년 {month}월 {day}일 {half} {twelve}:{minute:02} UTC")
        }
        Locale::en => {
            const MONTHS: [&str; 12] = [
                "January",
                "February",
                "March",
                "April",
                "May",
                "June",
                "July",
                "August",
                "September",
                "October",
                "November",
                "December",
            ];
            let name = MONTHS[(month as usize + 11) % 12];
            let half = if hour < 12 { "AM" } else { "PM" };
            format!("{name} {day}, {year} at {twelve}:{minute:02} {half} UTC")
        }
    }
}

#[cfg(feature = "hydrate")]
fn intl_date_time(ms: u64, locale: Locale) -> Option<String> {
    let options = js_sys::Object::new();
    js_sys::Reflect::set(&options, &"dateStyle".into(), &"long".into()).ok()?;
    js_sys::Reflect::set(&options, &"timeStyle".into(), &"short".into()).ok()?;
    let locales = js_sys::Array::of1(&locale.as_str().into());
    let format = js_sys::Intl::DateTimeFormat::new(&locales, &options).format();
    let date = js_sys::Date::new(&(ms as f64).into());
    format.call1(&wasm_bindgen::JsValue::UNDEFINED, &date).ok()?.as_string()
}

/// Keeps the choice for a year, for every page of this server.
#[cfg(feature = "hydrate")]
fn remember(locale: Locale) {
    use wasm_bindgen::JsCast;
    let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
    let secure = document.location().and_then(|l| l.protocol().ok()).is_some_and(|p| p == "https:");
    let cookie = format!(
        "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax{}",
        locale.as_str(),
        if secure { "; Secure" } else { "" }
    );
    if let Ok(html) = document.dyn_into::<web_sys::HtmlDocument>() {
        let _ = html.set_cookie(&cookie);
    }
}

/// The language switch: each language named in itself, so a person who
/// cannot read the page's language still finds their own.
#[component]
pub fn LanguageSwitch() -> impl IntoView {
    let change = move |ev| {
        if let Ok(locale) = event_target_value(&ev).parse() {
            set(locale);
        }
    };
    view! {
        // Named by aria-label: a <label> around a <select> would add the
        // chosen option's text to the name.
        <label class="language">
            <select aria-label=t!(language) on:change=change>
                <option value="en" selected=move || locale() == Locale::en>"English"</option>
                <option value="ko" selected=move || locale() == Locale::ko>"한국어"</option>
            </select>
        </label>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_writes_dates_in_words_of_the_locale() {
        let said = |locale| {
            Owner::new().with(|| {
                provide_with(locale);
                date_time(1_795_740_300_000, false)
            })
        };
        assert_eq!(said(Locale::ko), "2026년 11월 27일 오전 12:45 UTC");
        assert_eq!(said(Locale::en), "November 27, 2026 at 12:45 AM UTC");
    }

    #[test]
    fn a_saved_choice_then_the_browser_then_english() {
        assert_eq!(choose("", "ko-KR,ko;q=0.9,en-US;q=0.8"), Locale::ko);
        assert_eq!(choose("", "en-US,en;q=0.9,ko;q=0.8"), Locale::en);
        assert_eq!(choose("", "fr-FR,ko;q=0.5"), Locale::ko);
        assert_eq!(choose("", "en;q=0.2,ko;q=0.9"), Locale::ko);
        assert_eq!(choose("", "fr, de"), Locale::en);
        assert_eq!(choose("", ""), Locale::en);
        assert_eq!(choose("a=b; moim_lang=ko", "en-US"), Locale::ko);
        assert_eq!(choose("moim_lang=xx", "ko"), Locale::ko);
        assert_eq!(choose("", "ko;q=0"), Locale::en);
    }
}
