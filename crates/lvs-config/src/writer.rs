//! The YAML writer: the model, serialized by serde into a YAML value tree,
//! printed in block style by a small emitter of our own.
//!
//! libyaml's emitter (behind serde_yaml_ng) treats U+2028/U+2029 as line
//! breaks (YAML 1.1) and can write strings that a YAML 1.2 reader reads
//! back differently. This emitter quotes every string that is not plainly
//! safe in both YAML 1.1 and 1.2 and escapes every character that is not
//! printable, so reading its output gives back the same model.

use std::borrow::Cow;
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
    // Plain pushes rather than `write!`: a large cluster prints some
    // 300,000 lines.
    let pad = |out: &mut String| out.extend(std::iter::repeat_n(' ', indent));
    match v {
        Value::Mapping(m) => {
            for (k, val) in m {
                pad(out);
                out.push_str(&scalar(k));
                out.push(':');
                entry_value(val, indent, out);
            }
        }
        Value::Sequence(items) => {
            for item in items {
                if let Some(e) = is_empty_collection(item) {
                    pad(out);
                    out.push_str("- ");
                    out.push_str(e);
                    out.push('\n');
                } else if matches!(item, Value::Mapping(_) | Value::Sequence(_)) {
                    // Write the item two columns in, then put the dash in
                    // the place of its first indentation.
                    let start = out.len();
                    node(item, indent + 2, out);
                    let dash = start + indent..start + indent + 2;
                    if out.get(dash.clone()) == Some("  ") {
                        out.replace_range(dash, "- ");
                    }
                } else {
                    pad(out);
                    out.push_str("- ");
                    out.push_str(&scalar(item));
                    out.push('\n');
                }
            }
        }
        other => {
            pad(out);
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

fn entry_value(val: &Value, indent: usize, out: &mut String) {
    if let Some(e) = is_empty_collection(val) {
        out.push(' ');
        out.push_str(e);
        out.push('\n');
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
            out.push(' ');
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

/// A scalar as written; borrowed when it needs no quoting (most do not).
fn scalar(v: &Value) -> Cow<'_, str> {
    match v {
        Value::Null => Cow::Borrowed("null"),
        Value::Bool(true) => Cow::Borrowed("true"),
        Value::Bool(false) => Cow::Borrowed("false"),
        Value::Number(n) => Cow::Owned(n.to_string()),
        Value::String(s) => string(s),
        Value::Tagged(t) => Cow::Owned(string(&format!("{:?}", t.value)).into_owned()),
        Value::Mapping(_) | Value::Sequence(_) => Cow::Borrowed("{}"),
    }
}

/// Words that YAML 1.1 or 1.2 would read as something other than a string.
const SPECIAL: &[&str] = &["true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"];

fn plain_ok(s: &str) -> bool {
    let Some(first) = s.chars().next() else { return false };
    if !(first.is_ascii_alphanumeric() || first == '/' || first == '_') {
        return false;
    }
    let pairs = |a: &[u8]| a == b": " || a == b" #";
    if s.ends_with(' ') || s.ends_with(':') || s.as_bytes().windows(2).any(pairs) {
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

fn string(s: &str) -> Cow<'_, str> {
    if plain_ok(s) {
        return Cow::Borrowed(s);
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
    Cow::Owned(out)
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
