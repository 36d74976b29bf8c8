// Browser benchmarks (a benchmark, not a timed test): run with `cargo xtask bench-web`.
// In one page and one run: the raw Atomics round trip worker <-> main thread (the floor any
// syscall path can reach), the syscall round trip the guest shims measure, pingpong round trips
// per second, spawn-to-first-syscall, navigation-to-first-frame, and the .wasm sizes.
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { brotliCompressSync, constants as zlib } from "node:zlib";
import { join } from "node:path";
import { launch, URL, waitFor } from "./lib.mjs";

const OUT = process.env.ORBITAL_BENCH_OUT ?? "bench-web.json";
const DIST_REPORT = process.env.ORBITAL_DIST_REPORT;
const PROFILE = process.env.ORBITAL_PROFILE ?? "unknown";
const SITE = process.env.ORBITAL_SITE;
const WINDOW_MS = 3000;

const browser = await launch();
const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
const errors = [];
page.on("pageerror", (e) => errors.push(String(e)));
await page.goto(URL);
const orbital = await waitFor("the app", () => page.evaluate(() => (window.orbital?.state !== "loading" ? window.orbital : null)), { timeoutMs: 180_000 });
if (orbital.state !== "running") throw new Error(`the app did not start: ${orbital.error}`);
const sv = (fn, arg) => page.evaluate(([src, arg]) => new Function("s", "arg", `return (${src})(s, arg)`)(window.supervisor, arg), [fn.toString(), arg]);
const processes = async () => JSON.parse(await sv((s) => s.get_process_list_json()));
await waitFor("the boot set", async () => (await processes()).some((p) => p.name === "idle"));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// A quiet system: let the startup scenario settle, then kill all it added but one idle.
let last = "";
let stableSince = Date.now();
await waitFor("the process list to settle", async () => {
  const pids = (await processes()).map((p) => p.pid).join(" ");
  if (pids !== last) [last, stableSince] = [pids, Date.now()];
  return Date.now() - stableSince > 3000;
}, { timeoutMs: 90_000, intervalMs: 200 });
{
  const list = await processes();
  const idle = list.find((p) => p.name === "idle" && p.state !== "zombie");
  for (const v of list.filter((p) => !p.protected && p.state !== "zombie" && p.pid !== idle?.pid)) {
    await sv((s, pid) => s.send_input(`kill ${pid}`), v.pid);
  }
}
await sleep(1000);

// 1. Raw Atomics round trips: a worker stores 1 and notifies; the main thread, woken by
//    Atomics.waitAsync exactly as the supervisor's servicer is, stores 0 and notifies back.
//    Back to back, and with a 1 ms pause between trips (as idle's YIELD parks between calls).
const rawRoundTrips = (n, gapMs) => page.evaluate(async ([n, gapMs]) => {
  const source = `onmessage = ({ data }) => {
    const a = new Int32Array(data.sab);
    const park = new Int32Array(new SharedArrayBuffer(4));
    const times = new Float64Array(data.n);
    let busyMs = 0;
    for (let i = 0; i < data.n; i++) {
      const t = performance.now();
      Atomics.store(a, 0, 1);
      Atomics.notify(a, 0);
      while (Atomics.load(a, 0) === 1) Atomics.wait(a, 0, 1);
      const dt = performance.now() - t;
      times[i] = dt * 1000;
      busyMs += dt;
      if (data.gapMs > 0) Atomics.wait(park, 0, 0, data.gapMs);
    }
    postMessage({ times, totalMs: busyMs });
  };`;
  const worker = new Worker(URL.createObjectURL(new Blob([source], { type: "text/javascript" })));
  const a = new Int32Array(new SharedArrayBuffer(8));
  let done = false;
  const answer = () => {
    while (!done) {
      if (Atomics.load(a, 0) === 1) {
        Atomics.store(a, 0, 0);
        Atomics.notify(a, 0);
      }
      const r = Atomics.waitAsync(a, 0, 0);
      if (r.async) {
        r.value.then(answer);
        return;
      }
    }
  };
  answer();
  const result = await new Promise((resolve) => {
    worker.onmessage = (e) => resolve(e.data);
    worker.postMessage({ sab: a.buffer, n, gapMs });
  });
  done = true;
  worker.terminate();
  const t = Array.from(result.times).sort((x, y) => x - y);
  const pct = (p) => t[Math.round((t.length - 1) * p)];
  return { count: t.length, median_us: pct(0.5), p90_us: pct(0.9), p99_us: pct(0.99), mean_us: (result.totalMs * 1000) / n };
}, [n, gapMs]);
const raw = await rawRoundTrips(10_000, 0);
const rawGapped = await rawRoundTrips(2_000, 1);

// 2. Syscall round trips with the boot set only (idle yields about a thousand times a second).
await sv((s) => s.reset_syscall_latency());
await sleep(WINDOW_MS);
const syscallQuiet = JSON.parse(await sv((s) => s.get_syscall_latency_json()));

// 3. Under load: a pingpong pair. Round trips per second from the ping side's receive count.
async function spawn(program) {
  const before = new Set((await processes()).map((p) => p.pid));
  await sv((s, line) => s.send_input(line), `spawn ${program}`);
  return waitFor(`a new ${program}`, async () => (await processes()).find((p) => p.name === program && !before.has(p.pid)));
}
const pings = [(await spawn("pingpong")).pid, (await spawn("pingpong")).pid];
await sleep(1000);
await sv((s) => s.reset_syscall_latency());
const received = async () => (await processes()).filter((p) => pings.includes(p.pid)).map((p) => p.metrics.ipc_received);
const r0 = await received();
const t0 = Date.now();
await sleep(WINDOW_MS);
const r1 = await received();
const secs = (Date.now() - t0) / 1000;
const pingpongPerSec = Math.min(...r1.map((n, i) => n - r0[i])) / secs;
const syscallLoaded = JSON.parse(await sv((s) => s.get_syscall_latency_json()));
const metrics = JSON.parse(await sv((s) => s.get_system_metrics_json()));

// 4. Spawn to first syscall, for a few fresh receivers.
const spawnTimes = [];
for (let i = 0; i < 5; i++) {
  const { pid } = await spawn("receiver");
  const fresh = await waitFor("a new receiver's first syscall", async () => {
    const p = (await processes()).find((x) => x.pid === pid);
    return p?.spawn_to_first_syscall_ms != null ? p : null;
  });
  spawnTimes.push(fresh.spawn_to_first_syscall_ms);
  await sv((s, pid) => s.send_input(`kill ${pid}`), fresh.pid);
}
spawnTimes.sort((x, y) => x - y);
await browser.close();

// 5. Sizes of the served modules (brotli from the dist report when it precompressed, else measured here).
const sizes = {};
const report = DIST_REPORT ? JSON.parse(readFileSync(DIST_REPORT, "utf8")) : null;
for (const f of report?.files ?? []) {
  if (!f.file.endsWith(".wasm") && !f.file.endsWith(".js")) continue;
  let brotli = f.brotli_bytes;
  let note = "brotli q11 (dist)";
  if (brotli == null && SITE && f.file === "orbital_playground_bg.wasm") {
    const data = readFileSync(join(SITE, f.file));
    brotli = brotliCompressSync(data, { params: { [zlib.BROTLI_PARAM_QUALITY]: 9, [zlib.BROTLI_PARAM_LGWIN]: 24 } }).length;
    note = "brotli q9 (measured here)";
  }
  sizes[f.file] = { raw_bytes: f.raw_bytes, brotli_bytes: brotli ?? null, brotli_note: brotli == null ? null : note };
}

const results = {
  profile: PROFILE,
  when: new Date().toISOString(),
  navigation_to_first_frame_ms: orbital.navigationToFirstFrameMs,
  raw_atomics_round_trip_us: raw,
  raw_atomics_round_trip_us_1ms_gaps: rawGapped,
  syscall_round_trip_us_boot_set: syscallQuiet,
  syscall_round_trip_us_under_pingpong: syscallLoaded,
  pingpong_round_trips_per_sec: pingpongPerSec,
  spawn_to_first_syscall_ms: { samples: spawnTimes, median: spawnTimes[Math.floor(spawnTimes.length / 2)] },
  servicer: metrics.servicer,
  page_errors: errors,
  sizes,
};
writeFileSync(OUT, JSON.stringify(results, null, 2));

const f1 = (x) => (x == null ? "-" : x.toFixed(1));
const mib = (b) => (b == null ? "-" : (b / 1048576).toFixed(2) + " MiB");
console.log(`\nbrowser benchmark (${PROFILE} build), one page, one run`);
console.log(`                                   median     p99      mean    count`);
const row = (name, s) => console.log(`  ${name.padEnd(32)} ${f1(s.median_us).padStart(6)} us ${f1(s.p99_us).padStart(7)} us ${f1(s.mean_us).padStart(6)} us ${String(s.count).padStart(7)}`);
row("raw Atomics, back to back", raw);
row("syscall, pingpong (back to back)", syscallLoaded);
row("raw Atomics, 1 ms gaps", rawGapped);
row("syscall, boot set (idle: 1 ms)", syscallQuiet);
const ratio = (a, b) => `${(a.median_us / b.median_us).toFixed(2)}x median, ${(a.mean_us / b.mean_us).toFixed(2)}x mean`;
console.log(`  syscall / raw, back to back: ${ratio(syscallLoaded, raw)}`);
console.log(`  syscall / raw, 1 ms gaps:    ${ratio(syscallQuiet, rawGapped)}`);
console.log(`  pingpong round trips/s:        ${pingpongPerSec.toFixed(0)}`);
console.log(`  spawn to first syscall:        median ${f1(results.spawn_to_first_syscall_ms.median)} ms (${spawnTimes.map(f1).join(", ")})`);
console.log(`  navigation to first frame:     ${f1(orbital.navigationToFirstFrameMs)} ms`);
for (const [file, s] of Object.entries(sizes)) console.log(`  ${file.padEnd(32)} ${mib(s.raw_bytes)} raw, ${mib(s.brotli_bytes)} ${s.brotli_note ?? ""}`);
if (errors.length) console.log(`  page errors: ${errors.join("; ")}`);
console.log(`written to ${OUT}`);
