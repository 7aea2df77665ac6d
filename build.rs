//! Generates the `i18n` module (src/lib.rs includes it) from
//! `locales/en.json` and `locales/ko.json`: a key missing from one of them,
//! or an interpolation named differently, fails the build.

use leptos_i18n_build::{Config, ParseOptions, TranslationsInfos};
use std::{error::Error, path::PathBuf};

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo::rerun-if-changed=build.rs");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?).join("i18n");
    // Interpolated words are also wanted as plain strings (attributes,
    // the call's notices), not only as views.
    let options = ParseOptions::default().interpolate_display(true);
    let config = Config::new("en")?.add_locale("ko")?.parse_options(options);
    let translations = TranslationsInfos::parse(config)?;
    translations.emit_diagnostics();
    translations.rerun_if_locales_changed();
    translations.generate_i18n_module(out)?;
    Ok(())
}
