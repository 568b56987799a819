//! The local certificate authority and the server certificate it signs.
//!
//! The CA is made on first start and kept in `<data-dir>/tls/`, so a client
//! trusts the emulator once (`REQUESTS_CA_BUNDLE`, `SSL_CERT_FILE`) and keeps
//! trusting it across restarts. The server certificate is re-issued at every
//! start for the host names in use; it is also written out so companions
//! (Azurite) can serve with a certificate the same CA vouches for.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};

pub struct TlsMaterial {
    pub ca_certificate: PathBuf,
    pub server_certificate_pem: String,
    pub server_key_pem: String,
}

/// Writes a file readable by its owner only, atomically (write, then rename),
/// so a crash never leaves half a key behind.
pub fn write_private_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let result = options
        .open(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|_| f.sync_all()))
        .and_then(|_| std::fs::rename(&tmp, path));
    result.map_err(|e| format!("writing {}: {e}", path.display()))
}

fn write_public_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| format!("writing {}: {e}", path.display()))
}

fn ca_params() -> Result<CertificateParams, rcgen::Error> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, "Cloud HSM Emulator Local CA");
    name.push(DnType::OrganizationName, "Cloud HSM Emulator");
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = rcgen::date_time_ymd(2024, 1, 1);
    params.not_after = rcgen::date_time_ymd(2049, 12, 31);
    Ok(params)
}

/// Loads (or makes) the CA and issues a server certificate for `hosts`.
pub fn prepare(data_dir: &Path, hosts: &[String]) -> Result<TlsMaterial, String> {
    let dir = data_dir.join("tls");
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let ca_cert_path = dir.join("ca.pem");
    let ca_key_path = dir.join("ca.key");
    let tls_err = |e: rcgen::Error| format!("TLS set-up: {e}");

    let (ca_pem, ca_key) = match (
        std::fs::read_to_string(&ca_cert_path),
        std::fs::read_to_string(&ca_key_path),
    ) {
        (Ok(cert), Ok(key)) => (cert, KeyPair::from_pem(&key).map_err(tls_err)?),
        _ => {
            let key = KeyPair::generate().map_err(tls_err)?;
            let cert = ca_params()
                .map_err(tls_err)?
                .self_signed(&key)
                .map_err(tls_err)?;
            write_private_file(&ca_key_path, key.serialize_pem().as_bytes())?;
            write_public_file(&ca_cert_path, cert.pem().as_bytes())?;
            (cert.pem(), key)
        }
    };
    let issuer = Issuer::from_ca_cert_pem(&ca_pem, ca_key).map_err(tls_err)?;

    let mut names: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    for host in hosts {
        if !names.contains(host) {
            names.push(host.clone());
        }
    }
    let mut params = CertificateParams::new(names).map_err(tls_err)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "Cloud HSM Emulator");
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let now = time_now();
    params.not_before = now - std::time::Duration::from_secs(3600);
    params.not_after = now + std::time::Duration::from_secs(365 * 24 * 3600);
    let server_key = KeyPair::generate().map_err(tls_err)?;
    let server_cert = params.signed_by(&server_key, &issuer).map_err(tls_err)?;

    let server_certificate_pem = server_cert.pem();
    let server_key_pem = server_key.serialize_pem();
    write_public_file(&dir.join("server.pem"), server_certificate_pem.as_bytes())?;
    write_private_file(&dir.join("server.key"), server_key_pem.as_bytes())?;
    let ca_certificate = std::fs::canonicalize(&ca_cert_path)
        .map_err(|e| format!("resolving {}: {e}", ca_cert_path.display()))?;
    Ok(TlsMaterial {
        ca_certificate,
        server_certificate_pem,
        server_key_pem,
    })
}

fn time_now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}
