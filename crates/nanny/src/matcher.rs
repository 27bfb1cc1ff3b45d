//! Send/expect strings: piranha's backslash escapes and the expect matcher
//! (literal with `*` wildcards, or a regular expression). Pure.

use regex::bytes::Regex;

/// Translates piranha's escapes `\\ \r \n \t \' \"`; any other backslash
/// sequence is kept as written (as piranha does with unknown escapes).
pub fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            let t = match b[i + 1] {
                b'\\' => Some(b'\\'),
                b'r' => Some(b'\r'),
                b'n' => Some(b'\n'),
                b't' => Some(b'\t'),
                b'\'' => Some(b'\''),
                b'"' => Some(b'"'),
                _ => None,
            };
            if let Some(t) = t {
                out.push(t);
                i += 2;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// What a reply must look like.
#[derive(Debug, Clone)]
pub enum Expect {
    /// The reply starts with these bytes; `None` is piranha's `*`, any one byte.
    Literal(Vec<Option<u8>>),
    /// The reply (as much as has arrived) matches this regex somewhere.
    Regex(Regex),
}

/// The verdict on the bytes received so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The reply matches: the server is up.
    Match,
    /// The reply can no longer match: the server is down.
    Mismatch,
    /// Not enough bytes yet: keep reading (until end of stream or timeout).
    NeedMore,
}

/// Largest reply kept for regex matching; beyond it the reply is a mismatch.
pub const REGEX_WINDOW: usize = 64 * 1024;

impl Expect {
    /// Builds a literal expect from already unescaped bytes: `*` is a wildcard.
    pub fn literal(bytes: &[u8]) -> Expect {
        Expect::Literal(bytes.iter().map(|&c| if c == b'*' { None } else { Some(c) }).collect())
    }

    /// Judges `got`, all the bytes received so far; `eof` says no more will come.
    pub fn judge(&self, got: &[u8], eof: bool) -> Verdict {
        match self {
            Expect::Literal(want) => {
                let n = got.len().min(want.len());
                let same = want[..n].iter().zip(&got[..n]).all(|(w, g)| w.is_none_or(|w| w == *g));
                if !same {
                    Verdict::Mismatch
                } else if got.len() >= want.len() {
                    Verdict::Match
                } else if eof {
                    Verdict::Mismatch
                } else {
                    Verdict::NeedMore
                }
            }
            Expect::Regex(re) => {
                if re.is_match(got) {
                    Verdict::Match
                } else if eof || got.len() >= REGEX_WINDOW {
                    Verdict::Mismatch
                } else {
                    Verdict::NeedMore
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(unescape(r#"GET /\r\n\t\\x\q\"\'"#), b"GET /\r\n\t\\x\\q\"'".to_vec());
        assert_eq!(unescape("trailing\\"), b"trailing\\".to_vec());
    }

    #[test]
    fn literal_with_wildcards() {
        let e = Expect::literal(b"HT*P");
        assert_eq!(e.judge(b"", false), Verdict::NeedMore);
        assert_eq!(e.judge(b"HT", false), Verdict::NeedMore);
        assert_eq!(e.judge(b"HT", true), Verdict::Mismatch);
        assert_eq!(e.judge(b"HTXP/1.0", false), Verdict::Match);
        assert_eq!(e.judge(b"HX", false), Verdict::Mismatch);
        // `*` needs a byte to be there.
        assert_eq!(Expect::literal(b"*").judge(b"", true), Verdict::Mismatch);
        assert_eq!(Expect::literal(b"*").judge(b"\0", false), Verdict::Match);
    }

    #[test]
    fn regex_mode() {
        let e = Expect::Regex(Regex::new("^\\+OK .*ready").unwrap());
        assert_eq!(e.judge(b"+OK se", false), Verdict::NeedMore);
        assert_eq!(e.judge(b"+OK server ready\r\n", false), Verdict::Match);
        assert_eq!(e.judge(b"-ERR", true), Verdict::Mismatch);
    }
}
