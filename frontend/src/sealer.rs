//! The page's side of the crypto worker (`sealer/`): starts it in the background, hands it the
//! profile, and turns each request into a future of its answer.
//!
//! The worker's files are not on the form's critical path: they load while the reporter reads
//! the first step, and Argon2 and sealing run there, never blocking the page.

use std::cell::RefCell;
use std::collections::HashMap;

use cluebox_protocol::worker::{FromWorker, ToWorker};
use wasm_bindgen::JsCast as _;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// Where Trunk puts the worker's loader (workers are not content-hashed).
const LOADER: &str = "/cluebox-sealer_loader.js";

#[derive(Default)]
struct Client {
    worker: Option<web_sys::Worker>,
    ready: bool,
    failed: bool,
    queue: Vec<String>,
    pending: HashMap<u32, js_sys::Function>,
    next_id: u32,
}

thread_local! {
    static CLIENT: RefCell<Client> = RefCell::new(Client::default());
}

fn send(text: String) {
    CLIENT.with_borrow_mut(|c| match (&c.worker, c.ready) {
        (Some(worker), true) => {
            let _ = worker.post_message(&JsValue::from_str(&text));
        }
        _ => c.queue.push(text),
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
        if let Ok(text) = serde_json::to_string(&answer) {
            let _ = resolve.call1(&JsValue::NULL, &JsValue::from_str(&text));
        }
    }
}

/// Starts the worker (once) and gives it the profile document.
pub fn start(profile_json: &str) {
    if CLIENT.with_borrow(|c| c.worker.is_some()) {
        return;
    }
    let Ok(worker) = web_sys::Worker::new(LOADER) else {
        return fail_all("the encryption module could not start");
    };
    let on_message =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(|event: web_sys::MessageEvent| {
            let Some(text) = event.data().as_string() else {
                return;
            };
            let Ok(answer) = serde_json::from_str::<FromWorker>(&text) else {
                return;
            };
            let id = match answer {
                FromWorker::Ready => {
                    let queued = CLIENT.with_borrow_mut(|c| {
                        c.ready = true;
                        std::mem::take(&mut c.queue)
                    });
                    queued.into_iter().for_each(send);
                    // A visible state, for people debugging and for the browser tests.
                    let root = web_sys::window()
                        .and_then(|w| w.document())
                        .and_then(|d| d.document_element());
                    if let Some(root) = root {
                        let _ = root.set_attribute("data-sealer", "ready");
                    }
                    return;
                }
                FromWorker::Code { id, .. }
                | FromWorker::Report { id, .. }
                | FromWorker::Body { id, .. }
                | FromWorker::Case { id, .. }
                | FromWorker::Failed { id, .. } => id,
            };
            if let Some(resolve) = CLIENT.with_borrow_mut(|c| c.pending.remove(&id)) {
                let _ = resolve.call1(&JsValue::NULL, &JsValue::from_str(&text));
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
    if let Ok(init) = serde_json::to_string(&ToWorker::Init {
        profile_json: profile_json.to_owned(),
    }) {
        send(init);
    }
}

/// Sends a request (built from a fresh id) and waits for its answer.
pub async fn call(make: impl FnOnce(u32) -> ToWorker) -> FromWorker {
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
    let Ok(text) = serde_json::to_string(&make(id)) else {
        return failure("the request could not be encoded");
    };
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        CLIENT.with_borrow_mut(|c| {
            c.pending.insert(id, resolve);
        });
    });
    send(text);
    match JsFuture::from(promise)
        .await
        .ok()
        .and_then(|v| v.as_string())
    {
        Some(answer) => {
            serde_json::from_str(&answer).unwrap_or_else(|_| failure("unreadable answer"))
        }
        None => failure("no answer"),
    }
}
