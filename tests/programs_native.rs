//! Students' own programs through the app's intents, natively (the path a dropped file, "Load
//! program…" and `window.supervisor.load_program` take): a C program built with clang
//! (`guests/wasi/upper.c`) loaded with `LoadProgram`, fed with `ConsoleInputTo` and
//! `CloseConsoleInput` (the terminal while it is selected), its console as `get_console_json`
//! returns it; a refusal reaches the caller and leaves the system running.
//!
//! Needs the guest modules (`cargo xtask guests`) and Debian's WASI C toolchain
//! (`apt-get install clang lld wasi-libc libclang-rt-dev-wasm32`).

mod reliability_common;

use std::process::Command;

use orbital_playground::supervisor::{SupervisorIntent, json};
use reliability_common::*;

fn upper_wasm() -> Vec<u8> {
    let out = std::env::temp_dir().join(format!(
        "orbital-programs-native-{}.wasm",
        std::process::id()
    ));
    let source = concat!(env!("CARGO_MANIFEST_DIR"), "/guests/wasi/upper.c");
    let run = Command::new("clang").args(["--target=wasm32-wasi", "-O2", "-o"]).arg(&out).arg(source).output().unwrap_or_else(|e| {
        panic!("cannot run clang ({e}): apt-get install -y clang lld wasi-libc libclang-rt-dev-wasm32")
    });
    assert!(
        run.status.success(),
        "clang failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let bytes = std::fs::read(&out).expect("the module clang wrote");
    std::fs::remove_file(&out).ok(); // a temporary file; a leftover does no harm
    bytes
}

#[test]
fn a_loaded_wasi_program_reads_console_input_and_its_console_is_kept() {
    let _serial = serial();
    let mut h = Harness::boot(0, false);
    let handle = h.handle();
    let load = SupervisorIntent::LoadProgram {
        name: "upper.wasm".into(),
        bytes: upper_wasm().into(),
        args: Vec::new(),
    };
    let pid = handle
        .apply_intent_for_pid(&load)
        .expect("upper loads")
        .expect("a pid");
    assert_eq!(h.pid_of("upper"), Some(pid));

    handle
        .apply_intent(&SupervisorIntent::ConsoleInputTo {
            pid,
            line: "hello there".into(),
        })
        .expect("stdin takes the line");
    h.wait_for("upper to echo the line", |h| {
        h.console_of(pid).contains("HELLO THERE")
    });
    handle
        .apply_intent(&SupervisorIntent::CloseConsoleInput { pid })
        .expect("end of input");
    h.wait_for("upper to see the end of input", |h| {
        h.console_of(pid).contains("upper: 1 line(s), end of input")
    });
    h.wait_for("upper to exit", |h| {
        h.state(pid).is_some_and(|s| s.is_zombie())
    });

    let console = json::console_of(&handle.lock(), pid);
    println!("get_console_json({}): {console}", pid.0);
    assert_eq!(console["name"], "upper");
    assert_eq!(console["lines"][0], "HELLO THERE");
    assert_eq!(console["lines"][1], "upper: 1 line(s), end of input");
    assert!(
        console["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "input" && e["text"] == "hello there\n")
    );

    // A refusal is the caller's error, and nothing else changes.
    let before = handle.lock().kernel().processes().len();
    let refused = handle.apply_intent_for_pid(&SupervisorIntent::LoadProgram {
        name: "notes.txt".into(),
        bytes: b"int main() {}".to_vec().into(),
        args: Vec::new(),
    });
    let reason = refused.expect_err("text is not a module");
    assert!(reason.contains("not a WebAssembly module"), "{reason}");
    assert_eq!(handle.lock().kernel().processes().len(), before);
    for name in ["init", "terminal", "idle"] {
        let pid = h.pid_of(name).unwrap();
        assert!(!h.state(pid).unwrap().is_zombie(), "{name} survived");
    }
    let not_stdin = handle.apply_intent(&SupervisorIntent::ConsoleInputTo {
        pid: h.pid_of("idle").unwrap(),
        line: "x".into(),
    });
    assert!(
        not_stdin
            .unwrap_err()
            .contains("does not read console input")
    );
}
