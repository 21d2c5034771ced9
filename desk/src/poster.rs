//! `poster`: a printable A4 poster (SVG) with the hotline's entry QR code, for batches such as
//! one poster per region, each with its own URL.
//!
//! The QR code is vector (one SVG path per dark module) with error correction level M and the
//! full four-module quiet zone, so it stays crisp at any print size. Text is escaped; the poster
//! uses the system's CJK fonts when printed or rasterised.

use html_escape::encode_text as esc;
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// What goes on a poster.
pub struct Poster<'a> {
    /// The entry URL the QR code holds.
    pub url: &'a str,
    /// The big title.
    pub title: &'a str,
    /// A line under it.
    pub subtitle: &'a str,
    /// The hotline's phone number.
    pub phone: &'a str,
    /// A few lines of what the hotline accepts.
    pub lines: &'a [String],
}

/// The QR code of `url` as an SVG element of `size` user units at (`x`, `y`).
pub fn qr_svg(url: &str, x: u32, y: u32, size: u32) -> anyhow::Result<String> {
    let code = QrCode::with_error_correction_level(url.as_bytes(), EcLevel::M)?;
    let inner = code
        .render::<svg::Color>()
        .quiet_zone(true)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    // Nest the rendered document's contents under our own <svg> with its viewBox, so it scales
    // as vector graphics into the place given.
    let open_end = inner
        .find("<svg")
        .and_then(|start| inner[start..].find('>').map(|e| start + e + 1));
    let view_box = inner
        .split_once("viewBox=\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(v, _)| v.to_owned());
    let (Some(open_end), Some(view_box), Some(close)) = (open_end, view_box, inner.rfind("</svg>"))
    else {
        anyhow::bail!("unexpected QR code SVG");
    };
    Ok(format!(
        "<svg x=\"{x}\" y=\"{y}\" width=\"{size}\" height=\"{size}\" viewBox=\"{view_box}\" shape-rendering=\"crispEdges\">{}</svg>",
        &inner[open_end..close]
    ))
}

/// The poster, A4 portrait (210 x 297 mm), as an SVG document.
pub fn render(p: &Poster<'_>) -> anyhow::Result<String> {
    let lines = p
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            format!(
                "<text x=\"105\" y=\"{}\" font-size=\"6\" text-anchor=\"middle\">{}</text>",
                232 + i as u32 * 9,
                esc(l)
            )
        })
        .collect::<String>();
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 210 297\" width=\"210mm\" height=\"297mm\" \
         font-family=\"'Noto Sans CJK SC', 'PingFang SC', 'Microsoft YaHei', sans-serif\">\
         <rect width=\"210\" height=\"297\" fill=\"#ffffff\"/>\
         <rect width=\"210\" height=\"40\" fill=\"#b3261e\"/>\
         <text x=\"105\" y=\"26\" font-size=\"14\" font-weight=\"700\" fill=\"#ffffff\" text-anchor=\"middle\">{title}</text>\
         <text x=\"105\" y=\"56\" font-size=\"8\" text-anchor=\"middle\">{subtitle}</text>\
         {qr}\
         <text x=\"105\" y=\"208\" font-size=\"5\" text-anchor=\"middle\" font-family=\"monospace\">{url}</text>\
         <text x=\"105\" y=\"222\" font-size=\"9\" font-weight=\"700\" text-anchor=\"middle\">{phone}</text>\
         {lines}</svg>\n",
        title = esc(p.title),
        subtitle = esc(p.subtitle),
        qr = qr_svg(p.url, 45, 70, 120)?,
        url = esc(p.url),
        phone = esc(p.phone),
    ))
}
