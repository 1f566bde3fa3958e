//! Mutation of real inputs: a proptest strategy that takes an entry of a
//! corpus (shipped scenario files, real snapshots, golden traces, real shard
//! files) and applies a few byte- and token-level edits. Shrinking drops and
//! simplifies edits, so a failure shrinks to the fewest edits that cause it.

use proptest::prelude::*;

/// Values that break parsers and models: extremes, non-finite numbers,
/// empty and wrongly typed values.
pub const INTERESTING: &[&str] = &[
    "0",
    "-1",
    "1",
    "2",
    "1e300",
    "-1e300",
    "1e-300",
    "1e-9",
    "1e12",
    "4e9",
    "nan",
    "inf",
    "-inf",
    "0.5",
    "0.999999",
    "1.0000001",
    "18446744073709551615",
    "18446744073709551616",
    "9223372036854775807",
    "-9223372036854775808",
    "4294967295",
    "4294967296",
    "65536",
    "[]",
    "[[]]",
    "[1, 2]",
    "{}",
    "\"\"",
    "\"x\"",
    "\"reference\"",
    "\"corrected\"",
    "\"auto\"",
    "true",
    "false",
    "null",
];

/// One edit.
#[derive(Clone, Debug)]
pub enum Edit {
    /// Flip one bit.
    Flip { at: u32, bit: u8 },
    /// Set one byte.
    Byte { at: u32, value: u8 },
    /// Insert a dictionary token.
    Insert { at: u32, token: usize },
    /// Delete a run of bytes.
    Delete { at: u32, len: u16 },
    /// Repeat a run of bytes.
    Dup { at: u32, len: u16 },
    /// Copy a run of bytes from another corpus entry.
    Splice { at: u32, other: usize, from: u32, len: u16 },
    /// Replace the n-th number of a text with a dictionary token.
    Number { nth: u32, token: usize },
    /// Remove the n-th line.
    DropLine { nth: u32 },
    /// Repeat the n-th line.
    DupLine { nth: u32 },
    /// Swap two lines.
    SwapLines { a: u32, b: u32 },
}

fn edit(tokens: usize, corpus: usize) -> impl Strategy<Value = Edit> {
    let bytes = prop_oneof![
        Just(0u8),
        Just(0xff),
        Just(0x7f),
        Just(0x80),
        Just(b'"'),
        Just(b'['),
        Just(b'\n'),
        Just(b'='),
        any::<u8>()
    ];
    prop_oneof![
        1 => (any::<u32>(), 0u8..8).prop_map(|(at, bit)| Edit::Flip { at, bit }),
        1 => (any::<u32>(), bytes).prop_map(|(at, value)| Edit::Byte { at, value }),
        1 => (any::<u32>(), 0..tokens).prop_map(|(at, token)| Edit::Insert { at, token }),
        1 => (any::<u32>(), 1u16..64).prop_map(|(at, len)| Edit::Delete { at, len }),
        1 => (any::<u32>(), 1u16..256).prop_map(|(at, len)| Edit::Dup { at, len }),
        1 => (any::<u32>(), 0..corpus.max(1), any::<u32>(), 1u16..512)
            .prop_map(|(at, other, from, len)| Edit::Splice { at, other, from, len }),
        3 => (any::<u32>(), 0..tokens).prop_map(|(nth, token)| Edit::Number { nth, token }),
        1 => (any::<u32>()).prop_map(|nth| Edit::DropLine { nth }),
        1 => (any::<u32>()).prop_map(|nth| Edit::DupLine { nth }),
        1 => (any::<u32>(), any::<u32>()).prop_map(|(a, b)| Edit::SwapLines { a, b }),
    ]
}

/// A corpus entry index and the edits to apply to it.
pub fn mutation(corpus: usize, tokens: usize, max_edits: usize) -> impl Strategy<Value = (usize, Vec<Edit>)> {
    (0..corpus, proptest::collection::vec(edit(tokens, corpus), 0..=max_edits))
}

fn pos(at: u32, len: usize) -> usize {
    (at as usize) % (len + 1)
}

fn lines(b: &[u8]) -> Vec<Vec<u8>> {
    b.split_inclusive(|&c| c == b'\n').map(<[u8]>::to_vec).collect()
}

/// Apply `edits` to a copy of `corpus[index]`.
pub fn apply(corpus: &[Vec<u8>], index: usize, edits: &[Edit], tokens: &[&str]) -> Vec<u8> {
    let mut b = corpus[index].clone();
    for e in edits {
        match *e {
            Edit::Flip { at, bit } => {
                if !b.is_empty() {
                    let i = at as usize % b.len();
                    b[i] ^= 1 << bit;
                }
            }
            Edit::Byte { at, value } => {
                if !b.is_empty() {
                    let i = at as usize % b.len();
                    b[i] = value;
                }
            }
            Edit::Insert { at, token } => {
                let i = pos(at, b.len());
                b.splice(i..i, tokens[token % tokens.len()].bytes());
            }
            Edit::Delete { at, len } => {
                let i = pos(at, b.len());
                let j = (i + len as usize).min(b.len());
                b.drain(i..j);
            }
            Edit::Dup { at, len } => {
                let i = pos(at, b.len());
                let j = (i + len as usize).min(b.len());
                let run = b[i..j].to_vec();
                b.splice(j..j, run);
            }
            Edit::Splice { at, other, from, len } => {
                let src = &corpus[other % corpus.len()];
                let f = pos(from, src.len());
                let t = (f + len as usize).min(src.len());
                let i = pos(at, b.len());
                b.splice(i..i, src[f..t].iter().copied());
            }
            Edit::Number { nth, token } => {
                let spans = numbers(&b);
                if !spans.is_empty() {
                    let (s, t) = spans[nth as usize % spans.len()];
                    b.splice(s..t, tokens[token % tokens.len()].bytes());
                }
            }
            Edit::DropLine { nth } => {
                let mut l = lines(&b);
                if !l.is_empty() {
                    let k = nth as usize % l.len();
                    l.remove(k);
                    b = l.concat();
                }
            }
            Edit::DupLine { nth } => {
                let mut l = lines(&b);
                if !l.is_empty() {
                    let k = nth as usize % l.len();
                    let line = l[k].clone();
                    l.insert(k, line);
                    b = l.concat();
                }
            }
            Edit::SwapLines { a, b: c } => {
                let mut l = lines(&b);
                if l.len() > 1 {
                    let (i, j) = (a as usize % l.len(), c as usize % l.len());
                    l.swap(i, j);
                    b = l.concat();
                }
            }
        }
    }
    b
}

/// Byte spans of the decimal numbers in `b`.
fn numbers(b: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let starts = b[i].is_ascii_digit() && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'));
        if starts {
            let s = if i > 0 && b[i - 1] == b'-' { i - 1 } else { i };
            let mut j = i;
            while j < b.len() && (b[j].is_ascii_digit() || matches!(b[j], b'.' | b'e' | b'E' | b'_')) {
                j += 1;
            }
            out.push((s, j));
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

#[test]
fn edits_apply() {
    let corpus = vec![b"a = 12\nb = 3.5\n".to_vec(), b"xyz".to_vec()];
    let t = ["1e300"];
    assert_eq!(apply(&corpus, 0, &[Edit::Number { nth: 1, token: 0 }], &t), b"a = 12\nb = 1e300\n");
    assert_eq!(apply(&corpus, 0, &[Edit::DropLine { nth: 0 }], &t), b"b = 3.5\n");
    assert_eq!(apply(&corpus, 0, &[Edit::SwapLines { a: 0, b: 1 }], &t), b"b = 3.5\na = 12\n");
    assert_eq!(apply(&corpus, 1, &[Edit::Delete { at: 1, len: 1 }], &t), b"xz");
    assert_eq!(apply(&corpus, 1, &[Edit::Splice { at: 3, other: 1, from: 0, len: 2 }], &t), b"xyzxy");
    assert_eq!(apply(&corpus, 1, &[], &t), b"xyz");
}
