//! Evidence files downloaded from the web desk: a case's file `n`, opened on a blocking thread
//! as it streams to the browser, with flat memory at any size. The file is sent as an
//! attachment, never shown in a page (it is the reporter's, and could be a page of its own);
//! whoever may read the case may download it, and each download goes into the audit log. A
//! browser that hangs up, or stops reading for [`super::Limits::stalled_download`], stops the
//! opening and frees its thread.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::handlers::readable;
use super::session::Signed;
use super::{Shared, WebError};
use crate::{audit, evidence};

/// `/cases/{id}/files/{n}`: file `n` of a case, opened as it streams to the browser (a
/// download, never shown in the page: a file is the reporter's, and could be a page of its
/// own). Whoever may read the case may download it; each download goes into the audit log.
pub(super) async fn file(
    State(desk): State<Shared>,
    who: Signed,
    Path((id, n)): Path<(String, usize)>,
    limits: Option<axum::Extension<super::Limits>>,
) -> Result<Response, WebError> {
    let stall = limits.map_or(super::Limits::default().stalled_download, |l| {
        l.stalled_download
    });
    let staff = who.staff.clone();
    let (file, sealed, keys) = desk
        .run(move |conn, desk| {
            readable(conn, &staff, &id)?;
            let (file, sealed) = evidence::sealed_file(conn, &id, n)?.ok_or_else(|| {
                WebError::new(
                    StatusCode::NOT_FOUND,
                    "这个案件没有这个文件。",
                    "This case has no such file.",
                )
            })?;
            let name = file.name.clone().unwrap_or_default();
            let tx = conn.transaction()?;
            audit::append(
                &tx,
                &staff.login,
                "file.opened",
                &id,
                &format!("{n}: {name}"),
            )?;
            tx.commit()?;
            Ok((file, sealed, desk.keys.clone()))
        })
        .await?;
    // Opened on a blocking thread into a channel of a few pieces: memory stays flat at any
    // size; a browser that goes away closes the channel, and one that stops reading for
    // `stall` is cut off; either way the opening stops and the thread is freed.
    let (sender, receiver) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(4);
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let into = Sender {
            to: sender.clone(),
            runtime,
            stall,
        };
        if let Err(e) = evidence::open_sealed(&sealed, &keys, into) {
            // The browser sees the download fail rather than end short (if it still reads).
            let _ = sender.try_send(Err(std::io::Error::other(e.to_string())));
        }
    });
    let stream = futures_util::stream::unfold(receiver, |mut r| async move {
        r.recv().await.map(|piece| (piece, r))
    });
    let name = cluebox_protocol::evidence::tidy_name(file.name.as_deref().unwrap_or("file"));
    let encoded = percent_encoding::utf8_percent_encode(&name, ATTR_CHAR);
    let mut res = axum::body::Body::from_stream(stream).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/octet-stream"),
    );
    if let Some(size) = file.size {
        h.insert(header::CONTENT_LENGTH, size.into());
    }
    // The name as UTF-8 (RFC 6266, RFC 8187); an ASCII stand-in for very old clients.
    if let Ok(v) =
        format!("attachment; filename=\"evidence-{n}\"; filename*=UTF-8''{encoded}").parse()
    {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

/// The bytes a file name may keep unescaped in `filename*` (RFC 8187's attr-char).
const ATTR_CHAR: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// Writes into a download's channel, a piece at a time (on a blocking thread); fails once the
/// browser has gone, or has taken nothing for `stall`.
struct Sender {
    to: tokio::sync::mpsc::Sender<std::io::Result<Vec<u8>>>,
    runtime: tokio::runtime::Handle,
    stall: std::time::Duration,
}

impl std::io::Write for Sender {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let sent = self.runtime.block_on(tokio::time::timeout(
            self.stall,
            self.to.send(Ok(buf.to_vec())),
        ));
        match sent {
            Ok(Ok(())) => Ok(buf.len()),
            Ok(Err(_)) => Err(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "the browser went away",
            )),
            Err(_) => Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the browser stopped reading",
            )),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
