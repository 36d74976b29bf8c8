// The browser half of `cargo xtask bench`: opens the built site in headless Chromium (software
// WebGL), measures the playground, and measures each baseline in the same page with plain
// workers made from Blob URLs (no app code involved). Writes one JSON document to
// $ORBITAL_BENCH_OUT; `cargo xtask bench` turns it into the table.
//
// Every measurement is independent: one that cannot be taken records {error: "why"} and the
// rest still run. Figures are medians; per-call times come from performance.now(), which is
// coarse (5-100 us) in a cross-origin isolated page, so per-call medians are quantised.
//
// Order: first frame -> default scenario (fps, update time) -> quiet (every user process killed):
// raw vs syscall round trips, sender bursts and raw bursts in alternating pairs, raw vs guest
// spawns, pingpong and the relay through the main thread in alternating windows -> the empty
// frame, then the crowd (64 processes: syscalls/s, fps, update time, memory, a CPU profile of the
// main thread) -> kill everything (memory after, the update time of an empty frame) -> the spawn
// ceiling (the playground's limit, then the browser's own with the limit lifted) -> the first frame
// again, in 7 fresh contexts with nothing else running, each paired with a load of the start-up
// floor (the site's floor/: Bevy and egui alone) (the table's row is their median;
// ORBITAL_BENCH_FIRST_FRAME_LOADS=N, or ORBITAL_BENCH_ONLY=first_frame_loads alone). Time travel rides along:
// the recording file of the default scenario's first minute, pingpong with recording on vs off
// (after the raw relay), and seeks into the crowd's recording (after the crowd).
import { emptySpot, launch, median, waitForSettledProcesses, waitForStartupScenario } from "../lib.mjs";
import { relayViaMainInPage } from "./relay.mjs";
import { schedDelta, schedSnapshot } from "./sched.mjs";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, gzipSync, constants } from "node:zlib";

const URL = process.env.ORBITAL_URL ?? "http://127.0.0.1:8000/";
const OUT = process.env.ORBITAL_BENCH_OUT ?? "browser.json";
const ARTIFACTS = process.env.ORBITAL_ARTIFACTS ?? ".";
/** Frames the app's frame timing summarises (frame_timing::FrameTiming::WINDOW). */
const TIMING_WINDOW_FRAMES = 300;
/** Longest wait for a fresh timing window; software rendering may be slow. */
const TIMING_WAIT_MS = Number(process.env.ORBITAL_BENCH_TIMING_WAIT_MS ?? 300_000);
const FPS_WINDOW_MS = 10_000;
/** For working on one figure: ORBITAL_BENCH_ONLY=pingpong,raw_relay (the first frame always runs). */
const ONLY = process.env.ORBITAL_BENCH_ONLY ? ["first_frame", ...process.env.ORBITAL_BENCH_ONLY.split(",")] : null;


/** Fresh page loads for the first frame's median (the last step of the run). */
const FIRST_FRAME_LOADS = Number(process.env.ORBITAL_BENCH_FIRST_FRAME_LOADS ?? 7);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.log("bench:", ...a);

function percentile(xs, p) {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.round((s.length - 1) * p)];
}

async function waitFor(what, condition, timeoutMs = 60_000, intervalMs = 100) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  while (Date.now() < deadline) {
    try {
      const v = await condition();
      if (v) return v;
    } catch (e) {
      lastError = e;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${lastError ? ` (${lastError.message})` : ""}`);
}

const result = { url: URL, profile: process.env.ORBITAL_PROFILE ?? null, started_at: new Date().toISOString() };
/** Runs one measurement; an exception becomes {error} in the result instead of ending the run. */
async function measure(name, body) {
  if (ONLY && !ONLY.includes(name)) return null;
  const t0 = Date.now();
  try {
    result[name] = await body();
    log(`${name}: ${JSON.stringify(result[name])} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (e) {
    result[name] = { error: String(e?.message ?? e).split("\n")[0] };
    log(`${name}: NOT MEASURED: ${result[name].error}`);
  }
  writeFileSync(OUT, JSON.stringify(result, null, 2));
  return result[name];
}

const browser = await launch();
const pageErrors = [];
/** Requests per path, to see what each worker start fetches. */
const requests = new Map();
/**
 * A page in a new browser context (so a new renderer process: the ceiling's second probe needs
 * one whose address space the first probe's 120 guests never held).
 */
async function openPage() {
  // Device scale factor 1: Bevy 0.19's 2D coordinates break at other ratios (see lib.mjs).
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
  const p = await context.newPage();
  // Counts WebGL draw calls (for where a frame goes: draws per frame beside frames/s).
  await p.addInitScript(() => {
    window.__benchDraws = 0;
    const gl = globalThis.WebGL2RenderingContext?.prototype;
    if (!gl) return;
    for (const name of ["drawElements", "drawArrays", "drawElementsInstanced", "drawArraysInstanced", "drawRangeElements"]) {
      const original = gl[name];
      gl[name] = function (...args) {
        window.__benchDraws++;
        return original.apply(this, args);
      };
    }
  });
  p.on("pageerror", (e) => pageErrors.push(String(e?.message ?? e)));
  p.on("request", (r) => {
    const path = new globalThis.URL(r.url()).pathname;
    requests.set(path, (requests.get(path) ?? 0) + 1);
  });
  return p;
}
let page = await openPage();
const cdp = await page.context().newCDPSession(page);
const requestCounts = () => Object.fromEntries(requests);

/** Calls `window.supervisor.<name>(...args)`; JSON getters come back parsed. */
async function sv(name, ...args) {
  return page.evaluate(
    ([name, args]) => {
      const s = window.supervisor;
      if (!s || typeof s[name] !== "function") throw new Error(`window.supervisor.${name} does not exist in this build`);
      const v = s[name](...args);
      return name.endsWith("_json") ? JSON.parse(v) : v;
    },
    [name, args],
  );
}
const has = (name) => page.evaluate((n) => typeof window.supervisor?.[n] === "function", name);
const processes = () => sv("get_process_list_json");

/** Types a terminal command (the same path as a person), retrying while the stdin queue is full. */
async function command(line) {
  await waitFor(`the terminal to take "${line}"`, async () => {
    try {
      await sv("send_input", line);
      return true;
    } catch (e) {
      if (/QUEUE_FULL|full/i.test(String(e))) return false;
      throw e;
    }
  }, 20_000, 20);
}

/** Kills every process that is not protected (terminal `kill`), then waits until they are gone. */
async function killUserProcesses() {
  // Newest first: a sender dies before its receiver instead of exiting on its own (a Zombie).
  const victims = (await processes()).filter((p) => !p.protected && p.state !== "zombie").sort((a, b) => b.pid - a.pid);
  for (const p of victims) await command(`kill ${p.pid}`);
  let lastRetry = Date.now();
  // Zombies (processes that exited by themselves) keep their table entry until reaped, but no worker.
  await waitFor("every user process to be gone or a Zombie", async () => {
    const left = (await processes()).filter((p) => !p.protected && p.state !== "zombie");
    if (left.length && Date.now() - lastRetry > 10_000) {
      // A kill the terminal refused or lost (its answer is only printed): ask again.
      lastRetry = Date.now();
      for (const p of left) await command(`kill ${p.pid}`).catch(() => {});
    }
    return left.length === 0;
  }, 120_000, 200).catch(async (e) => {
    const left = (await processes()).filter((p) => !p.protected).map((p) => `${p.pid}:${p.name}/${p.state}`);
    throw new Error(`${e.message}: left ${left.join(" ")}`);
  });
  return victims.length;
}

// ---- frames -------------------------------------------------------------------------------

/** Counts the page's animation frames (Bevy's web loop runs on requestAnimationFrame too). */
async function installFrameCounter() {
  await page.evaluate(() => {
    if (window.__benchFrames !== undefined) return;
    window.__benchFrames = 0;
    const tick = () => {
      window.__benchFrames++;
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
}
const frameMark = () => page.evaluate(() => ({ frames: window.__benchFrames, at: performance.now() }));

async function framesPerSecond(windowMs = FPS_WINDOW_MS) {
  const draws = () => page.evaluate(() => window.__benchDraws);
  const [a, da] = [await frameMark(), await draws()];
  await sleep(windowMs);
  const [b, db] = [await frameMark(), await draws()];
  const frames = b.frames - a.frames;
  return { fps: (frames * 1000) / (b.at - a.at), frames, window_ms: b.at - a.at, draws_per_frame: (db - da) / Math.max(1, frames) };
}

/**
 * The software renderer's syscall ceiling: "auto" (on, as a person gets it here) or "off" (the
 * guests flat out: every IPC figure is measured so).
 */
async function setPacing(mode) {
  if (!(await has("set_guest_pacing"))) throw new Error("window.supervisor.set_guest_pacing does not exist in this build");
  await page.evaluate((m) => window.supervisor.set_guest_pacing(m), mode);
  await waitFor(`guest pacing ${mode}`, async () => {
    const ceiling = (await sv("get_system_metrics_json")).syscall_ceiling ?? null;
    return mode === "off" ? ceiling === null : ceiling !== null;
  }, 10_000, 100);
}

/** Space, as a person pauses or resumes; waits until the kernel's syscall count stops (or moves). */
async function togglePause(expectPaused) {
  // A click on an empty spot of the canvas first, so the terminal's text field lets go of the keys.
  const spot = emptySpot(await sv("get_canvas_layout_json"));
  await page.mouse.click(spot.x, spot.y, { delay: 150 });
  await page.keyboard.press("Space");
  await waitFor(expectPaused ? "the system to pause" : "the system to resume", async () =>
    ((await sv("get_system_metrics_json")).time_control === "paused") === expectPaused, 20_000, 100);
}

/**
 * Frames/s with the system paused (the guests wait in their syscalls; the same nodes are drawn):
 * what drawing alone costs, against the running figure, where the guests' own CPU competes
 * with the software rasteriser for the cores.
 */
/** What the canvas is drawn at now (web/render_scale.js): its drawing buffer, the page's choice and scale. */
const drawnAt = () => page.evaluate(() => {
  const c = document.querySelector("#orbital-canvas");
  return { width: c.width, height: c.height, choice: window.orbitalRenderScale?.choice ?? null, scale: window.orbitalRenderScale?.scale ?? 1 };
});

/**
 * Runs `measure` with the canvas drawn at `choice` ("1": full resolution, the baseline's; see
 * web/render_scale.js), then puts the page's choice back. A site without the choice (older than
 * it) draws at full resolution anyway: `measure` runs as is. The result says what was drawn.
 */
async function atResolution(choice, measure) {
  const before = await page.evaluate(() => window.orbitalRenderScale?.choice ?? null);
  if (before === null) return { ...(await measure()), drawn_at: await drawnAt() };
  await page.evaluate((c) => window.orbitalRenderScale.set(c), choice);
  await sleep(2000);
  try {
    return { ...(await measure()), drawn_at: await drawnAt() };
  } finally {
    await page.evaluate((c) => window.orbitalRenderScale.set(c), before);
    await sleep(2000);
  }
}

async function pausedFramesPerSecond() {
  await togglePause(true);
  try {
    return await framesPerSecond();
  } finally {
    await togglePause(false);
  }
}

/** The app's own update time per frame (First..Last) over a window of frames that all began after now. */
async function updateTiming() {
  if (!(await has("get_frame_timing_json"))) {
    throw new Error("window.supervisor.get_frame_timing_json does not exist in this build (the visual engineer's frame timing is not wired into the page)");
  }
  const start = await frameMark();
  // The summary is refreshed every 30 frames; wait for a whole fresh window plus one refresh.
  const need = TIMING_WINDOW_FRAMES + 31;
  const end = await waitFor(`${need} fresh frames for the update timing`, async () => {
    const m = await frameMark();
    return m.frames - start.frames >= need && m;
  }, TIMING_WAIT_MS, 250).catch(async (e) => {
    const m = await frameMark();
    throw new Error(`${e.message}: only ${m.frames - start.frames} frames in ${((m.at - start.at) / 1000).toFixed(0)} s`);
  });
  const t = await sv("get_frame_timing_json");
  return { ...t, fresh_frames: end.frames - start.frames, window_s: (end.at - start.at) / 1000 };
}

/**
 * The machine's own spread of main-thread time, as a floor for the update rows: a fixed JS loop,
 * sized to take `ms` at its fastest (the fastest of 20 timed runs between frames, after V8 has
 * optimised it), timed once in each of `frames` animation frames of the page as it is. Work of
 * that size measures this median and p95 here, whoever does it: the page's main thread shares
 * two cores with SwiftShader's rasteriser threads and the guests' workers.
 */
async function fixedWorkTiming(ms, frames = 150) {
  return page.evaluate(async ([ms, frames]) => {
    const work = (n) => {
      let x = 0;
      for (let i = 0; i < n; i++) x = (x * 1664525 + 1013904223 + i) | 0;
      return x;
    };
    const probe = 1_000_000;
    let fastest = Infinity;
    let sink = 0;
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      sink ^= work(probe);
      fastest = Math.min(fastest, performance.now() - t);
      await new Promise((r) => setTimeout(r, 5));
    }
    const n = Math.max(1, Math.round((probe * ms) / fastest));
    const times = [];
    await new Promise((done) => {
      const frame = () => {
        const t = performance.now();
        sink ^= work(n);
        times.push(performance.now() - t);
        if (times.length < frames) requestAnimationFrame(frame);
        else done();
      };
      requestAnimationFrame(frame);
    });
    times.sort((a, b) => a - b);
    const at = (p) => times[Math.round((times.length - 1) * p)];
    return {
      fastest_ms: (fastest * n) / probe,
      median_ms: at(0.5),
      p95_ms: at(0.95),
      max_ms: times[times.length - 1],
      frames: times.length,
      sink,
    };
  }, [ms, frames]);
}

// ---- raw baselines (plain workers from Blob URLs, same page) -------------------------------

/**
 * Worker <-> main thread round trips over Atomics; the main thread is woken by waitAsync, as the
 * servicer is. `gapMs` > 0 parks the worker between trips, as idle's YIELD does
 * (YIELD_PARK_MICROS), so the main thread goes back to sleep each time. With `keep`, the two
 * workers are left to `endRawWorkers()` (so their threads' statistics can still be read).
 */
async function rawRoundTrips(count, gapMs, wakeSecond = false, keep = false) {
  return page.evaluate(async ([count, gapMs, wakeSecond, keep]) => {
    const src = `onmessage = (e) => {
      const a = new Int32Array(e.data.sab);
      const park = new Int32Array(new SharedArrayBuffer(4));
      const n = e.data.count;
      const us = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        if (e.data.gapMs > 0) Atomics.wait(park, 0, 0, e.data.gapMs);
        const t0 = performance.now();
        Atomics.store(a, 1, 0);
        Atomics.store(a, 0, 1);
        Atomics.notify(a, 0);
        let v;
        while ((v = Atomics.load(a, 1)) === 0) Atomics.wait(a, 1, v);
        us[i] = (performance.now() - t0) * 1000;
      }
      Atomics.store(a, 2, 1);
      Atomics.store(a, 0, 1);
      Atomics.notify(a, 0);
      postMessage(us, [us.buffer]);
    };`;
    // A second worker that only sleeps until word 3 changes, as a receiver blocked in RECEIVE.
    const sleeperSrc = `onmessage = (e) => {
      const a = new Int32Array(e.data.sab);
      let seen = 0;
      while (Atomics.load(a, 2) === 0) {
        Atomics.wait(a, 3, seen);
        seen = Atomics.load(a, 3);
      }
    };`;
    const url = URL.createObjectURL(new Blob([src], { type: "text/javascript" }));
    const sleeperUrl = URL.createObjectURL(new Blob([sleeperSrc], { type: "text/javascript" }));
    const worker = new Worker(url);
    const sleeper = wakeSecond ? new Worker(sleeperUrl) : null;
    const sab = new SharedArrayBuffer(16);
    const a = new Int32Array(sab);
    const done = new Promise((resolve, reject) => {
      worker.onmessage = (e) => resolve(Array.from(e.data));
      worker.onerror = (e) => reject(new Error(e.message));
    });
    sleeper?.postMessage({ sab });
    worker.postMessage({ sab, count, gapMs });
    // The servicer's shape: wait on the request word, answer, wait again; with `wakeSecond`, a
    // SEND's shape: the answer to the sender and a delivery that wakes a second worker.
    for (;;) {
      const w = Atomics.waitAsync(a, 0, 0);
      if (w.async) await w.value;
      if (Atomics.load(a, 2) === 1) break;
      Atomics.store(a, 0, 0);
      Atomics.store(a, 1, 1);
      Atomics.notify(a, 1);
      if (wakeSecond) {
        Atomics.add(a, 3, 1);
        Atomics.notify(a, 3);
      }
    }
    const samples = await done;
    Atomics.add(a, 3, 1);
    Atomics.notify(a, 3);
    const end = () => {
      worker.terminate();
      sleeper?.terminate();
    };
    if (keep) window.__rawWorkersEnd = end;
    else end();
    URL.revokeObjectURL(url);
    URL.revokeObjectURL(sleeperUrl);
    return samples;
  }, [count, gapMs, wakeSecond, keep]);
}

/** Ends the workers of the last `rawRoundTrips(.., keep = true)`. */
async function endRawWorkers() {
  await page.evaluate(() => {
    window.__rawWorkersEnd?.();
    window.__rawWorkersEnd = null;
  });
}

function summary(samples) {
  return { count: samples.length, median_us: median(samples), p99_us: percentile(samples, 0.99), mean_us: samples.reduce((a, b) => a + b, 0) / samples.length };
}

/** Two workers bouncing a counter over Atomics (no main thread): round trips per second. */
async function rawRelay(roundTrips) {
  return page.evaluate(async (n) => {
    const src = `onmessage = (e) => {
      const a = new Int32Array(e.data.sab);
      const { role, n } = e.data;
      const waitFor = (target) => { let v; while ((v = Atomics.load(a, 0)) !== target) Atomics.wait(a, 0, v); };
      Atomics.add(a, 1, 1);
      Atomics.notify(a, 1);
      while (Atomics.load(a, 1) < 2) Atomics.wait(a, 1, 1);
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        if (role === 0) {
          Atomics.store(a, 0, 2 * i + 1);
          Atomics.notify(a, 0);
          waitFor(2 * i + 2);
        } else {
          waitFor(2 * i + 1);
          Atomics.store(a, 0, 2 * i + 2);
          Atomics.notify(a, 0);
        }
      }
      postMessage(performance.now() - t0);
    };`;
    const url = URL.createObjectURL(new Blob([src], { type: "text/javascript" }));
    const sab = new SharedArrayBuffer(16);
    const workers = [new Worker(url), new Worker(url)];
    const times = workers.map((w, role) => new Promise((resolve, reject) => {
      w.onmessage = (e) => resolve(e.data);
      w.onerror = (e) => reject(new Error(e.message));
      w.postMessage({ sab, role, n });
    }));
    const [ping] = await Promise.all(times);
    workers.forEach((w) => w.terminate());
    URL.revokeObjectURL(url);
    return (n * 1000) / ping;
  }, roundTrips);
}

/**
 * The same relay with the main thread in the middle, as the kernel is (relay.mjs): the floor of
 * any design that services IPC on the main thread (two worker wake-ups and two main-thread
 * wake-ups per round trip, against two worker wake-ups in `rawRelay`).
 */
async function rawRelayViaMain(roundTrips) {
  return page.evaluate(relayViaMainInPage, roundTrips);
}

/**
 * Raw spawns: a worker from a Blob URL that instantiates an (empty) compiled module, as the
 * guest shim does, then signals its first "syscall" over Atomics. Milliseconds from `new Worker`
 * to the main thread seeing the signal; `count` in a row (all started at once, like a burst of
 * spawn commands), or one at a time when `serial`.
 */
async function rawSpawns(count, serial) {
  return page.evaluate(async ([count, serial]) => {
    // (module (func (export "_start")))
    const bytes = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 7, 10, 1, 6, 95, 115, 116, 97, 114, 116, 0, 0, 10, 4, 1, 2, 0, 11]);
    const module = await WebAssembly.compile(bytes);
    const src = `onmessage = async (e) => {
      const instance = await WebAssembly.instantiate(e.data.module, {});
      instance.exports._start();
      const a = new Int32Array(e.data.sab);
      Atomics.store(a, e.data.i, 1);
      Atomics.notify(a, e.data.i);
    };`;
    const url = URL.createObjectURL(new Blob([src], { type: "text/javascript" }));
    const sab = new SharedArrayBuffer(4 * count);
    const a = new Int32Array(sab);
    const workers = [];
    const started = performance.now();
    const spawnOne = (i) => {
      const t0 = performance.now();
      const w = new Worker(url);
      workers.push(w);
      w.postMessage({ module, sab, i });
      return (async () => {
        const r = Atomics.waitAsync(a, i, 0);
        if (r.async) await r.value;
        return performance.now() - t0;
      })();
    };
    const each = [];
    if (serial) {
      for (let i = 0; i < count; i++) each.push(await spawnOne(i));
    } else {
      const all = [];
      for (let i = 0; i < count; i++) all.push(spawnOne(i));
      each.push(...(await Promise.all(all)));
    }
    const total = performance.now() - started;
    workers.forEach((w) => w.terminate());
    URL.revokeObjectURL(url);
    return { each_ms: each, total_ms: total };
  }, [count, serial]);
}

/**
 * The site's own guest shim (worker.js, fetched once and started from a Blob URL, as the web host
 * starts its workers) running an empty guest, with no kernel behind it: ms from `new Worker` to
 * its "returned" message. Separates the worker start-up from the supervisor's part of a spawn.
 */
async function shimSpawns(count, serial) {
  return page.evaluate(async ([count, serial]) => {
    // An empty guest: imports its memory (env.memory, 1 page) as the shim requires, exports _start.
    const bytes = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 2, 16, 1, 3, 101, 110, 118, 6, 109, 101, 109, 111, 114, 121, 2, 1, 1, 1, 3, 2, 1, 0, 7, 10, 1, 6, 95, 115, 116, 97, 114, 116, 0, 0, 10, 4, 1, 2, 0, 11]);
    const module = await WebAssembly.compile(bytes);
    const text = await (await fetch(new URL("worker.js", document.baseURI))).text();
    const url = URL.createObjectURL(new Blob([text], { type: "text/javascript" }));
    const workers = [];
    const spawnOne = () => new Promise((resolve, reject) => {
      const t0 = performance.now();
      const w = new Worker(url);
      workers.push(w);
      w.onmessage = (e) => {
        if (e.data?.type !== "exit") return;
        if (e.data.kind === "returned") resolve(performance.now() - t0);
        else reject(new Error(`the shim reported ${e.data.kind}: ${e.data.message}`));
      };
      w.onerror = (e) => reject(new Error(e.message));
      w.postMessage({ type: "start", module, mailbox: new SharedArrayBuffer(4096), doorbell: new SharedArrayBuffer(64), pid: 0, memoryMinPages: 1, memoryMaxPages: 1 });
    });
    const started = performance.now();
    const each = [];
    if (serial) {
      for (let i = 0; i < count; i++) each.push(await spawnOne());
    } else {
      each.push(...(await Promise.all(Array.from({ length: count }, spawnOne))));
    }
    const total = performance.now() - started;
    workers.forEach((w) => w.terminate());
    URL.revokeObjectURL(url);
    return { each_ms: each, total_ms: total };
  }, [count, serial]);
}

// ---- the playground's figures ---------------------------------------------------------------

/** Spawns `program` `count` times through the terminal; ms until each made its first syscall. */
async function guestSpawns(program, count, serial) {
  const before = new Set((await processes()).map((p) => p.pid));
  const t0 = await page.evaluate(() => performance.now());
  const fresh = async () => (await processes()).filter((p) => !before.has(p.pid) && p.name === program);
  if (serial) {
    for (let i = 0; i < count; i++) {
      await command(`spawn ${program}`);
      await waitFor(`${program} #${i + 1} to make its first syscall`, async () => {
        const f = await fresh();
        return f.length === i + 1 && f.every((p) => p.spawn_to_first_syscall_ms != null);
      }, 30_000, 5);
    }
  } else {
    for (let i = 0; i < count; i++) await command(`spawn ${program}`);
  }
  const all = await waitFor(`${count} ${program} processes to make their first syscall`, async () => {
    const f = await fresh();
    return f.length === count && f.every((p) => p.spawn_to_first_syscall_ms != null) && f;
  }, 120_000, 10);
  const total = (await page.evaluate(() => performance.now())) - t0;
  return { each_ms: all.map((p) => p.spawn_to_first_syscall_ms), total_ms: total };
}

/**
 * Types `spawn idle` until the playground refuses it or a process fails to start; what the tab
 * held then. `live` counts guests with a worker (live_guests), `failed` the Zombies whose memory
 * could not be created.
 */
async function spawnUntilStopped(max) {
  let refused = null;
  const t0 = await page.evaluate(() => performance.now());
  for (let i = 0; i < max && !refused; i++) {
    try {
      await sv("send_input", "spawn idle");
    } catch (e) {
      if (/QUEUE_FULL|full/i.test(String(e))) {
        await sleep(20);
        i--;
        continue;
      }
      refused = String(e?.message ?? e).split("\n")[0];
      break;
    }
    if (i % 8 === 7) {
      const failed = (await processes()).filter((p) => p.state === "zombie" && /could not allocate|cannot create the guest's memory/.test(p.exit?.text ?? ""));
      if (failed.length) break;
    }
  }
  // Spawns typed into the terminal start a moment later: wait for the table to settle.
  let last = "";
  await waitFor("the process table to settle", async () => {
    const now = JSON.stringify((await processes()).map((p) => [p.pid, p.state]));
    const same = now === last;
    last = now;
    return same;
  }, 120_000, 1500);
  const ps = await processes();
  const m = await sv("get_system_metrics_json");
  const failed = ps.filter((p) => p.state === "zombie" && /could not allocate|cannot create the guest's memory/.test(p.exit?.text ?? ""));
  return {
    refused,
    live_guests: m.live_guests,
    guest_ceiling: m.guest_ceiling,
    processes: ps.filter((p) => p.state !== "zombie").length,
    failed_to_start: failed.length,
    first_failure: failed[0]?.exit?.text ?? null,
    total_ms: (await page.evaluate(() => performance.now())) - t0,
  };
}

/**
 * Spawns a pingpong pair through the terminal and waits until it exchanges messages; returns a
 * function that reads the pair's received-message total (and the page's clock, and the pids).
 * Only the pair spawned here counts, whatever else runs.
 */
/**
 * A pingpong pair's round trips a second over `ms` (`received` from `spawnPingpongPair`): one
 * round trip is one message received by each side. `same_pair` is false if the pair changed.
 */
async function pingpongWindowRate(received, ms) {
  const a = await received();
  await sleep(ms);
  const b = await received();
  return { round_trips_per_sec: ((b.n - a.n) / 2) * 1000 / (b.at - a.at), window_ms: b.at - a.at, same_pair: a.pids.join() === b.pids.join() };
}

async function spawnPingpongPair() {
  const before = new Set((await processes()).map((p) => p.pid));
  const pp = async () => (await processes()).filter((p) => p.name === "pingpong" && p.state !== "zombie" && !before.has(p.pid));
  await command("spawn pingpong");
  await waitFor("the pong side to wait for messages", async () => (await pp()).some((p) => p.state === "blocked"), 30_000);
  await command("spawn pingpong");
  await waitFor("the pair to exchange messages", async () => {
    const ps = await pp();
    return ps.length === 2 && ps.every((p) => p.metrics.ipc_received > 100);
  }, 30_000);
  return async () => {
    const ps = await pp();
    const at = await page.evaluate(() => performance.now());
    return { n: ps.reduce((s, p) => s + p.metrics.ipc_received, 0), at, pids: ps.map((p) => p.pid) };
  };
}

/** Sender bursts and raw bursts measured in alternating pairs (see the "back_to_back" measure). */
const BURST_PAIRS = 6;
/** Pingpong windows and main-thread relay windows, alternating. */
const RELAY_PAIRS = 10;
const PINGPONG_WINDOW_MS = 1500;
const PINGPONG_WARM_UP_MS = 6000;
/** Round trips a relay window runs (about a second at this machine's 30-40 thousand a second). */
const RELAY_WINDOW_TRIPS = 30_000;

/** The main thread's busy (not idle) microseconds per hop in CPU profile `p` that covered `hops`. */
function busyPerHop(p, hops) {
  return ((p.duration_ms - p.idle_ms) * 1000) / hops;
}

/** Each pair's ratio of `key` (project / baseline), and the median of those ratios. */
function pairedRatios(project, baseline, key) {
  const ratios = project.map((p, i) => p[key] / baseline[i][key]);
  return { ratios, median: median(ratios) };
}

/**
 * One sender's opening burst: 1000 SENDs to a new receiver as fast as its queue allows (on
 * QUEUE_FULL it YIELDs and retries), calls that never wait in the kernel, so the shim times every
 * one. Only the sender's own samples count (idle's parked YIELDs run beside it). After the burst
 * the sender sends 10 a second, so the window is the burst: the shims post 256 at a time.
 */
async function senderBurst() {
  const before = new Set((await processes()).map((p) => p.pid));
  const fresh = async (name) => (await processes()).find((p) => p.name === name && !before.has(p.pid));
  await command("spawn receiver");
  await waitFor("the receiver to wait for messages", async () => (await fresh("receiver"))?.state === "blocked", 30_000);
  await sv("reset_syscall_latency");
  const sched0 = schedSnapshot();
  await command("spawn sender");
  const sender = (await waitFor("the sender", () => fresh("sender"), 30_000)).pid;
  await waitFor("the sender's burst to arrive", async () => (await fresh("receiver"))?.metrics.ipc_received >= 1000, 60_000);
  const sched = schedDelta(sched0, schedSnapshot());
  const s = await waitFor("three batches of the sender's round trips", async () => {
    const s = await sv("get_syscall_latency_json", sender);
    return s.count >= 768 && s;
  }, 30_000);
  await killUserProcesses();
  return { ...s, pid: sender, sched };
}

/**
 * `pairs` sender bursts, each paired with a raw burst of 1000 round trips that wake a second
 * worker, the two taken in ABBA order. The project's and the baseline's figures are the medians
 * over the pairs; `paired` holds each pair's own ratios and their medians (the verdicts).
 */
async function senderBursts(pairs) {
  await setPacing("off"); // every IPC figure runs flat out (the default scenario's step sets this too)
  const bursts = [], raws = [];
  for (let i = 0; i < pairs; i++) {
    const raw = async () => {
      const sched0 = schedSnapshot();
      const samples = await rawRoundTrips(1000, 0, true, true);
      const sched = schedDelta(sched0, schedSnapshot());
      await endRawWorkers();
      raws.push({ ...summary(samples), sched });
    };
    if (i % 2 === 0) {
      await raw();
      bursts.push(await senderBurst());
    } else {
      bursts.push(await senderBurst());
      await raw();
    }
  }
  const stat = (xs, key) => median(xs.map((x) => x[key]));
  // Each burst's scheduler statistics (ms over the burst): medians over the bursts, or the reason.
  const schedStat = (xs) => {
    if (xs.some((x) => !x.sched)) return { error: "no per-thread scheduler statistics here (/proc/<pid>/task/<tid>/schedstat is Linux's)" };
    const out = {};
    for (const k of Object.keys(xs[0].sched)) out[k] = median(xs.map((x) => x.sched[k]));
    return out;
  };
  return {
    sched: { burst: schedStat(bursts), raw: schedStat(raws) },
    syscall_round_trip: { median_us: stat(bursts, "median_us"), p99_us: stat(bursts, "p99_us"), count: bursts.reduce((n, b) => n + b.count, 0) },
    raw: { median_us: stat(raws, "median_us"), p99_us: stat(raws, "p99_us"), count: raws.reduce((n, r) => n + r.count, 0) },
    paired: { median: pairedRatios(bursts, raws, "median_us"), p99: pairedRatios(bursts, raws, "p99_us") },
    pairs,
    bursts,
    raws,
    workload: "the sender's burst of 1000 SENDs to a receiver (its own round trips only), a new pair each time",
  };
}

/**
 * A pingpong pair's round trips/s against the relay through the main thread (`rawRelayViaMain`,
 * the floor of servicing IPC on the main thread), in alternating windows (ABBA order) of the same
 * page: for a relay window the system is paused (Space), so the pair waits in its syscalls and
 * takes no CPU, and resumed after. Medians of each, and the median of the pairs' own ratios.
 */
async function pingpongAgainstRelay(pairs) {
  await setPacing("off");
  const received = await spawnPingpongPair();
  // Steady state: in two trial runs a new pair's first windows ran at a third of its later rate.
  // Why was not measured (the new nodes' spawn animation and layout, the first messages drawn one
  // by one before the edge turns into a bar, and the workers' code not yet optimised all fall in
  // those seconds).
  await sleep(PINGPONG_WARM_UP_MS);
  const pingpongWindow = async () => {
    const { round_trips_per_sec, window_ms, same_pair } = await pingpongWindowRate(received, PINGPONG_WINDOW_MS);
    if (!same_pair) throw new Error("the pingpong pair changed during the measurement");
    return { round_trips_per_sec, window_ms };
  };
  const relayWindow = async () => {
    await togglePause(true);
    try {
      return { round_trips_per_sec: await rawRelayViaMain(RELAY_WINDOW_TRIPS) };
    } finally {
      await togglePause(false);
      await sleep(300);
    }
  };
  await sv("reset_syscall_latency");
  const pingpong = [], relay = [];
  for (let i = 0; i < pairs; i++) {
    if (i % 2 === 0) {
      pingpong.push(await pingpongWindow());
      relay.push(await relayWindow());
    } else {
      relay.push(await relayWindow());
      pingpong.push(await pingpongWindow());
    }
  }
  const latency = await sv("get_syscall_latency_json");
  // Where a hop's time goes on the main thread (after the windows, so it does not slow them):
  // the pair running, then a relay window, each profiled, with the main thread's time in
  // Atomics.notify per hop (a message: one wake-up of the worker that waits for it).
  const profile = await (async () => {
    const a = await received();
    const p = await cpuProfile(3000, join(ARTIFACTS, "pingpong-main.cpuprofile"));
    const hops = (await received()).n - a.n;
    return { ...p, hops, notify_us_per_hop: (p.notify_ms * 1000) / hops, busy_us_per_hop: busyPerHop(p, hops) };
  })().catch((e) => ({ error: e.message }));
  const relayProfile = await (async () => {
    await togglePause(true);
    try {
      const p = await cpuProfile(() => rawRelayViaMain(RELAY_WINDOW_TRIPS), join(ARTIFACTS, "relay-main.cpuprofile"));
      const hops = 2 * RELAY_WINDOW_TRIPS;
      // (Its Atomics.notify is not told apart: V8 charges a builtin to its caller, here the loop.)
      return { ...p, round_trips_per_sec: p.value, hops, busy_us_per_hop: busyPerHop(p, hops) };
    } finally {
      await togglePause(false);
    }
  })().catch((e) => ({ error: e.message }));
  const rates = (xs) => xs.map((x) => x.round_trips_per_sec);
  return {
    round_trips_per_sec: median(rates(pingpong)),
    relay_via_main: { round_trips_per_sec: median(rates(relay)), round_trips_a_window: RELAY_WINDOW_TRIPS },
    paired: pairedRatios(pingpong, relay, "round_trips_per_sec"),
    pairs,
    window_ms: PINGPONG_WINDOW_MS,
    pingpong: rates(pingpong),
    relay: rates(relay),
    syscall_round_trip: latency,
    profile,
    relay_profile: relayProfile,
  };
}

/**
 * Loads a scenario: through `window.supervisor.load_scenario` (the same LoadScenario message the
 * picker writes), or, in a build without it, the way a person does: the picker in the top bar.
 */
async function pickScenario(name) {
  if (await has("load_scenario")) {
    await page.evaluate((n) => window.supervisor.load_scenario(n), name);
    await waitFor(`scenario ${name} to be current`, async () => (await sv("get_canvas_layout_json")).ui.scenario === name, 60_000, 200);
    return;
  }
  if (!(await has("get_canvas_layout_json"))) throw new Error("window.supervisor.get_canvas_layout_json does not exist in this build: cannot pick a scenario");
  const control = async (n) => (await sv("get_canvas_layout_json")).ui.controls.find((c) => c.name === n);
  // As xtask/e2e/visual.test.mjs does: egui must see the pointer arrive (two frames), then press
  // and release within one frame (it drops a click released more than 0.8 s after the press).
  const frames = async (n) => {
    const start = (await frameMark()).frames;
    await waitFor(`${n} frames`, async () => (await frameMark()).frames >= start + n, 30_000, 50);
  };
  const click = async (c) => {
    const x = c.rect.x + c.rect.width / 2;
    const y = c.rect.y + c.rect.height / 2;
    await page.mouse.move(x, y);
    await frames(2);
    await page.mouse.click(x, y);
    await frames(2);
  };
  await click(await waitFor("the scenario picker", () => control("scenario_picker"), 30_000));
  await click(await waitFor(`scenario:${name} in the picker`, () => control(`scenario:${name}`), 30_000, 200));
  await waitFor(`scenario ${name} to be current`, async () => (await sv("get_canvas_layout_json")).ui.scenario === name, 60_000, 200);
}

async function pageHeap() {
  await cdp.send("HeapProfiler.collectGarbage");
  const { usedSize, totalSize } = await cdp.send("Runtime.getHeapUsage");
  return { used_bytes: usedSize, total_bytes: totalSize };
}

/**
 * Private memory (Private_Clean + Private_Dirty from /proc/<pid>/smaps_rollup, Linux) of
 * Chromium's renderer processes: the page and every worker live there, so this is the page's
 * whole footprint outside the GPU process. (performance.measureUserAgentSpecificMemory would
 * split page and workers, but it did not answer within a minute in headless Chromium here.)
 */
async function rendererPrivateBytes() {
  const session = await browser.newBrowserCDPSession();
  try {
    const { processInfo } = await session.send("SystemInfo.getProcessInfo");
    const renderers = processInfo.filter((p) => p.type === "renderer");
    if (!renderers.length) throw new Error("Chromium reported no renderer process");
    let bytes = 0;
    for (const r of renderers) {
      const text = readFileSync(`/proc/${r.id}/smaps_rollup`, "utf8");
      for (const key of ["Private_Clean", "Private_Dirty"]) {
        const m = text.match(new RegExp(`^${key}:\\s+(\\d+) kB`, "m"));
        if (m) bytes += Number(m[1]) * 1024;
      }
    }
    return { bytes, renderers: renderers.length };
  } finally {
    await session.detach();
  }
}

/** The page's JS heap, the renderer's private memory, and the guests' linear memories as the kernel accounts them. */
async function memory() {
  const heap = await pageHeap();
  const renderer = await rendererPrivateBytes().catch((e) => ({ error: e.message }));
  const ps = await processes();
  const guests = ps.reduce((s, p) => s + (p.memory ?? 0), 0);
  const workers = (await has("get_worker_list_json")) ? (await sv("get_worker_list_json")).live.length : null;
  return { page_js_heap_bytes: heap.used_bytes, renderer_private_bytes: renderer.bytes ?? renderer, guest_memory_bytes: guests, processes: ps.length, live_workers: workers };
}

/**
 * A CPU profile of the page's main thread over `ms` milliseconds, or while `ms` (an async
 * function) runs; written to `file` (loadable in Chrome DevTools). Returns the top 20 functions
 * by self time, the idle time, and `notify_ms`: the self time of the app's wasm-bindgen wrapper
 * of Atomics.notify (`__wbg_notify_*`, and the function inside it; V8 charges the builtin's own
 * time to its caller), what waking a sleeping worker costs the page's main thread.
 */
async function cpuProfile(ms, file) {
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: 200 });
  await cdp.send("Profiler.start");
  let value;
  if (typeof ms === "function") value = await ms();
  else await sleep(ms);
  const { profile } = await cdp.send("Profiler.stop");
  writeFileSync(file, JSON.stringify(profile));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  const isNotify = (n) => /^__wbg_notify_/.test(n?.callFrame.functionName ?? "");
  const selfUs = new Map();
  let notifyUs = 0;
  const dt = profile.timeDeltas;
  for (let i = 0; i < profile.samples.length; i++) {
    const n = byId.get(profile.samples[i]);
    const f = n.callFrame;
    const key = f.functionName || `(anonymous ${f.url.split("/").pop()}:${f.lineNumber + 1})`;
    selfUs.set(key, (selfUs.get(key) ?? 0) + (dt[i] ?? 0));
    if (isNotify(n) || isNotify(byId.get(parentOf.get(n.id)))) notifyUs += dt[i] ?? 0;
  }
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const top = [...selfUs.entries()].sort((a, b) => b[1] - a[1]).slice(0, 20)
    .map(([name, us]) => ({ name, self_ms: us / 1000, share: us / total }));
  return { file, duration_ms: total / 1000, idle_ms: (selfUs.get("(idle)") ?? 0) / 1000, notify_ms: notifyUs / 1000, top, value };
}

// ---- time travel ----------------------------------------------------------------------------

/** The recording file after the first `minuteMs` of the page (recording starts at boot). */
async function recordingFile(minuteMs) {
  const tl = await sv("get_timeline_json");
  await sleep(Math.max(0, minuteMs - (tl.end_ns - tl.start_ns) / 1e6));
  // Base64 through the DevTools protocol: an array of 20 million numbers would take minutes.
  const file = await page.evaluate(() => {
    const s = window.supervisor;
    const tl = JSON.parse(s.get_timeline_json());
    const bytes = s.export_recording();
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return { base64: btoa(binary), tl };
  });
  const raw = Buffer.from(file.base64, "base64");
  const t0 = Date.now();
  const brotli = brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 9, [constants.BROTLI_PARAM_SIZE_HINT]: raw.length } }).length;
  log(`recording_file: brotli q9 of ${raw.length} bytes took ${Date.now() - t0} ms`);
  const inputs = file.tl.inputs - file.tl.first;
  return {
    secs: (file.tl.end_ns - file.tl.start_ns) / 1e9,
    inputs,
    raw_bytes: raw.length,
    gzip_bytes: gzipSync(raw, { level: 9 }).length,
    brotli_bytes: brotli,
    // What the page holds per input: the encoded inputs (snapshots not included).
    held_bytes_per_input: file.tl.input_bytes / Math.max(1, inputs),
    snapshots: file.tl.snapshots,
  };
}

/**
 * Pingpong round trips/s with recording on and off: `pairs` pairs of `windowMs` windows in ABBA
 * order (a drift within a pair cancels); the ratio is the median of the paired on/off ratios.
 */
async function pingpongRecording(pairs, windowMs) {
  const received = await spawnPingpongPair();
  const measureWindow = async (on) => {
    await sv("set_recording", on);
    await sleep(300);
    return (await pingpongWindowRate(received, windowMs)).round_trips_per_sec;
  };
  const on = [], off = [], ratios = [];
  for (let i = 0; i < pairs; i++) {
    let offRate, onRate;
    if (i % 2 === 0) {
      offRate = await measureWindow(false);
      onRate = await measureWindow(true);
    } else {
      onRate = await measureWindow(true);
      offRate = await measureWindow(false);
    }
    on.push(onRate);
    off.push(offRate);
    ratios.push(onRate / offRate);
  }
  await sv("set_recording", true);
  return { on_median: median(on), off_median: median(off), on_over_off: median(ratios), pairs, window_ms: windowMs, on, off };
}

/**
 * The same pairs with the page at 320x200: SwiftShader frames of 150-300 ms at 1280x800 block the
 * main thread, which also services the syscalls, and they land in the windows at random; small,
 * the frames are short and the windows measure the servicing path the recording adds to.
 */
async function pingpongRecordingSmall(pairs, windowMs) {
  await page.setViewportSize({ width: 320, height: 200 });
  try {
    await sleep(1000);
    return await pingpongRecording(pairs, windowMs);
  } finally {
    await page.setViewportSize({ width: 1280, height: 800 });
  }
}

/** Seeks to `count` pseudo-random points of the recording, each timed inside the page. */
async function recordingSeeks(count) {
  const r = await page.evaluate((count) => {
    const s = window.supervisor;
    const tl = JSON.parse(s.get_timeline_json());
    let x = 12345;
    const times = [];
    for (let i = 0; i < count; i++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      const k = tl.first + Math.floor((x / 2147483648) * (tl.inputs - tl.first));
      const t0 = performance.now();
      s.seek(k);
      times.push(performance.now() - t0);
    }
    s.go_live();
    return { inputs: tl.inputs - tl.first, secs: (tl.end_ns - tl.start_ns) / 1e9, snapshots: tl.snapshots, input_bytes: tl.input_bytes, times };
  }, count);
  const sorted = [...r.times].sort((a, b) => a - b);
  return { inputs: r.inputs, secs: r.secs, snapshots: r.snapshots, input_bytes: r.input_bytes, seeks: count,
    median_ms: median(r.times), p90_ms: sorted[Math.round((sorted.length - 1) * 0.9)], max_ms: sorted[sorted.length - 1] };
}

/**
 * Loads the playground in `p` and waits for its first frame: the app's own navigation-to-first-
 * frame time and the page's load event, ms after navigation.
 */
async function loadToFirstFrame(p, url = URL) {
  await p.goto(url, { waitUntil: "load" });
  const state = await waitFor("window.orbital.state to leave 'loading'", () =>
    p.evaluate(() => (window.orbital && window.orbital.state !== "loading" ? window.orbital : null)), 240_000, 100);
  if (state.state !== "running") throw new Error(`the app did not start: ${state.error}`);
  const loadMs = await p.evaluate(() => performance.getEntriesByType("navigation")[0]?.loadEventEnd ?? null);
  return { first_frame_ms: state.navigationToFirstFrameMs, load_event_ms: loadMs };
}

// ---- the run ---------------------------------------------------------------------------------

try {
  await measure("first_frame", async () => {
    const load = await loadToFirstFrame(page);
    const isolated = await page.evaluate(() => self.crossOriginIsolated);
    if (!isolated) throw new Error("the page is not cross-origin isolated (COOP/COEP headers missing)");
    // Where the time to the first frame goes: the app's start-up marks and the big downloads.
    const marks = await page.evaluate(() => Object.fromEntries(performance.getEntriesByType("mark").filter((m) => m.name.startsWith("orbital:")).map((m) => [m.name, m.startTime])));
    const resources = await page.evaluate(() => Object.fromEntries(performance.getEntriesByType("resource")
      .filter((r) => /\.(wasm|js)$/.test(new URL(r.name).pathname) && !/guests\//.test(r.name))
      .map((r) => [new URL(r.name).pathname, { start: r.startTime, end: r.responseEnd }])));
    return { navigation_to_first_frame_ms: load.first_frame_ms, navigation_to_load_event_ms: load.load_event_ms, marks, resources };
  });
  if (result.first_frame.error) throw new Error(`the app did not start: ${result.first_frame.error}`);
  await installFrameCounter();
  await waitFor("window.supervisor", () => has("get_process_list_json"), 30_000);

  await measure("default", async () => {
    if (await has("get_canvas_layout_json")) {
      await waitFor("the default scenario", async () => (await sv("get_canvas_layout_json")).ui.scenario === "default", 60_000, 250);
    }
    await sleep(3000);
    const ps = await processes();
    // As a person sees it: on this software renderer the guests are paced (render_quality.rs).
    const fps = { ...(await framesPerSecond()), drawn_at: await drawnAt() };
    const ceiling = (await sv("get_system_metrics_json")).syscall_ceiling ?? null;
    const paused = await pausedFramesPerSecond().catch((e) => ({ error: e.message }));
    // The same with the ceiling lifted (the guests flat out, as every IPC figure below runs).
    await setPacing("off");
    await sleep(2000);
    const fullSpeed = await framesPerSecond();
    // (The default scenario's update time is not a target; skipping it saves a minute of frames.)
    return { processes: ps.length, ...fps, syscall_ceiling: ceiling, paused, full_speed: fullSpeed };
  });

  // A minute of the default scenario, as a teacher would save it (recording starts at boot).
  await measure("recording_file", async () => recordingFile(60_000));

  // Quiet: only the protected system processes (init, terminal, idle) are left. When the steps
  // above were left out (ORBITAL_BENCH_ONLY), the startup scenario may still be spawning: killing
  // before it has would leave its processes running beside every figure below.
  await measure("quiet", async () => {
    if (await has("get_canvas_layout_json")) await waitForStartupScenario(() => sv("get_canvas_layout_json"));
    await waitForSettledProcesses(processes, { quietMs: 2000 });
    return { killed: await killUserProcesses(), processes: (await processes()).length };
  });

  await measure("raw_round_trip", async () => {
    const samples = [];
    for (let i = 0; i < 3; i++) samples.push(...(await rawRoundTrips(5000, 0)));
    return summary(samples);
  });
  await measure("raw_round_trip_1ms_gaps", async () => summary(await rawRoundTrips(3000, 1)));
  await measure("syscall_round_trip", async () => {
    // One idle process: a loop of YIELD, a syscall that never waits in the kernel.
    await guestSpawns("idle", 1, true);
    await sleep(1000);
    await sv("reset_syscall_latency");
    await sleep(5000);
    const s = await sv("get_syscall_latency_json");
    const profile = await cpuProfile(3000, join(ARTIFACTS, "idle-main.cpuprofile")).catch((e) => ({ error: e.message }));
    await killUserProcesses();
    if (!s.count) throw new Error("no syscall round trips were recorded in 5 s");
    return { ...s, workload: "one idle process (YIELD loop) besides the boot set", profile };
  });

  // The sender's burst against its baseline of the same shape (a raw worker<->main round trip
  // that also wakes a second worker, as a SEND to a blocked receiver does: the sender's answer
  // and the receiver's delivery), in alternating pairs (ABBA order), so that a change of the
  // machine's pace within the run falls on both sides: each pair's own ratios, then their median.
  await measure("back_to_back", async () => senderBursts(BURST_PAIRS));

  await measure("raw_spawn", async () => {
    const single = await rawSpawns(8, true);
    const row = await rawSpawns(64, false);
    return { median_ms: median(single.each_ms), row64_total_ms: row.total_ms, row64_median_ms: median(row.each_ms) };
  });
  await measure("shim_spawn", async () => {
    const before = requestCounts();
    const single = await shimSpawns(8, true);
    const row = await shimSpawns(64, false);
    const after = requestCounts();
    const fetched = {};
    for (const [path, n] of Object.entries(after)) if (n - (before[path] ?? 0) > 0) fetched[path] = n - (before[path] ?? 0);
    return { median_ms: median(single.each_ms), row64_total_ms: row.total_ms, row64_median_ms: median(row.each_ms), requests_for_72_workers: fetched };
  });
  await measure("spawn", async () => {
    const single = await guestSpawns("idle", 8, true);
    const row = await guestSpawns("idle", 64, false);
    await killUserProcesses();
    // Where a spawn's time goes on the main thread (the workers' own start-up is not in it).
    const profile = await (async () => {
      const p = cpuProfile(4000, join(ARTIFACTS, "spawn64-main.cpuprofile"));
      await guestSpawns("idle", 64, false).catch(() => {});
      return p;
    })().catch((e) => ({ error: e.message }));
    await killUserProcesses();
    return { median_ms: median(single.each_ms), row64_total_ms: row.total_ms, row64_median_ms: median(row.each_ms), profile };
  });

  await measure("raw_relay", async () => {
    const rates = [];
    for (let i = 0; i < 3; i++) rates.push(await rawRelay(20_000));
    return { round_trips_per_sec: median(rates), runs: rates };
  });
  // Pingpong against the relay through the main thread, alternating in the same page.
  await measure("pingpong", async () => {
    const r = await pingpongAgainstRelay(RELAY_PAIRS);
    await killUserProcesses();
    return r;
  });

  await measure("recording_pingpong", async () => {
    const r = await pingpongRecording(8, 2000);
    await killUserProcesses();
    const small = await pingpongRecordingSmall(12, 1000);
    await killUserProcesses();
    return { ...r, small };
  });

  await measure("crowd", async () => {
    // The crowd scenario itself (not an imitation through terminal spawns: many pingpongs in a row
    // chain instead of pairing): load_scenario, or the picker in a build without it.
    const how = (await has("load_scenario")) ? "window.supervisor.load_scenario" : "scenario picker";
    // The empty frame right before the crowd, as "after_kill" measures it right after: the
    // frames/s rows divide by the mean of the two, so a drift of the machine's pace during the
    // crowd falls on the baseline as well.
    await killUserProcesses();
    await sleep(2000);
    // The baseline at full resolution (an empty Bevy frame at 1280x800), and as shown.
    const emptyBefore = await atResolution("1", () => framesPerSecond());
    const emptyBeforeShown = { ...(await framesPerSecond()), drawn_at: await drawnAt() };
    await pickScenario("crowd");
    const ps = await waitFor("64 live processes", async () => {
      const ps = (await processes()).filter((p) => p.state !== "zombie");
      return ps.length >= 64 && ps;
    }, 120_000, 250).catch(async (e) => {
      const census = {};
      for (const p of await processes()) census[`${p.name}/${p.state}`] = (census[`${p.name}/${p.state}`] ?? 0) + 1;
      throw new Error(`${e.message}: ${JSON.stringify(census)}`);
    });
    await sleep(3000);
    // As a person sees it first (guests paced on this software renderer), then flat out.
    await setPacing("auto");
    await sleep(2000);
    const pacedFps = await framesPerSecond();
    const pacedUpdate = await updateTiming().catch((e) => ({ error: e.message }));
    await setPacing("off");
    await sleep(2000);
    const metrics = async () => ({ m: await sv("get_system_metrics_json"), at: await page.evaluate(() => performance.now()) });
    const a = await metrics();
    const fps = await framesPerSecond();
    const b = await metrics();
    const syscallsPerSec = ((b.m.syscalls - a.m.syscalls) * 1000) / (b.at - a.at);
    const paused = await pausedFramesPerSecond().then(async (r) => ({ ...r, drawn_at: await drawnAt() })).catch((e) => ({ error: e.message }));
    // The same drawing at full resolution: what the auto resolution gives on this renderer.
    const pausedFull = await atResolution("1", () => pausedFramesPerSecond()).catch((e) => ({ error: e.message }));
    const update = await updateTiming().catch((e) => ({ error: e.message }));
    // Right after it, in the same state: a fixed loop as long as that median, timed per frame.
    const fixedWork = update.error ? { error: `no update timing: ${update.error}` }
      : await fixedWorkTiming(update.median_ms).catch((e) => ({ error: e.message }));
    const mem = await memory();
    const profile = await cpuProfile(5000, join(ARTIFACTS, "crowd-main.cpuprofile")).catch((e) => ({ error: e.message }));
    return { loaded_by: how, processes: ps.length, syscalls_per_sec: syscallsPerSec, ...fps, paused, update, fixed_work: fixedWork, memory: mem, profile, paced: { ...pacedFps, update: pacedUpdate }, paused_full: pausedFull, empty_before: emptyBefore, empty_before_shown: emptyBeforeShown };
  });

  // Seeks into what the crowd left in the recording (it has run for over a minute by now).
  await measure("recording_seek", async () => recordingSeeks(41));

  await measure("after_kill", async () => {
    const killed = await killUserProcesses();
    await sleep(2000);
    const mem = await memory();
    const fps = await atResolution("1", () => framesPerSecond());
    const shown = { ...(await framesPerSecond()), drawn_at: await drawnAt() };
    const update = await updateTiming().catch((e) => ({ error: e.message }));
    // The crowd's fixed loop again, on the empty page: the spread with no guest running.
    const crowdMedian = result.crowd?.update?.median_ms;
    const fixedWork = typeof crowdMedian === "number"
      ? await fixedWorkTiming(crowdMedian).catch((e) => ({ error: e.message }))
      : { error: "no crowd update median to size the loop by" };
    const workers = await has("get_worker_list_json") ? (await sv("get_worker_list_json")).live.length : null;
    // The same empty frame at a quarter of the pixels: how much of a frame is per-pixel work.
    const quarter = await atResolution("1", async () => {
      await page.setViewportSize({ width: 640, height: 400 });
      await sleep(2000);
      try {
        return { ...(await framesPerSecond()), viewport_drawn_at: await drawnAt() };
      } finally {
        await page.setViewportSize({ width: 1280, height: 800 });
        await sleep(2000);
      }
    });
    return { killed, live_workers: workers, memory: mem, ...fps, shown, update, fixed_work: fixedWork, quarter_pixels: quarter };
  });
  await measure("ceiling", async () => {
    // The spawn ceiling: with the playground's limit (refused before anything is created), then
    // with the limit lifted (?max_guests=100000) until the browser itself fails to create a
    // guest's memory: the platform ceiling the limit sits under.
    await killUserProcesses();
    const limited = await spawnUntilStopped(400);
    // The second probe in a new renderer process: a reload kept the same one, whose address
    // space still held the first probe's guests for a while (one run found room for only 10).
    await page.context().close();
    page = await openPage();
    await page.goto(new globalThis.URL("?max_guests=100000", URL).href, { waitUntil: "load" });
    await waitFor("window.supervisor after the reload", () => has("get_process_list_json"), 240_000);
    await waitFor("the boot set", async () => (await processes()).length >= 3, 120_000, 250);
    await sleep(3000);
    await killUserProcesses();
    const platform = await spawnUntilStopped(400);
    return { limited, platform, workload: "`spawn idle` typed until refused (limited) or until a guest's WebAssembly.Memory could not be created (platform)" };
  });
  // Navigation to the first frame again, in fresh browser contexts (an empty HTTP cache each, as
  // a first visit), with nothing else running: the median of FIRST_FRAME_LOADS loads. The row
  // above is one load, the browser's first, and one load swings by a few hundred ms. Each load
  // of the app is paired with one of the start-up floor (`floor/`, src/bin/bevy_floor.rs: Bevy
  // and egui as the app sets them up, nothing of the playground), in ABBA order: the floor's
  // first frame is what no change to the playground's own work can go below on this machine.
  await measure("first_frame_loads", async () => {
    await page.context().close();
    await sleep(2000);
    const floorUrl = new globalThis.URL("floor/", URL).href;
    const floorThere = await fetch(floorUrl).then((r) => r.ok, () => false);
    const freshLoad = async (url) => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
      try {
        const p = await context.newPage();
        p.on("pageerror", (e) => pageErrors.push(`${url}: ${String(e?.message ?? e)}`));
        const load = await loadToFirstFrame(p, url);
        const marks = await p.evaluate(() => Object.fromEntries(performance.getEntriesByType("mark").filter((m) => m.name.startsWith("orbital:")).map((m) => [m.name.slice(8), Math.round(m.startTime)])));
        const canvas = await p.evaluate(() => { const c = document.getElementById("orbital-canvas"); return `${c.width}x${c.height}`; });
        return { ...load, marks, canvas };
      } finally {
        await context.close();
      }
    };
    const loads = [], floor = [];
    for (let i = 0; i < FIRST_FRAME_LOADS; i++) {
      const app = async () => loads.push(await freshLoad(URL));
      const bare = async () => floor.push(await freshLoad(floorUrl));
      if (!floorThere) await app();
      else if (i % 2 === 0) { await app(); await bare(); }
      else { await bare(); await app(); }
    }
    const first = (xs) => xs.map((l) => l.first_frame_ms);
    return {
      loads,
      median_first_frame_ms: median(first(loads)),
      median_load_event_ms: median(loads.map((l) => l.load_event_ms)),
      floor: floorThere
        ? {
          loads: floor,
          median_first_frame_ms: median(first(floor)),
          paired: pairedRatios(loads, floor, "first_frame_ms"),
          paired_difference_ms: median(loads.map((l, i) => l.first_frame_ms - floor[i].first_frame_ms)),
        }
        : { error: `no start-up floor at ${floorUrl}: \`cargo xtask bench\` builds it (or \`cargo xtask dist --floor\`)` },
    };
  });
} finally {
  result.page_errors = pageErrors;
  result.finished_at = new Date().toISOString();
  writeFileSync(OUT, JSON.stringify(result, null, 2));
  await browser.close();
}
log(`results written to ${OUT}`);
