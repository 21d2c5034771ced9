//! The poster page for admins (`/poster`): a printable A4 or A3 poster with the QR code of the
//! entry URL, the hotline's name, phone number and what it accepts. It needs no secret; it only
//! draws. The QR code is vector SVG (the `qrcode` crate, error correction M, full quiet zone),
//! so it stays crisp at any print size; "Print / save as PDF" is the browser's own print.
//!
//! Its own bundle: the QR encoder and the JSON reader for the defaults never reach the form.

use cluebox_protocol::page::PageProfile;
use cluebox_protocol::profile::PublicProfile;
use leptos::prelude::*;

use crate::i18n::Lang;
use crate::platform;

/// The poster editor and its print preview.
#[component]
pub fn PosterPage(
    /// The hotline profile.
    profile: PageProfile,
    /// The interface language (the poster's language too).
    lang: RwSignal<Lang>,
) -> impl IntoView {
    let origin = platform::origin();
    let name = profile.name.clone();
    // Every field starts from the profile and the interface language; typing takes over.
    let title = RwSignal::new(lang.get_untracked().pick(&name).to_owned());
    let subtitle = RwSignal::new(lang.get_untracked().poster().default_subtitle.to_owned());
    let url = RwSignal::new(entry_url(&origin, lang.get_untracked()));
    let phone = RwSignal::new(String::new());
    let lines = RwSignal::new(String::new());
    let paper = RwSignal::new("a4".to_owned());
    let full: StoredValue<Option<PublicProfile>> = StoredValue::new(None);
    let fill_from_profile = move |l: Lang| {
        full.with_value(|p| {
            if let Some(p) = p {
                phone.set(p.profile.phone.clone());
                lines.set(
                    p.profile
                        .accepts
                        .iter()
                        .map(|a| l.pick(a))
                        .collect::<Vec<_>>()
                        .join("\n"),
                );
            }
        });
    };
    // The phone number and the acceptance scope come from the full profile document.
    leptos::task::spawn_local(async move {
        if let Some(text) = platform::fetch_text("/api/v1/profile").await
            && let Ok(p) = serde_json::from_str::<PublicProfile>(&text)
        {
            full.set_value(Some(p));
            fill_from_profile(lang.get_untracked());
        }
    });
    // Switching the language redraws the poster in it (the admin's edits are replaced).
    Effect::new(move |first: Option<()>| {
        let l = lang.get();
        if first.is_some() {
            title.set(l.pick(&name).to_owned());
            subtitle.set(l.poster().default_subtitle.to_owned());
            url.set(entry_url(&origin, l));
            fill_from_profile(l);
        }
    });

    // Encoded once per change of the address; the poster and the error line both read it.
    let qr =
        Memo::new(move |_| url.with(|u| cluebox_protocol::qr::qr_svg(u.trim(), 0, 0, 100).ok()));
    let qr_problem = move || {
        qr.with(Option::is_none)
            .then(|| lang.get().poster().qr_too_long)
    };
    let poster_lines = move || {
        lines.with(|l| {
            l.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(|l| view! { <li>{l.to_owned()}</li> })
                .collect_view()
        })
    };
    let text_field = |id: &'static str,
                      label: fn(&crate::i18n::PosterText) -> &'static str,
                      value: RwSignal<String>,
                      mode: &'static str| {
        view! {
            <label for=id>{move || label(lang.get().poster())}</label>
            <input type="text" id=id inputmode=mode autocomplete="off"
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev)) />
        }
    };

    view! {
        <div class="poster-editor">
            <h1>{move || lang.get().poster().heading}</h1>
            <p class="intro">{move || lang.get().poster().intro}</p>
            <form class="poster-form" on:submit=|ev| ev.prevent_default()>
                {text_field("poster-title", |t| t.title, title, "text")}
                {text_field("poster-subtitle", |t| t.subtitle, subtitle, "text")}
                {text_field("poster-url", |t| t.url, url, "url")}
                <p class="error" role="alert">{qr_problem}</p>
                {text_field("poster-phone", |t| t.phone, phone, "tel")}
                <label for="poster-lines">{move || lang.get().poster().lines}</label>
                <textarea id="poster-lines" rows="4" inputmode="text" autocomplete="off"
                    prop:value=move || lines.get()
                    on:input=move |ev| lines.set(event_target_value(&ev))></textarea>
                <label for="poster-paper">{move || lang.get().poster().paper}</label>
                <select id="poster-paper" autocomplete="off" prop:value=move || paper.get()
                    on:change=move |ev| paper.set(event_target_value(&ev))>
                    <option value="a4">"A4"</option>
                    <option value="a3">"A3"</option>
                </select>
                <div class="nav">
                    <button type="button" class="primary" id="print" on:click=|_| platform::print()>
                        {move || lang.get().poster().print}
                    </button>
                </div>
            </form>
        </div>
        <article class="poster" id="poster" data-paper=move || paper.get()>
            <h1 class="poster-title">{move || title.get()}</h1>
            <p class="poster-subtitle">{move || subtitle.get()}</p>
            <figure class="poster-qr" id="poster-qr" inner_html=move || qr.get().unwrap_or_default()></figure>
            <p class="poster-url">{move || url.get()}</p>
            <p class="poster-phone">{move || phone.get()}</p>
            <ul class="poster-lines">{poster_lines}</ul>
        </article>
    }
}

/// The form's address on this server, in the language given.
fn entry_url(origin: &str, lang: Lang) -> String {
    match lang {
        Lang::Zh => [origin, "/report"].concat(),
        Lang::En => [origin, "/report?lang=en"].concat(),
    }
}
