//! The worker's decisions, natively: what it sends where, and how it reads each kind of answer.

use std::collections::VecDeque;

use super::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cluebox_protocol::derive::Argon2Params;
use cluebox_protocol::keys::SecretKey;
use cluebox_protocol::letter::{Answer, FieldAnswer, Reply, StatusNote};
use cluebox_protocol::profile::{Profile, Recipients};
use cluebox_protocol::receipt::Receipt;
use cluebox_protocol::wire::Inquiry;
use cluebox_protocol::wire::{SealedItem, StatusEvent};
use futures_executor::block_on;
#[cfg(feature = "files")]
use sha2::Digest as _;

/// Answers from a script and records what the worker sent. The browser's `fetch` behind
/// the real transport is exercised by the end-to-end tests; these check the worker's own
/// decisions (what it sends where, and how it reads each kind of answer).
#[derive(Default)]
struct Script {
    answers: RefCell<VecDeque<Result<(u16, String), ()>>>,
    sent: RefCell<Vec<(String, String, Option<String>)>>,
    pieces: RefCell<Vec<(String, u64, Vec<u8>)>>,
}

impl Script {
    fn then(&self, answer: Result<(u16, &str), ()>) -> &Self {
        self.answers
            .borrow_mut()
            .push_back(answer.map(|(s, t)| (s, t.to_owned())));
        self
    }
    fn last_body(&self) -> String {
        self.sent.borrow().last().unwrap().2.clone().unwrap()
    }
}

impl Transport for Script {
    async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
    ) -> Result<(u16, String), ()> {
        self.sent
            .borrow_mut()
            .push((method.to_owned(), path.to_owned(), body));
        self.answers
            .borrow_mut()
            .pop_front()
            .expect("the script has an answer")
    }

    async fn pause(&self) {}

    async fn put_piece(&self, path: &str, offset: u64, piece: &[u8]) -> Result<(u16, String), ()> {
        self.pieces
            .borrow_mut()
            .push((path.to_owned(), offset, piece.to_vec()));
        self.call("PATCH", path, None).await
    }

    async fn wait(&self) {}
}

fn profile_json(office: &SecretKey, region: &SecretKey) -> String {
    // The shipped profile's Argon2 settings: the worker refuses anything below the floor.
    let profile: Profile = toml::from_str(include_str!("../../profiles/12337.toml")).unwrap();
    serde_json::to_string(&PublicProfile {
        profile,
        recipients: Recipients {
            national: vec![office.public_key()],
            regions: [("440000".to_owned(), vec![region.public_key()])].into(),
        },
        server_key: String::new(),
        max_class: REPORT_LIMIT,
        pow_bits: 0,
    })
    .unwrap()
}

/// What the page does first: hands the worker the configuration the server wrote into it.
fn configure(s: &RefCell<Sealer>, net: &Script, public_json: &str) -> FromWorker {
    let public: PublicProfile = serde_json::from_str(public_json).unwrap();
    let config = WorkerConfig::new(&public).encode();
    block_on(serve(s, net, ToWorker::Configure { id: 99, config }))
}

fn new_code(s: &RefCell<Sealer>, net: &Script) -> String {
    let FromWorker::Code { id: 1, code } = block_on(serve(s, net, ToWorker::NewCode { id: 1 }))
    else {
        panic!()
    };
    InquiryCode::parse(&code).unwrap();
    code
}

#[test]
fn a_report_is_sealed_to_the_national_and_regional_offices() {
    let (office, region, stranger) = (
        SecretKey::generate(),
        SecretKey::generate(),
        SecretKey::generate(),
    );
    let s = RefCell::new(Sealer::default());
    let net = Script::default();
    configure(&s, &net, &profile_json(&office, &region));
    let code = new_code(&s, &net);
    assert!(net.sent.borrow().is_empty(), "configured without a request");
    let sections = vec![SectionAnswers {
        id: "situation".into(),
        fields: vec![FieldAnswer {
            id: "what".into(),
            answer: Answer::Given("线索".into()),
        }],
    }];
    let request = ToWorker::SealReport {
        id: 2,
        code: code.clone(),
        locale: "zh-CN".into(),
        region: Some("440000".into()),
        sections: sections.clone(),
        files: String::new(),
    };
    let FromWorker::Sealed { id: 2, body } = block_on(serve(&s, &net, request)) else {
        panic!()
    };
    let submit: SubmitReport = serde_json::from_str(&body).unwrap();
    for key in [&office, &region] {
        let Letter::Report(r) =
            Letter::from_bytes(&envelope::open(key, &submit.sealed.0).unwrap()).unwrap()
        else {
            panic!()
        };
        assert_eq!(r.sections, sections);
        assert_eq!(
            r.reply_key,
            s.borrow_mut().keys(&code).unwrap().reply_public()
        );
    }
    assert!(
        !body.contains("reply_key"),
        "the reply key travels only inside the sealed report"
    );
    assert!(envelope::open(&stranger, &submit.sealed.0).is_err());

    // Upload: the body goes out unchanged and the receipt comes back.
    let receipt = Receipt {
        files: Vec::new(),
        report_hash: [7; 32],
        received_at: 1_700_000_000,
        signature: [9; 64],
    };
    let filed = serde_json::to_string(&Filed {
        receipt: receipt.clone(),
    })
    .unwrap();
    net.then(Ok((201, &filed)));
    let upload = ToWorker::Upload {
        id: 3,
        body: body.clone(),
    };
    let FromWorker::Filed {
        id: 3,
        receipt: shown,
    } = block_on(serve(&s, &net, upload))
    else {
        panic!()
    };
    assert_eq!(shown.received_at, receipt.received_at);
    assert_eq!(shown.report_hash, "07".repeat(32));
    assert!(shown.signature.starts_with("CQkJ"), "base64 of 0x09 bytes");
    assert_eq!(net.last_body(), body);

    // The lookup for the same code uses the same token; an unknown one is "not found".
    net.then(Ok((
        404,
        r#"{"error":{"code":"not_found","message":"no"}}"#,
    )));
    let FromWorker::NotFound { id: 4 } =
        block_on(serve(&s, &net, ToWorker::Inquire { id: 4, code }))
    else {
        panic!()
    };
    let lookup: InquiryRequest = serde_json::from_str(&net.last_body()).unwrap();
    assert_eq!(lookup.lookup_token, submit.lookup_token);
    assert_eq!(
        net.sent.borrow().len(),
        2,
        "the upload and the lookup, nothing else"
    );
}

#[test]
fn only_the_offices_messages_are_shown_as_the_offices() {
    let (office, region, forger) = (
        SecretKey::generate(),
        SecretKey::generate(),
        SecretKey::generate(),
    );
    let s = RefCell::new(Sealer::default());
    let net = Script::default();
    configure(&s, &net, &profile_json(&office, &region));
    let code = new_code(&s, &net);
    let seal = ToWorker::SealFollowUp {
        id: 2,
        code: code.clone(),
        text: "补充".into(),
        files: String::new(),
    };
    let FromWorker::Sealed { id: 2, body } = block_on(serve(&s, &net, seal)) else {
        panic!()
    };
    net.then(Ok((201, "{}")));
    let send = ToWorker::SendFollowUp {
        id: 3,
        body: body.clone(),
    };
    assert_eq!(block_on(serve(&s, &net, send)), FromWorker::Sent { id: 3 });
    assert_eq!(net.last_body(), body, "sent as sealed");
    let follow: FollowUpRequest = serde_json::from_str(&body).unwrap();
    let reply_key = s.borrow_mut().keys(&code).unwrap().reply_public();
    let opened = envelope::open_from(
        &[&office],
        std::slice::from_ref(&reply_key),
        &follow.sealed.0,
    )
    .unwrap();
    assert_eq!(
        opened.origin,
        Origin::Sender(reply_key.clone()),
        "the office reads follow-ups, as from the code's holder"
    );

    let reply = |seq: u32, text: &str| {
        Letter::Reply(Reply {
            seq,
            text: text.into(),
        })
        .to_bytes()
    };
    let to_reporter = std::slice::from_ref(&reply_key);
    let genuine =
        envelope::seal_from(&office, to_reporter, &reply(1, "已受理"), REPORT_LIMIT).unwrap();
    // What a seized server (or anyone who can write its database) could make: a "reply"
    // sealed to the reporter's key with a key of its own, or with none.
    let lure = "请携带原件本人到办公室面谈";
    let forged = envelope::seal_from(&forger, to_reporter, &reply(2, lure), REPORT_LIMIT).unwrap();
    let anonymous = envelope::seal(to_reporter, &reply(2, lure), REPORT_LIMIT).unwrap();
    let status = |seq: u32, status: &str, at: u64| {
        envelope::seal_from(
            &region,
            to_reporter,
            &Letter::Status(StatusNote {
                seq,
                status: status.into(),
                at,
            })
            .to_bytes(),
            REPORT_LIMIT,
        )
        .unwrap()
    };
    let item = |sealed: Vec<u8>, at: u64| SealedItem {
        sealed: Sealed(sealed),
        at,
    };
    let event = |status: &str, at: u64, sealed: Option<Vec<u8>>| StatusEvent {
        status: status.into(),
        at,
        sealed: sealed.map(Sealed),
    };
    let day = 86_400;
    let inquiry = Inquiry {
        status: "concluded".into(),
        received_at: day,
        timeline: vec![
            event("accepted", 2 * day, Some(status(1, "accepted", 2 * day))),
            // A status letter for another status than the event's, one without a letter.
            event("concluded", 3 * day, Some(status(2, "assigned", 3 * day))),
            event("concluded", 4 * day, None),
        ],
        replies: vec![
            item(genuine.clone(), 2 * day),
            item(forged, 3 * day),
            item(anonymous, 3 * day),
            // The genuine reply replayed.
            item(genuine, 5 * day),
        ],
        follow_ups: vec![
            item(follow.sealed.0.clone(), 4 * day),
            item(
                envelope::seal(
                    to_reporter,
                    &Letter::FollowUp(Note { text: "x".into() }).to_bytes(),
                    REPORT_LIMIT,
                )
                .unwrap(),
                4 * day,
            ),
        ],
    };
    net.then(Ok((200, &serde_json::to_string(&inquiry).unwrap())));
    let FromWorker::Case { case, .. } =
        block_on(serve(&s, &net, ToWorker::Inquire { id: 3, code }))
    else {
        panic!()
    };
    assert_eq!(
        case.status, "accepted",
        "the current status is the last one the office confirmed, not the server's word"
    );
    let confirmed: Vec<bool> = case.timeline.iter().map(|e| e.confirmed).collect();
    assert_eq!(confirmed, [true, false, false]);
    let texts: Vec<Option<&str>> = case.replies.iter().map(|r| r.text.as_deref()).collect();
    assert_eq!(
        texts,
        [Some("已受理"), None, None, None],
        "forged, anonymous and replayed messages are not shown"
    );
    assert!(case.irregular, "a replayed number is noticed");
    assert_eq!(case.follow_ups[0].text.as_deref(), Some("补充"));
    assert_eq!(
        case.follow_ups[1].text, None,
        "a follow-up not sealed with the code's key is not shown as the reporter's own"
    );
}

#[test]
fn a_profile_below_the_argon2_floor_is_refused() {
    let (office, region) = (SecretKey::generate(), SecretKey::generate());
    let mut public: PublicProfile = serde_json::from_str(&profile_json(&office, &region)).unwrap();
    public.profile.argon2 = Argon2Params {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };
    let s = RefCell::new(Sealer::default());
    let net = Script::default();
    let FromWorker::Failed { id: 99, message } =
        configure(&s, &net, &serde_json::to_string(&public).unwrap())
    else {
        panic!()
    };
    assert!(message.contains("below the floor"), "{message}");
    let FromWorker::Failed { id: 1, .. } = block_on(serve(&s, &net, ToWorker::NewCode { id: 1 }))
    else {
        panic!("nothing works with a refused configuration")
    };
    let damaged = ToWorker::Configure {
        id: 2,
        config: "not a config".into(),
    };
    let FromWorker::Failed { id: 2, .. } = block_on(serve(&s, &net, damaged)) else {
        panic!()
    };
    // Nothing to send, so no proof of work is fetched or solved for it.
    block_on(presolve(&s, &net));
    assert!(
        net.sent.borrow().is_empty(),
        "no request without a configuration"
    );
}

#[test]
fn every_kind_of_failure_is_an_answer() {
    let (office, region) = (SecretKey::generate(), SecretKey::generate());
    let s = RefCell::new(Sealer::default());
    let net = Script::default();
    // Before the page's configuration: refused, without a request.
    let FromWorker::Failed { id: 7, message } =
        block_on(serve(&s, &net, ToWorker::NewCode { id: 7 }))
    else {
        panic!()
    };
    assert!(message.contains("no configuration"), "{message}");
    assert!(net.sent.borrow().is_empty());
    configure(&s, &net, &profile_json(&office, &region));
    new_code(&s, &net);
    // A code that is not one.
    let FromWorker::Failed { id: 8, .. } = block_on(serve(
        &s,
        &net,
        ToWorker::Inquire {
            id: 8,
            code: "not a code".into(),
        },
    )) else {
        panic!()
    };
    // The API's JSON error is passed on with its stable code; a proxy's page has none.
    let upload = || ToWorker::Upload {
        id: 9,
        body: "{}".into(),
    };
    net.then(Ok((
        429,
        r#"{"error":{"code":"rate_limited","message":"slow down"}}"#,
    )));
    assert_eq!(
        block_on(serve(&s, &net, upload())),
        FromWorker::Http {
            id: 9,
            status: 429,
            code: "rate_limited".into(),
            message: "slow down".into()
        }
    );
    net.then(Ok((502, "<html>Bad gateway</html>")));
    assert_eq!(
        block_on(serve(&s, &net, upload())),
        FromWorker::Http {
            id: 9,
            status: 502,
            code: String::new(),
            message: String::new()
        }
    );
    // A 2xx that is not a receipt is not taken for one.
    net.then(Ok((201, "{}")));
    let FromWorker::Failed { id: 9, .. } = block_on(serve(&s, &net, upload())) else {
        panic!()
    };
}

#[test]
fn messages_round_trip_as_postcard() {
    use cluebox_protocol::worker::{decode, encode};
    let request = ToWorker::SealReport {
        id: 5,
        code: "ABCD".into(),
        locale: "en".into(),
        region: None,
        sections: vec![],
        files: String::new(),
    };
    assert_eq!(decode::<ToWorker>(&encode(&request)), Some(request));
    let answer = FromWorker::Filed {
        id: 6,
        receipt: (&Receipt {
            files: Vec::new(),
            report_hash: [1; 32],
            received_at: 2,
            signature: [3; 64],
        })
            .into(),
    };
    assert_eq!(decode::<FromWorker>(&encode(&answer)), Some(answer));
    assert_eq!(decode::<FromWorker>(&[0xff, 0xff]), None);
}

#[test]
fn submissions_carry_a_proof_of_work_and_a_refused_one_is_replaced_once() {
    use base64::Engine as _;
    let (office, region) = (SecretKey::generate(), SecretKey::generate());
    let mut public: PublicProfile = serde_json::from_str(&profile_json(&office, &region)).unwrap();
    public.pow_bits = 8;
    let s = RefCell::new(Sealer::default());
    let net = Script::default();
    configure(&s, &net, &serde_json::to_string(&public).unwrap());
    let code = new_code(&s, &net);
    let FromWorker::Sealed { body, .. } = block_on(serve(
        &s,
        &net,
        ToWorker::SealReport {
            id: 2,
            code,
            locale: "zh-CN".into(),
            region: None,
            sections: vec![],
            files: String::new(),
        },
    )) else {
        panic!()
    };
    let challenge = |n: u8| {
        serde_json::to_string(&Challenge {
            challenge: URL_SAFE_NO_PAD.encode([n; 42]),
            difficulty: 8,
            expires_at: 0,
        })
        .unwrap()
    };
    // Solved in the background, ahead of the upload.
    net.then(Ok((200, &challenge(1))));
    block_on(presolve(&s, &net));
    // The first proof is refused (expired while the reporter typed); a fresh one is solved
    // and the same body sent again with it.
    net.then(Ok((
        403,
        r#"{"error":{"code":"pow_required","message":"expired"}}"#,
    )))
    .then(Ok((200, &challenge(2))))
    .then(Ok((
        201,
        &serde_json::to_string(&Filed {
            receipt: Receipt {
                files: Vec::new(),
                report_hash: [1; 32],
                received_at: 0,
                signature: [2; 64],
            },
        })
        .unwrap(),
    )));
    let FromWorker::Filed { .. } = block_on(serve(
        &s,
        &net,
        ToWorker::Upload {
            id: 3,
            body: body.clone(),
        },
    )) else {
        panic!("{:?}", net.sent.borrow())
    };
    let sent = net.sent.borrow();
    let posts: Vec<SubmitReport> = sent
        .iter()
        .filter(|(m, p, _)| m == "POST" && p == "/api/v1/reports")
        .map(|(_, _, b)| serde_json::from_str(b.as_deref().unwrap()).unwrap())
        .collect();
    assert_eq!(posts.len(), 2);
    for (post, n) in posts.iter().zip([1u8, 2]) {
        let pow = post.pow.as_ref().expect("a proof of work");
        let bytes = URL_SAFE_NO_PAD.decode(&pow.challenge).unwrap();
        assert_eq!(bytes, [n; 42]);
        assert!(pow::check(&bytes, pow.nonce, 8));
        assert_eq!(post.sealed, posts[0].sealed, "the same report both times");
    }
}

#[cfg(feature = "files")]
/// A file in memory, read a slice at a time as the page's `File` is.
struct Memory {
    name: &'static str,
    media_type: &'static str,
    bytes: Vec<u8>,
    reads: RefCell<usize>,
}

#[cfg(feature = "files")]
impl FileSource for Memory {
    fn size(&self) -> u64 {
        self.bytes.len() as u64
    }
    fn name(&self) -> String {
        self.name.into()
    }
    fn media_type(&self) -> String {
        self.media_type.into()
    }
    async fn read(&self, offset: u64, len: usize) -> Result<Vec<u8>, ()> {
        *self.reads.borrow_mut() += 1;
        let start = offset as usize;
        Ok(self.bytes[start..(start + len).min(self.bytes.len())].to_vec())
    }
}

#[cfg(feature = "files")]
#[test]
fn a_file_is_sealed_uploaded_resumed_after_a_lost_answer_and_named_by_the_report() {
    use cluebox_protocol::evidence::{Cleaning, FileHeader};
    let (office, region) = (SecretKey::generate(), SecretKey::generate());
    let s = RefCell::new(Sealer::default());
    let net = Script::default();
    configure(&s, &net, &profile_json(&office, &region));
    let code = new_code(&s, &net);
    // 2.5 pieces of a document the worker cannot clean.
    let content: Vec<u8> = (0..(files::PIECE * 5 / 2))
        .map(|i| (i % 241) as u8)
        .collect();
    let source = Memory {
        name: "合同/扫描件.pdf",
        media_type: "application/pdf",
        bytes: content.clone(),
        reads: RefCell::new(0),
    };
    let header = FileHeader::new(
        "扫描件.pdf",
        "application/pdf",
        content.len() as u64,
        Cleaning::NotCleaned,
    );
    let total = envelope::sealed_file_len(4, header.body_len());
    let id = "0123456789abcdef0123456789abcdef";
    let state = |offset: u64| {
        format!(
            r#"{{"upload":"{id}","length":{total},"offset":{offset},"max_piece":4194304,"expires_on":0}}"#
        )
    };
    let piece = files::PIECE as u64;
    net.then(Ok((201, &state(0))))
        .then(Ok((200, &state(piece))))
        // The second piece arrives but its answer is lost; the worker asks and goes on.
        .then(Err(()))
        .then(Ok((200, &state(2 * piece))))
        .then(Ok((200, &state(total))));
    let progress = RefCell::new(Vec::new());
    let answer = block_on(add_file(
        &s,
        &net,
        7,
        1,
        Some("440000".into()),
        &source,
        &|p| progress.borrow_mut().push(p),
    ));
    let FromWorker::FileReady {
        id: 7,
        cleaning: Cleaning::NotCleaned,
        reference,
    } = answer
    else {
        panic!("{answer:?}")
    };
    assert!(
        progress
            .borrow()
            .iter()
            .any(|p| matches!(p, FromWorker::FileProgress { waiting: true, .. }))
    );
    assert!(matches!(
        progress.borrow().last(),
        Some(FromWorker::FileProgress { done, total: t, waiting: false, .. }) if *done == total && *t == total
    ));
    // The pieces, put together, are one sealed file the offices open.
    let pieces = net.pieces.borrow();
    assert_eq!(
        pieces.iter().map(|p| p.1).collect::<Vec<_>>(),
        [0, piece, 2 * piece]
    );
    let mut sealed = Vec::new();
    for (path, offset, bytes) in pieces.iter() {
        assert_eq!(path, &format!("/api/v1/uploads/{id}"));
        if *offset as usize == sealed.len() {
            sealed.extend_from_slice(bytes);
        }
    }
    assert_eq!(sealed.len() as u64, total);
    for key in [&office, &region] {
        let plain = envelope::open(key, &sealed).unwrap();
        let n = FileHeader::prefix_len(&plain).unwrap();
        assert_eq!(FileHeader::from_prefix(&plain[..n]).unwrap(), header);
        assert_eq!(&plain[n..], content.as_slice());
    }
    assert!(
        *source.reads.borrow() <= 5,
        "read a slice at a time, not byte by byte"
    );

    // The report names it in its field, and the request names it for the server.
    let request = ToWorker::SealReport {
        id: 8,
        code,
        locale: "zh-CN".into(),
        region: Some("440000".into()),
        sections: vec![],
        files: cluebox_protocol::evidence::fields_to_text(&[(
            "situation".into(),
            "evidence".into(),
            vec![reference.clone()],
        )]),
    };
    let FromWorker::Sealed { body, .. } = block_on(serve(&s, &net, request)) else {
        panic!()
    };
    let submit: SubmitReport = serde_json::from_str(&body).unwrap();
    let sha: [u8; 32] = sha2::Sha256::digest(&sealed).into();
    assert_eq!(submit.files.len(), 1);
    assert_eq!(submit.files[0].upload, id);
    assert_eq!(submit.files[0].sha256, hex_lower(&sha));
    let Letter::Report(report) =
        Letter::from_bytes(&envelope::open(&office, &submit.sealed.0).unwrap()).unwrap()
    else {
        panic!()
    };
    let Some(Answer::Files(refs)) = report.answer("situation", "evidence") else {
        panic!("{:?}", report.sections)
    };
    assert_eq!(refs[0].sealed_sha256, sha);
    assert_eq!(refs[0].sealed_len, total);

    assert_eq!(refs[0], reference);
}

#[cfg(feature = "files")]
#[test]
fn a_video_is_cleaned_while_it_streams_and_only_its_boxes_are_read_whole() {
    use cluebox_protocol::evidence::{Cleaning, FileHeader, Removal};
    let office = SecretKey::generate();
    let s = RefCell::new(Sealer::default());
    let net = Script::default();
    configure(&s, &net, &profile_json(&office, &SecretKey::generate()));
    // A movie, 2 MiB of media, then XMP naming a place at its end: the patch falls in the
    // third piece.
    let boxed = |kind: &[u8; 4], body: &[u8]| {
        [
            &(8 + body.len() as u32).to_be_bytes(),
            kind.as_slice(),
            body,
        ]
        .concat()
    };
    let movie = [
        cluebox_scrub::mp4::fixture(b"qt  "),
        boxed(b"mdat", &vec![7; 2 * files::PIECE]),
        boxed(b"uuid", b"<exif:GPSLatitude>23,7.2N</exif:GPSLatitude>"),
    ]
    .concat();
    let source = Memory {
        name: "VID_0001.MOV",
        media_type: "video/quicktime",
        bytes: movie.clone(),
        reads: RefCell::new(0),
    };
    let Some(cluebox_scrub::Cleaned::Cleaned {
        bytes: expected, ..
    }) = Some(cluebox_scrub::clean(movie.clone()))
    else {
        panic!("the fixture cleans in memory")
    };
    let header = FileHeader::new(
        "VID_0001.MOV",
        "video/quicktime",
        movie.len() as u64,
        Cleaning::Cleaned(vec![Removal::Location, Removal::Time, Removal::Other]),
    );
    let total = envelope::sealed_file_len(4, header.body_len());
    let id = "0123456789abcdef0123456789abcdef";
    let state = |offset: u64| {
        format!(
            r#"{{"upload":"{id}","length":{total},"offset":{offset},"max_piece":4194304,"expires_on":0}}"#
        )
    };
    let piece = files::PIECE as u64;
    net.then(Ok((201, &state(0))))
        .then(Ok((200, &state(piece))))
        .then(Ok((200, &state(2 * piece))))
        .then(Ok((200, &state(total))));
    let answer = block_on(add_file(&s, &net, 3, 1, None, &source, &|_| {}));
    let FromWorker::FileReady { cleaning, .. } = answer else {
        panic!("{answer:?}")
    };
    assert_eq!(cleaning, header.cleaning);
    let sealed: Vec<u8> = net
        .pieces
        .borrow()
        .iter()
        .flat_map(|p| p.2.clone())
        .collect();
    let plain = envelope::open(&office, &sealed).unwrap();
    let n = FileHeader::prefix_len(&plain).unwrap();
    assert_eq!(FileHeader::from_prefix(&plain[..n]).unwrap(), header);
    assert_eq!(&plain[n..], expected.as_slice(), "as cleaned in memory");
    assert!(!plain.windows(11).any(|w| w == b"GPSLatitude"));
    assert!(
        *source.reads.borrow() <= 12,
        "the walk reads box headers and the movie header, then a slice per piece: {}",
        source.reads.borrow()
    );
}

#[cfg(feature = "files")]
#[test]
fn pieces_grow_on_a_fast_network_and_shrink_on_a_slow_one() {
    use files::{MIN_PIECE, PIECE, next_piece};
    let max = 4 << 20;
    assert_eq!(next_piece(PIECE, 80.0, max), 2 << 20);
    assert_eq!(next_piece(2 << 20, 300.0, max), max);
    assert_eq!(
        next_piece(max, 100.0, max),
        max,
        "never past what the server takes"
    );
    assert_eq!(
        next_piece(PIECE, 4_000.0, max),
        PIECE,
        "steady between 1 and 10 s"
    );
    assert_eq!(next_piece(PIECE, 20_000.0, max), PIECE / 2);
    assert_eq!(next_piece(MIN_PIECE, 25_000.0, max), MIN_PIECE);
    assert_eq!(
        next_piece(PIECE, 100.0, 0),
        MIN_PIECE,
        "a server naming no size"
    );
    assert_eq!(
        next_piece(max, 100.0, usize::MAX),
        files::MAX_PIECE,
        "a server naming a huge size"
    );
}
