//! Students' own programs, natively: C programs built in the test run with Debian's clang and
//! wasi-libc (sources in guests/wasi/), a Rust `wasm32-wasip1` hello world, each loaded at run
//! time with `Supervisor::load_program` and run as a process on the wasmi host; every refusal
//! of `load_program`; and a fuzz of the validator.
//!
//! Needs `apt-get install clang lld wasi-libc libclang-rt-dev-wasm32` and
//! `rustup target add wasm32-wasip1`: a missing tool fails the test with that command.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use orbital_supervisor::abi::{ErrorCode, host_import, wasi};
use orbital_supervisor::kernel::{ExitReason, KernelConfig, KernelEvent, ProcessId, ProcessState};
use orbital_supervisor::native_host::{NativeHost, Servicer};
use orbital_supervisor::testing::{fuzz, require_guest_modules};
use orbital_supervisor::validate::{LoadError, MANIFEST_SECTION, validate_module};
use orbital_supervisor::{Clock, Manifest, SharedSupervisor, Supervisor};
use proptest::prelude::*;

const DEADLINE: Duration = Duration::from_secs(60);
const APT_PACKAGES: &str = "apt-get install -y clang lld wasi-libc libclang-rt-dev-wasm32";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn out_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wasi-programs");
    std::fs::create_dir_all(&dir).expect("creating the output folder");
    dir
}

/// Builds `guests/wasi/<name>.c` once per test run and returns the module and its size.
fn c_program(name: &str) -> Vec<u8> {
    static BUILT: OnceLock<Mutex<HashMap<String, Vec<u8>>>> = OnceLock::new();
    let built = BUILT.get_or_init(Default::default);
    let mut built = built.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(bytes) = built.get(name) {
        return bytes.clone();
    }
    let source = workspace().join("guests/wasi").join(format!("{name}.c"));
    let output = out_dir().join(format!("{name}.wasm"));
    let run = Command::new("clang")
        .args(["--target=wasm32-wasi", "-O2", "-o"])
        .arg(&output)
        .arg(&source)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run clang ({e}): install Debian's WASI C toolchain: {APT_PACKAGES}")
        });
    assert!(
        run.status.success(),
        "clang --target=wasm32-wasi failed for {}:\n{}\n(is the toolchain complete? {APT_PACKAGES})",
        source.display(),
        String::from_utf8_lossy(&run.stderr)
    );
    let bytes = std::fs::read(&output).expect("reading the module clang wrote");
    println!("{name}.wasm (C, clang -O2): {} bytes", bytes.len());
    built.insert(name.to_string(), bytes.clone());
    bytes
}

/// Builds `guests/wasi/hello_rust.rs` for `wasm32-wasip1` with rustc.
fn rust_hello() -> Vec<u8> {
    let source = workspace().join("guests/wasi/hello_rust.rs");
    let output = out_dir().join("hello_rust.wasm");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let run = Command::new(rustc)
        .args([
            "--target",
            "wasm32-wasip1",
            "-O",
            "-C",
            "strip=debuginfo",
            "-o",
        ])
        .arg(&output)
        .arg(&source)
        .output()
        .unwrap_or_else(|e| panic!("cannot run rustc: {e}"));
    assert!(
        run.status.success(),
        "rustc --target wasm32-wasip1 failed (run `rustup target add wasm32-wasip1`):\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let bytes = std::fs::read(&output).expect("reading the module rustc wrote");
    println!(
        "hello_rust.wasm (Rust, wasm32-wasip1, -O, debug info stripped): {} bytes",
        bytes.len()
    );
    bytes
}

fn wat(text: &str) -> Vec<u8> {
    wat::parse_str(text).unwrap_or_else(|e| panic!("test module: {e}"))
}

/// The supervisor on the native host with its servicer thread; not booted unless asked.
struct Harness {
    shared: SharedSupervisor,
    events: Vec<KernelEvent>,
    _servicer: Servicer,
}

impl Harness {
    fn new() -> Harness {
        let host = NativeHost::new();
        let doorbell = host.doorbell();
        let manifest = Manifest::builtin().expect("the built-in manifest");
        let shared = SharedSupervisor::new(Supervisor::new(
            manifest,
            Box::new(host),
            KernelConfig::default(),
            Clock::monotonic(),
        ));
        let servicer = Servicer::start(&shared, doorbell);
        Harness {
            shared,
            events: Vec::new(),
            _servicer: servicer,
        }
    }

    fn update(&mut self) {
        let mut sup = self.shared.lock();
        let now_ns = sup.now_ns();
        sup.tick(now_ns);
        sup.service_pending(now_ns);
        self.events.extend(sup.drain_events());
    }

    fn load(&mut self, name: &str, bytes: &[u8], args: &[&str]) -> ProcessId {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let result = self
            .shared
            .lock()
            .load_program_with_args(name, bytes, &args);
        result.unwrap_or_else(|e| panic!("load {name}: {e}"))
    }

    fn console_of(&self, pid: ProcessId) -> String {
        self.shared.lock().console_text_of(pid)
    }

    fn state(&self, pid: ProcessId) -> Option<ProcessState> {
        self.shared
            .lock()
            .kernel()
            .process(pid)
            .map(|p| p.state.clone())
    }

    fn wait_for(&mut self, what: &str, mut done: impl FnMut(&mut Harness) -> bool) {
        let start = Instant::now();
        loop {
            self.update();
            if done(self) {
                return;
            }
            if start.elapsed() > DEADLINE {
                let sup = self.shared.lock();
                let log: String = sup
                    .console_log()
                    .iter()
                    .map(|l| format!("[{}] {}", l.pid.0, l.text))
                    .collect();
                panic!("timed out waiting for {what}; console:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Waits for `pid` to exit and returns its exit code.
    fn exit_code(&mut self, pid: ProcessId) -> i32 {
        self.wait_for("the process to exit", |h| {
            matches!(h.state(pid), Some(ProcessState::Zombie(_)) | None)
        });
        match self.state(pid) {
            Some(ProcessState::Zombie(ExitReason::Exited { code })) => code,
            other => panic!(
                "pid {} did not exit normally: {other:?}\nconsole: {}",
                pid.0,
                self.console_of(pid)
            ),
        }
    }
}

#[test]
fn c_hello_world_prints_its_name_and_arguments() {
    let bytes = c_program("hello");
    let mut h = Harness::new();
    let pid = h.load("hello", &bytes, &["a", "b"]);
    assert_eq!(h.exit_code(pid), 0);
    let out = h.console_of(pid);
    assert!(
        out.contains("hello from hello with 2 argument(s)\n  argv[1] = a\n  argv[2] = b\n"),
        "{out}"
    );
    let process = h
        .shared
        .lock()
        .kernel()
        .process(pid)
        .cloned()
        .expect("the zombie");
    assert!(
        process.metrics.syscall_count >= 2,
        "fd_write and proc_exit are syscalls: {:?}",
        process.metrics
    );
    // The output stays after the process is reaped.
    h.shared.lock().reap(pid).expect("reap");
    assert!(h.console_of(pid).contains("argv[2] = b"));
}

#[test]
fn spawn_with_arguments_at_the_terminal_reaches_argv() {
    require_guest_modules();
    let bytes = c_program("hello");
    let mut h = Harness::new();
    h.shared.lock().boot().expect("boot");
    let first = h.load("hello", &bytes, &[]);
    assert_eq!(h.exit_code(first), 0);
    h.wait_for("the terminal to start", |h| {
        h.shared
            .lock()
            .kernel()
            .processes()
            .values()
            .any(|p| p.name == "terminal")
    });
    h.shared
        .lock()
        .console_input("spawn hello x y")
        .expect("typing at the terminal");
    let second = |h: &Harness| {
        h.shared
            .lock()
            .kernel()
            .processes()
            .values()
            .filter(|p| p.name == "hello")
            .map(|p| p.pid)
            .max()
    };
    h.wait_for("the second hello to print", |h| {
        second(h).is_some_and(|pid| pid != first && h.console_of(pid).contains("argv[2] = y"))
    });
    let pid = second(&h).expect("the spawned hello");
    assert!(
        h.console_of(pid)
            .contains("hello from hello with 2 argument(s)"),
        "{}",
        h.console_of(pid)
    );
}

#[test]
fn c_upper_reads_console_input_until_the_end_and_echoes_it_upper_cased() {
    let bytes = c_program("upper");
    let mut h = Harness::new();
    let pid = h.load("upper", &bytes, &[]);
    h.wait_for("upper to block reading stdin", |h| {
        matches!(h.state(pid), Some(ProcessState::Blocked(_)))
    });
    h.shared
        .lock()
        .console_input_to(pid, "hello world")
        .expect("first line");
    h.wait_for("the first line echoed", |h| {
        h.console_of(pid).contains("HELLO WORLD\n")
    });
    h.shared
        .lock()
        .console_input_to(pid, "Mixed Case 42\n")
        .expect("second line");
    h.shared
        .lock()
        .close_console_input_of(pid)
        .expect("end of input");
    assert_eq!(h.exit_code(pid), 0);
    let out = h.console_of(pid);
    assert!(
        out.contains("HELLO WORLD\n") && out.contains("MIXED CASE 42\n"),
        "{out}"
    );
    assert!(out.contains("upper: 2 line(s), end of input"), "{out}");
    let err = h.shared.lock().console_input_to(pid, "late").unwrap_err();
    assert!(
        err.contains("did not take the input") || err.contains("does not read"),
        "{err}"
    );
}

#[test]
fn c_sleepy_sleeps_through_the_kernel_and_reads_its_clock() {
    let bytes = c_program("sleepy");
    let mut h = Harness::new();
    let pid = h.load("sleepy", &bytes, &[]);
    h.wait_for("sleepy to sleep", |h| {
        matches!(
            h.state(pid),
            Some(ProcessState::Blocked(_)) | Some(ProcessState::Zombie(_))
        )
    });
    assert_eq!(h.exit_code(pid), 0, "{}", h.console_of(pid));
    let out = h.console_of(pid);
    let ms: u64 = out
        .split("slept ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no duration in {out:?}"));
    assert!((50..5_000).contains(&ms), "slept {ms} ms: {out}");
}

#[test]
fn c_call_to_an_unsupported_function_gets_enosys_and_a_denial_naming_it() {
    let bytes = c_program("unsupported");
    let mut h = Harness::new();
    let pid = h.load("unsupported", &bytes, &[]);
    assert_eq!(h.exit_code(pid), 0, "{}", h.console_of(pid));
    let out = h.console_of(pid);
    assert!(
        out.contains(&format!("errno {}", wasi::errno::NOSYS))
            && out.contains("unsupported: still running"),
        "{out}"
    );
    let expected = host_import::wasi(wasi::index_of("fd_filestat_get"));
    let denial = h.events.iter().find_map(|e| match e {
        KernelEvent::RequestDenied {
            pid: p,
            syscall,
            error,
            reason,
            ..
        } if *p == pid && *syscall == expected => Some((*error, reason.clone())),
        _ => None,
    });
    let (error, reason) =
        denial.unwrap_or_else(|| panic!("no denial for fd_filestat_get: {:?}", h.events));
    assert_eq!(error, ErrorCode::UnknownSyscall);
    assert!(
        reason.contains("wasi_snapshot_preview1.fd_filestat_get") && reason.contains("ENOSYS"),
        "{reason}"
    );
    let process = h
        .shared
        .lock()
        .kernel()
        .process(pid)
        .cloned()
        .expect("the zombie");
    assert!(process.metrics.host_refusals >= 1);
}

#[test]
fn rust_wasip1_hello_world_runs() {
    let bytes = rust_hello();
    let mut h = Harness::new();
    let pid = h.load("hello_rust", &bytes, &["one"]);
    assert_eq!(h.exit_code(pid), 0, "{}", h.console_of(pid));
    assert!(
        h.console_of(pid)
            .contains("hello from Rust, args [\"one\"]"),
        "{}",
        h.console_of(pid)
    );
}

#[test]
fn toolchain_memory_without_maximum_is_held_to_64_mib() {
    let bytes = c_program("hello");
    let valid = validate_module(&bytes).expect("valid");
    assert!(valid.reencoded && valid.wasi);
    assert_eq!(valid.memory_max_pages, Some(1024));
    let again = validate_module(&valid.bytes).expect("the re-encoded module is valid");
    assert!(
        !again.reencoded,
        "the re-encoded module declares its maximum"
    );
}

/// A program name, its module, the refusal expected and words its message must hold.
type RefusalCase = (&'static str, Vec<u8>, fn(&LoadError) -> bool, &'static str);

/// A minimal valid program: own memory, `_start`.
const MINIMAL: &str = r#"(module (memory (export "memory") 1 2) (func (export "_start")))"#;

#[test]
fn load_program_refuses_each_problem_with_a_message_and_leaves_the_system_as_it_was() {
    let mut h = Harness::new();
    let ok = h.load("minimal", &wat(MINIMAL), &[]);
    assert_eq!(h.exit_code(ok), 0);
    let before: Vec<(ProcessId, String)> = h
        .shared
        .lock()
        .kernel()
        .processes()
        .values()
        .map(|p| (p.pid, p.name.clone()))
        .collect();
    let big = {
        let mut b = wat(MINIMAL);
        b.resize(orbital_supervisor::MAX_MODULE_BYTES + 1, 0);
        b
    };
    let section = |text: &str| {
        let mut b = wat(MINIMAL);
        let mut custom = Vec::new();
        let name = MANIFEST_SECTION.as_bytes();
        custom.push(name.len() as u8);
        custom.extend_from_slice(name);
        custom.extend_from_slice(text.as_bytes());
        b.push(0);
        assert!(custom.len() < 128);
        b.push(custom.len() as u8);
        b.extend_from_slice(&custom);
        b
    };
    let cases: Vec<RefusalCase> = vec![
        (
            "text",
            b"int main() { return 0; }".to_vec(),
            |e| matches!(e, LoadError::NotWasm { .. }),
            "not a WebAssembly module",
        ),
        (
            "big",
            big,
            |e| matches!(e, LoadError::TooLarge { .. }),
            "8 MiB",
        ),
        (
            "cut",
            wat(MINIMAL)[..20].to_vec(),
            |e| matches!(e, LoadError::Malformed { .. }),
            "not valid WebAssembly",
        ),
        (
            "socket",
            wat(
                r#"(module (import "host" "open_socket" (func)) (memory (export "memory") 1) (func (export "_start")))"#,
            ),
            |e| matches!(e, LoadError::ForbiddenImport { .. }),
            "host.open_socket",
        ),
        (
            "badsig",
            wat(
                r#"(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32))) (memory (export "memory") 1) (func (export "_start")))"#,
            ),
            |e| matches!(e, LoadError::WrongSignature { .. }),
            "fd_write",
        ),
        (
            "huge",
            wat(r#"(module (memory (export "memory") 1025) (func (export "_start")))"#),
            |e| matches!(e, LoadError::MemoryTooLarge { pages: 1025 }),
            "64 MiB",
        ),
        (
            "hidden",
            wat(r#"(module (memory 1) (func (export "_start")))"#),
            |e| matches!(e, LoadError::MemoryNotExported),
            "export it",
        ),
        (
            "library",
            wat(r#"(module (memory (export "memory") 1) (func (export "main")))"#),
            |e| matches!(e, LoadError::NoStart),
            "_start",
        ),
        (
            "args",
            wat(r#"(module (memory (export "memory") 1) (func (export "_start") (param i32)))"#),
            |e| matches!(e, LoadError::StartWrongType { .. }),
            "take and return nothing",
        ),
        (
            "init",
            wat(MINIMAL),
            |e| matches!(e, LoadError::NameClash { .. }),
            "built-in program",
        ),
        (
            "bad name!",
            wat(MINIMAL),
            |e| matches!(e, LoadError::BadName { .. }),
            "letters, digits",
        ),
        (
            "garbled",
            section("(provides: [\"inbox\"],\n  may_spawn: maybe)"),
            |e| matches!(e, LoadError::ManifestSyntax { line: 2, .. }),
            "orbital.manifest:2:",
        ),
        (
            "dangling",
            section("(connects: [(service: \"nobody.inbox\", rights: \"W\")])"),
            |e| matches!(e, LoadError::ManifestInvalid { .. }),
            "no program named \"nobody\"",
        ),
        (
            "lonely",
            section("(connects: [(service: \"receiver.inbox\", rights: \"W\")])"),
            |e| matches!(e, LoadError::Spawn(_)),
            "spawn receiver first",
        ),
    ];
    for (name, bytes, expected, words) in cases {
        let error = h.shared.lock().load_program(name, &bytes).expect_err(name);
        let text = error.to_string();
        assert!(expected(&error), "{name}: unexpected refusal {error:?}");
        assert!(
            text.contains(words),
            "{name}: {text:?} does not mention {words:?}"
        );
        assert!(
            h.shared
                .lock()
                .console_text_of(ProcessId::KERNEL)
                .contains(&text),
            "{name}: the refusal reaches the console"
        );
        let after: Vec<(ProcessId, String)> = h
            .shared
            .lock()
            .kernel()
            .processes()
            .values()
            .map(|p| (p.pid, p.name.clone()))
            .collect();
        assert_eq!(after, before, "{name}: a refusal changed the process table");
        let registered = h
            .shared
            .lock()
            .manifest()
            .program(name)
            .is_some_and(|p| p.wasm.is_some());
        assert!(!registered, "{name}: a refusal registered the program");
    }
    // A loaded program may be replaced under its name; its capabilities come from its section.
    let with_section = section("(provides: [\"inbox\"])");
    let pid = h.load("minimal", &with_section, &[]);
    assert_eq!(
        h.shared
            .lock()
            .manifest()
            .program("minimal")
            .map(|p| p.provides.clone()),
        Some(vec!["inbox".to_string()])
    );
    assert_eq!(h.exit_code(pid), 0);
}

#[test]
fn fuzz_validator_never_panics_and_every_refusal_explains_itself() {
    let seeds = [
        wat(MINIMAL),
        wat(
            r#"(module (import "env" "memory" (memory 2 1024)) (import "env" "orbital_syscall" (func (param i32 i32 i32 i32) (result i32))) (func (export "_start") (drop (call 0 (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))))"#,
        ),
        wat(
            r#"(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32))) (import "wasi_snapshot_preview1" "path_open" (func (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32))) (memory (export "memory") 2) (func (export "_start")) (@custom "orbital.manifest" "(provides: [\"a\"])"))"#,
        ),
    ];
    let mut runner = fuzz::runner();
    let random = runner.run(&prop::collection::vec(any::<u8>(), 0..256), |bytes| {
        fuzz::executed(1);
        if let Err(e) = validate_module(&bytes) {
            orbital_supervisor::fuzz_check!(
                !e.to_string().is_empty(),
                "a refusal without a message: {e:?}"
            );
        }
        Ok(())
    });
    fuzz::finish("validator, random bytes", "modules", random);
    let mut runner = fuzz::runner();
    let mutated = runner.run(
        &(
            0..seeds.len(),
            prop::collection::vec(fuzz::wasm_mutation(), 1..6),
        ),
        |(seed, mutations)| {
            fuzz::executed(1);
            let bytes = fuzz::mutate_wasm(&seeds[seed], &mutations);
            match validate_module(&bytes) {
                Err(e) => orbital_supervisor::fuzz_check!(
                    !e.to_string().is_empty(),
                    "a refusal without a message: {e:?}"
                ),
                Ok(valid) => {
                    let again = validate_module(&valid.bytes);
                    orbital_supervisor::fuzz_check!(
                        again.is_ok(),
                        "an accepted module fails when checked again: {again:?}"
                    );
                    orbital_supervisor::fuzz_check!(
                        valid.memory_max_pages.is_none_or(|max| max <= 1024),
                        "accepted a memory maximum above 64 MiB: {valid:?}"
                    );
                }
            }
            Ok(())
        },
    );
    fuzz::finish("validator, mutated modules", "modules", mutated);
}
