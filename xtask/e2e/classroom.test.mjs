// Classroom features and "nothing lost", end to end in headless Chromium:
// - the seed's pids survive the startup scenario (init 1, terminal 2, idle 3);
// - window.supervisor.load_scenario refuses an unknown name clearly;
// - a killed process is listed as ended with its reason (JSON and the process panel), and the
//   panel's Clear button (clicked where the app says it drew it) forgets it;
// - the projector theme (p), the help overlay (?) and slow motion (-: 1/4x, 1/16x) showing the
//   selected process's syscall flow in a box that covers no node (the graph is fitted below it).
//   Screenshots: ended.png, projector.png, help.png,
//   slow-motion.png in $ORBITAL_ARTIFACTS (target/e2e).
import { nodesUnder, openPlayground, waitFor } from "./lib.mjs";

const t = await openPlayground("classroom");
const { page } = t;
const live = (list) => list.filter((p) => p.state !== "zombie");

await t.check("the default scenario keeps the seed's pids: init 1, terminal 2, idle 3", async () => {
  await waitFor("the default scenario with its programs", async () => {
    const l = await t.layout();
    const names = live(await t.processes()).map((p) => p.name);
    return l.ui.scenario === "default" && ["receiver", "sender", "pingpong"].every((n) => names.includes(n));
  }, { timeoutMs: 120_000, intervalMs: 250 });
  const list = live(await t.processes());
  const seed = list.filter((p) => p.pid <= 3).map((p) => `${p.pid}:${p.name}`).join(" ");
  if (seed !== "1:init 2:terminal 3:idle") throw new Error(`expected 1:init 2:terminal 3:idle, got ${seed}`);
  const idles = list.filter((p) => p.name === "idle");
  if (idles.length !== 1) throw new Error(`expected one idle, got ${idles.map((p) => p.pid)}`);
  return list.map((p) => `${p.pid}:${p.name}`).join(" ");
});

await t.check("load_scenario refuses an unknown name with the list of scenarios", async () => {
  const error = await t.sv((s) => {
    try {
      s.load_scenario("no-such-scenario");
      return null;
    } catch (e) {
      return String(e.message ?? e);
    }
  });
  if (!error || !/unknown scenario/.test(error) || !/crowd/.test(error)) throw new Error(`no clear error: ${error}`);
  if ((await t.layout()).ui.scenario !== "default") throw new Error("the current scenario changed");
  return error;
});

let victim;
await t.check("a killed process is listed as ended with its reason and final metrics", async () => {
  victim = live(await t.processes()).find((p) => p.name === "sender");
  if (!victim) throw new Error("no sender running");
  await t.sv((s, pid) => s.send_input(`kill ${pid}`), victim.pid);
  await waitFor("the sender to leave the process list", async () => !(await t.processes()).some((p) => p.pid === victim.pid));
  const ended = await t.sv((s) => s.get_ended_processes_json());
  const entry = ended.find((p) => p.pid === victim.pid);
  if (!entry) throw new Error(`pid ${victim.pid} not in get_ended_processes_json: ${JSON.stringify(ended)}`);
  if (entry.name !== "sender" || entry.exit.kind !== "killed" || !/killed by pid 2/.test(entry.exit.text)) {
    throw new Error(`wrong entry: ${JSON.stringify(entry)}`);
  }
  if (!(entry.metrics.syscall_count > 0 && entry.metrics.ipc_sent > 0)) throw new Error(`no final metrics: ${JSON.stringify(entry.metrics)}`);
  const m = await t.sv((s) => s.get_system_metrics_json());
  const c = m.messages;
  if (c.sent !== c.delivered + c.queued + c.dropped) throw new Error(`message counts do not add up: ${JSON.stringify(c)}`);
  if (m.ended_processes < 1) throw new Error(`system metrics count ${m.ended_processes} ended processes`);
  await t.frames(3);
  await t.screenshot("ended.png");
  return `${entry.name} (pid ${entry.pid}): ${entry.exit.text}, ${entry.metrics.syscall_count} syscalls, ${entry.metrics.ipc_sent} sent; messages ${JSON.stringify(c)}`;
});

await t.check("the process panel's Clear button forgets ended processes", async () => {
  await t.clickControl("clear_logs");
  await waitFor("the ended list to be empty", async () => (await t.sv((s) => s.get_ended_processes_json())).length === 0, { timeoutMs: 20_000 });
  const m = await t.sv((s) => s.get_system_metrics_json());
  if (m.ended_processes !== 0) throw new Error(`system metrics still count ${m.ended_processes}`);
  return `ended list empty; traffic log ${m.traffic_log_len} entries since the clear`;
});

/** A spot on the canvas with no node near it; clicking it gives the canvas the keyboard. */
function emptySpot(l) {
  const c = l.canvas;
  for (let fy = 0.3; fy <= 0.8; fy += 0.1) {
    for (let fx = 0.1; fx <= 0.6; fx += 0.1) {
      const p = { x: c.x + c.width * fx, y: c.y + c.height * fy };
      if (l.nodes.every((n) => Math.hypot(n.x - p.x, n.y - p.y) > n.radius + 40)) return p;
    }
  }
  return { x: c.x + 10, y: c.y + c.height / 2 };
}

async function focusCanvas() {
  const p = emptySpot(await t.layout());
  await page.mouse.move(p.x, p.y);
  await t.frames(2);
  await page.mouse.down();
  await t.frames(1);
  await page.mouse.up();
  await t.frames(1);
}

/** Presses a key and waits until the layout shows `done`. Retries: a few frames a second. */
async function pressUntil(key, what, done) {
  for (let attempt = 0; attempt < 3; attempt++) {
    await page.keyboard.press(key);
    try {
      return await waitFor(what, async () => {
        const l = await t.layout();
        return done(l) && l;
      }, { timeoutMs: 10_000 });
    } catch (e) {
      if (attempt === 2) throw e;
    }
  }
}

await t.check("p switches to the projector theme (high contrast, large type)", async () => {
  await focusCanvas();
  await pressUntil("p", "the projector theme", (l) => l.ui.theme === "projector");
  await t.frames(4);
  await t.screenshot("projector.png");
  return "theme projector";
});

await t.check("? shows the help overlay listing every shortcut, ? hides it", async () => {
  await pressUntil("?", "the help overlay", (l) => l.ui.help_visible);
  await t.frames(4);
  await t.screenshot("help.png");
  await pressUntil("?", "the help overlay to close", (l) => !l.ui.help_visible);
  return "shown and hidden";
});

await t.check("slow motion (- to 1/4x, - to 1/16x) shows the selected process's syscall flow", async () => {
  // Select idle (pid 3, a yield loop: always a syscall on its way) by clicking its node.
  let l = await t.layout();
  const target = l.nodes.find((n) => n.name === "idle");
  if (!target) throw new Error("no idle node");
  for (let attempt = 0; attempt < 4 && (await t.layout()).selected !== target.pid; attempt++) {
    const at = (await t.layout()).nodes.find((n) => n.pid === target.pid);
    await page.mouse.move(at.x, at.y);
    await t.frames(2);
    await page.mouse.down();
    await t.frames(1);
    await page.mouse.up();
    await t.frames(2);
  }
  if ((await t.layout()).selected !== target.pid) throw new Error("could not select idle");
  // Click selected a node; the keyboard stays with the canvas.
  await pressUntil("-", "1/4x", (l) => l.ui.speed === "1/4x");
  l = await pressUntil("-", "1/16x", (l) => l.ui.speed === "1/16x");
  const flow = await waitFor("the syscall flow of idle", async () => {
    const f = (await t.layout()).ui.syscall_flow;
    return f?.pid === target.pid && f;
  }, { timeoutMs: 10_000 });
  // The box covers no node: the camera fits the graph below it (easing there over a few frames).
  const clear = await waitFor("the syscall-flow box to cover no node", async () => {
    const l = await t.layout();
    const box = l.ui.syscall_flow_box;
    return box && l.nodes.length > 0 && nodesUnder(l, box).length === 0 && { box, nodes: l.nodes.length };
  }, { timeoutMs: 30_000, intervalMs: 200 }).catch(async (e) => {
    const l = await t.layout();
    throw new Error(`${e.message}; box ${JSON.stringify(l.ui.syscall_flow_box)} covers ${nodesUnder(l, l.ui.syscall_flow_box ?? { x: 0, y: 0, width: 0, height: 0 })}`);
  });
  // At 1/16x (4 syscalls a second for the whole system) the flow visibly moves between stages.
  const stages = new Set([flow.stage]);
  await t.frames(3);
  await t.screenshot("slow-motion.png");
  const after = await t.layout();
  const covered = nodesUnder(after, after.ui.syscall_flow_box);
  if (covered.length) throw new Error(`the syscall-flow box ${JSON.stringify(after.ui.syscall_flow_box)} covers ${covered}`);
  await waitFor("the flow to pass through two stages", async () => {
    stages.add((await t.layout()).ui.syscall_flow?.stage);
    return stages.size >= 2;
  }, { timeoutMs: 30_000, intervalMs: 50 });
  const m0 = await t.sv((s) => s.get_system_metrics_json());
  await waitFor("two seconds of slow motion", async () => (await t.sv((s) => s.get_system_metrics_json())).uptime_ns > m0.uptime_ns + 2e9, { timeoutMs: 20_000 });
  const m1 = await t.sv((s) => s.get_system_metrics_json());
  const perSec = (m1.syscalls - m0.syscalls) / ((m1.uptime_ns - m0.uptime_ns) / 1e9);
  if (perSec > 12) throw new Error(`1/16x serviced ${perSec.toFixed(1)} syscalls/s (limit 4/s)`);
  const last = (await t.layout()).ui.syscall_flow;
  return `stages seen: ${[...stages].join(", ")}; last ${last?.last}; ${perSec.toFixed(1)} syscalls/s at 1/16x; box ${JSON.stringify(clear.box)} clear of all ${clear.nodes} nodes`;
});

await t.finish();
