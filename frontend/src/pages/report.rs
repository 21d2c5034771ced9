//! The report wizard: one step per profile section, then a review step, then the receipt.
//!
//! The first step opens with what a frightened first-time reporter needs to know (sealed on the
//! phone, nothing about them kept, anonymous by default, the emergency number, the hotline's
//! notices, what it accepts). Back and next never lose input (all answers live in one signal
//! for the page's life); problems are listed at the top, linked to their fields. On submit (a
//! form with nothing in it asks once): a code and keys are derived, the report is sealed to the
//! profile's recipients and uploaded with an idempotency key; network failures are retried with
//! the same request until the connection returns, so a retry or a double tap never files two
//! reports. The page paints between steps.

use cluebox_protocol::letter::Answer;
use leptos::prelude::*;

use crate::api;
use crate::components::field::FieldInput;
use crate::components::files;
use crate::components::receipt::ReceiptView;
use crate::form::{self, Answers, Done, Prepared};
use crate::i18n::{Lang, fill};
use crate::platform;
use crate::sealer;
use crate::validate;
use cluebox_protocol::page::PageProfile;
use cluebox_protocol::profile::{Field, FieldKind, Section};
use cluebox_protocol::worker::{FromWorker, ToWorker};

/// Where the submission is.
#[derive(Clone)]
enum Stage {
    Editing,
    /// Nothing was filled in: asking once whether to send it anyway.
    ConfirmEmpty,
    Deriving,
    Sealing,
    Uploading,
    Waiting {
        seconds: u32,
        attempt: u32,
    },
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
    let region = platform::query_param("region");
    let initial = form::initial_answers(&profile, region.as_deref());
    let answers = RwSignal::new(initial.clone());
    let initial = StoredValue::new(initial);
    let show_errors = RwSignal::new(false);
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
    // The evidence files picker is its own bundle, loaded when its step first shows.
    let files_steps: Vec<usize> = sections
        .iter()
        .enumerate()
        .filter(|(_, s)| s.fields.iter().any(|f| f.kind == FieldKind::Files))
        .map(|(i, _)| i)
        .collect();
    Effect::new(move |_| {
        if files_steps.contains(&step.get()) {
            platform::load_module_once("/cluebox-files-loader.js");
        }
    });
    Effect::new(move |first: Option<()>| {
        step.track();
        // Move focus to the new step's heading (not on first load), for screen readers.
        if first.is_some() {
            platform::focus(".step:not([hidden]) h2");
        }
    });

    // (field id, label, problem) of every visible field with a problem, in one step or all.
    let problems = {
        let sections = sections.clone();
        move |only: Option<usize>| -> Vec<(String, String, String)> {
            let l = lang.get();
            answers.with(|a| {
                sections
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| only.is_none_or(|o| o == *i))
                    .flat_map(|(_, s)| {
                        s.fields.iter().filter_map(move |f| {
                            let value = a.get(&form::key(&s.id, &f.id)).map_or("", String::as_str);
                            let problem = validate::field_problem(f, value, l.text())?;
                            form::visible(s, f, a).then(|| {
                                (
                                    ["f-", &s.id, "-", &f.id].concat(),
                                    l.pick(&f.label).to_owned(),
                                    problem,
                                )
                            })
                        })
                    })
                    .collect()
            })
        }
    };
    let go = {
        let problems = problems.clone();
        move |to: usize| {
            let current = step.get_untracked();
            if to > current && current < steps && !untrack(|| problems(Some(current))).is_empty() {
                show_errors.set(true);
                platform::focus_soon("#error-summary");
                return;
            }
            step.set(to);
        }
    };

    let submit = {
        let problems = problems.clone();
        move |confirmed: bool| {
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
            if !untrack(|| problems(None)).is_empty() {
                show_errors.set(true);
                platform::focus_soon("#error-summary");
                return;
            }
            // Nothing typed and no file attached.
            let empty = files::state().1.is_empty()
                && profile.with_value(|p| {
                    initial.with_value(|i| answers.with_untracked(|a| form::nothing_given(p, a, i)))
                });
            if empty && !confirmed && prepared.with_value(Option::is_none) {
                stage.set(Stage::ConfirmEmpty);
                platform::focus_soon("#confirm-empty h2");
                return;
            }
            let (busy, attached) = files::state();
            if busy {
                stage.set(Stage::Failed(
                    lang.get_untracked().text().files_wait.to_owned(),
                ));
                return;
            }
            if prepared.with_value(|p| p.as_ref().is_some_and(|p| p.files != attached)) {
                prepared.set_value(None);
            }
            // Busy from this instant: a second tap before the task starts must not start another.
            stage.set(Stage::Deriving);
            leptos::task::spawn_local(run_submission(profile, answers, lang, stage, prepared));
        }
    };
    let submit = Callback::new(submit);

    let titles = {
        let sections = sections.clone();
        move |l: Lang| {
            sections
                .iter()
                .map(|s| l.pick(&s.title).to_owned())
                .chain(std::iter::once(l.text().review.to_owned()))
                .collect::<Vec<_>>()
        }
    };
    let progress = {
        let titles = titles.clone();
        move || {
            let l = lang.get();
            let n = step.get().min(steps);
            fill(
                l.text().step_of,
                &[
                    ("n", &(n + 1).to_string()),
                    ("m", &(steps + 1).to_string()),
                    ("s", &titles(l)[n]),
                ],
            )
        }
    };
    let progress_bar = move || {
        let current = step.get();
        titles(lang.get())
            .into_iter()
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
                let label = title.clone();
                view! { <li class=class aria-current=aria title=label>{title}</li> }
            })
            .collect_view()
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
                .map(|f| {
                    if f.kind == FieldKind::Files {
                        files_field(section, f).into_any()
                    } else {
                        view! { <FieldInput profile section=section.clone() field=f.clone() answers lang show_errors /> }.into_any()
                    }
                })
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
            // Drawn only on the review step (not at start, not on every other step), and again
            // each time it shows, so files attached since are counted.
            if step.get() != steps {
                return None;
            }
            let l = lang.get();
            let t = l.text();
            let attached = files::state().1;
            let rows = answers.with(|a| {
                sections
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        // What was given, then the blanks folded into one line.
                        let mut blanks = Vec::new();
                        let items = s
                            .fields
                            .iter()
                            .filter(|f| form::visible(s, f, a))
                            .filter_map(|f| match form::answer(s, f, a) {
                                // Files: how many are attached (the picker's text has a `;`
                                // between two files of a field).
                                _ if f.kind == FieldKind::Files => {
                                    let head = [s.id.as_str(), "/", &f.id, "="].concat();
                                    let n = attached
                                        .split('|')
                                        .find(|part| part.starts_with(&head))
                                        .map_or(0, |part| part.matches(';').count() + 1);
                                    if n == 0 {
                                        blanks.push(l.pick(&f.label).to_owned());
                                        return None;
                                    }
                                    let v = fill(t.files_count, &[("n", &n.to_string())]);
                                    Some(view! { <dt>{l.pick(&f.label).to_owned()}</dt><dd>{v}</dd> })
                                }
                                Answer::Unclear => {
                                    blanks.push(l.pick(&f.label).to_owned());
                                    None
                                }
                                Answer::Given(v) => {
                                    let v = display_value(&profile.get_value(), f, &v, l);
                                    Some(view! { <dt>{l.pick(&f.label).to_owned()}</dt><dd>{v}</dd> })
                                }
                                // The page's own answers are text; files are named by the worker.
                                Answer::Files(_) => None,
                            })
                            .collect_view();
                        let folded = (!blanks.is_empty()).then(|| {
                            let line = fill(t.blanks, &[("n", &blanks.len().to_string())]);
                            view! { <p class="unclear"><span>{line}</span>": " {blanks.join(" · ")}</p> }
                        });
                        let title = l.pick(&s.title).to_owned();
                        let edit_label = fill(t.edit_section, &[("s", &title)]);
                        view! {
                            <section class="review-section">
                                <h3>{title}
                                    <button type="button" class="link" aria-label=edit_label on:click=move |_| step.set(i)>{t.edit}</button>
                                </h3>
                                <dl>{items}</dl>
                                {folded}
                            </section>
                        }
                    })
                    .collect_view()
            });
            Some(view! { <p class="intro">{t.review_intro}</p>{rows} })
        }
    };

    let status_line = move || {
        let t = lang.get().text();
        match stage.get() {
            Stage::Editing | Stage::ConfirmEmpty | Stage::Done(_) => None,
            Stage::Deriving => Some(("progress", t.deriving.to_owned())),
            Stage::Sealing => Some(("progress", t.sealing.to_owned())),
            Stage::Uploading => Some(("progress", t.uploading.to_owned())),
            Stage::Waiting { seconds: 0, .. } => Some(("warning", t.offline_wait.to_owned())),
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

    let summary = move || {
        let list = if show_errors.get() {
            problems((step.get() < steps).then(|| step.get()))
        } else {
            Vec::new()
        };
        (!list.is_empty()).then(|| {
            let t = lang.get().text();
            let items = list
                .into_iter()
                .map(|(id, label, problem)| {
                    view! { <li><a href=["#", &id].concat()>{label}": "{problem}</a></li> }
                })
                .collect_view();
            view! {
                <div class="error-summary" id="error-summary" role="alert" tabindex="-1">
                    <p>{fill(t.errors_title, &[("n", &items.len().to_string())])}</p>
                    <ul>{items}</ul>
                </div>
            }
        })
    };
    let first_screen = NodeRef::<leptos::html::Div>::new();
    Effect::new(move |_| {
        if let Some(slot) = first_screen.get() {
            platform::fill_from_template(&slot, "first-screen");
        }
    });
    let wizard = view! {
        <h1>{move || lang.get().text().report_title}</h1>
        // What a reporter who arrived from a poster reads first: the server's block, in both
        // languages (the page shows the current one).
        <div class="first-screen" node_ref=first_screen prop:hidden=move || step.get() != 0></div>
        <p class="progress-text" aria-live="polite">{progress}</p>
        <ol class="steps">{progress_bar}</ol>
        {summary}
        <form class="wizard" on:submit=|ev| ev.prevent_default()>
            {step_views}
            <section class="step" prop:hidden=move || step.get() != steps>
                <h2 tabindex="-1">{move || lang.get().text().review}</h2>
                {review}
            </section>
            <ConfirmEmpty lang stage submit />
            <div class="nav">
                {status_line}
                <button type="button" class="secondary" prop:hidden=move || step.get() == 0
                    prop:disabled=busy on:click={let go = go.clone(); move |_| go(step.get_untracked().saturating_sub(1))}>
                    {move || lang.get().text().back}
                </button>
                <button type="button" class="primary" prop:hidden={move || step.get() >= steps}
                    on:click=move |_| go(step.get_untracked() + 1)>
                    {move || lang.get().text().next}
                </button>
                <button type="button" class="primary" id="submit" prop:hidden=move || step.get() != steps
                    prop:disabled=busy on:click=move |_| submit.run(false)>
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
fn display_value(profile: &PageProfile, field: &Field, value: &str, l: Lang) -> String {
    use cluebox_protocol::profile::Profile;
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
            let attached = files::state().1;
            let locale = lang.get_untracked().tag().to_owned();
            let sealing_code = code.clone();
            let answer = sealer::call(|id| ToWorker::SealReport {
                id,
                code: sealing_code,
                locale,
                region,
                sections,
                files: attached.clone(),
            })
            .await;
            match answer {
                FromWorker::Sealed { body, .. } => {
                    let p = Prepared {
                        code,
                        body,
                        files: attached,
                    };
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
            // Until the connection returns, however long that takes: offline, wait for the
            // browser's `online` event (checking every 30 s too); online, back off.
            e if e.retryable() => {
                let wait = form::backoff_seconds(attempt);
                attempt += 1;
                if !platform::online() {
                    stage.set(Stage::Waiting {
                        seconds: 0,
                        attempt,
                    });
                    platform::online_or_sleep(30_000).await;
                    continue;
                }
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

/// Asks once before a report with nothing in it is sent.
#[component]
fn ConfirmEmpty(
    lang: RwSignal<Lang>,
    stage: RwSignal<Stage>,
    submit: Callback<bool>,
) -> impl IntoView {
    move || {
        matches!(stage.get(), Stage::ConfirmEmpty).then(|| {
            let t = lang.get().text();
            view! {
                <div class="confirm" id="confirm-empty" role="alertdialog" aria-labelledby="confirm-empty-title">
                    <h2 id="confirm-empty-title" tabindex="-1">{t.empty_title}</h2>
                    <p>{t.empty_body}</p>
                    <div class="nav">
                        <button type="button" class="secondary" id="empty-back"
                            on:click=move |_| stage.set(Stage::Editing)>{t.empty_back}</button>
                        <button type="button" class="primary" id="empty-submit"
                            on:click=move |_| { stage.set(Stage::Editing); submit.run(true) }>{t.empty_submit}</button>
                    </div>
                </div>
            }
        })
    }
}

/// A files field: an empty slot that the picker (its own bundle, loaded with this step) fills
/// with the field's label, hint and pickers.
fn files_field(section: &Section, field: &Field) -> impl IntoView + use<> {
    view! { <div class="field files files-slot" data-section=section.id.clone() data-field=field.id.clone()></div> }
}
