// Fault isolation and a short churn soak in the browser (issue 6; the native side is
// tests/reliability_native.rs and tests/soak_native.rs): memhog is refused at its 64 MiB limit
// and its memory returns to the system total when killed; killing a receiver while a sender is
// sending to it ends the sender with an error (no hang); spawn/kill cycles of a mix of programs
// with counted traffic end with the process list, the workers and the memory back at baseline,
// and every message counted at both ends.
import { openPlayground, waitFor } from "./lib.mjs";

const MIB = 1024 * 1024;
const LIMIT = 64 * MIB;
const CYCLES = Number(process.env.ORBITAL_SOAK_CYCLES ?? 40);

const t = await openPlayground("reliability");
const { page } = t;

const live = (list) => list.filter((p) => p.state !== "zombie");
const byName = (list, name) => live(list).filter((p) => p.name === name);
/** Worker ids of the guest workers the browser lists (their URLs end in `#worker=<id>`). */
const browserGuestWorkers = () =>
  page.workers().map((w) => /[?&#]worker=(\d+)/.exec(w.url())?.[1]).filter(Boolean).map(Number).sort((a, b) => a - b).join(" ");
/** The browser lists every live guest worker (plus the spares the host keeps warm). */
const covers = (browser, supervisor) => supervisor.split(" ").every((id) => browser.split(" ").includes(id));
const spares = (browser, supervisor) => browser.split(" ").filter((id) => id && !supervisor.split(" ").includes(id)).length;
const supervisorWorkers = (workers) => workers.live.map((w) => w.worker_id).sort((a, b) => a - b).join(" ");
const metrics = () => t.sv((s) => s.get_system_metrics_json());
const workerList = () => t.sv((s) => s.get_worker_list_json());
const accounted = (p) => Math.max(p.memory, p.allocated_bytes);
const input = (line) => t.sv((s, l) => s.send_input(l), line);

/** Spawns `program` through the terminal; resolves to the new process once it has a worker. */
async function spawn(program) {
  const before = new Set((await t.processes()).map((p) => p.pid));
  await input(`spawn ${program}`);
  return waitFor(`a new ${program} with a worker`, async () =>
    (await t.processes()).find((p) => p.name === program && !before.has(p.pid) && (p.worker_id != null || p.state === "zombie")),
  );
}

/** Spawns several programs through the terminal at once; resolves to the new processes. */
async function spawnMany(programs) {
  const before = new Set((await t.processes()).map((p) => p.pid));
  for (const program of programs) await input(`spawn ${program}`);
  return waitFor(`new ${programs.join(", ")}`, async () => {
    const fresh = (await t.processes()).filter((p) => !before.has(p.pid) && (p.worker_id != null || p.state === "zombie"));
    const left = [...fresh];
    const picked = programs.map((name) => {
      const i = left.findIndex((p) => p.name === name);
      return i < 0 ? null : left.splice(i, 1)[0];
    });
    return picked.every(Boolean) ? picked : null;
  });
}

/** Kills live processes through the terminal at once and waits until they and their workers are gone. */
async function killMany(pids) {
  for (const pid of pids) await input(`kill ${pid}`);
  await waitFor(`pids ${pids.join(", ")} to leave the process list`, async () => {
    const list = await t.processes();
    return !list.some((p) => pids.includes(p.pid));
  });
  await waitFor(`the workers of pids ${pids.join(", ")} to end`, async () => !(await workerList()).live.some((w) => pids.includes(w.pid)));
}

/** Kills live `pid` through the terminal and waits until it and its worker are gone. (A Zombie
 * cannot be killed, only dismissed in the UI: it stays listed with its exit reason.) */
async function kill(pid) {
  await input(`kill ${pid}`);
  await waitFor(`pid ${pid} to leave the process list`, async () => !(await t.processes()).some((p) => p.pid === pid));
  await waitFor(`the worker of pid ${pid} to end`, async () => !(await workerList()).live.some((w) => w.pid === pid));
}

/** Everything at once, from one synchronous read in the page (the servicer runs on the same thread). */
const snapshot = () =>
  t.sv((s) => ({
    list: s.get_process_list_json(),
    endpoints: s.get_endpoint_list_json(),
    metrics: s.get_system_metrics_json(),
    workers: s.get_worker_list_json(),
  }));

await t.check("the boot set runs: init, terminal, idle", async () => {
  const list = await waitFor("init, terminal and idle", async () => {
    const l = await t.processes();
    return ["init", "terminal", "idle"].every((n) => byName(l, n).length >= 1) ? l : null;
  });
  return list.map((p) => `${p.pid}:${p.name}`).join(" ");
});

await t.check("a clean slate: what the startup scenario spawned is killed through the terminal", async () => {
  const victims = await t.startupVictims();
  for (const v of victims) {
    if (live(await t.processes()).some((p) => p.pid === v.pid)) await kill(v.pid);
  }
  return `killed ${victims.map((p) => `${p.pid}:${p.name}`).join(" ") || "nothing"}`;
});

// The baseline every later check returns to. Zombies are not part of it: they stay listed (exit
// reason and metrics viewable) until the user dismisses them, with no worker and no memory; the
// test tracks the ones it expects.
let base;
const expectedZombies = new Set();
const livePids = (list) => live(list).map((p) => p.pid).join(" ");
const zombiePids = (list) => list.filter((p) => p.state === "zombie").map((p) => p.pid).sort((a, b) => a - b).join(" ");
const expectedZombiePids = () => [...expectedZombies].sort((a, b) => a - b).join(" ");
await t.check("baseline: process list, workers (supervisor and browser) and memory are steady", async () => {
  base = await waitFor("the terminal to wait for input and the worker lists to agree", async () => {
    const s = await snapshot();
    const term = byName(s.list, "terminal")[0];
    const browserWorkers = page.workers().length;
    // The browser may list workers of its own besides the guests'; both counts are tracked.
    return term?.state === "blocked" && term.blocked_on === "receive" && covers(browserGuestWorkers(), supervisorWorkers(s.workers)) && spares(browserGuestWorkers(), supervisorWorkers(s.workers)) <= s.workers.spare.length
      ? { ...s, browserWorkers }
      : null;
  });
  base.pids = livePids(base.list);
  for (const p of base.list) if (p.state === "zombie") expectedZombies.add(p.pid);
  return `processes [${base.list.map((p) => `${p.pid}:${p.name}`).join(" ")}], ${base.workers.live.length} live workers (browser lists ${base.browserWorkers}), total memory ${base.metrics.total_memory} bytes, ${base.metrics.endpoints} endpoints`;
});

/** Waits until the process list, the workers and the memory are at the baseline again. */
async function backAtBaseline(what) {
  const s = await waitFor(`${what}: process list, workers and memory back at the baseline`, async () => {
    const now = await snapshot();
    const ok =
      livePids(now.list) === base.pids &&
      zombiePids(now.list) === expectedZombiePids() &&
      supervisorWorkers(now.workers) === supervisorWorkers(base.workers) &&
      covers(browserGuestWorkers(), supervisorWorkers(base.workers)) &&
      page.workers().length <= base.browserWorkers &&
      now.metrics.total_memory === base.metrics.total_memory &&
      now.metrics.endpoints === base.metrics.endpoints;
    return ok ? now : null;
  }, { timeoutMs: 60_000, intervalMs: 250 }).catch(async (e) => {
    const now = await snapshot();
    throw new Error(
      `${e.message}; now processes [${now.list.map((p) => `${p.pid}:${p.name}(${p.state})`).join(" ")}] (baseline [${base.pids}], expected zombies [${expectedZombiePids()}]), ` +
        `workers ${now.workers.live.length}/${page.workers().length} (baseline ${base.workers.live.length}/${base.browserWorkers}), ` +
        `memory ${now.metrics.total_memory} (baseline ${base.metrics.total_memory}), endpoints ${now.metrics.endpoints} (baseline ${base.metrics.endpoints})`,
    );
  });
  return `live processes ${live(s.list).length} (baseline ${live(base.list).length}), zombies ${expectedZombies.size} kept for viewing, workers ${s.workers.live.length} supervisor / ${page.workers().length} browser (baseline ${base.workers.live.length} / ${base.browserWorkers}), total memory ${s.metrics.total_memory} (baseline ${base.metrics.total_memory})`;
}

await t.check("memhog is refused at its 64 MiB limit; the others keep running; killing it returns its memory", async () => {
  const hog = await spawn("memhog");
  // After a refusal memhog sleeps in 60 s naps; while growing it sleeps 20 ms at a time.
  const refused = await waitFor("memhog to be refused and sleep for good", async () => {
    const s = await snapshot();
    const p = s.list.find((x) => x.pid === hog.pid);
    if (!p) throw new Error(`memhog (pid ${hog.pid}) disappeared`);
    if (p.state === "zombie") throw new Error(`memhog ended: ${JSON.stringify(p.exit)}`);
    const longNap = p.state === "blocked" && p.blocked_on === "sleep" && p.until_ns - s.metrics.uptime_ns > 10e9;
    return longNap && accounted(p) >= 32 * MIB ? { p, m: s.metrics } : null;
  }, { timeoutMs: 120_000, intervalMs: 200 });
  const held = accounted(refused.p);
  if (held > LIMIT) throw new Error(`memhog holds ${held} bytes, past the ${LIMIT}-byte limit`);
  if (held + MIB <= LIMIT && refused.p.memory + MIB <= LIMIT) {
    throw new Error(`memhog stopped at ${held} bytes, although 1 MiB more would fit in the limit`);
  }
  const growth = refused.m.total_memory - base.metrics.total_memory;
  if (growth < held) throw new Error(`the system total grew by ${growth} bytes, less than memhog's ${held}`);
  // The rest of the system is unaffected: idle keeps yielding.
  const idle0 = byName(await t.processes(), "idle")[0].metrics.syscall_count;
  await waitFor("idle to keep running", async () => byName(await t.processes(), "idle")[0].metrics.syscall_count >= idle0 + 20);
  console.log(`  figure memhog refused at ${(held / MIB).toFixed(2)} MiB (linear memory ${(refused.p.memory / MIB).toFixed(2)} MiB, MEM_ALLOC ${(refused.p.allocated_bytes / MIB).toFixed(2)} MiB); system total ${base.metrics.total_memory} -> ${refused.m.total_memory}`);
  await kill(hog.pid);
  const back = await backAtBaseline("after killing memhog");
  return `refused at ${(held / MIB).toFixed(2)} MiB of ${LIMIT / MIB} MiB; after the kill ${back}`;
});

await t.check("killing a receiver while a sender sends to it: the sender gets an error and ends, nothing hangs", async () => {
  const receiver = await spawn("receiver");
  const sender = await spawn("sender");
  await waitFor("the sender to be sending", async () => {
    const p = (await t.processes()).find((x) => x.pid === sender.pid);
    return p?.metrics.ipc_sent >= 20;
  });
  const before = await snapshot();
  const ep = before.endpoints.find((e) => e.owner === receiver.pid);
  const s0 = before.list.find((p) => p.pid === sender.pid);
  const r0 = before.list.find((p) => p.pid === receiver.pid);
  if (!ep) throw new Error(`no inbox endpoint for the receiver (pid ${receiver.pid})`);
  if (ep.sent !== s0.metrics.ipc_sent || ep.delivered !== r0.metrics.ipc_received || ep.sent !== ep.delivered + ep.queue_len) {
    throw new Error(`counts disagree: sender sent ${s0.metrics.ipc_sent}, endpoint sent ${ep.sent} delivered ${ep.delivered} queued ${ep.queue_len}, receiver received ${r0.metrics.ipc_received}`);
  }
  await kill(receiver.pid);
  const ended = await waitFor("the sender to end with an error", async () => {
    const p = (await t.processes()).find((x) => x.pid === sender.pid);
    if (!p) throw new Error(`the sender (pid ${sender.pid}) vanished instead of becoming a Zombie`);
    return p.state === "zombie" ? p : null;
  }, { timeoutMs: 30_000 });
  if (ended.exit?.kind !== "exited" || !/1/.test(ended.exit.text)) throw new Error(`the sender's exit is ${JSON.stringify(ended.exit)}, not exit code 1`);
  await waitFor("the sender's worker to end", async () => !(await workerList()).live.some((w) => w.pid === sender.pid));
  expectedZombies.add(sender.pid);
  const back = await backAtBaseline("after the receiver/sender kill");
  return `sender pid ${sender.pid} ended (${ended.exit.text}) after ${ended.metrics.ipc_sent} sends; ${back}`;
});

await t.check(`soak: ${CYCLES} spawn/kill cycles of a program mix with counted traffic; back at baseline, nothing lost`, async () => {
  const receiver = await spawn("receiver");
  const sender = await spawn("sender");
  const ping = await spawn("pingpong");
  const pong = await spawn("pingpong");
  // No pingpong in the mix: a new pingpong connects to the newest unpaired pingpong inbox (here the
  // steady pair's), so its messages would mix into the pair's counts.
  const mix = ["idle", "spinner", "crasher", "memhog", "receiver", "idle", "crasher", "spinner"];
  const traffic0 = (await metrics()).ipc_messages;
  let crashes = 0;
  let maxWorkers = 0;
  for (let i = 0; i < CYCLES; i++) {
    const batch = await spawnMany([mix[i % mix.length], mix[(i + 3) % mix.length]]);
    maxWorkers = Math.max(maxWorkers, page.workers().length);
    for (const p of batch.filter((x) => x.name === "crasher")) {
      const z = await waitFor(`crasher ${p.pid} to trap`, async () => (await t.processes()).find((x) => x.pid === p.pid && x.state === "zombie"));
      if (z.exit?.kind !== "trapped") throw new Error(`crasher ${p.pid} ended with ${JSON.stringify(z.exit)}, not a trap`);
      expectedZombies.add(p.pid);
      crashes++;
    }
    await killMany(batch.filter((x) => x.name !== "crasher").map((x) => x.pid));
  }
  // Let the steady sender run on a little, then count at both ends in one read.
  const counted = await waitFor("a consistent count with the queue drained", async () => {
    const s = await snapshot();
    const ep = s.endpoints.find((e) => e.owner === receiver.pid);
    const sp = s.list.find((p) => p.pid === sender.pid);
    const rp = s.list.find((p) => p.pid === receiver.pid);
    if (!ep || !sp || !rp) throw new Error("the receiver or the sender is gone");
    if (sp.state === "zombie" || rp.state === "zombie") throw new Error(`sender ${sp.state}, receiver ${rp.state}`);
    if (ep.sent !== sp.metrics.ipc_sent) throw new Error(`sender counted ${sp.metrics.ipc_sent} sends, the endpoint ${ep.sent}`);
    if (ep.delivered !== rp.metrics.ipc_received) throw new Error(`receiver counted ${rp.metrics.ipc_received}, the endpoint delivered ${ep.delivered}`);
    if (ep.sent !== ep.delivered + ep.queue_len) throw new Error(`endpoint sent ${ep.sent} != delivered ${ep.delivered} + queued ${ep.queue_len}`);
    const pp = [ping, pong].map((x) => s.list.find((p) => p.pid === x.pid));
    if (pp.some((p) => !p || p.state === "zombie")) throw new Error("a pingpong ended during the soak");
    const pingSent = pp.reduce((n, p) => n + p.metrics.ipc_sent, 0);
    const pingRecv = pp.reduce((n, p) => n + p.metrics.ipc_received, 0);
    const pingQueued = s.endpoints.filter((e) => e.owner === ping.pid || e.owner === pong.pid).reduce((n, e) => n + e.queue_len, 0);
    if (pingSent !== pingRecv + pingQueued) throw new Error(`pingpongs sent ${pingSent} != received ${pingRecv} + queued ${pingQueued}`);
    return ep.queue_len === 0 && sp.metrics.ipc_sent >= 1000 ? { sent: sp.metrics.ipc_sent, received: rp.metrics.ipc_received, pingSent, pingRecv, total: s.metrics.ipc_messages } : null;
  }, { timeoutMs: 60_000, intervalMs: 50 });
  console.log(`  figure soak messages: sender sent ${counted.sent}, receiver received ${counted.received}; pingpongs sent ${counted.pingSent}, received ${counted.pingRecv}; kernel ipc_messages ${traffic0} -> ${counted.total}`);
  for (const p of [sender, receiver, ping, pong]) await kill(p.pid);
  const back = await backAtBaseline("after the soak");
  return `${CYCLES} cycles (${2 * CYCLES} spawns and kills, ${crashes} traps, up to ${maxWorkers} browser workers); sender ${counted.sent} sent = receiver ${counted.received} received; ${back}`;
});

await t.finish();
