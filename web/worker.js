// The guest shim: one Web Worker per process. It instantiates the guest's module with a memory
// of its own and the five host imports of docs/ABI.md, then runs `_start`. Syscalls cross the
// process's mailbox (a SharedArrayBuffer outside guest memory) with Atomics: steps 1-3 and 7 of
// the syscall flow happen here, steps 4-6 in the supervisor on the page's main thread.
//
// A module that imports `wasi_snapshot_preview1` also gets the WASI preview 1 subset of
// docs/ABI.md ("WASI programs"), on the same mailbox: calls with kernel meaning are syscalls.
//
// Messages in:  {type: "start", module: WebAssembly.Module | Uint8Array (compiled here),
//                mailbox: SharedArrayBuffer, doorbell: SharedArrayBuffer, pid, memoryMinPages,
//                memoryMaxPages, spinMicros?, args?: [argv0, ...], stdinSlot?: number}
// Messages out: {type: "first_syscall", atMs}   (epoch milliseconds, for spawn-to-first-syscall)
//               {type: "latency", micros: [..]}  (round trips of calls that never block, in batches)
//               {type: "exit", kind: "returned" | "trapped" | "load_failed", message}
import { ERR, HOST_IMPORT, MAILBOX, MEMORY, SLOT, STATUS, SYS, WASI, YIELD_PARK_MICROS } from "./abi.js";

const W = (offset) => offset >> 2; // byte offset of a header word -> Int32Array index

/** Calls whose round trip measures the mailbox path itself: they never wait inside the kernel. */
const TIMED = new Set([SYS.YIELD, SYS.GET_PID, SYS.TIME, SYS.CONSOLE_WRITE, SYS.SEND, SYS.TRY_RECEIVE,
  SYS.CAP_LIST, SYS.MEM_ALLOC, SYS.MEM_FREE, SYS.PS]);
const LATENCY_BATCH = 256;
/**
 * How long a call that never waits in the kernel (TIMED) spins on STATUS before it sleeps. A reply
 * that arrives while the shim spins needs no wake-up (a wake-up, Atomics.notify of a sleeping
 * worker, is a system call on the page's main thread). Calls that may block (RECEIVE, SLEEP)
 * never spin. Measured on two cores (docs/BENCHMARKS.md): 30 us cut the crowd's notify share of
 * the main thread from ~24 % to ~9 %, but halved pingpong's round trips/s (the spinning workers
 * take the cores the main thread and the peer need), so it is off; the start message's
 * `spinMicros` (the page's `?spin=`) turns it on for measuring on bigger machines.
 */
const SPIN_MICROS = 0;

/** Thrown out of a host import to unwind the guest when the supervisor set KILL_FLAG. */
class Killed extends Error {}
/** Thrown by proc_exit after the EXIT syscall, should the supervisor not have stopped the worker yet. */
class ProcExit extends Error {}

self.onmessage = (event) => {
  const message = event.data;
  if (message && message.type === "start") {
    run(message);
  }
};

function report(kind, message) {
  self.postMessage({ type: "exit", kind, message: String(message ?? "") });
}

async function run({ module, mailbox, doorbell, memoryMinPages, memoryMaxPages, spinMicros, args, stdinSlot }) {
  const spinMs = (spinMicros ?? SPIN_MICROS) / 1000;
  const box = new Int32Array(mailbox);
  const boxBytes = new Uint8Array(mailbox);
  const bell = new Int32Array(doorbell);
  const park = new Int32Array(new SharedArrayBuffer(4));

  if (module instanceof ArrayBuffer || ArrayBuffer.isView(module)) {
    // A program loaded at run time: its bytes, compiled here so the page's thread does not wait.
    try {
      module = await WebAssembly.compile(module);
    } catch (e) {
      report("load_failed", `cannot compile the module: ${e.message}`);
      return;
    }
  }
  if (!(module instanceof WebAssembly.Module)) {
    report("load_failed", "the worker was not given a WebAssembly module");
    return;
  }
  const hasStart = WebAssembly.Module.exports(module).some((e) => e.name === "_start" && e.kind === "function");
  if (!hasStart) {
    report("load_failed", "the module does not export a `_start` function");
    return;
  }

  const imports = WebAssembly.Module.imports(module);
  // WASI toolchains define and export their own memory (its maximum set by the supervisor's
  // validation); SDK guests import env.memory, which is created here.
  const importsMemory = imports.some((i) => i.module === "env" && i.name === "memory");
  let memory = null;
  if (importsMemory) {
    try {
      memory = new WebAssembly.Memory({
        initial: memoryMinPages,
        maximum: Math.min(memoryMaxPages ?? MEMORY.MAX_PAGES, MEMORY.MAX_PAGES),
      });
    } catch (e) {
      report("load_failed", `cannot create the guest's memory (${memoryMinPages} pages): ${e.message}`);
      return;
    }
  }

  let seq = 0;
  let reply = new Uint8Array(0);
  let firstSyscallReported = false;
  let latency = [];

  /** True when [ptr, ptr + len) lies inside guest memory (both as unsigned 32-bit numbers). */
  const inBounds = (ptr, len) => len >= 0 && (ptr >>> 0) + len <= memory.buffer.byteLength;

  /** A byte-copy import refuses: record it for the supervisor (code, then the count it watches). */
  function refuse(importNumber, code) {
    Atomics.store(box, W(MAILBOX.HOST_REFUSAL_CODE), (importNumber << 16) | code);
    Atomics.add(box, W(MAILBOX.HOST_REFUSALS), 1);
    return -code;
  }

  function syscall(number, arg0, arg1, arg2) {
    if (!firstSyscallReported) {
      firstSyscallReported = true;
      self.postMessage({ type: "first_syscall", atMs: performance.timeOrigin + performance.now() });
    }
    // Step 1: the request (DATA_LEN and the data were staged by orbital_send_bytes, or are 0).
    seq = (seq + 1) | 0;
    Atomics.store(box, W(MAILBOX.SYSCALL), number);
    Atomics.store(box, W(MAILBOX.ARG0), arg0);
    Atomics.store(box, W(MAILBOX.ARG1), arg1);
    Atomics.store(box, W(MAILBOX.ARG2), arg2);
    Atomics.store(box, W(MAILBOX.MEMORY_BYTES), memory ? memory.buffer.byteLength : 0);
    Atomics.store(box, W(MAILBOX.SEQ), seq);
    // Step 2: PENDING, then ring the supervisor's doorbell.
    const started = performance.now();
    Atomics.store(box, W(MAILBOX.STATUS), STATUS.PENDING);
    Atomics.add(bell, 0, 1);
    Atomics.notify(bell, 0);
    // Step 3: spin a little, then sleep while PENDING, always passing the value just compared
    // against. GUEST_WAITING tells the supervisor whether a wake-up is needed (docs/ABI.md).
    if (spinMs > 0 && TIMED.has(number)) {
      while (Atomics.load(box, W(MAILBOX.STATUS)) === STATUS.PENDING && performance.now() - started < spinMs) {}
    }
    if (Atomics.load(box, W(MAILBOX.STATUS)) === STATUS.PENDING) {
      Atomics.store(box, W(MAILBOX.GUEST_WAITING), 1);
      while (Atomics.load(box, W(MAILBOX.STATUS)) === STATUS.PENDING) {
        Atomics.wait(box, W(MAILBOX.STATUS), STATUS.PENDING);
      }
      Atomics.store(box, W(MAILBOX.GUEST_WAITING), 0);
    }
    if (TIMED.has(number)) {
      latency.push((performance.now() - started) * 1000);
      if (latency.length >= LATENCY_BATCH) {
        self.postMessage({ type: "latency", micros: latency });
        latency = [];
      }
    }
    if (Atomics.load(box, W(MAILBOX.KILL_FLAG)) !== 0) {
      throw new Killed("killed by the supervisor");
    }
    // Step 7: the result and a private copy of the reply data, then IDLE.
    const result = Atomics.load(box, W(MAILBOX.RESULT));
    const replyLen = Math.max(0, Math.min(Atomics.load(box, W(MAILBOX.DATA_LEN)), MAILBOX.DATA_CAPACITY));
    reply = boxBytes.slice(MAILBOX.DATA, MAILBOX.DATA + replyLen);
    Atomics.store(box, W(MAILBOX.DATA_LEN), 0);
    Atomics.store(box, W(MAILBOX.STATUS), STATUS.IDLE);
    return result;
  }

  const env = {
    memory,
    orbital_send_bytes(ptr, len) {
      if (!inBounds(ptr, len)) return refuse(HOST_IMPORT.SEND_BYTES, ERR.BAD_POINTER);
      if (len > MAILBOX.DATA_CAPACITY) return refuse(HOST_IMPORT.SEND_BYTES, ERR.MESSAGE_TOO_LARGE);
      boxBytes.set(new Uint8Array(memory.buffer, ptr >>> 0, len), MAILBOX.DATA);
      Atomics.store(box, W(MAILBOX.DATA_LEN), len);
      return len;
    },
    orbital_syscall(number, arg0, arg1, arg2) {
      return syscall(number, arg0, arg1, arg2);
    },
    orbital_recv_bytes(ptr, cap) {
      if (!inBounds(ptr, cap)) return refuse(HOST_IMPORT.RECV_BYTES, ERR.BAD_POINTER);
      const n = Math.min(cap, reply.length);
      new Uint8Array(memory.buffer, ptr >>> 0, n).set(reply.subarray(0, n));
      return reply.length;
    },
    orbital_yield() {
      syscall(SYS.YIELD, 0, 0, 0);
      // Park so an idle loop costs about a thousand syscalls a second, not a whole core.
      Atomics.wait(park, 0, 0, YIELD_PARK_MICROS / 1000);
    },
    orbital_get_pid() {
      return syscall(SYS.GET_PID, 0, 0, 0);
    },
  };

  /** Stages `bytes` in the mailbox data buffer for the next syscall (as orbital_send_bytes does). */
  function stage(bytes) {
    boxBytes.set(bytes, MAILBOX.DATA);
    Atomics.store(box, W(MAILBOX.DATA_LEN), bytes.length);
  }
  const wasi = wasiImports({
    imports,
    args: args && args.length ? args : ["program"],
    stdinSlot,
    memoryOf: () => memory,
    syscall,
    stage,
    replyData: () => reply,
    refuse,
    park: () => Atomics.wait(park, 0, 0, YIELD_PARK_MICROS / 1000),
  });

  let instance;
  try {
    instance = await WebAssembly.instantiate(module, { env, [WASI.MODULE]: wasi });
    if (!memory) {
      memory = instance.exports.memory;
      if (!(memory instanceof WebAssembly.Memory)) {
        report("load_failed", "the module neither imports env.memory nor exports its memory as `memory`");
        return;
      }
    }
  } catch (e) {
    report("load_failed", `cannot instantiate the module: ${e.message}`);
    return;
  }
  try {
    instance.exports._start();
    report("returned", "");
  } catch (e) {
    if (e instanceof Killed || e instanceof ProcExit) return;
    const kind = e instanceof WebAssembly.RuntimeError || e instanceof RangeError ? "trap" : "error";
    report("trapped", `${kind}: ${e.message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// WASI preview 1, the same subset as the native host (supervisor/src/native_wasi.rs): fd_write on
// 1 and 2 is CONSOLE_WRITE, fd_read on 0 is RECEIVE on the stdin endpoint, proc_exit is EXIT,
// clock_time_get is TIME, sched_yield is YIELD, poll_oneoff on clocks is SLEEP. Every other
// function the module imports returns ENOSYS and is recorded as a host refusal naming it.

const CLOCK_IDS = 4;
const SUBSCRIPTION_BYTES = 48;
const EVENT_BYTES = 32;
const EVENTTYPE_CLOCK = 0;
const SUBCLOCKFLAGS_ABSTIME = 1;
const FILETYPE_CHARACTER_DEVICE = 2;
const RIGHT_FD_READ = 1n << 1n;
const RIGHT_FD_WRITE = 1n << 6n;
const RIGHT_POLL_FD_READWRITE = 1n << 27n;

/** The cut of `bytes` at most `limit` long that does not split a UTF-8 character. */
function utf8Cut(bytes, limit) {
  if (bytes.length <= limit) return bytes.length;
  let cut = limit;
  while (cut > limit - 3 && cut > 0 && (bytes[cut] & 0xc0) === 0x80) cut--;
  return cut === 0 ? limit : cut;
}

function wasiImports({ imports, args, stdinSlot, memoryOf, syscall, stage, replyData, refuse, park }) {
  const { ERRNO } = WASI;
  const encoder = new TextEncoder();
  const argBytes = args.map((a) => encoder.encode(`${a}\0`));
  let stdin = new Uint8Array(0);
  let stdinEof = false;

  /** A DataView over guest memory, fresh after each call (memory may have grown). */
  const view = () => new DataView(memoryOf().buffer);
  const bytes = () => new Uint8Array(memoryOf().buffer);
  const fits = (ptr, len) => len >= 0 && (ptr >>> 0) + len <= memoryOf().buffer.byteLength;
  /** The [ptr, len] pairs of an iovec array, or null if any lies outside memory. */
  function iovecs(iovs, count) {
    const out = [];
    if (!fits(iovs, count * 8)) return null;
    const v = view();
    for (let i = 0; i < count; i++) {
      const ptr = v.getUint32((iovs >>> 0) + i * 8, true);
      const len = v.getUint32((iovs >>> 0) + i * 8 + 4, true);
      if (!fits(ptr, len)) return null;
      out.push([ptr, len]);
    }
    return out;
  }
  function kernelTime() {
    const result = syscall(SYS.TIME, 0, 0, 0);
    const data = replyData();
    if (result < 0 || data.length < 8) return null;
    return new DataView(data.buffer, data.byteOffset, 8).getBigUint64(0, true);
  }
  const errnoOf = (result) => (result === -ERR.BAD_POINTER ? ERRNO.FAULT : result === -ERR.BAD_ARGUMENT ? ERRNO.INVAL : ERRNO.IO);

  const supported = {
    fd_write(fd, iovs, iovsLen, nwritten) {
      if (fd !== 1 && fd !== 2) return ERRNO.BADF;
      const ranges = iovecs(iovs, iovsLen);
      if (!ranges || !fits(nwritten, 4)) return ERRNO.FAULT;
      const total = ranges.reduce((n, [, len]) => n + len, 0);
      const data = new Uint8Array(total);
      let at = 0;
      for (const [ptr, len] of ranges) {
        data.set(bytes().subarray(ptr >>> 0, (ptr >>> 0) + len), at);
        at += len;
      }
      let written = 0;
      while (written < data.length) {
        const rest = data.subarray(written);
        const cut = utf8Cut(rest, MAILBOX.DATA_CAPACITY);
        stage(rest.subarray(0, cut));
        const result = syscall(SYS.CONSOLE_WRITE, SLOT.CONSOLE, 0, 0);
        if (result < 0) {
          if (written === 0) return errnoOf(result);
          break;
        }
        written += cut;
      }
      view().setUint32(nwritten >>> 0, written, true);
      return ERRNO.SUCCESS;
    },
    fd_read(fd, iovs, iovsLen, nread) {
      if (fd !== 0) return ERRNO.BADF;
      while (stdin.length === 0 && !stdinEof) {
        if (stdinSlot === undefined || stdinSlot === null) {
          stdinEof = true;
          break;
        }
        const result = syscall(SYS.RECEIVE, stdinSlot, 0, 0);
        if (result < 0) {
          if (result === -ERR.PEER_GONE) {
            stdinEof = true;
            break;
          }
          return errnoOf(result);
        }
        const data = replyData();
        if (data.length < MAILBOX.RECV_HEADER_BYTES) continue;
        const tag = new DataView(data.buffer, data.byteOffset, data.length).getUint32(4, true);
        if (tag === WASI.STDIN_EOF_TAG) {
          stdinEof = true;
        } else {
          const joined = new Uint8Array(stdin.length + data.length - MAILBOX.RECV_HEADER_BYTES);
          joined.set(stdin);
          joined.set(data.subarray(MAILBOX.RECV_HEADER_BYTES), stdin.length);
          stdin = joined;
        }
      }
      const ranges = iovecs(iovs, iovsLen);
      if (!ranges || !fits(nread, 4)) return ERRNO.FAULT;
      let n = 0;
      for (const [ptr, len] of ranges) {
        const take = Math.min(len, stdin.length - n);
        bytes().set(stdin.subarray(n, n + take), ptr >>> 0);
        n += take;
        if (n === stdin.length) break;
      }
      stdin = stdin.slice(n);
      if (n === 0) stdinEof = false; // end of input is reported once
      view().setUint32(nread >>> 0, n, true);
      return ERRNO.SUCCESS;
    },
    args_sizes_get(argc, bufSize) {
      if (!fits(argc, 4) || !fits(bufSize, 4)) return ERRNO.FAULT;
      view().setUint32(argc >>> 0, argBytes.length, true);
      view().setUint32(bufSize >>> 0, argBytes.reduce((n, a) => n + a.length, 0), true);
      return ERRNO.SUCCESS;
    },
    args_get(argv, buf) {
      let at = buf >>> 0;
      for (let i = 0; i < argBytes.length; i++) {
        if (!fits((argv >>> 0) + 4 * i, 4) || !fits(at, argBytes[i].length)) return ERRNO.FAULT;
        view().setUint32((argv >>> 0) + 4 * i, at, true);
        bytes().set(argBytes[i], at);
        at += argBytes[i].length;
      }
      return ERRNO.SUCCESS;
    },
    environ_sizes_get(count, bufSize) {
      if (!fits(count, 4) || !fits(bufSize, 4)) return ERRNO.FAULT;
      view().setUint32(count >>> 0, 0, true);
      view().setUint32(bufSize >>> 0, 0, true);
      return ERRNO.SUCCESS;
    },
    environ_get() {
      return ERRNO.SUCCESS;
    },
    clock_time_get(id, _precision, time) {
      if ((id >>> 0) >= CLOCK_IDS) return ERRNO.INVAL;
      if (!fits(time, 8)) return ERRNO.FAULT;
      const now = kernelTime();
      if (now === null) return ERRNO.IO;
      view().setBigUint64(time >>> 0, now, true);
      return ERRNO.SUCCESS;
    },
    random_get(buf, len) {
      if (!fits(buf, len)) return ERRNO.FAULT;
      // getRandomValues takes at most 65536 bytes at a time, and no shared memory.
      for (let at = 0; at < len; at += 65536) {
        const chunk = new Uint8Array(Math.min(65536, len - at));
        crypto.getRandomValues(chunk);
        bytes().set(chunk, (buf >>> 0) + at);
      }
      return ERRNO.SUCCESS;
    },
    sched_yield() {
      syscall(SYS.YIELD, 0, 0, 0);
      park();
      return ERRNO.SUCCESS;
    },
    fd_fdstat_get(fd, stat) {
      let rights;
      if (fd === 0) rights = RIGHT_FD_READ | RIGHT_POLL_FD_READWRITE;
      else if (fd === 1 || fd === 2) rights = RIGHT_FD_WRITE | RIGHT_POLL_FD_READWRITE;
      else return ERRNO.BADF;
      if (!fits(stat, 24)) return ERRNO.FAULT;
      bytes().fill(0, stat >>> 0, (stat >>> 0) + 24);
      view().setUint8(stat >>> 0, FILETYPE_CHARACTER_DEVICE);
      view().setBigUint64((stat >>> 0) + 8, rights, true);
      return ERRNO.SUCCESS;
    },
    // No preopened directories: wasi-libc then knows there is no file system.
    fd_prestat_get() {
      return ERRNO.BADF;
    },
    poll_oneoff(subs, events, count, nevents) {
      if (count <= 0) return ERRNO.INVAL;
      if (!fits(subs, count * SUBSCRIPTION_BYTES) || !fits(events, count * EVENT_BYTES) || !fits(nevents, 4)) {
        return ERRNO.FAULT;
      }
      const v = view();
      const list = [];
      for (let i = 0; i < count; i++) {
        const at = (subs >>> 0) + i * SUBSCRIPTION_BYTES;
        list.push({
          userdata: v.getBigUint64(at, true),
          tag: v.getUint8(at + 8),
          timeout: v.getBigUint64(at + 24, true),
          absolute: (v.getUint16(at + 40, true) & SUBCLOCKFLAGS_ABSTIME) !== 0,
        });
      }
      const out = [];
      for (const s of list.filter((s) => s.tag !== EVENTTYPE_CLOCK)) {
        out.push({ userdata: s.userdata, tag: s.tag, error: s.tag <= 2 ? ERRNO.SUCCESS : ERRNO.INVAL });
      }
      if (out.length === 0) {
        const now = list.some((s) => s.absolute) ? (kernelTime() ?? 0n) : 0n;
        const relative = (s) => (s.absolute ? (s.timeout > now ? s.timeout - now : 0n) : s.timeout);
        const wait = list.map(relative).reduce((a, b) => (b < a ? b : a));
        let ms = (wait + 999999n) / 1000000n;
        if (ms > 0xffffffffn) ms = 0xffffffffn;
        const result = syscall(SYS.SLEEP, Number(ms) | 0, 0, 0);
        for (const s of list.filter((s) => relative(s) <= wait)) {
          out.push({ userdata: s.userdata, tag: EVENTTYPE_CLOCK, error: result < 0 ? ERRNO.IO : ERRNO.SUCCESS });
        }
      }
      const w = view();
      out.forEach((e, i) => {
        const at = (events >>> 0) + i * EVENT_BYTES;
        bytes().fill(0, at, at + EVENT_BYTES);
        w.setBigUint64(at, e.userdata, true);
        w.setUint16(at + 8, e.error, true);
        w.setUint8(at + 10, e.tag);
      });
      w.setUint32(nevents >>> 0, out.length, true);
      return ERRNO.SUCCESS;
    },
    proc_exit(code) {
      // EXIT never completes: the supervisor terminates this worker. Unwind in case it has not yet.
      syscall(SYS.EXIT, code, 0, 0);
      throw new ProcExit(`proc_exit(${code})`);
    },
  };

  const table = {};
  for (const i of imports) {
    if (i.module !== WASI.MODULE || i.kind !== "function") continue;
    if (Object.hasOwn(supported, i.name)) {
      table[i.name] = supported[i.name];
      continue;
    }
    let index = WASI.FUNCTIONS.indexOf(i.name);
    if (index < 0) index = WASI.FUNCTIONS.length;
    const number = WASI.REFUSAL_FIRST + index;
    // Results other than one i32 errno get 0 (a JS function's undefined result converts so).
    table[i.name] = () => {
      refuse(number, ERR.UNKNOWN_SYSCALL);
      return ERRNO.NOSYS;
    };
  }
  return table;
}
