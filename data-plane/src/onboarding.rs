//! The customer's side of activation, as a library: what a Cloud HSM owner
//! does with OpenSSL on an offline machine (make PO.key and the self-signed
//! PO.crt, sign the partition's CSR into the POAC, sign `unlockCO`
//! challenges). The emulator never sees PO.key; tests, the CLI and the
//! benchmarks use this to activate clusters the way a customer does.

use crate::engine::{
    cluster::{Cluster, PRECO_DEFAULT_PASSWORD, PRECO_USER},
    error::EngineError,
    partition::{CERT_PO, CERT_POAC},
    users::Role,
};

fn failed(what: &str) -> impl Fn(rcgen::Error) -> EngineError + '_ {
    move |e| EngineError::Crypto(format!("{what}: {e}"))
}

/// PO.key and PO.crt.
pub struct PartitionOwner {
    key: rcgen::KeyPair,
    params: rcgen::CertificateParams,
    certificate_pem: String,
}

impl PartitionOwner {
    /// A fresh owner with an EC P-256 key (quick to make).
    pub fn generate() -> Result<Self, EngineError> {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(failed("PO key"))?;
        Self::with_key(key)
    }

    /// A fresh owner with an RSA-2048 key, as `openssl req -newkey rsa:2048` makes.
    pub fn generate_rsa() -> Result<Self, EngineError> {
        let key =
            rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
                .map_err(failed("PO key"))?;
        Self::with_key(key)
    }

    fn with_key(key: rcgen::KeyPair) -> Result<Self, EngineError> {
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Partition Owner");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let certificate_pem = params.self_signed(&key).map_err(failed("PO.crt"))?.pem();
        Ok(Self {
            key,
            params,
            certificate_pem,
        })
    }

    /// PO.crt, PEM.
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    /// PO.key, PEM (PKCS#8): the customer keeps it offline.
    pub fn key_pem(&self) -> String {
        self.key.serialize_pem()
    }

    /// Signs the partition's CSR (from `getCertReq`) into the POAC, PEM.
    pub fn sign_csr(&self, csr_pem: &str) -> Result<String, EngineError> {
        let csr = rcgen::CertificateSigningRequestParams::from_pem(csr_pem)
            .map_err(|e| EngineError::CertificateInvalid(format!("partition CSR: {e}")))?;
        let issuer = rcgen::Issuer::from_params(&self.params, &self.key);
        Ok(csr.signed_by(&issuer).map_err(failed("POAC"))?.pem())
    }

    /// Signs an `unlockCO` challenge with PO.key (ECDSA / RSA PKCS#1 v1.5, SHA-256).
    pub fn sign_challenge(&self, challenge: &[u8]) -> Result<Vec<u8>, EngineError> {
        rcgen::SigningKey::sign(&self.key, challenge).map_err(failed("challenge signature"))
    }
}

/// The whole onboarding flow against an engine cluster: as `PRECO admin`,
/// `getCertReq`, `storeCert PO.crt 4`, `storeCert POAC 8`, then
/// `changePswd PRECO admin <new_password>`. Returns the new owner (its key
/// signs later `unlockCO` challenges).
pub fn activate_cluster(
    cluster: &Cluster,
    new_password: &str,
) -> Result<PartitionOwner, EngineError> {
    let owner = PartitionOwner::generate()?;
    let login = cluster.login(Role::Preco, PRECO_USER, PRECO_DEFAULT_PASSWORD)?;
    let session = cluster.open_session(login)?;
    let csr = cluster.get_cert_req(session)?;
    cluster.store_certificate(session, CERT_PO, owner.certificate_pem())?;
    cluster.store_certificate(session, CERT_POAC, &owner.sign_csr(&csr)?)?;
    cluster.change_password(session, PRECO_USER, new_password)?;
    cluster.logout(login)?;
    Ok(owner)
}
