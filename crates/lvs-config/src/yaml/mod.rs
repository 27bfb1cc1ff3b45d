//! The YAML front end: a positioned tree (`tree`, or `fast` for the common
//! subset) decoded into the model (`decode`), reporting every problem with
//! its position.

mod decode;
mod fast;
mod tree;

use crate::diag::Sink;
use crate::model::Config;

/// Parses YAML text into a config; problems go to `sink`.
///
/// Files in the common subset of YAML that `fast` reads are read there,
/// several times faster; the others by `saphyr-parser` (`tree`), to the
/// same tree.
pub(crate) fn parse(text: &str, sink: &mut Sink) -> Option<Config> {
    let tree = match fast::parse(text) {
        Some(tree) => tree,
        None => tree::parse(text, sink)?,
    };
    decode::config(tree.root()?, sink)
}
