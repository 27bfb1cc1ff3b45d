//! The YAML front end: a positioned tree (`tree`) decoded into the model
//! (`decode`), reporting every problem with its position.

mod decode;
mod fast;
mod tree;

use crate::diag::Sink;
use crate::model::Config;

/// Parses YAML text into a config; problems go to `sink`.
pub(crate) fn parse(text: &str, sink: &mut Sink) -> Option<Config> {
    let tree = tree::parse(text, sink)?;
    decode::config(tree.root()?, sink)
}
