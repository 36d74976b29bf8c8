//! The Web Worker host: every process is a Web Worker running `web/worker.js` (the guest shim),
//! with its mailbox in a `SharedArrayBuffer` of its own, outside the guest's linear memory, so a
//! guest can neither forge its pid nor touch the header except through the five imports.
//!
//! Guest modules are fetched and compiled once, before the app starts ([`load_modules`]); each
//! spawn posts the compiled `WebAssembly.Module` to a new worker, so spawning costs a worker start
//! and an instantiation, not a compile. `stop` is `Worker.terminate()`, which ends even a guest
//! that spins without syscalls.
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use js_sys::{Atomics, Int32Array, Object, Reflect, SharedArrayBuffer, Uint8Array, WebAssembly};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{MessageEvent, Worker, WorkerOptions, WorkerType};

use crate::abi::mailbox as mb;
use crate::kernel::ProcessId;
use crate::supervisor::host::WasmSend;
use crate::supervisor::{GuestExit, GuestExitKind, Host, HostError, Mailbox, ProgramSpec, SpawnedGuest};

use super::module_info::{self, ModuleInfo};

/// Where the guest modules are served, relative to the page.
pub const GUESTS_URL: &str = "guests/";
/// The guest shim, relative to the page.
const WORKER_URL: &str = "worker.js";

/// A guest module ready to post to workers, or why it is not.
#[derive(Clone)]
pub enum LoadedModule {
    Ready { module: WebAssembly::Module, info: ModuleInfo },
    Failed(HostError),
}

/// Fetches and compiles every module the manifest names, each once. The modules are a few KB
/// each, so one after the other costs a few milliseconds in all.
pub async fn load_modules(modules: &[String]) -> BTreeMap<String, LoadedModule> {
    let mut loaded = BTreeMap::new();
    for name in modules {
        if !loaded.contains_key(name) {
            loaded.insert(name.clone(), load_module(name).await);
        }
    }
    loaded
}

async fn load_module(name: &str) -> LoadedModule {
    let url = format!("{GUESTS_URL}{name}");
    let bytes = match fetch_bytes(&url).await {
        Ok(bytes) => bytes,
        Err(message) => {
            return LoadedModule::Failed(HostError::ModuleNotFound {
                module: name.to_string(),
                searched: vec![format!("{url} ({message})").into()],
            });
        }
    };
    let invalid = |message: String| LoadedModule::Failed(HostError::InvalidModule { module: name.to_string(), message });
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

async fn fetch_bytes(url: &str) -> Result<Vec<u8>, String> {
    let window = web_sys::window().ok_or("no window")?;
    let response = JsFuture::from(window.fetch_with_str(url)).await.map_err(|e| js_error_text(&e))?;
    let response: web_sys::Response = response.dyn_into().map_err(|_| "fetch did not return a Response")?;
    if !response.ok() {
        return Err(format!("HTTP {}", response.status()));
    }
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

/// The supervisor's [`Host`] in the browser.
pub struct WebHost {
    inner: WasmSend<WebHostInner>,
}

struct WebHostInner {
    modules: BTreeMap<String, LoadedModule>,
    doorbell: Int32Array,
    workers: BTreeMap<ProcessId, WorkerEntry>,
    events: Rc<RefCell<HostEvents>>,
    next_worker_id: u32,
    /// Started workers waiting for a guest (see `refill_spares`).
    spare: Vec<(Worker, u32)>,
}

/// How many warm workers wait for the next spawns.
const SPARE_WORKERS: usize = 1;

/// A live worker as the JS API lists it.
#[derive(Clone, Debug)]
pub struct WorkerSummary {
    pub pid: ProcessId,
    pub worker_id: u32,
    pub program: String,
}

impl WebHost {
    pub fn new(modules: BTreeMap<String, LoadedModule>, doorbell: Int32Array, events: Rc<RefCell<HostEvents>>) -> WebHost {
        let mut inner = WebHostInner {
            modules,
            doorbell,
            workers: BTreeMap::new(),
            events,
            next_worker_id: 1,
            spare: Vec::new(),
        };
        inner.refill_spares();
        WebHost { inner: WasmSend(inner) }
    }
}

const WEB_HOST_NAME: &str = "web workers";

impl WebHostInner {
    /// Starts a worker running the shim, which then waits for its `start` message.
    fn new_worker(&mut self) -> Result<(Worker, u32), JsValue> {
        let worker_id = self.next_worker_id;
        self.next_worker_id += 1;
        let options = WorkerOptions::new();
        options.set_type(WorkerType::Module);
        options.set_name(&format!("orbital worker {worker_id}"));
        // The query makes each worker's URL unique, so tests can see which worker is which.
        let worker = Worker::new_with_options(&format!("{WORKER_URL}?worker={worker_id}"), &options)?;
        Ok((worker, worker_id))
    }

    /// Keeps `SPARE_WORKERS` started workers ready, so a spawn does not wait for one to boot.
    fn refill_spares(&mut self) {
        while self.spare.len() < SPARE_WORKERS {
            match self.new_worker() {
                Ok(spare) => self.spare.push(spare),
                Err(e) => {
                    bevy::log::warn!("cannot start a spare worker: {}", js_error_text(&e));
                    return;
                }
            }
        }
    }

    fn terminate(&mut self, pid: ProcessId) {
        let Some(entry) = self.workers.remove(&pid) else { return };
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
        let (module, info) = match inner.modules.get(&program.module) {
            Some(LoadedModule::Ready { module, info }) => (module.clone(), *info),
            Some(LoadedModule::Failed(error)) => return Err(error.clone()),
            None => {
                return Err(HostError::ModuleNotFound {
                    module: program.module.clone(),
                    searched: vec![format!("{GUESTS_URL}{} (not listed in the manifest at start-up)", program.module).into()],
                });
            }
        };
        let unavailable = |e: JsValue| HostError::Unavailable(js_error_text(&e));

        let buffer = SharedArrayBuffer::new(mb::SIZE as u32);
        let words = Int32Array::new(&buffer);
        let bytes = Uint8Array::new(&buffer);
        Atomics::store(&words, (mb::LAST_SERVICED / 4) as u32, -1).map_err(unavailable)?;

        // A warm worker (shim already loaded) if there is one; starting a worker takes tens of ms.
        let (worker, worker_id) = match inner.spare.pop() {
            Some(spare) => spare,
            None => inner.new_worker().map_err(unavailable)?,
        };

        let events = inner.events.clone();
        let doorbell = inner.doorbell.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            on_worker_message(&events, &doorbell, pid, &event.data());
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        let events = inner.events.clone();
        let doorbell = inner.doorbell.clone();
        let on_error = Closure::<dyn FnMut(web_sys::ErrorEvent)>::new(move |event: web_sys::ErrorEvent| {
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
        set("memoryMaxPages", &info.memory_max_pages.unwrap_or(crate::abi::memory::LIMIT_BYTES as u32 / crate::abi::memory::PAGE_BYTES).into())
            .map_err(unavailable)?;
        if let Err(e) = worker.post_message(&start) {
            worker.terminate();
            return Err(unavailable(e));
        }
        let mut events = inner.events.borrow_mut();
        events.spawned_at_ms.insert(pid, epoch_ms());
        events.workers.insert(pid, WorkerSummary { pid, worker_id, program: program.name.clone() });
        drop(events);
        inner.workers.insert(pid, WorkerEntry { worker, _on_message: on_message, _on_error: on_error });
        inner.refill_spares();
        Ok(SpawnedGuest { mailbox: Box::new(WebMailbox(WasmSend((words, bytes)))), worker_id })
    }

    fn stop(&mut self, pid: ProcessId) {
        self.inner.0.terminate(pid);
    }

    fn live_guests(&self) -> usize {
        self.inner.0.workers.len()
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
    // Only fails on a non-shared or detached array, which this never is.
    let _ = Atomics::add(doorbell, 0, 1);
    let _ = Atomics::notify(doorbell, 0);
}

pub fn epoch_ms() -> f64 {
    let performance = web_sys::window().and_then(|w| w.performance());
    performance.map_or(0.0, |p| p.time_origin() + p.now())
}

fn push_exit(events: &Rc<RefCell<HostEvents>>, doorbell: &Int32Array, pid: ProcessId, kind: GuestExitKind) {
    events.borrow_mut().exits.push(GuestExit { pid, kind });
    // Wake the servicer, which collects exits in `service_pending`.
    ring(doorbell);
}

fn on_worker_message(events: &Rc<RefCell<HostEvents>>, doorbell: &Int32Array, pid: ProcessId, data: &JsValue) {
    let field = |key: &str| Reflect::get(data, &key.into()).unwrap_or(JsValue::UNDEFINED);
    match field("type").as_string().as_deref() {
        Some("first_syscall") => {
            if let Some(at) = field("atMs").as_f64() {
                events.borrow_mut().first_syscall_at_ms.insert(pid, at);
            }
        }
        Some("latency") => {
            let micros = js_sys::Array::from(&field("micros"));
            super::latency::record(micros.iter().filter_map(|v| v.as_f64()));
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
        _ => bevy::log::warn!("pid {}: unexpected message from its worker: {data:?}", pid.0),
    }
}

/// A mailbox in a `SharedArrayBuffer`, as 32-bit words (header) and bytes (data).
struct WebMailbox(WasmSend<(Int32Array, Uint8Array)>);

impl Mailbox for WebMailbox {
    fn load(&self, offset: usize) -> i32 {
        Atomics::load(&self.0.0.0, (offset / 4) as u32).unwrap_or(0)
    }

    fn store(&self, offset: usize, value: i32) {
        let _ = Atomics::store(&self.0.0.0, (offset / 4) as u32, value);
    }

    fn notify(&self, offset: usize) {
        let _ = Atomics::notify(&self.0.0.0, (offset / 4) as u32);
    }

    fn read_data(&self, len: usize) -> Vec<u8> {
        if len == 0 {
            return Vec::new(); // most syscalls carry no data: skip two calls into JavaScript
        }
        let len = len.min(mb::DATA_CAPACITY) as u32;
        self.0.0.1.subarray(mb::DATA as u32, mb::DATA as u32 + len).to_vec()
    }

    fn write_data(&self, data: &[u8]) {
        let data = &data[..data.len().min(mb::DATA_CAPACITY)];
        if data.is_empty() {
            return;
        }
        self.0.0.1.subarray(mb::DATA as u32, (mb::DATA + data.len()) as u32).copy_from(data);
    }
}
