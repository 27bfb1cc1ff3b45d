//! A positioned YAML tree built from `saphyr-parser` events.
//!
//! serde_yaml_ng reports the position of the first error only; to report
//! every problem with its line and column we keep each node's position.
//! The nodes live in one vector, in document order, and scalars are
//! ranges of the input where they can be (see [`Tree`]).
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

/// A YAML document's nodes, kept in one vector in document order (each
/// container before its children), with scalars as ranges of the input.
///
/// A large cluster has about 400,000 nodes: as separate vectors per
/// container and a string per scalar they were most of a parse's memory
/// and allocations (tens of megabytes, each page a fault the first time),
/// here they are one allocation of 24 bytes a node.
#[derive(Debug, Default)]
pub(crate) struct Tree<'a> {
    text: &'a str,
    items: Vec<Item>,
    /// Scalars the parser had to rewrite (quoted, escaped, folded).
    owned: Vec<String>,
}

/// One node: where it starts, what it is, and for a container the number
/// of nodes under it (its children follow it, each with its subtree).
#[derive(Clone, Copy, Debug)]
struct Item {
    pos: Pos,
    /// Nodes in this subtree, itself included.
    size: u32,
    /// A scalar: its start in the text, or its index in `owned`. A
    /// container: the number of its children (keys and values).
    a: u32,
    /// A scalar in the text: its length.
    b: u32,
    tag: Tag,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tag {
    Seq,
    Map,
    /// A scalar in the text, plain or not.
    Text {
        plain: bool,
    },
    /// A scalar in `owned`, plain or not.
    Owned {
        plain: bool,
    },
}

/// A node of a [`Tree`]: a handle that is cheap to copy.
#[derive(Clone, Copy)]
pub(crate) struct Node<'t> {
    tree: &'t Tree<'t>,
    at: usize,
}

/// What a node holds.
pub(crate) enum Kind<'t> {
    /// A scalar; `plain` is false for quoted and block scalars.
    Scalar { text: &'t str, plain: bool },
    /// A sequence.
    Seq(Children<'t>),
    /// A mapping, in document order (keys may repeat; the decoder says so).
    Map(Entries<'t>),
}

/// The children of a node, in order.
#[derive(Clone, Copy)]
pub(crate) struct Children<'t> {
    tree: &'t Tree<'t>,
    next: usize,
    left: usize,
}

impl<'t> Iterator for Children<'t> {
    type Item = Node<'t>;
    fn next(&mut self) -> Option<Node<'t>> {
        if self.left == 0 {
            return None;
        }
        let node = Node { tree: self.tree, at: self.next };
        self.left -= 1;
        self.next += node.item().size.max(1) as usize;
        Some(node)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Children<'_> {}

/// The entries of a mapping: (key, value) pairs in order.
#[derive(Clone, Copy)]
pub(crate) struct Entries<'t>(Children<'t>);

impl<'t> Iterator for Entries<'t> {
    type Item = (Node<'t>, Node<'t>);
    fn next(&mut self) -> Option<(Node<'t>, Node<'t>)> {
        let k = self.0.next()?;
        let v = self.0.next()?;
        Some((k, v))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.0.left / 2, Some(self.0.left / 2))
    }
}

impl ExactSizeIterator for Entries<'_> {}

impl<'a> Tree<'a> {
    fn new(text: &'a str, capacity: usize) -> Tree<'a> {
        Tree { text, items: Vec::with_capacity(capacity), owned: Vec::new() }
    }

    /// An empty tree for `text`, with room for the nodes it likely has.
    pub(super) fn new_for(text: &'a str) -> Tree<'a> {
        Tree::new(text, capacity_for(text))
    }

    /// The first node, if any.
    pub(crate) fn root(&self) -> Option<Node<'_>> {
        (!self.items.is_empty()).then_some(Node { tree: self, at: 0 })
    }

    /// Nodes so far.
    pub(super) fn len(&self) -> usize {
        self.items.len()
    }

    /// Adds a scalar; `text` is a slice of the input when it can be.
    pub(super) fn scalar(&mut self, pos: Pos, text: &str, plain: bool) {
        // A slice of the input lies within it, and is whole characters.
        let base = self.text.as_ptr() as usize;
        let start = (text.as_ptr() as usize).wrapping_sub(base);
        let inside = start <= self.text.len() && text.len() <= self.text.len() - start;
        let start = if text.is_empty() { 0 } else { start };
        match (inside, u32::try_from(start), u32::try_from(text.len())) {
            (true, Ok(a), Ok(b)) | (_, Ok(a @ 0), Ok(b @ 0)) => {
                self.items.push(Item { pos, size: 1, a, b, tag: Tag::Text { plain } })
            }
            _ => self.owned_scalar(pos, text.to_owned(), plain),
        }
    }

    /// Adds a scalar that is not in the input.
    pub(super) fn owned_scalar(&mut self, pos: Pos, text: String, plain: bool) {
        let a = u32::try_from(self.owned.len()).unwrap_or(u32::MAX);
        self.owned.push(text);
        self.items.push(Item { pos, size: 1, a, b: 0, tag: Tag::Owned { plain } });
    }

    /// Opens a container (its children come next); returns it for
    /// [`Tree::close`].
    pub(super) fn open(&mut self, pos: Pos, map: bool) -> usize {
        let tag = if map { Tag::Map } else { Tag::Seq };
        self.items.push(Item { pos, size: 0, a: 0, b: 0, tag });
        self.items.len() - 1
    }

    /// Closes the container `at`, which has `children` children.
    pub(super) fn close(&mut self, at: usize, children: usize) {
        let size = self.items.len() - at;
        if let Some(item) = self.items.get_mut(at) {
            item.size = u32::try_from(size).unwrap_or(u32::MAX);
            item.a = u32::try_from(children).unwrap_or(u32::MAX);
        }
    }

    /// Sets where the container `at` starts (known after its first child).
    pub(super) fn set_pos(&mut self, at: usize, pos: Pos) {
        if let Some(item) = self.items.get_mut(at) {
            item.pos = pos;
        }
    }

    /// Adds a copy of the complete node `at` (an alias); returns its size.
    pub(super) fn copy(&mut self, at: usize) -> usize {
        let size = self.items.get(at).map_or(0, |i| i.size as usize);
        self.items.extend_from_within(at..at + size);
        size
    }

    /// The size of the complete node `at`.
    pub(super) fn size_of(&self, at: usize) -> usize {
        self.items.get(at).map_or(0, |i| i.size as usize)
    }
}

impl<'t> Node<'t> {
    fn item(&self) -> Item {
        self.tree.items[self.at]
    }

    /// Nodes in this subtree, itself included.
    pub(crate) fn size(&self) -> usize {
        self.item().size as usize
    }

    /// Where the node starts.
    pub(crate) fn pos(&self) -> Pos {
        self.item().pos
    }

    /// What the node holds.
    pub(crate) fn kind(&self) -> Kind<'t> {
        let item = self.item();
        let children = Children { tree: self.tree, next: self.at + 1, left: item.a as usize };
        match item.tag {
            Tag::Seq => Kind::Seq(children),
            Tag::Map => Kind::Map(Entries(children)),
            Tag::Text { plain } => {
                let (a, b) = (item.a as usize, item.b as usize);
                Kind::Scalar { text: self.tree.text.get(a..a + b).unwrap_or(""), plain }
            }
            Tag::Owned { plain } => Kind::Scalar {
                text: self.tree.owned.get(item.a as usize).map_or("", String::as_str),
                plain,
            },
        }
    }

    /// No children, for a node that is not the container asked for.
    pub(crate) fn no_children(&self) -> Children<'t> {
        Children { tree: self.tree, next: self.at, left: 0 }
    }

    /// Whether the node is YAML's null (`~`, `null`, or nothing).
    pub(crate) fn is_null(&self) -> bool {
        matches!(
            self.kind(),
            Kind::Scalar { text: "" | "~" | "null" | "Null" | "NULL", plain: true }
        )
    }

    /// A short description for messages: `a mapping`, `a sequence`, `` `x` ``.
    pub(crate) fn describe(&self) -> String {
        match self.kind() {
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

/// Two nodes are equal when they have the same positions and contents,
/// wherever their texts are kept (for the fast reader's tests).
impl PartialEq for Node<'_> {
    fn eq(&self, other: &Node<'_>) -> bool {
        if self.pos() != other.pos() {
            return false;
        }
        match (self.kind(), other.kind()) {
            (Kind::Scalar { text: a, plain: p }, Kind::Scalar { text: b, plain: q }) => {
                a == b && p == q
            }
            (Kind::Seq(a), Kind::Seq(b)) => a.len() == b.len() && a.zip(b).all(|(x, y)| x == y),
            (Kind::Map(a), Kind::Map(b)) => {
                a.len() == b.len() && a.zip(b).all(|((k, v), (l, w))| k == l && v == w)
            }
            _ => false,
        }
    }
}

impl std::fmt::Debug for Node<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Pos { line, column } = self.pos();
        match self.kind() {
            Kind::Scalar { text, plain } => write!(f, "{line}:{column} {text:?} plain={plain}"),
            Kind::Seq(items) => {
                write!(f, "{line}:{column} ")?;
                f.debug_list().entries(items).finish()
            }
            Kind::Map(entries) => {
                write!(f, "{line}:{column} ")?;
                f.debug_map().entries(entries).finish()
            }
        }
    }
}

/// An open container of the full parser.
struct Frame {
    at: usize,
    anchor: usize,
    children: usize,
}

fn pos_of(m: &saphyr_parser::Marker) -> Pos {
    Pos::new(m.line(), m.col() + 1)
}

/// A first guess of the number of nodes of a document: large files are
/// mostly short lines of several nodes each (about 6 bytes a node for a
/// cluster of flow-mapping real servers).
pub(super) fn capacity_for(text: &str) -> usize {
    text.len() / 5 + 16
}

/// Parses `text` into one document's tree with `saphyr-parser`. Problems
/// go to `sink`; `None` means there is no usable document.
pub(crate) fn parse<'a>(text: &'a str, sink: &mut Sink) -> Option<Tree<'a>> {
    let mut parser = Parser::new_from_str(text);
    let mut tree = Tree::new_for(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, usize> = HashMap::new();
    let mut has_root = false;
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
        // A node that is now complete: where it is and its anchor.
        let done: Option<(usize, usize)> = match event {
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
                Some(&at) => {
                    let size = tree.size_of(at);
                    total += size;
                    aliased += size;
                    if aliased > MAX_ALIAS_NODES || total > MAX_NODES {
                        sink.error(pos, "yaml aliases expand to too many nodes");
                        return None;
                    }
                    let copy = tree.len();
                    tree.copy(at);
                    Some((copy, 0))
                }
                None => {
                    sink.error(pos, "unknown yaml alias");
                    tree.scalar(pos, "", true);
                    Some((tree.len() - 1, 0))
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
                match value {
                    Cow::Borrowed(t) => tree.scalar(pos, t, plain),
                    Cow::Owned(t) => tree.owned_scalar(pos, t, plain),
                }
                Some((tree.len() - 1, anchor))
            }
            Event::SequenceStart(anchor, ref tag) | Event::MappingStart(anchor, ref tag) => {
                let is_map = matches!(event, Event::MappingStart(..));
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
                let at = tree.open(pos, is_map);
                stack.push(Frame { at, anchor, children: 0 });
                None
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame { at, anchor, children }) => {
                    tree.close(at, children);
                    Some((at, anchor))
                }
                None => None,
            },
        };
        let Some((at, anchor)) = done else { continue };
        if anchor > 0 {
            anchors.insert(anchor, at);
        }
        match stack.last_mut() {
            Some(frame) => frame.children += 1,
            None => has_root = true,
        }
    }
    if !has_root {
        sink.error(Pos::new(1, 1), "empty configuration");
        return None;
    }
    Some(tree)
}
