//! The status page: enter the inquiry code (typos are caught as you type, before any request;
//! once a case is shown the code is masked, with a toggle), see the current status set apart,
//! the stages passed and those ahead with their due dates and days left, the result when the
//! office gives one, read the office's replies (decrypted here with the key the code derives),
//! and send a sealed follow-up, with evidence files if the profile asks for them (the form's
//! picker, loaded once a case is shown).

use cluebox_protocol::code::{self, InquiryCode};
use cluebox_protocol::evidence::{self, FileRef};
use cluebox_protocol::page::PageProfile;
use cluebox_protocol::profile::{FieldKind, Profile};
use cluebox_protocol::worker::{CaseView, FromWorker, ToWorker};
use leptos::prelude::*;

use crate::api::ApiError;
use crate::components::files;
use crate::i18n::{self, Lang};
use crate::platform;
use crate::progress::{self, Mark};
use crate::sealer;

/// Statuses after which the office's latest reply is its result.
const RESULT_STATUSES: [&str; 4] = ["concluded", "feedback_given", "visited", "archived"];

#[derive(Clone)]
enum Lookup {
    Idle,
    Working,
    NotFound,
    Failed,
    Found(CaseView),
}

#[derive(Clone, PartialEq)]
enum Sending {
    Idle,
    Working,
    Sent,
    Failed(String),
}

/// The status page for a loaded profile.
#[component]
pub fn StatusPage(
    /// The hotline profile.
    profile: PageProfile,
    /// The interface language.
    lang: RwSignal<Lang>,
) -> impl IntoView {
    let profile = StoredValue::new(profile);
    let typed = RwSignal::new(String::new());
    let lookup = RwSignal::new(Lookup::Idle);
    // The code whose case is shown (its keys stay in the worker).
    let shown_code: StoredValue<Option<String>> = StoredValue::new(None);
    let message = RwSignal::new(String::new());
    // Masked once a case is shown (someone may be looking over the shoulder).
    let masked = RwSignal::new(false);
    let sending = RwSignal::new(Sending::Idle);
    // Checked on every keystroke; nothing is sent until the code is complete and valid.
    let check = Memo::new(move |_| typed.with(|t| code::check_as_typed(t).map(|c| c.is_some())));
    let feedback = move || {
        let st = lang.get().status();
        match check.get() {
            Ok(true) => Some(("ok", st.code_ok.to_owned())),
            Ok(false) => None,
            Err(e) => Some(("error", i18n::code_error(st, &e))),
        }
        .map(|(class, text)| view! { <p class=["code-check ", class].concat() id="code-check" role="status" aria-live="polite">{text}</p> })
    };

    let run = move || {
        let Ok(code) = InquiryCode::parse(&typed.get_untracked()) else {
            return;
        };
        if matches!(lookup.get_untracked(), Lookup::Working) {
            return;
        }
        lookup.set(Lookup::Working);
        let code = code.expose_grouped().to_string();
        leptos::task::spawn_local(async move {
            shown_code.set_value(Some(code.clone()));
            let found = fetch_case(code).await;
            if matches!(found, Lookup::Found(_)) {
                masked.set(true);
            }
            lookup.set(found);
        });
    };

    // The follow-up's evidence files: the profile's first files field, its picker (the
    // `cluebox-files` bundle, as on the form) loaded once a case is shown.
    let files_field = profile.with_value(|p| {
        p.sections.iter().find_map(|s| {
            s.fields
                .iter()
                .find(|f| f.kind == FieldKind::Files)
                .map(|f| (s.id.clone(), f.id.clone()))
        })
    });
    let has_files = files_field.is_some();
    let found = move || lookup.with(|l| matches!(l, Lookup::Found(_)));
    Effect::new(move |_| {
        if has_files && found() {
            platform::load_module_once("/cluebox-files-loader.js");
        }
    });

    let send = move || {
        let text = message.get_untracked();
        let t = lang.get_untracked().text();
        let st = lang.get_untracked().status();
        let (busy, stored) = files::state();
        if busy {
            return sending.set(Sending::Failed(t.files_wait.to_owned()));
        }
        let refs: Vec<FileRef> = evidence::fields_from_text(&stored)
            .unwrap_or_default()
            .into_iter()
            .flat_map(|(_, _, refs)| refs)
            .collect();
        if text.trim().is_empty() && refs.is_empty() {
            return sending.set(Sending::Failed(st.empty_message.to_owned()));
        }
        let Some(code) = shown_code.get_value() else {
            return;
        };
        if sending.get_untracked() == Sending::Working {
            return;
        }
        sending.set(Sending::Working);
        leptos::task::spawn_local(async move {
            let body = match sealer::call(|id| ToWorker::SealFollowUp {
                id,
                code: code.clone(),
                text: text.trim().to_owned(),
                files: FileRef::list_to_text(&refs),
            })
            .await
            {
                FromWorker::Sealed { body, .. } => body,
                _ => return sending.set(Sending::Failed(t.load_failed.to_owned())),
            };
            // The same body on every attempt: its idempotency key makes retries safe.
            let send = || {
                sealer::call(|id| ToWorker::SendFollowUp {
                    id,
                    body: body.clone(),
                })
            };
            let mut result = send().await;
            for wait in [1, 2, 4] {
                match ApiError::from_answer(result.clone()) {
                    Some(e) if e.retryable() => {
                        platform::sleep(wait * 1000).await;
                        result = send().await;
                    }
                    _ => break,
                }
            }
            match result {
                FromWorker::Sent { .. } => {
                    message.set(String::new());
                    // The picker forgets the files now filed with this follow-up.
                    platform::tell(".files-slot", "cluebox-files-filed");
                    sending.set(Sending::Sent);
                    lookup.set(fetch_case(code).await);
                }
                _ => sending.set(Sending::Failed(t.failed_network.to_owned())),
            }
        });
    };

    let result = move || {
        let l = lang.get();
        let t = l.text();
        let st = l.status();
        match lookup.get() {
            Lookup::Idle => ().into_any(),
            Lookup::Working => {
                view! { <p class="status progress" role="status">{st.looking_up}</p> }.into_any()
            }
            Lookup::NotFound => {
                view! { <p class="status error" role="alert">{st.not_found}</p> }.into_any()
            }
            Lookup::Failed => {
                view! { <p class="status error" role="alert">{t.load_failed}</p> }.into_any()
            }
            Lookup::Found(found) => {
                let label = |id: &str| {
                    profile.with_value(|p| {
                        Profile::label(&p.statuses, id, l.tag())
                            .unwrap_or(id)
                            .to_owned()
                    })
                };
                let current = label(&found.status);
                // The first entry is the filing itself, named like the first status ("received").
                let first_status = profile.with_value(|p| p.statuses[0].id.clone());
                let first_status = label(&first_status);
                let today = platform::now();
                let stages =
                    profile.with_value(|p| progress::stages(&p.statuses, &p.deadlines, &found));
                let since = stages.iter().find_map(|s| match s.mark {
                    Mark::Current(day) => Some(day),
                    _ => None,
                });
                let since = since.map(|d| i18n::fill(st.since, &[("d", &platform::format_day(d))]));
                let stage_list = stages
                    .into_iter()
                    .map(|stage| {
                        let name = label(&stage.id);
                        let (class, note) = match stage.mark {
                            Mark::Done(day) => ("done", platform::format_day(day)),
                            Mark::Current(day) => ("current", platform::format_day(day)),
                            Mark::Ahead(None) => ("ahead", String::new()),
                            Mark::Ahead(Some(due)) => {
                                let left = progress::days_left(today, due);
                                let count = if left >= 0 {
                                    i18n::fill(st.days_left, &[("n", &left.to_string())])
                                } else {
                                    i18n::fill(st.overdue, &[("n", &(-left).to_string())])
                                };
                                let by = i18n::fill(st.due_by, &[("d", &platform::format_day(due))]);
                                ("ahead", [by, " · ".into(), count].concat())
                            }
                        };
                        let aria = (class == "current").then_some("step");
                        view! { <li class=class aria-current=aria><span class="stage-name">{name}</span>" "<span class="stage-note">{note}</span></li> }
                    })
                    .collect_view();
                // The office's latest readable reply, once the case is concluded, is its result.
                let result = RESULT_STATUSES
                    .contains(&found.status.as_str())
                    .then(|| found.replies.iter().rev().find_map(|r| r.text.clone()))
                    .flatten()
                    .map(|text| view! { <div class="result" id="result"><h3>{st.result}</h3><p>{text}</p></div> });
                // Only changes the office sealed count; others are shown, marked.
                let history = std::iter::once((first_status.clone(), found.received_at, true))
                    .chain(found.timeline.iter().map(|e| (label(&e.status), e.at, e.confirmed)))
                    .map(|(what, at, confirmed)| {
                        let mark = if confirmed { "" } else { st.unconfirmed };
                        view! { <li class:unconfirmed=!confirmed><time>{platform::format_day(at)}</time> " " {what}{mark}</li> }
                    })
                    .collect_view();
                let irregular = found.irregular.then(|| view! { <p class="status error" role="alert" id="irregular">{st.irregular}</p> });
                let replies = if found.replies.is_empty() {
                    view! { <p class="muted">{st.no_replies}</p> }.into_any()
                } else {
                    found
                        .replies
                        .iter()
                        .map(|r| {
                            let text = r.text.clone().unwrap_or_else(|| st.reply_unreadable.to_owned());
                            view! { <article class="reply"><time>{platform::format_day(r.at)}</time><p>{text}</p></article> }
                        })
                        .collect_view()
                        .into_any()
                };
                let follow_ups = found
                    .follow_ups
                    .iter()
                    .map(|f| {
                        let text = f.text.clone().unwrap_or_else(|| st.follow_up_unreadable.to_owned());
                        view! { <article class="follow-up"><time>{platform::format_day(f.at)}</time><p>{text}</p></article> }
                    })
                    .collect_view();
                view! {
                    <section class="case" aria-live="polite">
                        <div class="current-card">
                            <h2>{st.current_status}</h2>
                            <p class="current-status" id="current-status">{current}</p>
                            <p class="muted">{since}</p>
                            {result}
                        </div>
                        {irregular}
                        <h3>{st.stages}</h3>
                        <ol class="stages" id="stages">{stage_list}</ol>
                        <h3>{st.timeline}</h3>
                        <ol class="timeline">{history}</ol>
                        <h3>{st.replies}</h3>
                        <div id="replies">{replies}</div>
                        <h3>{st.your_follow_ups}</h3>
                        <div id="follow-ups">{follow_ups}</div>
                    </section>
                }
                .into_any()
            }
        }
    };

    view! {
        <h1>{move || lang.get().status().status_title}</h1>
        <p class="intro">{move || lang.get().status().status_intro}</p>
        <form class="lookup" on:submit=move |ev| { ev.prevent_default(); run(); }>
            <label for="code">{move || lang.get().status().code_label}</label>
            <p class="hint" id="code-hint">{move || lang.get().status().code_hint}</p>
            <div class="code-row">
                <input type="text" id="code" class="code-input" inputmode="text" autocomplete="off"
                    autocapitalize="characters" spellcheck="false" aria-describedby="code-hint code-check"
                    class:masked=move || masked.get()
                    aria-invalid=move || check.get().is_err().to_string()
                    prop:value=move || typed.get()
                    on:input=move |ev| typed.set(event_target_value(&ev)) />
                <button type="button" class="secondary" id="toggle-code" prop:hidden=move || !masked.get() && !matches!(lookup.get(), Lookup::Found(_))
                    aria-pressed=move || (!masked.get()).to_string()
                    on:click=move |_| masked.update(|m| *m = !*m)>
                    {move || if masked.get() { lang.get().status().show_code } else { lang.get().status().hide_code }}
                </button>
            </div>
            {feedback}
            <div class="nav">
                <button type="submit" class="primary" id="look-up" aria-describedby="look-up-why"
                    prop:disabled=move || !matches!(check.get(), Ok(true)) || matches!(lookup.get(), Lookup::Working)>
                    {move || lang.get().status().look_up}
                </button>
            </div>
            <p class="hint" id="look-up-why">{move || {
                let st = lang.get().status();
                if matches!(lookup.get(), Lookup::Working) {
                    st.looking_up
                } else if !matches!(check.get(), Ok(true)) {
                    st.need_code
                } else {
                    ""
                }
            }}</p>
        </form>
        {result}
        // Outside the case's view, which is drawn again after each lookup: the message typed and
        // the files attached stay while the language changes or the case is refreshed.
        <section class="follow-up-form" prop:hidden=move || !found()>
            <label for="follow-up">{move || lang.get().status().follow_up_label}</label>
            <p class="hint" id="follow-up-hint">{move || lang.get().status().follow_up_hint}</p>
            <textarea id="follow-up" rows="4" inputmode="text" autocomplete="off" aria-describedby="follow-up-hint"
                prop:value=move || message.get()
                on:input=move |ev| message.set(event_target_value(&ev))></textarea>
            {files_field.map(|(section, field)| view! {
                <div class="field files files-slot" data-section=section data-field=field></div>
            })}
            <div class="nav">
                <button type="button" class="primary" id="send-follow-up"
                    prop:disabled=move || sending.get() == Sending::Working
                    on:click=move |_| send()>{move || lang.get().status().send}</button>
            </div>
            <p class="status" role="status" aria-live="polite">{move || match sending.get() {
                Sending::Idle => String::new(),
                Sending::Working => lang.get().status().sending.to_owned(),
                Sending::Sent => lang.get().status().sent.to_owned(),
                Sending::Failed(m) => m,
            }}</p>
        </section>
    }
}

/// Looks a code up: the worker derives the token, asks the server and opens the replies.
async fn fetch_case(code: String) -> Lookup {
    match sealer::call(|id| ToWorker::Inquire { id, code }).await {
        FromWorker::Case { case, .. } => Lookup::Found(case),
        FromWorker::NotFound { .. } => Lookup::NotFound,
        _ => Lookup::Failed,
    }
}
