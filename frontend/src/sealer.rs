//! The page's side of the crypto worker (`sealer/`): starts it in the background and turns each
//! request into a future of its answer. Messages are postcard bytes
//! ([`cluebox_protocol::worker`]).
//!
//! The worker's files are not on the form's critical path: they load while the reporter reads
//! the first step, and Argon2, sealing and the API calls run there, never blocking the page.
//! Its configuration (keys, Argon2 settings) comes from the page itself
//! (`<meta name="cluebox-worker">`), sent as the first message once the worker has started;
//! requests made before the worker has taken it wait in a queue, so "ready" means ready.

use std::cell::RefCell;
use std::collections::HashMap;

use cluebox_protocol::worker::{self, FromWorker, ToWorker};
use wasm_bindgen::JsCast as _;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// The worker's loader (a fixed name; it names the worker's hashed files). The files picker's
/// build starts the worker built with evidence files (`cluebox-sealer` with its `files` feature,
/// renamed by `build_portal`); the pages start the one without.
#[cfg(not(feature = "files"))]
const LOADER: &str = "/cluebox-sealer_loader.js";
#[cfg(feature = "files")]
const LOADER: &str = "/cluebox-sealer-files_loader.js";
/// The id of the configuration message (requests count from 1).
const CONFIGURE_ID: u32 = 0;

#[derive(Default)]
struct Client {
    worker: Option<web_sys::Worker>,
    ready: bool,
    failed: bool,
    queue: Vec<JsValue>,
    pending: HashMap<u32, js_sys::Function>,
    /// Progress of evidence files, by request id (the files picker's build only).
    #[cfg(feature = "files")]
    progress: HashMap<u32, std::rc::Rc<dyn Fn(FromWorker)>>,
    next_id: u32,
}

thread_local! {
    static CLIENT: RefCell<Client> = RefCell::new(Client::default());
}

fn post(worker: &web_sys::Worker, message: &JsValue) {
    let _ = worker.post_message(message);
}

fn send(message: JsValue) {
    CLIENT.with_borrow_mut(|c| match (&c.worker, c.ready) {
        (Some(worker), true) => post(worker, &message),
        _ => c.queue.push(message),
    });
}

fn fail_all(message: &str) {
    let pending: Vec<(u32, js_sys::Function)> = CLIENT.with_borrow_mut(|c| {
        c.failed = true;
        c.pending.drain().collect()
    });
    for (id, resolve) in pending {
        let answer = FromWorker::Failed {
            id,
            message: message.to_owned(),
        };
        let bytes = js_sys::Uint8Array::from(worker::encode(&answer).as_slice());
        let _ = resolve.call1(&JsValue::NULL, &bytes);
    }
}

/// Starts the worker (once).
pub fn start() {
    if CLIENT.with_borrow(|c| c.worker.is_some()) {
        return;
    }
    let Ok(worker) = web_sys::Worker::new(LOADER) else {
        return fail_all("the encryption module could not start");
    };
    let on_message =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(|event: web_sys::MessageEvent| {
            let data = event.data();
            let bytes = js_sys::Uint8Array::new(&data).to_vec();
            let Some(answer) = worker::decode::<FromWorker>(&bytes) else {
                return;
            };
            let Some(id) = answer.id() else {
                // Started: the configuration goes first.
                let config =
                    crate::platform::meta_content(cluebox_protocol::page::WORKER_META_NAME)
                        .unwrap_or_default();
                let request = ToWorker::Configure {
                    id: CONFIGURE_ID,
                    config,
                };
                if let Some(worker) = CLIENT.with_borrow(|c| c.worker.clone()) {
                    post(
                        &worker,
                        &js_sys::Uint8Array::from(worker::encode(&request).as_slice()),
                    );
                }
                return;
            };
            if id == CONFIGURE_ID {
                if !matches!(answer, FromWorker::Configured { .. }) {
                    return fail_all("the encryption module could not start");
                }
                // Configured: send what was queued.
                let (queued, worker) = CLIENT.with_borrow_mut(|c| {
                    c.ready = true;
                    (std::mem::take(&mut c.queue), c.worker.clone())
                });
                if let Some(worker) = worker {
                    queued.iter().for_each(|message| post(&worker, message));
                }
                // A visible state, for people debugging and for the browser tests.
                let root = web_sys::window()
                    .and_then(|w| w.document())
                    .and_then(|d| d.document_element());
                if let Some(root) = root {
                    let _ = root.set_attribute("data-sealer", "ready");
                }
                return;
            }
            #[cfg(feature = "files")]
            {
                if matches!(answer, FromWorker::FileProgress { .. }) {
                    if let Some(on) = CLIENT.with_borrow(|c| c.progress.get(&id).cloned()) {
                        on(answer);
                    }
                    return;
                }
                CLIENT.with_borrow_mut(|c| c.progress.remove(&id));
            }
            if let Some(resolve) = CLIENT.with_borrow_mut(|c| c.pending.remove(&id)) {
                let _ = resolve.call1(&JsValue::NULL, &data);
            }
        });
    let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(|_event: web_sys::Event| {
        fail_all("the encryption module could not start");
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    on_message.forget();
    on_error.forget();
    CLIENT.with_borrow_mut(|c| c.worker = Some(worker));
}

/// Sends a request (built from a fresh id) and waits for its answer.
pub async fn call(make: impl FnOnce(u32) -> ToWorker) -> FromWorker {
    exchange(make, None, |_| {}).await
}

/// Sends a request with a file (`ToWorker::AddFile`), telling `on_progress` how it goes, and
/// waits for its final answer (the files picker's build only).
#[cfg(feature = "files")]
pub async fn call_with_file(
    make: impl FnOnce(u32) -> ToWorker,
    file: web_sys::File,
    on_progress: impl Fn(FromWorker) + 'static,
) -> FromWorker {
    let on: std::rc::Rc<dyn Fn(FromWorker)> = std::rc::Rc::new(on_progress);
    exchange(make, Some(file.into()), move |id| {
        CLIENT.with_borrow_mut(|c| {
            c.progress.insert(id, on);
        })
    })
    .await
}

async fn exchange(
    make: impl FnOnce(u32) -> ToWorker,
    file: Option<JsValue>,
    register: impl FnOnce(u32),
) -> FromWorker {
    let (id, failed) = CLIENT.with_borrow_mut(|c| {
        c.next_id += 1;
        (c.next_id, c.failed)
    });
    let failure = |message: &str| FromWorker::Failed {
        id,
        message: message.to_owned(),
    };
    if failed {
        return failure("the encryption module could not start");
    }
    register(id);
    let bytes: JsValue = js_sys::Uint8Array::from(worker::encode(&make(id)).as_slice()).into();
    let message = match file {
        Some(file) => js_sys::Array::of2(&bytes, &file).into(),
        None => bytes,
    };
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        CLIENT.with_borrow_mut(|c| {
            c.pending.insert(id, resolve);
        });
    });
    send(message);
    match JsFuture::from(promise).await {
        Ok(data) => worker::decode(&js_sys::Uint8Array::new(&data).to_vec())
            .unwrap_or_else(|| failure("unreadable answer")),
        Err(_) => failure("no answer"),
    }
}
