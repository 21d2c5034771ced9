//! Evidence files from a phone: a photo and a short video carrying a location, a camera model
//! and serial and an author (written by exiftool), the video also a GoPro-style telemetry track
//! (GPS fixes and the camera's name in samples among the video's), are attached in the form,
//! cleaned and sealed in the browser, uploaded in pieces and filed with the report; the desk
//! opens them, and exiftool (an independent reader, with `-ee` for the telemetry) finds none of
//! that in the files the desk writes out, which are still a JPEG and a movie. A file over the
//! profile's limit is refused before any upload.
//! A server that goes away in the middle of a large file's upload and comes back gets the rest
//! of it (not the whole file again), and exactly one report is filed. A file attached before
//! the reporter names the region is sealed again for that region's office.

use cluebox_desk::remote::Remote;
use cluebox_desk::{db, evidence, intake, keyfile, sync};
use cluebox_e2e::{Browser, Device, Portal};

/// exiftool's report of a file: `-G1 -s` tag names and values, one per line.
fn exiftool(args: &[&str], path: &std::path::Path) -> anyhow::Result<String> {
    let out = std::process::Command::new("exiftool")
        .args(args)
        .arg(path)
        .output()
        .map_err(|e| anyhow::anyhow!("exiftool ({e}): ./scripts/test.sh installs it"))?;
    anyhow::ensure!(out.status.success(), "exiftool failed: {:?}", out);
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A 64x48 JPEG with a location, a camera and an author in its EXIF.
fn tagged_photo(path: &std::path::Path) -> anyhow::Result<()> {
    let (w, h) = (64u16, 48u16);
    let pixels: Vec<u8> = (0..u32::from(w) * u32::from(h))
        .flat_map(|i| [(i * 7) as u8, (i * 13) as u8, (i * 29) as u8])
        .collect();
    let mut jpeg = Vec::new();
    jpeg_encoder::Encoder::new(&mut jpeg, 90).encode(
        &pixels,
        w,
        h,
        jpeg_encoder::ColorType::Rgb,
    )?;
    std::fs::write(path, jpeg)?;
    exiftool(
        &[
            "-q",
            "-overwrite_original",
            "-GPSLatitude=23.1291",
            "-GPSLatitudeRef=N",
            "-GPSLongitude=113.2644",
            "-GPSLongitudeRef=E",
            "-Make=TestCam",
            "-Model=Phone X",
            "-SerialNumber=SN-0042-SECRET",
            "-Artist=Zhang San",
            "-DateTimeOriginal=2026:11:20 21:14:03",
        ],
        path,
    )?;
    let before = exiftool(&["-a", "-G1", "-s"], path)?;
    anyhow::ensure!(
        before.contains("GPSLatitude") && before.contains("SN-0042-SECRET"),
        "the fixture carries its tags: {before}"
    );
    Ok(())
}

/// A desk that has pulled and opened what the portal holds: one case.
struct Desk {
    dir: tempfile::TempDir,
    db: rusqlite::Connection,
    office: cluebox_protocol::keys::SecretKey,
    case_id: String,
}

impl Desk {
    async fn pull_and_open(portal: &Portal) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let mut db = db::open(&dir.path().join("desk.sqlite3"))?;
        let office = keyfile::read(&portal.data.join("demo-office.key"), |_| {
            anyhow::bail!("the demo key has no passphrase")
        })?;
        let remote = Remote::connect(&portal.base, &Default::default())?;
        sync::pull(&mut db, &remote, &portal.desk_token(), "officer").await?;
        intake::open_pending(&mut db, std::slice::from_ref(&office), "officer")?;
        let case_id = db.query_row("SELECT case_id FROM cases", [], |r| r.get(0))?;
        Ok(Self {
            dir,
            db,
            office,
            case_id,
        })
    }

    /// The case's files as `show` lists them.
    fn files(&self) -> anyhow::Result<Vec<evidence::CaseFile>> {
        evidence::of_case(&self.db, &self.case_id)
    }

    /// The case's files opened into a directory, as `cluebox-desk files --out` does.
    fn open_files(&self) -> anyhow::Result<Vec<std::path::PathBuf>> {
        evidence::export(
            &self.db,
            std::slice::from_ref(&self.office),
            &self.case_id,
            &self.dir.path().join("case"),
        )
    }
}

/// A short MP4 with a location, a device, an author, a date and XMP, written by exiftool, and
/// a GoPro-style telemetry track whose sample holds a GPS fix and the camera's name.
fn tagged_video(path: &std::path::Path) -> anyhow::Result<()> {
    std::fs::write(path, cluebox_scrub::mp4::fixture_with_telemetry(b"isom"))?;
    exiftool(
        &[
            "-q",
            "-overwrite_original",
            "-Keys:GPSCoordinates=23.1291 N, 113.2644 E",
            "-UserData:GPSCoordinates=23.1291 N, 113.2644 E",
            "-Keys:Make=TestCam",
            "-Keys:Model=Phone X",
            "-Keys:CreationDate=2026:11:20 21:14:03",
            "-XMP:Artist=Zhang San",
        ],
        path,
    )?;
    let before = exiftool(&["-ee", "-a", "-G1", "-s"], path)?;
    anyhow::ensure!(
        before.contains("GPSCoordinates")
            && before.contains("TestCam")
            && before.contains("GPSLatitude")
            && before.contains("HERO12 Black"),
        "the fixture carries its tags: {before}"
    );
    Ok(())
}

#[tokio::test]
async fn a_photo_and_a_video_from_a_phone_reach_the_desk_without_their_location()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let photo = dir.path().join("IMG_0001.jpg");
    tagged_photo(&photo)?;
    let video = dir.path().join("VID_0002.mp4");
    tagged_video(&video)?;
    // Over the 2 GiB limit, without writing 3 GiB: a sparse file.
    let huge = dir.path().join("huge.mp4");
    std::fs::File::create(&huge)?.set_len(3 << 30)?;

    let portal = Portal::start("12337").await?;
    let browser = Browser::start(Device::Phone, "evidence-phone").await?;
    // The picker loads when its step shows.
    let input = browser.files_step(&portal.base).await?;
    input.send_keys(&huge.to_string_lossy()).await?;
    browser
        .wait_js("document.querySelector('.files-slot .error').textContent.includes('超过')")
        .await?;
    let uploads = std::fs::read_dir(portal.data.join("uploads"))?.count();
    anyhow::ensure!(uploads == 0, "nothing was uploaded for the refused file");
    input
        .send_keys(&format!(
            "{}\n{}",
            photo.to_string_lossy(),
            video.to_string_lossy()
        ))
        .await?;
    browser
        .wait_js("document.querySelectorAll('.file.ready').length === 2")
        .await?;
    let rows: Vec<(String, String)> = serde_json::from_value(
        browser
            .client
            .execute(
                "return [...document.querySelectorAll('.file')].map(f => [f.querySelector('.name').textContent, f.querySelector('.what').textContent]);",
                vec![],
            )
            .await?,
    )?;
    anyhow::ensure!(
        rows.iter().map(|r| r.0.as_str()).collect::<Vec<_>>() == ["IMG_0001.jpg", "VID_0002.mp4"],
        "the files' names are shown: {rows:?}"
    );
    for (name, line) in &rows {
        anyhow::ensure!(
            line.contains("位置") && line.contains("设备型号"),
            "what was removed from {name}: {line}"
        );
    }
    browser
        .client
        .execute(
            "document.querySelector('.files-slot').scrollIntoView();",
            vec![],
        )
        .await?;
    browser.screenshot("file-ready").await?;
    browser.next_step().await?;
    browser.next_step().await?;
    browser.screenshot("review").await?;
    browser.wait("#submit").await?.click().await?;
    browser.text("#inquiry-code").await?;
    browser.screenshot("receipt").await?;

    // The desk pulls the report with its file and opens it.
    let desk = Desk::pull_and_open(&portal).await?;
    let files = desk.files()?;
    anyhow::ensure!(files.len() == 2, "{files:?}");
    for (file, name) in files.iter().zip(["IMG_0001.jpg", "VID_0002.mp4"]) {
        anyhow::ensure!(
            file.name.as_deref() == Some(name)
                && file
                    .cleaning
                    .as_deref()
                    .is_some_and(|c| c.contains("location")),
            "{files:?}"
        );
    }
    let written = desk.open_files()?;
    anyhow::ensure!(written.len() == 2, "{written:?}");
    for (path, kind) in written.iter().zip(["JPEG", "MP4"]) {
        let after = exiftool(&["-ee", "-a", "-u", "-G1", "-s"], path)?;
        for word in [
            "GPS",
            "HERO",
            "Serial",
            "SN-0042",
            "Make",
            "Model",
            "Artist",
            "Zhang San",
            "DateTimeOriginal",
            "CreationDate",
            "XMP",
        ] {
            anyhow::ensure!(
                !after.contains(word),
                "exiftool finds {word} in {} as the desk opened it:\n{after}",
                path.display()
            );
        }
        anyhow::ensure!(
            after
                .lines()
                .any(|l| l.contains("FileType ") && l.ends_with(&format!(": {kind}")))
                && after.contains("ImageWidth")
                && after.contains(": 64"),
            "still a {kind} of the same size:\n{after}"
        );
    }
    Ok(())
}

/// The upload bar's value (bytes the server has, as a fraction) of the first file's row.
const BAR: &str =
    "const p = document.querySelector('.file progress'); return p ? p.value / p.max : 0;";

#[tokio::test]
async fn a_server_lost_mid_upload_gets_the_rest_of_the_file_and_one_report() -> anyhow::Result<()> {
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir()?;
    // 96 MiB of a recording the worker cannot clean (zeros: a sparse file).
    let recording = dir.path().join("call-recording.amr");
    std::fs::File::create(&recording)?.set_len(96 << 20)?;

    let mut portal = Portal::start("12337").await?;
    let addr = portal.base.trim_start_matches("http://").parse()?;
    let browser = Browser::start(Device::Phone, "evidence-cut").await?;
    let c = &browser.client;
    browser
        .files_step(&portal.base)
        .await?
        .send_keys(&recording.to_string_lossy())
        .await?;
    // Part of it is up: the server goes away.
    let started = Instant::now();
    let before = loop {
        let bar = c.execute(BAR, vec![]).await?.as_f64().unwrap_or_default();
        if bar > 0.1 {
            break bar;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(60),
            "the upload did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    portal.stop().await;
    anyhow::ensure!(
        before < 0.9,
        "the cut came too late to test anything ({before})"
    );
    browser
        .wait_js("document.querySelector('.file .what')?.textContent.includes('网络中断')")
        .await?;
    c.execute(
        "document.querySelector('.files-slot').scrollIntoView();",
        vec![],
    )
    .await?;
    browser.screenshot("upload-waiting").await?;
    let held = c.execute(BAR, vec![]).await?.as_f64().unwrap_or_default();
    let data = portal.data.clone();
    let portal = Portal::start_on("12337", &data, addr).await?;

    // It resumes where the server stands: the bar never goes back.
    let mut lowest = 1.0f64;
    let started = Instant::now();
    loop {
        let (bar, ready): (f64, bool) = serde_json::from_value(
            c.execute(
                "const p = document.querySelector('.file progress'); return [p.value / p.max, !!document.querySelector('.file.stored')];",
                vec![],
            )
            .await?,
        )?;
        lowest = lowest.min(bar);
        if ready {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(120),
            "the upload did not finish after the server came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::ensure!(
        lowest >= held.min(before),
        "the upload went back from {held} to {lowest}: it started over"
    );
    browser.screenshot("upload-resumed").await?;
    browser.next_step().await?;
    browser.next_step().await?;
    browser.wait("#submit").await?.click().await?;
    browser.text("#inquiry-code").await?;
    let inbox = portal.state.store.inbox(0, 10).await?;
    anyhow::ensure!(inbox.len() == 1, "{} reports", inbox.len());
    anyhow::ensure!(inbox[0].files.len() == 1, "{:?}", inbox[0].files);

    // The desk gets the whole file, byte for byte.
    let desk = Desk::pull_and_open(&portal).await?;
    let written = desk.open_files()?;
    let opened = std::fs::metadata(&written[0])?.len();
    anyhow::ensure!(opened == 96 << 20, "{opened} bytes opened");
    let mut file = std::fs::File::open(&written[0])?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = std::io::Read::read(&mut file, &mut buf)?;
        if n == 0 {
            break;
        }
        anyhow::ensure!(buf[..n].iter().all(|b| *b == 0), "the file's bytes changed");
    }
    browser.close().await
}

#[tokio::test]
async fn a_follow_up_from_the_status_page_brings_a_photo_to_the_desk() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let photo = dir.path().join("IMG_0003.jpg");
    tagged_photo(&photo)?;
    let portal = Portal::start("12337").await?;
    let browser = Browser::start(Device::Phone, "evidence-follow-up").await?;
    let c = &browser.client;
    browser
        .walk_to_submit(&portal.base, "先举报，照片后补")
        .await?;
    browser.wait("#submit").await?.click().await?;
    let code = browser.text("#inquiry-code").await?;
    browser.wait("#code-saved").await?.click().await?;
    c.goto(&format!("{}/status", portal.base)).await?;
    browser.wait("#code").await?.send_keys(&code).await?;
    browser.wait("#look-up").await?.click().await?;
    browser.wait("#current-status").await?;
    // The form's picker, under the follow-up message.
    browser
        .wait(".follow-up-form .files-slot input[type=file][multiple]")
        .await?
        .send_keys(&photo.to_string_lossy())
        .await?;
    browser
        .wait_js("document.querySelector('.follow-up-form .file.stored')")
        .await?;
    let line = browser.text(".follow-up-form .file .what").await?;
    anyhow::ensure!(line.contains("位置"), "what was removed: {line}");
    browser
        .wait("#follow-up")
        .await?
        .send_keys("补充现场照片")
        .await?;
    c.execute(
        "document.querySelector('.follow-up-form').scrollIntoView();",
        vec![],
    )
    .await?;
    browser.screenshot("follow-up-with-photo").await?;
    browser.tap("#send-follow-up").await?;
    browser
        .wait_js("document.querySelector('#follow-ups')?.textContent.includes('补充现场照片')")
        .await?;
    // The picker forgets the filed photo: the next follow-up starts empty.
    browser
        .wait_js("document.querySelectorAll('.follow-up-form .file').length === 0")
        .await?;
    browser.screenshot("follow-up-sent").await?;

    let inbox = portal.state.store.inbox(0, 10).await?;
    anyhow::ensure!(inbox.len() == 2, "{} items", inbox.len());
    anyhow::ensure!(
        inbox[0].files.is_empty() && inbox[1].files.len() == 1,
        "the follow-up carries the file: {inbox:?}"
    );
    let desk = Desk::pull_and_open(&portal).await?;
    let files = desk.files()?;
    anyhow::ensure!(
        files.len() == 1 && files[0].name.as_deref() == Some("IMG_0003.jpg"),
        "{files:?}"
    );
    let written = desk.open_files()?;
    let after = exiftool(&["-a", "-u", "-G1", "-s"], &written[0])?;
    anyhow::ensure!(!after.contains("GPS"), "{after}");
    browser.close().await
}

/// The sealed upload ids named in the form's files state (`<html data-files>`).
async fn uploads_named(browser: &Browser) -> anyhow::Result<Vec<String>> {
    let text = browser
        .client
        .execute(
            "return document.documentElement.getAttribute('data-files') || '';",
            vec![],
        )
        .await?;
    let text = text.as_str().unwrap_or_default();
    Ok(text
        .split(|c: char| !c.is_ascii_hexdigit())
        .filter(|word| word.len() == 32)
        .map(str::to_owned)
        .collect())
}

#[tokio::test]
async fn a_file_attached_before_the_region_changes_is_sealed_again_for_its_office()
-> anyhow::Result<()> {
    use cluebox_protocol::envelope;
    use cluebox_protocol::keys::SecretKey;

    let dir = tempfile::tempdir()?;
    let photo = dir.path().join("IMG_0003.jpg");
    tagged_photo(&photo)?;
    // A deployment with a national office and one regional office (Guangdong, 440000).
    let (national, guangdong) = (SecretKey::generate(), SecretKey::generate());
    let (national_pk, guangdong_pk) = (national.public_key(), guangdong.public_key());
    let portal = Portal::start_with("12337", move |c| {
        let token = "a-desk-token-for-the-region-test";
        std::fs::create_dir_all(&c.data_dir).expect("data directory");
        std::fs::write(c.data_dir.join("demo-desk-token"), token).expect("desk token");
        c.secrets_dir = Some(c.data_dir.with_file_name("secrets"));
        c.desk_token_hashes = vec![cluebox_api::secrets::desk_token_hash(token)];
        c.recipients = Some(cluebox_protocol::profile::Recipients {
            national: vec![national_pk],
            regions: [("440000".to_owned(), vec![guangdong_pk])].into(),
        });
    })
    .await?;
    let stored = |upload: &str| std::fs::read(portal.data.join("uploads").join(upload));
    let opens = |key: &SecretKey, sealed: &[u8]| envelope::open_with_any(&[key], sealed).is_ok();

    let browser = Browser::start(Device::Phone, "evidence-region").await?;
    let input = browser.files_step(&portal.base).await?;
    input.send_keys(&photo.to_string_lossy()).await?;
    browser
        .wait_js("document.querySelectorAll('.file.ready').length === 1")
        .await?;
    let first = uploads_named(&browser).await?;
    anyhow::ensure!(first.len() == 1, "one upload: {first:?}");
    let sealed = stored(&first[0])?;
    anyhow::ensure!(
        opens(&national, &sealed) && !opens(&guangdong, &sealed),
        "no region chosen yet: sealed for the national office only"
    );

    // The reporter goes back and names the region: the file is sealed again for its office.
    choose_region_and_wait(&browser, "440000", &first[0]).await?;
    browser
        .wait_js("document.querySelector('.files-slot .error').textContent.includes('地区已更改')")
        .await?;
    browser
        .client
        .execute(
            "document.querySelector('.files-slot').scrollIntoView();",
            vec![],
        )
        .await?;
    browser.screenshot("region-changed").await?;
    let second = uploads_named(&browser).await?;
    anyhow::ensure!(
        second.len() == 1 && second != first,
        "{first:?} then {second:?}"
    );
    let sealed = stored(&second[0])?;
    anyhow::ensure!(
        opens(&national, &sealed) && opens(&guangdong, &sealed),
        "sealed for the national office and Guangdong's"
    );
    // The first upload is deleted (the worker stops or deletes it).
    let gone = async {
        for _ in 0..50 {
            if !portal.data.join("uploads").join(&first[0]).exists() {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        false
    };
    anyhow::ensure!(
        gone.await,
        "the upload sealed for the old offices is deleted"
    );

    // Back to no region: the national office alone again, so the file goes again.
    choose_region_and_wait(&browser, "", &second[0]).await?;
    let third = uploads_named(&browser).await?;
    let sealed = stored(&third[0])?;
    anyhow::ensure!(opens(&national, &sealed) && !opens(&guangdong, &sealed));
    browser.close().await?;
    Ok(())
}

/// Chooses `region` in the form's region select and waits until the one attached file has been
/// sealed and uploaded again under a name other than `replaced`.
async fn choose_region_and_wait(
    browser: &Browser,
    region: &str,
    replaced: &str,
) -> anyhow::Result<()> {
    browser
        .client
        .execute(
            "const s = document.getElementById('f-reported-region'); s.value = arguments[0]; \
             s.dispatchEvent(new Event('change', { bubbles: true }));",
            vec![region.into()],
        )
        .await?;
    browser
        .wait_js(&format!(
            "document.documentElement.getAttribute('data-files-busy') === '0' \
             && /[0-9a-f]{{32}}/.test(document.documentElement.getAttribute('data-files')) \
             && !document.documentElement.getAttribute('data-files').includes('{replaced}') \
             && document.querySelectorAll('.file.ready').length === 1"
        ))
        .await?;
    Ok(())
}
