//! Load probes (piranha `-U rup|ruptime|rsh|ssh`): the command line to run
//! (`LoadCmd`, part of the nanny contract in `nanny_api`) and the parser
//! for its output. Pure; the probe itself runs through
//! [`crate::spawn`] like any external check.

#[cfg(test)]
use std::ffi::OsString;
#[cfg(test)]
use std::net::IpAddr;

pub use nanny_api::LoadCmd;

/// Finds the 1-minute load average in `uptime`, `rup` or `ruptime` output:
/// after the word `load` (and an optional `average`/`averages`, `:`), the
/// first number. `None` if there is none.
pub fn parse_load(out: &[u8]) -> Option<f64> {
    let text = String::from_utf8_lossy(out);
    let at = text.find("load")?;
    let mut rest = &text[at + 4..];
    for word in ["averages", "average"] {
        if let Some(r) = rest.strip_prefix(' ').unwrap_or(rest).strip_prefix(word) {
            rest = r;
            break;
        }
    }
    let rest = rest.trim_start_matches([' ', ':', '\t']);
    let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
    let v: f64 = rest[..end].parse().ok()?;
    v.is_finite().then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_of_the_three_tools() {
        assert_eq!(
            parse_load(b" 10:01:02 up 3 days,  2:04,  1 user,  load average: 0.42, 0.30, 0.10\n"),
            Some(0.42)
        );
        assert_eq!(
            parse_load(b"rs1   up  2 days, 20:39,  load average: 1.50, 1.00, 0.50\n"),
            Some(1.5)
        );
        assert_eq!(parse_load(b"rs1   up 2+20:39,  3 users,  load 2.00, 0.50, 0.10\n"), Some(2.0));
        assert_eq!(parse_load(b"load averages: 3.1 2.0 1.0"), Some(3.1));
        assert_eq!(parse_load(b"rup: RPC: Program not registered"), None);
        assert_eq!(parse_load(b"load average: nope"), None);
        assert_eq!(parse_load(b""), None);
        assert_eq!(parse_load(&[0xff, b'l', b'o', b'a', b'd', b' ', b'7']), Some(7.0));
    }

    #[test]
    fn commands() {
        let ip: IpAddr = "10.0.0.2".parse().unwrap();
        assert_eq!(LoadCmd::parse("none"), Ok(None));
        assert!(LoadCmd::parse("finger").is_err());
        assert_eq!(
            LoadCmd::parse("ssh").unwrap().unwrap().argv(ip),
            vec![OsString::from("ssh"), "10.0.0.2".into(), "uptime".into()]
        );
        assert_eq!(LoadCmd::Rup.argv(ip), vec![OsString::from("rup"), "10.0.0.2".into()]);
    }
}
