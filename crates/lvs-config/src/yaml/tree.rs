//! A positioned YAML tree built from `saphyr-parser` events.
//!
//! serde_yaml_ng reports the position of the first error only; to report
//! every problem with its line and column we keep each node's position.
//! The builder is iterative with a depth limit, expands aliases within a
//! budget, and never panics on any input.

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle};

use crate::diag::{Pos, Sink};

/// Deepest nesting accepted; the configuration needs about six levels.
const MAX_DEPTH: usize = 64;
/// Most nodes that aliases may add by expansion (a "billion laughs" guard).
const MAX_ALIAS_NODES: usize = 100_000;
/// Most nodes in a document; far above any real cluster (37,000 real
/// servers are about 400,000 nodes).
const MAX_NODES: usize = 20_000_000;

/// A YAML node and where it starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Node<'a> {
    pub(crate) pos: Pos,
    pub(crate) kind: Kind<'a>,
    /// Nodes in this subtree, itself included.
    pub(super) size: usize,
}

/// What a node holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Kind<'a> {
    /// A scalar; `plain` is false for quoted and block scalars. The text
    /// borrows from the input when the parser could (most plain scalars),
    /// which saves an allocation per scalar of a large file.
    Scalar { text: Cow<'a, str>, plain: bool },
    /// A sequence.
    Seq(Vec<Node<'a>>),
    /// A mapping, in document order (keys may repeat; the decoder says so).
    Map(Vec<(Node<'a>, Node<'a>)>),
}

impl Node<'_> {
    /// Whether the node is YAML's null (`~`, `null`, or nothing).
    pub(crate) fn is_null(&self) -> bool {
        matches!(&self.kind, Kind::Scalar { text, plain: true }
            if matches!(text.as_ref(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// A short description for messages: `a mapping`, `a sequence`, `` `x` ``.
    pub(crate) fn describe(&self) -> String {
        match &self.kind {
            Kind::Scalar { .. } if self.is_null() => "nothing".to_owned(),
            Kind::Scalar { text, .. } => {
                let short: String = text.chars().take(40).collect();
                if short.len() < text.len() {
                    format!("`{short}...`")
                } else {
                    format!("`{short}`")
                }
            }
            Kind::Seq(_) => "a sequence".to_owned(),
            Kind::Map(_) => "a mapping".to_owned(),
        }
    }
}

enum Frame<'a> {
    Seq {
        pos: Pos,
        anchor: usize,
        items: Vec<Node<'a>>,
        size: usize,
    },
    Map {
        pos: Pos,
        anchor: usize,
        entries: Vec<(Node<'a>, Node<'a>)>,
        key: Option<Node<'a>>,
        size: usize,
    },
}

fn pos_of(m: &saphyr_parser::Marker) -> Pos {
    Pos::new(m.line(), m.col() + 1)
}

/// Parses `text` into one document's root node. Problems go to `sink`;
/// `None` means there is no usable document.
///
/// Files in the common subset of YAML that `fast` reads are read there,
/// several times faster; the others by `saphyr-parser`, to the same tree.
pub(crate) fn parse<'a>(text: &'a str, sink: &mut Sink) -> Option<Node<'a>> {
    if let Some(root) = super::fast::parse(text) {
        return Some(root);
    }
    parse_full(text, sink)
}

/// [`parse`] with `saphyr-parser`, whatever the text.
pub(super) fn parse_full<'a>(text: &'a str, sink: &mut Sink) -> Option<Node<'a>> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame<'a>> = Vec::new();
    let mut anchors: HashMap<usize, Node<'a>> = HashMap::new();
    let mut root: Option<Node<'a>> = None;
    let mut documents = 0usize;
    let mut total = 0usize;
    let mut aliased = 0usize;

    while let Some(next) = parser.next_event() {
        let (event, span) = match next {
            Ok(ev) => ev,
            Err(e) => {
                let msg = e.info().trim_end_matches('.').to_lowercase();
                sink.error(pos_of(e.marker()), format!("yaml syntax error: {msg}"));
                return None;
            }
        };
        let pos = pos_of(&span.start);
        let done: Option<(Node<'a>, usize)> = match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing | Event::DocumentEnd => None,
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    sink.error(pos, "only one yaml document is allowed");
                    return None;
                }
                None
            }
            Event::Alias(id) => match anchors.get(&id) {
                Some(n) => {
                    total += n.size;
                    aliased += n.size;
                    if aliased > MAX_ALIAS_NODES || total > MAX_NODES {
                        sink.error(pos, "yaml aliases expand to too many nodes");
                        return None;
                    }
                    Some((n.clone(), 0))
                }
                None => {
                    sink.error(pos, "unknown yaml alias");
                    Some((
                        Node {
                            pos,
                            kind: Kind::Scalar { text: Cow::Borrowed(""), plain: true },
                            size: 1,
                        },
                        0,
                    ))
                }
            },
            Event::Scalar(value, style, anchor, tag) => {
                let mut plain = style == ScalarStyle::Plain;
                if let Some(tag) = tag {
                    if tag.is_yaml_core_schema() && tag.suffix == "str" {
                        plain = false;
                    } else {
                        sink.error(pos, format!("yaml tags are not supported (`{tag}`)"));
                    }
                }
                total += 1;
                Some((Node { pos, kind: Kind::Scalar { text: value, plain }, size: 1 }, anchor))
            }
            Event::SequenceStart(anchor, ref tag) | Event::MappingStart(anchor, ref tag) => {
                let is_seq = matches!(event, Event::SequenceStart(..));
                if tag.is_some() {
                    sink.error(pos, "yaml tags are not supported");
                }
                if stack.len() >= MAX_DEPTH {
                    sink.error(pos, format!("yaml nesting is deeper than {MAX_DEPTH} levels"));
                    return None;
                }
                total += 1;
                if total > MAX_NODES {
                    sink.error(pos, "yaml document has too many nodes");
                    return None;
                }
                if is_seq {
                    stack.push(Frame::Seq { pos, anchor, items: Vec::new(), size: 1 });
                } else {
                    stack.push(Frame::Map { pos, anchor, entries: Vec::new(), key: None, size: 1 });
                }
                None
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq { pos, anchor, items, size }) => {
                    Some((Node { pos, kind: Kind::Seq(items), size }, anchor))
                }
                Some(Frame::Map { pos, anchor, entries, size, .. }) => {
                    Some((Node { pos, kind: Kind::Map(entries), size }, anchor))
                }
                None => None,
            },
        };
        let Some((node, anchor)) = done else { continue };
        if anchor > 0 {
            anchors.insert(anchor, node.clone());
        }
        match stack.last_mut() {
            Some(Frame::Seq { items, size, .. }) => {
                *size += node.size;
                items.push(node);
            }
            Some(Frame::Map { entries, key, size, .. }) => {
                *size += node.size;
                match key.take() {
                    Some(k) => entries.push((k, node)),
                    None => *key = Some(node),
                }
            }
            None => root = Some(node),
        }
    }
    if root.is_none() {
        sink.error(Pos::new(1, 1), "empty configuration");
    }
    root
}
