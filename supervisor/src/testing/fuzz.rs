//! Helpers for property-based fuzzing (proptest): case counts from the environment, execution
//! counts for the report, and byte-level mutations of RON text.
//!
//! `CI_CASES` cases per property; `ORBITAL_FUZZ=long` (50x) or `PROPTEST_CASES=n` for more.

use std::cell::RefCell;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

pub const CI_CASES: u32 = 3_000;

pub fn cases() -> u32 {
    if let Some(n) = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return n;
    }
    match std::env::var("ORBITAL_FUZZ").as_deref() {
        Ok("long") => CI_CASES * 50,
        _ => CI_CASES,
    }
}

pub fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    })
}

thread_local! {
    static EXECUTIONS: RefCell<u64> = const { RefCell::new(0) };
}

pub fn executed(n: u64) {
    EXECUTIONS.with(|e| *e.borrow_mut() += n);
}

pub fn finish(
    name: &str,
    unit: &str,
    result: Result<(), proptest::test_runner::TestError<impl std::fmt::Debug>>,
) {
    let n = EXECUTIONS.with(|e| std::mem::take(&mut *e.borrow_mut()));
    println!("{name}: {} cases, {n} {unit}", cases());
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// Fails the current proptest case with a message unless `cond` holds.
#[macro_export]
macro_rules! fuzz_check {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(proptest::test_runner::TestCaseError::fail(format!($($msg)+)));
        }
    };
}

/// Executions counted so far in this thread (and resets the count).
pub fn take_executions() -> u64 {
    EXECUTIONS.with(|e| std::mem::take(&mut *e.borrow_mut()))
}

/// Pieces that make RON mutations likely to reach deep into the parser and the validation.
pub const TOKENS: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "name",
    "module",
    "programs",
    "connects",
    "provides",
    "service",
    "rights",
    "\"W\"",
    "\"Q\"",
    "true",
    "false",
    "required",
    "exclusive",
    "count",
    "processes",
    "program",
    "time",
    "Slow(0)",
    "Slow(4)",
    "Paused",
    "position",
    "(1.0, -2.5)",
    "4294967296",
    "-1",
    "1e309",
    "\"\\u{0}\"",
    "//",
    "/*",
    "\n",
    "r#\"",
    "Some(",
    "None",
    "\"idle.wasm\"",
    "\"../x.wasm\"",
    "\"a.b\"",
    "\u{fffd}",
    "\u{202e}",
    "title",
    "description",
];

#[derive(Clone, Debug)]
pub enum Mutation {
    Delete { at: usize, len: usize },
    Insert { at: usize, token: usize },
    InsertBytes { at: usize, bytes: Vec<u8> },
    Replace { at: usize, byte: u8 },
    Duplicate { at: usize, len: usize, to: usize },
    Truncate { at: usize },
}

pub fn mutation() -> impl Strategy<Value = Mutation> {
    let pos = any::<usize>();
    prop_oneof![
        (pos, 1usize..12).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (pos, 0..TOKENS.len()).prop_map(|(at, token)| Mutation::Insert { at, token }),
        (pos, prop::collection::vec(any::<u8>(), 1..6))
            .prop_map(|(at, bytes)| Mutation::InsertBytes { at, bytes }),
        (pos, any::<u8>()).prop_map(|(at, byte)| Mutation::Replace { at, byte }),
        (pos, 1usize..40, pos).prop_map(|(at, len, to)| Mutation::Duplicate { at, len, to }),
        pos.prop_map(|at| Mutation::Truncate { at }),
    ]
}

pub fn mutate(text: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut b = text.to_vec();
    for m in mutations {
        let n = b.len().max(1);
        match m {
            Mutation::Delete { at, len } => {
                let at = at % n;
                let end = (at + len).min(b.len());
                if at < end {
                    b.drain(at..end);
                }
            }
            Mutation::Insert { at, token } => {
                let at = (at % n).min(b.len());
                b.splice(at..at, TOKENS[*token].bytes());
            }
            Mutation::InsertBytes { at, bytes } => {
                let at = (at % n).min(b.len());
                b.splice(at..at, bytes.iter().copied());
            }
            Mutation::Replace { at, byte } => {
                if !b.is_empty() {
                    let at = at % b.len();
                    b[at] = *byte;
                }
            }
            Mutation::Duplicate { at, len, to } => {
                if !b.is_empty() {
                    let at = at % b.len();
                    let end = (at + len).min(b.len());
                    let piece: Vec<u8> = b[at..end].to_vec();
                    let to = (to % n).min(b.len());
                    b.splice(to..to, piece);
                }
            }
            Mutation::Truncate { at } => {
                let at = at % n;
                b.truncate(at);
            }
        }
    }
    b
}

/// A reported position must point into the text (1-based; one past the last line or column is
/// the end of input).
pub fn position_inside(text: &[u8], line: usize, column: usize) -> bool {
    let text = String::from_utf8_lossy(text);
    let lines: Vec<&str> = text.split('\n').collect();
    line >= 1
        && column >= 1
        && line <= lines.len() + 1
        && column <= lines.get(line - 1).map_or(1, |l| l.chars().count() + 1) + 1
}

/// Pieces that make mutations of a WebAssembly module reach past the header: the magic and
/// version, section ids with small lengths, LEB128 continuation bytes, import and section names.
pub const WASM_TOKENS: &[&[u8]] = &[
    b"\0asm\x01\0\0\0",
    b"\0asm\x0d\0\x01\0",
    b"\x02\x07",
    b"\x05\x03\x01\x00\x01",
    b"\x05\x04\x01\x01\x01\x80",
    b"\x07\x0a",
    b"\xff\xff\xff\xff\x0f",
    b"\x80\x80\x80\x80\x80",
    b"\x00\x10\x10orbital.manifest",
    b"wasi_snapshot_preview1",
    b"fd_write",
    b"env",
    b"memory",
    b"_start",
    b"(provides: [\"x\"])",
    b"(connects: [(service: \"nope.x\", rights: \"W\")])",
];

/// A mutation of a module: a byte-level [`Mutation`], or a WebAssembly token inserted.
pub fn wasm_mutation() -> impl Strategy<Value = (Mutation, Option<(usize, usize)>)> {
    (
        mutation(),
        prop::option::of((any::<usize>(), 0..WASM_TOKENS.len())),
    )
}

/// Applies [`wasm_mutation`]s to a module.
pub fn mutate_wasm(bytes: &[u8], mutations: &[(Mutation, Option<(usize, usize)>)]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    for (m, token) in mutations {
        b = mutate(&b, std::slice::from_ref(m));
        if let Some((at, token)) = token {
            let at = at % (b.len() + 1);
            b.splice(at..at, WASM_TOKENS[*token].iter().copied());
        }
    }
    b
}
