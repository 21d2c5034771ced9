//! One form field, rendered from its profile definition: a labelled input with the right
//! keyboard (`inputmode`), `autocomplete`, hint and error tied to it for screen readers.
//!
//! A problem shows once the reporter leaves the field (or tries to move on), never on the
//! first keystroke of an ID number that is not finished yet; once shown it follows each key.

use cluebox_protocol::profile::{Choice, Field, FieldKind, Section};

use cluebox_protocol::page::PageProfile;
use leptos::prelude::*;

use crate::form::{self, Answers};
use crate::i18n::Lang;
use crate::validate;

/// `inputmode` and `autocomplete` for a field: every field sets both. Autocomplete is always
/// off: a browser that fills in the reporter's own name, number or address (or offers them on
/// a shared phone) defeats an anonymous report, and would remember what was typed.
fn input_hints(_section: &Section, field: &Field) -> (&'static str, &'static str) {
    match field.kind {
        FieldKind::Mobile => ("tel", "off"),
        _ => ("text", "off"),
    }
}

/// A field of `section`, bound to `answers`.
#[component]
pub fn FieldInput(
    /// The hotline profile.
    profile: StoredValue<PageProfile>,
    /// The section the field belongs to.
    section: Section,
    /// The field.
    field: Field,
    /// All answers of the form.
    answers: RwSignal<Answers>,
    /// The interface language.
    lang: RwSignal<Lang>,
    /// Show every problem now (the reporter tried to move on).
    show_errors: RwSignal<bool>,
) -> impl IntoView {
    let touched = RwSignal::new(false);
    let key = form::key(&section.id, &field.id);
    let id = ["f-", &section.id, "-", &field.id].concat();
    let hint_id = [id.as_str(), "-hint"].concat();
    let err_id = [id.as_str(), "-err"].concat();
    let (inputmode, autocomplete) = input_hints(&section, &field);

    let visible = {
        let (section, field) = (section.clone(), field.clone());
        Memo::new(move |_| answers.with(|a| form::visible(&section, &field, a)))
    };
    let value = {
        let key = key.clone();
        move || answers.with(|a| a.get(&key).cloned().unwrap_or_default())
    };
    let set = {
        let key = key.clone();
        move |v: String| {
            answers.update(|a| {
                a.insert(key.clone(), v);
            })
        }
    };
    let problem = {
        let (field, value) = (field.clone(), value.clone());
        let checked =
            Memo::new(move |_| validate::field_problem(&field, &value(), lang.get().text()));
        Memo::new(move |_| {
            if touched.get() || show_errors.get() {
                checked.get()
            } else {
                None
            }
        })
    };
    let describedby = {
        let (hint_id, err_id, has_hint) = (hint_id.clone(), err_id.clone(), field.hint.is_some());
        move || {
            let mut ids = Vec::new();
            if has_hint {
                ids.push(hint_id.clone());
            }
            if problem.with(Option::is_some) {
                ids.push(err_id.clone());
            }
            ids.join(" ")
        }
    };
    let label_text = {
        let label = field.label.clone();
        move || lang.get().pick(&label).to_owned()
    };
    let hint = field.hint.clone().map(|hint| {
        let hint_id = hint_id.clone();
        view! { <p class="hint" id=hint_id>{move || lang.get().pick(&hint).to_owned()}</p> }
    });

    let options: Option<Vec<Choice>> = match &field.kind {
        FieldKind::Category => Some(profile.with_value(|p| p.categories.clone())),
        FieldKind::Region => Some(profile.with_value(|p| p.regions.clone())),
        FieldKind::Choice => Some(field.options.clone()),
        _ => None,
    };
    let is_choice = field.kind == FieldKind::Choice;
    let control = match options {
        // A fixed choice (anonymous / real name): radio buttons, large tap targets.
        Some(options) if is_choice => {
            let name = id.clone();
            options
                .into_iter()
                .enumerate()
                .map(|(i, option)| {
                    let option_id = [name.as_str(), "-", &i.to_string()].concat();
                    let (checked_value, chosen) = (option.id.clone(), option.id.clone());
                    let value = value.clone();
                    let set = set.clone();
                    let label = option.label.clone();
                    let label_for = option_id.clone();
                    view! {
                        <label class="radio" for=label_for>
                            <input type="radio" id=option_id name=name.clone() value=option.id.clone() autocomplete="off"
                                prop:checked=move || value() == checked_value
                                on:change=move |_| set(chosen.clone()) />
                            <span>{move || lang.get().pick(&label).to_owned()}</span>
                        </label>
                    }
                })
                .collect_view()
                .into_any()
        }
        // Categories and regions: a list to pick from, with "none" meaning unclear.
        Some(options) => {
            let set = set.clone();
            view! {
                <select id=id.clone() autocomplete=autocomplete
                    aria-describedby=describedby.clone()
                    prop:value=value.clone()
                    on:change=move |ev| set(event_target_value(&ev))>
                    <option value="">{move || lang.get().text().choose}</option>
                    {options.into_iter().map(|o| {
                        let label = o.label.clone();
                        view! { <option value=o.id.clone()>{move || lang.get().pick(&label).to_owned()}</option> }
                    }).collect_view()}
                </select>
            }
            .into_any()
        }
        None if matches!(field.kind, FieldKind::LongText) => {
            let set = set.clone();
            view! {
                <textarea id=id.clone() rows="5" inputmode=inputmode autocomplete=autocomplete
                    aria-describedby=describedby.clone()
                    aria-invalid=move || problem.with(Option::is_some).to_string()
                    prop:value=value.clone()
                    on:blur=move |_| touched.set(true)
                    on:input=move |ev| set(event_target_value(&ev))></textarea>
            }
            .into_any()
        }
        None => {
            let set = set.clone();
            view! {
                <input type="text" id=id.clone() inputmode=inputmode autocomplete=autocomplete
                    aria-describedby=describedby.clone()
                    aria-invalid=move || problem.with(Option::is_some).to_string()
                    prop:value=value.clone()
                    on:blur=move |_| touched.set(true)
                    on:input=move |ev| set(event_target_value(&ev)) />
            }
            .into_any()
        }
    };

    let label = if is_choice {
        view! { <legend>{label_text}</legend> }.into_any()
    } else {
        view! { <label for=id.clone()>{label_text}</label> }.into_any()
    };
    view! {
        <fieldset class="field" prop:hidden=move || !visible.get()>
            {label}
            {hint}
            <div class="control">{control}</div>
            <p class="error" id=err_id role="alert">{move || problem.get()}</p>
        </fieldset>
    }
}
