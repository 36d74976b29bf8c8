// The canvas's internal resolution (web/render_scale.js): on this software renderer (SwiftShader)
// "auto" draws 3/4 of the canvas's pixels across and down, and the status line says so; 1/2 picked
// in the quality picker applies at once; at 1/2 a click, a hover and a drag onto the kill zone land
// on the node under the pointer and the nodes are drawn where the layout JSON says; the choice is
// remembered across a reload, `?resolution=` overrides it, and a bad value says what is allowed.
import { URL, openPlayground, screenshotPixels, waitFor } from "./lib.mjs";

const t = await openPlayground("render-scale", { width: 1280, height: 800 });
const page = t.page;
const warnings = [];
page.on("console", (m) => {
  if (m.type() === "warning") warnings.push(m.text());
});
await t.waitForStartupScenario();

/** The canvas's drawing buffer and shown size, and what the page says it draws at. */
const canvasState = () =>
  page.evaluate(() => {
    const c = document.querySelector("#orbital-canvas");
    const r = c.getBoundingClientRect();
    const s = window.orbitalRenderScale;
    return { width: c.width, height: c.height, cssWidth: r.width, cssHeight: r.height, choice: s?.choice, scale: s?.scale, software: s?.software, renderer: s?.renderer };
  });
const describe = (s) => `drawing buffer ${s.width}x${s.height} for ${s.cssWidth}x${s.cssHeight} CSS px, choice ${s.choice}, scale ${s.scale}`;
/** Waits until the drawing buffer is `scale` of the canvas's shown size (within a pixel). */
async function drawnAt(scale, what) {
  let last = null;
  return waitFor(what, async () => {
    last = await canvasState();
    const ok = Math.abs(last.width - last.cssWidth * scale) <= 1.01 && Math.abs(last.height - last.cssHeight * scale) <= 1.01;
    return ok && last;
  }, { timeoutMs: 30_000, intervalMs: 200 }).catch((e) => {
    throw new Error(`${e.message}; last seen: ${last ? describe(last) : "nothing"}`);
  });
}
async function waitRunning() {
  await waitFor("the app running", () => page.evaluate(() => window.orbital?.state === "running"), { timeoutMs: 120_000, intervalMs: 200 });
  await t.waitForStartupScenario();
}

await t.check("auto draws 3/4 of the canvas's pixels across and down on a software renderer, and the status line says so", async () => {
  const s = await drawnAt(0.75, "the drawing buffer at 3/4");
  if (!s.software) throw new Error(`the page did not see a software renderer in "${s.renderer}"`);
  if (s.choice !== "auto") throw new Error(`choice ${s.choice}, expected auto`);
  const status = await waitFor("the status line", async () => {
    const st = (await t.layout()).ui.render_status;
    return /drawn at 3\/4 resolution \(auto\)/.test(st) && st;
  }, { timeoutMs: 20_000 }).catch(async () => { throw new Error(`status: ${(await t.layout()).ui.render_status}`); });
  return `${describe(s)} on "${s.renderer}"; status: ${status}`;
});

await t.check("1/2 picked in the quality picker applies at once; the status line follows", async () => {
  await t.clickControl("quality_picker");
  await t.clickControl("resolution:0.5");
  const s = await drawnAt(0.5, "the drawing buffer at 1/2");
  if (s.choice !== "0.5") throw new Error(`choice ${s.choice}`);
  await page.keyboard.press("Escape");
  const status = await waitFor("the status line", async () => {
    const st = (await t.layout()).ui.render_status;
    return /drawn at 1\/2 resolution \(your setting\)/.test(st) && st;
  }, { timeoutMs: 20_000 });
  return `${describe(s)}; status: ${status}`;
});

const pixels = (points) => screenshotPixels(page, points);
const distance = (a, b) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));

await t.check("at 1/2 every node is drawn where the layout JSON says, and a click, a hover and a drag land on the node under the pointer", async () => {
  // Settle: the view glides to fit a canvas area that changed (the panels' widths round to the new
  // pixel grid), and the layout moves nodes for a while after a scenario starts.
  let l = await waitFor("the nodes to stand still", async () => {
    const a = await t.layout();
    await t.frames(2);
    const b = await t.layout();
    const still = a.nodes.length === b.nodes.length && a.nodes.every((n, i) => Math.hypot(n.x - b.nodes[i].x, n.y - b.nodes[i].y) <= 0.5);
    return still && b;
  }, { timeoutMs: 60_000, intervalMs: 100 });
  const c = l.canvas;
  const background = (await pixels([[c.x + 6, c.y + c.height - 6]]))[0];
  const centres = await pixels(l.nodes.map((n) => [n.x, n.y]));
  const blank = l.nodes.filter((n, i) => distance(centres[i], background) < 24);
  if (blank.length) throw new Error(`nodes with the background colour ${background} at their centre: ${blank.map((n) => `${n.name} ${n.pid} (${centres[l.nodes.indexOf(n)]})`).join(", ")}`);

  const idle = l.nodes.find((n) => n.name === "idle");
  await page.mouse.move(idle.x, idle.y);
  await t.frames(2);
  await page.mouse.down();
  await t.frames(1);
  await page.mouse.up();
  await waitFor("idle selected", async () => (await t.layout()).selected === idle.pid, { timeoutMs: 15_000 });

  l = await t.layout();
  const sender = l.nodes.find((n) => n.name === "sender");
  await page.mouse.move(sender.x, sender.y);
  await waitFor("sender hovered", async () => (await t.layout()).hovered === sender.pid, { timeoutMs: 15_000 });
  await page.mouse.down();
  await t.frames(2);
  const zone = { x: l.kill_zone.x + l.kill_zone.width / 2, y: l.kill_zone.y + l.kill_zone.height / 2 };
  for (let i = 1; i <= 8; i++) {
    await page.mouse.move(sender.x + ((zone.x - sender.x) * i) / 8, sender.y + ((zone.y - sender.y) * i) / 8);
    await t.frames(1);
  }
  await page.mouse.up();
  await waitFor("the sender killed by the drop", async () => {
    const p = (await t.processes()).find((p) => p.pid === sender.pid);
    return !p || p.state === "zombie";
  }, { timeoutMs: 20_000 });
  await t.screenshot("render-scale-half.png");
  return `${l.nodes.length} nodes drawn at their layout positions (background ${background}); idle ${idle.pid} selected by a click, sender ${sender.pid} hovered and killed by a drop on the kill zone`;
});

await t.check("the choice is remembered across a reload; ?resolution= overrides it; a bad value says what is allowed and uses auto", async () => {
  await page.reload();
  await waitRunning();
  const remembered = await drawnAt(0.5, "the drawing buffer at 1/2 after a reload");
  await page.goto(`${URL}?resolution=1`);
  await waitRunning();
  const full = await drawnAt(1, "the drawing buffer at full resolution with ?resolution=1");
  if (full.choice !== "1") throw new Error(`choice ${full.choice}`);
  warnings.length = 0;
  await page.goto(`${URL}?resolution=2`);
  await waitRunning();
  const auto = await drawnAt(0.75, "auto (3/4) with ?resolution=2");
  const said = warnings.find((w) => w.includes("?resolution=2 is not one of"));
  if (!said) throw new Error(`no warning naming the bad value; warnings: ${warnings.join(" | ") || "none"}`);
  // Leave this browser's choice as it was found.
  await page.evaluate(() => window.orbitalRenderScale.set("auto"));
  return `after a reload: ${describe(remembered)}; ?resolution=1: ${full.width}x${full.height}; ?resolution=2: ${auto.width}x${auto.height}, "${said}"`;
});

await t.finish();
