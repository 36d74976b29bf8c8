// The playground end to end in headless Chromium: boot, spawn through window.supervisor (the same
// path as typing into the terminal), IPC and memory counters move, kill ends the process and its
// worker, even a guest that spins without syscalls.
import { openPlayground, waitFor } from "./lib.mjs";

const t = await openPlayground("playground", {
  // Every size the app gives its canvas, from the start (see the start-up check below).
  initScript: () => {
    window.__canvasSizes = [];
    for (const prop of ["width", "height"]) {
      const own = Object.getOwnPropertyDescriptor(HTMLCanvasElement.prototype, prop);
      Object.defineProperty(HTMLCanvasElement.prototype, prop, {
        get: own.get,
        set(value) {
          if (this.id === "orbital-canvas") window.__canvasSizes.push(`${prop}=${value}`);
          own.set.call(this, value);
        },
      });
    }
  },
});
const { page } = t;

await t.check("start-up: the guest modules are requested once each, while the app's module loads; the canvas starts at its shown size", async () => {
  const seen = await page.evaluate(() => {
    const started = performance.getEntriesByName("orbital:wasm-started")[0]?.startTime;
    const guests = performance.getEntriesByType("resource").filter((e) => new URL(e.name).pathname.includes("/guests/"));
    const canvas = document.getElementById("orbital-canvas");
    return { started, guests: guests.map((e) => ({ path: new URL(e.name).pathname, at: e.startTime })), sizes: window.__canvasSizes, shown: `width=${canvas.width} height=${canvas.height}` };
  });
  // index.html starts these requests (prefetchForApp) before the app's module has started.
  const paths = seen.guests.map((g) => g.path);
  const twice = paths.filter((p, i) => paths.indexOf(p) !== i);
  if (paths.length < 3 || twice.length) throw new Error(`guest module requests: ${paths.join(" ")}${twice.length ? `; twice: ${twice.join(" ")}` : ""}`);
  const late = seen.guests.filter((g) => !(g.at < seen.started));
  if (late.length) throw new Error(`requested only after the app's module started (${Math.round(seen.started)} ms): ${late.map((g) => `${g.path} at ${Math.round(g.at)} ms`).join(", ")}`);
  // Bevy's default window (1280x720) first, then the page's size, cost a second surface set-up.
  const sizes = seen.sizes.join(" ");
  if (!sizes || seen.sizes.slice(0, 2).sort().join(" ") !== seen.shown.split(" ").sort().join(" ")) {
    throw new Error(`the canvas was sized ${sizes || "never"}, and is now ${seen.shown}`);
  }
  return `${paths.length} guest modules requested before ${Math.round(seen.started)} ms; canvas sizes set: ${sizes}`;
});

await t.check("the emoji face is fetched once, after the app's module started, not inside it (src/fonts.rs)", async () => {
  const fonts = await waitFor("the emoji face's response", () =>
    page.evaluate(() => {
      const started = performance.getEntriesByName("orbital:wasm-started")[0]?.startTime;
      const faces = performance
        .getEntriesByType("resource")
        .filter((e) => new URL(e.name).pathname.endsWith("/assets/fonts/NotoEmoji-Regular.ttf"))
        .map((e) => ({ at: e.startTime, status: e.responseStatus, bytes: e.encodedBodySize }));
      return faces.length ? { started, faces } : null;
    }),
  );
  if (fonts.faces.length !== 1) throw new Error(`requested ${fonts.faces.length} times`);
  const [face] = fonts.faces;
  if (face.status !== 200) throw new Error(`HTTP ${face.status}`);
  if (!(face.at >= fonts.started)) throw new Error(`requested at ${Math.round(face.at)} ms, before the app started (${Math.round(fonts.started)} ms)`);
  return `HTTP 200, ${face.bytes} bytes on the wire, requested at ${Math.round(face.at)} ms (the app started at ${Math.round(fonts.started)} ms)`;
});

const byName = (list, name) => list.filter((p) => p.name === name && p.state !== "zombie");
const workerUrls = () => page.workers().map((w) => w.url());
/** Guest worker ids the browser lists (the host starts each from the shim's Blob URL + `#worker=<id>`). */
const browserWorkerIds = () => workerUrls().map((u) => Number(/[?&#]worker=(\d+)$/.exec(u)?.[1])).filter((id) => id > 0);

let boot;
await t.check("the boot set runs: init, terminal, idle, each in its own worker", async () => {
  // One snapshot of both lists (the startup scenario starts its programs as soon as the boot settles).
  let workers;
  boot = await waitFor("init, terminal and idle, each with a live worker", async () => {
    const [list, live] = await t.sv((s) => [s.get_process_list_json(), s.get_worker_list_json()]);
    const names = ["init", "terminal", "idle"];
    const ok = names.every((n) => byName(list, n).some((p) => p.worker_id != null && live.live.some((w) => w.pid === p.pid && w.worker_id === p.worker_id)));
    workers = live;
    return ok ? list : null;
  });
  for (const name of ["init", "terminal", "idle"]) {
    const p = byName(boot, name).find((p) => workers.live.some((w) => w.pid === p.pid && w.worker_id === p.worker_id));
    await waitFor(`the browser to list worker ${p.worker_id} of ${name}`, () => browserWorkerIds().includes(p.worker_id));
  }
  return boot.map((p) => `${p.pid}:${p.name}(${p.state})`).join(" ");
});

await t.check("a clean slate: what the startup scenario spawned is killed through the terminal", async () => {
  // The playground's startup scenario keeps the boot's idle (pid 3) and adds its own programs once
  // the boot has settled; wait until the process list stops changing, then kill all but idle.
  const victims = await t.startupVictims();
  for (const v of victims) await t.sv((s, pid) => s.send_input(`kill ${pid}`), v.pid);
  await waitFor("the killed processes to leave the list (or end by themselves)", async () => {
    const now = await t.processes();
    return victims.every((v) => !now.some((p) => p.pid === v.pid && p.state !== "zombie"));
  });
  return `killed ${victims.map((p) => `${p.pid}:${p.name}`).join(" ") || "nothing"}`;
});

await t.check("terminal waits for input (Blocked in RECEIVE), idle keeps yielding", async () => {
  await waitFor("terminal blocked on receive", async () => {
    const term = byName(await t.processes(), "terminal")[0];
    return term?.state === "blocked" && term.blocked_on === "receive";
  });
  const idle0 = byName(await t.processes(), "idle")[0].metrics.syscall_count;
  const idle1 = await waitFor("idle's syscall count to rise by 50", async () => {
    const n = byName(await t.processes(), "idle")[0].metrics.syscall_count;
    return n >= idle0 + 50 ? n : null;
  });
  return `idle syscalls ${idle0} -> ${idle1}`;
});

/** Spawns `program` through the terminal and returns the new process (other features may spawn too). */
async function spawn(program) {
  const before = new Set((await t.processes()).map((p) => p.pid));
  await t.sv((s, line) => s.send_input(line), `spawn ${program}`);
  return waitFor(`a new ${program}`, async () => (await t.processes()).find((p) => p.name === program && !before.has(p.pid)));
}
const mine = async (pids) => (await t.processes()).filter((p) => pids.includes(p.pid));

let pings = [];
await t.check("spawn pingpong twice through send_input; IPC counters rise", async () => {
  const m0 = await t.sv((s) => s.get_system_metrics_json());
  pings = [(await spawn("pingpong")).pid, (await spawn("pingpong")).pid];
  const m1 = await waitFor("1000 more IPC messages", async () => {
    const m = await t.sv((s) => s.get_system_metrics_json());
    return m.ipc_messages >= m0.ipc_messages + 1000 ? m : null;
  });
  const [a, b] = await waitFor("both pingpongs to have sent and received", async () => {
    const p = await mine(pings);
    return p.length === 2 && p.every((x) => x.metrics.ipc_sent > 100 && x.metrics.ipc_received > 100) ? p : null;
  });
  const traffic = await t.sv((s) => s.get_ipc_traffic_json(10));
  if (traffic.length === 0) throw new Error("the IPC traffic log is empty");
  const endpoints = await t.sv((s) => s.get_endpoint_list_json());
  if (!endpoints.some((e) => e.owner === a.pid) || !endpoints.some((e) => e.owner === b.pid)) {
    throw new Error(`no inbox endpoints for pids ${a.pid}, ${b.pid}: ${JSON.stringify(endpoints)}`);
  }
  return `ipc_messages ${m0.ipc_messages} -> ${m1.ipc_messages}; pid ${a.pid} sent ${a.metrics.ipc_sent}, pid ${b.pid} sent ${b.metrics.ipc_sent}`;
});

let memhog;
await t.check("spawn memhog; its memory grows", async () => {
  memhog = await spawn("memhog");
  const first = memhog.memory;
  const grown = await waitFor("memhog's memory to grow by 4 MiB", async () => {
    const [m] = await mine([memhog.pid]);
    return m && m.memory >= first + 4 * 1024 * 1024 ? m : null;
  });
  return `memory ${first} -> ${grown.memory} bytes (allocated ${grown.allocated_bytes})`;
});

await t.screenshot("playground-running.png");

async function killAndCheckGone(p) {
  if (!browserWorkerIds().includes(p.worker_id)) throw new Error(`worker ${p.worker_id} of pid ${p.pid} is not running before the kill`);
  const terminated0 = (await t.sv((s) => s.get_worker_list_json())).terminated;
  await t.sv((s, pid) => s.send_input(`kill ${pid}`), p.pid);
  await waitFor(`pid ${p.pid} to leave the process list`, async () => !(await t.processes()).some((x) => x.pid === p.pid));
  await waitFor(`worker ${p.worker_id} to be terminated`, async () => {
    const w = await t.sv((s) => s.get_worker_list_json());
    return !w.live.some((x) => x.pid === p.pid) && w.terminated > terminated0;
  });
  // The browser's own list of workers: the terminated one is gone.
  await waitFor(`the browser to drop worker ${p.worker_id}`, async () => !browserWorkerIds().includes(p.worker_id));
}

await t.check("kill memhog by pid: the process and its worker are gone", async () => {
  await killAndCheckGone(memhog);
  return `pid ${memhog.pid}, worker ${memhog.worker_id}`;
});

await t.check("kill a spinner (no syscalls at all): the process and its worker are gone", async () => {
  const spinner = await spawn("spinner");
  await waitFor("spinner to print (then spin)", async () => (await t.processes()).find((p) => p.pid === spinner.pid)?.metrics.syscall_count >= 1);
  await killAndCheckGone(spinner);
  return `pid ${spinner.pid}, worker ${spinner.worker_id}`;
});

await t.check("a guest that traps (crasher) becomes a Zombie with the trap message; its worker ends", async () => {
  const crasher = await spawn("crasher");
  const zombie = await waitFor("crasher to trap", async () =>
    (await mine([crasher.pid])).find((p) => p.state === "zombie"),
  );
  if (zombie.exit?.kind !== "trapped") throw new Error(`exit is ${JSON.stringify(zombie.exit)}, not a trap`);
  await waitFor("crasher's worker to be terminated", async () => {
    const w = await t.sv((s) => s.get_worker_list_json());
    return !w.live.some((x) => x.pid === zombie.pid);
  });
  return `pid ${zombie.pid}: ${zombie.exit.text}`;
});

await t.check("the others keep running after the kills", async () => {
  const before = (await mine(pings)).map((p) => p.metrics.ipc_sent);
  await waitFor("pingpong to keep sending", async () => {
    const now = (await mine(pings)).map((p) => p.metrics.ipc_sent);
    return now.length === 2 && now.every((n, i) => n > before[i] + 100);
  });
  const list = await t.processes();
  return list.map((p) => `${p.pid}:${p.name}(${p.state})`).join(" ");
});

await t.check("syscall latency is measured by the shims", async () => {
  const l = await t.sv((s) => s.get_syscall_latency_json());
  if (!(l.count > 0)) throw new Error("no samples");
  const m = await t.sv((s) => s.get_system_metrics_json());
  return `median ${l.median_us.toFixed(1)} us, p99 ${l.p99_us.toFixed(1)} us over ${l.count} calls; servicer ${JSON.stringify(m.servicer)}`;
});

await t.screenshot("playground-after-kills.png");
await t.finish();
