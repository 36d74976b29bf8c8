// The page's JavaScript calls per pingpong hop (one message, one syscall serviced): a probe for
// working on the IPC figures (docs/BENCHMARKS.md). Not part of `cargo xtask bench`'s table.
//
//   cargo xtask serve --no-build --port 8011 &
//   cd xtask/e2e && ORBITAL_URL=http://127.0.0.1:8011/ node bench/calls.mjs
//
// Wraps Atomics.*, performance.now, Reflect.get, Promise.then and TypedArray.prototype.set in the
// page (not in the workers), kills the user processes, starts a pingpong pair with the guests flat
// out, and prints each call's count per hop over 4 s. The wrappers slow the page, so its rate is not a figure.
import { launch, supervisorOf, URL } from "../lib.mjs";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
const page = await context.newPage();
await page.addInitScript(() => {
  const C = (window.__calls = {});
  const wrap = (obj, name, label) => {
    const f = obj[name];
    obj[name] = function (...a) { C[label] = (C[label] ?? 0) + 1; return f.apply(this, a); };
  };
  for (const n of ["load", "store", "notify", "waitAsync", "add", "compareExchange"]) wrap(Atomics, n, "Atomics." + n);
  wrap(Performance.prototype, "now", "performance.now");
  wrap(Reflect, "get", "Reflect.get");
  wrap(Promise.prototype, "then", "Promise.then");
  // Typed arrays' copies (mailbox data and header words, both directions).
  wrap(Object.getPrototypeOf(Int8Array.prototype), "set", "TypedArray.set");
});
await page.goto(URL);
await page.waitForFunction(() => window.orbital?.state === "running", null, { timeout: 120000 });
const sv = supervisorOf(page);
await page.evaluate(() => window.supervisor.set_guest_pacing("off"));
for (const p of await sv("get_process_list_json")) if (!p.protected) await sv("send_input", `kill ${p.pid}`);
await sleep(2000);
await sv("send_input", "spawn pingpong"); await sleep(1500);
await sv("send_input", "spawn pingpong"); await sleep(3000);
const count = async () => {
  const ps = (await sv("get_process_list_json")).filter((p) => p.name === "pingpong");
  const calls = await page.evaluate(() => ({ ...window.__calls }));
  const m = await sv("get_system_metrics_json");
  return { n: ps.reduce((s, p) => s + p.metrics.ipc_received, 0), calls, syscalls: m.syscalls, at: Date.now() };
};
const a = await count();
await sleep(4000);
const b = await count();
const hops = b.n - a.n;
console.log(`hops ${hops}, ${(hops / 2 / ((b.at - a.at) / 1000)).toFixed(0)} round trips/s, syscalls ${b.syscalls - a.syscalls}`);
for (const k of Object.keys(b.calls).sort()) console.log(`${k}: ${((b.calls[k] - (a.calls[k] ?? 0)) / hops).toFixed(2)} per hop`);
await browser.close();
