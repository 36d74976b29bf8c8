//! The native host: each guest runs on its own std thread under `wasmi`, with the same mailbox
//! layout and wait/notify protocol as the browser's Web Workers (futexes via `atomic-wait`
//! instead of `Atomics.wait`). It exists so the whole pipeline (guest → mailbox → kernel →
//! events → ECS) runs under `cargo test`, and so the app runs natively.
//!
//! - Memory: the host creates each guest's memory with the module's declared minimum and a
//!   1024-page (64 MiB) maximum and defines it as `env.memory`.
//! - Imports: the five `env.orbital_*` functions of docs/ABI.md. Every pointer and length is
//!   checked against guest memory (`-BAD_POINTER`, never a host panic).
//! - Stopping: the supervisor sets the mailbox's `KILL_FLAG`. A guest that never makes a syscall
//!   runs in fuel slices and checks the flag between slices; a guest blocked on its mailbox is
//!   woken (repeatedly, until its thread has ended, so no wake-up can be lost) and sees the flag.
//!   Either way its thread ends and is joined.
//! - The doorbell: one shared word each guest increments and wakes after setting PENDING; the
//!   [`Servicer`] thread waits on it and calls [`Supervisor::service_pending`].

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use wasmi::{
    Caller, Config, Engine, Error, ExternType, Linker, Memory, MemoryType, Module, Store,
    TypedResumableCall,
};

use crate::abi::{ErrorCode, YIELD_PARK_MICROS, host_import, mailbox as mb, memory, nr};
use crate::host::{GuestExit, GuestExitKind, Host, HostError, SpawnedGuest};
use crate::kernel::ProcessId;
use crate::mailbox::{AtomicMailbox, MailboxWords};
use crate::manifest::ProgramSpec;
use crate::native_wasi::{self, WasiState};
use crate::{SharedSupervisor, Supervisor, WeakSupervisor};

/// Instructions (roughly) a guest runs between two looks at its kill flag.
const FUEL_SLICE: u64 = 1_000_000;
/// How long `stop` keeps waking a guest before leaving its thread to finish in the background.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// Native stack for a guest thread (the interpreter's own frames; guest stacks live in wasm memory).
const GUEST_THREAD_STACK_BYTES: usize = 8 << 20;
/// Largest memory a guest may have: the ABI's 64 MiB.
const MAX_PAGES: u32 = (memory::LIMIT_BYTES / memory::PAGE_BYTES as u64) as u32;

/// Where guest modules are looked for, in order: `ORBITAL_GUESTS_DIR`, then
/// `$CARGO_TARGET_DIR/guests/wasm32-unknown-unknown/release` (at run time, then at build time),
/// then `<workspace>/target/guests/wasm32-unknown-unknown/release` (the workspace is this
/// crate's parent folder).
pub fn guest_dir_candidates() -> Vec<PathBuf> {
    const SUFFIX: &str = "guests/wasm32-unknown-unknown/release";
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::var_os("ORBITAL_GUESTS_DIR") {
        dirs.push(PathBuf::from(dir));
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        dirs.push(Path::new(&target).join(SUFFIX));
    }
    if let Some(target) = option_env!("CARGO_TARGET_DIR") {
        dirs.push(Path::new(target).join(SUFFIX));
    }
    dirs.push(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("target")
            .join(SUFFIX),
    );
    dirs.dedup();
    dirs
}

/// The shared doorbell word: guests ring it after setting a mailbox to PENDING.
#[derive(Default)]
pub struct Doorbell {
    word: AtomicU32,
}

impl Doorbell {
    pub fn ring(&self) {
        self.word.fetch_add(1, Ordering::SeqCst);
        atomic_wait::wake_all(&self.word);
    }

    fn value(&self) -> u32 {
        self.word.load(Ordering::SeqCst)
    }

    /// Blocks until the doorbell no longer holds `seen` (returns at once if it already moved).
    fn wait(&self, seen: u32) {
        atomic_wait::wait(&self.word, seen);
    }
}

struct NativeGuest {
    words: Arc<MailboxWords>,
    thread: JoinHandle<()>,
}

/// Runs guests on threads with `wasmi`. See the module docs.
pub struct NativeHost {
    dirs: Vec<PathBuf>,
    engine: Engine,
    modules: HashMap<String, Module>,
    doorbell: Arc<Doorbell>,
    guests: BTreeMap<ProcessId, NativeGuest>,
    /// Guests asked to stop whose thread had not ended within `STOP_TIMEOUT`.
    stopping: Vec<NativeGuest>,
    live_threads: Arc<AtomicUsize>,
    exits_tx: Sender<GuestExit>,
    exits_rx: Receiver<GuestExit>,
    next_worker_id: u32,
}

impl NativeHost {
    /// A host that looks for modules in [`guest_dir_candidates`].
    pub fn new() -> NativeHost {
        NativeHost::with_dirs(guest_dir_candidates())
    }

    /// A host that looks for modules in `dirs`, in order.
    pub fn with_dirs(dirs: Vec<PathBuf>) -> NativeHost {
        let mut config = Config::default();
        config.consume_fuel(true);
        let (exits_tx, exits_rx) = channel();
        NativeHost {
            dirs,
            engine: Engine::new(&config),
            modules: HashMap::new(),
            doorbell: Arc::new(Doorbell::default()),
            guests: BTreeMap::new(),
            stopping: Vec::new(),
            live_threads: Arc::new(AtomicUsize::new(0)),
            exits_tx,
            exits_rx,
            next_worker_id: 1,
        }
    }

    /// The doorbell the [`Servicer`] waits on.
    pub fn doorbell(&self) -> Arc<Doorbell> {
        self.doorbell.clone()
    }

    /// Guest threads currently alive (a thread counts until its function has returned).
    pub fn live_threads(&self) -> usize {
        self.live_threads.load(Ordering::SeqCst)
    }

    fn load_module(&mut self, program: &ProgramSpec) -> Result<Module, HostError> {
        let file = program.module.as_str();
        if let Some(bytes) = &program.wasm {
            // A program loaded at run time: compiled per spawn (it may be replaced under its name).
            let invalid = |message: String| HostError::InvalidModule {
                module: file.to_string(),
                message,
            };
            let module =
                Module::new(&self.engine, &bytes[..]).map_err(|e| invalid(e.to_string()))?;
            memory_limits(&module).map_err(invalid)?;
            return Ok(module);
        }
        if let Some(module) = self.modules.get(file) {
            return Ok(module.clone());
        }
        let path = self
            .dirs
            .iter()
            .map(|d| d.join(file))
            .find(|p| p.is_file())
            .ok_or_else(|| HostError::ModuleNotFound {
                module: file.to_string(),
                searched: self.dirs.clone(),
            })?;
        let invalid = |message: String| HostError::InvalidModule {
            module: file.to_string(),
            message,
        };
        let bytes = std::fs::read(&path)
            .map_err(|e| invalid(format!("reading {}: {e}", path.display())))?;
        // The checks and the memory maximum of programs loaded at run time apply to files too.
        let bytes = crate::validate::validate_module(&bytes)
            .map_err(|e| invalid(e.to_string()))?
            .bytes;
        let module = Module::new(&self.engine, &bytes).map_err(|e| invalid(e.to_string()))?;
        let has_start = module
            .exports()
            .any(|e| e.name() == "_start" && matches!(e.ty(), ExternType::Func(_)));
        if !has_start {
            return Err(invalid("it does not export a `_start` function".into()));
        }
        memory_limits(&module).map_err(invalid)?;
        self.modules.insert(file.to_string(), module.clone());
        Ok(module)
    }

    /// Joins threads of stopped guests that have ended since.
    fn join_finished(&mut self) {
        let (done, waiting): (Vec<_>, Vec<_>) = self
            .stopping
            .drain(..)
            .partition(|g| g.thread.is_finished());
        self.stopping = waiting;
        for guest in done {
            let _ = guest.thread.join();
        }
    }
}

impl Default for NativeHost {
    fn default() -> Self {
        NativeHost::new()
    }
}

/// The memory the host creates for a module, in pages: the minimum its `env.memory` import
/// declares, and a maximum of 1024 pages (64 MiB) or the module's own smaller maximum. `None`
/// for a module that defines (and exports) its own memory, as WASI toolchains make them;
/// [`crate::validate`] has set its maximum to at most 64 MiB.
fn memory_limits(module: &Module) -> Result<Option<(u32, u32)>, String> {
    let Some(import) = module
        .imports()
        .find(|i| matches!(i.ty(), ExternType::Memory(_)))
    else {
        let exported = module
            .exports()
            .any(|e| e.name() == "memory" && matches!(e.ty(), ExternType::Memory(_)));
        if exported {
            return Ok(None);
        }
        return Err("it does not import its memory (link with --import-memory)".into());
    };
    if (import.module(), import.name()) != ("env", "memory") {
        return Err(format!(
            "it imports memory as {}.{}, not env.memory",
            import.module(),
            import.name()
        ));
    }
    let ExternType::Memory(ty) = import.ty() else {
        return Err("its memory import is not a memory".into());
    };
    let minimum = ty.minimum();
    if minimum > u64::from(MAX_PAGES) {
        return Err(format!(
            "it asks for {minimum} pages of memory; the limit is {MAX_PAGES} (64 MiB)"
        ));
    }
    let maximum = ty
        .maximum()
        .map_or(MAX_PAGES, |m| m.min(u64::from(MAX_PAGES)) as u32);
    Ok(Some((minimum as u32, maximum)))
}

impl Host for NativeHost {
    fn spawn(&mut self, pid: ProcessId, program: &ProgramSpec) -> Result<SpawnedGuest, HostError> {
        self.join_finished();
        let module = self.load_module(program)?;
        let words = MailboxWords::new();
        let worker_id = self.next_worker_id;
        self.next_worker_id += 1;
        let guest = GuestContext {
            words: words.clone(),
            doorbell: self.doorbell.clone(),
            memory: None,
            reply: Vec::new(),
            wasi: Some(WasiState::new(&program.launch, &program.name)),
        };
        let engine = self.engine.clone();
        let exits = self.exits_tx.clone();
        let live = LiveThread::enter(self.live_threads.clone());
        let doorbell = self.doorbell.clone();
        let thread = std::thread::Builder::new()
            .name(format!("guest-{}-{}", pid.0, program.name))
            .stack_size(GUEST_THREAD_STACK_BYTES)
            .spawn(move || {
                let _live = live;
                let outcome = run_guest(&engine, &module, guest);
                if let Some(kind) = outcome {
                    let _ = exits.send(GuestExit { pid, kind });
                    doorbell.ring();
                }
            })
            .map_err(|e| HostError::Unavailable(format!("cannot start a thread: {e}")))?;
        self.guests.insert(
            pid,
            NativeGuest {
                words: words.clone(),
                thread,
            },
        );
        Ok(SpawnedGuest {
            mailbox: Box::new(AtomicMailbox(words)),
            worker_id,
        })
    }

    fn stop(&mut self, pid: ProcessId) {
        let Some(guest) = self.guests.remove(&pid) else {
            return;
        };
        guest.words.word(mb::KILL_FLAG).store(1, Ordering::SeqCst);
        let deadline = Instant::now() + STOP_TIMEOUT;
        // The guest may be between checking the flag and waiting on STATUS, so one wake-up could
        // be lost; keep waking until its thread has ended.
        while !guest.thread.is_finished() && Instant::now() < deadline {
            guest.words.wake(mb::STATUS);
            std::thread::sleep(Duration::from_micros(200));
        }
        if guest.thread.is_finished() {
            let _ = guest.thread.join();
        } else {
            tracing::warn!(
                "guest {} did not stop within {:?}; its thread is left to finish",
                pid.0,
                STOP_TIMEOUT
            );
            self.stopping.push(guest);
        }
        self.join_finished();
    }

    fn live_guests(&self) -> usize {
        self.live_threads()
    }

    fn take_exits(&mut self) -> Vec<GuestExit> {
        let exits: Vec<GuestExit> = self.exits_rx.try_iter().collect();
        for exit in &exits {
            if let Some(guest) = self.guests.remove(&exit.pid) {
                self.stopping.push(guest);
            }
        }
        self.join_finished();
        exits
    }

    fn ring_doorbell(&self) {
        self.doorbell.ring();
    }

    fn name(&self) -> &'static str {
        "native (wasmi threads)"
    }
}

impl Drop for NativeHost {
    fn drop(&mut self) {
        let pids: Vec<ProcessId> = self.guests.keys().copied().collect();
        for guest in self.guests.values() {
            guest.words.word(mb::KILL_FLAG).store(1, Ordering::SeqCst);
        }
        for pid in pids {
            self.stop(pid);
        }
    }
}

/// Counts a guest thread as alive from spawn until its function returns.
struct LiveThread(Arc<AtomicUsize>);

impl LiveThread {
    fn enter(counter: Arc<AtomicUsize>) -> LiveThread {
        counter.fetch_add(1, Ordering::SeqCst);
        LiveThread(counter)
    }
}

impl Drop for LiveThread {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The state of one guest's store.
pub(crate) struct GuestContext {
    pub(crate) words: Arc<MailboxWords>,
    doorbell: Arc<Doorbell>,
    pub(crate) memory: Option<Memory>,
    /// The last reply's data, kept host-side so a later `orbital_send_bytes` (which reuses the
    /// mailbox data buffer) cannot clobber it before `orbital_recv_bytes` reads it.
    pub(crate) reply: Vec<u8>,
    /// Arguments and stdin of a WASI guest (see `native_wasi`).
    pub(crate) wasi: Option<WasiState>,
}

impl GuestContext {
    pub(crate) fn killed(&self) -> bool {
        self.words.word(mb::KILL_FLAG).load(Ordering::SeqCst) != 0
    }

    /// A byte-copy import refuses: records it in the mailbox for the supervisor (code first,
    /// then the count it watches) and returns `-code` for the guest.
    pub(crate) fn refuse(&self, import: u32, code: ErrorCode) -> i32 {
        self.words
            .word(mb::HOST_REFUSAL_CODE)
            .store(host_import::pack(import, code) as u32, Ordering::SeqCst);
        self.words
            .word(mb::HOST_REFUSALS)
            .fetch_add(1, Ordering::SeqCst);
        code.to_result()
    }
}

/// The host error that unwinds a guest the supervisor asked to stop.
#[derive(Debug)]
pub(crate) struct Stopped;

impl fmt::Display for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("stopped by the supervisor")
    }
}

impl wasmi::errors::HostError for Stopped {}

/// Instantiates and runs `_start` to completion. `None` when the supervisor stopped the guest.
fn run_guest(engine: &Engine, module: &Module, guest: GuestContext) -> Option<GuestExitKind> {
    let mut store = Store::new(engine, guest);
    let load_failed = |e: &dyn fmt::Display| Some(GuestExitKind::LoadFailed(e.to_string()));
    let limits = match memory_limits(module) {
        Ok(limits) => limits,
        Err(e) => return load_failed(&e),
    };
    let memory = match limits
        .map(|(minimum, maximum)| Memory::new(&mut store, MemoryType::new(minimum, Some(maximum))))
    {
        Some(Ok(memory)) => Some(memory),
        Some(Err(e)) => return load_failed(&e),
        None => None, // the module's own, taken from its exports once instantiated
    };
    store.data_mut().memory = memory;
    let mut linker = Linker::<GuestContext>::new(engine);
    if let Err(e) =
        define_imports(&mut linker, memory).and_then(|()| native_wasi::define(&mut linker, module))
    {
        return load_failed(&e);
    }
    if let Err(e) = store.set_fuel(FUEL_SLICE) {
        return load_failed(&e);
    }
    let instance = match linker.instantiate_and_start(&mut store, module) {
        Ok(instance) => instance,
        Err(e) => return load_failed(&e),
    };
    if store.data().memory.is_none() {
        store.data_mut().memory = instance.get_memory(&store, "memory");
    }
    let start = match instance.get_typed_func::<(), ()>(&store, "_start") {
        Ok(start) => start,
        Err(e) => {
            return load_failed(&format!(
                "`_start` is not a function taking and returning nothing: {e}"
            ));
        }
    };
    let mut call = start.call_resumable(&mut store, ());
    loop {
        match call {
            Ok(TypedResumableCall::Finished(())) => return Some(GuestExitKind::Returned),
            Ok(TypedResumableCall::OutOfFuel(invocation)) => {
                if store.data().killed() {
                    return None;
                }
                if let Err(e) = store.set_fuel(FUEL_SLICE) {
                    return Some(GuestExitKind::Trapped(e.to_string()));
                }
                call = invocation.resume(&mut store);
            }
            Ok(TypedResumableCall::HostTrap(invocation)) => {
                if invocation.host_error().downcast_ref::<Stopped>().is_some() {
                    return None;
                }
                return Some(GuestExitKind::Trapped(invocation.host_error().to_string()));
            }
            Err(e) => {
                if e.downcast_ref::<Stopped>().is_some() || store.data().killed() {
                    return None;
                }
                return Some(GuestExitKind::Trapped(e.to_string()));
            }
        }
    }
}

fn define_imports(
    linker: &mut Linker<GuestContext>,
    memory: Option<Memory>,
) -> Result<(), wasmi::errors::LinkerError> {
    if let Some(memory) = memory {
        linker.define("env", "memory", memory)?;
    }
    linker.func_wrap(
        "env",
        "orbital_send_bytes",
        |mut caller: Caller<'_, GuestContext>, ptr: i32, len: i32| -> i32 {
            let refuse = |guest: &GuestContext, code| guest.refuse(host_import::SEND_BYTES, code);
            let Some(memory) = caller.data().memory else {
                return refuse(caller.data(), ErrorCode::BadPointer);
            };
            let (bytes, guest) = memory.data_and_store_mut(&mut caller);
            if len < 0 {
                return refuse(guest, ErrorCode::BadPointer);
            }
            if len as usize > mb::DATA_CAPACITY {
                return refuse(guest, ErrorCode::MessageTooLarge);
            }
            let Some(src) = guest_range(bytes, ptr, len) else {
                return refuse(guest, ErrorCode::BadPointer);
            };
            guest.words.write_bytes(src);
            guest
                .words
                .word(mb::DATA_LEN)
                .store(len as u32, Ordering::SeqCst);
            len
        },
    )?;
    linker.func_wrap(
        "env",
        "orbital_syscall",
        |mut caller: Caller<'_, GuestContext>,
         num: i32,
         a0: i32,
         a1: i32,
         a2: i32|
         -> Result<i32, Error> {
            syscall(&mut caller, num as u32, [a0 as u32, a1 as u32, a2 as u32])
        },
    )?;
    linker.func_wrap(
        "env",
        "orbital_recv_bytes",
        |mut caller: Caller<'_, GuestContext>, ptr: i32, cap: i32| -> i32 {
            let refuse =
                |guest: &GuestContext| guest.refuse(host_import::RECV_BYTES, ErrorCode::BadPointer);
            let Some(memory) = caller.data().memory else {
                return refuse(caller.data());
            };
            let (bytes, guest) = memory.data_and_store_mut(&mut caller);
            if cap < 0 {
                return refuse(guest);
            }
            let n = guest.reply.len().min(cap as usize);
            let Some(dst) = guest_range_mut(bytes, ptr, n as i32) else {
                return refuse(guest);
            };
            dst.copy_from_slice(&guest.reply[..n]);
            guest.reply.len() as i32
        },
    )?;
    linker.func_wrap(
        "env",
        "orbital_yield",
        |mut caller: Caller<'_, GuestContext>| -> Result<(), Error> {
            syscall(&mut caller, nr::YIELD, [0; 3])?;
            std::thread::sleep(Duration::from_micros(u64::from(YIELD_PARK_MICROS)));
            if caller.data().killed() {
                return Err(Error::host(Stopped));
            }
            Ok(())
        },
    )?;
    linker.func_wrap(
        "env",
        "orbital_get_pid",
        |mut caller: Caller<'_, GuestContext>| -> Result<i32, Error> {
            syscall(&mut caller, nr::GET_PID, [0; 3])
        },
    )?;
    Ok(())
}

fn guest_range(bytes: &[u8], ptr: i32, len: i32) -> Option<&[u8]> {
    let start = u32::try_from(ptr).ok()? as usize;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    bytes.get(start..end)
}

fn guest_range_mut(bytes: &mut [u8], ptr: i32, len: i32) -> Option<&mut [u8]> {
    let start = u32::try_from(ptr).ok()? as usize;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    bytes.get_mut(start..end)
}

/// Steps 1-3 and 7 of the syscall flow (docs/ABI.md), on the guest's side.
pub(crate) fn syscall(
    caller: &mut Caller<'_, GuestContext>,
    number: u32,
    args: [u32; 3],
) -> Result<i32, Error> {
    let memory_bytes = caller.data().memory.map_or(0, |m| m.data(&*caller).len());
    let guest = caller.data_mut();
    if guest.killed() {
        return Err(Error::host(Stopped));
    }
    let words = guest.words.clone();
    let w = |offset| words.word(offset);
    w(mb::SYSCALL).store(number, Ordering::SeqCst);
    w(mb::ARG0).store(args[0], Ordering::SeqCst);
    w(mb::ARG1).store(args[1], Ordering::SeqCst);
    w(mb::ARG2).store(args[2], Ordering::SeqCst);
    w(mb::MEMORY_BYTES).store(memory_bytes.min(u32::MAX as usize) as u32, Ordering::SeqCst);
    w(mb::SEQ).fetch_add(1, Ordering::SeqCst);
    w(mb::STATUS).store(mb::STATUS_PENDING as u32, Ordering::SeqCst);
    guest.doorbell.ring();
    while w(mb::STATUS).load(Ordering::SeqCst) == mb::STATUS_PENDING as u32 {
        if guest.killed() {
            return Err(Error::host(Stopped));
        }
        atomic_wait::wait(w(mb::STATUS), mb::STATUS_PENDING as u32);
    }
    let result = w(mb::RESULT).load(Ordering::SeqCst) as i32;
    let reply_len = (w(mb::DATA_LEN).load(Ordering::SeqCst) as usize).min(mb::DATA_CAPACITY);
    guest.reply = words.read_bytes(reply_len);
    w(mb::DATA_LEN).store(0, Ordering::SeqCst);
    w(mb::STATUS).store(mb::STATUS_IDLE as u32, Ordering::SeqCst);
    Ok(result)
}

/// The doorbell thread: services mailboxes as soon as a guest rings, outside Bevy frames.
/// Dropping it stops and joins the thread.
pub struct Servicer {
    stop: Arc<AtomicBool>,
    doorbell: Arc<Doorbell>,
    thread: Option<JoinHandle<()>>,
}

impl Servicer {
    /// Starts servicing `handle`'s mailboxes whenever `doorbell` rings. The thread holds only a
    /// weak reference, so it never keeps the supervisor alive.
    pub fn start(shared: &SharedSupervisor, doorbell: Arc<Doorbell>) -> Servicer {
        let stop = Arc::new(AtomicBool::new(false));
        let weak = shared.downgrade();
        let thread = {
            let stop = stop.clone();
            let doorbell = doorbell.clone();
            std::thread::Builder::new()
                .name("orbital-servicer".into())
                .spawn(move || servicer_loop(&weak, &doorbell, &stop))
                .expect("starting the servicer thread")
        };
        Servicer {
            stop,
            doorbell,
            thread: Some(thread),
        }
    }
}

impl Drop for Servicer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.doorbell.ring();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn servicer_loop(supervisor: &WeakSupervisor, doorbell: &Doorbell, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        let seen = doorbell.value();
        let Some(supervisor) = supervisor.upgrade() else {
            return;
        };
        let delay = {
            let mut sup: std::sync::MutexGuard<'_, Supervisor> = supervisor.lock();
            let now_ns = sup.now_ns();
            sup.service_pending(now_ns);
            // As the web host's servicer does: while this thread keeps up, the app's frame does
            // not service the mailboxes again (measured: a redundant pass in every update).
            sup.note_servicer_ran(now_ns);
            sup.next_service_delay(now_ns)
        };
        drop(supervisor);
        match delay {
            // Slow motion with work waiting: come back when the next syscall is due.
            Some(delay) => std::thread::sleep(delay.min(Duration::from_millis(100))),
            None => doorbell.wait(seen),
        }
    }
}
