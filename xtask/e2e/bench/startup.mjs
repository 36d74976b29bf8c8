// Start-up, two sites side by side: page loads alternating A, B, B, A, ... in one browser, each in
// a fresh context, and the `orbital:*` start-up marks of each (ms after navigation), with the
// medians and the paired differences (B - A). A probe for start-up changes (docs/BENCHMARKS.md);
// not part of `cargo xtask bench`'s table, which measures one site.
//
//   cargo xtask dist --out /tmp/site-new                              # B: build the change first
//   cargo xtask serve --no-build --out target/site --port 8020 &      # A, e.g. main's release site
//   cargo xtask serve --no-build --out /tmp/site-new --port 8022 &    # B, the change
//   cd xtask/e2e && A=http://127.0.0.1:8020/ B=http://127.0.0.1:8022/ N=12 node bench/startup.mjs
//
// N pairs (8); LATENCY=ms adds that round-trip latency to every request of the page (Chromium's
// network emulation), for how a change fares on a school network rather than localhost. A and B
// may be the same site with different query knobs (`?spares=3`).
import { launch, median as med } from "../lib.mjs";
const [A, B] = [process.env.A, process.env.B];
const N = Number(process.env.N ?? 8);
const browser = await launch();
const rows = { A: [], B: [] };
async function load(url) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  if (process.env.LATENCY) {
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: Number(process.env.LATENCY), downloadThroughput: Number(process.env.DOWN ?? -1), uploadThroughput: -1 });
  }
  await page.goto(url);
  await page.waitForFunction(() => window.orbital?.state === "running", null, { timeout: 60000 });
  await new Promise((r) => setTimeout(r, 1500));
  const m = await page.evaluate(() => {
    const o = {};
    for (const m of performance.getEntriesByType("mark")) if (m.name.startsWith("orbital:")) o[m.name.slice(8)] = m.startTime;
    const res = performance.getEntriesByType("resource");
    const guests = res.filter((e) => e.name.includes("/guests/"));
    o.guestReq = guests.length;
    o.firstGuestStart = Math.min(...guests.map((e) => e.startTime));
    const app = res.find((e) => e.name.endsWith("_bg.wasm"));
    o.appWasmEnd = app?.responseEnd;
    o.canvas = `${document.getElementById("orbital-canvas").width}x${document.getElementById("orbital-canvas").height}`;
    return o;
  });
  await context.close();
  return m;
}
for (let i = 0; i < N; i++) {
  for (const [k, url] of i % 2 ? [["B", B], ["A", A]] : [["A", A], ["B", B]]) {
    const m = await load(url);
    rows[k].push(m);
    console.log(k, Object.entries(m).map(([a, b]) => `${a}:${typeof b === "number" ? Math.round(b) : b}`).join(" "));
  }
}
for (const key of ["checks-done", "wasm-started", "guests-loaded", "app-built", "first-frame"]) {
  const a = med(rows.A.map((r) => r[key])), b = med(rows.B.map((r) => r[key]));
  const pairs = rows.A.map((r, i) => rows.B[i][key] - r[key]);
  console.log(`${key.padEnd(14)} A ${Math.round(a)}  B ${Math.round(b)}  paired B-A median ${Math.round(med(pairs))}`);
}
for (const key of ["guests-loaded", "app-built", "first-frame"]) {
  const d = (r) => r[key] - r["wasm-started"];
  console.log(`${key} after wasm-started: A ${Math.round(med(rows.A.map(d)))}  B ${Math.round(med(rows.B.map(d)))}`);
}
await browser.close();
