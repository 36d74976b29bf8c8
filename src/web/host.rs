//! The Web Worker host: every process is a Web Worker running the guest shim (`web/worker.js`,
//! which `cargo xtask dist` bundles with `web/abi.js` into one classic script), with its mailbox
//! in a `SharedArrayBuffer` of its own, outside the guest's linear memory, so a guest can neither
//! forge its pid nor touch the header except through the five imports.
//!
//! Start-up fetches the shim and every guest module at once, in parallel (the page has already
//! started these requests while this module loaded; [`start_fetch`]), and compiles each module
//! once ([`load_modules`]). Workers start from a Blob URL of the fetched shim (no request
//! per worker, no module-script loading), and a small pool of them is kept started ahead of
//! need ([`WorkerPool`]): a spawn posts the compiled `WebAssembly.Module` to a warm worker, so it
//! costs an instantiation, not a worker start or a compile. `stop` is `Worker.terminate()`,
//! which ends even a guest that spins without syscalls.
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use js_sys::{Array, Int32Array, Object, Reflect, SharedArrayBuffer, Uint8Array, WebAssembly};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{MessageEvent, Worker, WorkerOptions, WorkerType};

use super::words;
use crate::abi::mailbox as mb;
use crate::kernel::ProcessId;
use crate::supervisor::host::WasmSend;
use crate::supervisor::{
    GuestCeiling, GuestExit, GuestExitKind, Host, HostError, Mailbox, ProgramSpec, SpawnedGuest,
};

use super::module_info::{self, ModuleInfo};

/// Where the guest modules are served, relative to the page.
pub const GUESTS_URL: &str = "guests/";
/// The guest shim, relative to the page: a classic script (see `cargo xtask dist`).
const WORKER_URL: &str = "worker.js";
/// The page's early requests, by URL (see [`start_fetch`]).
const PREFETCH_KEY: &str = "orbitalPrefetch";

/// How many started workers wait for the next spawns. Measured with `cargo xtask bench`
/// (docs/BENCHMARKS.md): a warm worker makes a spawn's first syscall about 2 ms away instead of
/// a worker start (12 ms alone, hundreds of ms when dozens start at once on two cores). The
/// pool refills in the background as spawns take from it; each spare costs a JS isolate
/// (about 1-2 MB) for as long as it waits.
pub const SPARE_WORKERS: usize = 8;

/// Spare workers started before the first frame: the boot set's (init, which starts terminal and
/// idle). The pool grows to its full size once the app has drawn ([`WorkerPool::grow`]): each
/// worker's start is a thread and a JS isolate, and on two cores the other five, booting during
/// the renderer's start, made the first frame about 50 ms later (paired page loads,
/// docs/BENCHMARKS.md).
pub const STARTUP_SPARE_WORKERS: usize = 3;

/// Guests a page runs at once by default. Measured on Chromium 156 (headless, 2-core Debian 12,
/// the web-test site, `spawn idle` typed until one failed, docs/BENCHMARKS.md): the 124th guest's
/// `WebAssembly.Memory` failed with "could not allocate memory" while 123 ran. V8 reserves
/// several GiB of virtual address space per 32-bit memory (its bounds-check guard regions) under
/// a per-process cap, and a page's dedicated workers share the page's process, so the limit is
/// on guests, not bytes. Three below the measured ceiling leave room for a memory the app itself
/// creates and for terminated workers whose memory is not yet released. `?max_guests=N`
/// overrides it (for a browser that measures differently).
pub const DEFAULT_MAX_GUESTS: usize = 120;

/// The web host's ceiling on guests.
pub fn guest_ceiling(limit: usize) -> GuestCeiling {
    GuestCeiling {
        limit,
        why: "each guest's WebAssembly memory reserves gigabytes of address space and the browser caps the total for this tab".into(),
    }
}

/// A guest module ready to post to workers, or why it is not.
#[derive(Clone)]
pub enum LoadedModule {
    Ready {
        module: WebAssembly::Module,
        info: ModuleInfo,
    },
    Failed(HostError),
}

/// Fetches and compiles every module the manifest names, each once. All the fetches start at
/// once (they are a few KB each, so the round trips, not the bytes, are the cost).
pub async fn load_modules(modules: &[String]) -> BTreeMap<String, LoadedModule> {
    let mut names: Vec<&String> = modules.iter().collect();
    names.sort();
    names.dedup();
    let started: Vec<(&String, Result<JsFuture, String>)> = names
        .into_iter()
        .map(|name| (name, start_fetch(&format!("{GUESTS_URL}{name}"))))
        .collect();
    let mut loaded = BTreeMap::new();
    for (name, fetch) in started {
        let bytes = match fetch {
            Ok(fetch) => response_bytes(fetch).await,
            Err(e) => Err(e),
        };
        loaded.insert(name.clone(), load_module(name, bytes).await);
    }
    loaded
}

async fn load_module(name: &str, bytes: Result<Vec<u8>, String>) -> LoadedModule {
    let url = format!("{GUESTS_URL}{name}");
    let bytes = match bytes {
        Ok(bytes) => bytes,
        Err(message) => {
            return LoadedModule::Failed(HostError::ModuleNotFound {
                module: name.to_string(),
                searched: vec![format!("{url} ({message})").into()],
            });
        }
    };
    let invalid = |message: String| {
        LoadedModule::Failed(HostError::InvalidModule {
            module: name.to_string(),
            message,
        })
    };
    let info = match module_info::inspect(&bytes) {
        Ok(info) => info,
        Err(message) => return invalid(message),
    };
    let array = Uint8Array::from(bytes.as_slice());
    match JsFuture::from(WebAssembly::compile(&array)).await {
        Ok(module) => match module.dyn_into::<WebAssembly::Module>() {
            Ok(module) => LoadedModule::Ready { module, info },
            Err(_) => invalid("WebAssembly.compile did not return a module".into()),
        },
        Err(e) => invalid(js_error_text(&e)),
    }
}

/// Starts fetching `url` now; await the future for the response. The page (web/index.html)
/// starts the first requests (the manifest, the shim and the guest modules it names) while this
/// module is still downloading and compiling; such a request is taken from there, once.
pub fn start_fetch(url: &str) -> Result<JsFuture, String> {
    let window = web_sys::window().ok_or("no window")?;
    if let Some(started) = take_prefetched(&window, url) {
        return Ok(JsFuture::from(started));
    }
    Ok(JsFuture::from(window.fetch_with_str(url)))
}

/// The page's request for `url` (`window.orbitalPrefetch`, a `Map` from URL to the `fetch`
/// promise), removed so a later fetch of the same URL goes to the network.
fn take_prefetched(window: &web_sys::Window, url: &str) -> Option<js_sys::Promise> {
    let started: js_sys::Map = Reflect::get(window, &PREFETCH_KEY.into())
        .ok()?
        .dyn_into()
        .ok()?;
    let key = JsValue::from_str(url);
    let promise = started.get(&key).dyn_into::<js_sys::Promise>().ok()?;
    started.delete(&key);
    Some(promise)
}

/// The shim as a Blob URL that workers start from without a request, or the shim's own URL if
/// it could not be fetched (then each worker fetches it, slower but working; logged).
pub async fn shim_url(fetch: Result<JsFuture, String>) -> String {
    let blob = async {
        let response = ok_response(fetch?.await.map_err(|e| js_error_text(&e))?)?;
        let text = JsFuture::from(response.text().map_err(|e| js_error_text(&e))?)
            .await
            .map_err(|e| js_error_text(&e))?;
        let options = web_sys::BlobPropertyBag::new();
        options.set_type("text/javascript");
        let blob = web_sys::Blob::new_with_str_sequence_and_options(&Array::of1(&text), &options)
            .map_err(|e| js_error_text(&e))?;
        web_sys::Url::create_object_url_with_blob(&blob).map_err(|e| js_error_text(&e))
    };
    match blob.await {
        Ok(url) => url,
        Err(e) => {
            bevy::log::warn!(
                "cannot load the guest shim {WORKER_URL} into a Blob ({e}): each worker fetches it itself"
            );
            WORKER_URL.to_string()
        }
    }
}

/// The text at `url`, or why not (HTTP status or network error).
pub async fn fetch_text(url: &str) -> Result<String, String> {
    let response = ok_response(start_fetch(url)?.await.map_err(|e| js_error_text(&e))?)?;
    let text = JsFuture::from(response.text().map_err(|e| js_error_text(&e))?)
        .await
        .map_err(|e| js_error_text(&e))?;
    text.as_string().ok_or_else(|| format!("{url} is not text"))
}

/// The bytes at `url`, or why not (HTTP status or network error).
pub async fn fetch_bytes(url: &str) -> Result<Vec<u8>, String> {
    response_bytes(start_fetch(url)?).await
}

fn ok_response(response: JsValue) -> Result<web_sys::Response, String> {
    let response: web_sys::Response = response
        .dyn_into()
        .map_err(|_| "fetch did not return a Response")?;
    if !response.ok() {
        return Err(format!("HTTP {}", response.status()));
    }
    Ok(response)
}

async fn response_bytes(fetch: JsFuture) -> Result<Vec<u8>, String> {
    let response = ok_response(fetch.await.map_err(|e| js_error_text(&e))?)?;
    let buffer = JsFuture::from(response.array_buffer().map_err(|e| js_error_text(&e))?)
        .await
        .map_err(|e| js_error_text(&e))?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

pub fn js_error_text(value: &JsValue) -> String {
    if let Some(error) = value.dyn_ref::<js_sys::Error>() {
        return String::from(error.message());
    }
    value.as_string().unwrap_or_else(|| format!("{value:?}"))
}

/// What the host shares with the worker callbacks and the JS API: exits the workers reported,
/// the live workers, and timings. Single-threaded (`Rc<RefCell<..>>`): the app has one thread.
#[derive(Default)]
pub struct HostEvents {
    /// Guests that ended by themselves, for [`Host::take_exits`].
    pub exits: Vec<GuestExit>,
    /// Live workers by pid.
    pub workers: BTreeMap<ProcessId, WorkerSummary>,
    /// Workers terminated so far (killed, exited, or ended by themselves).
    pub terminated_workers: u64,
    /// Worker ids of the started workers that wait for a guest (see [`WorkerPool`]).
    pub spare_workers: Vec<u32>,
    /// Epoch milliseconds of each live guest's spawn and first syscall.
    pub spawned_at_ms: BTreeMap<ProcessId, f64>,
    pub first_syscall_at_ms: BTreeMap<ProcessId, f64>,
}

struct WorkerEntry {
    worker: Worker,
    // Kept alive as long as the worker; dropped (and so released) when it is stopped.
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::ErrorEvent)>,
}

/// Started workers waiting for a guest. Spawns take from it; it refills itself in a task of its
/// own (a zero-delay timeout), so starting the replacement is off the spawn's critical path.
/// Workers start from the shim's Blob URL (`#worker=<id>` tells them apart in the browser's
/// list; the fragment is not part of the fetch).
pub struct WorkerPool {
    script: String,
    spare: Vec<(Worker, u32)>,
    next_worker_id: u32,
    size: usize,
    /// The size [`WorkerPool::grow`] sets.
    full_size: usize,
    events: Rc<RefCell<HostEvents>>,
    refill_scheduled: bool,
    /// Runs `refill` as a task; set once by `WorkerPool::new`.
    refill_task: Option<Closure<dyn FnMut()>>,
}

impl WorkerPool {
    /// A pool of spare workers running `script`: `startup_size` of them started at once, and
    /// `full_size` once [`WorkerPool::grow`] is called.
    pub fn new(
        script: String,
        startup_size: usize,
        full_size: usize,
        events: Rc<RefCell<HostEvents>>,
    ) -> Rc<RefCell<WorkerPool>> {
        let pool = Rc::new(RefCell::new(WorkerPool {
            script,
            spare: Vec::new(),
            next_worker_id: 1,
            size: startup_size.min(full_size),
            full_size,
            events,
            refill_scheduled: false,
            refill_task: None,
        }));
        let weak = Rc::downgrade(&pool);
        let task = Closure::<dyn FnMut()>::new(move || {
            if let Some(pool) = weak.upgrade() {
                let mut pool = pool.borrow_mut();
                pool.refill_scheduled = false;
                pool.refill();
            }
        });
        pool.borrow_mut().refill_task = Some(task);
        pool.borrow_mut().refill();
        pool
    }

    /// Starts a worker running the shim, which then waits for its `start` message.
    fn start_worker(&mut self) -> Result<(Worker, u32), JsValue> {
        let worker_id = self.next_worker_id;
        self.next_worker_id += 1;
        let options = WorkerOptions::new();
        options.set_type(WorkerType::Classic);
        options.set_name(&format!("orbital worker {worker_id}"));
        let worker =
            Worker::new_with_options(&format!("{}#worker={worker_id}", self.script), &options)?;
        Ok((worker, worker_id))
    }

    fn refill(&mut self) {
        while self.spare.len() < self.size {
            match self.start_worker() {
                Ok(spare) => self.spare.push(spare),
                Err(e) => {
                    bevy::log::warn!("cannot start a spare worker: {}", js_error_text(&e));
                    break;
                }
            }
        }
        self.publish();
    }

    fn publish(&self) {
        self.events.borrow_mut().spare_workers = self.spare.iter().map(|(_, id)| *id).collect();
    }

    /// A started worker: a spare if there is one (oldest first: most likely booted), else a new
    /// one. Schedules the refill.
    fn take(&mut self) -> Result<(Worker, u32), JsValue> {
        let worker = if self.spare.is_empty() {
            self.start_worker()?
        } else {
            self.spare.remove(0)
        };
        self.publish();
        self.schedule_refill();
        Ok(worker)
    }

    /// Grows the pool to its full size, in a task of its own (see [`STARTUP_SPARE_WORKERS`]).
    pub fn grow(&mut self) {
        if self.size < self.full_size {
            self.size = self.full_size;
            self.schedule_refill();
        }
    }

    fn schedule_refill(&mut self) {
        if !self.refill_scheduled
            && let (Some(window), Some(task)) = (web_sys::window(), &self.refill_task)
        {
            let scheduled = window.set_timeout_with_callback_and_timeout_and_arguments_0(
                task.as_ref().unchecked_ref(),
                0,
            );
            self.refill_scheduled = scheduled.is_ok();
        }
    }
}

/// The supervisor's [`Host`] in the browser.
pub struct WebHost {
    inner: WasmSend<WebHostInner>,
}

struct WebHostInner {
    modules: BTreeMap<String, LoadedModule>,
    doorbell: Int32Array,
    workers: BTreeMap<ProcessId, WorkerEntry>,
    events: Rc<RefCell<HostEvents>>,
    pool: Rc<RefCell<WorkerPool>>,
    /// Overrides the shim's spin before sleeping (`spinMicros` in the start message), for measuring.
    spin_micros: Option<u32>,
    ceiling: GuestCeiling,
}

/// A live worker as the JS API lists it.
#[derive(Clone, Debug)]
pub struct WorkerSummary {
    pub pid: ProcessId,
    pub worker_id: u32,
    pub program: String,
}

impl WebHost {
    pub fn new(
        modules: BTreeMap<String, LoadedModule>,
        doorbell: Int32Array,
        events: Rc<RefCell<HostEvents>>,
        pool: Rc<RefCell<WorkerPool>>,
        spin_micros: Option<u32>,
        ceiling: GuestCeiling,
    ) -> WebHost {
        WebHost {
            inner: WasmSend(WebHostInner {
                modules,
                doorbell,
                workers: BTreeMap::new(),
                events,
                pool,
                spin_micros,
                ceiling,
            }),
        }
    }
}

const WEB_HOST_NAME: &str = "web workers";

impl WebHostInner {
    fn terminate(&mut self, pid: ProcessId) {
        let Some(entry) = self.workers.remove(&pid) else {
            return;
        };
        entry.worker.terminate();
        let mut events = self.events.borrow_mut();
        events.terminated_workers += 1;
        events.workers.remove(&pid);
        events.spawned_at_ms.remove(&pid);
        events.first_syscall_at_ms.remove(&pid);
    }
}

impl Host for WebHost {
    fn spawn(&mut self, pid: ProcessId, program: &ProgramSpec) -> Result<SpawnedGuest, HostError> {
        let inner = &mut self.inner.0;
        // A program loaded at run time travels as bytes; its worker compiles it (web/worker.js).
        let loaded_at_run_time = program.wasm.as_ref().map(|bytes| {
            let info = module_info::inspect(bytes).unwrap_or(ModuleInfo {
                memory_min_pages: 1,
                memory_max_pages: None,
            });
            (JsValue::from(Uint8Array::from(&bytes[..])), info)
        });
        let (module, info) = match (loaded_at_run_time, inner.modules.get(&program.module)) {
            (Some(loaded), _) => loaded,
            (None, Some(LoadedModule::Ready { module, info })) => {
                (JsValue::from(module.clone()), *info)
            }
            (None, Some(LoadedModule::Failed(error))) => return Err(error.clone()),
            (None, None) => {
                return Err(HostError::ModuleNotFound {
                    module: program.module.clone(),
                    searched: vec![
                        format!(
                            "{GUESTS_URL}{} (not listed in the manifest at start-up)",
                            program.module
                        )
                        .into(),
                    ],
                });
            }
        };
        let unavailable = |e: JsValue| HostError::Unavailable(js_error_text(&e));

        let buffer = SharedArrayBuffer::new(mb::SIZE as u32);
        let views = MailboxViews::new(&buffer);
        words::store(&views.words, (mb::LAST_SERVICED / 4) as u32, -1);

        // A warm worker (shim already running) if there is one; starting a worker takes 10-100s of ms.
        let (worker, worker_id) = inner.pool.borrow_mut().take().map_err(unavailable)?;

        let events = inner.events.clone();
        let doorbell = inner.doorbell.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            on_worker_message(&events, &doorbell, pid, &event.data());
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        let events = inner.events.clone();
        let doorbell = inner.doorbell.clone();
        let on_error =
            Closure::<dyn FnMut(web_sys::ErrorEvent)>::new(move |event: web_sys::ErrorEvent| {
                // A worker script that fails to load or throws outside the guest (a shim bug).
                let message = format!("the worker failed: {}", event.message());
                push_exit(&events, &doorbell, pid, GuestExitKind::LoadFailed(message));
            });
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));

        let start = Object::new();
        let set = |key: &str, value: &JsValue| Reflect::set(&start, &key.into(), value).map(|_| ());
        set("type", &"start".into()).map_err(unavailable)?;
        set("module", &module).map_err(unavailable)?;
        set("mailbox", &buffer).map_err(unavailable)?;
        set("doorbell", &inner.doorbell.buffer()).map_err(unavailable)?;
        set("pid", &pid.0.into()).map_err(unavailable)?;
        set("memoryMinPages", &info.memory_min_pages.into()).map_err(unavailable)?;
        set(
            "memoryMaxPages",
            &info
                .memory_max_pages
                .unwrap_or(crate::abi::memory::LIMIT_BYTES as u32 / crate::abi::memory::PAGE_BYTES)
                .into(),
        )
        .map_err(unavailable)?;
        if let Some(spin) = inner.spin_micros {
            set("spinMicros", &spin.into()).map_err(unavailable)?;
        }
        // WASI programs: argv and the stdin endpoint's slot (docs/ABI.md, "WASI programs").
        let args = Array::new();
        for arg in &program.launch.args {
            args.push(&JsValue::from_str(arg));
        }
        set("args", &args).map_err(unavailable)?;
        if let Some(slot) = program.launch.stdin_slot {
            set("stdinSlot", &slot.into()).map_err(unavailable)?;
        }
        if let Err(e) = worker.post_message(&start) {
            worker.terminate();
            return Err(unavailable(e));
        }
        let mut events = inner.events.borrow_mut();
        events.spawned_at_ms.insert(pid, epoch_ms());
        events.workers.insert(
            pid,
            WorkerSummary {
                pid,
                worker_id,
                program: program.name.clone(),
            },
        );
        drop(events);
        inner.workers.insert(
            pid,
            WorkerEntry {
                worker,
                _on_message: on_message,
                _on_error: on_error,
            },
        );
        Ok(SpawnedGuest {
            mailbox: Box::new(WebMailbox(WasmSend(views))),
            worker_id,
        })
    }

    fn stop(&mut self, pid: ProcessId) {
        self.inner.0.terminate(pid);
    }

    fn live_guests(&self) -> usize {
        self.inner.0.workers.len()
    }

    fn ceiling(&self) -> Option<&GuestCeiling> {
        Some(&self.inner.0.ceiling)
    }

    fn take_exits(&mut self) -> Vec<GuestExit> {
        let inner = &mut self.inner.0;
        let exits = std::mem::take(&mut inner.events.borrow_mut().exits);
        // A guest that ended by itself has no use for its worker any more.
        for exit in &exits {
            inner.terminate(exit.pid);
        }
        exits
    }

    fn ring_doorbell(&self) {
        ring(&self.inner.0.doorbell);
    }

    fn name(&self) -> &'static str {
        WEB_HOST_NAME
    }
}

pub fn ring(doorbell: &Int32Array) {
    words::add(doorbell, 0, 1);
    words::notify(doorbell, 0);
}

pub fn epoch_ms() -> f64 {
    let performance = web_sys::window().and_then(|w| w.performance());
    performance.map_or(0.0, |p| p.time_origin() + p.now())
}

fn push_exit(
    events: &Rc<RefCell<HostEvents>>,
    doorbell: &Int32Array,
    pid: ProcessId,
    kind: GuestExitKind,
) {
    events.borrow_mut().exits.push(GuestExit { pid, kind });
    // Wake the servicer, which collects exits in `service_pending`.
    ring(doorbell);
}

fn on_worker_message(
    events: &Rc<RefCell<HostEvents>>,
    doorbell: &Int32Array,
    pid: ProcessId,
    data: &JsValue,
) {
    let field = |key: &str| Reflect::get(data, &key.into()).unwrap_or(JsValue::UNDEFINED);
    match field("type").as_string().as_deref() {
        Some("first_syscall") => {
            if let Some(at) = field("atMs").as_f64() {
                events.borrow_mut().first_syscall_at_ms.insert(pid, at);
            }
        }
        Some("latency") => {
            let micros = js_sys::Array::from(&field("micros"));
            super::latency::record(pid.0, micros.iter().filter_map(|v| v.as_f64()));
        }
        Some("exit") => {
            let message = field("message").as_string().unwrap_or_default();
            let kind = match field("kind").as_string().as_deref() {
                Some("returned") => GuestExitKind::Returned,
                Some("trapped") => GuestExitKind::Trapped(message),
                _ => GuestExitKind::LoadFailed(message),
            };
            push_exit(events, doorbell, pid, kind);
        }
        _ => bevy::log::warn!(
            "pid {}: unexpected message from its worker: {data:?}",
            pid.0
        ),
    }
}

/// A mailbox in a `SharedArrayBuffer`, as 32-bit words (header) and bytes (data).
struct WebMailbox(WasmSend<MailboxViews>);

struct MailboxViews {
    words: Int32Array,
    /// The data buffer (`DATA_CAPACITY` bytes from `DATA`).
    data: Uint8Array,
    /// The header words (`HEADER_WORDS`), copied out in one call.
    header: Int32Array,
    /// `RESULT`, `DATA_LEN`, `PID`, `LAST_SERVICED`: the reply's words, written in one call.
    reply: Int32Array,
}

impl MailboxViews {
    fn new(buffer: &SharedArrayBuffer) -> MailboxViews {
        let words = Int32Array::new(buffer);
        let header = words.subarray(0, mb::HEADER_WORDS as u32);
        let reply = words.subarray((mb::RESULT / 4) as u32, (mb::RESULT / 4 + 4) as u32);
        MailboxViews {
            words,
            data: Uint8Array::new_with_byte_offset_and_length(
                buffer,
                mb::DATA as u32,
                mb::DATA_CAPACITY as u32,
            ),
            header,
            reply,
        }
    }
}

impl Mailbox for WebMailbox {
    fn load(&self, offset: usize) -> i32 {
        words::load(&self.0.0.words, (offset / 4) as u32)
    }

    fn store(&self, offset: usize, value: i32) {
        words::store(&self.0.0.words, (offset / 4) as u32, value);
    }

    fn notify(&self, offset: usize) {
        // A guest that has not said it sleeps needs no wake-up (see GUEST_WAITING in docs/ABI.md):
        // it sees READY before it would sleep. Skipping saves a system call per reply.
        if offset == mb::STATUS && words::load(&self.0.0.words, (mb::GUEST_WAITING / 4) as u32) == 0
        {
            return;
        }
        words::notify(&self.0.0.words, (offset / 4) as u32);
    }

    fn load_header(&self) -> [i32; mb::HEADER_WORDS] {
        let mut header = [0; mb::HEADER_WORDS];
        words::copy_to(&mut header, &self.0.0.header);
        header
    }

    fn store_reply_words(&self, reply: [i32; 4]) {
        words::copy_from(&self.0.0.reply, &reply);
    }

    fn read_data(&self, len: usize) -> Vec<u8> {
        if len == 0 {
            return Vec::new(); // most syscalls carry no data: skip the calls into JavaScript
        }
        let len = len.min(mb::DATA_CAPACITY);
        let mut out = vec![0; len];
        words::copy_bytes_to(&mut out, &self.0.0.data.subarray(0, len as u32));
        out
    }

    fn write_data(&self, data: &[u8]) {
        let data = &data[..data.len().min(mb::DATA_CAPACITY)];
        if data.is_empty() {
            return;
        }
        words::copy_bytes_from(&self.0.0.data, data);
    }
}
