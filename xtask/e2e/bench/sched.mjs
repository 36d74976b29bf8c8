// Per-thread scheduler statistics of the page's Chromium processes, for the bench and its probes.
import { readdirSync, readFileSync } from "node:fs";

/**
 * Where Chromium's threads spent a stretch of time, from Linux's per-thread scheduler statistics
 * (`/proc/<pid>/task/<tid>/schedstat`: ns on a CPU, ns runnable but waiting for one), by kind:
 * the page's workers (every `DedicatedWorker` thread of the renderers: the guests, the warm
 * spares, a raw baseline's workers), the renderers' main threads, and the GPU process's threads.
 * `null` where there is no /proc. Take one before and one after, then `schedDelta(before, after)`.
 */
export function schedSnapshot() {
  let pids;
  try {
    pids = readdirSync("/proc").filter((d) => /^[0-9]+$/.test(d));
  } catch {
    return null;
  }
  const threads = new Map();
  for (const pid of pids) {
    let type;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (!cmd.includes("chrom")) continue;
      type = /--type=([a-z-]+)/.exec(cmd)?.[1] ?? "browser";
    } catch {
      continue;
    }
    if (type !== "renderer" && type !== "gpu-process") continue;
    let tids;
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        const [run, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ").map(Number);
        let kind = null;
        if (type === "gpu-process") kind = "gpu";
        else if (tid === pid) kind = "main";
        else if (readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").startsWith("DedicatedWorker")) kind = "workers";
        if (kind) threads.set(`${pid}/${tid}`, { kind, run: run / 1e6, wait: wait / 1e6 });
      } catch {
        // A thread that ended while we read.
      }
    }
  }
  return { at: performance.now(), threads };
}

/**
 * Milliseconds on a CPU (`*_run`) and waiting for one (`*_wait`) of each kind of thread between
 * snapshots `a` and `b` (a thread born in between counts from zero; one that ended in between is
 * missing its last stretch), and the wall time; or null.
 */
export function schedDelta(a, b) {
  if (!a || !b) return null;
  const d = { workers_run: 0, workers_wait: 0, main_run: 0, main_wait: 0, gpu_run: 0, gpu_wait: 0, wall: b.at - a.at };
  for (const [id, t] of b.threads) {
    const t0 = a.threads.get(id) ?? { run: 0, wait: 0 };
    d[`${t.kind}_run`] += t.run - t0.run;
    d[`${t.kind}_wait`] += t.wait - t0.wait;
  }
  return d;
}
