//! Shared by the reliability and soak tests: a headless app on the native host whose manifest
//! holds the real guests plus small fault-injection programs written in the WebAssembly text
//! format (compiled to binary with `wat`, as the hosts take only binary modules), and helpers to
//! wait and measure.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bevy::prelude::*;
use orbital_playground::kernel::{KernelEvent, ProcessId, ProcessState};
use orbital_playground::supervisor::native_host::{
    Doorbell, NativeHost, Servicer, guest_dir_candidates,
};
use orbital_playground::supervisor::{
    ConnectSpec, Host, KernelEventMessage, Manifest, NativeServicer, ProcessEntity, ProgramSpec,
    SupervisorHandle, SupervisorPlugin, SupervisorSystems,
};
use orbital_supervisor::testing::require_guest_modules;

pub const DEADLINE: Duration = Duration::from_secs(90);

/// One test at a time in a binary: thread and memory measurements stay meaningful, and the two
/// shared CPU cores are not oversubscribed.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

const HEADER: &str = r#"
  (import "env" "memory" (memory 1))
  (import "env" "orbital_syscall" (func $sys (param i32 i32 i32 i32) (result i32)))
  (import "env" "orbital_send_bytes" (func $stage (param i32 i32) (result i32)))
  (import "env" "orbital_recv_bytes" (func $fetch (param i32 i32) (result i32)))
  (import "env" "orbital_yield" (func $yield))
  (func $exit (param $code i32) (drop (call $sys (i32.const 2) (local.get $code) (i32.const 0) (i32.const 0))))
"#;

fn module(body: &str) -> String {
    format!("(module {HEADER} {body})")
}

/// Sends `n` messages (payload: u64 LE sequence number) on slot 1, yielding on QUEUE_FULL;
/// exits 0 after the last one, or with the error code if a send is refused otherwise.
pub fn counting_sender(n: u64) -> String {
    module(&format!(
        r#"(func (export "_start") (local $seq i64) (local $r i32)
          (block $done (loop $l
            (br_if $done (i64.ge_u (local.get $seq) (i64.const {n})))
            (i64.store (i32.const 0) (local.get $seq))
            (drop (call $stage (i32.const 0) (i32.const 8)))
            (local.set $r (call $sys (i32.const 8) (i32.const 1) (i32.const 0) (i32.const -1)))
            (if (i32.eqz (local.get $r)) (then (local.set $seq (i64.add (local.get $seq) (i64.const 1))) (br $l)))
            (if (i32.eq (local.get $r) (i32.const -6)) (then (call $yield) (br $l)))
            (call $exit (i32.sub (i32.const 0) (local.get $r)))))
          (call $exit (i32.const 0)))"#
    ))
}

/// Receives `n` messages on slot 1 and checks each is the next sequence number from one sender:
/// exits 0 when all `n` arrived in order, 1 on a gap or duplicate, 2 on a wrong length,
/// 100 + code if RECEIVE fails.
pub fn counting_receiver(n: u64) -> String {
    module(&format!(
        r#"(func (export "_start") (local $want i64) (local $r i32)
          (block $done (loop $l
            (br_if $done (i64.ge_u (local.get $want) (i64.const {n})))
            (local.set $r (call $sys (i32.const 9) (i32.const 1) (i32.const 0) (i32.const 0)))
            (if (i32.lt_s (local.get $r) (i32.const 0)) (then (call $exit (i32.sub (i32.const 100) (local.get $r)))))
            (if (i32.ne (local.get $r) (i32.const 8)) (then (call $exit (i32.const 2))))
            (drop (call $fetch (i32.const 64) (i32.const 64)))
            (if (i64.ne (i64.load (i32.const 76)) (local.get $want)) (then (call $exit (i32.const 1))))
            (local.set $want (i64.add (local.get $want) (i64.const 1)))
            (br $l)))
          (call $exit (i32.const 0)))"#
    ))
}

/// Fault-injection programs: (name, module text or bytes, provides, connects).
pub fn test_programs(messages_per_pair: u64) -> Vec<(ProgramSpec, Vec<u8>)> {
    let spec = |name: &str, provides: &[&str], connects: &[(&str, &str)]| ProgramSpec {
        name: name.into(),
        module: format!("{name}.wasm"),
        protected: false,
        may_spawn: false,
        provides: provides.iter().map(|s| s.to_string()).collect(),
        connects: connects
            .iter()
            .map(|(service, rights)| ConnectSpec {
                service: service.to_string(),
                rights: rights.to_string(),
                required: true,
                exclusive: false,
            })
            .collect(),
        description: String::new(),
        ..ProgramSpec::default()
    };
    let m = |text: String| {
        wat::parse_str(&text)
            .unwrap_or_else(|e| panic!("a test module does not compile: {e}\n{text}"))
    };
    vec![
        // Owns two endpoints and sleeps forever: never drains its inbox.
        (
            spec("sink", &["inbox", "side"], &[]),
            m(module(r#"(func (export "_start") (loop $l (drop (call $sys (i32.const 5) (i32.const 60000) (i32.const 0) (i32.const 0))) (br $l)))"#)),
        ),
        // Sends to the sink until refused with anything but QUEUE_FULL; exits with that code.
        (
            spec("pusher", &[], &[("sink.inbox", "W")]),
            m(module(
                r#"(func (export "_start") (local $r i32)
                  (loop $l
                    (local.set $r (call $sys (i32.const 8) (i32.const 1) (i32.const 0) (i32.const -1)))
                    (if (i32.eqz (local.get $r)) (then (br $l)))
                    (if (i32.eq (local.get $r) (i32.const -6)) (then (call $yield) (br $l)))
                    (call $exit (i32.sub (i32.const 0) (local.get $r)))))"#,
            )),
        ),
        // Blocks receiving on the sink's second endpoint; exits with the error code (or 100).
        (
            spec("listener", &[], &[("sink.side", "R")]),
            m(module(
                r#"(func (export "_start") (local $r i32)
                  (local.set $r (call $sys (i32.const 9) (i32.const 1) (i32.const 0) (i32.const 0)))
                  (if (i32.lt_s (local.get $r) (i32.const 0))
                    (then (call $exit (i32.sub (i32.const 0) (local.get $r))))
                    (else (call $exit (i32.const 100)))))"#,
            )),
        ),
        // Traps of every kind.
        (spec("oob", &[], &[]), m(module(r#"(func (export "_start") (drop (i32.load (i32.const 0x7ffffff0))))"#))),
        (spec("divzero", &[], &[]), m(module(r#"(func $z (param i32) (result i32) (i32.div_s (i32.const 1) (local.get 0))) (func (export "_start") (drop (call $z (i32.const 0))))"#))),
        (spec("recurse", &[], &[]), m(module(r#"(func $f (param i32) (result i32) (i32.add (call $f (local.get 0)) (i32.const 1))) (func (export "_start") (drop (call $f (i32.const 0))))"#))),
        // Asks linear memory to grow past the 64 MiB maximum: must be refused (-1), not a fault.
        (
            spec("grower", &[], &[]),
            m(module(r#"(func (export "_start") (if (i32.eq (memory.grow (i32.const 2000)) (i32.const -1)) (then (call $exit (i32.const 7))) (else (call $exit (i32.const 8)))))"#)),
        ),
        // Modules the host must refuse with a clear message.
        (spec("notwasm", &[], &[]), b"\0asm\x01\0\0\0this is not a WebAssembly module".to_vec()),
        (spec("nostart", &[], &[]), m(r#"(module (import "env" "memory" (memory 1)) (func (export "main")))"#.to_string())),
        (spec("hugemin", &[], &[]), m(r#"(module (import "env" "memory" (memory 2000)) (func (export "_start")))"#.to_string())),
        (
            spec("badimport", &[], &[]),
            m(r#"(module (import "env" "memory" (memory 1)) (import "env" "orbital_format_disk" (func)) (func (export "_start")))"#.to_string()),
        ),
        (spec("missing", &[], &[]), Vec::new()),
        // Counted traffic for the soak.
        (spec("tally", &["inbox"], &[]), m(counting_receiver(messages_per_pair))),
        (spec("burst", &[], &[("tally.inbox", "W")]), m(counting_sender(messages_per_pair))),
    ]
}

/// Writes the test modules to a fresh directory and returns it (`missing` is left out on purpose).
fn write_modules(programs: &[(ProgramSpec, Vec<u8>)]) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("orbital-reliability-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (spec, bytes) in programs {
        if spec.name != "missing" {
            std::fs::write(dir.join(&spec.module), bytes).unwrap();
        }
    }
    dir
}

/// Every kernel event the app published, in order.
#[derive(Resource, Default)]
pub struct SeenEvents(pub Vec<KernelEvent>);

fn record_events(
    mut reader: MessageReader<KernelEventMessage>,
    mut seen: ResMut<SeenEvents>,
    keep: Res<KeepEvents>,
) {
    if keep.0 {
        seen.0.extend(reader.read().map(|m| m.0.clone()));
    } else {
        reader.read().for_each(drop);
    }
}

/// Whether `SeenEvents` keeps everything (the soak only counts).
#[derive(Resource)]
pub struct KeepEvents(pub bool);

pub struct Harness {
    pub app: App,
    pub guests_dir: PathBuf,
}

impl Harness {
    /// A headless app: MinimalPlugins + SupervisorPlugin on the native host (with its doorbell
    /// servicer thread), the built-in manifest plus the test programs, booted (init, terminal, idle).
    pub fn boot(messages_per_pair: u64, keep_events: bool) -> Harness {
        require_guest_modules();
        let programs = test_programs(messages_per_pair);
        let dir = write_modules(&programs);
        let mut manifest = Manifest::builtin().expect("built-in manifest");
        manifest
            .programs
            .extend(programs.into_iter().map(|(spec, _)| spec));
        let mut dirs = vec![dir.clone()];
        dirs.extend(guest_dir_candidates());
        let doorbell_slot: Arc<Mutex<Option<Arc<Doorbell>>>> = Arc::default();
        let slot = doorbell_slot.clone();
        let plugin = SupervisorPlugin::with_host(move || {
            let host = NativeHost::with_dirs(dirs);
            *slot.lock().unwrap() = Some(host.doorbell());
            Box::new(host) as Box<dyn Host>
        })
        .with_manifest(manifest);
        let mut app = App::new();
        app.add_plugins(MinimalPlugins)
            .add_plugins(plugin)
            .init_resource::<SeenEvents>()
            .insert_resource(KeepEvents(keep_events))
            .add_systems(
                Update,
                record_events.after(SupervisorSystems::PublishEvents),
            );
        let handle = app.world().resource::<SupervisorHandle>().clone();
        let doorbell = doorbell_slot
            .lock()
            .unwrap()
            .take()
            .expect("the host was created by the plugin");
        app.insert_resource(NativeServicer(Servicer::start(handle.shared(), doorbell)));
        let mut h = Harness {
            app,
            guests_dir: dir,
        };
        h.wait_for("init, terminal and idle to start", |h| {
            ["init", "terminal", "idle"]
                .iter()
                .all(|n| h.pid_of(n).is_some())
                && h.entity_count() == 3
        });
        h
    }

    pub fn handle(&self) -> SupervisorHandle {
        self.app.world().resource::<SupervisorHandle>().clone()
    }

    pub fn pid_of(&self, name: &str) -> Option<ProcessId> {
        let handle = self.handle();
        let sup = handle.lock();
        sup.kernel()
            .processes()
            .values()
            .filter(|p| p.name == name)
            .map(|p| p.pid)
            .max()
    }

    pub fn state(&self, pid: ProcessId) -> Option<ProcessState> {
        self.handle()
            .lock()
            .kernel()
            .process(pid)
            .map(|p| p.state.clone())
    }

    pub fn console_of(&self, pid: ProcessId) -> String {
        self.handle().lock().console_text_of(pid)
    }

    pub fn all_console(&self) -> String {
        let handle = self.handle();
        let sup = handle.lock();
        sup.console_log()
            .iter()
            .map(|l| format!("[{}] {}", l.pid.0, l.text))
            .collect()
    }

    pub fn events(&self) -> &[KernelEvent] {
        &self.app.world().resource::<SeenEvents>().0
    }

    pub fn entity_count(&mut self) -> usize {
        let world = self.app.world_mut();
        world.query::<&ProcessEntity>().iter(world).count()
    }

    pub fn spawn(&mut self, program: &str) -> ProcessId {
        let result = self.handle().lock().spawn_program(program);
        result.unwrap_or_else(|e| panic!("spawn {program}: {e}"))
    }

    pub fn live_guests(&self) -> usize {
        self.handle().lock().live_guests()
    }

    /// Updates the app until `done` holds; panics with the process table and console after `DEADLINE`.
    pub fn wait_for(&mut self, what: &str, mut done: impl FnMut(&mut Harness) -> bool) {
        let start = Instant::now();
        loop {
            self.app.update();
            if done(self) {
                return;
            }
            if start.elapsed() > DEADLINE {
                let handle = self.handle();
                let table: String = handle
                    .lock()
                    .kernel()
                    .processes()
                    .values()
                    .map(|p| format!("  {} {} {:?}\n", p.pid.0, p.name, p.state))
                    .collect();
                let console = self.all_console();
                let tail: String = console
                    .chars()
                    .rev()
                    .take(3000)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                panic!(
                    "timed out after {DEADLINE:?} waiting for {what}\nprocesses:\n{table}console (tail):\n{tail}"
                );
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// A few frames so the ECS catches up.
    pub fn settle(&mut self, frames: usize) {
        for _ in 0..frames {
            self.app.update();
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.guests_dir);
    }
}

/// OS threads of this test process (Linux: /proc/self/task), and how many are guest threads
/// (named `guest-<pid>-<program>`, cut to 15 bytes by the kernel).
pub fn os_threads() -> (usize, usize) {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return (0, 0);
    };
    let mut all = 0;
    let mut guests = 0;
    for entry in dir.flatten() {
        all += 1;
        let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        if comm.starts_with("guest-") {
            guests += 1;
        }
    }
    (all, guests)
}

/// Resident memory of this test process in KiB (Linux), for the record.
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}
