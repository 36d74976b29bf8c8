// Probe: does pausing (Space after a click on the canvas) or a relay window change a pingpong
// pair's rate afterwards? Plain windows, then windows each after a pause, then each after a
// relay (no pause), then plain again. Not part of `cargo xtask bench`.
//   cd xtask/e2e && ORBITAL_URL=http://127.0.0.1:8130/ node bench/ppmodes.mjs
import { emptySpot, launch, openForIpc, URL } from "../lib.mjs";
import { relayViaMainInPage } from "./relay.mjs";

const WINDOW_MS = Number(process.env.WINDOW_MS ?? 1500);
const N = Number(process.env.N ?? 5);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const browser = await launch();
const { page, sv } = await openForIpc(browser, URL);
await page.evaluate(() => window.supervisor.set_guest_pacing("off"));
const before = new Set((await sv("get_process_list_json")).map((p) => p.pid));
await sv("send_input", "spawn pingpong");
await sleep(1000);
await sv("send_input", "spawn pingpong");
await sleep(4000);
const received = async () => {
  const ps = (await sv("get_process_list_json")).filter((p) => p.name === "pingpong" && !before.has(p.pid));
  return { n: ps.reduce((s, p) => s + p.metrics.ipc_received, 0), at: await page.evaluate(() => performance.now()) };
};
const window_ = async () => {
  const a = await received();
  await sleep(WINDOW_MS);
  const b = await received();
  return Math.round(((b.n - a.n) / 2) * 1000 / (b.at - a.at));
};
/** A click on an empty spot of the canvas (so the terminal's text field lets go of the keys). */
const clickEmpty = async () => {
  const spot = emptySpot(await sv("get_canvas_layout_json"));
  await page.mouse.click(spot.x, spot.y, { delay: 150 });
};
const pause = async (on) => {
  await clickEmpty();
  await page.keyboard.press("Space");
  for (;;) {
    const m = await sv("get_system_metrics_json");
    if ((m.time_control === "paused") === on) break;
    await sleep(100);
  }
};
const phases = {
  plain: async () => window_(),
  after_pause: async () => { await pause(true); await sleep(1000); await pause(false); await sleep(300); return window_(); },
  after_click: async () => { await clickEmpty(); await sleep(300); return window_(); },
  after_relay: async () => { const r = await page.evaluate(relayViaMainInPage, 30000); await sleep(300); return [await window_(), Math.round(r)]; },
};
const order = (process.env.PHASES ?? "plain,after_pause,plain,after_relay,plain,after_click,plain").split(",");
for (const name of order) {
  const rates = [];
  for (let i = 0; i < N; i++) rates.push(await phases[name]());
  console.log(name.padEnd(12), JSON.stringify(rates));
}
await browser.close();
