//! Which certificate authorities pincer trusts, and how a certificate failure is explained.
//!
//! `SSL_CERT_FILE` / `SSL_CERT_DIR` (read in [`crate::env`]) replace the platform's store, as
//! OpenSSL and curl treat them: that is how a corporate proxy that re-signs TLS is trusted.
//! Without them, the platform's store: on macOS and Windows the Keychain / the certificate store
//! (through `rustls-native-certs`: an administrator's CA lives only there); elsewhere the CA
//! bundle, the first of the usual Linux/BSD/macOS paths that exists, so CAs an administrator added
//! with `update-ca-certificates` are honoured. With no store at all (a bare container): on Linux
//! no CA is trusted, and a TLS connection fails with a hint to install the system's CA
//! certificates (every distribution packages them, and Mozilla's roots built in would cost 60 KB
//! of binary); elsewhere, the Mozilla roots built into the binary.
//!
//! pincer reads the files itself rather than using `rustls-platform-verifier`: that crate reads
//! the same variables behind pincer's back (and on Linux does the same file lookup), while the
//! environment is read in one place here.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ureq::tls::{Certificate, RootCerts, TlsConfig};

use crate::env::{self, Env};

/// The usual places of the platform's CA bundle (Debian/Ubuntu/Arch, Fedora/RHEL, openSUSE,
/// RHEL 7, Alpine/macOS/BSD, FreeBSD).
const PLATFORM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
    "/usr/local/share/certs/ca-root-nss.crt",
];
/// A CA file is a few hundred KiB; anything far larger is not one.
const MAX_CA_FILE_BYTES: u64 = 16 * 1024 * 1024;
const PEM_BEGIN_CERTIFICATE: &[u8] = b"-----BEGIN CERTIFICATE-----";
const PEM_END_CERTIFICATE: &[u8] = b"-----END CERTIFICATE-----";

/// Where the trusted CAs came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustSource {
    /// `SSL_CERT_FILE` and/or `SSL_CERT_DIR`.
    Variables(String),
    /// The platform's bundle at this path.
    Platform(PathBuf),
    /// The operating system's own store (the macOS Keychain, the Windows certificate store).
    #[cfg_attr(not(any(target_os = "macos", windows)), allow(dead_code))]
    System(&'static str),
    /// The Mozilla roots compiled into pincer (not on Linux).
    Bundled,
    /// Nothing: no CA file was found, so no server's certificate can be verified (Linux).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    Missing,
}

impl TrustSource {
    pub fn describe(&self) -> String {
        match self {
            TrustSource::Variables(what) => what.clone(),
            TrustSource::Platform(path) => format!("the system's CA store ({})", path.display()),
            TrustSource::System(name) => format!("the system's CA store ({name})"),
            TrustSource::Bundled => "the CA roots built into pincer (no system CA store was found)".into(),
            TrustSource::Missing => {
                format!("no CA at all: none of the system's CA files exists ({})", PLATFORM_BUNDLES[0])
            }
        }
    }
}

/// A CA variable that points at nothing usable: a usage error naming the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{var} is set to {}, which {why}\nhint: point {var} at a PEM file (or folder of PEM files) of CA certificates, or unset it (`unset {var}`) to use the system's CA store",
    .path.display()
)]
pub struct TrustError {
    pub var: &'static str,
    pub path: PathBuf,
    pub why: String,
}

/// The TLS settings of every agent: these roots, and ring as the crypto provider (ureq is built
/// without choosing one).
pub fn config(roots: RootCerts) -> TlsConfig {
    TlsConfig::builder()
        .root_certs(roots)
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .build()
}

/// The roots to verify servers with, and where they came from.
pub fn roots(env: &Env) -> Result<(RootCerts, TrustSource), TrustError> {
    roots_from(env, PLATFORM_BUNDLES)
}

fn roots_from(env: &Env, platform_bundles: &[&str]) -> Result<(RootCerts, TrustSource), TrustError> {
    if env.ssl_cert_file.is_some() || env.ssl_cert_dir.is_some() {
        let mut certs = Vec::new();
        let mut named = Vec::new();
        if let Some(file) = &env.ssl_cert_file {
            let found =
                read_pem_file(file).map_err(|why| TrustError { var: env::SSL_CERT_FILE, path: file.clone(), why })?;
            if found.is_empty() {
                return Err(TrustError {
                    var: env::SSL_CERT_FILE,
                    path: file.clone(),
                    why: "holds no PEM certificate".into(),
                });
            }
            certs.extend(found);
            named.push(format!("{}={}", env::SSL_CERT_FILE, file.display()));
        }
        if let Some(dirs) = &env.ssl_cert_dir {
            for dir in std::env::split_paths(dirs).filter(|d| !d.as_os_str().is_empty()) {
                let found =
                    read_pem_dir(&dir).map_err(|why| TrustError { var: env::SSL_CERT_DIR, path: dir.clone(), why })?;
                certs.extend(found);
            }
            named.push(format!("{}={}", env::SSL_CERT_DIR, Path::new(dirs).display()));
        }
        if certs.is_empty() {
            let path = PathBuf::from(env.ssl_cert_dir.clone().unwrap_or_default());
            return Err(TrustError { var: env::SSL_CERT_DIR, path, why: "holds no PEM certificate".into() });
        }
        return Ok((RootCerts::from(certs), TrustSource::Variables(named.join(" and "))));
    }
    #[cfg(any(target_os = "macos", windows))]
    if let Some(found) = system_store() {
        return Ok(found);
    }
    for bundle in platform_bundles.iter().map(Path::new) {
        // A missing or unreadable candidate is simply not this platform's bundle.
        if let Ok(certs) = read_pem_file(bundle)
            && !certs.is_empty()
        {
            return Ok((RootCerts::from(certs), TrustSource::Platform(bundle.to_path_buf())));
        }
    }
    Ok(without_platform_bundle())
}

/// The operating system's store, or `None` when it yields no certificate (then the bundle files
/// and the built-in roots are tried). Only reached with `SSL_CERT_FILE` / `SSL_CERT_DIR` unset, so
/// the crate's own reading of those variables changes nothing.
#[cfg(any(target_os = "macos", windows))]
fn system_store() -> Option<(RootCerts, TrustSource)> {
    const NAME: &str = if cfg!(windows) { "the Windows certificate store" } else { "the macOS Keychain" };
    let found = rustls_native_certs::load_native_certs();
    for error in &found.errors {
        tracing::debug!("{NAME}: {error}");
    }
    let certs: Vec<Certificate<'static>> =
        found.certs.iter().map(|der| Certificate::from_der(der.as_ref()).to_owned()).collect();
    (!certs.is_empty()).then(|| (RootCerts::from(certs), TrustSource::System(NAME)))
}

#[cfg(target_os = "linux")]
fn without_platform_bundle() -> (RootCerts, TrustSource) {
    (RootCerts::from(Vec::new()), TrustSource::Missing)
}

#[cfg(not(target_os = "linux"))]
fn without_platform_bundle() -> (RootCerts, TrustSource) {
    (RootCerts::WebPki, TrustSource::Bundled)
}

/// The certificates of a PEM file; other sections (keys) and broken sections are skipped.
///
/// Read line by line, so a system bundle (200 KB) is never held whole beside its certificates,
/// and decoded with the general-purpose base64 decoder: rustls' PEM reader decodes in constant
/// time, as keys need, which made reading the bundle 4 % of a whole streamed answer's CPU.
/// Certificates are public.
fn read_pem_file(path: &Path) -> Result<Vec<Certificate<'static>>, String> {
    use std::io::{BufRead, Read};
    let file = std::fs::File::open(path).map_err(|e| format!("cannot be read ({e})"))?;
    let mut reader = std::io::BufReader::new(file.take(MAX_CA_FILE_BYTES));
    let (mut certs, mut line, mut base64) = (Vec::new(), Vec::new(), Vec::new());
    let mut inside = false;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).map_err(|e| format!("cannot be read ({e})"))? == 0 {
            return Ok(certs);
        }
        match line.trim_ascii() {
            PEM_BEGIN_CERTIFICATE => {
                inside = true;
                base64.clear();
            }
            PEM_END_CERTIFICATE if inside => {
                inside = false;
                if let Ok(der) = STANDARD.decode(&base64) {
                    certs.push(Certificate::from_der(&der).to_owned());
                }
            }
            text if inside => base64.extend_from_slice(text),
            _ => {}
        }
    }
}

/// Every readable file of a folder (OpenSSL's hashed links and plain `.pem`/`.crt` files alike);
/// files that hold no certificate are skipped.
fn read_pem_dir(dir: &Path) -> Result<Vec<Certificate<'static>>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot be read as a folder ({e})"))?;
    let mut certs = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_file()
            && let Ok(found) = read_pem_file(&path)
        {
            certs.extend(found);
        }
    }
    Ok(certs)
}

/// A short reason when `error` is a certificate problem, `None` for every other failure.
pub fn certificate_problem(error: &ureq::Error) -> Option<String> {
    let rustls_error = match error {
        ureq::Error::Rustls(e) => Some(e),
        ureq::Error::Io(io) => io.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()),
        _ => None,
    }?;
    use rustls::CertificateError as C;
    let what = match rustls_error {
        rustls::Error::InvalidCertificate(cert) => match cert {
            C::UnknownIssuer => "is signed by a certificate authority pincer does not trust".to_string(),
            C::Expired | C::ExpiredContext { .. } => "has expired".to_string(),
            C::NotValidYet | C::NotValidYetContext { .. } => "is not valid yet (is the clock right?)".to_string(),
            C::NotValidForName | C::NotValidForNameContext { .. } => "is for another host name".to_string(),
            C::Revoked => "has been revoked".to_string(),
            other => format!("was refused ({other:?})"),
        },
        rustls::Error::NoCertificatesPresented => "is missing (the server sent none)".to_string(),
        _ => return None,
    };
    Some(format!("the server's TLS certificate {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_with(file: Option<&Path>, dir: Option<&Path>) -> Env {
        Env {
            ssl_cert_file: file.map(Path::to_path_buf),
            ssl_cert_dir: dir.map(|d| d.as_os_str().to_owned()),
            ..Env::default()
        }
    }

    #[test]
    fn variables_that_point_at_nothing_usable_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.pem");
        let e = roots(&env_with(Some(&missing), None)).unwrap_err();
        assert_eq!(e.var, "SSL_CERT_FILE");
        assert!(e.to_string().contains("cannot be read"), "{e}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = roots(&env_with(Some(&empty), None)).unwrap_err().to_string();
        assert!(e.contains("holds no PEM certificate") && e.contains("`unset SSL_CERT_FILE`"), "{e}");
        let e = roots(&env_with(None, Some(&missing))).unwrap_err();
        assert_eq!(e.var, "SSL_CERT_DIR");
        let e = roots(&env_with(None, Some(dir.path()))).unwrap_err();
        assert!(e.to_string().contains("holds no PEM certificate"), "{e}");
    }

    #[test]
    fn without_variables_the_platform_store_or_the_built_in_roots() {
        let (_, source) = roots(&Env::default()).unwrap();
        match source {
            TrustSource::Platform(path) => assert!(PLATFORM_BUNDLES.contains(&path.to_str().unwrap())),
            TrustSource::Bundled | TrustSource::Missing => {
                assert!(PLATFORM_BUNDLES.iter().all(|p| !Path::new(p).exists()))
            }
            // The Keychain or the certificate store comes first where there is one.
            #[cfg(any(target_os = "macos", windows))]
            TrustSource::System(_) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn with_no_ca_file_on_linux_nothing_is_trusted_and_the_source_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let absent = dir.path().join("ca-certificates.crt");
        let empty = dir.path().join("empty.crt");
        std::fs::write(&empty, "").unwrap();
        let (roots, source) =
            roots_from(&Env::default(), &[absent.to_str().unwrap(), empty.to_str().unwrap()]).unwrap();
        if cfg!(target_os = "linux") {
            assert_eq!(source, TrustSource::Missing);
            assert!(matches!(roots, RootCerts::Specific(ref certs) if certs.is_empty()));
            assert!(source.describe().contains("no CA at all"), "{}", source.describe());
        } else {
            assert_eq!(source, TrustSource::Bundled);
        }
        // The first candidate that holds a certificate wins.
        let bundle = dir.path().join("bundle.pem");
        std::fs::write(&bundle, test_pem(2)).unwrap();
        let (_, source) = roots_from(&Env::default(), &[absent.to_str().unwrap(), bundle.to_str().unwrap()]).unwrap();
        assert_eq!(source, TrustSource::Platform(bundle));
    }

    /// `n` CA certificates, with a private key and junk between them, as bundles mix them.
    fn test_pem(n: usize) -> String {
        let mut pem = String::from("a comment line\n");
        for i in 0..n {
            let key = rcgen::KeyPair::generate().unwrap();
            let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
            params.distinguished_name.push(rcgen::DnType::CommonName, format!("test CA {i}"));
            pem.push_str(&params.self_signed(&key).unwrap().pem());
            pem.push_str(&key.serialize_pem());
            pem.push_str("-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n");
        }
        pem
    }

    #[test]
    fn a_bundle_is_read_as_a_stream_keeping_certificates_only() {
        let dir = tempfile::tempdir().unwrap();
        let bundle = dir.path().join("bundle.pem");
        std::fs::write(&bundle, test_pem(3)).unwrap();
        let certs = read_pem_file(&bundle).unwrap();
        assert_eq!(certs.len(), 3, "three certificates; the keys and the broken section are skipped");
        let expected: Vec<Vec<u8>> = ureq::tls::parse_pem(std::fs::read(&bundle).unwrap().as_slice())
            .filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(c.der().to_vec()),
                _ => None,
            })
            .collect();
        assert_eq!(certs.iter().map(|c| c.der().to_vec()).collect::<Vec<_>>(), expected);
        // A folder is not a file: an error naming why, as before.
        let e = read_pem_file(dir.path()).unwrap_err();
        assert!(e.starts_with("cannot be read"), "{e}");
    }

    #[test]
    fn other_failures_are_not_certificate_problems() {
        assert_eq!(certificate_problem(&ureq::Error::ConnectionFailed), None);
        let io = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        assert!(certificate_problem(&ureq::Error::Io(io)).unwrap().contains("does not trust"));
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, rustls::Error::DecryptError);
        assert_eq!(certificate_problem(&ureq::Error::Io(io)), None);
    }
}
