//! The few browser facilities the portal uses beyond the DOM: timers, the clock, the clipboard,
//! file download, the address bar, printing, the profile the server wrote into the page, and one
//! plain `GET` (the poster page's defaults). Nothing here stores anything: no cookies, no
//! localStorage, no sessionStorage, no IndexedDB.

use wasm_bindgen::{JsCast as _, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::i18n::Lang;

fn window() -> web_sys::Window {
    web_sys::window().expect("a browser window")
}

/// Dispatches the event `name` on every element matching `css` (how the page tells the separately
/// loaded files picker something).
pub fn tell(css: &str, name: &str) {
    let (Some(document), Ok(event)) = (window().document(), web_sys::Event::new(name)) else {
        return;
    };
    if let Ok(list) = document.query_selector_all(css) {
        for i in 0..list.length() {
            if let Some(node) = list.get(i) {
                let _ = node.dispatch_event(&event);
            }
        }
    }
}

/// Waits `ms` milliseconds, letting the browser render and handle input meanwhile.
pub async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = JsFuture::from(promise).await;
}

/// "2026-11-23": the server's times are whole days (midnight UTC), so the UTC date, never an
/// hour the server does not know.
pub fn format_day(unix_seconds: u64) -> String {
    let d = js_sys::Date::new(&JsValue::from_f64(unix_seconds as f64 * 1000.0));
    let two = |n: u32| {
        if n < 10 {
            ["0", &n.to_string()].concat()
        } else {
            n.to_string()
        }
    };
    [
        d.get_utc_full_year().to_string(),
        "-".into(),
        two(d.get_utc_month() + 1),
        "-".into(),
        two(d.get_utc_date()),
    ]
    .concat()
}

/// Copies text to the clipboard; `false` if the browser refused.
pub async fn copy_text(text: &str) -> bool {
    let clipboard = window().navigator().clipboard();
    JsFuture::from(clipboard.write_text(text)).await.is_ok()
}

/// Offers `text` as a file download named `name`.
pub fn download_text(name: &str, text: &str) -> Result<(), JsValue> {
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("text/plain;charset=utf-8");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let document = window().document().ok_or("no document")?;
    let a: web_sys::HtmlAnchorElement = document.create_element("a")?.dyn_into()?;
    a.set_href(&url);
    a.set_download(name);
    a.click();
    web_sys::Url::revoke_object_url(&url)?;
    Ok(())
}

/// The `content` of `<meta name="{name}">`.
pub fn meta_content(name: &str) -> Option<String> {
    let selector = ["meta[name=", name, "]"].concat();
    window()
        .document()?
        .query_selector(&selector)
        .ok()??
        .get_attribute("content")
}

/// The hotline profile the server wrote into the page (`<meta name="cluebox-page">`).
pub fn page_profile() -> Option<cluebox_protocol::page::PageProfile> {
    let content = meta_content(cluebox_protocol::page::META_NAME)?;
    cluebox_protocol::page::PageProfile::decode(&content).ok()
}

/// This page's origin (`https://jb.example.cn`).
pub fn origin() -> String {
    window().location().origin().unwrap_or_default()
}

/// Opens the browser's print dialog ("save as PDF" is one of its printers).
pub fn print() {
    let _ = window().print();
}

/// `GET` a path of this origin as text (no cookies, no referrer); `None` on any failure.
pub async fn fetch_text(path: &str) -> Option<String> {
    let init = web_sys::RequestInit::new();
    init.set_credentials(web_sys::RequestCredentials::Omit);
    init.set_referrer_policy(web_sys::ReferrerPolicy::NoReferrer);
    let request = web_sys::Request::new_with_str_and_init(path, &init).ok()?;
    let response: web_sys::Response = JsFuture::from(window().fetch_with_request(&request))
        .await
        .ok()?
        .dyn_into()
        .ok()?;
    if !response.ok() {
        return None;
    }
    JsFuture::from(response.text().ok()?)
        .await
        .ok()?
        .as_string()
}

/// Loads the page again (after it came without its profile).
pub fn reload() {
    let _ = window().location().reload();
}

/// A parameter of the page's address (`?region=440000`).
pub fn query_param(name: &str) -> Option<String> {
    let search = window().location().search().unwrap_or_default();
    web_sys::UrlSearchParams::new_with_str(&search)
        .ok()?
        .get(name)
}

/// The language asked for in the address (`?lang=en`, which the switch's links carry), else
/// the first of Chinese and English among the browser's preferred languages, else Chinese.
/// Nothing is stored: no cookie remembers the choice.
pub fn initial_lang() -> Lang {
    let pick = |tag: &str| {
        let tag = tag.to_ascii_lowercase();
        if tag.starts_with("en") {
            Some(Lang::En)
        } else if tag.starts_with("zh") {
            Some(Lang::Zh)
        } else {
            None
        }
    };
    if let Some(lang) = query_param("lang").as_deref().and_then(pick) {
        return lang;
    }
    window()
        .navigator()
        .languages()
        .iter()
        .filter_map(|l| l.as_string())
        .find_map(|l| pick(&l))
        .unwrap_or(Lang::Zh)
}

/// Now, as unix seconds.
pub fn now() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

/// Whether the browser believes it is online.
pub fn online() -> bool {
    window().navigator().on_line()
}

/// Waits until the browser comes back online, or `ms` milliseconds, whichever is first.
pub async fn online_or_sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let w = window();
        let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        let options = web_sys::AddEventListenerOptions::new();
        options.set_once(true);
        let _ = w.add_event_listener_with_callback_and_add_event_listener_options(
            "online", &resolve, &options,
        );
    });
    let _ = JsFuture::from(promise).await;
}

/// While `on`, leaving the page (closing it, following a link, reloading) asks the browser's
/// "leave this page?" question first.
pub fn guard_leaving(on: bool) {
    use wasm_bindgen::closure::Closure;
    type Guard = Closure<dyn FnMut(web_sys::BeforeUnloadEvent)>;
    thread_local! {
        static GUARD: std::cell::RefCell<Option<Guard>> = const { std::cell::RefCell::new(None) };
    }
    let w = window();
    GUARD.with_borrow_mut(|guard| {
        if let Some(old) = guard.take() {
            let _ =
                w.remove_event_listener_with_callback("beforeunload", old.as_ref().unchecked_ref());
        }
        if on {
            let closure = Closure::<dyn FnMut(web_sys::BeforeUnloadEvent)>::new(
                |event: web_sys::BeforeUnloadEvent| {
                    event.prevent_default();
                    event.set_return_value("");
                },
            );
            let _ = w
                .add_event_listener_with_callback("beforeunload", closure.as_ref().unchecked_ref());
            *guard = Some(closure);
        }
    });
}

/// Sets `<html lang>` so screen readers and fonts follow the switch.
pub fn set_document_lang(lang: Lang) {
    if let Some(root) = window().document().and_then(|d| d.document_element()) {
        let _ = root.set_attribute("lang", lang.tag());
    }
}

/// Removes the static "needs WebAssembly" block once the app runs.
pub fn remove_fallback() {
    if let Some(el) = window()
        .document()
        .and_then(|d| d.get_element_by_id("fallback"))
    {
        el.remove();
    }
}

/// Appends a copy of `<template id="{id}">`'s content (static text the server wrote into the
/// page) to `target`, once.
pub fn fill_from_template(target: &web_sys::Element, id: &str) {
    if target.child_element_count() > 0 {
        return;
    }
    append_template(target, id);
}

/// Loads a module script (once per page), for a part of the page's code needed later.
pub fn load_module_once(src: &str) {
    thread_local! {
        static LOADED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    let document = window().document();
    if let (false, Some(document)) = (LOADED.replace(true), document)
        && let (Ok(script), Some(head)) = (document.create_element("script"), document.head())
    {
        let _ = script.set_attribute("type", "module");
        let _ = script.set_attribute("src", src);
        let _ = head.append_child(&script);
    }
}

/// Appends a copy of `<template id=ID>`'s content to `target`.
pub fn append_template(target: &web_sys::Element, id: &str) {
    let template = window()
        .document()
        .and_then(|d| d.get_element_by_id(id))
        .and_then(|t| t.dyn_into::<web_sys::HtmlTemplateElement>().ok());
    if let Some(template) = template
        && let Ok(copy) = template.content().clone_node_with_deep(true)
    {
        let _ = target.append_child(&copy);
    }
}

/// [`focus`] after the page has drawn what the current change shows (the next task).
pub fn focus_soon(selector: &'static str) {
    wasm_bindgen_futures::spawn_local(async move {
        sleep(0).await;
        focus(selector);
    });
}

/// Moves keyboard focus to the first element matching `selector`.
pub fn focus(selector: &str) {
    let el = window()
        .document()
        .and_then(|d| d.query_selector(selector).ok().flatten());
    if let Some(el) = el.and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()) {
        let _ = el.focus();
        el.scroll_into_view();
    }
}
