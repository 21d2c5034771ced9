//! The Cluebox reporter portal, compiled to WebAssembly: the report wizard that seals in the
//! browser, the receipt, the status page and the admins' poster page, in Simplified Chinese and
//! English. Each page is its own bundle (`src/bin/`), started with [`start`].
//!
//! `form` turns answers into a report's sections; `sealer` hands sealing and every API call to
//! the crypto worker, and `api` reads how a call ended; `pages/` and `components/` render;
//! `i18n` holds every string. Nothing here writes to cookies, localStorage, sessionStorage or
//! IndexedDB, and nothing contacts another origin.

use leptos::prelude::*;

pub mod api;
pub mod components;
pub mod form;
pub mod i18n;
pub mod pages;
pub mod platform;
pub mod progress;
pub mod sealer;
pub mod validate;

use cluebox_protocol::page::PageProfile;
use i18n::Lang;

/// The header with the hotline's name and the language switch, then the page `body` draws.
fn shell<V: IntoView + 'static>(
    profile: Option<PageProfile>,
    body: fn(PageProfile, RwSignal<Lang>) -> V,
) -> impl IntoView {
    let lang = RwSignal::new(platform::initial_lang());
    Effect::new(move |_| platform::set_document_lang(lang.get()));
    let name = profile.as_ref().map(|p| p.name.clone());
    let name = move || {
        name.as_ref()
            .map(|n| lang.get().pick(n).to_owned())
            .unwrap_or_default()
    };
    let home = move || match lang.get() {
        Lang::En => "/en/",
        Lang::Zh => "/",
    };
    let body = match profile {
        Some(p) => body(p, lang).into_any(),
        // Served without the server's profile (or by a server of another build).
        None => view! {
            <p class="status error" role="alert">{move || lang.get().text().load_failed}</p>
            <button type="button" class="primary" on:click=|_| platform::reload()>{move || lang.get().text().retry}</button>
        }
        .into_any(),
    };
    view! {
        <header class="top">
            <a class="brand" href=home>{name}</a>
            <button type="button" class="lang" id="lang-switch"
                lang=move || match lang.get() { Lang::Zh => "en", Lang::En => "zh-CN" }
                aria-label=move || lang.get().text().switch_to
                on:click=move |_| lang.update(|l| *l = if *l == Lang::Zh { Lang::En } else { Lang::Zh })>
                {move || lang.get().text().switch_label}
            </button>
        </header>
        <main class="page">{body}</main>
    }
}

/// Starts a page in the body: removes the "needs WebAssembly" notice, starts the crypto worker
/// in the background if the page uses it, and draws `body` under the common header. Each
/// bundle (`src/bin/`) passes its own page, so it carries only that page's code.
pub fn start<V: IntoView + 'static>(body: fn(PageProfile, RwSignal<Lang>) -> V, worker: bool) {
    platform::remove_fallback();
    let profile = platform::page_profile();
    if profile.is_some() && worker {
        sealer::start();
    }
    mount_to_body(move || shell(profile, body));
}
