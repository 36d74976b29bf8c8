// Input and layout at low frame rates (the CPU slowed down with CDP's
// Emulation.setCPUThrottlingRate): a quick click (Playwright's plain `mouse.click`: the move, the
// press and the release arrive in one frame) coming from a panel selects the node under the
// pointer; keys typed at once after a quick click on the terminal's input go into it; a quick
// flick of a node onto the kill zone kills it; processes spawned at the terminal (rogue, idle, sender) never overlap another node,
// neither when they appear nor six seconds later (layout JSON). Then, at full speed: a node panned
// under a panel does not show through it (the graph is drawn only inside the canvas area).
import { openPlayground, screenshotPixels, waitFor } from "./lib.mjs";

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

// egui focuses a text field when the click's frame ends; at a few frames per second the first keys
// typed after a quick click arrive in that same frame. They must reach the terminal, not the app's
// shortcuts (`p` switches the theme, `s` steps, Space pauses).
await t.check(`a quick click on the terminal's input, then typing at once, types into the terminal at ${slow.toFixed(1)} frames/s`, async () => {
  const terminal = (await t.processes()).find((p) => p.name === "terminal");
  if (!terminal) throw new Error("no terminal process");
  const before = (await t.layout()).ui;
  const lines = [];
  for (const word of ["spaces", "steps"]) {
    // The pointer rests on the canvas first, so egui last saw it away from the field.
    const c = (await t.layout()).canvas;
    await page.mouse.move(c.x + c.width / 2, c.y + c.height / 2);
    await t.frames(3);
    const field = (await t.layout()).ui.controls.find((c) => c.name === "terminal_input").rect;
    await page.mouse.click(field.x + field.width / 2, field.y + field.height / 2);
    await page.keyboard.type(`echo ${word} ps`);
    await page.keyboard.press("Enter");
    const out = await waitFor(`the terminal to print "${word} ps"`, async () => {
      const con = await t.sv((s, pid) => s.get_console_json(pid), terminal.pid);
      return con.lines.includes(`${word} ps`) && con;
    }, { timeoutMs: 20_000 }).catch(async () => {
      const con = await t.sv((s, pid) => s.get_console_json(pid), terminal.pid);
      const ui = (await t.layout()).ui;
      throw new Error(`typed "echo ${word} ps" after a quick click: the terminal's last lines ${JSON.stringify(con.lines.slice(-3))}; theme ${ui.theme}, speed ${ui.speed}`);
    });
    lines.push(out.lines.find((l) => l === `${word} ps`));
  }
  const after = (await t.layout()).ui;
  if (after.theme !== before.theme || after.speed !== before.speed) {
    throw new Error(`the keys also acted as shortcuts: theme ${before.theme} -> ${after.theme}, speed ${before.speed} -> ${after.speed}`);
  }
  await page.keyboard.press("Escape");
  return `the terminal printed ${JSON.stringify(lines)}; theme ${after.theme} and speed ${after.speed} unchanged`;
});

// A quick drag: the press on the node, the moves and the release in the kill zone reach the app
// within a frame or two. bevy_picking decides what a press hits from where the pointer is at the
// end of the frame, so the press used to hit nothing and the node stayed.
await t.check(`a quick drag onto the kill zone kills the process at ${slow.toFixed(1)} frames/s`, async () => {
  const done = [];
  for (let i = 0; i < 3; i++) {
    const before = new Set((await t.processes()).map((p) => p.pid));
    await t.sv((s) => s.send_input("spawn idle"));
    const victim = await waitFor("the new idle on the canvas", async () => {
      const l = await t.layout();
      return l.nodes.find((n) => !before.has(n.pid) && n.name === "idle");
    }, { timeoutMs: 30_000 });
    // The pointer rests on it for a few frames (the layout settles it), then one quick flick.
    await page.mouse.move(victim.x, victim.y);
    await t.frames(3);
    const l = await t.layout();
    const node = l.nodes.find((n) => n.pid === victim.pid);
    const zone = { x: l.kill_zone.x + l.kill_zone.width / 2, y: l.kill_zone.y + l.kill_zone.height / 2 };
    await page.mouse.move(node.x, node.y);
    await page.mouse.down();
    await page.mouse.move(zone.x, zone.y, { steps: 4 });
    await page.mouse.up();
    await waitFor(`pid ${victim.pid} to be killed`, async () => {
      const p = (await t.processes()).find((p) => p.pid === victim.pid);
      return !p || p.state === "zombie";
    }, { timeoutMs: 15_000 }).catch(async () => {
      const n = (await t.layout()).nodes.find((n) => n.pid === victim.pid);
      throw new Error(`flicked idle (pid ${victim.pid}) from ${Math.round(node.x)},${Math.round(node.y)} to the kill zone at ${Math.round(zone.x)},${Math.round(zone.y)}: still alive, its node at ${n ? `${Math.round(n.x)},${Math.round(n.y)}` : "(none)"}`);
    });
    done.push(victim.pid);
  }
  return `killed pids ${done.join(", ")}, each with one quick flick`;
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

const pixels = (points) => screenshotPixels(page, points);
const near = (a, b) => a.every((v, i) => Math.abs(v - b[i]) <= 3);

// The graph's lines (arrows, traffic, rings, endpoint boxes, the kill zone's frame) are the
// triangles of one mesh (src/graph/lines.rs): selecting init must draw its white selection ring
// around the disc, outside the state ring, all the way round; Escape must take it away.
await t.check("selecting a node draws its selection ring all the way round; Escape takes it away", async () => {
  const whiteAngles = async () => {
    await t.frames(3);
    const node = (await t.layout()).nodes.find((n) => n.pid === 1);
    const points = [];
    for (let a = 0; a < 36; a++) {
      const angle = (a * Math.PI) / 18;
      for (let d = node.radius + 3; d <= node.radius * 1.7 + 6; d += 1) {
        points.push([node.x + Math.cos(angle) * d, node.y + Math.sin(angle) * d]);
      }
    }
    const per = points.length / 36;
    const px = await pixels(points);
    let count = 0;
    for (let a = 0; a < 36; a++) {
      if (px.slice(a * per, (a + 1) * per).some((p) => p.every((v) => v >= 235))) count++;
    }
    return { count, node };
  };
  await page.keyboard.press("Escape");
  const before = await whiteAngles();
  const { node } = before;
  await page.mouse.click(node.x, node.y);
  await waitFor("init selected", async () => (await t.layout()).selected === 1, { timeoutMs: 15_000 });
  // Off the node, so it is selected and not hovered.
  const c = (await t.layout()).canvas;
  await page.mouse.move(c.x + 10, c.y + c.height - 10);
  const selected = await waitFor("the selection ring", async () => {
    const s = await whiteAngles();
    return s.count >= 33 && s;
  }, { timeoutMs: 20_000 }).catch(async () => whiteAngles());
  await t.screenshot("selection-ring.png");
  await page.keyboard.press("Escape");
  const after = await whiteAngles();
  if (selected.count < 33) throw new Error(`selected init: white ring pixels at only ${selected.count} of 36 angles`);
  if (before.count > 3 || after.count > 3) throw new Error(`not selected: white at ${before.count} (before) and ${after.count} (after) of 36 angles`);
  return `white ring at ${selected.count} of 36 angles when selected; ${before.count} before, ${after.count} after Escape`;
});

// egui leaves its panels unfilled and the graph camera draws only inside the canvas area (with full
// effects on a backdrop of the canvas colour, the clear colour being the panels'; with reduced
// effects, as here, the window is one colour): a node panned under a panel must not show through.
await t.check("the graph is drawn only inside the canvas: a node panned under the inspector panel does not show", async () => {
  await page.keyboard.press("Escape");
  const l = await t.layout();
  const c = l.canvas;
  const node = l.nodes.find((n) => n.pid === 1);
  // A spot of the inspector panel with nothing on it (below its hint), and one of the empty canvas.
  const panelSpot = [c.x + c.width + 150, c.y + c.height * 0.6];
  const [panel, canvas] = await pixels([panelSpot, [c.x + 8, c.y + c.height - 8]]);
  // On SwiftShader effects are reduced: the whole window is the background colour (no backdrop).
  if (!near(panel, canvas)) throw new Error(`with reduced effects the panel (${panel}) and the canvas (${canvas}) should share the background colour`);
  const [body] = await pixels([[node.x, node.y]]);
  // Pan right (right-button drag on an empty spot) until init sits under the inspector panel.
  const dx = panelSpot[0] - node.x;
  const dy = panelSpot[1] - node.y;
  const from = { x: c.x + 30, y: c.y + c.height / 2 };
  await page.mouse.move(from.x, from.y);
  await t.frames(2);
  await page.mouse.down({ button: "right" });
  for (let i = 1; i <= 10; i++) {
    await page.mouse.move(from.x + (dx * i) / 10, from.y + (dy * i) / 10);
    await t.frames(1);
  }
  await page.mouse.up({ button: "right" });
  const moved = await waitFor("init under the inspector panel", async () => {
    const n = (await t.layout()).nodes.find((n) => n.pid === 1);
    return n.x > c.x + c.width + n.radius + 4 && n;
  }, { timeoutMs: 30_000 });
  await t.frames(2);
  const ring = [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 5.5].map((a) => [moved.x + Math.cos(a) * moved.radius * 0.5, moved.y + Math.sin(a) * moved.radius * 0.5]);
  const under = await pixels([[moved.x, moved.y], ...ring]);
  const shown = under.filter((p) => !near(p, panel));
  await t.screenshot("node-under-panel.png");
  if (shown.length) throw new Error(`init's disc (${body}) at ${Math.round(moved.x)},${Math.round(moved.y)} shows through the panel (${panel}): ${shown.map(String).join(" ")}`);
  return `panel ${panel}, canvas ${canvas}, init's disc ${body}; at ${Math.round(moved.x)},${Math.round(moved.y)} under the panel all ${under.length} samples are the panel's`;
});
await t.finish();
