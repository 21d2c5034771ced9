//! The receipt: the inquiry code, large and grouped, with copy and save, the signed
//! acknowledgement, and the warning that nobody can recover a lost code.

use cluebox_protocol::page::PageProfile;
use leptos::prelude::*;

use crate::form::{self, Done};
use crate::i18n::Lang;
use crate::platform;

/// The receipt of a filed report.
#[component]
pub fn ReceiptView(
    /// The hotline profile.
    profile: StoredValue<PageProfile>,
    /// The filed report.
    done: Done,
    /// The interface language.
    lang: RwSignal<Lang>,
) -> impl IntoView {
    let copied = RwSignal::new(None::<bool>);
    let code = done.code.clone();
    let copy = move |_| {
        let code = code.clone();
        leptos::task::spawn_local(async move {
            copied.set(Some(platform::copy_text(&code).await));
        });
    };
    let save = {
        let done = done.clone();
        move |_| {
            let l = lang.get_untracked();
            let t = l.text();
            let text = profile.with_value(|p| {
                form::receipt_text(
                    t.receipt_file,
                    l.pick(&p.name),
                    &done,
                    &p.server_key,
                    &platform::format_day(done.receipt.received_at),
                    [t.your_code, t.received_at, t.receipt_hash],
                )
            });
            // A fixed name: part of the code in a file name would sit in the Downloads
            // folder and the browser's history.
            let _ = platform::download_text("receipt.txt", &text);
        }
    };
    // Show the receipt from its top, and tell screen readers where they are.
    Effect::new(move |_| platform::focus("#receipt-title"));
    let received = platform::format_day(done.receipt.received_at);
    let hash = done.receipt.report_hash.clone();
    let status_href = move || match lang.get() {
        Lang::En => "/status?lang=en",
        Lang::Zh => "/status",
    };
    let copy_note = move || {
        let t = lang.get().text();
        copied
            .get()
            .map(|ok| if ok { t.copied } else { t.copy_failed })
    };
    view! {
        <section class="receipt" aria-labelledby="receipt-title">
            <h1 id="receipt-title" tabindex="-1">{move || lang.get().text().receipt_title}</h1>
            <p class="code-label">{move || lang.get().text().your_code}</p>
            <p class="code" id="inquiry-code" translate="no">{done.code.clone()}</p>
            <p class="warning" role="alert">{move || lang.get().text().code_warning}</p>
            <div class="nav">
                <button type="button" class="primary" on:click=copy>{move || lang.get().text().copy}</button>
                <button type="button" class="secondary" on:click=save>{move || lang.get().text().save_receipt}</button>
            </div>
            <p class="status" role="status" aria-live="polite">{copy_note}</p>
            <dl class="receipt-facts">
                <dt>{move || lang.get().text().received_at}</dt><dd>{received}</dd>
                <dt>{move || lang.get().text().receipt_hash}</dt><dd class="hash">{hash}</dd>
            </dl>
            <p><a href=status_href>{move || lang.get().text().go_status}</a></p>
        </section>
    }
}
