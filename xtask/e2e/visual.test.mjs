// The visual playground in headless Chromium (SwiftShader): drag a node onto the kill zone and the
// process is gone (a protected one refuses); click a node and the inspector shows its pid; pause
// and the counters stop; step and exactly one syscall is serviced; load the broken scenario and
// its error shows while the running scenario stays; the crowd scenario runs with 64 processes.
// Screenshots and the crowd's frame timing go to $ORBITAL_ARTIFACTS (target/e2e).
//
// Run by `cargo xtask test` with ORBITAL_URL (the served site), ORBITAL_ARTIFACTS and CHROMIUM set.
// Every wait polls a condition (software rendering gives a few frames a second).
import { chromium } from 'playwright-core';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { emptySpot, nodesUnder } from './lib.mjs';

const URL = process.env.ORBITAL_URL ?? 'http://127.0.0.1:8080/';
const ARTIFACTS = process.env.ORBITAL_ARTIFACTS ?? '../../target/e2e';
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
mkdirSync(ARTIFACTS, { recursive: true });

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: [
    '--headless=new', '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--use-gl=angle', '--use-angle=swiftshader',
    '--enable-unsafe-swiftshader', '--disable-backgrounding-occluded-windows', '--disable-renderer-backgrounding',
    '--disable-background-timer-throttling',
  ],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
const logs = [];
page.on('console', (m) => logs.push(`[${m.type()}] ${m.text()}`));
page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));

let failed = false;
function check(condition, message) {
  if (!condition) throw new Error(message);
  console.log(`ok - ${message}`);
}

async function waitFor(what, fn, timeoutMs = 60_000, intervalMs = 200) {
  const start = Date.now();
  let last;
  while (Date.now() - start < timeoutMs) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e.message;
    }
    await page.waitForTimeout(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)?.slice(0, 400)})`);
}

const json = async (fn, ...args) => JSON.parse(await page.evaluate(([f, a]) => window.supervisor[f](...a), [fn, args]));
const layout = () => json('get_canvas_layout_json');
const processes = () => json('get_process_list_json');
const metrics = () => json('get_system_metrics_json');
const control = (l, name) => l.ui.controls.find((c) => c.name === name);
const center = (r) => ({ x: r.x + r.width / 2, y: r.y + r.height / 2 });
const shot = async (name) => {
  const path = join(ARTIFACTS, name);
  await page.screenshot({ path });
  console.log(`screenshot ${path}`);
};

/// Waits until the app has drawn `n` more frames (a software renderer may draw 2-15 a second).
async function frames(n = 2) {
  const start = (await layout()).frame;
  await waitFor(`${n} frames`, async () => (await layout()).frame >= start + n, 30_000, 50);
}

/// Puts the pointer on a node and waits until the app sees it hovered.
async function hover(node) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const at = (await layout()).nodes.find((n) => n.pid === node.pid) ?? node;
    await page.mouse.move(at.x, at.y);
    await frames(2);
    const l = await layout();
    if (l.hovered === node.pid) return at;
  }
  throw new Error(`the app never saw the pointer over pid ${node.pid}`);
}

/// Waits until no node moves more than a pixel over two frames. The view glides when the canvas
/// overlay changes (the slow-motion box comes and goes with pause), and a press must land on the
/// node where it is when the app sees the press, as a person would aim after the motion stops.
async function settled(timeoutMs = 15_000) {
  const started = Date.now();
  let before = await layout();
  for (;;) {
    await frames(2);
    const now = await layout();
    const moved = Math.max(0, ...now.nodes.map((n) => {
      const b = before.nodes.find((m) => m.pid === n.pid);
      return b ? Math.hypot(n.x - b.x, n.y - b.y) : Infinity;
    }));
    if (moved <= 1) return now;
    if (Date.now() - started > timeoutMs) {
      console.log(`warning: nodes still moving ${moved.toFixed(1)} px per two frames after ${timeoutMs} ms`);
      return now;
    }
    before = now;
  }
}

/// Drags a node with the real mouse in small steps, a frame or more per step.
async function drag(node, to, steps = 10) {
  await settled();
  const from = await hover(node);
  await page.mouse.down();
  await frames(2);
  for (let i = 1; i <= steps; i++) {
    await page.mouse.move(from.x + ((to.x - from.x) * i) / steps, from.y + ((to.y - from.y) * i) / steps);
    await frames(1);
  }
  const l = await layout();
  if (l.dragging !== node.pid) console.log(`warning: dragging ${l.dragging}, wanted ${node.pid}`);
  await frames(2);
  await page.mouse.up();
  await frames(2);
}

/// A click the app can follow at a few frames a second: move, press and release in separate frames.
async function clickAt(p) {
  await page.mouse.move(p.x, p.y);
  await frames(2);
  await page.mouse.down();
  await frames(1);
  await page.mouse.up();
  await frames(1);
}

/// Clicks an egui control. egui counts a click only if the button is released within 0.8 s of
/// the press, which at two frames a second needs press and release in the same frame.
async function clickEgui(p) {
  await page.mouse.move(p.x, p.y);
  await frames(2);
  await page.mouse.click(p.x, p.y);
  await frames(2);
}

async function clickControl(name) {
  const c = await waitFor(`control ${name}`, async () => control(await layout(), name));
  await clickEgui(center(c.rect));
}

async function pickScenario(name) {
  await clickControl('scenario_picker');
  const item = await waitFor(`scenario:${name} in the picker`, async () => control(await layout(), `scenario:${name}`), 20_000);
  await clickEgui(center(item.rect));
}

/// Waits for at least `min` rate labels, then checks over 5 frames that no label covers a node
/// disc or another label or leaves the canvas, and that the title (and slow-motion box) covers no
/// node.
async function labelsClear(where, min) {
  let l = await waitFor(`${min}+ rate labels (${where})`, async () => { const l = await layout(); return l.labels.length >= min && l; }, 60_000);
  let seen = 0;
  for (let sample = 0; sample < 5; sample++, await frames(1), l = await layout()) {
    if (l.labels.length < min) throw new Error(`${where}: only ${l.labels.length} rate labels: ${JSON.stringify(l.labels)}`);
    seen = Math.max(seen, l.labels.length);
    for (const label of l.labels) {
      const under = nodesUnder(l, label.rect);
      if (under.length) throw new Error(`${where}: label ${JSON.stringify(label)} covers ${under}`);
      const r = label.rect;
      const overlapping = l.labels.filter((o) => o !== label && o.rect.x < r.x + r.width && r.x < o.rect.x + o.rect.width && o.rect.y < r.y + r.height && r.y < o.rect.y + o.rect.height);
      if (overlapping.length) throw new Error(`${where}: label ${JSON.stringify(label)} overlaps ${JSON.stringify(overlapping)}`);
      // The words are painted clipped to the canvas: a label across its edge would show cut.
      const c = l.canvas;
      if (r.x < c.x - 2 || r.y < c.y - 2 || r.x + r.width > c.x + c.width + 2 || r.y + r.height > c.y + c.height + 2) {
        throw new Error(`${where}: label ${JSON.stringify(label)} is not inside the canvas ${JSON.stringify(c)}`);
      }
    }
    if (l.ui.overlay && nodesUnder(l, l.ui.overlay).length) throw new Error(`${where}: the title ${JSON.stringify(l.ui.overlay)} covers ${nodesUnder(l, l.ui.overlay)}`);
  }
  return `up to ${seen} rate labels (${l.labels.map((x) => `${x.text} ${x.from}->${x.to}`).join(', ')}), none on a node or another label or outside the canvas, title clear of nodes, over 5 frames`;
}

/// A spot on the canvas with no node near it, to focus the canvas for keyboard shortcuts.
try {
  await page.goto(URL);
  await waitFor('the app to run', () => page.evaluate(() => window.orbital?.state === 'running' || window.orbital?.state === 'failed' && `failed: ${window.orbital.error}`), 240_000, 500);
  const state = await page.evaluate(() => window.orbital.state);
  check(state === 'running', `app running (state ${state})`);

  // Default scenario on screen: init, terminal, idle + receiver, sender and a pingpong pair.
  let l = await waitFor('the default scenario on the canvas', async () => {
    const l = await layout();
    const names = l.nodes.map((n) => n.name);
    return l.ui.scenario === 'default' && ['init', 'terminal', 'idle', 'receiver', 'sender', 'pingpong'].every((n) => names.includes(n)) && l;
  }, 120_000);
  check(l.nodes.every((n) => n.x >= 0 && n.y >= 0 && n.x <= 1280 && n.y <= 800), 'every node is inside the window');
  console.log(`render status: ${l.ui.render_status}`);
  check(/Software renderer|MSAA off/.test(l.ui.render_status), `software rendering detected: ${l.ui.render_status}`);
  await waitFor('messages flowing', async () => (await metrics()).ipc_messages > 20, 60_000);
  await page.waitForTimeout(1500);
  // The busy edges carry rate labels, none on a node or on another label.
  check(true, `default: ${await labelsClear('default', 1)}`);
  await shot('default.png');

  // Click a node: it is selected and the inspector shows its pid.
  const sender = l.nodes.find((n) => n.name === 'sender');
  await clickAt(await hover(sender));
  l = await waitFor('the inspector to show the sender', async () => {
    const l = await layout();
    return l.selected === sender.pid && l.ui.inspector_pid === sender.pid && l;
  }, 20_000);
  check(l.ui.inspector_pid === sender.pid, `inspector shows pid ${sender.pid}`);
  await page.waitForTimeout(1000);
  await shot('inspector.png');

  // Pause (space): the counters stop.
  await clickAt(emptySpot(l));
  await page.keyboard.press('Space');
  await waitFor('paused', async () => (await metrics()).time_control === 'paused', 20_000);
  await page.waitForTimeout(500);
  const pausedA = await metrics();
  await page.waitForTimeout(2000);
  const pausedB = await metrics();
  check(pausedB.syscalls === pausedA.syscalls && pausedB.ipc_messages === pausedA.ipc_messages,
    `paused: syscalls stay at ${pausedA.syscalls}, messages at ${pausedA.ipc_messages}`);

  // Step (s): exactly one syscall is serviced.
  await page.keyboard.press('s');
  await waitFor('the step', async () => (await metrics()).syscalls > pausedB.syscalls, 20_000);
  await page.waitForTimeout(1500);
  const stepped = await metrics();
  check(stepped.syscalls === pausedB.syscalls + 1, `step serviced exactly one syscall (${pausedB.syscalls} -> ${stepped.syscalls})`);
  check(stepped.time_control === 'paused', 'still paused after the step');

  // Resume (space).
  await page.keyboard.press('Space');
  await waitFor('running again', async () => (await metrics()).time_control !== 'paused', 20_000);

  // Drag a protected process onto the kill zone: refused, with the reason.
  l = await layout();
  const init = l.nodes.find((n) => n.name === 'init');
  await drag(init, center(l.kill_zone));
  l = await waitFor('the refusal', async () => {
    const l = await layout();
    return l.ui.toasts.some((t) => t.includes('protected')) && l;
  }, 20_000);
  check((await processes()).some((p) => p.pid === init.pid), `init (pid ${init.pid}) survives the kill zone: "${l.ui.toasts.find((t) => t.includes('protected'))}"`);

  // Drag a user process onto the kill zone: it is gone. (Not idle: the crowd below keeps the
  // boot's idle, PID 3.)
  l = await layout();
  const victim = l.nodes.find((n) => n.name === 'sender') ?? l.nodes.find((n) => !n.protected && n.name !== 'idle');
  await drag(victim, center(l.kill_zone));
  await waitFor(`pid ${victim.pid} (${victim.name}) to be gone`, async () => !(await processes()).some((p) => p.pid === victim.pid), 20_000);
  await waitFor('its node to be gone', async () => !(await layout()).nodes.some((n) => n.pid === victim.pid), 20_000);
  check(true, `dragging ${victim.name} (pid ${victim.pid}) onto the kill zone killed it`);

  // Load the broken scenario: its error shows, the default scenario keeps running.
  const before = (await processes()).length;
  await pickScenario('broken');
  l = await waitFor('the scenario error', async () => {
    const l = await layout();
    return l.ui.scenario_error && l;
  }, 30_000);
  console.log(`scenario error: ${l.ui.scenario_error}`);
  check(/line \d+, column \d+/.test(l.ui.scenario_error), 'the error names line and column');
  check(l.ui.scenario === 'default', 'the default scenario is still the current one');
  const m1 = await metrics();
  await page.waitForTimeout(1500);
  const m2 = await metrics();
  check((await processes()).length === before && m2.ipc_messages > m1.ipc_messages, 'its processes keep running');
  await shot('broken-scenario.png');

  // The crowd: 64 processes at full IPC load (loaded through window.supervisor.load_scenario,
  // the same LoadScenario message the picker writes; the picker itself was used above).
  await page.evaluate(() => window.supervisor.load_scenario('crowd'));
  await waitFor('64 processes', async () => (await metrics()).processes === 64, 180_000, 500);
  l = await waitFor('64 nodes', async () => {
    const l = await layout();
    return l.nodes.length === 64 && l.ui.scenario === 'crowd' && l;
  }, 60_000);
  check(l.nodes.length === 64, 'crowd: 64 nodes on the canvas');
  // Every process of the crowd can be told apart, from its first seconds (the crowd starts near
  // the size it settles at, and a small disc writes its pid in a smaller font): its name beside
  // its disc where there is room, else what fits inside the disc, its pid at least (what the
  // process list and `kill` go by). Checked again once the crowd has settled, below.
  const everyNodeReadable = async (when, timeoutMs) => {
    let unreadable = [];
    const nodes = await waitFor(`every crowd node named or written inside (${when})`, async () => {
      const nodes = (await layout()).nodes;
      unreadable = nodes.filter((n) => !n.named && !n.inside).map((n) => `${n.pid} (radius ${n.radius.toFixed(1)} px)`);
      return nodes.length === 64 && unreadable.length === 0 && nodes;
    }, timeoutMs).catch((e) => { throw new Error(`${e.message}; neither: ${unreadable.join(', ')}`); });
    const inside = nodes.filter((n) => n.inside);
    const smallest = Math.min(...inside.map((n) => n.inside_font_px));
    check(inside.every((n) => n.inside_font_px >= 9), `crowd (${when}): every node named beside its disc or written inside it (${inside.length} inside, the smallest in ${smallest} px type)`);
  };
  await everyNodeReadable('within 10 s of loading', 10_000);
  const crowdIdles = (await processes()).filter((p) => p.name === 'idle').map((p) => p.pid);
  check(crowdIdles.length === 2 && crowdIdles[0] === 3 && crowdIdles[1] > 7,
    `crowd keeps the boot's idle (PID 3) and spawns its second idle: idles ${crowdIdles}`);
  // Let the layout settle, then measure the app's update over crowd frames only.
  await page.waitForTimeout(10_000);
  await page.evaluate(() => window.supervisor.reset_frame_timing());
  await page.waitForTimeout(30_000);
  const m3 = await metrics();
  await page.waitForTimeout(5000);
  const m4 = await metrics();
  const ipcPerSec = (m4.ipc_messages - m3.ipc_messages) / 5;
  const timing = await json('get_frame_timing_json');
  const fps = await page.evaluate(() => new Promise((resolve) => {
    let frames = 0;
    const start = performance.now();
    const tick = () => { frames++; if (performance.now() - start < 3000) requestAnimationFrame(tick); else resolve(frames / ((performance.now() - start) / 1000)); };
    requestAnimationFrame(tick);
  }));
  const report = { processes: m4.processes, ipc_per_sec: ipcPerSec, update_ms: timing, browser_fps: fps, render_status: l.ui.render_status };
  writeFileSync(join(ARTIFACTS, 'crowd-timing.json'), JSON.stringify(report, null, 2));
  console.log(`crowd: ${JSON.stringify(report)}`);
  check(ipcPerSec > 0, `crowd IPC flowing: ${ipcPerSec.toFixed(0)} messages/s`);
  check(timing.frames > 0, `crowd update time per frame: median ${timing.median_ms.toFixed(2)} ms, p95 ${timing.p95_ms.toFixed(2)} ms over ${timing.frames} frames`);
  // Rate labels in the crowd: none covers a node or another label (a busy edge with no clear
  // spot goes without one), and the scenario title covers no node.
  const crowdLabels = await labelsClear('crowd', 0);
  check(true, `crowd: ${crowdLabels}`);
  await everyNodeReadable('settled', 5_000);
  await shot('crowd.png');
} catch (e) {
  failed = true;
  console.error(`FAIL: ${e.message}`);
  try { await shot('failure.png'); } catch {}
} finally {
  writeFileSync(join(ARTIFACTS, 'visual-console.log'), logs.join('\n'));
  await browser.close();
}
process.exit(failed ? 1 : 0);
