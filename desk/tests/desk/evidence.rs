//! Evidence files: pulled with their report, listed by `show`, opened into a directory by
//! `files`, names that cannot leave it; carried by an export bundle to an air-gapped desk.

use cluebox_protocol::evidence::{Cleaning, FileHeader, FileRef, Removal};
use cluebox_protocol::wire::{FiledFile, UploadState};
use sha2::{Digest as _, Sha256};

use super::*;

/// Seals and uploads one file whose header carries `name` as given (not tidied: a crafted
/// report); returns how the report names it.
pub(super) async fn upload(api: &Api, office: &PublicKey, name: &str, content: &[u8]) -> FileRef {
    let header = FileHeader {
        name: name.into(),
        media_type: "image/jpeg".into(),
        size: content.len() as u64,
        cleaning: Cleaning::Cleaned(vec![Removal::Location, Removal::Device]),
    };
    let (mut sealer, mut sealed) =
        envelope::Sealer::file(std::slice::from_ref(office), header.body_len(), u64::MAX).unwrap();
    sealer.push(&header.to_prefix(), &mut sealed).unwrap();
    sealer.push(content, &mut sealed).unwrap();
    sealer.finish(&mut sealed).unwrap();
    let http = reqwest::Client::new();
    let started: UploadState = http
        .post(format!("{}/api/v1/uploads", api.base))
        .json(&serde_json::json!({"v": 1, "length": sealed.len()}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut at = 0;
    for piece in sealed.chunks(1 << 20) {
        let res = http
            .patch(format!("{}/api/v1/uploads/{}", api.base, started.upload))
            .header("content-type", "application/offset+octet-stream")
            .header("upload-offset", at.to_string())
            .body(piece.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        at += piece.len();
    }
    FileRef {
        upload: started.upload,
        sealed_len: sealed.len() as u64,
        sealed_sha256: Sha256::digest(&sealed).into(),
    }
}

/// Files a report whose evidence field names `refs`.
pub(super) async fn file_with(api: &Api, office: &PublicKey, refs: &[FileRef]) {
    let keys = derive(&InquiryCode::generate(), &FAST, "cn-12337").unwrap();
    let letter = Letter::Report(Report {
        profile: "12337".into(),
        locale: "zh-CN".into(),
        reply_key: keys.reply_public(),
        sections: vec![SectionAnswers {
            id: "situation".into(),
            fields: vec![
                FieldAnswer {
                    id: "what".into(),
                    answer: Answer::Given("赌场照片".into()),
                },
                FieldAnswer {
                    id: "evidence".into(),
                    answer: Answer::Files(refs.to_vec()),
                },
            ],
        }],
    });
    let body = SubmitReport {
        v: API_VERSION,
        sealed: Sealed(
            envelope::seal(
                std::slice::from_ref(office),
                &letter.to_bytes(),
                REPORT_LIMIT,
            )
            .unwrap(),
        ),
        lookup_token: keys.lookup_token.clone(),
        idempotency_key: IdempotencyKey::generate(),
        pow: None,
        files: refs
            .iter()
            .map(|r| FiledFile {
                upload: r.upload.clone(),
                sha256: hex::encode(r.sealed_sha256),
            })
            .collect(),
    };
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/reports", api.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_come_with_their_report_and_open_only_into_the_directory_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let (key, office) = keygen(dir.path(), "office.key", None);
    let api = api(&office).await;
    let photo: Vec<u8> = (0..2_500_000u32).map(|i| (i % 253) as u8).collect();
    let refs = vec![
        upload(&api, &office, "现场.jpg", &photo).await,
        upload(
            &api,
            &office,
            "../../etc/evil\u{202e}gpj.sh",
            b"#!/bin/sh\n",
        )
        .await,
    ];
    file_with(&api, &office, &refs).await;

    let db = dir.path().join("desk/desk.sqlite3");
    let out = {
        let (db, key, token, base) = (db.clone(), key.clone(), api.token.clone(), api.base.clone());
        tokio::task::spawn_blocking(move || {
            desk(&db)
                .args(["pull", "--server", &base, "--token-file"])
                .arg(&token)
                .arg("--key")
                .arg(&key)
                .output()
                .unwrap()
        })
        .await
        .unwrap()
    };
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("opened 1"), "{}", stdout(&out));
    // The sealed copies are kept, private.
    use std::os::unix::fs::PermissionsExt as _;
    let files_dir = dir.path().join("desk/files");
    assert_eq!(
        std::fs::metadata(&files_dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    assert_eq!(std::fs::read_dir(&files_dir).unwrap().count(), 2);

    let inbox = api.state.store.inbox(0, 10).await.unwrap();
    let case = cluebox_desk::cases::short(&inbox[0].case_id).to_owned();
    let shown = stdout(&desk(&db).args(["show", &case]).output().unwrap());
    assert!(shown.contains("2 file(s)"), "{shown}");
    assert!(
        shown.contains("现场.jpg  (image/jpeg, 2500000 bytes; removed: location, device)"),
        "{shown}"
    );
    assert!(!shown.contains('\u{202e}'), "{shown}");

    let target = dir.path().join("opened");
    let out = desk(&db)
        .args(["files", &case, "--out"])
        .arg(&target)
        .arg("--key")
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let mut names: Vec<String> = std::fs::read_dir(&target)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["01-现场.jpg", "02-evilgpj.sh"]);
    assert_eq!(std::fs::read(target.join("01-现场.jpg")).unwrap(), photo);
    assert_eq!(
        std::fs::metadata(target.join("01-现场.jpg"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(&target).unwrap().permissions().mode() & 0o777,
        0o700
    );
    assert!(!dir.path().join("etc").exists());
    // Again: nothing is overwritten.
    let out = desk(&db)
        .args(["files", &case, "--out"])
        .arg(&target)
        .arg("--key")
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 4);
    let audit = stdout(&desk(&db).args(["audit", "verify"]).output().unwrap());
    assert!(!audit.contains("broken"), "{audit}");

    // A crafted report whose sealed list names the first case's file (the server files it:
    // its request names no upload). The file stays the first case's; the second says why not.
    let keys = derive(&InquiryCode::generate(), &FAST, "cn-12337").unwrap();
    let crafted = Letter::Report(Report {
        profile: "12337".into(),
        locale: "zh-CN".into(),
        reply_key: keys.reply_public(),
        sections: vec![SectionAnswers {
            id: "situation".into(),
            fields: vec![FieldAnswer {
                id: "evidence".into(),
                answer: Answer::Files(vec![refs[0].clone()]),
            }],
        }],
    });
    let body = SubmitReport {
        v: API_VERSION,
        sealed: Sealed(
            envelope::seal(
                std::slice::from_ref(&office),
                &crafted.to_bytes(),
                REPORT_LIMIT,
            )
            .unwrap(),
        ),
        lookup_token: keys.lookup_token.clone(),
        idempotency_key: IdempotencyKey::generate(),
        pow: None,
        files: Vec::new(),
    };
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/reports", api.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let out = {
        let (db, key, token, base) = (db.clone(), key.clone(), api.token.clone(), api.base.clone());
        tokio::task::spawn_blocking(move || {
            desk(&db)
                .args(["pull", "--server", &base, "--token-file"])
                .arg(&token)
                .arg("--key")
                .arg(&key)
                .output()
                .unwrap()
        })
        .await
        .unwrap()
    };
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = stdout(&desk(&db).args(["show", &case]).output().unwrap());
    assert!(
        shown.contains("2 file(s)") && shown.contains("现场.jpg"),
        "{shown}"
    );
    let inbox = api.state.store.inbox(0, 10).await.unwrap();
    let other = cluebox_desk::cases::short(&inbox[1].case_id).to_owned();
    let shown = stdout(&desk(&db).args(["show", &other]).output().unwrap());
    assert!(!shown.contains("现场.jpg"), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_air_gapped_desk_gets_the_files_in_the_export_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let (key, office) = keygen(dir.path(), "office.key", None);
    let api = api(&office).await;
    let video: Vec<u8> = (0..3_300_000u32).map(|i| (i % 251) as u8).collect();
    let refs = vec![
        upload(&api, &office, "录像.mp4", &video).await,
        upload(&api, &office, "票据.jpg", b"not much").await,
    ];
    file_with(&api, &office, &refs).await;
    let bundle = dir.path().join("bundle.tar");
    let written = cluebox_api::export::export(
        api.state.store.as_ref(),
        api.state.blobs.as_ref(),
        "12337",
        cluebox_api::store::Since::Seq(0),
        &bundle,
    )
    .await
    .unwrap();
    assert_eq!((written.entries, written.files), (1, 2));
    // An independent reader (GNU tar) lists the archive.
    let listed = std::process::Command::new("tar")
        .arg("-tf")
        .arg(&bundle)
        .output()
        .unwrap();
    assert_eq!(
        stdout(&listed),
        format!(
            "bundle.json\nfiles/{}.sealed\nfiles/{}.sealed\n",
            refs[0].upload, refs[1].upload
        )
    );

    let db = dir.path().join("desk/desk.sqlite3");
    let import = |bundle: &Path| {
        desk(&db)
            .arg("import")
            .arg(bundle)
            .arg("--key")
            .arg(&key)
            .output()
            .unwrap()
    };
    let out = import(&bundle);
    assert_eq!(
        stdout(&out).trim(),
        "imported 1 new items (0 already stored) and 2 evidence files; opened 1; quarantined 0",
        "{}",
        stderr(&out)
    );
    let out = import(&bundle);
    assert_eq!(
        stdout(&out).trim(),
        "imported 0 new items (1 already stored) and 0 evidence files; opened 0; quarantined 0"
    );
    let out_dir = dir.path().join("opened");
    let case = api.state.store.inbox(0, 10).await.unwrap()[0]
        .case_id
        .clone();
    let out = desk(&db)
        .args(["files", cluebox_desk::cases::short(&case), "--out"])
        .arg(&out_dir)
        .arg("--key")
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read(out_dir.join("01-录像.mp4")).unwrap(), video);
    assert_eq!(
        std::fs::read(out_dir.join("02-票据.jpg")).unwrap(),
        b"not much"
    );

    // A bundle whose file was changed in transit: refused, nothing kept.
    let mut bytes = std::fs::read(&bundle).unwrap();
    let at = bytes.len() - 1024 - 600;
    bytes[at] ^= 1;
    let damaged = dir.path().join("damaged.tar");
    std::fs::write(&damaged, &bytes).unwrap();
    let other = dir.path().join("other/desk.sqlite3");
    let out = desk(&other)
        .arg("import")
        .arg(&damaged)
        .arg("--key")
        .arg(&key)
        .output()
        .unwrap();
    assert!(
        !out.status.success() && stderr(&out).contains("arrived damaged"),
        "{}",
        stderr(&out)
    );
    let kept = std::fs::read_dir(dir.path().join("other/files"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(kept, 1, "only the intact first file is kept");
}
