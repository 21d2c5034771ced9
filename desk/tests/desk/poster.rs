//! Posters: the SVG from `cluebox-desk poster`, rasterised by headless Chromium at full size and
//! at a third of it, decodes with an independent QR decoder (zbarimg) to exactly the entry URL,
//! query strings and non-ASCII paths included.

use super::*;

/// Renders an SVG file to PNG with headless Chromium at a device scale factor.
fn rasterise(svg: &Path, png: &Path, scale: &str, home: &Path) {
    let out = std::process::Command::new("chromium")
        .env("HOME", home)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=794,1123",
        ])
        .arg(format!(
            "--user-data-dir={}",
            home.join("chromium").display()
        ))
        .arg(format!("--force-device-scale-factor={scale}"))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", svg.display()))
        .output()
        .expect("chromium is installed (./scripts/test.sh installs it)");
    assert!(
        png.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn decode(png: &Path) -> String {
    let out = std::process::Command::new("zbarimg")
        .args(["-q", "--raw"])
        .arg(png)
        .output()
        .expect("zbarimg is installed (./scripts/test.sh installs zbar-tools)");
    String::from_utf8_lossy(&out.stdout)
        .trim_end_matches('\n')
        .to_owned()
}

#[test]
fn posters_decode_to_their_url_at_full_size_and_at_a_third() {
    let dir = tempfile::tempdir().unwrap();
    for (i, url) in [
        "https://jb.example.cn/report?region=440000&src=poster",
        "https://举报.example.cn/举报/广东?地区=深圳&lang=zh",
    ]
    .into_iter()
    .enumerate()
    {
        let svg = dir.path().join(format!("poster-{i}.svg"));
        let out = desk(&dir.path().join("unused.sqlite3"))
            .args([
                "poster",
                "--url",
                url,
                "--title",
                "12337 涉黑涉恶线索举报",
                "--phone",
                "举报电话 12337",
            ])
            .args(["--line", "受理涉黑涉恶违法犯罪线索", "--out"])
            .arg(&svg)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let text = std::fs::read_to_string(&svg).unwrap();
        assert!(
            text.contains("<path") && !text.contains("<image"),
            "the QR code is vector, not a bitmap"
        );
        for scale in ["1", "0.3333"] {
            let png = dir.path().join(format!("poster-{i}-{scale}.png"));
            rasterise(&svg, &png, scale, dir.path());
            assert_eq!(decode(&png), url, "scale {scale}");
        }
    }
}

/// Rasterises a PDF's first page at `dpi` with pdftoppm.
fn rasterise_pdf(pdf: &Path, dpi: u32) -> std::path::PathBuf {
    let stem = pdf.with_extension(format!("{dpi}"));
    let out = std::process::Command::new("pdftoppm")
        .args(["-png", "-singlefile", "-r", &dpi.to_string()])
        .arg(pdf)
        .arg(&stem)
        .output()
        .expect("pdftoppm is installed (./scripts/test.sh installs poppler-utils)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stem.with_extension(format!("{dpi}.png"))
}

#[test]
fn pdf_posters_are_a4_keep_their_text_and_decode_at_full_size_and_at_a_third() {
    let dir = tempfile::tempdir().unwrap();
    let url = "https://举报.example.cn/举报/广东?地区=深圳&lang=zh";
    let pdf = dir.path().join("poster.pdf");
    let out = desk(&dir.path().join("unused.sqlite3"))
        .args([
            "poster",
            "--url",
            url,
            "--title",
            "12337 涉黑涉恶线索举报",
            "--phone",
            "举报电话 12337",
            "--line",
            "受理涉黑涉恶违法犯罪线索",
            "--out",
        ])
        .arg(&pdf)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF-"), "a PDF");
    // One A4 page (595 x 842 pt), with the Chinese text as text (the fonts were embedded).
    let info = std::process::Command::new("pdfinfo")
        .arg(&pdf)
        .output()
        .unwrap();
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(info.contains("Pages:           1"), "{info}");
    assert!(info.contains("595.") && info.contains("(A4)"), "A4: {info}");
    let text = std::process::Command::new("pdftotext")
        .arg(&pdf)
        .arg("-")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("涉黑涉恶线索举报")
            && text.contains("受理涉黑涉恶违法犯罪线索")
            && text.contains("举报.example.cn"),
        "the text survived: {text:?}"
    );
    // 150 dpi is a sharp print; 50 dpi is the same page at a third of the size.
    for dpi in [150, 50] {
        assert_eq!(decode(&rasterise_pdf(&pdf, dpi)), url, "{dpi} dpi");
    }
}
