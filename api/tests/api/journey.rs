//! The real server on port 0, driven over HTTP: a report filed, found by its token, fed to the
//! desk, answered; retries, conflicts and unknown tokens.

use base64::Engine as _;
use cluebox_protocol::envelope::{self, REPORT_LIMIT};
use cluebox_protocol::letter::{Letter, Note, Reply, StatusNote};
use cluebox_protocol::wire::{
    API_VERSION, Filed, FollowUpRequest, IdempotencyKey, InboxEntry, InboxKind, InboxPage, Inquiry,
    Sealed,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Reporter, TestApp};

#[tokio::test]
async fn report_lookup_desk_reply_follow_up() {
    let app = TestApp::new();
    let base = app.serve().await;
    let http = reqwest::Client::new();
    let profile: cluebox_protocol::profile::PublicProfile = http
        .get(format!("{base}/api/v1/profile"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(profile.profile.id, "12337");
    assert_eq!(profile.recipients.national.len(), 1);
    let server_key: [u8; 32] = base64::engine::general_purpose::STANDARD
        .decode(&profile.server_key)
        .unwrap()
        .try_into()
        .unwrap();

    // File a report: 201 and a receipt that verifies against the published key.
    let reporter = Reporter::new(&profile);
    let submit = reporter.report(&profile.recipients.national, "村主任强揽工程");
    let res = http
        .post(format!("{base}/api/v1/reports"))
        .json(&submit)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let filed: Filed = res.json().await.unwrap();
    filed
        .receipt
        .verify_for(&submit.sealed.0, &server_key)
        .unwrap();

    // A retry (double tap, lost answer) gives the same receipt and files nothing new.
    let res = http
        .post(format!("{base}/api/v1/reports"))
        .json(&submit)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Filed>().await.unwrap(), filed);
    // The same key with another body is refused.
    let mut other = reporter.report(&profile.recipients.national, "别的内容");
    other.idempotency_key = submit.idempotency_key.clone();
    let res = http
        .post(format!("{base}/api/v1/reports"))
        .json(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "idempotency_conflict"
    );

    // The reporter looks the case up: received, nothing yet.
    let res = http
        .post(format!("{base}/api/v1/inquiries"))
        .json(&reporter.inquiry())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let inquiry: Inquiry = res.json().await.unwrap();
    assert_eq!(inquiry.status, "received");
    assert_eq!(inquiry.received_at, filed.receipt.received_at);
    assert!(inquiry.timeline.is_empty() && inquiry.replies.is_empty());

    // An unknown token is a 404 of the one error shape.
    let stranger = Reporter::new(&profile);
    let res = http
        .post(format!("{base}/api/v1/inquiries"))
        .json(&stranger.inquiry())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "not_found"
    );

    // The desk lists, fetches and opens it, then acknowledges.
    let desk = |req: reqwest::RequestBuilder| req.bearer_auth(&app.desk_token);
    let page: InboxPage = desk(http.get(format!("{base}/api/v1/desk/inbox?after=0")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1, "one report despite the retry");
    let item = &page.items[0];
    assert_eq!(item.kind, InboxKind::Report);
    assert!(!item.acknowledged);
    let entry: InboxEntry = desk(http.get(format!("{base}/api/v1/desk/inbox/{}", item.seq)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(entry.sealed, submit.sealed);
    let office = app.demo_office_key();
    let Letter::Report(report) =
        Letter::from_bytes(&envelope::open(&office, &entry.sealed.0).unwrap()).unwrap()
    else {
        panic!("not a report");
    };
    assert_eq!(report.reply_key, reporter.keys.reply_public());
    let res = desk(http.post(format!("{base}/api/v1/desk/acks")))
        .json(&json!({"v": 1, "seqs": [item.seq, item.seq, 999]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["acknowledged"], 1);
    let again: InboxPage = desk(http.get(format!(
        "{base}/api/v1/desk/inbox?after={}",
        page.next_after
    )))
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert!(again.items.is_empty());
    assert_eq!(again.next_after, page.next_after);

    // The desk accepts the case and replies, sealed with the office key to the key inside the
    // report; the status change carries the same change as a sealed status letter.
    let case = &item.case_id;
    let day = 1_790_035_200u64; // midnight UTC
    let status_letter = |status: &str, at: u64| {
        Sealed(
            envelope::seal_from(
                &office,
                std::slice::from_ref(&report.reply_key),
                &Letter::Status(StatusNote {
                    seq: 1,
                    status: status.into(),
                    at,
                })
                .to_bytes(),
                REPORT_LIMIT,
            )
            .unwrap(),
        )
    };
    let status = json!({"v": 1, "status": "accepted", "at": day, "sealed": status_letter("accepted", day), "idempotency_key": IdempotencyKey::generate()});
    let res = desk(http.post(format!("{base}/api/v1/desk/cases/{case}/events")))
        .json(&status)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = desk(http.post(format!("{base}/api/v1/desk/cases/{case}/events")))
        .json(&status)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "a retried status is not recorded twice"
    );
    for (bogus, why) in [
        (
            json!({"v": 1, "status": "teleported", "at": day, "sealed": status_letter("teleported", day), "idempotency_key": IdempotencyKey::generate()}),
            "outside the vocabulary",
        ),
        (
            json!({"v": 1, "status": "accepted", "at": day + 3600, "sealed": status_letter("accepted", day + 3600), "idempotency_key": IdempotencyKey::generate()}),
            "not a whole day",
        ),
        (
            json!({"v": 1, "status": "accepted", "at": day, "sealed": Sealed(envelope::seal(std::slice::from_ref(&report.reply_key), b"x", REPORT_LIMIT).unwrap()), "idempotency_key": IdempotencyKey::generate()}),
            "not sealed by a sender",
        ),
        (
            json!({"v": 1, "status": "accepted", "at": day, "idempotency_key": IdempotencyKey::generate()}),
            "no sealed letter",
        ),
    ] {
        let res = desk(http.post(format!("{base}/api/v1/desk/cases/{case}/events")))
            .json(&bogus)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{why}");
    }
    let res = desk(http.post(format!("{base}/api/v1/desk/cases/nosuchcase/events")))
        .json(&json!({"v": 1, "status": "accepted", "at": day, "sealed": status_letter("accepted", day), "idempotency_key": IdempotencyKey::generate()}))
        .send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let reply = Letter::Reply(Reply {
        seq: 2,
        text: "已受理，请保持电话畅通。".into(),
    });
    let sealed_reply = envelope::seal_from(
        &office,
        std::slice::from_ref(&report.reply_key),
        &reply.to_bytes(),
        REPORT_LIMIT,
    )
    .unwrap();
    let res = desk(http.post(format!("{base}/api/v1/desk/cases/{case}/replies")))
        .json(&json!({"v": 1, "sealed": Sealed(sealed_reply), "idempotency_key": IdempotencyKey::generate()}))
        .send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);

    // The reporter sees the status with its day and opens the reply as the office's.
    let inquiry: Inquiry = http
        .post(format!("{base}/api/v1/inquiries"))
        .json(&reporter.inquiry())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(inquiry.status, "accepted");
    assert_eq!(inquiry.timeline.len(), 1);
    assert_eq!(inquiry.timeline[0].at, day);
    assert_eq!(
        inquiry.received_at % 86_400,
        0,
        "received on a day, no time"
    );
    assert_eq!(inquiry.replies[0].at % 86_400, 0);
    let opened = envelope::open_from(
        &[&reporter.keys.reply_secret],
        &[office.public_key()],
        &inquiry.replies[0].sealed.0,
    )
    .unwrap();
    assert_eq!(Letter::from_bytes(&opened.body).unwrap(), reply);

    // A follow-up from the reporter reaches the desk's inbox and the reporter's own view.
    let note = Letter::FollowUp(Note {
        text: "补充：还有一名证人。".into(),
    });
    let follow = FollowUpRequest {
        v: API_VERSION,
        lookup_token: reporter.keys.lookup_token.clone(),
        sealed: Sealed(
            envelope::seal_from(
                &reporter.keys.reply_secret,
                &profile.recipients.national,
                &note.to_bytes(),
                REPORT_LIMIT,
            )
            .unwrap(),
        ),
        idempotency_key: IdempotencyKey::generate(),
        pow: None,
        files: Vec::new(),
    };
    // One sealed without the code's key is refused: the desk could not tell who sent it.
    let mut anonymous = follow.clone();
    anonymous.sealed = Sealed(
        envelope::seal(&profile.recipients.national, &note.to_bytes(), REPORT_LIMIT).unwrap(),
    );
    anonymous.idempotency_key = IdempotencyKey::generate();
    let res = http
        .post(format!("{base}/api/v1/inquiries/follow-ups"))
        .json(&anonymous)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = http
        .post(format!("{base}/api/v1/inquiries/follow-ups"))
        .json(&follow)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = http
        .post(format!("{base}/api/v1/inquiries/follow-ups"))
        .json(&follow)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let mut orphan = follow.clone();
    orphan.lookup_token = stranger.keys.lookup_token.clone();
    orphan.idempotency_key = IdempotencyKey::generate();
    let res = http
        .post(format!("{base}/api/v1/inquiries/follow-ups"))
        .json(&orphan)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let page: InboxPage = desk(http.get(format!(
        "{base}/api/v1/desk/inbox?after={}",
        page.next_after
    )))
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].kind, InboxKind::FollowUp);
    assert_eq!(&page.items[0].case_id, case);
    let inquiry: Inquiry = http
        .post(format!("{base}/api/v1/inquiries"))
        .json(&reporter.inquiry())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(inquiry.follow_ups.len(), 1);
    let opened = envelope::open_from(
        &[&office],
        &[reporter.keys.reply_public()],
        &inquiry.follow_ups[0].sealed.0,
    )
    .unwrap();
    assert_eq!(Letter::from_bytes(&opened.body).unwrap(), note);
}

#[tokio::test]
async fn concurrent_double_submits_file_one_report() {
    let app = TestApp::new();
    let base = app.serve().await;
    let profile = app.profile();
    let http = reqwest::Client::new();
    let reporter = Reporter::new(&profile);
    let submit = reporter.report(&profile.recipients.national, "double tap");
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (http, base, submit) = (http.clone(), base.clone(), submit.clone());
            tokio::spawn(async move {
                let res = http
                    .post(format!("{base}/api/v1/reports"))
                    .json(&submit)
                    .send()
                    .await
                    .unwrap();
                (res.status(), res.json::<Filed>().await.unwrap())
            })
        })
        .collect();
    let mut created = 0;
    let mut receipts = Vec::new();
    for t in tasks {
        let (status, filed) = t.await.unwrap();
        if status == StatusCode::CREATED {
            created += 1;
        } else {
            assert_eq!(status, StatusCode::OK);
        }
        receipts.push(filed);
    }
    assert_eq!(created, 1);
    assert!(
        receipts.windows(2).all(|w| w[0] == w[1]),
        "every answer carries the same receipt"
    );
    let page: InboxPage = http
        .get(format!("{base}/api/v1/desk/inbox"))
        .bearer_auth(&app.desk_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
}

#[tokio::test]
async fn twelve_three_eight_nine_profile_is_served() {
    let app = TestApp::with_profile("12389");
    let base = app.serve().await;
    let v: Value = reqwest::get(format!("{base}/api/v1/profile"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["profile"]["id"], "12389");
    assert_eq!(v["profile"]["categories"].as_array().unwrap().len(), 9);
    assert_eq!(v["profile"]["deadlines"]["handle_days"], 30);
    assert_eq!(v["max_class"], 262_144);
}

#[tokio::test]
async fn plain_http_is_redirected_to_the_https_address() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(cluebox_api::serve::serve_redirects(
        listener,
        "https://jb.example.cn".into(),
        cluebox_api::config::Limits::default(),
        std::future::pending(),
    ));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = http
        .get(format!("http://{addr}/status?lang=en"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(
        res.headers()["location"],
        "https://jb.example.cn/status?lang=en"
    );
}
