//! The connection table, which the kernel only offers as the text file
//! `/proc/net/ip_vs_conn` (there is no netlink command for it).
//!
//! [`parse_conns`] is pure and reads the text the way ipvsadm 1.31's
//! `list_conn` does: whitespace-separated fields, hex ports, addresses as
//! IPv6 text, dotted IPv4 or 8 hex digits. [`read_conns`] is the thin
//! reader; it takes a filesystem root so tests can point it at fixtures.

use std::fs;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

/// One row of `/proc/net/ip_vs_conn`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conn {
    /// Protocol name as the kernel prints it (`TCP`, `UDP`, `SCTP`, `IP`, ...).
    pub protocol: String,
    /// Client address.
    pub client_addr: IpAddr,
    /// Client port.
    pub client_port: u16,
    /// Virtual address.
    pub virtual_addr: IpAddr,
    /// Virtual port.
    pub virtual_port: u16,
    /// Real server address.
    pub dest_addr: IpAddr,
    /// Real server port.
    pub dest_port: u16,
    /// Protocol state (`ESTABLISHED`, `FIN_WAIT`, `NONE`, ...).
    pub state: String,
    /// Seconds until the entry expires.
    pub expires: u32,
    /// Persistence engine name and its data, for persistence-engine templates.
    pub pe: Option<(String, String)>,
}

/// A row that does not read as ipvsadm expects.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConnParseError {
    /// The text is empty (ipvsadm: `unexpected input from /proc/net/ip_vs_conn`).
    #[error("unexpected input from /proc/net/ip_vs_conn: empty")]
    Empty,
    /// A row with the wrong number of fields or an unreadable field.
    #[error("/proc/net/ip_vs_conn line {line}: {reason}")]
    BadLine {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

fn parse_addr(s: &str) -> Option<IpAddr> {
    if let Ok(a) = s.parse::<IpAddr>() {
        return Some(a);
    }
    u32::from_str_radix(s, 16).ok().map(|v| IpAddr::V4(Ipv4Addr::from(v)))
}

/// Parse the whole file. The first line is the header and is skipped.
pub fn parse_conns(text: &str) -> Result<Vec<Conn>, ConnParseError> {
    let mut lines = text.lines().enumerate();
    if lines.next().is_none() {
        return Err(ConnParseError::Empty);
    }
    let mut out = Vec::new();
    for (i, line) in lines {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        let bad = |reason: String| ConnParseError::BadLine { line: i + 1, reason };
        if fields.len() != 9 && fields.len() != 11 {
            return Err(bad(format!("{} fields, expected 9 or 11", fields.len())));
        }
        let addr = |s: &str| parse_addr(s).ok_or_else(|| bad(format!("bad address {s:?}")));
        let port = |s: &str| u16::from_str_radix(s, 16).map_err(|_| bad(format!("bad port {s:?}")));
        out.push(Conn {
            protocol: fields[0].to_string(),
            client_addr: addr(fields[1])?,
            client_port: port(fields[2])?,
            virtual_addr: addr(fields[3])?,
            virtual_port: port(fields[4])?,
            dest_addr: addr(fields[5])?,
            dest_port: port(fields[6])?,
            state: fields[7].to_string(),
            expires: fields[8].parse().map_err(|_| bad(format!("bad expiry {:?}", fields[8])))?,
            pe: (fields.len() == 11).then(|| (fields[9].to_string(), fields[10].to_string())),
        });
    }
    Ok(out)
}

/// Errors of [`read_conns`].
#[derive(Debug, thiserror::Error)]
pub enum ReadConnsError {
    /// The file could not be read (ipvsadm: `cannot open file /proc/net/ip_vs_conn`).
    #[error("cannot open file {path}: {source}")]
    Io {
        /// The path tried.
        path: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The text did not parse.
    #[error(transparent)]
    Parse(#[from] ConnParseError),
}

/// Read `<root>/proc/net/ip_vs_conn` (root is `/` on a live system).
pub fn read_conns(root: &Path) -> Result<Vec<Conn>, ReadConnsError> {
    let path = root.join("proc/net/ip_vs_conn");
    let text = fs::read_to_string(&path)
        .map_err(|source| ReadConnsError::Io { path: path.display().to_string(), source })?;
    Ok(parse_conns(&text)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Rows in the kernel's formats (net/netfilter/ipvs/ip_vs_conn.c,
    // ip_vs_conn_seq_show): IPv4 "%-3s %08X %04X %08X %04X %s %04X %-11s %7u%s",
    // IPv6 with %pI6 (full, uncompressed groups), the dest of an IPv4
    // service may be %pI6 for a mixed-family tunnel, and a persistence
    // engine template appends " <pe_name> <pe_data>".
    const FIXTURE: &str = "\
Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
TCP 0A000005 C822 CFAF2C6E 0050 C0A80A01 0050 ESTABLISHED     899
UDP 2001:0db8:0000:0000:0000:0000:0000:0005 1F90 2001:0db8:0000:0000:0000:0000:0000:0001 0035 2001:0db8:0000:0000:0000:0000:0001:0001 0035 UDP             299
TCP 0A000005 C822 CFAF2C6E 0050 2001:0db8:0000:0000:0000:0000:0001:0002 0050 SYN_RECV         59
UDP 0A000006 13C4 CFAF2C6E 13C4 C0A80A02 13C4 NONE            179 sip 1234@example.org
";

    #[test]
    fn ipv4_ipv6_mixed_and_pe_rows() {
        let conns = parse_conns(FIXTURE).unwrap();
        assert_eq!(conns.len(), 4);
        assert_eq!(
            conns[0],
            Conn {
                protocol: "TCP".into(),
                client_addr: "10.0.0.5".parse().unwrap(),
                client_port: 51234,
                virtual_addr: "207.175.44.110".parse().unwrap(),
                virtual_port: 80,
                dest_addr: "192.168.10.1".parse().unwrap(),
                dest_port: 80,
                state: "ESTABLISHED".into(),
                expires: 899,
                pe: None,
            }
        );
        assert_eq!(conns[1].client_addr, "2001:db8::5".parse::<IpAddr>().unwrap());
        assert_eq!(conns[1].client_port, 8080);
        assert_eq!(conns[1].dest_addr, "2001:db8::1:1".parse::<IpAddr>().unwrap());
        assert_eq!(conns[1].virtual_port, 53);
        assert_eq!(conns[2].dest_addr, "2001:db8::1:2".parse::<IpAddr>().unwrap());
        assert_eq!(conns[2].state, "SYN_RECV");
        assert_eq!(conns[3].pe, Some(("sip".into(), "1234@example.org".into())));
    }

    #[test]
    fn empty_and_header_only() {
        assert_eq!(parse_conns(""), Err(ConnParseError::Empty));
        assert_eq!(parse_conns(FIXTURE.lines().next().unwrap()), Ok(vec![]));
    }

    #[test]
    fn malformed_rows_are_errors_with_line_numbers() {
        let bad = [
            "hdr\nTCP 0A000005 C822\n",
            "hdr\nTCP 0A00000G C822 CFAF2C6E 0050 C0A80A01 0050 ESTABLISHED 899\n",
            "hdr\nTCP 0A000005 1C822 CFAF2C6E 0050 C0A80A01 0050 ESTABLISHED 899\n",
            "hdr\nTCP 0A000005 C822 CFAF2C6E 0050 C0A80A01 0050 ESTABLISHED -1\n",
        ];
        for text in bad {
            match parse_conns(text) {
                Err(ConnParseError::BadLine { line: 2, .. }) => {}
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn reader_takes_a_root() {
        let dir = std::env::temp_dir().join(format!("ipvs-conn-{}", std::process::id()));
        fs::create_dir_all(dir.join("proc/net")).unwrap();
        fs::write(dir.join("proc/net/ip_vs_conn"), FIXTURE).unwrap();
        let conns = read_conns(&dir).unwrap();
        assert_eq!(conns.len(), 4);
        fs::remove_dir_all(&dir).unwrap();
        assert!(matches!(read_conns(&dir), Err(ReadConnsError::Io { .. })));
    }
}
