//! `poster`: a printable A4 poster (SVG, or PDF made from it) with the hotline's entry QR code,
//! for batches such as one poster per region, each with its own URL.
//!
//! The QR code is vector ([`cluebox_protocol::qr`]), so it stays crisp at any print size. Text
//! is escaped; the poster uses the system's CJK fonts when printed or rasterised.

use anyhow::Context as _;
use cluebox_protocol::qr::qr_svg;
use html_escape::encode_text as esc;

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
         <text x=\"105\" y=\"208\" font-size=\"5\" text-anchor=\"middle\" font-family=\"'Noto Sans Mono CJK SC', 'DejaVu Sans Mono', monospace\">{url}</text>\
         <text x=\"105\" y=\"222\" font-size=\"9\" font-weight=\"700\" text-anchor=\"middle\">{phone}</text>\
         {lines}</svg>\n",
        title = esc(p.title),
        subtitle = esc(p.subtitle),
        qr = qr_svg(p.url, 45, 70, 120)?,
        url = esc(p.url),
        phone = esc(p.phone),
    ))
}

/// The poster as a one-page A4 PDF, still vector: [`svg2pdf`] (Typst's converter) turns the
/// SVG into PDF paths and text with the system fonts the poster names embedded (for Chinese,
/// Noto Sans CJK from Debian's fonts-noto-cjk).
pub fn pdf(svg: &str) -> anyhow::Result<Vec<u8>> {
    let mut options = svg2pdf::usvg::Options::default();
    let fonts = options.fontdb_mut();
    fonts.load_system_fonts();
    // usvg's generic families default to Windows fonts (Arial, Courier New); name Debian's.
    fonts.set_sans_serif_family("Noto Sans CJK SC");
    fonts.set_monospace_family("Noto Sans Mono CJK SC");
    anyhow::ensure!(
        !options.fontdb.is_empty(),
        "no fonts are installed, so the poster's text cannot go into a PDF (write an SVG instead)"
    );
    let tree = svg2pdf::usvg::Tree::from_str(svg, &options).context("reading the poster SVG")?;
    // The SVG is sized in millimetres; at 96 dpi its CSS pixels come out as an A4 page.
    svg2pdf::to_pdf(
        &tree,
        svg2pdf::ConversionOptions::default(),
        svg2pdf::PageOptions { dpi: 96.0 },
    )
    .map_err(|e| anyhow::anyhow!("cannot make the PDF: {e:?}"))
}
