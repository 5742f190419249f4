//! Shows bytes as transcript text: quoted and escaped lines, hex or base64 pieces.

use crate::client::encoding::Encoding;

/// Renders text decoded from `encoding` the way [`render`] shows the bytes
/// it came from: hex and base64 text in the same fixed-size pieces, other
/// text quoted and escaped, a piece per line.
pub fn render_decoded(text: &str, encoding: Encoding) -> Vec<String> {
    match encoding {
        Encoding::Hex | Encoding::Base64 => text
            .as_bytes()
            .chunks(64)
            .map(|piece| String::from_utf8_lossy(piece).into_owned())
            .collect(),
        Encoding::Utf8 | Encoding::Ascii | Encoding::Latin1 => {
            render(text.as_bytes(), Encoding::Utf8)
        }
    }
}

/// Renders bytes as one line: quoted and escaped text in `encoding`, or
/// hex or base64, at most `max` bytes of them (then how many more there were).
pub fn one_line(bytes: &[u8], encoding: Encoding, max: usize) -> String {
    let shown = &bytes[..bytes.len().min(max)];
    let mut text = match encoding {
        Encoding::Hex => hex::encode(shown),
        Encoding::Base64 => {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode(shown)
        }
        Encoding::Utf8 | Encoding::Ascii | Encoding::Latin1 => quote(shown, encoding),
    };
    if bytes.len() > shown.len() {
        text.push_str(&format!(" ... ({} more bytes)", bytes.len() - shown.len()));
    }
    text
}

/// Renders bytes as quoted, escaped text pieces (one per line of data for
/// text encodings; fixed-size pieces for hex and base64).
pub fn render(bytes: &[u8], encoding: Encoding) -> Vec<String> {
    match encoding {
        Encoding::Hex => bytes.chunks(32).map(hex::encode).collect(),
        Encoding::Base64 => {
            use base64::Engine as _;
            bytes
                .chunks(48)
                .map(|c| base64::engine::general_purpose::STANDARD.encode(c))
                .collect()
        }
        Encoding::Utf8 | Encoding::Ascii | Encoding::Latin1 => bytes
            .split_inclusive(|&b| b == b'\n')
            .map(|line| quote(line, encoding))
            .collect(),
    }
}

/// Quotes one line of bytes, escaping quotes, backslashes, control
/// characters and bytes the encoding cannot show.
pub fn quote(bytes: &[u8], encoding: Encoding) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    match encoding {
        Encoding::Utf8 => {
            for chunk in bytes.utf8_chunks() {
                for ch in chunk.valid().chars() {
                    escape_char(ch, &mut out);
                }
                for byte in chunk.invalid() {
                    out.push_str(&format!("\\x{byte:02x}"));
                }
            }
        }
        Encoding::Latin1 => bytes
            .iter()
            .for_each(|&b| escape_char(char::from(b), &mut out)),
        _ => {
            for &byte in bytes {
                if byte.is_ascii() {
                    escape_char(char::from(byte), &mut out);
                } else {
                    out.push_str(&format!("\\x{byte:02x}"));
                }
            }
        }
    }
    out.push('"');
    out
}

fn escape_char(ch: char, out: &mut String) {
    match ch {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\0' => out.push_str("\\0"),
        c if c.is_control() => {
            let code = u32::from(c);
            if code < 0x100 {
                out.push_str(&format!("\\x{code:02x}"));
            } else {
                out.push_str(&format!("\\u{{{code:x}}}"));
            }
        }
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_quotes_and_invalid_bytes() {
        assert_eq!(quote(b"a\"b\\c\r\n", Encoding::Utf8), r#""a\"b\\c\r\n""#);
        assert_eq!(quote(b"\x1b[0m\xff", Encoding::Utf8), r#""\x1b[0m\xff""#);
        assert_eq!(quote("é".as_bytes(), Encoding::Utf8), "\"é\"");
        assert_eq!(quote(b"caf\xe9", Encoding::Latin1), "\"café\"");
        assert_eq!(quote(b"caf\xe9", Encoding::Ascii), r#""caf\xe9""#);
    }

    #[test]
    fn splits_text_into_lines_and_binary_into_pieces() {
        assert_eq!(render(b"a\nb", Encoding::Utf8), vec![r#""a\n""#, r#""b""#]);
        assert_eq!(render(&[0xab; 40], Encoding::Hex).len(), 2);
    }
}
