//! The desk's connection to the intake API: HTTPS only (rustls), except to a loopback address.
//!
//! - Server certificates are checked against the Mozilla roots (`webpki-roots`) plus, if given,
//!   the office's own CA (`--ca-cert`, PEM).
//! - Optionally the server's key is pinned (`--pin sha256/BASE64`, repeatable): the SHA-256 of
//!   the certificate's SubjectPublicKeyInfo, the form `openssl x509 -pubkey | openssl pkey
//!   -pubin -outform der | openssl dgst -sha256 -binary | base64` prints. With pins, a
//!   certificate that chains to a trusted root but carries another key is refused, so a CA
//!   that issues a certificate for the hotline's name to someone else does not get the desk
//!   token or the sealed reports.
//! - Plain `http://` is refused with a sentence, unless the host is loopback (a desk and server
//!   on one machine, and the tests).
//!
//! This module never sends the desk token anywhere but the configured server.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest as _, Sha256};

/// How the desk reaches the API: the TLS settings (the address comes with each command).
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// A PEM file of extra trusted CA certificates (the office's own CA).
    pub ca_cert: Option<PathBuf>,
    /// Pinned server keys: `sha256/` and the base64 SHA-256 of the SubjectPublicKeyInfo.
    pub pins: Vec<String>,
}

/// A checked connection to one API server.
#[derive(Clone)]
pub struct Remote {
    http: reqwest::Client,
    base: String,
}

impl Remote {
    /// A client for `server` (its base URL), refusing plain HTTP beyond loopback.
    pub fn connect(server: &str, tls: &TlsOptions) -> anyhow::Result<Self> {
        let base = server.trim().trim_end_matches('/').to_owned();
        let url = reqwest::Url::parse(&base)
            .with_context(|| format!("{server:?} is not a URL (https://...)"))?;
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&url) => {}
            "http" => anyhow::bail!(
                "refusing plain http:// to {}: the desk token, the sealed reports and every \
                 status change would cross the network unencrypted. Use https:// (plain http is \
                 allowed only to a loopback address such as 127.0.0.1)",
                url.host_str().unwrap_or("the server")
            ),
            other => anyhow::bail!("the server address must start with https://, not {other}://"),
        }
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(client_config(tls)?)
            .https_only(url.scheme() == "https")
            .connect_timeout(std::time::Duration::from_secs(20))
            .timeout(std::time::Duration::from_secs(120))
            .build()
            .context("cannot set up the HTTPS client")?;
        Ok(Self { http, base })
    }

    /// The client.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// `base` + `path` (path starts with `/`).
    pub fn url(&self, path: &str) -> String {
        [self.base.as_str(), path].concat()
    }

    /// `GET path` (public, no token), read as JSON.
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        Ok(self
            .http
            .get(self.url(path))
            .send()
            .await
            .map_err(crate::sync::connection_error)?
            .error_for_status()?
            .json()
            .await?)
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

fn client_config(tls: &TlsOptions) -> anyhow::Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = &tls.ca_cert {
        let mut added = 0;
        for cert in CertificateDer::pem_file_iter(path)
            .with_context(|| format!("cannot read the CA certificate {}", path.display()))?
        {
            let cert =
                cert.with_context(|| format!("{} is not a PEM certificate", path.display()))?;
            roots.add(cert).with_context(|| {
                format!("{} holds a certificate rustls cannot use", path.display())
            })?;
            added += 1;
        }
        anyhow::ensure!(added > 0, "{} holds no certificate", path.display());
    }
    let pins = tls
        .pins
        .iter()
        .map(|p| parse_pin(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots),
        Arc::clone(&provider),
    )
    .build()
    .context("cannot set up certificate checks")?;
    let verifier = Arc::new(PinningVerifier { webpki, pins });
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// `sha256/BASE64` (or bare base64) to the 32 bytes.
fn parse_pin(pin: &str) -> anyhow::Result<[u8; 32]> {
    let b64 = pin.trim().strip_prefix("sha256/").unwrap_or(pin.trim());
    STANDARD
        .decode(b64)
        .ok()
        .and_then(|v| <[u8; 32]>::try_from(v).ok())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "--pin takes sha256/ and the base64 SHA-256 of the server's public key (44 characters), not {pin:?}"
            )
        })
}

/// The pin of a certificate: `sha256/` + base64 SHA-256 of its SubjectPublicKeyInfo.
pub fn pin_of(cert_der: &[u8]) -> anyhow::Result<String> {
    let der = CertificateDer::from(cert_der.to_vec());
    let cert = webpki::EndEntityCert::try_from(&der)
        .map_err(|e| anyhow::anyhow!("not a certificate: {e}"))?;
    Ok(format!(
        "sha256/{}",
        STANDARD.encode(Sha256::digest(cert.subject_public_key_info().as_ref()))
    ))
}

/// The usual chain and name checks, then (if any pins are set) the server key's pin.
#[derive(Debug)]
struct PinningVerifier {
    webpki: Arc<rustls::client::WebPkiServerVerifier>,
    pins: Vec<[u8; 32]>,
}

impl ServerCertVerifier for PinningVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        if self.pins.is_empty() {
            return Ok(ServerCertVerified::assertion());
        }
        let cert = webpki::EndEntityCert::try_from(end_entity).map_err(|_| {
            rustls::Error::General("the server's certificate cannot be read".into())
        })?;
        let spki: [u8; 32] = Sha256::digest(cert.subject_public_key_info().as_ref()).into();
        if self.pins.contains(&spki) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(format!(
                "the server's public key (sha256/{}) matches none of the pinned keys",
                STANDARD.encode(spki)
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback() {
        let none = TlsOptions::default();
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.0.0.2:1/",
            "http://[::1]:80",
            "http://localhost:8080",
            "https://jb.example.cn",
        ] {
            Remote::connect(ok, &none).unwrap();
        }
        for refused in [
            "http://jb.example.cn",
            "http://10.0.0.5:8080",
            "http://[fe80::1]/",
        ] {
            let err = Remote::connect(refused, &none).err().unwrap().to_string();
            assert!(err.contains("refusing plain http://"), "{refused}: {err}");
        }
        assert!(Remote::connect("ftp://x", &none).is_err());
        assert!(Remote::connect("not a url", &none).is_err());
    }

    #[test]
    fn pins_must_be_sha256_base64() {
        assert!(parse_pin("sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=").is_ok());
        assert!(parse_pin("sha256/short").is_err());
        assert!(parse_pin("md5/xyz").is_err());
    }
}
