//! The portal's static files (Trunk's `dist/`, or `public/`), held in memory and compressed once
//! at start with brotli and gzip.
//!
//! Hashed asset names (Trunk's `name-0123456789abcdef.wasm`) are cached for a year as immutable;
//! everything else is revalidated by ETag. An HTML page with inline scripts (Trunk's bootstrap,
//! the fallback's boot check) gets a Content-Security-Policy that names each by its SHA-256, so
//! they run without `unsafe-inline` while the page stays the same bytes on every response:
//! compressed once, cached, revalidated by ETag like any other file.
//!
//! This module never reads a file per request and never serves anything outside its directory.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use cluebox_protocol::profile::PublicProfile;

use crate::error::ApiError;
use crate::headers::csp;

/// Where an app page wants the "needs WebAssembly" block ([`crate::landing::fallback`]).
pub const FALLBACK_PLACEHOLDER: &str = "<!--cluebox:fallback-->";
/// Where an app page wants the hotline profile ([`cluebox_protocol::page`]), in its `<head>`.
pub const PAGE_PLACEHOLDER: &str = "<!--cluebox:page-->";
/// Where the form page wants the `<template>` of its first screen
/// ([`crate::landing::first_screen`]).
pub const FIRST_SCREEN_PLACEHOLDER: &str = "<!--cluebox:first-screen-->";
/// Where the status page wants `<link rel="prefetch">` for the crypto worker's files.
pub const WORKER_PREFETCH_PLACEHOLDER: &str = "<!--cluebox:worker-prefetch-->";
/// How the crypto worker's files are named (`/cluebox-sealer_loader.js`,
/// `/cluebox-sealer-<hash>.js`): scripts that start a worker, which take their policy from
/// their own response ([`crate::headers`]).
pub const WORKER_PREFIX: &str = "/cluebox-sealer";
/// The crypto worker's loader (Trunk's name); it names the worker's script and WebAssembly.
pub const WORKER_LOADER: &str = "cluebox-sealer_loader.js";
/// The form page (Trunk's `html_output`), served at `/report`; each app page is served at its
/// name without `.html`.
pub const FORM_PAGE: &str = "report.html";

/// One file.
struct Asset {
    raw: Bytes,
    brotli: Option<Bytes>,
    gzip: Option<Bytes>,
    mime: HeaderValue,
    etag: HeaderValue,
    immutable: bool,
    /// The page's own policy (with its inline scripts' hashes), if it has inline scripts.
    csp: Option<HeaderValue>,
}

/// All files of the portal.
#[derive(Default)]
pub struct Site {
    files: HashMap<String, Asset>,
    root: PathBuf,
    demo: bool,
}

/// The banner every page of a demo server carries, right after `<body>`.
pub const DEMO_BANNER: &str = "<p class=\"demo-banner\" role=\"alert\" lang=\"zh-CN\">演示模式：本服务器保存着解密举报所需的私钥，请勿提交真实举报。<span lang=\"en\">DEMO: this server holds the key that opens reports. Do not file a real report here.</span></p>";

/// `html` with [`DEMO_BANNER`] after its `<body>` tag (unchanged if it has none).
pub fn with_demo_banner(html: &str) -> String {
    let Some(start) = html.find("<body") else {
        return html.to_owned();
    };
    let Some(end) = html[start..].find('>') else {
        return html.to_owned();
    };
    let at = start + end + 1;
    [&html[..at], DEMO_BANNER, &html[at..]].concat()
}

/// An app page (`name`, as `report.html`) as served: the fallback block for that page, the
/// hotline profile and the crypto worker's configuration filled in.
///
/// `worker_files` are the crypto worker's script and WebAssembly (see [`worker_files`]), which
/// the status page prefetches: a lookup needs the worker the moment the page is up.
pub fn fill_page(
    page: &str,
    name: &str,
    public: &PublicProfile,
    worker_files: &[String],
) -> String {
    use cluebox_protocol::page::{self, PageProfile, WorkerConfig};
    let meta = |name: &str, content: &str| {
        ["<meta name=\"", name, "\" content=\"", content, "\">"].concat()
    };
    let metas = [
        meta(
            page::META_NAME,
            &PageProfile::new(&public.profile, &public.server_key).encode(),
        ),
        meta(page::WORKER_META_NAME, &WorkerConfig::new(public).encode()),
    ]
    .concat();
    let kind = crate::landing::AppPage::from_file(name);
    page.replace(
        FALLBACK_PLACEHOLDER,
        &crate::landing::fallback(&public.profile, kind),
    )
    .replace(PAGE_PLACEHOLDER, &metas)
    .replace(
        FIRST_SCREEN_PLACEHOLDER,
        &crate::landing::first_screen(&public.profile),
    )
    .replace(
        WORKER_PREFETCH_PLACEHOLDER,
        &worker_files
            .iter()
            .map(|f| format!("<link rel=\"prefetch\" href=\"/{f}\">"))
            .collect::<String>(),
    )
}

/// The files the crypto worker's loader names (`importScripts("./x.js")`,
/// `wasm_bindgen("./x_bg.wasm")`), read from the loader's text.
pub fn worker_files(loader: &str) -> Vec<String> {
    loader
        .split("\"./")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|name| {
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
        .map(str::to_owned)
        .collect()
}

/// The `'sha256-...'` source of every inline `<script>` (one without `src`) in `html`, for
/// the page's Content-Security-Policy.
pub fn inline_script_hashes(html: &str) -> Vec<String> {
    let mut hashes = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let after = &rest[start..];
        let Some(tag_end) = after.find('>') else {
            break;
        };
        let tag = &after[..tag_end];
        let body = &after[tag_end + 1..];
        let Some(close) = body.find("</script") else {
            break;
        };
        if !tag.contains(" src=") {
            let digest = Sha256::digest(&body.as_bytes()[..close]);
            hashes.push(format!(
                "'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(digest)
            ));
        }
        rest = &body[close..];
    }
    hashes
}

impl Site {
    /// Loads every file under `root` (none if `root` does not exist), fills each app page's
    /// fallback block, profile and worker configuration ([`fill_page`]) and adds the landing
    /// pages, the 404 page and `robots.txt`, all made from `public`.
    /// With `demo`, every HTML page carries [`DEMO_BANNER`].
    pub fn load(
        root: &Path,
        public: &PublicProfile,
        public_url: &str,
        demo: bool,
    ) -> anyhow::Result<Self> {
        let mut site = Site {
            files: HashMap::new(),
            root: root.to_owned(),
            demo,
        };
        if root.is_dir() {
            let worker = std::fs::read_to_string(root.join(WORKER_LOADER))
                .map(|loader| worker_files(&loader))
                .unwrap_or_default();
            site.load_dir(root, root, public, &worker)?;
        }
        for (path, html) in crate::landing::pages(&public.profile, public_url)? {
            let html = if demo && path.ends_with(".html") {
                with_demo_banner(&html)
            } else {
                html
            };
            site.files
                .insert(path.to_owned(), Asset::new(path, html.into_bytes()));
        }
        Ok(site)
    }

    /// The directory served.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// How many files are served.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether no file is served.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Whether the portal app (the form) is there.
    pub fn has_app(&self) -> bool {
        self.files.contains_key(FORM_PAGE)
    }

    fn load_dir(
        &mut self,
        root: &Path,
        dir: &Path,
        public: &PublicProfile,
        worker: &[String],
    ) -> anyhow::Result<()> {
        for entry in
            std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                self.load_dir(root, &path, public, worker)?;
                continue;
            }
            let rel = path
                .strip_prefix(root)?
                .to_str()
                .context("file names must be UTF-8")?
                .replace('\\', "/");
            let mut raw =
                std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            if rel.ends_with(".html") && contains(&raw, FALLBACK_PLACEHOLDER.as_bytes()) {
                let page = String::from_utf8(raw).context("app pages must be UTF-8")?;
                raw = fill_page(&page, &rel, public, worker).into_bytes();
            }
            if self.demo && rel.ends_with(".html") {
                let page = String::from_utf8(raw).context("pages must be UTF-8")?;
                raw = with_demo_banner(&page).into_bytes();
            }
            self.files.insert(rel.clone(), Asset::new(&rel, raw));
        }
        Ok(())
    }

    /// Answers a GET or HEAD for `path`.
    pub fn respond(&self, req: &Request<Body>) -> Response {
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return ApiError::MethodNotAllowed.into_response();
        }
        let path = req.uri().path().trim_start_matches('/');
        let Some(asset) = self.resolve(path) else {
            return self.not_found(req.headers());
        };
        asset.respond(req.headers(), StatusCode::OK, req.method() == Method::HEAD)
    }

    fn resolve(&self, path: &str) -> Option<&Asset> {
        if path
            .split('/')
            .any(|seg| seg == ".." || seg.starts_with('.'))
        {
            return None;
        }
        let candidates = if path.is_empty() || path.ends_with('/') {
            vec![format!("{path}index.html")]
        } else if path
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains('.'))
        {
            vec![path.to_owned()]
        } else {
            vec![format!("{path}.html"), format!("{path}/index.html")]
        };
        candidates
            .into_iter()
            .find_map(|c| self.files.get(c.as_str()))
    }

    fn not_found(&self, headers: &HeaderMap) -> Response {
        match self.files.get("404.html") {
            Some(page) => page.respond(headers, StatusCode::NOT_FOUND, false),
            None => ApiError::NotFound("no such page").into_response(),
        }
    }
}

impl Asset {
    fn new(name: &str, raw: Vec<u8>) -> Self {
        let mime = mime_guess::from_path(name).first_or_octet_stream();
        let mime_text = if mime.type_() == "text" || mime.subtype() == "javascript" {
            format!("{mime}; charset=utf-8")
        } else {
            mime.to_string()
        };
        let csp = (mime.subtype() == "html")
            .then(|| inline_script_hashes(&String::from_utf8_lossy(&raw)))
            .filter(|hashes| !hashes.is_empty())
            .map(|hashes| HeaderValue::from_str(&csp(&hashes)).expect("a valid header value"));
        let compressible = raw.len() >= 512
            && (mime.type_() == "text"
                || matches!(
                    mime.subtype().as_str(),
                    "javascript" | "json" | "wasm" | "svg" | "xml"
                ));
        let (brotli, gzip) = if compressible {
            (Some(brotli_bytes(&raw)), Some(gzip_bytes(&raw)))
        } else {
            (None, None)
        };
        let digest = Sha256::digest(&raw);
        Self {
            etag: HeaderValue::from_str(&format!("\"{}\"", hex::encode(&digest[..12])))
                .expect("hex is a valid header value"),
            mime: HeaderValue::from_str(&mime_text).expect("mime types are valid header values"),
            immutable: is_hashed_name(name),
            csp,
            raw: raw.into(),
            brotli: brotli.map(Bytes::from),
            gzip: gzip.map(Bytes::from),
        }
    }

    fn respond(&self, req_headers: &HeaderMap, status: StatusCode, head: bool) -> Response {
        let mut builder = Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, self.mime.clone())
            .header(header::VARY, "accept-encoding");
        if let Some(csp) = &self.csp {
            builder = builder.header(header::CONTENT_SECURITY_POLICY, csp.clone());
        }
        builder = builder.header(header::ETAG, self.etag.clone()).header(
            header::CACHE_CONTROL,
            if self.immutable {
                "public, max-age=31536000, immutable"
            } else {
                "no-cache"
            },
        );
        let fresh = req_headers
            .get(header::IF_NONE_MATCH)
            .is_some_and(|v| v.as_bytes() == self.etag.as_bytes());
        if fresh && status == StatusCode::OK {
            return builder
                .status(StatusCode::NOT_MODIFIED)
                .body(Body::empty())
                .expect("valid response");
        }
        let accepts = |coding: &str| {
            req_headers
                .get_all(header::ACCEPT_ENCODING)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .any(|c| {
                    c.split(';')
                        .next()
                        .is_some_and(|name| name.trim() == coding)
                        && !c.contains("q=0")
                })
        };
        let (body, encoding) = match (&self.brotli, &self.gzip) {
            (Some(br), _) if accepts("br") => (br.clone(), Some("br")),
            (_, Some(gz)) if accepts("gzip") => (gz.clone(), Some("gzip")),
            _ => (self.raw.clone(), None),
        };
        if let Some(encoding) = encoding {
            builder = builder.header(header::CONTENT_ENCODING, encoding);
        }
        builder = builder.header(header::CONTENT_LENGTH, body.len());
        builder
            .body(if head {
                Body::empty()
            } else {
                Body::from(body)
            })
            .expect("valid response")
    }
}

/// Trunk names hashed assets `stem-<hex digits>.ext` (a u64 in hex, so up to 16 digits).
fn is_hashed_name(name: &str) -> bool {
    let file = name.rsplit('/').next().unwrap_or(name);
    let stem = file.split('.').next().unwrap_or(file);
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-').is_some_and(|(_, hash)| {
        (8..=16).contains(&hash.len()) && hash.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn brotli_bytes(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 11, 22);
        w.write_all(raw).expect("writing to a Vec cannot fail");
    }
    out
}

fn gzip_bytes(raw: &[u8]) -> Vec<u8> {
    let mut w = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    w.write_all(raw).expect("writing to a Vec cannot fail");
    w.finish().expect("writing to a Vec cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names() {
        assert!(is_hashed_name("cluebox-frontend-0123456789abcdef_bg.wasm"));
        assert!(is_hashed_name("app-0123456789abcdef.js"));
        assert!(is_hashed_name("x/app-0123456789abcdef.css"));
        assert!(!is_hashed_name("index.html"));
    }

    #[test]
    fn inline_scripts_are_hashed_and_external_ones_are_not() {
        let html = "<script src=\"/a.js\"></script><script type=module>go()</script><p>x</p><script>\nboot()\n</script>";
        let hashes = inline_script_hashes(html);
        let b64 = |s: &str| {
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(s.as_bytes()))
        };
        assert_eq!(
            hashes,
            [
                format!("'sha256-{}'", b64("go()")),
                format!("'sha256-{}'", b64("\nboot()\n"))
            ]
        );
        assert!(inline_script_hashes("<p>no scripts</p>").is_empty());
    }

    #[test]
    fn the_worker_loader_names_its_files() {
        let loader = r#"importScripts("./cluebox-sealer-0123456789abcdef.js");wasm_bindgen({module_or_path:"./cluebox-sealer-0123456789abcdef_bg.wasm"});"#;
        assert_eq!(
            worker_files(loader),
            [
                "cluebox-sealer-0123456789abcdef.js",
                "cluebox-sealer-0123456789abcdef_bg.wasm"
            ]
        );
        assert!(worker_files(r#"importScripts("./a\"><script>.js")"#).is_empty());
    }

    #[test]
    fn path_traversal_is_never_resolved() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FORM_PAGE), "<p>hi</p>").unwrap();
        let public = PublicProfile {
            profile: toml::from_str(include_str!("../../profiles/12337.toml")).unwrap(),
            recipients: Default::default(),
            server_key: String::new(),
            max_class: 65_536,
            pow_bits: 0,
        };
        let site = Site::load(dir.path(), &public, "http://127.0.0.1:8080", false).unwrap();
        assert!(site.resolve("").is_some());
        assert!(site.resolve("report").is_some());
        assert!(site.resolve("en/").is_some());
        assert!(site.resolve("../index.html").is_none());
        assert!(site.resolve(".git/config").is_none());
    }
}
