//! The YAML writer: the model, serialized by serde into a YAML value tree,
//! printed in block style by a small emitter of our own.
//!
//! libyaml's emitter (behind serde_yaml_ng) treats U+2028/U+2029 as line
//! breaks (YAML 1.1) and can write strings that a YAML 1.2 reader reads
//! back differently. This emitter quotes every string that is not plainly
//! safe in both YAML 1.1 and 1.2 and escapes every character that is not
//! printable, so reading its output gives back the same model.

use std::fmt::Write as _;

use serde_yaml::Value;

/// Prints any serializable value as block-style YAML.
pub(crate) fn to_yaml<T: serde::Serialize>(value: &T) -> Result<String, serde_yaml::Error> {
    let v = serde_yaml::to_value(value)?;
    let mut out = String::new();
    match &v {
        Value::Mapping(_) | Value::Sequence(_) => node(&v, 0, &mut out),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    Ok(out)
}

fn is_empty_collection(v: &Value) -> Option<&'static str> {
    match v {
        Value::Mapping(m) if m.is_empty() => Some("{}"),
        Value::Sequence(s) if s.is_empty() => Some("[]"),
        _ => None,
    }
}

/// Writes a mapping or sequence at `indent`, one entry per line.
fn node(v: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        Value::Mapping(m) => {
            for (k, val) in m {
                let _ = write!(out, "{pad}{}:", scalar(k));
                entry_value(val, indent, out);
            }
        }
        Value::Sequence(items) => {
            for item in items {
                if let Some(e) = is_empty_collection(item) {
                    let _ = writeln!(out, "{pad}- {e}");
                } else if matches!(item, Value::Mapping(_) | Value::Sequence(_)) {
                    // Write the item two columns in, then put the dash in
                    // the place of its first indentation.
                    let mut inner = String::new();
                    node(item, indent + 2, &mut inner);
                    let _ = write!(out, "{pad}- {}", &inner[indent + 2..]);
                } else {
                    let _ = writeln!(out, "{pad}- {}", scalar(item));
                }
            }
        }
        other => {
            let _ = writeln!(out, "{pad}{}", scalar(other));
        }
    }
}

fn entry_value(val: &Value, indent: usize, out: &mut String) {
    if let Some(e) = is_empty_collection(val) {
        let _ = writeln!(out, " {e}");
        return;
    }
    match val {
        Value::Mapping(_) => {
            out.push('\n');
            node(val, indent + 2, out);
        }
        Value::Sequence(_) => {
            out.push('\n');
            node(val, indent, out);
        }
        other => {
            let _ = writeln!(out, " {}", scalar(other));
        }
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Tagged(t) => string(&format!("{:?}", t.value)),
        Value::Mapping(_) | Value::Sequence(_) => "{}".to_owned(),
    }
}

/// Words that YAML 1.1 or 1.2 would read as something other than a string.
const SPECIAL: &[&str] = &["true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"];

fn plain_ok(s: &str) -> bool {
    let Some(first) = s.chars().next() else { return false };
    if !(first.is_ascii_alphanumeric() || first == '/' || first == '_') {
        return false;
    }
    if s.ends_with(' ') || s.ends_with(':') || s.contains(": ") || s.contains(" #") {
        return false;
    }
    if !s.chars().all(|c| c.is_ascii_alphanumeric() || " _./%:@+=,()-".contains(c)) {
        return false;
    }
    if SPECIAL.iter().any(|w| w.eq_ignore_ascii_case(s)) {
        return false;
    }
    // Numbers, sexagesimals, dates and 0x/0o/0b forms stay quoted.
    let numberish =
        s.chars().all(|c| c.is_ascii_digit() || "_:+-.".contains(c)) && s.matches('.').count() <= 1;
    let radix = first.is_ascii_digit() && s[1..].starts_with(['x', 'o', 'b', 'X', 'O', 'B']);
    !(numberish || radix || s.parse::<f64>().is_ok())
}

fn string(s: &str) -> String {
    if plain_ok(s) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if printable(c) => out.push(c),
            c if (c as u32) <= 0xffff => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08X}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

/// YAML's printable set, minus the characters some readers take for line
/// breaks or a byte-order mark.
fn printable(c: char) -> bool {
    let u = c as u32;
    matches!(u, 0x20..=0x7e | 0xa0..=0xd7ff | 0xe000..=0xfffd | 0x10000..=0x10ffff)
        && !matches!(u, 0x2028 | 0x2029 | 0xfeff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        for (s, plain) in [
            ("wlc", true),
            ("eth0:1", true),
            ("10.0.0.1", true),
            ("/usr/local/bin/dnscheck %h", true),
            ("192.168.10.9:80", true),
            ("2001:db8::1", true),
            ("yes", false),
            ("80", false),
            ("1.5", false),
            ("1:20", false),
            ("2001-12-14", false),
            ("0x1f", false),
            ("", false),
            ("a: b", false),
            ("[::1]:80", false),
            ("inf", false),
        ] {
            assert_eq!(plain_ok(s), plain, "{s}");
        }
        assert_eq!(string("a\u{2028}b\"\\"), "\"a\\u2028b\\\"\\\\\"");
    }
}
