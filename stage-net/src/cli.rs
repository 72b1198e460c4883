//! The command line of a standalone theatre: `--listen`, `--join`, `--cookie` or
//! `--cookie-file` (or `--new-cookie-file`, which writes a strong one), `--name`,
//! and for TLS `--tls-cert`, `--tls-key`, `--tls-ca`.
//!
//! Any binary can run as a theatre of a cluster with the same flags:
//!
//! ```
//! use stage_net::cli::Options;
//!
//! let options = Options::parse(
//!     ["--listen", "127.0.0.1:0", "--cookie", "s3cret", "--name", "ann", "--chat"]
//!         .map(String::from),
//! )?;
//! assert_eq!(options.name.as_deref(), Some("ann"));
//! assert_eq!(options.rest, ["--chat"]);
//! let theatre = options.builder().start()?;
//! assert!(theatre.locator().starts_with("stage://127.0.0.1:"));
//! # Ok::<(), stage_net::NetError>(())
//! ```

use crate::error::NetError;
use crate::theatre::{Theatre, TheatreBuilder};
#[cfg(feature = "tls")]
use crate::tls::TlsConfig;

/// What the command line says.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// `--listen host:port` (default `127.0.0.1:0`: a free port on loopback).
    pub listen: String,
    /// `--join locator`, once per seed.
    pub join: Vec<String>,
    /// The cluster cookie, from `--cookie secret` or the contents of
    /// `--cookie-file path` (a trailing newline is not part of it), or a new one
    /// that `--new-cookie-file path` wrote (see [`new_cookie_file`]).
    pub cookie: Vec<u8>,
    /// `--name name`: this theatre's name, for the program to use.
    pub name: Option<String>,
    /// TLS from `--tls-cert chain.pem --tls-key key.pem --tls-ca authority.pem`
    /// (all three, or none: plain TCP). Behind the `tls` feature; a build
    /// without it refuses the flags.
    #[cfg(feature = "tls")]
    pub tls: Option<TlsConfig>,
    /// Every other argument, in order, for the program.
    pub rest: Vec<String>,
}

/// The usage line, for error messages and `--help`.
pub const USAGE: &str = "--cookie SECRET | --cookie-file PATH | --new-cookie-file PATH  \
                         [--listen HOST:PORT] \
                         [--join stage://HOST:PORT]...  [--name NAME]  \
                         [--tls-cert PEM --tls-key PEM --tls-ca PEM]";

/// Writes a new cluster cookie into the file `path`, which must not exist yet, and
/// returns it: 32 random bytes from the operating system, as 64 hexadecimal
/// characters and a newline, readable by the owner only (on Unix). Copy the file
/// to every theatre of the cluster and start each with `--cookie-file path`.
///
/// # Examples
///
/// ```
/// let path = std::env::temp_dir().join(format!("stage-doc-cookie-{}", std::process::id()));
/// let cookie = stage_net::cli::new_cookie_file(&path)?;
/// assert_eq!(cookie.len(), 64);
/// assert!(stage_net::cli::new_cookie_file(&path).is_err(), "never overwrites");
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), stage_net::NetError>(())
/// ```
///
/// # Errors
///
/// [`NetError::Io`] when the file exists already or cannot be written, or the
/// operating system has no randomness to give.
pub fn new_cookie_file(path: impl AsRef<std::path::Path>) -> Result<Vec<u8>, NetError> {
    use std::io::Write;

    let mut random = [0u8; 32];
    getrandom::getrandom(&mut random).map_err(std::io::Error::other)?;
    let cookie: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(cookie.as_bytes())?;
    file.write_all(b"\n")?;
    Ok(cookie.into_bytes())
}

fn usage(why: impl std::fmt::Display) -> NetError {
    NetError::Usage(format!("{why}; usage: {USAGE}"))
}

impl Options {
    /// Reads the flags from `args` (without the program's name).
    ///
    /// # Errors
    ///
    /// [`NetError::Usage`] for a flag without its value, no cookie, both a cookie
    /// and a cookie file, or an empty cookie; [`NetError::Io`] for a cookie file
    /// that cannot be read.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, NetError> {
        let mut args = args.into_iter();
        let mut listen = None;
        let mut join = Vec::new();
        let mut cookie = None;
        let mut cookie_file = None;
        let mut new_cookie_file = None;
        let mut name = None;
        let mut tls_cert = None;
        let mut tls_key = None;
        let mut tls_ca = None;
        let mut rest = Vec::new();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => (flag.to_owned(), Some(value)),
                _ => (arg.clone(), None),
            };
            let slot = match flag.as_str() {
                "--listen" => &mut listen,
                "--cookie" => &mut cookie,
                "--cookie-file" => &mut cookie_file,
                "--new-cookie-file" => &mut new_cookie_file,
                "--name" => &mut name,
                "--tls-cert" => &mut tls_cert,
                "--tls-key" => &mut tls_key,
                "--tls-ca" => &mut tls_ca,
                "--join" => {
                    let value = match inline {
                        Some(value) => value.to_owned(),
                        None => args
                            .next()
                            .ok_or_else(|| usage("`--join` needs a locator"))?,
                    };
                    join.push(value);
                    continue;
                }
                _ => {
                    rest.push(arg);
                    continue;
                }
            };
            let value = match inline {
                Some(value) => value.to_owned(),
                None => args
                    .next()
                    .ok_or_else(|| usage(format_args!("`{flag}` needs a value")))?,
            };
            if slot.replace(value).is_some() {
                return Err(usage(format_args!("`{flag}` is given twice")));
            }
        }
        let given = [
            cookie.is_some(),
            cookie_file.is_some(),
            new_cookie_file.is_some(),
        ];
        if given.iter().filter(|given| **given).count() > 1 {
            return Err(usage(
                "give one of `--cookie`, `--cookie-file` and `--new-cookie-file`, not more",
            ));
        }
        let cookie = if let Some(secret) = cookie {
            secret.into_bytes()
        } else if let Some(path) = cookie_file {
            let mut bytes = std::fs::read(&path)?;
            while bytes.last().is_some_and(|b| matches!(b, b'\n' | b'\r')) {
                bytes.pop();
            }
            bytes
        } else if let Some(path) = new_cookie_file {
            self::new_cookie_file(&path)?
        } else {
            return Err(usage("a cluster cookie is required"));
        };
        if cookie.is_empty() {
            return Err(usage("the cluster cookie is empty"));
        }
        #[cfg(feature = "tls")]
        let tls = match (tls_cert, tls_key, tls_ca) {
            (Some(cert), Some(key), Some(ca)) => Some(TlsConfig::from_pem_files(cert, key, ca)?),
            (None, None, None) => None,
            _ => {
                return Err(usage(
                    "TLS needs all three of `--tls-cert`, `--tls-key` and `--tls-ca`",
                ))
            }
        };
        #[cfg(not(feature = "tls"))]
        if tls_cert.is_some() || tls_key.is_some() || tls_ca.is_some() {
            return Err(usage(
                "this program was built without TLS (stage-net's `tls` feature)",
            ));
        }
        Ok(Options {
            listen: listen.unwrap_or_else(|| "127.0.0.1:0".to_owned()),
            join,
            cookie,
            name,
            #[cfg(feature = "tls")]
            tls,
            rest,
        })
    }

    /// Reads the flags from the process's arguments.
    ///
    /// # Errors
    ///
    /// As [`Options::parse`].
    pub fn from_env() -> Result<Options, NetError> {
        Options::parse(std::env::args().skip(1))
    }

    /// A builder configured by these options; add actor factories and start it.
    pub fn builder(&self) -> TheatreBuilder {
        let builder = Theatre::builder()
            .listen(self.listen.clone())
            .cookie(&self.cookie)
            .join(self.join.iter().cloned());
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.tls {
            return builder.tls(tls.clone());
        }
        builder
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, NetError> {
        Options::parse(args.iter().map(|a| (*a).to_owned()))
    }

    #[test]
    fn flags_with_values_inline_or_after() {
        let o = parse(&[
            "--listen=0.0.0.0:7000",
            "--join",
            "stage://a:1",
            "--join=stage://b:2",
            "--cookie",
            "k",
            "x",
        ])
        .unwrap();
        assert_eq!(o.listen, "0.0.0.0:7000");
        assert_eq!(o.join, ["stage://a:1", "stage://b:2"]);
        assert_eq!(o.cookie, b"k");
        assert_eq!(o.rest, ["x"]);
    }

    #[test]
    fn bad_command_lines_say_what_is_wrong() {
        let said = |args: &[&str]| match parse(args) {
            Err(NetError::Usage(why)) => why,
            other => panic!("{other:?}"),
        };
        assert!(said(&[]).contains("cookie is required"));
        assert!(said(&["--cookie"]).contains("`--cookie` needs a value"));
        assert!(said(&["--cookie", "a", "--cookie", "b"]).contains("twice"));
        assert!(said(&["--cookie", "a", "--cookie-file", "f"]).contains("not more"));
        assert!(said(&["--cookie-file", "f", "--new-cookie-file", "g"]).contains("not more"));
        assert!(said(&["--cookie", ""]).contains("empty"));
        let partial_tls = said(&["--cookie", "k", "--tls-cert", "c.pem"]);
        if cfg!(feature = "tls") {
            assert!(partial_tls.contains("all three"));
        } else {
            assert!(partial_tls.contains("without TLS"));
        }
        assert!(matches!(
            parse(&["--cookie-file", "/nonexistent/stage-cookie"]),
            Err(NetError::Io(_))
        ));
    }

    #[test]
    fn a_cookie_file_loses_its_trailing_newline() {
        let path = std::env::temp_dir().join(format!("stage-cookie-{}", std::process::id()));
        std::fs::write(&path, "s3cret\n").unwrap();
        let o = parse(&["--cookie-file", path.to_str().unwrap()]).unwrap();
        assert_eq!(o.cookie, b"s3cret");
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn a_new_cookie_file_is_written_once_and_read_back() {
        let path = std::env::temp_dir().join(format!("stage-new-cookie-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let o = parse(&["--new-cookie-file", path.to_str().unwrap()]).unwrap();
        assert_eq!(o.cookie.len(), 64);
        assert!(o.cookie.iter().all(u8::is_ascii_hexdigit));
        let again = parse(&["--cookie-file", path.to_str().unwrap()]).unwrap();
        assert_eq!(again.cookie, o.cookie);
        assert!(matches!(
            parse(&["--new-cookie-file", path.to_str().unwrap()]),
            Err(NetError::Io(_))
        ));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "readable by its owner only: {mode:o}");
        }
        let _ = std::fs::remove_file(path);
    }
}
