//! The poster page (`/poster`): filled from the profile, then given entry URLs with a query
//! string and with a non-ASCII host and path; each poster, printed to an A4 PDF by Chromium and
//! rasterised with pdftoppm, decodes with an independent QR decoder (zbarimg) to exactly its
//! URL, at full resolution and at a third of it; on A3 too.

use std::path::Path;

use cluebox_e2e::{Browser, Device, Portal};
use fantoccini::wd::{PrintConfiguration, PrintSize};

/// Rasterises the PDF's first page at `dpi` and decodes the QR code on it.
fn decode_pdf(pdf: &Path, dpi: u32) -> anyhow::Result<String> {
    let png = pdf.with_extension(format!("{dpi}dpi"));
    let out = std::process::Command::new("pdftoppm")
        .args(["-png", "-singlefile", "-r", &dpi.to_string()])
        .arg(pdf)
        .arg(&png)
        .output()?;
    anyhow::ensure!(out.status.success(), "pdftoppm: {out:?}");
    let out = std::process::Command::new("zbarimg")
        .args(["-q", "--raw"])
        .arg(png.with_extension(format!("{dpi}dpi.png")))
        .output()?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .trim_end_matches('\n')
        .to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_printed_poster_decodes_to_its_entry_url() -> anyhow::Result<()> {
    let portal = Portal::start("12337").await?;
    let browser = Browser::start(Device::Desktop, "poster").await?;
    browser
        .client
        .goto(&format!("{}/poster", portal.base))
        .await?;
    // Filled in from the profile: this server's form address and the hotline's phone number.
    browser
        .wait_js("document.querySelector('#poster-phone')?.value === '12337'")
        .await?;
    let shown = browser.text(".poster-url").await?;
    anyhow::ensure!(
        shown == format!("{}/report", portal.base),
        "default entry URL {shown:?}"
    );
    browser.screenshot("poster-default").await?;

    let dir = cluebox_e2e::workspace().join("target/e2e-screenshots/poster");
    std::fs::create_dir_all(&dir)?;
    for (i, url) in [
        "https://jb.example.cn/report?region=440000&src=poster",
        "https://举报.example.cn/举报/广东?地区=深圳&lang=zh",
    ]
    .into_iter()
    .enumerate()
    {
        let field = browser.wait("#poster-url").await?;
        field.clear().await?;
        field.send_keys(url).await?;
        browser
            .wait_js(&format!(
                "document.querySelector('.poster-url').textContent === {}",
                serde_json::to_string(url)?
            ))
            .await?;
        browser.wait("#poster-qr svg path").await?;
        let pdf = browser
            .client
            .print(
                PrintConfiguration::builder()
                    .size(PrintSize::A4)
                    .background(true)
                    .build()
                    .map_err(|e| anyhow::anyhow!("print settings: {e:?}"))?,
            )
            .await?;
        let path = dir.join(format!("poster-{i}.pdf"));
        std::fs::write(&path, pdf)?;
        // 150 dpi is a sharp A4 print; 50 dpi is the same page at a third of the size.
        for dpi in [150, 50] {
            let decoded = decode_pdf(&path, dpi)?;
            anyhow::ensure!(decoded == url, "at {dpi} dpi the poster reads {decoded:?}");
        }
    }
    // A3: the same poster on the larger sheet still reads, also at a third of the resolution.
    let last = "https://举报.example.cn/举报/广东?地区=深圳&lang=zh";
    browser
        .client
        .execute(
            "const s = document.querySelector('#poster-paper'); s.value = 'a3'; \
             s.dispatchEvent(new Event('change'));",
            vec![],
        )
        .await?;
    browser
        .wait_js("document.querySelector('#poster').dataset.paper === 'a3'")
        .await?;
    let pdf = browser
        .client
        .print(
            PrintConfiguration::builder()
                .size(PrintSize {
                    width: 29.7,
                    height: 42.0,
                })
                .background(true)
                .build()
                .map_err(|e| anyhow::anyhow!("print settings: {e:?}"))?,
        )
        .await?;
    let path = dir.join("poster-a3.pdf");
    std::fs::write(&path, pdf)?;
    for dpi in [100, 33] {
        let decoded = decode_pdf(&path, dpi)?;
        anyhow::ensure!(decoded == last, "A3 at {dpi} dpi reads {decoded:?}");
    }
    browser.screenshot("poster-custom").await?;
    let problems = browser.problems().await?;
    anyhow::ensure!(
        problems.is_empty(),
        "console errors or CSP violations: {problems:?}"
    );
    for url in browser.requested_urls().await? {
        anyhow::ensure!(
            url.starts_with(&portal.base),
            "a request left the origin: {url}"
        );
    }
    browser.close().await?;
    Ok(())
}
