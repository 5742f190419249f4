//! Holds the data steps send: text kept as written until it is sent, bytes,
//! or a generator that makes them when the step runs.

use super::generate::Generator;
use crate::client::encoding::{EncodeError, Encoding};
use crate::vars::{Unknown, Vars};

/// Holds data to send, as the author wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data {
    /// `text:` (or a plain string): text that may name variables (`${name}`),
    /// encoded in its encoding when it is sent.
    Text {
        /// The text as written.
        text: String,
        /// The encoding it is sent in: utf8, latin1 or ascii.
        encoding: Encoding,
    },
    /// `hex:` or `base64:`: bytes, decoded when the file was loaded.
    Bytes {
        /// The bytes.
        bytes: Vec<u8>,
        /// The notation they were written in: hex or base64.
        encoding: Encoding,
    },
    /// `repeat:` or `random:`: bytes made when the step runs, shown in the
    /// transcript by their summary.
    Generated(Generator),
}

/// Reports why data could not become bytes when its step ran.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// A variable in the text has no value.
    #[error(transparent)]
    Unknown(#[from] Unknown),
    /// The text, with its variables replaced, does not fit its encoding.
    #[error("the text with its variables cannot be sent as {encoding}: {source}")]
    Encode {
        /// The data's encoding.
        encoding: Encoding,
        /// Which character does not fit.
        source: EncodeError,
    },
}

impl Data {
    /// Returns the encoding the data was written in (UTF-8 for generated data).
    pub fn encoding(&self) -> Encoding {
        match self {
            Data::Text { encoding, .. } | Data::Bytes { encoding, .. } => *encoding,
            Data::Generated(_) => Encoding::Utf8,
        }
    }

    /// Returns how the transcript shows generated data, instead of its bytes.
    pub fn summary(&self) -> Option<String> {
        match self {
            Data::Generated(generator) => Some(generator.summary()),
            Data::Text { .. } | Data::Bytes { .. } => None,
        }
    }

    /// Returns the bytes to send: text with its variables replaced by their
    /// values in `vars`, then encoded in the data's own encoding; bytes as they are.
    pub fn render(&self, vars: &Vars) -> Result<Vec<u8>, RenderError> {
        match self {
            Data::Text { text, encoding } => {
                let text = vars.apply(text)?;
                encoding
                    .encode(&text)
                    .map_err(|source| RenderError::Encode {
                        encoding: *encoding,
                        source,
                    })
            }
            Data::Bytes { bytes, .. } => Ok(bytes.clone()),
            Data::Generated(generator) => Ok(generator.bytes()),
        }
    }

    /// Returns the bytes as written, variables left as they are (for a banner, which takes none).
    pub fn literal(&self) -> Result<Vec<u8>, RenderError> {
        match self {
            Data::Text { text, encoding } => {
                encoding.encode(text).map_err(|source| RenderError::Encode {
                    encoding: *encoding,
                    source,
                })
            }
            Data::Bytes { bytes, .. } => Ok(bytes.clone()),
            Data::Generated(generator) => Ok(generator.bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn latin1(text: &str) -> Data {
        Data::Text {
            text: text.into(),
            encoding: Encoding::Latin1,
        }
    }

    fn vars(name: &str, value: &str) -> Vars {
        let mut vars = Vars::default();
        vars.values.insert(name.into(), value.into());
        vars
    }

    #[test]
    fn variables_are_replaced_before_the_text_is_encoded() {
        let data = latin1("café ${who}");
        assert_eq!(data.render(&vars("who", "bob")).unwrap(), b"caf\xe9 bob");
        assert_eq!(data.render(&vars("who", "zoë")).unwrap(), b"caf\xe9 zo\xeb");
        let utf8 = Data::Text {
            text: "café ${who}".into(),
            encoding: Encoding::Utf8,
        };
        assert_eq!(
            utf8.render(&vars("who", "zoë")).unwrap(),
            "café zoë".as_bytes()
        );
    }

    #[test]
    fn a_value_the_encoding_cannot_hold_is_an_error() {
        let ascii = Data::Text {
            text: "hi ${who}".into(),
            encoding: Encoding::Ascii,
        };
        let error = ascii.render(&vars("who", "zoë")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the text with its variables cannot be sent as ascii: character 'ë' at position 5 cannot be written as ascii"
        );
        let unknown = latin1("${nobody}").render(&Vars::default()).unwrap_err();
        assert!(matches!(unknown, RenderError::Unknown(_)), "{unknown}");
    }

    #[test]
    fn bytes_and_literal_text_are_sent_as_they_are() {
        let hex = Data::Bytes {
            bytes: b"${x}\xff".to_vec(),
            encoding: Encoding::Hex,
        };
        assert_eq!(hex.render(&Vars::default()).unwrap(), b"${x}\xff");
        assert_eq!(latin1("é ${x}").literal().unwrap(), b"\xe9 ${x}");
        assert_eq!(hex.encoding(), Encoding::Hex);
    }
}
