//! The failure kinds SiltDB reports. Each variant is one stable code of
//! `packages/bindings/src/errors.ts`: callers branch on the code, so the messages are free to change.

use std::fmt;
use std::io;

#[derive(Debug)]
pub enum Error {
    /// A checksum did not match or encoded data is malformed.
    Corruption(String),
    /// An argument has the wrong shape or range; nothing was changed.
    InvalidArgument(String),
    /// A read reached past the end of a file view.
    OutOfRange(String),
    /// A file is shorter than the length its reader expects.
    ShortFile(String),
    /// The object was closed.
    Closed(String),
    /// The operating system refused an I/O operation.
    Io { context: String, source: io::Error },
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// The stable code JavaScript sees as `error.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Corruption(_) => "CORRUPTION",
            Error::InvalidArgument(_) => "INVALID_ARGUMENT",
            Error::OutOfRange(_) => "OUT_OF_RANGE",
            Error::ShortFile(_) => "SHORT_FILE",
            Error::Closed(_) => "CLOSED",
            Error::Io { .. } => "IO_ERROR",
        }
    }

    pub fn corruption(message: impl Into<String>) -> Self {
        Error::Corruption(message.into())
    }

    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Error::InvalidArgument(message.into())
    }

    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Corruption(m)
            | Error::InvalidArgument(m)
            | Error::OutOfRange(m)
            | Error::ShortFile(m)
            | Error::Closed(m) => f.write_str(m),
            Error::Io { context, source } => write!(f, "{context}: {source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_the_typescript_error_codes() {
        let cases = [
            (Error::corruption("x"), "CORRUPTION"),
            (Error::invalid_argument("x"), "INVALID_ARGUMENT"),
            (Error::OutOfRange("x".into()), "OUT_OF_RANGE"),
            (Error::ShortFile("x".into()), "SHORT_FILE"),
            (Error::Closed("x".into()), "CLOSED"),
            (
                Error::io("open f", io::Error::from(io::ErrorKind::NotFound)),
                "IO_ERROR",
            ),
        ];
        for (error, code) in cases {
            assert_eq!(error.code(), code);
        }
    }

    #[test]
    fn io_errors_keep_their_context_and_source() {
        let error = Error::io("open /nope", io::Error::from(io::ErrorKind::NotFound));
        assert!(error.to_string().starts_with("open /nope: "));
        assert!(std::error::Error::source(&error).is_some());
    }
}
