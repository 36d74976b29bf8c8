//! Services syscalls between frames, so their latency does not depend on the frame rate (a
//! software-rendered page draws about 3-15 frames a second) or on the tab being visible.
//!
//! Every worker increments and notifies the shared doorbell word after it sets its mailbox to
//! PENDING. The main thread cannot block, so it waits with `Atomics.waitAsync` on that word: the
//! promise resolves as soon as a worker rings, the callback runs `Supervisor::service_pending`,
//! and then re-arms with the value it read *before* servicing, so a ring during servicing is
//! never lost ("not-equal" means: service again at once). A time budget hands the thread back to
//! the browser (rendering, input) when syscalls arrive without pause. A 4 ms interval ticks the
//! kernel (sleepers wake on time), and is the whole mechanism where `waitAsync` is missing; the
//! app's per-frame servicing is a further fallback that stands aside while this servicer runs.
use std::cell::RefCell;

use js_sys::{Function, Int32Array, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use super::words;
use crate::supervisor::SupervisorHandle;

/// Longest stretch the servicer keeps the main thread before yielding to the browser.
const BUDGET_MS: f64 = 4.0;
/// The kernel clock's tick between frames (sleepers, slow motion).
const TICK_INTERVAL_MS: i32 = 4;
/// After servicing, how long the main thread watches the doorbell before it sleeps on it again,
/// when the last ring came that soon (the page's `?mainspin=MICROS` overrides it). Off: on two
/// cores a 50 us spin cut a sender's burst round trip (median 30 -> 20 us) but cost pingpong
/// about a fifth of its round trips/s, the spinning main thread taking CPU the guests need
/// (docs/BENCHMARKS.md).
pub const SPIN_MICROS: u32 = 0;

#[wasm_bindgen]
extern "C" {
    /// A JavaScript function `(words, index, seen, callback) -> bool` made once at start (see
    /// [`WAIT_THEN`]): `Atomics.waitAsync(words, index, seen)`; if that waits, `callback` runs
    /// when the word moves and it returns true, and false if the word had already moved. One call
    /// from wasm per arm, where reading the result's `async` and `value` from Rust took five, two
    /// of them decoding the property names from UTF-8 each time (the arm and the names: 14 % of
    /// the servicer's time in a pingpong profile, 4 % after; docs/BENCHMARKS.md).
    type WaitThen;

    #[wasm_bindgen(method, js_name = call)]
    fn call(
        this: &WaitThen,
        this_arg: &JsValue,
        words: &Int32Array,
        index: u32,
        seen: i32,
        callback: &JsValue,
    ) -> bool;
}

/// The body of [`WaitThen`].
const WAIT_THEN: &str = "const r = Atomics.waitAsync(words, index, seen); \
    if (!r.async) return false; r.value.then(callback); return true;";

#[derive(Clone, Copy, Debug, Default)]
pub struct ServicerStats {
    /// "waitAsync" or "interval".
    pub wait_async: bool,
    /// How often the doorbell woke the servicer.
    pub wakes: u64,
    /// Syscalls serviced by the servicer (not counting the per-frame fallback).
    pub serviced: u64,
    /// How often the time budget ran out and the servicer yielded to the browser.
    pub yields: u64,
    /// How often the servicer watched the doorbell after servicing, and how often a ring came.
    pub spins: u64,
    pub spin_hits: u64,
}

struct Servicer {
    handle: SupervisorHandle,
    doorbell: Int32Array,
    /// `None` where `Atomics.waitAsync` is missing.
    wait_then: Option<WaitThen>,
    on_wake: Closure<dyn FnMut(JsValue)>,
    // The two callbacks below are only referenced from JavaScript; kept here so they live on.
    _on_continue: Closure<dyn FnMut(JsValue)>,
    _on_tick: Closure<dyn FnMut()>,
    channel: web_sys::MessageChannel,
    performance: Option<web_sys::Performance>,
    /// After servicing, how long to watch the doorbell before sleeping on it (0: never).
    spin_ms: f64,
    /// Whether the next ring is likely to come within `spin_ms`: the last wake-up came that soon
    /// after the servicer went to sleep, or the last spin caught a ring. A servicer woken by a
    /// guest that pauses (idle parks 1 ms between YIELDs) does not spin at all.
    hot: bool,
    /// When the servicer last went to sleep on the doorbell (performance.now(), ms).
    slept_at: f64,
    armed: bool,
    stats: ServicerStats,
}

thread_local! {
    static SERVICER: RefCell<Option<Servicer>> = const { RefCell::new(None) };
}

pub fn stats() -> ServicerStats {
    SERVICER.with_borrow(|s| s.as_ref().map(|s| s.stats).unwrap_or_default())
}

/// Starts servicing `handle` whenever `doorbell` rings. Call once, after the supervisor exists.
pub fn start(
    handle: SupervisorHandle,
    doorbell: Int32Array,
    spin_micros: u32,
) -> Result<(), JsValue> {
    let atomics = Reflect::get(&js_sys::global(), &"Atomics".into())?;
    let wait_async = Reflect::get(&atomics, &"waitAsync".into())?.is_function();
    if !wait_async {
        bevy::log::warn!(
            "Atomics.waitAsync is missing: syscalls are serviced every {TICK_INTERVAL_MS} ms instead"
        );
    }
    let on_wake = Closure::<dyn FnMut(JsValue)>::new(|_| {
        with_servicer(|s| {
            s.armed = false;
            s.stats.wakes += 1;
            // Only a spinning servicer needs to know how soon the ring came.
            s.hot = s.spin_ms > 0.0 && s.now() - s.slept_at <= s.spin_ms;
        });
        pump();
    });
    let on_continue = Closure::<dyn FnMut(JsValue)>::new(|_| pump());
    let on_tick = Closure::<dyn FnMut()>::new(tick);
    let channel = web_sys::MessageChannel::new()?;
    channel
        .port2()
        .set_onmessage(Some(on_continue.as_ref().unchecked_ref()));
    let window = web_sys::window().ok_or("no window")?;
    window.set_interval_with_callback_and_timeout_and_arguments_0(
        on_tick.as_ref().unchecked_ref(),
        TICK_INTERVAL_MS,
    )?;
    let wait_then = wait_async.then(|| {
        Function::new_with_args("words, index, seen, callback", WAIT_THEN).unchecked_into()
    });
    let stats = ServicerStats {
        wait_async,
        ..Default::default()
    };
    SERVICER.with_borrow_mut(|s| {
        *s = Some(Servicer {
            handle,
            doorbell,
            wait_then,
            on_wake,
            _on_continue: on_continue,
            _on_tick: on_tick,
            channel,
            performance: window.performance(),
            spin_ms: f64::from(spin_micros) / 1000.0,
            hot: false,
            slept_at: 0.0,
            armed: false,
            stats,
        })
    });
    pump();
    Ok(())
}

fn with_servicer<R>(f: impl FnOnce(&mut Servicer) -> R) -> Option<R> {
    SERVICER.with_borrow_mut(|s| s.as_mut().map(f))
}

impl Servicer {
    fn now(&self) -> f64 {
        self.performance.as_ref().map_or(0.0, |p| p.now())
    }
}

fn now_ms() -> f64 {
    with_servicer(|s| s.now()).unwrap_or(0.0)
}

/// One servicing pass (after advancing the kernel clock, with `tick`): services what is pending,
/// tells the supervisor its servicer is alive and counts what it serviced.
fn service(handle: &SupervisorHandle, tick: bool) -> usize {
    let serviced = {
        let mut supervisor = handle.lock();
        let now_ns = supervisor.now_ns();
        if tick {
            supervisor.tick(now_ns);
        }
        let serviced = supervisor.service_pending(now_ns);
        supervisor.note_servicer_ran(now_ns);
        serviced
    };
    with_servicer(|s| s.stats.serviced += serviced as u64);
    serviced
}

/// Services until nothing new arrives or the budget is spent, then waits on the doorbell.
fn pump() {
    let Some((handle, doorbell, spin_ms)) =
        with_servicer(|s| (s.handle.clone(), s.doorbell.clone(), s.spin_ms))
    else {
        return;
    };
    let started = now_ms();
    loop {
        let seen = words::load(&doorbell, 0);
        let serviced = service(&handle, false);
        let mut now = now_ms();
        if spin_ms > 0.0 && serviced > 0 && with_servicer(|s| s.hot).unwrap_or(false) {
            // A guest that just got its reply often rings again within microseconds (a sender's
            // burst, a ping-pong); catching that here saves a waitAsync wake-up.
            let until = now + spin_ms;
            let mut rang = false;
            while now < until {
                if words::load(&doorbell, 0) != seen {
                    rang = true;
                    break;
                }
                now = now_ms();
            }
            with_servicer(|s| {
                s.hot = rang;
                s.stats.spins += 1;
                s.stats.spin_hits += u64::from(rang);
            });
        }
        if now - started > BUDGET_MS {
            // Let the browser render and handle input; a message task comes back at once after.
            with_servicer(|s| {
                s.stats.yields += 1;
                let _ = s.channel.port1().post_message(&JsValue::NULL);
            });
            return;
        }
        match arm(seen) {
            Armed::Waiting => {
                with_servicer(|s| s.slept_at = now);
                return;
            }
            Armed::Unsupported => return,
            Armed::Changed => continue,
        }
    }
}

enum Armed {
    Waiting,
    Changed,
    Unsupported,
}

/// Waits (asynchronously) for the doorbell to move away from `seen`.
fn arm(seen: i32) -> Armed {
    with_servicer(|s| {
        if s.armed {
            return Armed::Waiting;
        }
        let Some(wait_then) = &s.wait_then else {
            return Armed::Unsupported;
        };
        if wait_then.call(
            &JsValue::UNDEFINED,
            &s.doorbell,
            0,
            seen,
            s.on_wake.as_ref(),
        ) {
            s.armed = true;
            Armed::Waiting
        } else {
            Armed::Changed // "not-equal": a worker rang while we were servicing
        }
    })
    .unwrap_or(Armed::Unsupported)
}

/// Between frames: advance the kernel clock (sleepers, slow motion) and service what is pending.
fn tick() {
    let Some(handle) = with_servicer(|s| s.handle.clone()) else {
        return;
    };
    service(&handle, true);
}
