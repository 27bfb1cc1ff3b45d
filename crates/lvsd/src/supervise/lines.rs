//! Line framing of a nanny's stdout: bytes in as the pipe gives them,
//! whole lines out; a line longer than [`MAX_LINE`] is dropped rather than
//! buffered without bound. Pure.

/// Longest line accepted from a nanny; longer ones are dropped.
pub const MAX_LINE: usize = 8192;

/// What a nanny wrote that is not yet a whole line.
#[derive(Debug, Default)]
pub struct LineBuf {
    buf: Vec<u8>,
}

impl LineBuf {
    /// Adds bytes read from the pipe.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Takes out the whole lines (without their newline, invalid UTF-8
    /// replaced). The `bool` is true when the unfinished rest was longer
    /// than [`MAX_LINE`] and has been dropped.
    pub fn take(&mut self) -> (Vec<String>, bool) {
        let mut lines = Vec::new();
        while let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=i).collect();
            lines.push(String::from_utf8_lossy(&line[..i]).into_owned());
        }
        let dropped = self.buf.len() > MAX_LINE;
        if dropped {
            self.buf.clear();
        }
        (lines, dropped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_whole_and_overlong_ones_dropped() {
        let mut b = LineBuf::default();
        b.push(b"hello 1 al");
        assert_eq!(b.take(), (vec![], false));
        b.push(b"ive=5\nup 1 ok\npart");
        assert_eq!(b.take(), (vec!["hello 1 alive=5".to_owned(), "up 1 ok".to_owned()], false));
        b.push(b"ial\n");
        assert_eq!(b.take(), (vec!["partial".to_owned()], false));
        b.push(&[b'x'; MAX_LINE + 1]);
        assert_eq!(b.take(), (vec![], true));
        b.push(b"\xff\n");
        assert_eq!(b.take(), (vec!["\u{fffd}".to_owned()], false));
    }
}
