//! The option scanner of libpopt 1.19 as ipvsadm 1.31 uses it, reproduced
//! so that every quirk of the command line stays the same: bundled short
//! options (`-Ln`), `--long=value`, `-tVALUE` and `-t=VALUE`, one-dash long
//! options falling back to short ones, optional arguments (`-p [timeout]`)
//! that only take a following word not starting with `-`, `--` ending the
//! options, non-option words kept as leftovers, and the error codes with
//! their texts (`unknown option`, `missing argument`, ...).
//!
//! Pure: it only looks at the argument vector.

/// Whether an option takes an argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    /// `POPT_ARG_NONE`.
    None,
    /// `POPT_ARG_STRING`.
    Required,
    /// `POPT_ARG_STRING | POPT_ARGFLAG_OPTIONAL`.
    Optional,
}

/// One row of the option table.
#[derive(Clone, Copy, Debug)]
pub struct OptSpec<T> {
    /// Long name without the dashes (`add-service`), if any.
    pub long: Option<&'static str>,
    /// Short letter, if any.
    pub short: Option<char>,
    /// Argument kind.
    pub arg: ArgKind,
    /// What the scanner returns for this option.
    pub tag: T,
}

/// A popt error code; [`PoptError::text`] is `poptStrerror`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoptError {
    /// `POPT_ERROR_NOARG`.
    NoArg,
    /// `POPT_ERROR_BADOPT`.
    BadOpt,
    /// `POPT_ERROR_UNWANTEDARG`.
    UnwantedArg,
}

impl PoptError {
    /// The message popt gives for this error.
    pub fn text(self) -> &'static str {
        match self {
            PoptError::NoArg => "missing argument",
            PoptError::BadOpt => "unknown option",
            PoptError::UnwantedArg => "option does not take an argument",
        }
    }
}

/// A scanning context over one argument vector (`poptContext`).
#[derive(Debug)]
pub struct Scanner<'a, T> {
    argv: &'a [String],
    table: &'a [OptSpec<T>],
    next: usize,
    /// The rest of a bundle of short options: (argv index, byte offset).
    next_char: Option<(usize, usize)>,
    leftovers: Vec<String>,
    next_leftover: usize,
    rest_leftover: bool,
    posix_me_harder: bool,
}

impl<'a, T: Copy> Scanner<'a, T> {
    /// Start after `argv[0]`. `posix_me_harder` is popt's reaction to the
    /// `POSIXLY_CORRECT` / `POSIX_ME_HARDER` environment variables: the first
    /// non-option word ends the options.
    pub fn new(argv: &'a [String], table: &'a [OptSpec<T>], posix_me_harder: bool) -> Self {
        Scanner {
            argv,
            table,
            next: 1,
            next_char: None,
            leftovers: Vec::new(),
            next_leftover: 0,
            rest_leftover: false,
            posix_me_harder,
        }
    }

    /// `poptBadOption(con, POPT_BADOPTION_NOALIAS)`: the last word consumed.
    pub fn bad_option(&self) -> String {
        self.next.checked_sub(1).and_then(|i| self.argv.get(i)).cloned().unwrap_or_default()
    }

    /// `poptGetArg`: the next leftover word.
    pub fn next_leftover(&mut self) -> Option<String> {
        let w = self.leftovers.get(self.next_leftover).cloned();
        if w.is_some() {
            self.next_leftover += 1;
        }
        w
    }

    fn find_long(&self, name: &str) -> Option<&'a OptSpec<T>> {
        self.table.iter().find(|o| o.long == Some(name))
    }

    fn find_short(&self, c: char) -> Option<&'a OptSpec<T>> {
        self.table.iter().find(|o| o.short == Some(c))
    }

    /// `poptGetNextOpt`: `Ok(None)` at the end, else the option and its
    /// argument (`None` for options without one, or an optional one absent).
    pub fn next_opt(&mut self) -> Result<Option<(T, Option<String>)>, PoptError> {
        loop {
            let mut long_arg: Option<String> = None;
            let mut opt: Option<&'a OptSpec<T>> = None;
            if self.next_char.is_none() {
                if self.next >= self.argv.len() {
                    return Ok(None);
                }
                let idx = self.next;
                let word = &self.argv[idx];
                self.next += 1;
                if self.rest_leftover || !word.starts_with('-') || word == "-" {
                    if self.posix_me_harder {
                        self.rest_leftover = true;
                    }
                    self.leftovers.push(word.clone());
                    continue;
                }
                if word == "--" {
                    self.rest_leftover = true;
                    continue;
                }
                let (body, one_dash) = match word.strip_prefix("--") {
                    Some(b) => (b, false),
                    None => (&word[1..], true),
                };
                let (name, arg) = match body.find('=') {
                    Some(i) => (&body[..i], Some(body[i + 1..].to_string())),
                    None => (body, None),
                };
                // No option of ipvsadm's table is marked POPT_ARGFLAG_ONEDASH,
                // so a one-dash word never matches a long name.
                if !one_dash {
                    opt = self.find_long(name);
                    if opt.is_none() {
                        return Err(PoptError::BadOpt);
                    }
                    long_arg = arg;
                } else {
                    self.next_char = Some((idx, 1));
                }
            }
            if let Some((idx, off)) = self.next_char.take() {
                let word = &self.argv[idx];
                let rest = &word[off..];
                let Some(c) = rest.chars().next() else {
                    return Err(PoptError::BadOpt);
                };
                opt = self.find_short(c);
                if opt.is_none() {
                    return Err(PoptError::BadOpt);
                }
                let after = off + c.len_utf8();
                if after < word.len() {
                    let skip = usize::from(word.as_bytes()[after] == b'=');
                    self.next_char = Some((idx, after + skip));
                }
            }
            let Some(opt) = opt else {
                return Err(PoptError::BadOpt);
            };
            let value = match opt.arg {
                ArgKind::None => {
                    let eq_next = self
                        .next_char
                        .is_some_and(|(i, o)| self.argv[i].as_bytes().get(o) == Some(&b'='));
                    if long_arg.is_some() || eq_next {
                        return Err(PoptError::UnwantedArg);
                    }
                    None
                }
                ArgKind::Required | ArgKind::Optional => {
                    if let Some(a) = long_arg.take() {
                        Some(a)
                    } else if let Some((i, o)) = self.next_char.take() {
                        let w = &self.argv[i];
                        let skip = usize::from(w.as_bytes().get(o) == Some(&b'='));
                        Some(w[o + skip..].to_string())
                    } else if self.next >= self.argv.len() {
                        if opt.arg == ArgKind::Required {
                            return Err(PoptError::NoArg);
                        }
                        None
                    } else if opt.arg == ArgKind::Optional && self.argv[self.next].starts_with('-')
                    {
                        None
                    } else {
                        let w = self.argv[self.next].clone();
                        self.next += 1;
                        Some(w)
                    }
                }
            };
            return Ok(Some((opt.tag, value)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &[OptSpec<char>] = &[
        OptSpec { long: Some("list"), short: Some('L'), arg: ArgKind::None, tag: 'L' },
        OptSpec { long: Some("numeric"), short: Some('n'), arg: ArgKind::None, tag: 'n' },
        OptSpec { long: Some("tcp-service"), short: Some('t'), arg: ArgKind::Required, tag: 't' },
        OptSpec { long: Some("persistent"), short: Some('p'), arg: ArgKind::Optional, tag: 'p' },
    ];

    fn scan(args: &[&str]) -> (Vec<String>, Vec<String>) {
        let argv: Vec<String> =
            std::iter::once("ipvsadm").chain(args.iter().copied()).map(String::from).collect();
        let mut s = Scanner::new(&argv, T, false);
        let mut out = Vec::new();
        loop {
            match s.next_opt() {
                Ok(Some((t, v))) => out.push(format!("{t}={}", v.unwrap_or_else(|| "-".into()))),
                Ok(None) => break,
                Err(e) => {
                    out.push(format!("{}: {}", s.bad_option(), e.text()));
                    break;
                }
            }
        }
        let mut left = Vec::new();
        while let Some(w) = s.next_leftover() {
            left.push(w);
        }
        (out, left)
    }

    #[test]
    fn bundles_long_forms_and_attached_values() {
        assert_eq!(scan(&["-Ln"]).0, ["L=-", "n=-"]);
        assert_eq!(scan(&["-L=n"]).0, ["L=-", "n=-"]);
        assert_eq!(scan(&["-t1.2.3.4:80"]).0, ["t=1.2.3.4:80"]);
        assert_eq!(scan(&["-t=1.2.3.4:80"]).0, ["t=1.2.3.4:80"]);
        assert_eq!(scan(&["-t", "-n"]).0, ["t=-n"]);
        assert_eq!(scan(&["--tcp-service=a:1"]).0, ["t=a:1"]);
        assert_eq!(scan(&["--tcp-service", "a:1"]).0, ["t=a:1"]);
        assert_eq!(scan(&["-Lt", "x"]).0, ["L=-", "t=x"]);
    }

    #[test]
    fn optional_argument_takes_only_a_non_dash_word() {
        assert_eq!(scan(&["-p", "300"]).0, ["p=300"]);
        assert_eq!(scan(&["-p", "-n"]).0, ["p=-", "n=-"]);
        assert_eq!(scan(&["-p"]).0, ["p=-"]);
        assert_eq!(scan(&["-p300"]).0, ["p=300"]);
        assert_eq!(scan(&["--persistent=7"]).0, ["p=7"]);
        assert_eq!(scan(&["-p", ""]).0, ["p="]);
    }

    #[test]
    fn errors_name_the_word() {
        assert_eq!(scan(&["-Lq"]).0, ["L=-", "-Lq: unknown option"]);
        assert_eq!(scan(&["--lis"]).0, ["--lis: unknown option"]);
        assert_eq!(scan(&["-t"]).0, ["-t: missing argument"]);
        assert_eq!(scan(&["--list=1"]).0, ["--list=1: option does not take an argument"]);
        assert_eq!(scan(&["-L==n"]).0, ["-L==n: option does not take an argument"]);
        assert_eq!(scan(&["-list"]).0, ["-list: unknown option"]);
        assert_eq!(scan(&["-Lnt"]).0, ["L=-", "n=-", "-Lnt: missing argument"]);
    }

    #[test]
    fn leftovers_and_double_dash() {
        assert_eq!(
            scan(&["a", "-L", "-", "b"]),
            (vec!["L=-".into()], vec!["a".into(), "-".into(), "b".into()])
        );
        assert_eq!(scan(&["-L", "--", "-n"]), (vec!["L=-".into()], vec!["-n".into()]));
    }
}
