//! The check of a configuration's regular expressions (`expect` with
//! `regex: true`, `body_regex`), with `regex-syntax` alone: the daemons
//! that read the configuration (lvsd, pulse) never match a pattern, only
//! nanny does, so the matching engine (the `regex` crate) stays out of
//! their builds (`tests/tests/deps.rs`).

/// Why `pattern` is not a regular expression nanny can use, in the words
/// `regex::Regex::new` would give (the last line of its message, without
/// the `error:` label, lower-cased), or `None` when it is one.
///
/// `regex` parses with this same parser and these same defaults (Unicode,
/// UTF-8 only, nesting limit 250), so the verdict and the message are the
/// ones it gives. What this does not see is `regex`'s limit on the size of
/// the compiled machine (10 MiB; `\w{300}` exceeds it), which only the
/// compiler measures: such a pattern passes here and nanny refuses it when
/// it starts.
pub(super) fn problem(pattern: &str) -> Option<String> {
    let e = regex_syntax::Parser::new().parse(pattern).err()?;
    let text = e.to_string();
    let last = text.lines().last().unwrap_or("invalid").trim();
    Some(last.strip_prefix("error:").unwrap_or(last).trim().to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::problem;

    /// What the `regex` crate (nanny's matcher) says of `pattern`, worded
    /// as `problem` words it.
    fn regex_says(pattern: &str) -> Option<String> {
        let e = regex::Regex::new(pattern).err()?;
        let text = e.to_string();
        let last = text.lines().last().unwrap_or("invalid").trim();
        Some(last.strip_prefix("error:").unwrap_or(last).trim().to_lowercase())
    }

    #[test]
    fn the_parser_judges_patterns_as_the_regex_crate_does() {
        let patterns = [
            "HTTP/1\\.[01] 200",
            "^\\+OK .*ready",
            "(",
            ")",
            "[a-",
            "a{2,1}",
            "a**",
            "\\p{Greek}+",
            "\\p{NoSuchClass}",
            "(?P<n>x)(?P<n>y)",
            "(?=look)",
            "\\1",
            "(?-u:\\xFF)",
            "\\xZZ",
            "x{99999}",
            &"(".repeat(300),
            &format!("{}x{}", "(".repeat(300), ")".repeat(300)),
            "\u{2028}",
            "",
        ];
        for p in patterns {
            assert_eq!(problem(p), regex_says(p), "{p:?}");
        }
        assert_eq!(problem("(").as_deref(), Some("unclosed group"));
    }
}
