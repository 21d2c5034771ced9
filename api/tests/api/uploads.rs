//! Evidence file uploads over HTTP: pieces, resuming after a lost answer, the checks on lengths
//! and offsets, filing with a report, the desk's download, expiry.

use cluebox_protocol::envelope::{self, Opener};
use cluebox_protocol::evidence::{Cleaning, FileHeader, Removal};
use cluebox_protocol::keys::PublicKey;
use cluebox_protocol::receipt::Receipt;
use cluebox_protocol::wire::{DAY, FiledFile, InboxEntry, InboxPage, UploadState};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::{Reporter, TestApp};

/// `content` sealed as an evidence file named `name`.
fn seal_file(to: &[PublicKey], name: &str, content: &[u8]) -> Vec<u8> {
    let header = FileHeader::new(
        name,
        "image/jpeg",
        content.len() as u64,
        Cleaning::Cleaned(vec![Removal::Location]),
    );
    let prefix = header.to_prefix();
    let (mut sealer, mut out) = envelope::Sealer::file(to, header.body_len(), u64::MAX).unwrap();
    sealer.push(&prefix, &mut out).unwrap();
    for piece in content.chunks(100_000) {
        sealer.push(piece, &mut out).unwrap();
    }
    sealer.finish(&mut out).unwrap();
    out
}

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    async fn start(&self, length: u64) -> reqwest::Response {
        self.http
            .post(format!("{}/api/v1/uploads", self.base))
            .json(&json!({"v": 1, "length": length}))
            .send()
            .await
            .unwrap()
    }

    async fn piece(&self, id: &str, offset: u64, bytes: &[u8]) -> reqwest::Response {
        self.http
            .patch(format!("{}/api/v1/uploads/{id}", self.base))
            .header("content-type", "application/offset+octet-stream")
            .header("upload-offset", offset.to_string())
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap()
    }

    async fn file(&self, report: &cluebox_protocol::wire::SubmitReport) -> reqwest::Response {
        self.http
            .post(format!("{}/api/v1/reports", self.base))
            .json(report)
            .send()
            .await
            .unwrap()
    }

    async fn state(&self, id: &str) -> reqwest::Response {
        self.http
            .get(format!("{}/api/v1/uploads/{id}", self.base))
            .send()
            .await
            .unwrap()
    }
}

async fn code(res: reqwest::Response) -> String {
    res.json::<Value>().await.unwrap()["error"]["code"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_file_goes_up_in_pieces_survives_lost_answers_and_is_filed_and_fetched_whole() {
    let app = TestApp::new();
    let client = Client {
        http: reqwest::Client::new(),
        base: app.serve().await,
    };
    let office = app.demo_office_key();
    let profile = app.profile();
    let content: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let sealed = seal_file(&profile.recipients.national, "现场照片.jpg", &content);
    let sha = hex::encode(Sha256::digest(&sealed));

    let res = client.start(sealed.len() as u64).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let started: UploadState = res.json().await.unwrap();
    assert_eq!((started.offset, started.sha256.clone()), (0, None));
    assert_eq!(started.upload.len(), 32);
    let id = started.upload.clone();
    let piece = 1 << 20;

    // The first piece, then the same piece again (its answer was lost): harmless.
    for _ in 0..2 {
        let res = client.piece(&id, 0, &sealed[..piece]).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["upload-offset"], piece.to_string().as_str());
    }
    // A piece past where the upload stands: 409 and where it stands.
    let res = client
        .piece(&id, 2 * piece as u64, &sealed[2 * piece..2 * piece + 10])
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(res.headers()["upload-offset"], piece.to_string().as_str());
    assert_eq!(code(res).await, "offset_mismatch");
    // Bytes that differ from those stored: 409, and nothing changes.
    let mut forged = sealed[..piece].to_vec();
    forged[10] ^= 1;
    let res = client.piece(&id, 0, &forged).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    // After a lost connection: ask, and go on from there.
    let state: UploadState = client.state(&id).await.json().await.unwrap();
    assert_eq!(state.offset, piece as u64);
    let mut at = state.offset as usize;
    let mut last = None;
    while at < sealed.len() {
        let end = (at + piece).min(sealed.len());
        let res = client.piece(&id, at as u64, &sealed[at..end]).await;
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "{}",
            res.text().await.unwrap()
        );
        last = Some(res.json::<UploadState>().await.unwrap());
        at = end;
    }
    let done = last.unwrap();
    assert_eq!(done.offset, sealed.len() as u64);
    assert_eq!(done.sha256.as_deref(), Some(sha.as_str()));
    // A piece past the end is refused; the last piece again is still fine.
    let res = client.piece(&id, sealed.len() as u64, b"x").await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);

    // A report that names the upload with another hash is refused; with its hash it is filed,
    // and the receipt signs the file's hash.
    let reporter = Reporter::new(&profile);
    let mut submit = reporter.report(&profile.recipients.national, "有照片");
    submit.files = vec![FiledFile {
        upload: id.clone(),
        sha256: "00".repeat(32),
    }];
    let res = client.file(&submit).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(code(res).await, "upload_not_ready");
    submit.files[0].sha256 = sha.clone();
    let res = client.file(&submit).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let receipt: Receipt = res.json::<Value>().await.unwrap()["receipt"]
        .clone()
        .pipe(serde_json::from_value)
        .unwrap();
    assert_eq!(
        receipt.files,
        vec![<[u8; 32]>::from(Sha256::digest(&sealed))]
    );
    let server_key: [u8; 32] = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        &profile.server_key,
    )
    .unwrap()
    .try_into()
    .unwrap();
    receipt.verify(&server_key).unwrap();

    // Filed: it cannot be deleted, or named by another report.
    let res = client
        .http
        .delete(format!("{}/api/v1/uploads/{id}", client.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let other = Reporter::new(&profile);
    let mut again = other.report(&profile.recipients.national, "同一张照片");
    again.files = submit.files.clone();
    let res = client.file(&again).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);

    // The desk sees the file with the report, fetches it (and the rest of it from an
    // offset), and opens it to the same bytes.
    let desk = |path: String| {
        client
            .http
            .get(format!("{}{path}", client.base))
            .bearer_auth(&app.desk_token)
    };
    let page: InboxPage = desk("/api/v1/desk/inbox".into())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let item = &page.items[0];
    assert_eq!(item.files.len(), 1);
    assert_eq!(item.files[0].upload, id);
    assert_eq!(item.files[0].sha256, sha);
    assert_eq!(item.files[0].length, sealed.len() as u64);
    let entry: InboxEntry = desk(format!("/api/v1/desk/inbox/{}", item.seq))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(entry.item.files, item.files);
    let res = desk(format!("/api/v1/desk/uploads/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let fetched = res.bytes().await.unwrap();
    assert_eq!(fetched.as_ref(), sealed.as_slice());
    let tail = desk(format!("/api/v1/desk/uploads/{id}?offset=1000"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(tail.as_ref(), &sealed[1000..]);
    let res = client
        .http
        .get(format!("{}/api/v1/desk/uploads/{id}", client.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    let header_len = envelope::header_len(&fetched).unwrap();
    let (mut opener, _) = Opener::new(&[&office], &[], &fetched[..header_len]).unwrap();
    let mut plain = Vec::new();
    for chunk in fetched[header_len..].chunks(70_000) {
        opener.push(chunk, &mut plain).unwrap();
    }
    opener.finish(&mut plain).unwrap();
    let prefix_len = FileHeader::prefix_len(&plain).unwrap();
    let header = FileHeader::from_prefix(&plain[..prefix_len]).unwrap();
    assert_eq!(header.name, "现场照片.jpg");
    assert_eq!(&plain[prefix_len..], content.as_slice());
}

trait Pipe: Sized {
    fn pipe<T>(self, f: impl FnOnce(Self) -> T) -> T {
        f(self)
    }
}

impl<T> Pipe for T {}

#[tokio::test]
async fn an_upload_is_hashed_as_its_pieces_come_not_read_again_when_complete() {
    let app = TestApp::new();
    let client = Client {
        http: reqwest::Client::new(),
        base: app.serve().await,
    };
    let profile = app.profile();
    let content: Vec<u8> = (0..2_500_000u32).map(|i| (i * 13 % 251) as u8).collect();
    let sealed = seal_file(&profile.recipients.national, "录音.m4a", &content);
    let sha = hex::encode(Sha256::digest(&sealed));
    let upload = |length| client.start(length);
    let started: UploadState = upload(sealed.len() as u64).await.json().await.unwrap();
    let id = started.upload;
    let piece = 1 << 20;
    let stored = app.dir.path().join("data/uploads").join(&id);
    let mut at = 0;
    while at < sealed.len() {
        let end = (at + piece).min(sealed.len());
        // A piece sent twice (its answer lost) is taken once.
        for _ in 0..2 {
            let res = client.piece(&id, at as u64, &sealed[at..end]).await;
            assert_eq!(res.status(), StatusCode::OK);
        }
        if at == 0 {
            // Change a stored byte behind the server's back: had it read the file again to
            // complete the upload, its hash would be of these bytes.
            let mut bytes = std::fs::read(&stored).unwrap();
            bytes[envelope::PREFIX_LEN + 100] ^= 1;
            std::fs::write(&stored, &bytes).unwrap();
        }
        at = end;
    }
    let state: UploadState = client.state(&id).await.json().await.unwrap();
    assert_eq!(state.sha256.as_deref(), Some(sha.as_str()));
    assert!(app.state.uploads_hashing.is_empty(), "no running hash left");

    // (An upload this process did not follow from its start, because it restarted in
    // between, is hashed from the store when it completes: the browser test that stops the
    // server in the middle of an upload goes through that.)

    // A removed upload leaves no running hash behind.
    let started: UploadState = upload(sealed.len() as u64).await.json().await.unwrap();
    assert_eq!(
        client
            .piece(&started.upload, 0, &sealed[..piece])
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(app.state.uploads_hashing.len(), 1);
    let res = client
        .http
        .delete(format!("{}/api/v1/uploads/{}", client.base, started.upload))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(app.state.uploads_hashing.is_empty());
}

#[tokio::test]
async fn bad_lengths_offsets_types_and_ids_get_clear_errors() {
    let app = TestApp::new();
    let client = Client {
        http: reqwest::Client::new(),
        base: app.serve().await,
    };
    let profile = app.profile();
    // Not the length of any sealed file; longer than the profile allows.
    let res = client.start(12_345).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(code(res).await, "invalid_field");
    let res = client.start(envelope::sealed_file_len(4, 3 << 30)).await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("at most 2147483648 bytes")
    );
    let res = client.start(1 << 40).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let sealed = seal_file(&profile.recipients.national, "a.png", b"tiny");
    let started: UploadState = client
        .start(sealed.len() as u64)
        .await
        .json()
        .await
        .unwrap();
    let id = started.upload;
    let res = client
        .http
        .patch(format!("{}/api/v1/uploads/{id}", client.base))
        .header("content-type", "text/plain")
        .header("upload-offset", "0")
        .body(sealed.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let res = client
        .http
        .patch(format!("{}/api/v1/uploads/{id}", client.base))
        .header("content-type", "application/offset+octet-stream")
        .body(sealed.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(code(res).await, "invalid_parameter");
    let mut longer = sealed.clone();
    longer.push(0);
    assert_eq!(
        client.piece(&id, 0, &longer).await.status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
    for bad in ["0123", "../../etc/passwd", &"A".repeat(32), &"0".repeat(32)] {
        let res = client.state(bad).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{bad}");
        assert_eq!(code(res).await, "not_found");
    }
    // A report naming an unfinished upload is refused, and nothing is filed.
    let reporter = Reporter::new(&profile);
    let mut submit = reporter.report(&profile.recipients.national, "未完成的文件");
    submit.files = vec![FiledFile {
        upload: id.clone(),
        sha256: hex::encode(Sha256::digest(&sealed)),
    }];
    let res = client.file(&submit).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(code(res).await, "upload_not_ready");
    let res = client
        .http
        .post(format!("{}/api/v1/inquiries", client.base))
        .json(&reporter.inquiry())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "no case was opened");

    // A complete upload that is not a sealed file is deleted.
    let mut garbage = vec![0u8; sealed.len()];
    garbage[..4].copy_from_slice(b"JUNK");
    let started: UploadState = client
        .start(garbage.len() as u64)
        .await
        .json()
        .await
        .unwrap();
    let res = client.piece(&started.upload, 0, &garbage).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(code(res).await, "invalid_envelope");
    assert_eq!(
        client.state(&started.upload).await.status(),
        StatusCode::NOT_FOUND
    );
    // Removed by the reporter: gone.
    let res = client
        .http
        .delete(format!("{}/api/v1/uploads/{id}", client.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(client.state(&id).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn uploads_no_report_names_expire_and_stray_files_are_removed() {
    let app = TestApp::new();
    let client = Client {
        http: reqwest::Client::new(),
        base: app.serve().await,
    };
    let profile = app.profile();
    let sealed = seal_file(&profile.recipients.national, "a.mp4", &[5u8; 10_000]);
    let mut ids = Vec::new();
    for _ in 0..2 {
        let started: UploadState = client
            .start(sealed.len() as u64)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            client.piece(&started.upload, 0, &sealed).await.status(),
            StatusCode::OK
        );
        ids.push(started.upload);
    }
    // The second is filed.
    let reporter = Reporter::new(&profile);
    let mut submit = reporter.report(&profile.recipients.national, "视频");
    submit.files = vec![FiledFile {
        upload: ids[1].clone(),
        sha256: hex::encode(Sha256::digest(&sealed)),
    }];
    let res = client.file(&submit).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let stray = app.dir.path().join("data/uploads").join("f".repeat(32));
    std::fs::write(&stray, b"left behind by a crash").unwrap();

    let state: UploadState = client.state(&ids[0]).await.json().await.unwrap();
    let today = cluebox_protocol::wire::day_of(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    );
    assert_eq!(state.expires_on, today + 2 * DAY);
    // The day before it expires, only the stray file goes.
    let gone = cluebox_api::routes::uploads::sweep(&app.state, state.expires_on - DAY)
        .await
        .unwrap();
    assert_eq!(gone, 1);
    assert!(!stray.exists());
    assert_eq!(client.state(&ids[0]).await.status(), StatusCode::OK);
    // On the day it expires, the unfiled upload goes; the filed one stays.
    let gone = cluebox_api::routes::uploads::sweep(&app.state, state.expires_on)
        .await
        .unwrap();
    assert_eq!(gone, 1);
    assert_eq!(client.state(&ids[0]).await.status(), StatusCode::NOT_FOUND);
    assert!(!app.dir.path().join("data/uploads").join(&ids[0]).exists());
    assert_eq!(client.state(&ids[1]).await.status(), StatusCode::OK);
    let res = client
        .http
        .get(format!("{}/api/v1/desk/uploads/{}", client.base, ids[1]))
        .bearer_auth(&app.desk_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.bytes().await.unwrap().as_ref(), sealed.as_slice());
}

#[tokio::test]
async fn a_client_that_hangs_up_mid_piece_leaves_nothing_and_blocks_no_one() {
    use tokio::io::AsyncWriteExt as _;
    let app = TestApp::new();
    let client = Client {
        http: reqwest::Client::new(),
        base: app.serve().await,
    };
    let profile = app.profile();
    let sealed = seal_file(&profile.recipients.national, "a.mp4", &vec![9u8; 2_000_000]);
    let started: UploadState = client
        .start(sealed.len() as u64)
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/api/v1/uploads/{}", started.upload);
    // Half a piece, then the connection goes; again, trickled a byte at a time.
    for trickle in [false, true] {
        let addr = client.base.trim_start_matches("http://");
        let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "PATCH {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/offset+octet-stream\r\nupload-offset: 0\r\ncontent-length: {}\r\n\r\n",
            1 << 20
        );
        tcp.write_all(head.as_bytes()).await.unwrap();
        if trickle {
            for b in &sealed[..100] {
                tcp.write_all(&[*b]).await.unwrap();
            }
        } else {
            tcp.write_all(&sealed[..1 << 19]).await.unwrap();
        }
        drop(tcp);
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let state: UploadState = client.state(&started.upload).await.json().await.unwrap();
    assert_eq!(
        state.offset, 0,
        "nothing of a piece that never arrived whole is kept"
    );
    // The upload is not left locked: the whole file goes up.
    let mut at = 0;
    for piece in sealed.chunks(1 << 20) {
        let res = client.piece(&started.upload, at, piece).await;
        assert_eq!(res.status(), StatusCode::OK);
        at += piece.len() as u64;
    }
    let done: UploadState = client.state(&started.upload).await.json().await.unwrap();
    assert_eq!(done.sha256, Some(hex::encode(Sha256::digest(&sealed))));
}

#[tokio::test]
async fn a_follow_up_files_its_uploads_atomically_like_a_report() {
    let app = TestApp::new();
    let client = Client {
        http: reqwest::Client::new(),
        base: app.serve().await,
    };
    let profile = app.profile();
    let reporter = Reporter::new(&profile);
    let res = client
        .file(&reporter.report(&profile.recipients.national, "先举报"))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    // One complete upload, one started and left half done.
    let sealed = seal_file(&profile.recipients.national, "补充.jpg", &[5; 50_000]);
    let sha = hex::encode(Sha256::digest(&sealed));
    let done: UploadState = client
        .start(sealed.len() as u64)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        client.piece(&done.upload, 0, &sealed).await.status(),
        StatusCode::OK
    );
    let half: UploadState = client
        .start(sealed.len() as u64)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        client
            .piece(&half.upload, 0, &sealed[..1000])
            .await
            .status(),
        StatusCode::OK
    );
    let post = |req: &cluebox_protocol::wire::FollowUpRequest| {
        client
            .http
            .post(format!("{}/api/v1/inquiries/follow-ups", client.base))
            .json(req)
            .send()
    };
    let named = |upload: &str| FiledFile {
        upload: upload.to_owned(),
        sha256: sha.clone(),
    };
    // Naming the unfinished one: nothing is added, the finished one stays free.
    let mut follow = reporter.follow_up(&profile.recipients.national, "补充照片");
    follow.files = vec![named(&done.upload), named(&half.upload)];
    let res = post(&follow).await.unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(code(res).await, "upload_not_ready");
    let inbox = app.state.store.inbox(0, 10).await.unwrap();
    assert_eq!(inbox.len(), 1, "no follow-up was added");
    // Only the finished one: added, and the desk sees it with the follow-up.
    let mut follow = reporter.follow_up(&profile.recipients.national, "补充照片");
    follow.files = vec![named(&done.upload)];
    let res = post(&follow).await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(
        post(&follow).await.unwrap().status(),
        StatusCode::OK,
        "a retry"
    );
    let inbox = app.state.store.inbox(0, 10).await.unwrap();
    assert_eq!(inbox.len(), 2);
    assert_eq!(inbox[1].files.len(), 1);
    assert_eq!(inbox[1].files[0].upload, done.upload);
    assert_eq!(inbox[1].files[0].sha256, sha);
    // Filed once: another follow-up cannot take it again.
    let mut again = reporter.follow_up(&profile.recipients.national, "再次");
    again.files = vec![named(&done.upload)];
    assert_eq!(post(&again).await.unwrap().status(), StatusCode::CONFLICT);
}
