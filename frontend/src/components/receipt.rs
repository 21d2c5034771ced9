//! The receipt: a clear success mark, the inquiry code (large, grouped, a group never broken
//! across lines), copy and save, what happens next with the profile's deadlines as dates, the
//! warning that nobody can recover a lost code, and a required "I have saved my code" before
//! the reporter can leave. The signed acknowledgement's digest is behind "details".

use cluebox_protocol::page::PageProfile;
use leptos::prelude::*;

use crate::form::{self, Done, Next};
use crate::i18n::{Lang, fill};
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
    // Until the reporter confirms they kept the code, leaving asks first.
    let saved = RwSignal::new(false);
    Effect::new(move |_| platform::guard_leaving(!saved.get()));
    let deadlines = profile.with_value(|p| p.deadlines);
    let received_at = done.receipt.received_at;
    let next = move || {
        let t = lang.get().text();
        form::next_steps(&deadlines, received_at)
            .into_iter()
            .map(|(what, days, at)| {
                let template = match what {
                    Next::Accept => t.next_accept,
                    Next::Contact => t.next_contact,
                    Next::Handle => t.next_handle,
                    Next::Feedback => t.next_feedback,
                };
                fill(
                    template,
                    &[("n", &days.to_string()), ("d", &platform::format_day(at))],
                )
            })
            .chain(std::iter::once(t.next_check.to_owned()))
            .map(|line| view! { <li>{line}</li> })
            .collect_view()
    };
    // Each group unbreakable, a break allowed after each dash.
    let groups = done
        .code
        .split('-')
        .enumerate()
        .map(|(i, g)| {
            let dash = (i > 0).then_some("-");
            view! { {dash}<wbr/><span class="grp">{g.to_owned()}</span> }
        })
        .collect_view();
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
            <h1 id="receipt-title" tabindex="-1"><span class="success-mark" aria-hidden="true"></span>
                {move || lang.get().text().receipt_title}</h1>
            <p class="code-label">{move || lang.get().text().your_code}</p>
            <p class="code" id="inquiry-code" translate="no">{groups}</p>
            <p class="warning" role="alert">{move || lang.get().text().code_warning}</p>
            <div class="nav">
                <button type="button" class="primary" on:click=copy>{move || lang.get().text().copy}</button>
                <button type="button" class="secondary" on:click=save>{move || lang.get().text().save_receipt}</button>
            </div>
            <p class="status" role="status" aria-live="polite">{copy_note}</p>
            <label class="check" for="code-saved">
                <input type="checkbox" id="code-saved" prop:checked=move || saved.get()
                    on:change=move |ev| saved.set(event_target_checked(&ev)) />
                <span>{move || lang.get().text().saved_confirm}</span>
            </label>
            <h2>{move || lang.get().text().next_title}</h2>
            <ol class="next-steps">{next}</ol>
            <p class="hint" id="leave-hint" prop:hidden=move || saved.get()>{move || lang.get().text().saved_needed}</p>
            <p><a class="button primary" id="go-status" href=status_href
                aria-disabled=move || (!saved.get()).to_string()
                aria-describedby="leave-hint"
                on:click=move |ev| if !saved.get_untracked() {
                    ev.prevent_default();
                    platform::focus("#code-saved");
                }>{move || lang.get().text().go_status}</a></p>
            <details class="receipt-details">
                <summary>{move || lang.get().text().details}</summary>
                <dl class="receipt-facts">
                    <dt>{move || lang.get().text().received_at}</dt><dd>{received}</dd>
                    <dt>{move || lang.get().text().receipt_hash}</dt><dd class="hash">{hash}</dd>
                </dl>
            </details>
        </section>
    }
}
