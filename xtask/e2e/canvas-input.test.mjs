// Input and layout at low frame rates (the CPU slowed down with CDP's
// Emulation.setCPUThrottlingRate): a quick click (Playwright's plain `mouse.click`: the move, the
// press and the release arrive in one frame) coming from a panel selects the node under the
// pointer; processes spawned at the terminal (rogue, idle, sender) never overlap another node,
// neither when they appear nor six seconds later (layout JSON).
import { openPlayground, waitFor } from "./lib.mjs";

const t = await openPlayground("canvas-input", { width: 1280, height: 800 });
const page = t.page;
await t.waitForStartupScenario();

/** Pairs of node discs that overlap, as "a/b". */
function overlaps(l) {
  const out = [];
  for (let i = 0; i < l.nodes.length; i++) {
    for (let j = i + 1; j < l.nodes.length; j++) {
      const [a, b] = [l.nodes[i], l.nodes[j]];
      if (Math.hypot(a.x - b.x, a.y - b.y) < a.radius + b.radius) out.push(`${a.name} ${a.pid}/${b.name} ${b.pid}`);
    }
  }
  return out;
}

/** Frames per second the app draws, over `ms`. */
async function fps(ms = 3000) {
  const a = (await t.layout()).frame;
  await new Promise((r) => setTimeout(r, ms));
  return (((await t.layout()).frame - a) * 1000) / ms;
}

const cdp = await page.context().newCDPSession(page);
await cdp.send("Emulation.setCPUThrottlingRate", { rate: 6 });
const slow = await fps();

await t.check(`a quick click from a panel selects the node under the pointer at ${slow.toFixed(1)} frames/s`, async () => {
  const results = [];
  for (const pid of [1, 2, 3]) {
    // The pointer rests on a panel (the terminal's tab row) for a few frames first.
    const l = await t.layout();
    const tab = l.ui.controls.find((c) => c.name === "tab:terminal").rect;
    await page.mouse.move(tab.x + tab.width / 2, tab.y + tab.height / 2);
    await t.frames(3);
    const node = (await t.layout()).nodes.find((n) => n.pid === pid);
    if (!node) throw new Error(`pid ${pid} is not on the canvas`);
    // Move, press and release in one step: one frame sees all three.
    await page.mouse.click(node.x, node.y);
    let selected = null;
    try {
      await waitFor(`pid ${pid} to be selected`, async () => (await t.layout()).selected === pid, { timeoutMs: 15_000 });
      selected = pid;
    } catch {
      selected = (await t.layout()).selected;
    }
    if (selected !== pid) throw new Error(`clicked ${node.name} (pid ${pid}) at ${Math.round(node.x)},${Math.round(node.y)}: selected is ${selected}`);
    results.push(`${node.name} (${pid})`);
    await page.keyboard.press("Escape");
  }
  return `selected ${results.join(", ")}`;
});

await t.check("processes spawned at the terminal never land on another node, at any time", async () => {
  const seen = [];
  for (const program of ["rogue", "idle", "rogue", "sender", "idle", "rogue"]) {
    const before = new Set((await t.layout()).nodes.map((n) => n.pid));
    await t.sv((s, p) => s.send_input(`spawn ${p}`), program);
    // The first frame it is drawn in, then every frame for a while.
    const first = await waitFor(`${program} on the canvas`, async () => {
      const l = await t.layout();
      return l.nodes.some((n) => !before.has(n.pid)) && l;
    }, { timeoutMs: 60_000, intervalMs: 20 });
    const bad = overlaps(first);
    if (bad.length) throw new Error(`when ${program} appeared: ${bad.join(", ")}`);
    seen.push(first.nodes.find((n) => !before.has(n.pid)).pid);
  }
  const until = Date.now() + 6000;
  let checked = 0;
  while (Date.now() < until) {
    const l = await t.layout();
    const bad = overlaps(l);
    if (bad.length) throw new Error(`frame ${l.frame}: ${bad.join(", ")}`);
    checked++;
    await new Promise((r) => setTimeout(r, 100));
  }
  await t.screenshot("spawned-no-overlap.png");
  return `spawned pids ${seen.join(", ")}; no overlap in ${checked} layouts over 6 s`;
});

await cdp.send("Emulation.setCPUThrottlingRate", { rate: 1 });
await t.finish();
