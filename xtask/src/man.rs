//! `cargo xtask man`: generates lvs-router.yaml(5) from the one place the
//! configuration is documented, the doc comments of
//! `crates/lvs-config/src/model.rs` and of its submodules in `model/`, whose
//! serde layout *is* the YAML format.
//!
//! The model files are read as text (rustfmt keeps it regular: one field per
//! line, doc comments and `#[serde(...)]` attributes above it); every key
//! becomes an entry named by its full path (`heartbeat.deadtime`,
//! `virtual_services[].real_servers[].weight`), with the field's doc
//! comment, its value type, whether it is required, and the values of an
//! enumeration with their own doc comments. The page is committed as
//! `docs/man/lvs-router.yaml.5`; the unit test below fails when it differs
//! from what the model gives now, and `tests/tests/manpages.rs` fails when a
//! key of the model is missing from it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::{bail, Context};

/// Where the page is written, relative to the project root.
pub const PAGE: &str = "docs/man/lvs-router.yaml.5";
/// The model it documents, relative to the project root: this file and
/// the files of the directory of the same name (its submodules).
pub const MODEL: &str = "crates/lvs-config/src/model.rs";

/// The model's source: `MODEL` and then its submodules in name order,
/// each without its tests.
pub fn model_text(root: &std::path::Path) -> anyhow::Result<String> {
    let main = root.join(MODEL);
    let mut files = vec![main.clone()];
    let dir = main.with_extension("");
    let mut subs: Vec<_> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    subs.sort();
    files.extend(subs);
    let mut text = String::new();
    for file in files {
        let source =
            std::fs::read_to_string(&file).with_context(|| format!("{}", file.display()))?;
        let end = source.find("\n#[cfg(test)]").map_or(source.len(), |at| at + 1);
        text.push_str(&source[..end]);
        text.push('\n');
    }
    Ok(text)
}
/// The page's date: bumped by hand when the format changes, so that the
/// generated page is reproducible.
const DATE: &str = "2026-12-02";

/// `cargo xtask man [--check]`: writes the page, or with `--check` fails
/// when the committed page is out of date.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let check = match args {
        [] => false,
        [flag] if flag == "--check" => true,
        _ => bail!("usage: cargo xtask man [--check]"),
    };
    let root = crate::project_root();
    let model = model_text(&root)?;
    let page = render(&model)?;
    let path = root.join(PAGE);
    if check {
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed != page {
            bail!("{PAGE} is out of date with {MODEL}: run `cargo xtask man`");
        }
        eprintln!("man: {PAGE} is up to date");
    } else {
        std::fs::write(&path, page).with_context(|| format!("writing {PAGE}"))?;
        eprintln!("man: wrote {PAGE}");
    }
    Ok(())
}

/// One field of a struct or of a struct-like enum variant.
#[derive(Debug, Clone)]
struct Field {
    name: String,
    ty: String,
    doc: String,
    required: bool,
    flatten: bool,
}

/// One variant of an enum.
#[derive(Debug, Clone)]
struct Variant {
    name: String,
    doc: String,
    fields: Vec<Field>,
}

#[derive(Debug, Clone)]
enum Item {
    Struct {
        fields: Vec<Field>,
    },
    /// A tuple or transparent struct: a leaf value.
    Newtype,
    Enum {
        variants: Vec<Variant>,
        untagged: bool,
        tag: Option<String>,
    },
}

/// Parses the types of the model file.
fn parse(model: &str) -> anyhow::Result<BTreeMap<String, Item>> {
    let mut items = BTreeMap::new();
    let mut doc: Vec<String> = Vec::new();
    let mut attrs: Vec<String> = Vec::new();
    let mut lines = model.lines().map(str::trim).peekable();
    let mut in_tests = false;
    while let Some(line) = lines.next() {
        if line.starts_with("#[cfg(test)]") {
            in_tests = true;
        }
        if in_tests {
            continue;
        }
        if let Some(d) = line.strip_prefix("///") {
            doc.push(d.strip_prefix(' ').unwrap_or(d).to_owned());
            continue;
        }
        if line.starts_with("#[") {
            attrs.push(line.to_owned());
            continue;
        }
        let item_attrs = std::mem::take(&mut attrs);
        doc.clear();
        if let Some(rest) = line.strip_prefix("pub struct ") {
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric()).collect();
            if rest.ends_with('{') {
                let fields = parse_fields(&mut lines, &name)?;
                items.insert(name, Item::Struct { fields });
            } else {
                items.insert(name, Item::Newtype);
            }
        } else if let Some(rest) = line.strip_prefix("pub enum ") {
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric()).collect();
            let serde = item_attrs.iter().filter(|a| a.starts_with("#[serde(")).cloned();
            let serde: String = serde.collect();
            let untagged = serde.contains("untagged");
            let tag = attr_value(&serde, "tag");
            let variants = parse_variants(&mut lines, &name)?;
            items.insert(name, Item::Enum { variants, untagged, tag });
        }
    }
    Ok(items)
}

/// The quoted value of `key = "..."` in an attribute.
fn attr_value(attr: &str, key: &str) -> Option<String> {
    let at = attr.find(&format!("{key} = \""))? + key.len() + 4;
    let rest = &attr[at..];
    Some(rest[..rest.find('"')?].to_owned())
}

fn parse_fields<'a>(
    lines: &mut std::iter::Peekable<impl Iterator<Item = &'a str>>,
    owner: &str,
) -> anyhow::Result<Vec<Field>> {
    let mut fields = Vec::new();
    let mut doc: Vec<String> = Vec::new();
    let mut serde = String::new();
    for line in lines.by_ref() {
        if line.starts_with('}') {
            return Ok(fields);
        }
        if let Some(d) = line.strip_prefix("///") {
            doc.push(d.strip_prefix(' ').unwrap_or(d).to_owned());
        } else if line.starts_with("#[serde(") {
            serde.push_str(line);
        } else if let Some(rest) = line.strip_prefix("pub ").or(Some(line)) {
            let Some((name, ty)) = rest.split_once(": ") else { continue };
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                continue;
            }
            let name = attr_value(&serde, "rename").unwrap_or_else(|| name.to_owned());
            fields.push(Field {
                name,
                ty: ty.trim_end_matches(',').to_owned(),
                doc: doc.join("\n"),
                required: !serde.contains("default"),
                flatten: serde.contains("flatten"),
            });
            doc.clear();
            serde.clear();
        }
    }
    bail!("{MODEL}: struct {owner} does not end")
}

fn parse_variants<'a>(
    lines: &mut std::iter::Peekable<impl Iterator<Item = &'a str>>,
    owner: &str,
) -> anyhow::Result<Vec<Variant>> {
    let mut variants = Vec::new();
    let mut doc: Vec<String> = Vec::new();
    let mut serde = String::new();
    while let Some(line) = lines.next() {
        if line.starts_with('}') {
            return Ok(variants);
        }
        if let Some(d) = line.strip_prefix("///") {
            doc.push(d.strip_prefix(' ').unwrap_or(d).to_owned());
            continue;
        }
        if line.starts_with("#[serde(") {
            serde.push_str(line);
            continue;
        }
        if line.starts_with("#[") {
            continue;
        }
        let ident: String = line.chars().take_while(|c| c.is_alphanumeric()).collect();
        if ident.is_empty() {
            continue;
        }
        let name = attr_value(&serde, "rename").unwrap_or_else(|| snake(&ident));
        let fields = if line.ends_with('{') { parse_fields(lines, owner)? } else { Vec::new() };
        variants.push(Variant { name, doc: doc.join("\n"), fields });
        doc.clear();
        serde.clear();
    }
    bail!("{MODEL}: enum {owner} does not end")
}

/// `ReservationConflictAction` -> `reservation_conflict_action`, serde's
/// `rename_all = "snake_case"`.
fn snake(ident: &str) -> String {
    let mut out = String::new();
    for (i, c) in ident.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `Option<Vec<X>>` -> (`X`, is a list).
fn inner_type(ty: &str) -> (&str, bool) {
    let mut t = ty;
    let mut list = false;
    loop {
        if let Some(x) = t.strip_prefix("Option<").and_then(|x| x.strip_suffix('>')) {
            t = x;
        } else if let Some(x) = t.strip_prefix("Box<").and_then(|x| x.strip_suffix('>')) {
            t = x;
        } else if let Some(x) = t.strip_prefix("Vec<").and_then(|x| x.strip_suffix('>')) {
            t = x;
            list = true;
        } else {
            return (t, list);
        }
    }
}

/// How a leaf value is written.
fn value_kind(ty: &str, items: &BTreeMap<String, Item>) -> String {
    let (t, list) = inner_type(ty);
    let one = match t {
        "bool" => "true or false".to_owned(),
        "u8" | "u16" | "u32" | "u64" => "a number".to_owned(),
        "String" => "text".to_owned(),
        "PathBuf" => "a path".to_owned(),
        "IpAddr" => "an IPv4 or IPv6 address".to_owned(),
        "SocketAddr" => "an address, with an optional port".to_owned(),
        "Millis" => "a duration: seconds (6, 0.5) or with a unit (\"500ms\", \"2s\")".to_owned(),
        "Scheduler" => "a scheduler name".to_owned(),
        _ => match items.get(t) {
            Some(Item::Enum { variants, .. }) => {
                let names: Vec<String> = variants.iter().map(|v| bold(&v.name)).collect();
                format!("one of {}", names.join(", "))
            }
            _ => t.to_owned(),
        },
    };
    if list {
        format!("a list; each {one}")
    } else {
        one
    }
}

/// Escapes text for roff and turns Markdown code spans into bold.
fn roff_text(text: &str) -> String {
    let mut out = String::new();
    let text = drop_code_references(&text.replace('\n', " "));
    // Other intra-doc links ([`Millis`]) read as code.
    let text = text.replace("[`", "`").replace("`]", "`");
    let mut in_code = false;
    for c in text.chars() {
        match c {
            '`' => {
                out.push_str(if in_code { "\\fR" } else { "\\fB" });
                in_code = !in_code;
            }
            '\\' => out.push_str("\\e"),
            '-' if in_code => out.push_str("\\-"),
            _ => out.push(c),
        }
    }
    if in_code {
        out.push_str("\\fR");
    }
    // A line may not start with a control character.
    out.lines()
        .map(|l| {
            let l = l.trim();
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}")
            } else {
                l.to_owned()
            }
        })
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Drops references to Rust items (`see [`HealthCheck::effective_timeout`]`),
/// which mean nothing to a reader of the page: ` (see [`X::y`])` and
/// `; see [`X::y`]`.
fn drop_code_references(text: &str) -> String {
    let mut out = text.to_owned();
    for (open, close) in [(" (see [`", "`])"), ("; see [`", "`]")] {
        while let Some(at) = out.find(open) {
            let Some(len) = out[at..].find(close) else { break };
            let target = &out[at + open.len()..at + len];
            if !target.contains("::") {
                break;
            }
            out.replace_range(at..at + len + close.len(), "");
        }
    }
    out
}

fn bold(word: &str) -> String {
    format!("\\fB{}\\fR", word.replace('-', "\\-"))
}

/// Writes the entries for the fields of `fields` under `prefix`.
fn entries(
    out: &mut String,
    prefix: &str,
    fields: &[Field],
    items: &BTreeMap<String, Item>,
    note: Option<&str>,
) {
    for f in fields {
        let (t, list) = inner_type(&f.ty);
        if f.flatten {
            if let Some(Item::Enum { variants, tag: Some(tag), .. }) = items.get(t) {
                tagged_entries(out, prefix, tag, variants, items);
            }
            continue;
        }
        let path = format!("{prefix}{}{}", f.name, if list { "[]" } else { "" });
        let _ = writeln!(out, ".TP\n.B {}", path.replace('-', "\\-"));
        let mut text = roff_text(&f.doc);
        if let Some(n) = note {
            let _ = write!(text, "\n({n}.)");
        }
        match items.get(t) {
            Some(Item::Struct { .. }) => {
                let _ = write!(
                    text,
                    "\n{}",
                    if list {
                        "A list of mappings with the keys below."
                    } else {
                        "A mapping with the keys below."
                    }
                );
            }
            Some(Item::Enum { untagged: true, variants, .. }) => {
                let forms: Vec<String> = variants
                    .iter()
                    .map(|v| {
                        let keys: Vec<String> = v.fields.iter().map(|f| bold(&f.name)).collect();
                        let doc = roff_text(&v.doc);
                        format!("{} ({})", keys.join(" and "), doc.trim_end_matches('.'))
                    })
                    .collect();
                let _ = write!(text, "\nA mapping with either {}.", forms.join(", or "));
            }
            _ => {
                let _ = write!(text, "\nValue: {}.", value_kind(&f.ty, items));
            }
        }
        if f.required {
            text.push_str("\nRequired.");
        }
        let _ = writeln!(out, "{text}");
        if let Some(Item::Enum { variants, untagged: false, tag: None }) = items.get(t) {
            if variants.iter().any(|v| !v.doc.is_empty()) {
                out.push_str(".RS\n");
                for v in variants {
                    let _ = writeln!(
                        out,
                        ".TP\n.B {}\n{}",
                        v.name.replace('-', "\\-"),
                        roff_text(&v.doc)
                    );
                }
                out.push_str(".RE\n");
            }
        }
        match items.get(t) {
            Some(Item::Struct { fields }) => {
                let sub = format!("{path}.");
                entries(out, &sub, fields, items, None);
            }
            Some(Item::Enum { untagged: true, variants, .. }) => {
                for v in variants {
                    entries(out, &format!("{path}."), &v.fields, items, None);
                }
            }
            _ => {}
        }
    }
}

/// A flattened, internally tagged enum (`check: { type: http, ... }`).
fn tagged_entries(
    out: &mut String,
    prefix: &str,
    tag: &str,
    variants: &[Variant],
    items: &BTreeMap<String, Item>,
) {
    let _ = writeln!(out, ".TP\n.B {prefix}{tag}");
    let names: Vec<String> = variants.iter().map(|v| bold(&v.name)).collect();
    let _ = writeln!(
        out,
        "The kind of probe: one of {}; each takes the keys marked with it.",
        names.join(", ")
    );
    out.push_str(".RS\n");
    for v in variants {
        let _ = writeln!(out, ".TP\n.B {}\n{}", v.name, roff_text(&v.doc));
    }
    out.push_str(".RE\n");
    for v in variants {
        let note = format!("{tag}: {} only", v.name);
        entries(out, prefix, &v.fields, items, Some(&note));
    }
}

/// The whole page.
pub fn render(model: &str) -> anyhow::Result<String> {
    let items = parse(model)?;
    let Some(Item::Struct { fields }) = items.get("Config") else {
        bail!("{MODEL}: no `pub struct Config`");
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        ".\\\" Generated by `cargo xtask man` from {MODEL}; do not edit.\n\
         .TH LVS\\-ROUTER.YAML 5 {DATE} \"lvs-router {}\" \"File Formats Manual\"",
        env!("CARGO_PKG_VERSION")
    );
    out.push_str(HEAD);
    entries(&mut out, "", fields, &items, None);
    out.push_str(TAIL);
    Ok(wrap(&out))
}

/// Breaks text lines longer than 80 bytes at spaces (`mandoc -T lint`
/// asks for it; roff joins them again).
fn wrap(page: &str) -> String {
    let mut out = String::new();
    for line in page.lines() {
        if line.starts_with('.') || line.len() <= 80 {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let mut cur = String::new();
        for word in line.split(' ') {
            if !cur.is_empty() && cur.len() + 1 + word.len() > 80 {
                out.push_str(&cur);
                out.push('\n');
                cur.clear();
            }
            if !cur.is_empty() {
                cur.push(' ');
            }
            // A continuation line may not start with a control character.
            if cur.is_empty() && (word.starts_with('.') || word.starts_with('\'')) {
                cur.push_str("\\&");
            }
            cur.push_str(word);
        }
        out.push_str(&cur);
        out.push('\n');
    }
    out
}

const HEAD: &str = r#".SH NAME
lvs-router.yaml \- configuration of the lvs-router daemons
.SH SYNOPSIS
.I /etc/lvs-router/lvs.yaml
.SH DESCRIPTION
One file describes the whole cluster: the routers, how they heartbeat, and
the virtual services with their real servers and health checks.
.BR pulse (8),
.BR lvsd (8)
and
.BR nanny (8)
all read it.
The default file is
.IR /etc/lvs-router/lvs.yaml ;
when it does not exist, piranha's
.I /etc/sysconfig/ha/lvs.cf
is read instead, in piranha's own format, which describes the same model.
.B \-c
.I FILE
chooses another file; the format follows the extension
.RB ( .yaml ,
.BR .yml ,
.BR .cf ),
else the content.
.PP
Check a file before a reload with
.BR "lvsd \-\-check\-config \-c" " FILE":
a good file is printed as normalized YAML (exit status 0); a bad one gives
every problem as
.IB file : line : column ": error: " message
(exit status 1), and nothing is applied.
.PP
Durations are seconds
.RB ( 6 ,
.BR 0.5 )
or carry a unit
.RB ( """500ms""" ,
.BR """2s""" ).
Netmasks are prefix lengths
.RB ( 24 );
IPv4 ones may also be dotted quads.
Unknown keys are errors.
.SH KEYS
Each key is named by its path from the top of the file:
.B a.b
is key
.B b
of the mapping under
.BR a ,
and
.B a[].b
is key
.B b
of each item of the list
.BR a .
Keys not marked as required may be left out; the descriptions give their
defaults.
"#;

const TAIL: &str = r#".SH FILES
.TP
.I /etc/lvs-router/lvs.yaml
The configuration.
.TP
.I /etc/lvs-router/heartbeat.key
The shared heartbeat key named by
.BR heartbeat.auth_key_file :
owned by root, mode 0600, at least 16 bytes; the same on every router.
.TP
.I /usr/share/doc/lvs-router/examples/
Commented complete examples, and piranha's sample
.I lvs.cf
with the same cluster.
.SH SEE ALSO
.BR pulse (8),
.BR lvsd (8),
.BR nanny (8),
.BR ipvsadm\-rs (8),
.BR send_arp (8)
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_page_is_what_the_model_gives() {
        let root = crate::project_root();
        let model = model_text(&root).expect(MODEL);
        let page = render(&model).expect("the model parses");
        let committed = std::fs::read_to_string(root.join(PAGE)).unwrap_or_default();
        assert!(
            committed == page,
            "{PAGE} is out of date with {MODEL}: run `cargo xtask man` and commit the page"
        );
    }

    #[test]
    fn parses_fields_variants_and_serde_attributes() {
        let items = parse(
            "/// A thing.\n#[serde(deny_unknown_fields)]\npub struct Config {\n\
             /// The port.\n#[serde(default = \"p\")]\npub port: u16,\n\
             /// Mode.\npub mode: Mode,\n}\n\
             #[serde(rename_all = \"snake_case\")]\npub enum Mode {\n/// Fast.\nFastPath,\n\
             /// Flag one.\n#[serde(rename = \"flag-1\")]\nFlag1,\n}\n",
        )
        .expect("parses");
        let Some(Item::Struct { fields }) = items.get("Config") else { panic!("{items:?}") };
        assert_eq!(fields.len(), 2);
        assert!(!fields[0].required && fields[1].required);
        let Some(Item::Enum { variants, .. }) = items.get("Mode") else { panic!("{items:?}") };
        let names: Vec<&str> = variants.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["fast_path", "flag-1"]);
        assert_eq!(roff_text("`a-b` and .x"), "\\fBa\\-b\\fR and .x");
        assert_eq!(roff_text(".starts"), "\\&.starts");
        assert_eq!(
            roff_text(
                "Limit; absent means the interval\n(see [`HealthCheck::effective_timeout`])."
            ),
            "Limit; absent means the interval."
        );
        assert_eq!(roff_text("Start; see [`CheckKind::expect_matcher`]."), "Start.");
    }
}
