//! The HTTP GET check's request and reply judgement. Pure.

use regex::bytes::Regex;

use crate::matcher::{Verdict, REGEX_WINDOW};

/// An HTTP/1.0 GET with a Host header and `Connection: close`.
pub fn request(path: &str, host: &str) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: lvs-router-nanny\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    )
    .into_bytes()
}

/// Parses `200,301-303` into inclusive ranges.
pub fn parse_statuses(s: &str) -> Result<Vec<(u16, u16)>, String> {
    let mut v = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let a: u16 = a.trim().parse().map_err(|_| format!("bad HTTP status {part:?}"))?;
        let b: u16 = b.trim().parse().map_err(|_| format!("bad HTTP status {part:?}"))?;
        if !(100..=599).contains(&a) || !(100..=599).contains(&b) || a > b {
            return Err(format!("bad HTTP status range {part:?}"));
        }
        v.push((a, b));
    }
    if v.is_empty() {
        return Err("empty HTTP status list".into());
    }
    Ok(v)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Judges the reply received so far.
pub fn judge(
    got: &[u8],
    eof: bool,
    statuses: &[(u16, u16)],
    body: Option<&Regex>,
) -> (Verdict, String) {
    let Some(eol) = find(got, b"\n") else {
        if got.len() > 8192 || eof {
            return (Verdict::Mismatch, "no HTTP status line".into());
        }
        if !got.is_empty() && !b"HTTP/".starts_with(&got[..got.len().min(5)]) {
            return (Verdict::Mismatch, "not an HTTP reply".into());
        }
        return (Verdict::NeedMore, String::new());
    };
    let line = String::from_utf8_lossy(&got[..eol]);
    let line = line.trim_end();
    let mut words = line.split(' ');
    let proto = words.next().unwrap_or("");
    let code = words.next().and_then(|c| c.parse::<u16>().ok());
    let (true, Some(code)) = (proto.starts_with("HTTP/"), code) else {
        let shown: String = line.chars().take(60).collect();
        return (Verdict::Mismatch, format!("not an HTTP status line: {shown:?}"));
    };
    if !statuses.iter().any(|&(a, b)| (a..=b).contains(&code)) {
        return (Verdict::Mismatch, format!("HTTP status {code}"));
    }
    let Some(re) = body else {
        return (Verdict::Match, format!("HTTP status {code}"));
    };
    let start = find(got, b"\r\n\r\n").map(|i| i + 4).or_else(|| find(got, b"\n\n").map(|i| i + 2));
    match start {
        Some(s) if re.is_match(&got[s..]) => {
            (Verdict::Match, format!("HTTP status {code}, body matches"))
        }
        _ if eof || got.len() >= REGEX_WINDOW => {
            (Verdict::Mismatch, format!("HTTP status {code}, body does not match {}", re.as_str()))
        }
        _ => (Verdict::NeedMore, String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &[(u16, u16)] = &[(200, 299)];

    #[test]
    fn statuses() {
        assert_eq!(parse_statuses("200, 301-303").unwrap(), vec![(200, 200), (301, 303)]);
        assert!(parse_statuses("").is_err());
        assert!(parse_statuses("99").is_err());
        assert!(parse_statuses("300-200").is_err());
        assert!(parse_statuses("abc").is_err());
    }

    #[test]
    fn status_line() {
        assert_eq!(judge(b"HTTP/1.1 20", false, OK, None).0, Verdict::NeedMore);
        assert_eq!(judge(b"HTTP/1.1 200 OK\r\n", false, OK, None).0, Verdict::Match);
        let (v, why) = judge(b"HTTP/1.0 503 Busy\r\n\r\n", false, OK, None);
        assert_eq!((v, why.as_str()), (Verdict::Mismatch, "HTTP status 503"));
        assert_eq!(judge(b"SSH-2.0-OpenSSH\r\n", false, OK, None).0, Verdict::Mismatch);
        assert_eq!(judge(b"garbage", false, OK, None).0, Verdict::Mismatch);
        assert_eq!(judge(b"HTT", true, OK, None).0, Verdict::Mismatch);
        assert_eq!(judge(b"HTTP/1.1 abc\r\n", false, OK, None).0, Verdict::Mismatch);
    }

    #[test]
    fn body_regex() {
        let re = Regex::new("healthy").unwrap();
        let head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n";
        assert_eq!(judge(head, false, OK, Some(&re)).0, Verdict::NeedMore);
        let mut full = head.to_vec();
        full.extend_from_slice(b"I am healthy\n");
        assert_eq!(judge(&full, false, OK, Some(&re)).0, Verdict::Match);
        assert_eq!(judge(head, true, OK, Some(&re)).0, Verdict::Mismatch);
    }

    #[test]
    fn request_has_host() {
        let r = request("/health", "www.example.com");
        assert!(r.starts_with(b"GET /health HTTP/1.0\r\nHost: www.example.com\r\n"));
        assert!(r.ends_with(b"\r\n\r\n"));
    }
}
