//! Theatres over TLS, with certificates made at test time: mutual
//! authentication against the cluster's authority, the cookie handshake inside it.

use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use stage_net::tls::TlsConfig;
use stage_net::{NetError, Theatre};
use stage_runtime::prelude::*;

#[actor(mobile)]
struct Vault {
    secret: String,
}

#[behaviour]
impl Vault {
    #[request]
    fn store(&mut self, secret: String) {
        self.secret = secret;
    }

    #[query]
    fn secret(&self) -> String {
        self.secret.clone()
    }
}

/// An authority, and a way to issue certificates for 127.0.0.1 signed by it.
struct Authority {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl Authority {
    fn new() -> Authority {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let cert = params.self_signed(&key).unwrap();
        Authority { cert, key }
    }

    fn issue(&self) -> TlsConfig {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .unwrap()
            .signed_by(&key, &self.cert, &self.key)
            .unwrap();
        TlsConfig::from_pem(
            cert.pem().as_bytes(),
            key.serialize_pem().as_bytes(),
            self.cert.pem().as_bytes(),
        )
        .unwrap()
    }
}

fn theatre(tls: Option<TlsConfig>, seeds: &[&Theatre]) -> Result<Theatre, NetError> {
    let mut builder = Theatre::builder()
        .cookie("tls-test")
        .down_after(Duration::from_millis(500))
        .rejoin_for(Duration::ZERO)
        .join(seeds.iter().map(|t| t.locator().to_owned()));
    if let Some(tls) = tls {
        builder = builder.tls(tls);
    }
    builder.start()
}

/// Two theatres with certificates from one authority, and the address of a vault
/// on the first, looked up from the second.
fn vault_over_tls() -> (Theatre, Theatre, Addr<Vault>) {
    let authority = Authority::new();
    let a = theatre(Some(authority.issue()), &[]).unwrap();
    let b = theatre(Some(authority.issue()), &[&a]).unwrap();
    a.bind(
        "vault",
        &a.spawn(Vault {
            secret: String::new(),
        }),
    )
    .unwrap();
    let vault = b.lookup::<Vault>("vault").unwrap();
    (a, b, vault)
}

#[test]
fn theatres_speak_over_tls_with_certificates_from_one_authority() {
    let (_a, _b, vault) = vault_over_tls();
    assert_eq!(request!(vault, store("swordfish".into())).wait(), Ok(()));
    assert_eq!(query!(vault, secret()).wait(), Ok("swordfish".to_owned()));
    // Many frames, both ways, through one session.
    for i in 0..2_000 {
        drop(request!(vault, store(format!("secret {i}"))));
    }
    assert_eq!(query!(vault, secret()).wait(), Ok("secret 1999".to_owned()));
}

/// A batch of frames larger than the TLS session's plaintext buffer (64 KiB) is
/// written whole: a large message, or a burst under load, used to break the link.
#[test]
fn a_frame_larger_than_the_sessions_buffer_crosses_whole() {
    let (_a, _b, vault) = vault_over_tls();
    let large = "s".repeat(300 << 10);
    assert_eq!(request!(vault, store(large.clone())).wait(), Ok(()));
    assert_eq!(query!(vault, secret()).wait(), Ok(large));
    assert_eq!(request!(vault, store("small".into())).wait(), Ok(()));
}

#[test]
fn a_theatre_without_tls_or_with_another_authority_is_refused() {
    let authority = Authority::new();
    let a = theatre(Some(authority.issue()), &[]).unwrap();
    // Plain TCP against TLS: the handshakes do not meet.
    let plain = theatre(None, &[&a]);
    assert!(plain.is_err(), "{plain:?}");
    // A certificate another authority signed.
    let stranger = theatre(Some(Authority::new().issue()), &[&a]);
    assert!(stranger.is_err(), "{stranger:?}");
    assert!(a.peers().is_empty());
    // The theatre still takes a member with the right certificate.
    let b = theatre(Some(authority.issue()), &[&a]).unwrap();
    assert_eq!(b.peers(), vec![a.locator().to_owned()]);
}

#[test]
fn unusable_certificates_are_named_in_the_error() {
    let authority = Authority::new();
    let said = |result: Result<TlsConfig, NetError>| match result {
        Err(NetError::Tls(why)) => why,
        other => panic!("{other:?}"),
    };
    let ca = authority.cert.pem();
    assert!(said(TlsConfig::from_pem(b"", b"", ca.as_bytes())).contains("certificate chain"));
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &authority.cert, &authority.key)
        .unwrap();
    assert!(said(TlsConfig::from_pem(
        cert.pem().as_bytes(),
        b"",
        ca.as_bytes()
    ))
    .contains("private key"));
    assert!(said(TlsConfig::from_pem(
        cert.pem().as_bytes(),
        key.serialize_pem().as_bytes(),
        b""
    ))
    .contains("authority"));
    assert!(said(TlsConfig::from_pem_files(
        "/nonexistent/a",
        "/nonexistent/b",
        "/nonexistent/c"
    ))
    .contains("/nonexistent/a"));
}

#[test]
fn an_observer_reads_a_tls_theatre_with_a_certificate_of_its_authority_only() {
    use stage_net::observer::Observer;

    let authority = Authority::new();
    let (a, b, _vault) = vault_over_tls();
    let observer = |tls: Option<TlsConfig>| {
        let builder = Observer::builder()
            .cookie("tls-test")
            .timeout(Duration::from_secs(10));
        match tls {
            Some(tls) => builder.tls(tls),
            None => builder,
        }
        .connect(a.locator())
    };
    // The vault's theatres have their own authority: a certificate of another
    // is refused, as is plain TCP.
    assert!(observer(Some(authority.issue())).is_err());
    assert!(observer(None).is_err());
    drop((a, b));

    let a = theatre(Some(authority.issue()), &[]).unwrap();
    let _vault = a.spawn(Vault {
        secret: String::new(),
    });
    let mut watching = Observer::builder()
        .cookie("tls-test")
        .tls(authority.issue())
        .connect(a.locator())
        .expect("an observer with the cluster's authority passes");
    for _ in 0..3 {
        let report = watching.report().expect("a report over TLS");
        assert_eq!(report.theatre, a.id());
        assert!(report.types.iter().any(|t| t.name.ends_with("::Vault")));
    }
}
