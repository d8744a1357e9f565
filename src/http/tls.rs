//! Which certificate authorities pincer trusts, and how a certificate failure is explained.
//!
//! `SSL_CERT_FILE` / `SSL_CERT_DIR` (read in [`crate::env`]) replace the platform's store, as
//! OpenSSL and curl treat them: that is how a corporate proxy that re-signs TLS is trusted.
//! Without them, the platform's store: on macOS and Windows the Keychain / the certificate store
//! (through `rustls-native-certs`: an administrator's CA lives only there); elsewhere the CA
//! bundle, the first of the usual Linux/BSD/macOS paths that exists, so CAs an administrator added
//! with `update-ca-certificates` are honoured; with no store at all (a bare container), the
//! Mozilla roots built into the binary.
//!
//! pincer reads the files itself rather than using `rustls-platform-verifier`: that crate reads
//! the same variables behind pincer's back (and on Linux does the same file lookup), while the
//! environment is read in one place here.

use std::path::{Path, PathBuf};

use ureq::tls::{Certificate, PemItem, RootCerts};

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
    /// The Mozilla roots compiled into pincer.
    Bundled,
}

impl TrustSource {
    pub fn describe(&self) -> String {
        match self {
            TrustSource::Variables(what) => what.clone(),
            TrustSource::Platform(path) => format!("the system's CA store ({})", path.display()),
            TrustSource::System(name) => format!("the system's CA store ({name})"),
            TrustSource::Bundled => "the CA roots built into pincer (no system CA store was found)".into(),
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

/// The roots to verify servers with, and where they came from.
pub fn roots(env: &Env) -> Result<(RootCerts, TrustSource), TrustError> {
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
    for bundle in PLATFORM_BUNDLES.iter().map(Path::new) {
        // A missing or unreadable candidate is simply not this platform's bundle.
        if let Ok(certs) = read_pem_file(bundle)
            && !certs.is_empty()
        {
            return Ok((RootCerts::from(certs), TrustSource::Platform(bundle.to_path_buf())));
        }
    }
    Ok((RootCerts::WebPki, TrustSource::Bundled))
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

fn read_pem_file(path: &Path) -> Result<Vec<Certificate<'static>>, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| format!("cannot be read ({e})"))?;
    let mut bytes = Vec::new();
    file.take(MAX_CA_FILE_BYTES).read_to_end(&mut bytes).map_err(|e| format!("cannot be read ({e})"))?;
    Ok(parse_pem(&bytes))
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

/// The certificates of a PEM text; other sections (keys) and broken sections are skipped.
fn parse_pem(bytes: &[u8]) -> Vec<Certificate<'static>> {
    ureq::tls::parse_pem(bytes)
        .filter_map(|item| match item {
            Ok(PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect()
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
            TrustSource::Bundled => assert!(PLATFORM_BUNDLES.iter().all(|p| !Path::new(p).exists())),
            // The Keychain or the certificate store comes first where there is one.
            #[cfg(any(target_os = "macos", windows))]
            TrustSource::System(_) => {}
            other => panic!("{other:?}"),
        }
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
