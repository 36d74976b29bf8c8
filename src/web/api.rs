//! `window.supervisor`: the playground's JavaScript API, for people at the console and for the
//! browser tests. It reads the shared supervisor directly and changes it only through intents
//! ([`SupervisorHandle::apply_intent`], or a message such as `LoadScenario`), so it works between
//! frames (a software-rendered page may draw only a few frames a second) and a refusal reaches
//! the UI the same way whoever asked.
//!
//! ```js
//! supervisor.send_input("spawn memhog")      // same path as typing into the terminal
//! JSON.parse(supervisor.get_process_list_json())
//! supervisor.get_endpoint_list_json(); supervisor.get_ipc_traffic_json(20); supervisor.get_system_metrics_json()
//! supervisor.get_worker_list_json(); supervisor.get_syscall_latency_json([pid])
//! supervisor.get_ended_processes_json()     // killed processes: reason and final metrics
//! supervisor.load_scenario("crowd")          // same path as the scenario picker
//! // Time travel (every call goes through the same intents as the timeline strip):
//! JSON.parse(supervisor.get_timeline_json())  // { inputs, cursor, live, start_ns, end_ns, ... }
//! JSON.parse(supervisor.get_markers_json())   // spawns, kills, exits, traps, denied requests
//! supervisor.seek(k); supervisor.step_back(); supervisor.step_forward(); supervisor.go_live()
//! supervisor.kernel_state_hash()              // of the kernel shown, as 16 hex digits
//! supervisor.export_recording()               // Uint8Array: the recording file
//! supervisor.import_recording(bytes)          // Uint8Array or ArrayBuffer; throws on a bad file
//! supervisor.export_trace_json()              // Chrome Trace Event JSON (Perfetto)
//! supervisor.set_recording(false)             // recording off (the benchmark's baseline)
//! supervisor.load_program("hello", bytes, ["a", "b"])  // bytes: Uint8Array | ArrayBuffer; returns the pid, throws a refusal
//! JSON.parse(supervisor.get_console_json(pid)) // {lines, text, entries, ...}, also after it ended
//! supervisor.send_input_to(pid, "a line")     // a WASI program's stdin; close_input_of(pid): end of input
//! ```
//! Other features add their own methods with [`expose_json`] (e.g. `get_canvas_layout_json`).
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use js_sys::{ArrayBuffer, Object, Reflect};
use serde_json::json;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use super::host::HostEvents;
use super::{latency, servicer};
use crate::supervisor::json::{self, WorkerFacts};
use crate::supervisor::{SupervisorHandle, SupervisorIntent};

thread_local! {
    static API: RefCell<Option<Object>> = const { RefCell::new(None) };
}

/// The `window.supervisor` object (created on first use).
fn api_object() -> Result<Object, JsValue> {
    if let Some(object) = API.with_borrow(|a| a.clone()) {
        return Ok(object);
    }
    let object = Object::new();
    let window = web_sys::window().ok_or("no window")?;
    Reflect::set(&window, &"supervisor".into(), &object)?;
    API.with_borrow_mut(|a| *a = Some(object.clone()));
    Ok(object)
}

/// Adds `window.supervisor.<name>()` returning the JSON text `get` produces. Call it from a
/// plugin at start-up; `get` must read shared state (not the ECS world, which JS cannot reach
/// between frames): for example a snapshot the feature writes each frame.
pub fn expose_json(name: &str, get: impl Fn() -> String + 'static) -> Result<(), JsValue> {
    let f = Closure::<dyn Fn() -> String>::new(get);
    let api: JsValue = api_object()?.into();
    Reflect::set(&api, &name.into(), f.as_ref())?;
    // Lives as long as the page.
    f.forget();
    Ok(())
}

/// Adds `window.supervisor.<name>(text)`: runs `run` with the argument; an `Err` reaches the
/// caller as a thrown JS `Error` with that message (e.g. an unknown scenario name).
pub fn expose_command(
    name: &str,
    run: impl Fn(String) -> Result<String, String> + 'static,
) -> Result<(), JsValue> {
    let f = Closure::<dyn Fn(JsValue) -> Result<String, JsValue>>::new(move |arg: JsValue| {
        let text = arg
            .as_string()
            .ok_or_else(|| JsValue::from(js_sys::Error::new("expected a string argument")))?;
        run(text).map_err(|e| JsValue::from(js_sys::Error::new(&e)))
    });
    let api: JsValue = api_object()?.into();
    Reflect::set(&api, &name.into(), f.as_ref())?;
    f.forget();
    Ok(())
}

fn expose_json_with_arg(name: &str, get: impl Fn(f64) -> String + 'static) -> Result<(), JsValue> {
    let f = Closure::<dyn Fn(f64) -> String>::new(get);
    let api: JsValue = api_object()?.into();
    Reflect::set(&api, &name.into(), f.as_ref())?;
    f.forget();
    Ok(())
}

pub fn install(handle: SupervisorHandle, events: Rc<RefCell<HostEvents>>) -> Result<(), JsValue> {
    let h = handle.clone();
    // Errors reach the caller as a thrown JS Error with the supervisor's explanation.
    // Through the intent path, like typing into the terminal: a refusal is thrown to the caller
    // and shown in the UI.
    let send_input = Closure::<dyn Fn(String) -> Result<(), JsValue>>::new(move |line: String| {
        h.apply_intent(&SupervisorIntent::ConsoleInput { line })
            .map_err(|e| JsValue::from(js_sys::Error::new(&e)))?;
        // The terminal's RECEIVE completed inside `console_input`; its worker is awake already.
        Ok(())
    });
    let api: JsValue = api_object()?.into();
    Reflect::set(&api, &"send_input".into(), send_input.as_ref())?;
    send_input.forget();

    install_programs(&handle)?;

    let (h, ev) = (handle.clone(), events.clone());
    expose_json("get_process_list_json", move || {
        let facts = worker_facts(&ev.borrow());
        json::process_list(&h.lock(), &facts).to_string()
    })?;
    let h = handle.clone();
    expose_json("get_ended_processes_json", move || {
        json::ended_processes(&h.lock()).to_string()
    })?;
    let h = handle.clone();
    expose_json("get_endpoint_list_json", move || {
        json::endpoint_list(&h.lock()).to_string()
    })?;
    let h = handle.clone();
    expose_json_with_arg("get_ipc_traffic_json", move |n| {
        let n = if n.is_finite() && n >= 0.0 {
            n as usize
        } else {
            100
        };
        json::ipc_traffic(&h.lock(), n).to_string()
    })?;
    let h = handle.clone();
    expose_json("get_system_metrics_json", move || {
        let mut metrics = json::system_metrics(&h.lock());
        let s = servicer::stats();
        metrics["servicer"] = json!({
            "mode": if s.wait_async { "waitAsync" } else { "interval" },
            "wakes": s.wakes,
            "serviced": s.serviced,
            "yields": s.yields,
            "spins": s.spins,
            "spin_hits": s.spin_hits,
        });
        metrics.to_string()
    })?;
    let ev = events.clone();
    expose_json("get_worker_list_json", move || {
        let events = ev.borrow();
        let workers: Vec<_> = events
            .workers
            .values()
            .map(|w| json!({ "pid": w.pid.0, "worker_id": w.worker_id, "program": w.program }))
            .collect();
        // Spares: started workers waiting for a guest (the host's warm pool), by worker id.
        json!({ "live": workers, "terminated": events.terminated_workers, "spare": events.spare_workers }).to_string()
    })?;
    // No argument: every process's round trips; a pid: that process's only.
    expose_json_with_arg("get_syscall_latency_json", |pid| {
        let pid = (pid.is_finite() && pid >= 0.0).then_some(pid as u32);
        latency::summary_json(pid).to_string()
    })?;
    expose_json("reset_syscall_latency", || {
        latency::reset();
        "{}".to_string()
    })?;
    install_time_travel(&handle)
}

/// Adds `window.supervisor.<name>(arg)` that applies the intent `make(arg)`; a refusal is thrown.
fn expose_intent(
    handle: &SupervisorHandle,
    name: &str,
    make: impl Fn(JsValue) -> Result<SupervisorIntent, String> + 'static,
) -> Result<(), JsValue> {
    let h = handle.clone();
    let f = Closure::<dyn Fn(JsValue) -> Result<JsValue, JsValue>>::new(move |arg: JsValue| {
        let intent = make(arg).map_err(|e| JsValue::from(js_sys::Error::new(&e)))?;
        h.apply_intent(&intent)
            .map_err(|e| JsValue::from(js_sys::Error::new(&e)))?;
        Ok(JsValue::from_f64(h.lock().timeline().cursor as f64))
    });
    let api: JsValue = api_object()?.into();
    Reflect::set(&api, &name.into(), f.as_ref())?;
    f.forget();
    Ok(())
}

/// The timeline, seeking and the recording's files.
fn install_time_travel(handle: &SupervisorHandle) -> Result<(), JsValue> {
    let h = handle.clone();
    expose_json("get_timeline_json", move || {
        serde_json::to_string(&h.lock().timeline()).unwrap_or_default()
    })?;
    let h = handle.clone();
    expose_json("get_markers_json", move || {
        let supervisor = h.lock();
        serde_json::to_string(&supervisor.markers().collect::<Vec<_>>()).unwrap_or_default()
    })?;
    let h = handle.clone();
    expose_json("kernel_state_hash", move || {
        format!("{:016x}", h.lock().kernel_state_hash())
    })?;
    let h = handle.clone();
    expose_json("export_trace_json", move || h.lock().export_trace_json())?;
    let h = handle.clone();
    let export = Closure::<dyn Fn() -> js_sys::Uint8Array>::new(move || {
        let bytes = h.lock().export_recording();
        js_sys::Uint8Array::from(bytes.as_slice())
    });
    let api: JsValue = api_object()?.into();
    Reflect::set(&api, &"export_recording".into(), export.as_ref())?;
    export.forget();
    expose_intent(handle, "seek", |k| {
        let k = k
            .as_f64()
            .filter(|k| k.is_finite() && *k >= 0.0)
            .ok_or("seek(k) needs an input index (a number >= 0)")?;
        Ok(SupervisorIntent::Seek(k as u64))
    })?;
    expose_intent(handle, "go_live", |_| Ok(SupervisorIntent::GoLive))?;
    expose_intent(handle, "step_back", |_| Ok(SupervisorIntent::StepBack))?;
    expose_intent(handle, "step_forward", |_| {
        Ok(SupervisorIntent::StepForward)
    })?;
    expose_intent(handle, "prev_marker", |_| Ok(SupervisorIntent::PrevMarker))?;
    expose_intent(handle, "next_marker", |_| Ok(SupervisorIntent::NextMarker))?;
    expose_intent(handle, "set_recording", |on| {
        Ok(SupervisorIntent::SetRecording(on.is_truthy()))
    })?;
    expose_intent(handle, "import_recording", |data| {
        let bytes = if let Some(buffer) = data.dyn_ref::<js_sys::ArrayBuffer>() {
            js_sys::Uint8Array::new(buffer).to_vec()
        } else if let Some(array) = data.dyn_ref::<js_sys::Uint8Array>() {
            array.to_vec()
        } else {
            return Err(
                "import_recording(data) needs the file's bytes: a Uint8Array or an ArrayBuffer"
                    .into(),
            );
        };
        Ok(SupervisorIntent::ImportRecording(bytes.into()))
    })?;
    Ok(())
}

/// `load_program(name, bytes[, args])` and `get_console_json(pid)`: students' own programs.
fn install_programs(handle: &SupervisorHandle) -> Result<(), JsValue> {
    let h = handle.clone();
    let load = Closure::<dyn Fn(JsValue, JsValue, JsValue) -> Result<u32, JsValue>>::new(
        move |name: JsValue, bytes: JsValue, args: JsValue| {
            let error = |message: &str| JsValue::from(js_sys::Error::new(message));
            let name = name
                .as_string()
                .ok_or_else(|| error("load_program(name, bytes): name must be a string"))?;
            let bytes =
                if bytes.is_instance_of::<js_sys::ArrayBuffer>() || ArrayBuffer::is_view(&bytes) {
                    js_sys::Uint8Array::new(&bytes).to_vec()
                } else {
                    return Err(error(
                        "load_program(name, bytes): bytes must be a Uint8Array or an ArrayBuffer",
                    ));
                };
            let args: Vec<String> = if args.is_undefined() || args.is_null() {
                Vec::new()
            } else if js_sys::Array::is_array(&args) {
                js_sys::Array::from(&args)
                    .iter()
                    .map(|a| a.as_string().unwrap_or_else(|| format!("{a:?}")))
                    .collect()
            } else {
                return Err(error(
                    "load_program(name, bytes, args): args must be an array of strings",
                ));
            };
            let intent = SupervisorIntent::LoadProgram {
                name,
                bytes: bytes.into(),
                args,
            };
            match h.apply_intent_for_pid(&intent) {
                Ok(Some(pid)) => Ok(pid.0),
                Ok(None) => Err(error("the program was loaded but no process was started")),
                Err(reason) => Err(error(&reason)),
            }
        },
    );
    let api: JsValue = api_object()?.into();
    Reflect::set(&api, &"load_program".into(), load.as_ref())?;
    load.forget();
    // A line for a process's console input (a WASI program's stdin), as typed into the terminal
    // while it is selected; and its end (Ctrl-D).
    let h = handle.clone();
    let send_to = Closure::<dyn Fn(f64, String) -> Result<(), JsValue>>::new(
        move |pid: f64, line: String| {
            let pid = crate::kernel::ProcessId(pid as u32);
            h.apply_intent(&SupervisorIntent::ConsoleInputTo { pid, line })
                .map_err(|e| JsValue::from(js_sys::Error::new(&e)))
        },
    );
    Reflect::set(&api, &"send_input_to".into(), send_to.as_ref())?;
    send_to.forget();
    let h = handle.clone();
    let close = Closure::<dyn Fn(f64) -> Result<(), JsValue>>::new(move |pid: f64| {
        let pid = crate::kernel::ProcessId(pid as u32);
        h.apply_intent(&SupervisorIntent::CloseConsoleInput { pid })
            .map_err(|e| JsValue::from(js_sys::Error::new(&e)))
    });
    Reflect::set(&api, &"close_input_of".into(), close.as_ref())?;
    close.forget();
    let h = handle.clone();
    expose_json_with_arg("get_console_json", move |pid| {
        let pid = crate::kernel::ProcessId(if pid.is_finite() && pid >= 0.0 {
            pid as u32
        } else {
            u32::MAX
        });
        json::console_of(&h.lock(), pid).to_string()
    })?;
    Ok(())
}

fn worker_facts(events: &HostEvents) -> BTreeMap<crate::kernel::ProcessId, WorkerFacts> {
    events
        .spawned_at_ms
        .iter()
        .map(|(pid, spawned)| {
            let first = events.first_syscall_at_ms.get(pid).map(|at| at - spawned);
            (
                *pid,
                WorkerFacts {
                    spawn_to_first_syscall_ms: first,
                },
            )
        })
        .collect()
}
