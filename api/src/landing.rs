//! The static-first pages made from the hotline profile at start: the landing page in Chinese
//! (`/`) and English (`/en/`), and the "needs WebAssembly" block that the form page shows until
//! the app starts (and keeps showing if it cannot start).
//!
//! They are plain HTML and CSS: readable with JavaScript and WebAssembly off. Every sentence not
//! taken from the profile is in the catalogs below.

use cluebox_protocol::profile::{Localized, Profile};
use html_escape::encode_text as esc;

/// One language's sentences for the static pages.
struct Catalog {
    lang: &'static str,
    other_lang_label: &'static str,
    other_lang_href: &'static str,
    prefix: &'static str,
    accepts: &'static str,
    not_accepted: &'static str,
    instead: &'static str,
    how: &'static str,
    how_steps: [&'static str; 4],
    start: &'static str,
    status: &'static str,
    notices: &'static str,
    confidential: &'static str,
    channels: &'static str,
    phone: &'static str,
    post: &'static str,
    needs_wasm: &'static str,
    needs_wasm_more: &'static str,
    scan: &'static str,
}

const ZH: Catalog = Catalog {
    lang: "zh-CN",
    other_lang_label: "English",
    other_lang_href: "/en/",
    prefix: "",
    accepts: "受理范围",
    not_accepted: "以下事项不在受理范围",
    instead: "：",
    how: "如何举报",
    how_steps: [
        "点击“我要举报”，依次填写四个简短部分：举报人、被举报人、问题情况、“保护伞”情况。约需三分钟。",
        "每一项都可以不填，不填的项目按“不清楚”处理。",
        "提交后会得到一个查询码。请抄写或保存好：任何人都无法找回它。",
        "凭查询码可随时查询受理、核查进度和结果，阅读答复，补充材料。",
    ],
    start: "我要举报",
    status: "查询进度",
    notices: "须知",
    confidential: "您的举报在您的设备上加密后才发送，只有受理机关能解密。本平台不记录您的 IP 地址，不使用 Cookie。",
    channels: "其他举报方式",
    phone: "举报电话",
    post: "来信地址",
    needs_wasm: "在线举报表单需要浏览器支持 WebAssembly，您的浏览器目前无法运行它（可能已被关闭，或浏览器版本过旧）。",
    needs_wasm_more: "请更换或更新浏览器后再试，或通过下面的电话、信件方式举报。",
    scan: "用手机扫码，在手机上举报",
};

const EN: Catalog = Catalog {
    lang: "en",
    other_lang_label: "中文",
    other_lang_href: "/",
    prefix: "?lang=en",
    accepts: "What we accept",
    not_accepted: "What we do not accept",
    instead: ": ",
    how: "How to report",
    how_steps: [
        "Press \"Report\" and fill in four short parts: about you, who you report, what happened, officials shielding it. It takes about three minutes.",
        "Every field is optional; a blank is recorded as \"unclear\".",
        "You then receive an inquiry code. Write it down or save it: nobody can recover it.",
        "With the code you can check acceptance, verification progress and the result at any time, read replies and add information.",
    ],
    start: "Report",
    status: "Check progress",
    notices: "Please note",
    confidential: "Your report is encrypted on your device before it is sent; only the receiving office can decrypt it. This site does not record your IP address and sets no cookies.",
    channels: "Other ways to report",
    phone: "Telephone",
    post: "By letter",
    needs_wasm: "The online report form needs WebAssembly, which your browser cannot run right now (it may be turned off, or the browser may be too old).",
    needs_wasm_more: "Please try another or an updated browser, or report by telephone or letter as shown below.",
    scan: "Scan with your phone to report from it",
};

fn t<'a>(c: &Catalog, text: &'a Localized) -> &'a str {
    text.get(c.lang)
}

fn channels(c: &Catalog, p: &Profile) -> String {
    format!(
        "<section class=\"card\"><h2>{}</h2><p>{}: <a href=\"tel:{}\">{}</a></p><p>{}: {}</p></section>",
        c.channels,
        c.phone,
        esc(&p.phone),
        esc(&p.phone),
        c.post,
        esc(t(c, &p.postal_address)),
    )
}

fn landing(c: &Catalog, p: &Profile, qr: &str) -> String {
    let list = |items: &[Localized]| {
        items
            .iter()
            .map(|i| format!("<li>{}</li>", esc(t(c, i))))
            .collect::<String>()
    };
    let not_accepted = p
        .not_accepted
        .iter()
        .map(|r| {
            format!(
                "<li>{}{}{}</li>",
                esc(t(c, &r.what)),
                c.instead,
                esc(t(c, &r.instead))
            )
        })
        .collect::<String>();
    let steps = c
        .how_steps
        .iter()
        .map(|s| format!("<li>{s}</li>"))
        .collect::<String>();
    let name = esc(t(c, &p.name));
    format!(
        "<!doctype html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <title>{name}</title><link rel=\"stylesheet\" href=\"/site.css\"></head><body>\
         <header class=\"top\"><span class=\"brand\">{name}</span>\
         <a class=\"button secondary\" href=\"{other_href}\" lang=\"{other_lang}\">{other_label}</a></header>\
         <main class=\"page\"><h1>{name}</h1><p class=\"intro\">{operator}</p><p>{summary}</p>\
         <div class=\"cta\"><a class=\"button primary\" href=\"/report{prefix}\">{start}</a>\
         <a class=\"button secondary\" href=\"/status{prefix}\">{status}</a></div>\
         <figure class=\"qr desktop-only\" id=\"entry-qr\">{qr}<figcaption>{scan}</figcaption></figure>\
         <section class=\"card\"><h2>{accepts_h}</h2><ul>{accepts}</ul></section>\
         <section class=\"card\"><h2>{not_h}</h2><ul>{not_accepted}</ul></section>\
         <section class=\"card\"><h2>{how_h}</h2><ol>{steps}</ol></section>\
         <section class=\"card\"><h2>{notices_h}</h2><ul>{notices}<li>{confidential}</li></ul></section>\
         {channels}</main></body></html>\n",
        lang = c.lang,
        other_href = c.other_lang_href,
        other_lang = if c.lang == "en" { "zh-CN" } else { "en" },
        other_label = c.other_lang_label,
        operator = esc(t(c, &p.operator)),
        summary = esc(t(c, &p.summary)),
        prefix = c.prefix,
        start = c.start,
        status = c.status,
        accepts_h = c.accepts,
        accepts = list(&p.accepts),
        not_h = c.not_accepted,
        how_h = c.how,
        notices_h = c.notices,
        notices = list(&p.notices),
        confidential = c.confidential,
        channels = channels(c, p),
        scan = c.scan,
    )
}

/// The landing pages: `(path, html)` for `index.html` (Chinese) and `en/index.html` (English),
/// each with the QR code of its form's address under `public_url` (shown to desktop visitors,
/// so they can move to their phone).
pub fn pages(profile: &Profile, public_url: &str) -> anyhow::Result<[(&'static str, String); 2]> {
    let qr = |c: &Catalog| {
        cluebox_protocol::qr::qr_svg(&format!("{public_url}/report{}", c.prefix), 0, 0, 240)
    };
    Ok([
        ("index.html", landing(&ZH, profile, &qr(&ZH)?)),
        ("en/index.html", landing(&EN, profile, &qr(&EN)?)),
    ])
}

/// The block the form page shows until the app starts, in both languages, with the hotline's
/// other channels.
pub fn fallback(profile: &Profile) -> String {
    [&ZH, &EN]
        .iter()
        .map(|c| {
            format!(
                "<div lang=\"{}\"><h1>{}</h1><p>{}</p><p>{}</p>{}</div>",
                c.lang,
                esc(t(c, &profile.name)),
                c.needs_wasm,
                c.needs_wasm_more,
                channels(c, profile)
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile() -> Profile {
        toml::from_str(include_str!("../../profiles/12337.toml")).unwrap()
    }

    #[test]
    fn landing_pages_say_what_the_issue_asks() {
        let p = profile();
        let [(zh_path, zh), (en_path, en)] = pages(&p, "https://jb.example.cn").unwrap();
        assert!(
            zh.contains("id=\"entry-qr\"") && zh.contains("<path"),
            "a vector QR code"
        );
        assert_eq!((zh_path, en_path), ("index.html", "en/index.html"));
        for needle in [
            "受理范围",
            "不在受理范围",
            "110",
            "三分钟",
            "如实举报",
            "实名",
            "加密",
            "12337",
            "href=\"/report\"",
            "href=\"/status\"",
            "<script",
        ] {
            let expected = needle != "<script";
            assert_eq!(zh.contains(needle), expected, "zh: {needle}");
        }
        for needle in [
            "What we accept",
            "three minutes",
            "truthfully",
            "href=\"/report?lang=en\"",
        ] {
            assert!(en.contains(needle), "en: {needle}");
        }
    }

    #[test]
    fn profile_text_is_escaped() {
        let mut p = profile();
        p.summary.zh = "<script>alert(1)</script>".into();
        let [(_, zh), _] = pages(&p, "https://jb.example.cn").unwrap();
        assert!(!zh.contains("<script>alert"));
        assert!(zh.contains("&lt;script&gt;"));
    }

    #[test]
    fn fallback_names_the_other_channels() {
        let block = fallback(&profile());
        assert!(
            block.contains("WebAssembly")
                && block.contains("tel:12337")
                && block.contains("来信地址")
        );
    }
}
