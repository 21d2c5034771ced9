//! The evidence files field: the camera or the album on a phone, any file on a computer. Each
//! file goes to the crypto worker at once, which removes location and device metadata, seals it
//! and uploads it in pieces; the field shows each file's name, size, a thumbnail for images, the
//! upload's progress, what was removed (or that nothing could be), and a remove button. Files
//! over the profile's limit are refused here, before a byte is read or sent.
//!
//! This is its own small bundle (`cluebox-files`, feature `files`), which the form loads only
//! when it shows a files field, so the form's first load stays within its weight budget. The
//! form draws an empty `<div class="files-slot" data-section data-field>` for each files field;
//! `mount_all` (in the feature's build) fills each with the field's label and hint from the
//! page's profile and the pickers (constant markup in both languages, the page's shown), brings
//! `/files.css` and starts its own crypto worker. It tells the form how things stand through two
//! attributes of `<html>`, which is all the form reads when it seals the report ([`state`]).

/// What the form's files fields hold, as the picker left it on `<html>`: whether a file is
/// still on its way, and the stored files by field (text the form hands to its worker as it is,
/// [`cluebox_protocol::evidence::fields_to_text`]). The form reads only these two attributes.
pub fn state() -> (bool, String) {
    let root = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element());
    let attr = |name: &str| {
        root.as_ref()
            .and_then(|r| r.get_attribute(name))
            .unwrap_or_default()
    };
    (
        !matches!(attr("data-files-busy").as_str(), "" | "0"),
        attr("data-files"),
    )
}

#[cfg(feature = "files")]
pub use picker::mount_all;

/// The picker itself: only in the `cluebox-files` build (feature `files`).
#[cfg(feature = "files")]
mod picker {
    use cluebox_protocol::evidence::{Cleaning, FileRef, Removal};
    use cluebox_protocol::page::PageProfile;
    use cluebox_protocol::profile::{FieldKind, Localized};
    use cluebox_protocol::worker::{FromWorker, ToWorker};
    use wasm_bindgen::JsCast as _;
    use wasm_bindgen::prelude::Closure;

    use crate::i18n::{Lang, fill};
    use crate::sealer;

    /// Where an attached file stands.
    #[derive(Debug, Clone, PartialEq)]
    pub(crate) enum FileStage {
        /// Being cleaned, sealed and uploaded: sealed bytes stored so far, of how many.
        Sending {
            /// Stored by the server.
            done: u64,
            /// In all.
            total: u64,
            /// Waiting for the connection.
            waiting: bool,
        },
        /// Stored by the server, with what was removed.
        Ready(Cleaning),
        /// Refused or failed, in words.
        Failed(String),
    }

    /// A file attached. Plain state: each row is updated where it is.
    struct Attached {
        /// The worker's number for it (a new one each time it is sent again).
        number: u32,
        /// The slot of its field, and its row there.
        slot: web_sys::Element,
        row: web_sys::Element,
        /// The page's file, kept to seal it again for another region.
        file: web_sys::File,
        /// The region it is sealed for (its office's key, besides the national ones).
        region: Option<String>,
        stage: FileStage,
        /// How the report names it once stored.
        reference: Option<FileRef>,
    }

    type Files = Vec<Attached>;

    thread_local! {
        static FILES: std::cell::RefCell<Files> = const { std::cell::RefCell::new(Vec::new()) };
    }

    /// Writes the state of every files field where the form reads it (`<html>`'s attributes, see
    /// [`state`]): how many files are on their way, and the stored ones by field.
    fn publish() {
        let (busy, text) = FILES.with_borrow(|files| {
            let busy = files
                .iter()
                .filter(|f| matches!(f.stage, FileStage::Sending { .. }))
                .count();
            let mut fields: Vec<(String, String, Vec<FileRef>)> = Vec::new();
            for f in files {
                let Some(reference) = &f.reference else {
                    continue;
                };
                let attr = |name: &str| f.slot.get_attribute(name).unwrap_or_default();
                let (section, field) = (attr("data-section"), attr("data-field"));
                match fields.iter_mut().find(|f| f.0 == section && f.1 == field) {
                    Some(entry) => entry.2.push(reference.clone()),
                    None => fields.push((section, field, vec![reference.clone()])),
                }
            }
            (busy, cluebox_protocol::evidence::fields_to_text(&fields))
        });
        if let Some(root) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
        {
            let _ = root.set_attribute("data-files-busy", &busy.to_string());
            let _ = root.set_attribute("data-files", &text);
        }
    }

    /// Forgets the files of `slot` once they are filed (the status page sends a follow-up with
    /// them, then says so with a `cluebox-files-filed` event): their rows go, their uploads stay.
    fn forget(slot: &web_sys::Element) {
        FILES.with_borrow_mut(|files| files.retain(|f| !f.slot.is_same_node(Some(slot))));
        if let Some(list) = find(slot, ".files-list") {
            list.set_inner_html("");
        }
        publish();
    }

    /// Records where the file sent as `number` stands and shows it in its row; `false` (and
    /// nothing shown) when that file is no longer sent as `number` (removed, or sent again for
    /// another region).
    fn set_stage(number: u32, stage: FileStage, reference: Option<FileRef>) -> bool {
        let row = FILES.with_borrow_mut(|files| {
            let entry = files.iter_mut().find(|f| f.number == number)?;
            show(&entry.row, lang(), &stage);
            entry.stage = stage;
            entry.reference = reference;
            Some(entry.row.clone())
        });
        publish();
        row.is_some()
    }

    /// The next number for the worker.
    fn next_number() -> u32 {
        thread_local! {
            static LAST: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
        }
        LAST.with(|last| {
            last.set(last.get() + 1);
            last.get()
        })
    }

    /// After the form's region changed: every file sealed for other offices than this region's
    /// is sealed and sent again for them (the old upload is deleted), so that the region's
    /// office can open it as it opens the report; the slot says so.
    fn region_changed() {
        let Some(profile) = crate::platform::page_profile() else {
            return;
        };
        let region = region(&profile);
        // Only where the offices differ (a deployment may have no regional keys at all).
        let recipients = crate::platform::meta_content(cluebox_protocol::page::WORKER_META_NAME)
            .and_then(|text| cluebox_protocol::page::WorkerConfig::decode(&text).ok())
            .map(|config| config.recipients);
        let offices = |region: Option<&str>| {
            recipients
                .as_ref()
                .map(|r| r.for_region(region))
                .unwrap_or_default()
        };
        let now = offices(region.as_deref());
        let again: Vec<(u32, u32, web_sys::File, web_sys::Element, web_sys::Element)> = FILES
            .with_borrow_mut(|files| {
                files
                    .iter_mut()
                    .filter(|f| f.region != region)
                    .filter_map(|f| {
                        if offices(f.region.as_deref()) == now {
                            // The same offices: sealed as it should be.
                            f.region = region.clone();
                            None
                        } else {
                            Some(f)
                        }
                    })
                    .map(|f| {
                        let old = f.number;
                        f.number = next_number();
                        f.region = region.clone();
                        f.reference = None;
                        f.stage = FileStage::Sending {
                            done: 0,
                            total: 0,
                            waiting: false,
                        };
                        (old, f.number, f.file.clone(), f.row.clone(), f.slot.clone())
                    })
                    .collect()
            });
        if again.is_empty() {
            return;
        }
        publish();
        let t = lang().files();
        for (old, number, file, row, slot) in again {
            let _ = row.remove_attribute("data-t0");
            let _ = row.remove_attribute("data-d0");
            if let Some(bar) = find(&row, "progress") {
                let _ = bar.remove_attribute("hidden");
            }
            if let Some(note) = find(&slot, ".error") {
                note.set_text_content(Some(t.region_changed));
            }
            wasm_bindgen_futures::spawn_local(async move {
                let _ = sealer::call(|id| ToWorker::DropFile { id, file: old }).await;
            });
            send(file, number, row, region.clone());
        }
    }

    /// Bytes in words: `2.4 MB`.
    pub(crate) fn size_text(bytes: u64) -> String {
        const UNITS: [&str; 4] = ["B", "KB", "MB", "GB"];
        let mut value = bytes as f64;
        let mut unit = 0;
        while value >= 1000.0 && unit < UNITS.len() - 1 {
            value /= 1000.0;
            unit += 1;
        }
        if unit == 0 {
            [bytes.to_string().as_str(), " B"].concat()
        } else {
            let tenths = (value * 10.0).round() as u64;
            [
                (tenths / 10).to_string().as_str(),
                ".",
                (tenths % 10).to_string().as_str(),
                " ",
                UNITS[unit],
            ]
            .concat()
        }
    }

    fn cleaning_text(lang: Lang, cleaning: &Cleaning) -> String {
        let t = lang.files();
        match cleaning {
            Cleaning::Cleaned(removed) if removed.is_empty() => t.nothing.to_owned(),
            Cleaning::Cleaned(removed) => {
                let what: Vec<&str> = removed
                    .iter()
                    .map(|r| {
                        t.removals[match r {
                            Removal::Location => 0,
                            Removal::Device => 1,
                            Removal::Time => 2,
                            Removal::Author => 3,
                            Removal::Text => 4,
                            Removal::Thumbnail => 5,
                            Removal::Other => 6,
                        }]
                    })
                    .collect();
                fill(t.cleaned, &[("what", &what.join(t.separator))])
            }
            Cleaning::NotCleaned => t.not_cleaned.to_owned(),
        }
    }

    /// Listens for `event` on `target` for the page's life.
    fn listen(target: &web_sys::EventTarget, event: &str, f: impl FnMut(web_sys::Event) + 'static) {
        let closure = Closure::<dyn FnMut(web_sys::Event)>::new(f);
        let _ = target.add_event_listener_with_callback(event, closure.as_ref().unchecked_ref());
        closure.forget();
    }

    fn find(root: &web_sys::Element, css: &str) -> Option<web_sys::Element> {
        root.query_selector(css).ok().flatten()
    }

    fn set_text(root: &web_sys::Element, css: &str, text: &str) {
        if let Some(el) = find(root, css) {
            el.set_text_content(Some(text));
        }
    }

    /// Seconds left at the rate since the row's first progress (kept on the row), once there
    /// are two seconds to judge by.
    fn time_left(row: &web_sys::Element, done: u64, total: u64) -> Option<u64> {
        let now = js_sys::Date::now();
        let mark = |name: &str, value: f64| {
            row.get_attribute(name)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or_else(|| {
                    let _ = row.set_attribute(name, &value.to_string());
                    value
                })
        };
        let (t0, d0) = (mark("data-t0", now), mark("data-d0", done as f64));
        let elapsed = (now - t0) / 1000.0;
        let rate = (done as f64 - d0) / elapsed;
        (elapsed >= 2.0 && rate > 0.0).then(|| ((total - done.min(total)) as f64 / rate) as u64)
    }

    /// What a file's row says now.
    fn show(row: &web_sys::Element, lang: Lang, stage: &FileStage) {
        let t = lang.files();
        let (line, class) = match stage {
            FileStage::Sending { waiting: true, .. } => (t.waiting.to_owned(), "file sending"),
            FileStage::Sending { done, total, .. } => {
                let p = (done * 100).checked_div(*total).unwrap_or(0);
                if let Some(bar) = find(row, "progress") {
                    let _ = bar.set_attribute("max", &(*total).max(1).to_string());
                    let _ = bar.set_attribute("value", &done.to_string());
                }
                let mut line = fill(
                    t.sending,
                    &[
                        ("p", &p.to_string()),
                        ("done", &size_text(*done)),
                        ("total", &size_text(*total)),
                    ],
                );
                if let Some(seconds) = time_left(row, *done, *total) {
                    let t_left = if seconds < 60 {
                        fill(t.seconds, &[("n", &seconds.max(1).to_string())])
                    } else {
                        fill(t.minutes, &[("n", &seconds.div_ceil(60).to_string())])
                    };
                    line.push_str(&fill(t.left, &[("t", &t_left)]));
                }
                (line, "file sending")
            }
            FileStage::Ready(cleaning) => (
                cleaning_text(lang, cleaning),
                if *cleaning == Cleaning::NotCleaned {
                    "file warn stored"
                } else {
                    "file ready stored"
                },
            ),
            FileStage::Failed(msg) => (fill(t.failed, &[("msg", msg)]), "file warn failed"),
        };
        set_text(row, ".what", &line);
        let _ = row.set_attribute("class", class);
    }

    /// The page's language (the form sets `<html lang>`).
    fn lang() -> Lang {
        let tag = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
            .and_then(|e| e.get_attribute("lang"))
            .unwrap_or_default();
        if tag.starts_with("en") {
            Lang::En
        } else {
            Lang::Zh
        }
    }

    /// Sends one file to the worker and follows it in its row.
    fn send(file: web_sys::File, number: u32, row: web_sys::Element, region: Option<String>) {
        wasm_bindgen_futures::spawn_local(async move {
            let answer = sealer::call_with_file(
                |id| ToWorker::AddFile {
                    id,
                    file: number,
                    region,
                },
                file,
                move |progress| {
                    if let FromWorker::FileProgress {
                        done,
                        total,
                        waiting,
                        ..
                    } = progress
                    {
                        set_stage(
                            number,
                            FileStage::Sending {
                                done,
                                total,
                                waiting,
                            },
                            None,
                        );
                    }
                },
            )
            .await;
            let (now, reference) = match answer {
                FromWorker::FileReady {
                    cleaning,
                    reference,
                    ..
                } => (FileStage::Ready(cleaning), Some(reference)),
                FromWorker::Http {
                    message,
                    code,
                    status,
                    ..
                } if message.is_empty() => (
                    FileStage::Failed([code.as_str(), " ", &status.to_string()].concat()),
                    None,
                ),
                FromWorker::Http { message, .. } | FromWorker::Failed { message, .. } => {
                    (FileStage::Failed(message), None)
                }
                _ => (FileStage::Failed(String::new()), None),
            };
            if set_stage(number, now, reference)
                && let Some(bar) = find(&row, "progress")
            {
                let _ = bar.set_attribute("hidden", "");
            }
        });
    }

    /// The region chosen so far in the form (files are sealed to its office too, as the report is).
    fn region(profile: &PageProfile) -> Option<String> {
        let document = web_sys::window()?.document()?;
        profile.sections.iter().find_map(|section| {
            let field = section
                .fields
                .iter()
                .find(|f| f.kind == FieldKind::Region)?;
            let id = ["f-", &section.id, "-", &field.id].concat();
            let select = document
                .get_element_by_id(&id)?
                .dyn_into::<web_sys::HtmlSelectElement>()
                .ok()?;
            Some(select.value()).filter(|v| !v.is_empty())
        })
    }

    /// Adds the files of `input` to `slot`'s field.
    fn add(slot: &web_sys::Element, input: &web_sys::HtmlInputElement) {
        let Some(files) = input.files() else {
            return;
        };
        let Some(profile) = crate::platform::page_profile() else {
            return;
        };
        let (max_bytes, max_files) = (
            profile.evidence.max_file_bytes,
            profile.evidence.max_files as usize,
        );
        let region = region(&profile);
        let t = lang().files();
        let mut notes = Vec::new();
        for i in 0..files.length() {
            let Some(file) = files.get(i) else { continue };
            let size = file.size() as u64;
            if size > max_bytes {
                notes.push(fill(
                    t.too_large,
                    &[("name", &file.name()), ("max", &size_text(max_bytes))],
                ));
                continue;
            }
            if FILES.with_borrow(Vec::len) >= max_files {
                notes.push(fill(t.too_many, &[("n", &max_files.to_string())]));
                break;
            }
            let number = next_number();
            let Some(row) = row(slot, &file) else {
                continue;
            };
            FILES.with_borrow_mut(|files| {
                files.push(Attached {
                    number,
                    slot: slot.clone(),
                    row: row.clone(),
                    file: file.clone(),
                    region: region.clone(),
                    stage: FileStage::Sending {
                        done: 0,
                        total: 0,
                        waiting: false,
                    },
                    reference: None,
                });
            });
            publish();
            send(file, number, row, region.clone());
        }
        if let Some(problem) = find(slot, ".error") {
            problem.set_text_content(Some(&notes.join(" ")));
        }
        // The same file may be chosen again after it was removed.
        input.set_value("");
    }

    /// A new row for `file` in the slot's list, from the page's template.
    fn row(slot: &web_sys::Element, file: &web_sys::File) -> Option<web_sys::Element> {
        let list = find(slot, ".files-list")?;
        let row = web_sys::window()?.document()?.create_element("li").ok()?;
        row.set_inner_html(ROW);
        list.append_child(&row).ok()?;
        set_text(&row, ".name", &file.name());
        set_text(&row, ".size", &size_text(file.size() as u64));
        let thumb = file
            .type_()
            .starts_with("image/")
            .then(|| web_sys::Url::create_object_url_with_blob(file).ok())
            .flatten();
        if let (Some(url), Some(img)) = (&thumb, find(&row, "img")) {
            let _ = img.set_attribute("src", url);
            let _ = img.remove_attribute("hidden");
        }
        show(
            &row,
            lang(),
            &FileStage::Sending {
                done: 0,
                total: 0,
                waiting: false,
            },
        );
        if let Some(button) = find(&row, ".remove") {
            let _ = button.set_attribute(
                "aria-label",
                &[lang().files().remove, " ", &file.name()].concat(),
            );
            let row_now = row.clone();
            listen(&button, "click", move |_| {
                let number = FILES.with_borrow_mut(|files| {
                    let at = files
                        .iter()
                        .position(|f| f.row.is_same_node(Some(&row_now)))?;
                    Some(files.remove(at).number)
                });
                publish();
                row_now.remove();
                if let Some(url) = &thumb {
                    let _ = web_sys::Url::revoke_object_url(url);
                }
                if let Some(number) = number {
                    wasm_bindgen_futures::spawn_local(async move {
                        let _ = sealer::call(|id| ToWorker::DropFile { id, file: number }).await;
                    });
                }
            });
        }
        Some(row)
    }

    /// The pickers (inputs inside their labels: the camera, or the album and any file), in both
    /// languages (the stylesheet shows the page's).
    const PICKERS: &str = concat!(
        "<div class=\"pick\"><label class=\"button\"><input type=\"file\" autocomplete=\"off\" accept=\"image/*,video/*\" ",
        "capture=\"environment\" class=\"visually-hidden\"><span class=\"i18n\" lang=\"zh-CN\">拍照或录像</span>",
        "<span class=\"i18n\" lang=\"en\">Take a photo or video</span></label><label class=\"button\">",
        "<input type=\"file\" autocomplete=\"off\" multiple class=\"visually-hidden\"><span class=\"i18n\" lang=\"zh-CN\">选择文件</span>",
        "<span class=\"i18n\" lang=\"en\">Choose files</span></label></div><ul class=\"files-list\"></ul>",
        "<p class=\"error\" role=\"alert\"></p>",
    );

    /// One file's row; its texts are set with `textContent`.
    const ROW: &str = concat!(
        "<img hidden alt=\"\" width=\"48\" height=\"48\"><span class=\"name\"></span><span class=\"size\"></span>",
        "<progress max=\"1\" value=\"0\"></progress><span class=\"what\" role=\"status\"></span>",
        "<button type=\"button\" class=\"remove\"><span class=\"i18n\" lang=\"zh-CN\">移除</span>",
        "<span class=\"i18n\" lang=\"en\">Remove</span></button>",
    );

    /// A text in both languages, as spans the stylesheet picks from.
    fn both(
        document: &web_sys::Document,
        parent: &web_sys::Element,
        class: &str,
        text: &Localized,
    ) {
        let Ok(el) = document.create_element("p") else {
            return;
        };
        let _ = el.set_attribute("class", class);
        for (lang, words) in [("zh-CN", &text.zh), ("en", &text.en)] {
            if let Ok(span) = document.create_element("span") {
                let _ = span.set_attribute("class", "i18n");
                let _ = span.set_attribute("lang", lang);
                span.set_text_content(Some(words));
                let _ = el.append_child(&span);
            }
        }
        let _ = parent.append_child(&el);
    }

    /// Fills every empty files slot on the page with its label, hint and pickers (from the page's
    /// profile), brings the field's stylesheet and starts the crypto worker: the `cluebox-files`
    /// bundle's entry point.
    pub fn mount_all() {
        let Some(document) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        let (Ok(list), Some(profile)) = (
            document.query_selector_all(".files-slot"),
            crate::platform::page_profile(),
        ) else {
            return;
        };
        if let (Ok(link), Some(head)) = (document.create_element("link"), document.head()) {
            let _ = link.set_attribute("rel", "stylesheet");
            let _ = link.set_attribute("href", "/files.css");
            let _ = head.append_child(&link);
        }
        sealer::start();
        for i in 0..list.length() {
            let Some(slot) = list
                .get(i)
                .and_then(|n| n.dyn_into::<web_sys::Element>().ok())
            else {
                continue;
            };
            if slot.child_element_count() > 0 {
                continue;
            }
            let attr = |name: &str| slot.get_attribute(name).unwrap_or_default();
            let field = profile
                .sections
                .iter()
                .find(|s| s.id == attr("data-section"))
                .and_then(|s| s.fields.iter().find(|f| f.id == attr("data-field")));
            if let Some(field) = field {
                both(&document, &slot, "legend", &field.label);
                if let Some(hint) = &field.hint {
                    both(&document, &slot, "hint", hint);
                }
            }
            if let Ok(pickers) = document.create_element("div") {
                pickers.set_inner_html(PICKERS);
                let _ = slot.append_child(&pickers);
            }
            publish();
            if let Ok(inputs) = slot.query_selector_all("input[type=file]") {
                for j in 0..inputs.length() {
                    let Some(input) = inputs
                        .get(j)
                        .and_then(|n| n.dyn_into::<web_sys::HtmlInputElement>().ok())
                    else {
                        continue;
                    };
                    let (slot, target) = (slot.clone(), input.clone());
                    listen(&input, "change", move |_| add(&slot, &target));
                }
            }
            let filed = slot.clone();
            listen(&slot, "cluebox-files-filed", move |_| forget(&filed));
        }
        // The region may change after files are attached (the form's region select).
        thread_local! {
            static LISTENING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
        }
        if !LISTENING.with(|l| l.replace(true)) {
            listen(&document, "change", |event| {
                let is_region = event
                    .target()
                    .and_then(|t| t.dyn_into::<web_sys::HtmlSelectElement>().ok())
                    .is_some_and(|select| is_region_select(&select));
                if is_region {
                    region_changed();
                }
            });
        }
    }

    /// Whether `select` is the form's region field.
    fn is_region_select(select: &web_sys::HtmlSelectElement) -> bool {
        crate::platform::page_profile().is_some_and(|profile| {
            profile.sections.iter().any(|section| {
                section.fields.iter().any(|field| {
                    field.kind == FieldKind::Region
                        && select.id() == ["f-", &section.id, "-", &field.id].concat()
                })
            })
        })
    }
}
