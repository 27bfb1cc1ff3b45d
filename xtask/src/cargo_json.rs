//! Finding the executables cargo built, from `--message-format=json`.
//!
//! Only `compiler-artifact` messages matter and only three of their string
//! fields: the target's `kind`, its `name`, and `executable`. Cargo prints
//! each message as one compact JSON object per line, so a small string
//! scanner does the job and keeps xtask free of a JSON dependency.

use std::path::PathBuf;

/// One executable cargo produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// The target's name (`pulse`, `vm_ipvs`...).
    pub name: String,
    /// The target's first kind: `bin` or `test`.
    pub kind: String,
    /// Absolute path of the executable.
    pub executable: PathBuf,
}

/// The executables among cargo's JSON messages, in build order.
pub fn artifacts(messages: &str) -> Vec<Artifact> {
    messages.lines().filter_map(artifact).collect()
}

fn artifact(line: &str) -> Option<Artifact> {
    if string_field(line, "reason")? != "compiler-artifact" {
        return None;
    }
    let executable = PathBuf::from(string_field(line, "executable")?);
    // `target` comes before any other object that has a `name` or `kind`.
    let target = &line[line.find("\"target\":{")?..];
    let kind = target.find("\"kind\":[").map(|at| &target[at + "\"kind\":[".len()..])?;
    let kind = json_string(kind)?.0;
    let name = string_field(target, "name")?;
    Some(Artifact { name, kind, executable })
}

/// The value of the first `"key":"..."` in `text`, unescaped.
fn string_field(text: &str, key: &str) -> Option<String> {
    let pattern = format!("\"{key}\":");
    let at = text.find(&pattern)? + pattern.len();
    json_string(&text[at..]).map(|(s, _)| s)
}

/// Decodes the JSON string at the start of `text`; returns it and the rest.
fn json_string(text: &str) -> Option<(String, &str)> {
    let body = text.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &body[i + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'u' => {
                    let hex: String = (0..4).filter_map(|_| chars.next().map(|(_, c)| c)).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_test_and_bin_executables() {
        let messages = concat!(
            r#"{"reason":"compiler-artifact","package_id":"path+file:///w/tests#lvs-tests@0.1.0","manifest_path":"/w/tests/Cargo.toml","target":{"kind":["test"],"crate_types":["bin"],"name":"vm_testbed","src_path":"/w/tests/vm/testbed.rs","edition":"2021","doc":false,"doctest":false,"test":true},"profile":{"opt_level":"0"},"features":["vm"],"filenames":["/w/target/debug/deps/vm_testbed-1234"],"executable":"/w/target/debug/deps/vm_testbed-1234","fresh":true}"#,
            "\n",
            r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"testbed"},"executable":null,"fresh":true}"#,
            "\n",
            r#"{"reason":"build-finished","success":true}"#,
            "\n",
            r#"{"reason":"compiler-artifact","target":{"kind":["bin"],"name":"send_arp"},"executable":"/w/a \"q\"\\b","fresh":false}"#,
            "\n",
        );
        assert_eq!(
            artifacts(messages),
            vec![
                Artifact {
                    name: "vm_testbed".into(),
                    kind: "test".into(),
                    executable: "/w/target/debug/deps/vm_testbed-1234".into(),
                },
                Artifact {
                    name: "send_arp".into(),
                    kind: "bin".into(),
                    executable: "/w/a \"q\"\\b".into(),
                },
            ]
        );
    }
}
