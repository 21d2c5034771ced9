//! The report wizard: one step per profile section, then a review step, then the receipt.
//!
//! Back and next never lose input (all answers live in one signal for the page's life). On
//! submit: a code and keys are derived, the report is sealed to the profile's recipients and
//! uploaded with an idempotency key; network failures are retried with the same request, so a
//! retry or a double tap never files two reports. The page paints between steps.

use cluebox_protocol::letter::Answer;
use leptos::prelude::*;

use crate::api;
use crate::components::field::FieldInput;
use crate::components::receipt::ReceiptView;
use crate::form::{self, Answers, Done, Prepared};
use crate::i18n::{Lang, fill};
use crate::platform;
use crate::sealer;
use crate::validate;
use cluebox_protocol::page::PageProfile;
use cluebox_protocol::worker::{FromWorker, ToWorker};

/// Where the submission is.
#[derive(Clone)]
enum Stage {
    Editing,
    Deriving,
    Sealing,
    Uploading,
    Waiting { seconds: u32, attempt: u32 },
    Failed(String),
    Done(Done),
}

/// The wizard for a loaded profile.
#[component]
pub fn ReportPage(
    /// The hotline profile.
    profile: PageProfile,
    /// The interface language.
    lang: RwSignal<Lang>,
) -> impl IntoView {
    let answers = RwSignal::new(form::initial_answers(&profile));
    let sections = profile.sections.clone();
    let steps = sections.len();
    let profile = StoredValue::new(profile);
    let step = RwSignal::new(0usize);
    let stage = RwSignal::new(Stage::Editing);
    // The sealed request, kept across retries; dropped when the answers change.
    let prepared: StoredValue<Option<Prepared>> = StoredValue::new(None);
    Effect::new(move |_| {
        answers.track();
        prepared.set_value(None);
    });
    Effect::new(move |first: Option<()>| {
        step.track();
        // Move focus to the new step's heading (not on first load), for screen readers.
        if first.is_some() {
            platform::focus(".step:not([hidden]) h2");
        }
    });

    let has_errors = {
        let sections = sections.clone();
        move |only: Option<usize>| {
            let t = lang.get_untracked().text();
            answers.with_untracked(|a| {
                sections
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| only.is_none_or(|o| o == *i))
                    .any(|(_, s)| {
                        s.fields.iter().any(|f| {
                            form::visible(s, f, a)
                                && validate::field_problem(
                                    f,
                                    a.get(&form::key(&s.id, &f.id)).map_or("", String::as_str),
                                    t,
                                )
                                .is_some()
                        })
                    })
            })
        }
    };
    let blocked = RwSignal::new(false);
    let go = {
        let has_errors = has_errors.clone();
        move |to: usize| {
            let current = step.get_untracked();
            if to > current && current < steps && has_errors(Some(current)) {
                blocked.set(true);
                return;
            }
            blocked.set(false);
            step.set(to);
        }
    };

    let submit = move || {
        if matches!(
            stage.get_untracked(),
            Stage::Deriving
                | Stage::Sealing
                | Stage::Uploading
                | Stage::Waiting { .. }
                | Stage::Done(_)
        ) {
            return; // a double tap while working
        }
        if has_errors(None) {
            blocked.set(true);
            return;
        }
        // Busy from this instant: a second tap before the task starts must not start another.
        stage.set(Stage::Deriving);
        leptos::task::spawn_local(run_submission(profile, answers, lang, stage, prepared));
    };

    let progress = move || {
        let t = lang.get().text();
        let n = step.get().min(steps) + 1;
        fill(
            t.step_of,
            &[("n", &n.to_string()), ("m", &(steps + 1).to_string())],
        )
    };
    let progress_bar = {
        let sections = sections.clone();
        move || {
            let current = step.get();
            let l = lang.get();
            sections
                .iter()
                .map(|s| l.pick(&s.title).to_owned())
                .chain(std::iter::once(l.text().review.to_owned()))
                .enumerate()
                .map(|(i, title)| {
                    let class = if i == current {
                        "current"
                    } else if i < current {
                        "done"
                    } else {
                        "todo"
                    };
                    let aria = (i == current).then_some("step");
                    view! { <li class=class aria-current=aria>{title}</li> }
                })
                .collect_view()
        }
    };

    let step_views: Vec<AnyView> = sections
        .iter()
        .enumerate()
        .map(|(i, section)| {
            let title = section.title.clone();
            let intro = section.intro.clone();
            let fields = section
                .fields
                .iter()
                .map(|f| view! { <FieldInput profile section=section.clone() field=f.clone() answers lang /> })
                .collect_view();
            view! {
                <section class="step" prop:hidden=move || step.get() != i>
                    <h2 tabindex="-1">{move || lang.get().pick(&title).to_owned()}</h2>
                    {intro.map(|intro| view! { <p class="intro">{move || lang.get().pick(&intro).to_owned()}</p> })}
                    {fields}
                </section>
            }
            .into_any()
        })
        .collect();

    let review = {
        let sections = sections.clone();
        move || {
            let l = lang.get();
            let t = l.text();
            let rows = answers.with(|a| {
                sections
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        let items = s
                            .fields
                            .iter()
                            .filter(|f| form::visible(s, f, a))
                            .map(|f| {
                                let shown = match form::answer(s, f, a) {
                                    Answer::Unclear => view! { <dd class="unclear">{t.unclear}</dd> }.into_any(),
                                    Answer::Given(v) => {
                                        let v = display_value(&profile.get_value(), f, &v, l);
                                        view! { <dd>{v}</dd> }.into_any()
                                    }
                                };
                                view! { <dt>{l.pick(&f.label).to_owned()}</dt>{shown} }
                            })
                            .collect_view();
                        view! {
                            <div class="review-section">
                                <h3>{l.pick(&s.title).to_owned()}
                                    <button type="button" class="link" on:click=move |_| step.set(i)>{t.edit}</button>
                                </h3>
                                <dl>{items}</dl>
                            </div>
                        }
                    })
                    .collect_view()
            });
            view! { <p class="intro">{t.review_intro}</p>{rows} }
        }
    };

    let status_line = move || {
        let t = lang.get().text();
        match stage.get() {
            Stage::Editing | Stage::Done(_) => None,
            Stage::Deriving => Some(("progress", t.deriving.to_owned())),
            Stage::Sealing => Some(("progress", t.sealing.to_owned())),
            Stage::Uploading => Some(("progress", t.uploading.to_owned())),
            Stage::Waiting { seconds, attempt } => Some((
                "warning",
                fill(t.retrying, &[("n", &seconds.to_string()), ("k", &attempt.to_string())]),
            )),
            Stage::Failed(msg) => Some(("error", msg)),
        }
        .map(|(class, text)| view! { <p class=["status ", class].concat() role="status" aria-live="polite">{text}</p> })
    };
    let busy = move || {
        matches!(
            stage.get(),
            Stage::Deriving | Stage::Sealing | Stage::Uploading | Stage::Waiting { .. }
        )
    };

    let wizard = view! {
        <h1>{move || lang.get().text().report_title}</h1>
        <p class="intro">{move || lang.get().text().all_optional}</p>
        <p class="progress-text" aria-live="polite">{progress}</p>
        <ol class="steps">{progress_bar}</ol>
        <form class="wizard" on:submit=|ev| ev.prevent_default()>
            {step_views}
            <section class="step" prop:hidden=move || step.get() != steps>
                <h2 tabindex="-1">{move || lang.get().text().review}</h2>
                {review}
            </section>
            <p class="error" role="alert">{move || blocked.get().then(|| lang.get().text().fix_errors)}</p>
            {status_line}
            <div class="nav">
                <button type="button" class="secondary" prop:hidden=move || step.get() == 0
                    prop:disabled=busy on:click={let go = go.clone(); move |_| go(step.get_untracked().saturating_sub(1))}>
                    {move || lang.get().text().back}
                </button>
                <button type="button" class="primary" prop:hidden={move || step.get() >= steps}
                    on:click=move |_| go(step.get_untracked() + 1)>
                    {move || lang.get().text().next}
                </button>
                <button type="button" class="primary" id="submit" prop:hidden=move || step.get() != steps
                    prop:disabled=busy on:click=move |_| submit()>
                    {move || lang.get().text().submit}
                </button>
            </div>
        </form>
    };

    let done = move || match stage.get() {
        Stage::Done(done) => Some(view! { <ReceiptView profile done lang /> }),
        _ => None,
    };
    view! {
        <div prop:hidden=move || matches!(stage.get(), Stage::Done(_))>{wizard}</div>
        {done}
    }
}

/// An answer as the reporter should read it on the review step: option labels, not ids.
fn display_value(
    profile: &PageProfile,
    field: &cluebox_protocol::profile::Field,
    value: &str,
    l: Lang,
) -> String {
    use cluebox_protocol::profile::{FieldKind, Profile};
    let list = match field.kind {
        FieldKind::Category => Some(&profile.categories),
        FieldKind::Region => Some(&profile.regions),
        FieldKind::Choice => Some(&field.options),
        _ => None,
    };
    list.and_then(|list| Profile::label(list, value, l.tag()))
        .unwrap_or(value)
        .to_owned()
}

/// Seal (in the worker), then upload with retries. Runs as a task; every stage is shown.
async fn run_submission(
    profile: StoredValue<PageProfile>,
    answers: RwSignal<Answers>,
    lang: RwSignal<Lang>,
    stage: RwSignal<Stage>,
    prepared: StoredValue<Option<Prepared>>,
) {
    let t = lang.get_untracked().text();
    let ready = match prepared.get_value() {
        Some(p) => p,
        None => {
            // Argon2 and sealing run in the worker; the page stays responsive.
            stage.set(Stage::Deriving);
            let code = match sealer::call(|id| ToWorker::NewCode { id }).await {
                FromWorker::Code { code, .. } => code,
                other => return stage.set(Stage::Failed(failure_text(t, failure(other)))),
            };
            stage.set(Stage::Sealing);
            let (region, sections) = profile.with_value(|p| {
                answers.with_untracked(|a| (form::chosen_region(p, a), form::sections(p, a)))
            });
            let locale = lang.get_untracked().tag().to_owned();
            let sealing_code = code.clone();
            let answer = sealer::call(|id| ToWorker::SealReport {
                id,
                code: sealing_code,
                locale,
                region,
                sections,
            })
            .await;
            match answer {
                FromWorker::Sealed { body, .. } => {
                    let p = Prepared { code, body };
                    prepared.set_value(Some(p.clone()));
                    p
                }
                other => return stage.set(Stage::Failed(failure_text(t, failure(other)))),
            }
        }
    };
    let mut attempt = 1;
    loop {
        stage.set(Stage::Uploading);
        let answer = sealer::call(|id| ToWorker::Upload {
            id,
            body: ready.body.clone(),
        })
        .await;
        let error = match answer {
            FromWorker::Filed { receipt, .. } => {
                return stage.set(Stage::Done(Done {
                    code: ready.code.clone(),
                    receipt,
                }));
            }
            other => failure(other),
        };
        match error {
            e if e.retryable() && attempt < form::MAX_ATTEMPTS => {
                let wait = form::backoff_seconds(attempt);
                attempt += 1;
                for left in (1..=wait).rev() {
                    stage.set(Stage::Waiting {
                        seconds: left,
                        attempt,
                    });
                    platform::sleep(1000).await;
                }
            }
            e => {
                if matches!(e, api::ApiError::Server { .. }) && !e.retryable() {
                    // Refused: the next submit seals afresh rather than resending this body.
                    prepared.set_value(None);
                }
                return stage.set(Stage::Failed(failure_text(t, e)));
            }
        }
    }
}

/// What went wrong, from an answer other than the one asked for.
fn failure(answer: FromWorker) -> api::ApiError {
    api::ApiError::from_answer(answer).unwrap_or_else(|| api::ApiError::Worker(String::new()))
}

/// The sentence for a failure: network trouble for anything worth retrying later, otherwise
/// what the server or the worker said.
fn failure_text(t: &crate::i18n::Text, error: api::ApiError) -> String {
    if error.retryable() {
        return t.failed_network.to_owned();
    }
    match error {
        api::ApiError::Network => t.failed_network.to_owned(),
        api::ApiError::Server { message, .. } | api::ApiError::Worker(message) => {
            fill(t.failed_server, &[("msg", &message)])
        }
    }
}
