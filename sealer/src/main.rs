//! The worker's entry point: Trunk builds it as a dedicated Web Worker (`data-type="worker"`).
//! It answers each message (a [`cluebox_protocol::worker::ToWorker`] as JSON text) with one
//! [`cluebox_protocol::worker::FromWorker`].

#[cfg(target_arch = "wasm32")]
fn main() {
    use std::cell::RefCell;

    use cluebox_protocol::worker::{FromWorker, ToWorker};
    use wasm_bindgen::JsCast as _;
    use wasm_bindgen::prelude::*;

    let scope: web_sys::DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let post = {
        let scope = scope.clone();
        move |answer: &FromWorker| {
            if let Ok(text) = serde_json::to_string(answer) {
                let _ = scope.post_message(&JsValue::from_str(&text));
            }
        }
    };
    let sealer = RefCell::new(cluebox_sealer::Sealer::default());
    let post_answer = post.clone();
    let on_message =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            let Some(text) = event.data().as_string() else {
                return;
            };
            let Ok(request) = serde_json::from_str::<ToWorker>(&text) else {
                return;
            };
            if let Some(answer) = sealer.borrow_mut().handle(request) {
                post_answer(&answer);
            }
        });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    post(&FromWorker::Ready);
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    // The worker only runs in a browser; natively, `cargo test` exercises the library.
}
