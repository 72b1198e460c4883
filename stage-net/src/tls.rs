//! Optional TLS between theatres (rustls, mutual authentication): every theatre
//! presents a certificate signed by the cluster's certificate authority and checks
//! the other's against it. The cookie handshake then runs inside the TLS session,
//! and every frame after it is encrypted and authenticated.
//!
//! A connection's reader and writer threads share one rustls session behind a
//! mutex, held only while bytes are encrypted or decrypted, never during socket
//! I/O; only the writer thread writes to the socket, so TLS records leave in the
//! order they were made.

//!
//! Behind the `tls` feature, on by default: without it, `TlsConfig` and
//! `TheatreBuilder::tls` are not there, and connections are plain TCP.

use std::io::{self, Read, Write};
use std::net::TcpStream;
#[cfg(feature = "tls")]
use std::path::Path;
#[cfg(feature = "tls")]
use std::sync::{Arc, Mutex};

#[cfg(feature = "tls")]
use rustls::pki_types::pem::PemObject;
#[cfg(feature = "tls")]
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
#[cfg(feature = "tls")]
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};

#[cfg(feature = "tls")]
use crate::deadline::Deadline;
#[cfg(feature = "tls")]
use crate::error::NetError;

/// A theatre's TLS identity and the authority it trusts.
///
/// # Examples
///
/// ```no_run
/// use stage_net::{tls::TlsConfig, Theatre};
///
/// let tls = TlsConfig::from_pem_files("theatre.pem", "theatre.key", "cluster-ca.pem")?;
/// let theatre = Theatre::builder().cookie("s3cret").tls(tls).start()?;
/// # Ok::<(), stage_net::NetError>(())
/// ```
#[cfg(feature = "tls")]
#[derive(Clone)]
pub struct TlsConfig {
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
}

#[cfg(feature = "tls")]
impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig").finish_non_exhaustive()
    }
}

#[cfg(feature = "tls")]
fn tls_error(what: &str, error: impl std::fmt::Display) -> NetError {
    NetError::Tls(format!("{what}: {error}"))
}

#[cfg(feature = "tls")]
impl TlsConfig {
    /// From PEM files: this theatre's certificate chain, its private key, and the
    /// certificates of the authority that signs every member's certificate.
    ///
    /// # Errors
    ///
    /// [`NetError::Tls`] naming the file that cannot be read or used.
    pub fn from_pem_files(
        chain: impl AsRef<Path>,
        key: impl AsRef<Path>,
        authority: impl AsRef<Path>,
    ) -> Result<TlsConfig, NetError> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|e| tls_error(&path.display().to_string(), e))
        };
        TlsConfig::from_pem(
            &read(chain.as_ref())?,
            &read(key.as_ref())?,
            &read(authority.as_ref())?,
        )
    }

    /// As [`TlsConfig::from_pem_files`], from the files' contents.
    ///
    /// # Errors
    ///
    /// [`NetError::Tls`] saying which part is missing or refused.
    pub fn from_pem(chain: &[u8], key: &[u8], authority: &[u8]) -> Result<TlsConfig, NetError> {
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(chain)
            .collect::<Result<_, _>>()
            .map_err(|e| tls_error("the certificate chain", e))?;
        if chain.is_empty() {
            return Err(tls_error("the certificate chain", "no certificate in it"));
        }
        let key =
            PrivateKeyDer::from_pem_slice(key).map_err(|e| tls_error("the private key", e))?;
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(authority) {
            let cert = cert.map_err(|e| tls_error("the authority's certificates", e))?;
            roots
                .add(cert)
                .map_err(|e| tls_error("the authority's certificates", e))?;
        }
        if roots.is_empty() {
            return Err(tls_error(
                "the authority's certificates",
                "no certificate in them",
            ));
        }
        let roots = Arc::new(roots);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::clone(&roots),
            Arc::clone(&provider),
        )
        .build()
        .map_err(|e| tls_error("the client verifier", e))?;
        let server = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_error("the protocol versions", e))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain.clone(), key.clone_key())
            .map_err(|e| tls_error("the certificate and key", e))?;
        let client = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_error("the protocol versions", e))?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .map_err(|e| tls_error("the certificate and key", e))?;
        Ok(TlsConfig {
            server: Arc::new(server),
            client: Arc::new(client),
        })
    }

    /// Completes a TLS handshake as the side that dialled `host`.
    pub(crate) fn connect(
        &self,
        host: &str,
        mut socket: TcpStream,
        deadline: Deadline,
    ) -> Result<Transport, NetError> {
        let name = ServerName::try_from(host.to_owned())
            .map_err(|e| tls_error(&format!("the host name `{host}`"), e))?;
        let mut session = ClientConnection::new(Arc::clone(&self.client), name)
            .map_err(|e| tls_error("the TLS session", e))?;
        while session.is_handshaking() {
            deadline.arm(&socket)?;
            session.complete_io(&mut socket)?;
        }
        Ok(Transport::tls(socket, rustls::Connection::Client(session)))
    }

    /// Completes a TLS handshake as the side that accepted.
    pub(crate) fn accept(
        &self,
        mut socket: TcpStream,
        deadline: Deadline,
    ) -> Result<Transport, NetError> {
        let mut session = ServerConnection::new(Arc::clone(&self.server))
            .map_err(|e| tls_error("the TLS session", e))?;
        while session.is_handshaking() {
            deadline.arm(&socket)?;
            session.complete_io(&mut socket)?;
        }
        Ok(Transport::tls(socket, rustls::Connection::Server(session)))
    }
}

/// A connection's byte stream: plain TCP, or TLS over it.
pub(crate) enum Transport {
    Plain(TcpStream),
    #[cfg(feature = "tls")]
    Tls(TlsStream),
}

impl Transport {
    #[cfg(feature = "tls")]
    fn tls(socket: TcpStream, session: rustls::Connection) -> Transport {
        Transport::Tls(TlsStream {
            socket,
            session: Arc::new(Mutex::new(session)),
            plain: Vec::new(),
            at: 0,
        })
    }

    /// The TCP socket under it (for time limits and shutting down).
    pub(crate) fn socket(&self) -> &TcpStream {
        match self {
            Transport::Plain(socket) => socket,
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => &tls.socket,
        }
    }

    /// A reading half and a writing half, for a connection's two threads.
    pub(crate) fn split(self) -> io::Result<(Box<dyn Read + Send>, Box<dyn Write + Send>)> {
        match self {
            Transport::Plain(socket) => {
                let writer = socket.try_clone()?;
                Ok((Box::new(socket), Box::new(writer)))
            }
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => {
                let writer = TlsStream {
                    socket: tls.socket.try_clone()?,
                    session: Arc::clone(&tls.session),
                    plain: Vec::new(),
                    at: 0,
                };
                Ok((Box::new(tls), Box::new(writer)))
            }
        }
    }
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(socket) => socket.read(buf),
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(socket) => socket.write(buf),
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => tls.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain(socket) => socket.flush(),
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => tls.flush(),
        }
    }
}

/// One end of a TLS session over a socket; the reading and the writing halves
/// share the session.
#[cfg(feature = "tls")]
pub(crate) struct TlsStream {
    socket: TcpStream,
    session: Arc<Mutex<rustls::Connection>>,
    /// Decrypted bytes not yet read, from `at`.
    plain: Vec<u8>,
    at: usize,
}

#[cfg(feature = "tls")]
impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut raw = [0u8; 16 << 10];
        loop {
            if self.at < self.plain.len() {
                let n = buf.len().min(self.plain.len() - self.at);
                buf[..n].copy_from_slice(&self.plain[self.at..self.at + n]);
                self.at += n;
                return Ok(n);
            }
            self.plain.clear();
            self.at = 0;
            // Ciphertext, read without holding the session.
            let n = self.socket.read(&mut raw)?;
            if n == 0 {
                return Ok(0);
            }
            let shared = Arc::clone(&self.session);
            let mut session = crate::sync::lock(&shared);
            let mut input = &raw[..n];
            while !input.is_empty() {
                if session.read_tls(&mut input)? == 0 {
                    return Err(io::Error::other("the TLS session took no more input"));
                }
                let state = session.process_new_packets().map_err(io::Error::other)?;
                let ready = state.plaintext_bytes_to_read();
                if ready > 0 {
                    let start = self.plain.len();
                    self.plain.resize(start + ready, 0);
                    session.reader().read_exact(&mut self.plain[start..])?;
                }
                if state.peer_has_closed() && self.plain.is_empty() {
                    return Ok(0);
                }
            }
        }
    }
}

#[cfg(feature = "tls")]
impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut records = Vec::with_capacity(buf.len() + buf.len() / 64 + 64);
        {
            let mut session = crate::sync::lock(&self.session);
            let mut rest = buf;
            loop {
                // The session takes plaintext only up to its buffer limit (64 KiB)
                // until what it encrypted is drained: a batch of frames can be
                // larger, so the two alternate.
                let taken = session.writer().write(rest)?;
                rest = &rest[taken..];
                // Also whatever the reading half made the session want to send.
                let before = records.len();
                while session.wants_write() {
                    session.write_tls(&mut records)?;
                }
                if rest.is_empty() {
                    break;
                }
                if taken == 0 && records.len() == before {
                    return Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "the TLS session takes no more plaintext",
                    ));
                }
            }
        }
        self.socket.write_all(&records)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.socket.flush()
    }
}
