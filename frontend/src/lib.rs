//! The Cluebox reporter portal, compiled to WebAssembly: the report wizard that seals in the
//! browser, the receipt, and the status page, in Simplified Chinese and English.
//!
//! `api` is the only module that talks HTTP; `form` turns answers into a sealed report;
//! `pages/` and `components/` render; `i18n` holds every string. Nothing here writes to
//! cookies, localStorage, sessionStorage or IndexedDB, and nothing contacts another origin.

use leptos::prelude::*;

pub mod api;
pub mod components;
pub mod form;
pub mod i18n;
pub mod pages;
pub mod platform;
pub mod sealer;
pub mod validate;

use i18n::Lang;

/// Which page the address asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// `/report` (and anything else the app is served for).
    Report,
    /// `/status`.
    Status,
}

impl Page {
    /// The page for a path.
    pub fn from_path(path: &str) -> Self {
        if path.trim_end_matches('/').ends_with("/status") {
            Page::Status
        } else {
            Page::Report
        }
    }
}

/// The whole app: header with the language switch, then the page.
#[component]
pub fn App() -> impl IntoView {
    let lang = RwSignal::new(platform::initial_lang());
    Effect::new(move |_| platform::set_document_lang(lang.get()));
    let page = Page::from_path(&platform::path());
    let profile = LocalResource::new(|| async {
        let loaded = api::profile().await;
        // Start the crypto worker in the background as soon as the form can be shown.
        if let Ok((_, text)) = &loaded {
            sealer::start(text);
        }
        loaded.map(|(doc, _)| doc)
    });
    let reload = move |_| profile.refetch();
    let name = move || {
        profile
            .get()
            .and_then(Result::ok)
            .map(|p| lang.get().pick(&p.profile.name).to_owned())
            .unwrap_or_default()
    };
    let home = move || match lang.get() {
        Lang::En => "/en/",
        Lang::Zh => "/",
    };
    let body = move || {
        match profile.get() {
        None => view! { <p class="status progress" role="status">{move || lang.get().text().loading}</p> }.into_any(),
        Some(Err(_)) => view! {
            <p class="status error" role="alert">{move || lang.get().text().load_failed}</p>
            <button type="button" class="primary" on:click=reload>{move || lang.get().text().retry}</button>
        }
        .into_any(),
        Some(Ok(p)) => match page {
            Page::Report => view! { <pages::report::ReportPage profile=p lang /> }.into_any(),
            Page::Status => view! { <pages::status::StatusPage profile=p lang /> }.into_any(),
        },
    }
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

/// Starts the app in the page's body and removes the "needs WebAssembly" notice.
pub fn start() {
    platform::remove_fallback();
    mount_to_body(App);
}
