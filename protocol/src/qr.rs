//! QR codes as vector SVG (feature `qr`), for the landing page and printed posters: error
//! correction level M and the full four-module quiet zone, dark modules as one path, so the code
//! stays crisp at any size. Used by the landing page, the desk's posters and the poster page's
//! bundle (never the form's).

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// The QR code of `url` as an SVG element of `size` user units at (`x`, `y`).
pub fn qr_svg(url: &str, x: u32, y: u32, size: u32) -> Result<String, QrError> {
    let code = QrCode::with_error_correction_level(url.as_bytes(), EcLevel::M)
        .map_err(|e| QrError(e.to_string()))?;
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
        return Err(QrError("the QR renderer produced an unexpected SVG".into()));
    };
    Ok(format!(
        "<svg x=\"{x}\" y=\"{y}\" width=\"{size}\" height=\"{size}\" viewBox=\"{view_box}\" shape-rendering=\"crispEdges\">{}</svg>",
        &inner[open_end..close]
    ))
}

/// Why a QR code could not be made (for example, too much text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot make a QR code: {0}")]
pub struct QrError(pub String);
