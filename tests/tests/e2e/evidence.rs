//! Evidence files from a phone: a photo carrying a location, a camera model and serial and an
//! author (written by exiftool) is attached in the form, cleaned and sealed in the browser,
//! uploaded in pieces and filed with the report; the desk opens it, and exiftool (an independent
//! reader) finds none of that in the file the desk writes out, which is still a JPEG. A file over
//! the profile's limit is refused before any upload.

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

#[tokio::test]
async fn a_photo_from_a_phone_reaches_the_desk_without_its_location() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let photo = dir.path().join("IMG_0001.jpg");
    tagged_photo(&photo)?;
    // Over the 2 GiB limit, without writing 3 GiB: a sparse file.
    let huge = dir.path().join("huge.mp4");
    std::fs::File::create(&huge)?.set_len(3 << 30)?;

    let portal = Portal::start("12337").await?;
    let browser = Browser::start(Device::Phone, "evidence-phone").await?;
    browser
        .client
        .goto(&format!("{}/report", portal.base))
        .await?;
    browser
        .wait_js("document.querySelector('.step:not([hidden]) h2')")
        .await?;
    browser.next_step().await?;
    browser.next_step().await?;
    // The picker loads when its step shows.
    let input = browser
        .wait(".files-slot input[type=file][multiple]")
        .await?;
    input.send_keys(&huge.to_string_lossy()).await?;
    browser
        .wait_js("document.querySelector('.files-slot .error').textContent.includes('超过')")
        .await?;
    let uploads = std::fs::read_dir(portal.data.join("uploads"))?.count();
    anyhow::ensure!(uploads == 0, "nothing was uploaded for the refused file");
    input.send_keys(&photo.to_string_lossy()).await?;
    browser
        .wait_js("document.querySelector('.file.ready')")
        .await?;
    let line = browser.text(".file .what").await?;
    anyhow::ensure!(
        line.contains("位置") && line.contains("设备型号"),
        "what was removed: {line}"
    );
    anyhow::ensure!(
        browser.text(".file .name").await? == "IMG_0001.jpg",
        "the file's name is shown"
    );
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
    let desk_dir = tempfile::tempdir()?;
    let mut desk = db::open(&desk_dir.path().join("desk.sqlite3"))?;
    let office = keyfile::read(&portal.data.join("demo-office.key"), |_| {
        anyhow::bail!("the demo key has no passphrase")
    })?;
    let remote = Remote::connect(&portal.base, &Default::default())?;
    sync::pull(&mut desk, &remote, &portal.desk_token(), "officer").await?;
    intake::open_pending(&mut desk, std::slice::from_ref(&office), "officer")?;
    let case_id: String = desk.query_row("SELECT case_id FROM cases", [], |r| r.get(0))?;
    let files = evidence::of_case(&desk, &case_id)?;
    anyhow::ensure!(files.len() == 1, "{files:?}");
    anyhow::ensure!(
        files[0].name.as_deref() == Some("IMG_0001.jpg")
            && files[0]
                .cleaning
                .as_deref()
                .is_some_and(|c| c.contains("location")),
        "{files:?}"
    );
    let out = desk_dir.path().join("case");
    let written = evidence::export(&desk, std::slice::from_ref(&office), &case_id, &out)?;
    let after = exiftool(&["-a", "-u", "-G1", "-s"], &written[0])?;
    for word in [
        "GPS",
        "Serial",
        "SN-0042",
        "Make",
        "Model",
        "Artist",
        "Zhang San",
        "DateTimeOriginal",
    ] {
        anyhow::ensure!(
            !after.contains(word),
            "exiftool finds {word} in the file the desk opened:\n{after}"
        );
    }
    anyhow::ensure!(
        after.contains("ImageWidth") && after.contains("64"),
        "still a JPEG of the same size:\n{after}"
    );
    Ok(())
}
