//! The static-first pages made from the hotline profile at start: the landing page in Chinese
//! (`/`) and English (`/en/`), the 404 page, `robots.txt`, and the block each app page shows
//! before its WebAssembly starts (a calm loading line), when scripts are off (what is off, and
//! the other ways to report) and when it cannot start (detected by a small inline boot check).
//!
//! They are plain HTML and CSS: readable with JavaScript and WebAssembly off. Every sentence not
//! taken from the profile is in the catalogs below. Only the landing pages are meant to be
//! found by search engines ([`crate::headers`] sends `noindex` on everything else).

use cluebox_protocol::profile::{Localized, Profile};
use html_escape::{encode_double_quoted_attribute as attr, encode_text as esc};

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
    /// Sentences of "how to report"; `{n}` is the number of steps, `{parts}` the sections.
    how_steps: [&'static str; 3],
    list_sep: &'static str,
    start: &'static str,
    status: &'static str,
    notices: &'static str,
    assurances: [&'static str; 3],
    emergency: &'static str,
    channels: &'static str,
    phone: &'static str,
    post: &'static str,
    home: &'static str,
    loading: [&'static str; 3],
    slow: &'static str,
    failed: &'static str,
    reload: &'static str,
    no_script: [&'static str; 3],
    scan: &'static str,
    scope_question: &'static str,
    scope_elsewhere: &'static str,
    not_found_title: &'static str,
    not_found: &'static str,
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
        "点击“我要举报”，共 {n} 步：依次填写{parts}，最后核对并提交。约需三分钟。",
        "提交后会得到一个查询码。请抄写或保存好：任何人都无法找回它。",
        "凭查询码可随时查询受理、核查进度和结果，阅读答复，补充材料。",
    ],
    list_sep: "、",
    start: "我要举报",
    status: "查询进度",
    notices: "须知",
    assurances: [
        "举报内容在您的手机上加密后才发送，只有受理机关能解密。",
        "本平台不记录您的 IP 地址，不使用 Cookie。",
        "默认匿名，是否留下姓名由您决定；每一项都可以不填，不填的按“不清楚”处理。",
    ],
    emergency: "紧急情况请立即拨打",
    channels: "其他举报方式",
    phone: "举报电话",
    post: "来信地址",
    home: "返回首页",
    loading: [
        "正在打开举报表……",
        "正在打开查询页……",
        "正在打开海报生成页……",
    ],
    slow: "网络较慢，仍在加载，请稍候；也可以通过下面的电话、信件方式举报。",
    failed: "页面未能启动：此浏览器可能无法运行 WebAssembly（可能已被关闭，或版本过旧），或网络中断使文件未能加载。请刷新重试、更换或更新浏览器，或通过下面的方式举报。",
    reload: "刷新重试",
    no_script: [
        "此浏览器已关闭 JavaScript。在线举报表单需要它：举报内容在您的手机上加密后才发送。请为本网站开启 JavaScript，或通过下面的方式举报。",
        "此浏览器已关闭 JavaScript。查询进度需要它：查询码在您的手机上转换为密钥，答复也在您的手机上解密。请为本网站开启 JavaScript 后再查询。",
        "此浏览器已关闭 JavaScript。生成二维码海报需要它，请为本网站开启 JavaScript。",
    ],
    scan: "用手机扫码，在手机上举报",
    scope_question: "本平台受理哪些事项？",
    scope_elsewhere: "以下事项请通过其他渠道反映：",
    not_found_title: "找不到该页面",
    not_found: "您要打开的页面不存在，可能是地址有误。",
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
        "Press \"Report\". There are {n} steps: {parts}; then you check and send. It takes about three minutes.",
        "You then receive an inquiry code. Write it down or save it: nobody can recover it.",
        "With the code you can check acceptance, verification progress and the result at any time, read replies and add information.",
    ],
    list_sep: "; ",
    start: "Report",
    status: "Check progress",
    notices: "Please note",
    assurances: [
        "Your report is encrypted on your phone before it is sent; only the receiving office can decrypt it.",
        "This site does not record your IP address and sets no cookies.",
        "Anonymous by default: whether to give your name is up to you. Every field is optional; a blank is recorded as \"unclear\".",
    ],
    emergency: "In an emergency call",
    channels: "Other ways to report",
    phone: "Telephone",
    post: "By letter",
    home: "Home page",
    loading: [
        "Opening the report form…",
        "Opening the status page…",
        "Opening the poster maker…",
    ],
    slow: "The connection is slow; still loading. You can also report by telephone or letter as shown below.",
    failed: "The page could not start: this browser may not run WebAssembly (it may be turned off, or the browser is too old), or the connection dropped before its files arrived. Reload to try again, use another or an updated browser, or report in one of the ways below.",
    reload: "Reload",
    no_script: [
        "JavaScript is turned off in this browser. The report form needs it: your report is encrypted on your phone before it is sent. Turn JavaScript on for this site, or report in one of the ways below.",
        "JavaScript is turned off in this browser. Checking progress needs it: your code becomes a key on your phone, and replies are decrypted there. Turn JavaScript on for this site to check.",
        "JavaScript is turned off in this browser. Making a QR poster needs it; turn JavaScript on for this site.",
    ],
    scan: "Scan with your phone to report from it",
    scope_question: "What does this hotline accept?",
    scope_elsewhere: "Please take these elsewhere:",
    not_found_title: "Page not found",
    not_found: "The page you asked for does not exist; the address may be wrong.",
};

/// The app pages, each with its own words when it cannot run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppPage {
    /// `/report`
    Report,
    /// `/status`
    Status,
    /// `/poster`
    Poster,
}

impl AppPage {
    /// The page a built file is (`status.html`); the form for anything else.
    pub fn from_file(name: &str) -> Self {
        match name.trim_end_matches(".html") {
            "status" => AppPage::Status,
            "poster" => AppPage::Poster,
            _ => AppPage::Report,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

fn t<'a>(c: &Catalog, text: &'a Localized) -> &'a str {
    text.get(c.lang)
}

/// The phone, the letter address and the profile's other channels.
fn channels(c: &Catalog, p: &Profile) -> String {
    let others = p
        .channels
        .iter()
        .map(|ch| {
            let text = esc(t(c, &ch.text));
            let text = match &ch.link {
                Some(link) => format!("<a href=\"{}\">{text}</a>", attr(link)),
                None => text.into_owned(),
            };
            format!("<p>{}: {text}</p>", esc(t(c, &ch.label)))
        })
        .collect::<String>();
    format!(
        "<section class=\"card\"><h2>{}</h2><p>{}: <a href=\"tel:{}\">{}</a></p><p>{}: {}</p>{others}</section>",
        c.channels,
        c.phone,
        attr(&p.phone),
        esc(&p.phone),
        c.post,
        esc(t(c, &p.postal_address)),
    )
}

/// The short reassurance shown where a reporter lands.
fn assurances(c: &Catalog, p: &Profile) -> String {
    let emergency = p.emergency_phone.as_ref().map_or_else(String::new, |n| {
        format!(
            "<li class=\"emergency\">{} <a href=\"tel:{}\">{}</a></li>",
            c.emergency,
            attr(n),
            esc(n)
        )
    });
    let items = c
        .assurances
        .iter()
        .map(|a| format!("<li>{a}</li>"))
        .collect::<String>();
    format!("<ul class=\"assure\">{items}{emergency}</ul>")
}

/// What the hotline accepts (its categories when `accepts` is empty, as 12389's nine), and what
/// it does not with where to go instead: two `<li>` lists.
fn scope_lists(c: &Catalog, p: &Profile) -> (String, String) {
    let accepts = if p.accepts.is_empty() {
        p.categories
            .iter()
            .map(|cat| format!("<li>{}</li>", esc(t(c, &cat.label))))
            .collect()
    } else {
        p.accepts
            .iter()
            .map(|a| format!("<li>{}</li>", esc(t(c, a))))
            .collect()
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
        .collect();
    (accepts, not_accepted)
}

/// The top of the form's first step, in both languages (the page shows the one matching
/// `<html lang>`): sealed on the phone, nothing about the reporter kept, anonymous by default,
/// the emergency number, the profile's notices, and what the hotline accepts one tap away. A
/// `<template>` the app copies into its first step: static text stays out of the WebAssembly,
/// and it is the same sentences as the landing page's.
pub fn first_screen(p: &Profile) -> String {
    let block = |c: &Catalog| {
        let notices = p
            .notices
            .iter()
            .map(|n| format!("<li>{}</li>", esc(t(c, n))))
            .collect::<String>();
        let (accepts, not_accepted) = scope_lists(c, p);
        format!(
            "<div class=\"i18n\" lang=\"{lang}\">{assurances}<ul class=\"notices\">{notices}</ul>\
             <details class=\"scope\"><summary>{question}</summary><ul>{accepts}</ul>\
             <p>{elsewhere}</p><ul>{not_accepted}</ul></details></div>",
            lang = c.lang,
            assurances = assurances(c, p),
            question = c.scope_question,
            elsewhere = c.scope_elsewhere,
        )
    };
    format!(
        "<template id=\"first-screen\"><aside class=\"assure-box\">{}{}</aside></template>",
        block(&ZH),
        block(&EN)
    )
}

/// The head every static page shares.
fn head(c: &Catalog, title: &str, extra: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <title>{title}</title>{extra}<link rel=\"icon\" href=\"/favicon.svg\" type=\"image/svg+xml\">\
         <link rel=\"stylesheet\" href=\"/site.css\"></head>",
        lang = c.lang,
    )
}

fn landing(c: &Catalog, p: &Profile, qr: &str, public_url: &str) -> String {
    let list = |items: &[Localized]| {
        items
            .iter()
            .map(|i| format!("<li>{}</li>", esc(t(c, i))))
            .collect::<String>()
    };
    // An empty `accepts` means the categories say it (12389 lists its nine).
    let (accepts, not_accepted) = scope_lists(c, p);
    let parts = p
        .sections
        .iter()
        .map(|s| t(c, &s.title))
        .collect::<Vec<_>>()
        .join(c.list_sep);
    let steps = c
        .how_steps
        .iter()
        .map(|s| {
            let s = s
                .replace("{n}", &(p.sections.len() + 1).to_string())
                .replace("{parts}", &esc(&parts));
            format!("<li>{s}</li>")
        })
        .collect::<String>();
    let name = esc(t(c, &p.name));
    let description = format!("{} {}", t(c, &p.name), t(c, &p.summary));
    let base = public_url.trim_end_matches('/');
    let extra = format!(
        "<meta name=\"description\" content=\"{}\">\
         <link rel=\"alternate\" hreflang=\"zh-CN\" href=\"{base}/\">\
         <link rel=\"alternate\" hreflang=\"en\" href=\"{base}/en/\">",
        attr(&description),
    );
    format!(
        "{head}<body>\
         <header class=\"top\"><span class=\"brand\">{operator}</span>\
         <a class=\"lang\" href=\"{other_href}\" lang=\"{other_lang}\">{other_label}</a></header>\
         <main class=\"page\"><h1>{name}</h1><div class=\"hero\"><div><p>{summary}</p>\
         <div class=\"cta\"><a class=\"button primary\" href=\"/report{prefix}\">{start}</a>\
         <a class=\"button secondary\" href=\"/status{prefix}\">{status}</a></div>\
         {assurances}</div>\
         <figure class=\"qr desktop-only\" id=\"entry-qr\">{qr}<figcaption>{scan}</figcaption></figure></div>\
         <section class=\"card\"><h2>{accepts_h}</h2><ul>{accepts}</ul></section>\
         <section class=\"card\"><h2>{not_h}</h2><ul>{not_accepted}</ul></section>\
         <section class=\"card\"><h2>{how_h}</h2><ol>{steps}</ol></section>\
         <section class=\"card\"><h2>{notices_h}</h2><ul>{notices}</ul></section>\
         {channels}</main></body></html>\n",
        head = head(c, &name, &extra),
        other_href = c.other_lang_href,
        other_lang = if c.lang == "en" { "zh-CN" } else { "en" },
        other_label = c.other_lang_label,
        operator = esc(t(c, &p.operator)),
        summary = esc(t(c, &p.summary)),
        prefix = c.prefix,
        start = c.start,
        status = c.status,
        assurances = assurances(c, p),
        accepts_h = c.accepts,
        not_h = c.not_accepted,
        how_h = c.how,
        notices_h = c.notices,
        notices = list(&p.notices),
        channels = channels(c, p),
        scan = c.scan,
    )
}

/// The 404 page, in both languages, with links home.
fn not_found(p: &Profile) -> String {
    let block = |c: &Catalog| {
        format!(
            "<div lang=\"{}\"><h1>{}</h1><p>{}</p><p><a class=\"button primary\" href=\"{}\">{}</a></p></div>",
            c.lang,
            c.not_found_title,
            c.not_found,
            if c.lang == "en" { "/en/" } else { "/" },
            c.home
        )
    };
    format!(
        "{head}<body><header class=\"top\"><a class=\"brand\" href=\"/\">{name}</a></header>\
         <main class=\"page\">{zh}{en}</main></body></html>\n",
        head = head(
            &ZH,
            &format!("{} · {}", ZH.not_found_title, EN.not_found_title),
            ""
        ),
        name = esc(t(&ZH, &p.name)),
        zh = block(&ZH),
        en = block(&EN),
    )
}

/// The static pages: `(path, text)` for `index.html` (Chinese), `en/index.html` (English), each
/// with the QR code of its form's address under `public_url` (shown to desktop visitors, so
/// they can move to their phone), `404.html` and `robots.txt`.
pub fn pages(profile: &Profile, public_url: &str) -> anyhow::Result<Vec<(&'static str, String)>> {
    let qr = |c: &Catalog| {
        cluebox_protocol::qr::qr_svg(&format!("{public_url}/report{}", c.prefix), 0, 0, 240)
    };
    Ok(vec![
        ("index.html", landing(&ZH, profile, &qr(&ZH)?, public_url)),
        (
            "en/index.html",
            landing(&EN, profile, &qr(&EN)?, public_url),
        ),
        ("404.html", not_found(profile)),
        // Everything may be crawled (the app pages answer `noindex` themselves); the API is
        // not for crawlers.
        ("robots.txt", "User-agent: *\nDisallow: /api/\n".to_owned()),
    ])
}

/// Shows the loading line at once, or the failure block when this browser cannot run the app
/// (no WebAssembly, no module scripts) or its files fail to load before it starts; after 8 s
/// still loading, a line about the slow connection. The app removes `#fallback` when it starts,
/// which ends all of this. Inline, so it needs no request; the page's policy names its hash.
const BOOT: &str = "(function(){var d=document,l=d.getElementById('boot-loading'),f=d.getElementById('boot-failed');\
function x(){if(d.getElementById('fallback')){l.hidden=true;f.hidden=false}}\
if(typeof WebAssembly!='object'||!('noModule' in d.createElement('script'))){x();return}\
l.hidden=false;\
addEventListener('error',function(e){var t=e.target;if(!t||t===window||t.tagName==='SCRIPT')x()},true);\
addEventListener('unhandledrejection',x);\
setTimeout(function(){var s=d.getElementById('boot-slow');if(s&&d.getElementById('fallback'))s.hidden=false},8000)})();";

/// The block an app page shows before it starts, in both languages: a loading line (shown by
/// the boot check), what is off when scripts are off, and the failure block, each with the
/// hotline's other channels where a report could otherwise not be made.
pub fn fallback(profile: &Profile, page: AppPage) -> String {
    let home = |c: &Catalog| {
        format!(
            "<p><a href=\"{}\">{}</a></p>",
            if c.lang == "en" { "/en/" } else { "/" },
            c.home
        )
    };
    let loading = [&ZH, &EN]
        .iter()
        .map(|c| format!("<p lang=\"{}\">{}</p>", c.lang, c.loading[page.index()]))
        .collect::<String>();
    let slow = [&ZH, &EN]
        .iter()
        .map(|c| format!("<p lang=\"{}\">{}</p>", c.lang, c.slow))
        .collect::<String>();
    let with_channels = |c: &Catalog| {
        if page == AppPage::Poster {
            String::new()
        } else {
            channels(c, profile)
        }
    };
    let no_script = [&ZH, &EN]
        .iter()
        .map(|c| {
            format!(
                "<div lang=\"{}\"><p class=\"status warning\">{}</p>{}{}</div>",
                c.lang,
                c.no_script[page.index()],
                with_channels(c),
                home(c)
            )
        })
        .collect::<String>();
    let failed = [&ZH, &EN]
        .iter()
        .map(|c| {
            format!(
                "<div lang=\"{}\"><p class=\"status error\">{}</p><p><a class=\"button secondary\" href=\"\">{}</a></p>{}{}</div>",
                c.lang,
                c.failed,
                c.reload,
                with_channels(c),
                home(c)
            )
        })
        .collect::<String>();
    format!(
        "<div id=\"boot-loading\" class=\"boot\" role=\"status\" hidden><span class=\"spinner\" aria-hidden=\"true\"></span>{loading}\
         <div id=\"boot-slow\" hidden>{slow}{channels}</div></div>\
         <noscript>{no_script}</noscript>\
         <div id=\"boot-failed\" role=\"alert\" hidden>{failed}</div>\
         <script>{BOOT}</script>",
        channels = channels(&ZH, profile),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(id: &str) -> Profile {
        let text = match id {
            "12389" => include_str!("../../profiles/12389.toml"),
            _ => include_str!("../../profiles/12337.toml"),
        };
        toml::from_str(text).unwrap()
    }

    fn landing_pair(p: &Profile) -> (String, String) {
        let pages = pages(p, "https://jb.example.cn").unwrap();
        assert_eq!(pages[0].0, "index.html");
        assert_eq!(pages[1].0, "en/index.html");
        (pages[0].1.clone(), pages[1].1.clone())
    }

    #[test]
    fn landing_pages_say_what_the_issue_asks() {
        let p = profile("12337");
        let (zh, en) = landing_pair(&p);
        assert!(
            zh.contains("id=\"entry-qr\"") && zh.contains("<path"),
            "a vector QR code"
        );
        for needle in [
            "受理范围",
            "不在受理范围",
            "110",
            "三分钟",
            "如实举报",
            "实名",
            "加密",
            "12337",
            "政法干警",
            "href=\"/report\"",
            "href=\"/status\"",
            "<meta name=\"description\"",
            "共 5 步",
            "依次填写举报人信息、被举报人（单位）",
            "mailto:jubao@example.cn",
        ] {
            assert!(zh.contains(needle), "zh: {needle}");
        }
        assert!(!zh.contains("<script"), "no script on the landing page");
        assert_eq!(zh.matches("加密").count(), 1, "said once");
        assert_eq!(zh.matches("不清楚").count(), 1, "said once");
        for needle in [
            "What we accept",
            "three minutes",
            "truthfully",
            "There are 5 steps",
            "href=\"/report?lang=en\"",
            "hreflang=\"en\" href=\"https://jb.example.cn/en/\"",
        ] {
            assert!(en.contains(needle), "en: {needle}");
        }
        let h1 = zh
            .split("<h1>")
            .nth(1)
            .unwrap()
            .split("</h1>")
            .next()
            .unwrap();
        let brand = zh
            .split("class=\"brand\">")
            .nth(1)
            .unwrap()
            .split('<')
            .next()
            .unwrap();
        assert_ne!(
            h1, brand,
            "the header and the heading do not repeat each other"
        );
    }

    #[test]
    fn the_12389_landing_describes_its_own_form_and_nine_categories() {
        let p = profile("12389");
        let (zh, _) = landing_pair(&p);
        let accepts = zh
            .split("受理范围</h2><ul>")
            .nth(1)
            .unwrap()
            .split("</ul>")
            .next()
            .unwrap();
        assert_eq!(accepts.matches("<li>").count(), 9, "{accepts}");
        for needle in [
            "吃拿卡要",
            "内务条令",
            "公安机关及其人民警察",
            "公安工作的批评",
        ] {
            assert!(accepts.contains(needle), "{needle}");
        }
        for section in &p.sections {
            assert!(zh.contains(&section.title.zh), "{}", section.title.zh);
        }
        assert!(!zh.contains("保护伞"), "12337's sections are not 12389's");
    }

    #[test]
    fn profile_text_is_escaped() {
        let mut p = profile("12337");
        p.summary.zh = "<script>alert(1)</script>".into();
        let (zh, _) = landing_pair(&p);
        assert!(!zh.contains("<script>alert"));
        assert!(zh.contains("&lt;script&gt;"));
    }

    #[test]
    fn each_fallback_says_what_is_off_in_its_own_words() {
        let p = profile("12337");
        let first = first_screen(&p);
        assert!(first.starts_with("<template id=\"first-screen\">"));
        for needle in [
            "在您的手机上加密",
            "tel:110",
            "如实举报",
            "政法干警",
            "lang=\"en\"",
            "truthfully",
        ] {
            assert!(first.contains(needle), "{needle}");
        }
        let report = fallback(&p, AppPage::Report);
        assert!(
            report.contains("WebAssembly")
                && report.contains("tel:12337")
                && report.contains("来信地址")
                && report.contains("<noscript>")
        );
        // The error and the loading line are hidden until the boot check decides.
        assert!(report.contains("id=\"boot-failed\" role=\"alert\" hidden"));
        assert!(report.contains("id=\"boot-loading\" class=\"boot\" role=\"status\" hidden"));
        let status = fallback(&p, AppPage::Status);
        assert!(status.contains("查询码在您的手机上转换为密钥"));
        assert!(!status.contains("在线举报表单需要它"));
        let poster = fallback(&p, AppPage::Poster);
        assert!(poster.contains("二维码海报") && poster.contains("href=\"/\""));
    }
}
