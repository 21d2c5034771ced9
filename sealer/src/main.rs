//! The worker's entry point: Trunk builds it as a dedicated Web Worker (`data-type="worker"`),
//! twice: for the pages (no evidence files), and with feature `files` for the files picker.
//! Each message is a [`cluebox_protocol::worker::ToWorker`] in postcard bytes; each gets one
//! [`cluebox_protocol::worker::FromWorker`] back. HTTP goes through the worker's own `fetch`,
//! to this origin only, without cookies, referrer or cache.

#[cfg(target_arch = "wasm32")]
fn main() {
    use std::cell::RefCell;
    use std::rc::Rc;

    use cluebox_protocol::worker::{self, FromWorker, ToWorker};
    use wasm_bindgen::JsCast as _;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen_futures::{JsFuture, spawn_local};

    /// `fetch` from the worker's global scope.
    struct Fetch(web_sys::DedicatedWorkerGlobalScope);

    impl Fetch {
        /// One request to this origin, without cookies, referrer or cache: its status and text.
        async fn send(
            &self,
            method: &str,
            path: &str,
            headers: &[(&str, &str)],
            body: Option<&JsValue>,
        ) -> Result<(u16, String), ()> {
            let init = web_sys::RequestInit::new();
            init.set_method(method);
            init.set_credentials(web_sys::RequestCredentials::Omit);
            init.set_cache(web_sys::RequestCache::NoStore);
            init.set_referrer_policy(web_sys::ReferrerPolicy::NoReferrer);
            if let Some(body) = body {
                init.set_body(body);
            }
            if !headers.is_empty() {
                let set = web_sys::Headers::new().map_err(|_| ())?;
                for (name, value) in headers {
                    set.set(name, value).map_err(|_| ())?;
                }
                init.set_headers(&set);
            }
            let request = web_sys::Request::new_with_str_and_init(path, &init).map_err(|_| ())?;
            let response: web_sys::Response = JsFuture::from(self.0.fetch_with_request(&request))
                .await
                .map_err(|_| ())?
                .dyn_into()
                .map_err(|_| ())?;
            let text = JsFuture::from(response.text().map_err(|_| ())?)
                .await
                .map_err(|_| ())?
                .as_string()
                .unwrap_or_default();
            Ok((response.status(), text))
        }
    }

    impl cluebox_sealer::Transport for Fetch {
        async fn call(
            &self,
            method: &str,
            path: &str,
            body: Option<String>,
        ) -> Result<(u16, String), ()> {
            match body {
                Some(body) => {
                    let json = [("content-type", "application/json")];
                    self.send(method, path, &json, Some(&JsValue::from_str(&body)))
                        .await
                }
                None => self.send(method, path, &[], None).await,
            }
        }

        async fn put_piece(
            &self,
            path: &str,
            offset: u64,
            piece: &[u8],
        ) -> Result<(u16, String), ()> {
            let offset = offset.to_string();
            let headers = [
                ("content-type", "application/offset+octet-stream"),
                ("upload-offset", offset.as_str()),
            ];
            let body: JsValue = js_sys::Uint8Array::from(piece).into();
            self.send("PATCH", path, &headers, Some(&body)).await
        }

        async fn wait(&self) {
            // A few seconds, or less when the browser says it is back online.
            let promise = js_sys::Promise::new(&mut |resolve, _| {
                let _ = self
                    .0
                    .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 3000);
                let once = web_sys::AddEventListenerOptions::new();
                once.set_once(true);
                let _ = self
                    .0
                    .add_event_listener_with_callback_and_add_event_listener_options(
                        "online", &resolve, &once,
                    );
            });
            let _ = JsFuture::from(promise).await;
        }

        fn now_ms(&self) -> Option<f64> {
            Some(js_sys::Date::now())
        }

        async fn pause(&self) {
            // A zero timeout: messages waiting in the queue run first.
            let promise = js_sys::Promise::new(&mut |resolve, _| {
                let _ = self
                    .0
                    .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0);
            });
            let _ = JsFuture::from(promise).await;
        }
    }

    /// The page's `File`, read a slice at a time.
    #[cfg(feature = "files")]
    struct JsFile(web_sys::File);

    #[cfg(feature = "files")]
    impl cluebox_sealer::FileSource for JsFile {
        fn size(&self) -> u64 {
            self.0.size() as u64
        }

        fn name(&self) -> String {
            self.0.name()
        }

        fn media_type(&self) -> String {
            self.0.type_()
        }

        async fn read(&self, offset: u64, len: usize) -> Result<Vec<u8>, ()> {
            Ok(self.slice(offset, len).await?.to_vec())
        }

        async fn read_into(&self, offset: u64, len: usize, buf: &mut Vec<u8>) -> Result<(), ()> {
            let bytes = self.slice(offset, len).await?;
            buf.resize(bytes.length() as usize, 0);
            bytes.copy_to(buf);
            Ok(())
        }
    }

    #[cfg(feature = "files")]
    impl JsFile {
        /// `len` bytes from `offset` (fewer at the end), as the browser reads them.
        async fn slice(&self, offset: u64, len: usize) -> Result<js_sys::Uint8Array, ()> {
            let end = (offset + len as u64).min(self.0.size() as u64);
            let slice = self
                .0
                .slice_with_f64_and_f64(offset as f64, end as f64)
                .map_err(|_| ())?;
            let buffer = JsFuture::from(slice.array_buffer()).await.map_err(|_| ())?;
            Ok(js_sys::Uint8Array::new(&buffer))
        }
    }

    let scope: web_sys::DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let post = {
        let scope = scope.clone();
        move |answer: &FromWorker| {
            let bytes = js_sys::Uint8Array::from(worker::encode(answer).as_slice());
            let _ = scope.post_message(&bytes);
        }
    };
    let sealer = Rc::new(RefCell::new(cluebox_sealer::Sealer::default()));
    let net = Rc::new(Fetch(scope.clone()));
    let on_message = {
        let (sealer, net, post) = (sealer.clone(), net.clone(), post.clone());
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            // A request, or a request and the file it is about.
            let data = event.data();
            let (bytes, file) = if js_sys::Array::is_array(&data) {
                let parts: js_sys::Array = data.unchecked_into();
                (parts.get(0), parts.get(1).dyn_into::<web_sys::File>().ok())
            } else {
                (data, None)
            };
            let bytes = js_sys::Uint8Array::new(&bytes).to_vec();
            let Some(request) = worker::decode::<ToWorker>(&bytes) else {
                return;
            };
            let (sealer, net, post) = (sealer.clone(), net.clone(), post.clone());
            #[cfg(not(feature = "files"))]
            let _ = file; // this worker takes no files: AddFile is answered as a failure
            #[cfg(feature = "files")]
            if let (
                ToWorker::AddFile {
                    id,
                    file: number,
                    region,
                },
                Some(file),
            ) = (&request, file)
            {
                let (id, number, region) = (*id, *number, region.clone());
                spawn_local(async move {
                    let source = JsFile(file);
                    let answer = cluebox_sealer::add_file(
                        &sealer,
                        &*net,
                        id,
                        number,
                        region,
                        &source,
                        &|p| post(&p),
                    )
                    .await;
                    post(&answer);
                    cluebox_sealer::presolve(&sealer, &*net).await;
                });
                return;
            }
            spawn_local(async move {
                // After the configuration (the difficulty is in it) and after each submission
                // (ready for the next one), a proof of work is solved in the background while
                // the reporter types.
                let solve_next = matches!(
                    request,
                    ToWorker::Configure { .. }
                        | ToWorker::Upload { .. }
                        | ToWorker::SendFollowUp { .. }
                );
                post(&cluebox_sealer::serve(&sealer, &*net, request).await);
                if solve_next {
                    cluebox_sealer::presolve(&sealer, &*net).await;
                }
            });
        })
    };
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    // The page answers with its configuration (ToWorker::Configure).
    post(&FromWorker::Ready);
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    // The worker only runs in a browser; natively, `cargo test` exercises the library.
}
