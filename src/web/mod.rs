//! The browser side of the playground: the Web Worker host (one worker per process), the
//! `Atomics.waitAsync` doorbell servicer that keeps syscall latency independent of the frame
//! rate, and `window.supervisor`, the JavaScript API.
//!
//! ```text
//! start(): fetch the shim + every guest module in parallel, compile each module once
//!          ─▶ WorkerPool (warm workers start booting) ─▶ WebHost ─▶ SupervisorPlugin::with_host
//!          ─▶ the app runs; at Startup: servicer (doorbell) + window.supervisor; after the
//!             first frame: window.orbital.state = "running"
//! ```
//! Start-up milestones are `performance.mark`s named `orbital:*` (see [`mark`]), so a profile
//! or a test can see where the time to the first frame goes.
//! The JSON documents ([`json`]) and module inspection ([`module_info`]) are plain Rust, built
//! and tested on every platform; everything touching JavaScript is `wasm32` only.
pub mod download;
pub mod drop;
pub mod latency;
pub mod module_info;

#[cfg(target_arch = "wasm32")]
mod api;
#[cfg(target_arch = "wasm32")]
pub(crate) mod host;
#[cfg(target_arch = "wasm32")]
mod servicer;
#[cfg(target_arch = "wasm32")]
mod words;

#[cfg(target_arch = "wasm32")]
pub use api::{expose_command, expose_json};
#[cfg(target_arch = "wasm32")]
pub use wasm::{start, start_floor};

/// The size, in CSS pixels, at which the page lays out the parent of the canvas `selector` names
/// (`#stage`, the viewport; web/index.html), so the window starts at the size it is shown at.
/// Bevy's default (1280x720) made the canvas resize, and the surface be configured again, right
/// after the first frame. `None` natively, or when the page has no such element.
pub fn initial_canvas_size(selector: &str) -> Option<(u32, u32)> {
    #[cfg(target_arch = "wasm32")]
    {
        let stage = web_sys::window()?
            .document()?
            .query_selector(selector)
            .ok()??
            .parent_element()?;
        let (width, height) = (stage.client_width(), stage.client_height());
        (width > 0 && height > 0).then_some((width as u32, height as u32))
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = selector;
        None
    }
}

/// The page's canvas resolution (`window.orbitalRenderScale`, web/render_scale.js): the choice
/// ("auto", "1", "0.75" or "0.5") and the scale the canvas is drawn at. `None` natively, or on a
/// page without it.
pub fn render_scale() -> Option<(String, f64)> {
    #[cfg(target_arch = "wasm32")]
    {
        use js_sys::Reflect;
        let window = web_sys::window()?;
        let api = Reflect::get(&window, &"orbitalRenderScale".into()).ok()?;
        if !api.is_object() {
            return None;
        }
        let choice = Reflect::get(&api, &"choice".into()).ok()?.as_string()?;
        let scale = Reflect::get(&api, &"scale".into()).ok()?.as_f64()?;
        Some((choice, scale))
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        None
    }
}

/// Asks the page to draw the canvas at `choice` (see [`render_scale`]); the page applies it at
/// once and remembers it. Returns the page's state after the call, or what went wrong.
pub fn set_render_scale(choice: &str) -> Result<(String, f64), String> {
    #[cfg(target_arch = "wasm32")]
    {
        use js_sys::{Function, Reflect};
        use wasm_bindgen::JsCast;
        let window = web_sys::window().ok_or("no browser window")?;
        let api = Reflect::get(&window, &"orbitalRenderScale".into())
            .ok()
            .filter(|api| api.is_object())
            .ok_or("this page cannot change the canvas's resolution (it has no web/render_scale.js): reload it")?;
        let set = Reflect::get(&api, &"set".into())
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok())
            .ok_or("window.orbitalRenderScale.set is missing: reload the page")?;
        set.call1(&api, &choice.into()).map_err(|e| {
            Reflect::get(&e, &"message".into())
                .ok()
                .and_then(|m| m.as_string())
                .unwrap_or_else(|| format!("{e:?}"))
        })?;
        render_scale().ok_or_else(|| "the page's resolution could not be read back".to_string())
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        Err(format!(
            "resolution {choice}: only the browser's canvas can be drawn at a lower resolution; this window draws at full resolution"
        ))
    }
}

/// Natively there is no `window.supervisor`; features can call this unconditionally.
#[cfg(not(target_arch = "wasm32"))]
pub fn expose_json(_name: &str, _get: impl Fn() -> String + 'static) -> Result<(), String> {
    Ok(())
}

/// Natively there is no `window.supervisor`; features can call this unconditionally.
#[cfg(not(target_arch = "wasm32"))]
pub fn expose_command(
    _name: &str,
    _run: impl Fn(String) -> Result<String, String> + 'static,
) -> Result<(), String> {
    Ok(())
}

#[cfg(target_arch = "wasm32")]
mod wasm {
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::sync::Mutex;

    use bevy::diagnostic::FrameCount;
    use bevy::prelude::*;
    use js_sys::{Int32Array, Reflect, SharedArrayBuffer};
    use wasm_bindgen::prelude::*;

    use super::host::{self, HostEvents, WebHost, WorkerPool};
    use super::{api, servicer};
    use crate::supervisor::{Manifest, SupervisorHandle, SupervisorPlugin};

    /// What the Startup system needs from `start`; JS handles are not `Send`, so they wait here.
    struct Pending {
        doorbell: Int32Array,
        events: Rc<RefCell<HostEvents>>,
    }

    thread_local! {
        static PENDING: RefCell<Option<Pending>> = const { RefCell::new(None) };
        /// The warm-worker pool, grown to its full size after the first frame.
        static POOL: RefCell<Option<Rc<RefCell<WorkerPool>>>> = const { RefCell::new(None) };
    }

    /// Loads the guest modules, then builds the app with `make_app` (given the supervisor plugin
    /// wired to the web host) and runs it.
    pub fn start(make_app: impl FnOnce(SupervisorPlugin) -> App + 'static) {
        // A panic stops the app: say so on the page (and to tests) as well as in the console.
        std::panic::set_hook(Box::new(|info| {
            console_error_panic_hook::hook(info);
            fail(&format!("The playground stopped: {info}"));
        }));
        mark("orbital:wasm-started");
        wasm_bindgen_futures::spawn_local(async move {
            // The served manifest (assets/programs.ron), so a program added there is fetched
            // with the others; the programs plugin reports a broken one (line and column) and
            // the compiled-in copy is used instead.
            let served = host::fetch_text("assets/programs.ron").await;
            if let Err(e) = &served {
                warn!("assets/programs.ron not fetched ({e}): using the built-in program manifest");
            }
            let (manifest, refused) =
                Manifest::served_or_builtin(served.ok().as_deref(), "assets/programs.ron");
            if let Some(e) = refused {
                warn!("{e}: using the built-in program manifest");
            }
            if manifest.programs.is_empty() {
                return fail("the built-in program manifest is broken");
            }
            let modules: Vec<String> = manifest.programs.iter().map(|p| p.module.clone()).collect();
            // The shim's fetch starts now, alongside the modules'.
            let shim = host::start_fetch("worker.js");
            let loaded = host::load_modules(&modules).await;
            let events = Rc::new(RefCell::new(HostEvents::default()));
            let pool = WorkerPool::new(
                host::shim_url(shim).await,
                host::STARTUP_SPARE_WORKERS,
                spare_workers(),
                events.clone(),
            );
            POOL.with_borrow_mut(|p| *p = Some(pool.clone()));
            mark("orbital:guests-loaded");
            let doorbell = Int32Array::new(&SharedArrayBuffer::new(
                crate::abi::mailbox::DOORBELL_SIZE as u32,
            ));
            let web_host = WebHost::new(
                loaded,
                doorbell.clone(),
                events.clone(),
                pool,
                query_number("spin"),
                host::guest_ceiling(
                    query_number("max_guests").map_or(host::DEFAULT_MAX_GUESTS, |n| n as usize),
                ),
            );
            PENDING.with_borrow_mut(|p| *p = Some(Pending { doorbell, events }));
            // `with_host` wants a `Send + Sync` factory; the mutex makes the (Send) host Sync.
            let web_host = Mutex::new(Some(web_host));
            let plugin = SupervisorPlugin::with_host(move || {
                let host = web_host.lock().unwrap_or_else(|p| p.into_inner()).take();
                Box::new(host.expect("the supervisor plugin builds its host once"))
            });
            let mut app = make_app(plugin.with_manifest(manifest));
            app.add_systems(Startup, start_web_services)
                .add_systems(Last, mark_running);
            mark("orbital:app-built");
            app.run();
        });
    }

    /// Builds the start-up floor's app with `make_app` and runs it (`src/bin/bevy_floor.rs`): the
    /// same marks and `window.orbital` readiness as [`start`], with no guests and no supervisor.
    pub fn start_floor(make_app: impl FnOnce() -> App) {
        std::panic::set_hook(Box::new(|info| {
            console_error_panic_hook::hook(info);
            fail(&format!("The floor app stopped: {info}"));
        }));
        mark("orbital:wasm-started");
        let mut app = make_app();
        app.add_systems(Last, mark_running);
        mark("orbital:app-built");
        app.run();
    }

    /// A `performance.mark` (start-up milestones; they show in profiles and
    /// `performance.getEntriesByType("mark")`).
    pub fn mark(name: &str) {
        if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
            let _ = performance.mark(name);
        }
    }

    /// The warm-worker pool's full size: `host::SPARE_WORKERS`, or the page's `?spares=N`.
    fn spare_workers() -> usize {
        query_number("spares").map_or(host::SPARE_WORKERS, |n| n.min(64) as usize)
    }

    /// A number from the page's query string (`?spares=N`, `?spin=MICROS`, `?mainspin=MICROS`): knobs for measuring
    /// other settings with the same build (`cargo xtask bench` does not set them).
    fn query_number(key: &str) -> Option<u32> {
        let search = web_sys::window()
            .and_then(|w| w.location().search().ok())
            .unwrap_or_default();
        search
            .trim_start_matches('?')
            .split('&')
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
    }

    /// Shows a start-up failure on the page (and to tests) instead of a blank canvas.
    fn fail(message: &str) {
        error!("{message}");
        let Some(window) = web_sys::window() else {
            return;
        };
        if let Ok(orbital) = Reflect::get(&window, &"orbital".into()) {
            let _ = Reflect::set(&orbital, &"state".into(), &"failed".into());
            let _ = Reflect::set(&orbital, &"error".into(), &message.into());
        }
        if let Some(text) = window
            .document()
            .and_then(|d| d.get_element_by_id("notice-text"))
        {
            text.set_text_content(Some(message));
        }
    }

    fn start_web_services(handle: Res<SupervisorHandle>) {
        let Some(Pending { doorbell, events }) = PENDING.with_borrow_mut(Option::take) else {
            return fail("the web services were started twice");
        };
        if let Err(e) = servicer::start(
            handle.clone(),
            doorbell,
            query_number("mainspin").unwrap_or(servicer::SPIN_MICROS),
        ) {
            fail(&format!(
                "cannot start the syscall servicer: {}",
                host::js_error_text(&e)
            ));
        }
        if let Err(e) = api::install(handle.clone(), events) {
            fail(&format!(
                "cannot install window.supervisor: {}",
                host::js_error_text(&e)
            ));
        }
    }

    /// After the first frame: hide the loading notice and tell tests the app is running.
    fn mark_running(frames: Res<FrameCount>, mut done: Local<bool>) {
        if *done || frames.0 < 1 {
            return;
        }
        *done = true;
        mark("orbital:first-frame");
        if let Some(pool) = POOL.with_borrow_mut(Option::take) {
            pool.borrow_mut().grow();
        }
        let Some(window) = web_sys::window() else {
            return;
        };
        let since_navigation_ms = window.performance().map(|p| p.now());
        if let Ok(orbital) = Reflect::get(&window, &"orbital".into()) {
            let _ = Reflect::set(
                &orbital,
                &"navigationToFirstFrameMs".into(),
                &JsValue::from(since_navigation_ms),
            );
            let _ = Reflect::set(&orbital, &"state".into(), &"running".into());
        }
        if let Some(notice) = window
            .document()
            .and_then(|d| d.get_element_by_id("notice"))
        {
            notice.set_class_name("hidden");
        }
    }
}
