//! WASI preview 1 on the native host: the `wasi_snapshot_preview1` imports of a guest, defined
//! for wasmi. Calls with kernel meaning are real syscalls through the guest's mailbox (so the
//! kernel sees, counts and can deny them): `fd_write` on 1 and 2 is `CONSOLE_WRITE`, `fd_read`
//! on 0 is `RECEIVE` on the process's stdin endpoint, `proc_exit` is `EXIT`, `clock_time_get`
//! is `TIME`, `sched_yield` is `YIELD`, and `poll_oneoff` on clocks is `SLEEP`. Arguments,
//! the (empty) environment, `random_get` and `fd_fdstat_get` are answered by the host. Every
//! other function returns `ENOSYS` and is recorded as a host refusal naming it, which the kernel
//! reports as a `RequestDenied`. `web/worker.js` implements the same for the browser.

use std::hash::BuildHasher;
use std::time::Duration;

use wasmi::{Caller, Error, Extern, ExternType, Linker, Memory, Module, Val};

use crate::abi::wasi::{self, errno};
use crate::abi::{ErrorCode, YIELD_PARK_MICROS, host_import, mailbox as mb, nr, slot};
use crate::manifest::Launch;
use crate::native_host::{GuestContext, Stopped, syscall};

/// WASI clock ids 0..=3 (realtime, monotonic, process and thread CPU time) all read the
/// kernel's clock: nanoseconds since boot.
const CLOCK_IDS: u32 = 4;
/// `poll_oneoff` subscription and event sizes (preview 1 layout).
const SUBSCRIPTION_BYTES: usize = 48;
const EVENT_BYTES: usize = 32;
const EVENTTYPE_CLOCK: u8 = 0;
const EVENTTYPE_FD_READ: u8 = 1;
const SUBCLOCKFLAGS_ABSTIME: u16 = 1;
const FILETYPE_CHARACTER_DEVICE: u8 = 2;
const RIGHT_FD_READ: u64 = 1 << 1;
const RIGHT_FD_WRITE: u64 = 1 << 6;
const RIGHT_POLL_FD_READWRITE: u64 = 1 << 27;

/// A WASI guest's host-side state.
pub(crate) struct WasiState {
    args: Vec<String>,
    stdin_slot: Option<u32>,
    /// Input received but not read yet.
    stdin: Vec<u8>,
    /// An end of input arrived: the next read that finds no bytes returns 0 (once).
    stdin_eof: bool,
    random: u64,
}

impl WasiState {
    pub(crate) fn new(launch: &Launch, program: &str) -> WasiState {
        let mut args = launch.args.clone();
        if args.is_empty() {
            args.push(program.to_string());
        }
        WasiState {
            args,
            stdin_slot: launch.stdin_slot,
            stdin: Vec::new(),
            stdin_eof: false,
            random: std::collections::hash_map::RandomState::new().hash_one(program),
        }
    }

    /// splitmix64: not cryptographic, which `random_get` does not promise here.
    fn next_random(&mut self) -> u64 {
        self.random = self.random.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.random;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

type Ctx<'a> = Caller<'a, GuestContext>;

fn memory_of(caller: &Ctx<'_>) -> Option<Memory> {
    caller
        .data()
        .memory
        .or_else(|| caller.get_export("memory").and_then(Extern::into_memory))
}

fn range(len: usize, ptr: u32, n: usize) -> Option<std::ops::Range<usize>> {
    let start = ptr as usize;
    let end = start.checked_add(n)?;
    (end <= len).then_some(start..end)
}

fn read_u32(bytes: &[u8], ptr: u32) -> Option<u32> {
    let r = range(bytes.len(), ptr, 4)?;
    Some(u32::from_le_bytes(bytes[r].try_into().ok()?))
}

fn write_bytes(bytes: &mut [u8], ptr: u32, data: &[u8]) -> Option<()> {
    let r = range(bytes.len(), ptr, data.len())?;
    bytes[r].copy_from_slice(data);
    Some(())
}

/// The (pointer, length) pairs of an iovec array, checked against memory.
fn iovecs(bytes: &[u8], iovs: u32, count: u32) -> Option<Vec<std::ops::Range<usize>>> {
    let mut out = Vec::new();
    for i in 0..count {
        let at = iovs.checked_add(i.checked_mul(8)?)?;
        let ptr = read_u32(bytes, at)?;
        let len = read_u32(bytes, at.checked_add(4)?)?;
        out.push(range(bytes.len(), ptr, len as usize)?);
    }
    Some(out)
}

/// The largest prefix of `data` of at most `limit` bytes that does not split a UTF-8 character
/// (the console decodes each write on its own).
fn utf8_cut(data: &[u8], limit: usize) -> usize {
    if data.len() <= limit {
        return data.len();
    }
    let mut cut = limit;
    while cut > limit.saturating_sub(3) && cut > 0 && (data[cut] & 0xc0) == 0x80 {
        cut -= 1;
    }
    if cut == 0 { limit } else { cut }
}

/// Stages `data` in the mailbox for the next syscall (as `orbital_send_bytes` does).
fn stage(caller: &Ctx<'_>, data: &[u8]) {
    let words = &caller.data().words;
    words.write_bytes(data);
    words
        .word(mb::DATA_LEN)
        .store(data.len() as u32, std::sync::atomic::Ordering::SeqCst);
}

fn errno_of(result: i32) -> i32 {
    match ErrorCode::from_result(result) {
        Some(ErrorCode::BadPointer) => errno::FAULT as i32,
        Some(ErrorCode::BadArgument) => errno::INVAL as i32,
        _ => errno::IO as i32,
    }
}

fn wasi_state<'a>(caller: &'a mut Ctx<'_>) -> &'a mut WasiState {
    caller
        .data_mut()
        .wasi
        .get_or_insert_with(|| WasiState::new(&Launch::default(), "program"))
}

fn fd_write(
    mut caller: Ctx<'_>,
    fd: i32,
    iovs: i32,
    iovs_len: i32,
    nwritten: i32,
) -> Result<i32, Error> {
    if fd != 1 && fd != 2 {
        return Ok(errno::BADF as i32);
    }
    let Some(memory) = memory_of(&caller) else {
        return Ok(errno::FAULT as i32);
    };
    let data = {
        let bytes = memory.data(&caller);
        let Some(ranges) = iovecs(bytes, iovs as u32, iovs_len as u32) else {
            return Ok(errno::FAULT as i32);
        };
        ranges
            .into_iter()
            .flat_map(|r| bytes[r].iter().copied())
            .collect::<Vec<u8>>()
    };
    let mut written = 0usize;
    let mut rest = data.as_slice();
    while !rest.is_empty() {
        let cut = utf8_cut(rest, mb::DATA_CAPACITY);
        stage(&caller, &rest[..cut]);
        let result = syscall(&mut caller, nr::CONSOLE_WRITE, [slot::CONSOLE, 0, 0])?;
        if result < 0 {
            if written == 0 {
                return Ok(errno_of(result));
            }
            break;
        }
        written += cut;
        rest = &rest[cut..];
    }
    let ok = write_bytes(
        memory.data_mut(&mut caller),
        nwritten as u32,
        &(written as u32).to_le_bytes(),
    );
    Ok(if ok.is_some() {
        errno::SUCCESS as i32
    } else {
        errno::FAULT as i32
    })
}

fn fd_read(
    mut caller: Ctx<'_>,
    fd: i32,
    iovs: i32,
    iovs_len: i32,
    nread: i32,
) -> Result<i32, Error> {
    if fd != 0 {
        return Ok(errno::BADF as i32);
    }
    let Some(memory) = memory_of(&caller) else {
        return Ok(errno::FAULT as i32);
    };
    loop {
        let state = wasi_state(&mut caller);
        if !state.stdin.is_empty() || state.stdin_eof {
            break;
        }
        let Some(stdin_slot) = state.stdin_slot else {
            state.stdin_eof = true;
            break;
        };
        let result = syscall(&mut caller, nr::RECEIVE, [stdin_slot, 0, 0])?;
        let reply = std::mem::take(&mut caller.data_mut().reply);
        let state = wasi_state(&mut caller);
        if result < 0 {
            if ErrorCode::from_result(result) == Some(ErrorCode::PeerGone) {
                state.stdin_eof = true;
                break;
            }
            return Ok(errno_of(result));
        }
        if reply.len() < mb::RECV_HEADER_BYTES {
            continue;
        }
        let tag = u32::from_le_bytes([reply[4], reply[5], reply[6], reply[7]]);
        if tag == wasi::STDIN_EOF_TAG {
            state.stdin_eof = true;
        } else {
            state
                .stdin
                .extend_from_slice(&reply[mb::RECV_HEADER_BYTES..]);
        }
    }
    let (bytes, guest) = memory.data_and_store_mut(&mut caller);
    let Some(state) = guest.wasi.as_mut() else {
        return Ok(errno::IO as i32);
    };
    let Some(ranges) = iovecs(bytes, iovs as u32, iovs_len as u32) else {
        return Ok(errno::FAULT as i32);
    };
    let mut n = 0;
    for r in ranges {
        let take = r.len().min(state.stdin.len() - n);
        bytes[r.start..r.start + take].copy_from_slice(&state.stdin[n..n + take]);
        n += take;
        if n == state.stdin.len() {
            break;
        }
    }
    state.stdin.drain(..n);
    if n == 0 {
        state.stdin_eof = false; // end of input is reported once
    }
    Ok(
        match write_bytes(bytes, nread as u32, &(n as u32).to_le_bytes()) {
            Some(()) => errno::SUCCESS as i32,
            None => errno::FAULT as i32,
        },
    )
}

fn args_sizes_get(mut caller: Ctx<'_>, argc: i32, buf_size: i32) -> i32 {
    let Some(memory) = memory_of(&caller) else {
        return errno::FAULT as i32;
    };
    let (bytes, guest) = memory.data_and_store_mut(&mut caller);
    let args = guest.wasi.as_ref().map_or(&[][..], |w| w.args.as_slice());
    let size: usize = args.iter().map(|a| a.len() + 1).sum();
    let ok = write_bytes(bytes, argc as u32, &(args.len() as u32).to_le_bytes())
        .and_then(|()| write_bytes(bytes, buf_size as u32, &(size as u32).to_le_bytes()));
    if ok.is_some() {
        errno::SUCCESS as i32
    } else {
        errno::FAULT as i32
    }
}

fn args_get(mut caller: Ctx<'_>, argv: i32, buf: i32) -> i32 {
    let Some(memory) = memory_of(&caller) else {
        return errno::FAULT as i32;
    };
    let (bytes, guest) = memory.data_and_store_mut(&mut caller);
    let args = guest.wasi.as_ref().map_or(&[][..], |w| w.args.as_slice());
    let mut at = buf as u32;
    for (i, arg) in args.iter().enumerate() {
        let mut text = arg.as_bytes().to_vec();
        text.push(0);
        let ok = write_bytes(
            bytes,
            (argv as u32).wrapping_add(4 * i as u32),
            &at.to_le_bytes(),
        )
        .and_then(|()| write_bytes(bytes, at, &text));
        if ok.is_none() {
            return errno::FAULT as i32;
        }
        at = at.wrapping_add(text.len() as u32);
    }
    errno::SUCCESS as i32
}

fn environ_sizes_get(mut caller: Ctx<'_>, count: i32, buf_size: i32) -> i32 {
    let Some(memory) = memory_of(&caller) else {
        return errno::FAULT as i32;
    };
    let bytes = memory.data_mut(&mut caller);
    let ok = write_bytes(bytes, count as u32, &0u32.to_le_bytes())
        .and_then(|()| write_bytes(bytes, buf_size as u32, &0u32.to_le_bytes()));
    if ok.is_some() {
        errno::SUCCESS as i32
    } else {
        errno::FAULT as i32
    }
}

/// The kernel's clock (the `TIME` syscall), in nanoseconds.
fn kernel_time(caller: &mut Ctx<'_>) -> Result<Option<u64>, Error> {
    let result = syscall(caller, nr::TIME, [0; 3])?;
    let reply = &caller.data().reply;
    if result < 0 || reply.len() < 8 {
        return Ok(None);
    }
    Ok(Some(u64::from_le_bytes(
        reply[..8].try_into().unwrap_or_default(),
    )))
}

fn clock_time_get(mut caller: Ctx<'_>, id: i32, _precision: i64, time: i32) -> Result<i32, Error> {
    if id as u32 >= CLOCK_IDS {
        return Ok(errno::INVAL as i32);
    }
    let Some(memory) = memory_of(&caller) else {
        return Ok(errno::FAULT as i32);
    };
    let Some(now_ns) = kernel_time(&mut caller)? else {
        return Ok(errno::IO as i32);
    };
    Ok(
        match write_bytes(
            memory.data_mut(&mut caller),
            time as u32,
            &now_ns.to_le_bytes(),
        ) {
            Some(()) => errno::SUCCESS as i32,
            None => errno::FAULT as i32,
        },
    )
}

fn random_get(mut caller: Ctx<'_>, buf: i32, len: i32) -> i32 {
    let Some(memory) = memory_of(&caller) else {
        return errno::FAULT as i32;
    };
    let (bytes, guest) = memory.data_and_store_mut(&mut caller);
    let Some(r) = range(bytes.len(), buf as u32, len as u32 as usize) else {
        return errno::FAULT as i32;
    };
    let state = guest
        .wasi
        .get_or_insert_with(|| WasiState::new(&Launch::default(), "program"));
    for chunk in bytes[r].chunks_mut(8) {
        let word = state.next_random().to_le_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
    errno::SUCCESS as i32
}

fn sched_yield(mut caller: Ctx<'_>) -> Result<i32, Error> {
    syscall(&mut caller, nr::YIELD, [0; 3])?;
    std::thread::sleep(Duration::from_micros(u64::from(YIELD_PARK_MICROS)));
    if caller.data().killed() {
        return Err(Error::host(Stopped));
    }
    Ok(errno::SUCCESS as i32)
}

fn fd_fdstat_get(mut caller: Ctx<'_>, fd: i32, stat: i32) -> i32 {
    let rights = match fd {
        0 => RIGHT_FD_READ | RIGHT_POLL_FD_READWRITE,
        1 | 2 => RIGHT_FD_WRITE | RIGHT_POLL_FD_READWRITE,
        _ => return errno::BADF as i32,
    };
    let Some(memory) = memory_of(&caller) else {
        return errno::FAULT as i32;
    };
    let mut record = [0u8; 24];
    record[0] = FILETYPE_CHARACTER_DEVICE;
    record[8..16].copy_from_slice(&rights.to_le_bytes());
    match write_bytes(memory.data_mut(&mut caller), stat as u32, &record) {
        Some(()) => errno::SUCCESS as i32,
        None => errno::FAULT as i32,
    }
}

/// Sleeps until the earliest clock subscription is due (`SLEEP`), then reports it (and any
/// other due at the same time). File descriptor subscriptions are reported ready at once.
fn poll_oneoff(
    mut caller: Ctx<'_>,
    subs: i32,
    events: i32,
    count: i32,
    nevents: i32,
) -> Result<i32, Error> {
    let Some(memory) = memory_of(&caller) else {
        return Ok(errno::FAULT as i32);
    };
    if count <= 0 {
        return Ok(errno::INVAL as i32);
    }
    let Some(input) = range(
        memory.data(&caller).len(),
        subs as u32,
        count as usize * SUBSCRIPTION_BYTES,
    ) else {
        return Ok(errno::FAULT as i32);
    };
    let input = memory.data(&caller)[input].to_vec();
    struct Sub {
        userdata: [u8; 8],
        tag: u8,
        timeout_ns: u64,
        absolute: bool,
    }
    let subs: Vec<Sub> = input
        .chunks(SUBSCRIPTION_BYTES)
        .map(|s| Sub {
            userdata: s[0..8].try_into().unwrap_or_default(),
            tag: s[8],
            timeout_ns: u64::from_le_bytes(s[24..32].try_into().unwrap_or_default()),
            absolute: u16::from_le_bytes([s[40], s[41]]) & SUBCLOCKFLAGS_ABSTIME != 0,
        })
        .collect();
    let mut out = Vec::new();
    let event = |userdata: [u8; 8], tag: u8, error: u32| {
        let mut e = [0u8; EVENT_BYTES];
        e[0..8].copy_from_slice(&userdata);
        e[8..10].copy_from_slice(&(error as u16).to_le_bytes());
        e[10] = tag;
        e
    };
    for s in subs.iter().filter(|s| s.tag != EVENTTYPE_CLOCK) {
        let error = if s.tag <= EVENTTYPE_FD_READ + 1 {
            errno::SUCCESS
        } else {
            errno::INVAL
        };
        out.extend_from_slice(&event(s.userdata, s.tag, error));
    }
    if out.is_empty() {
        let now_ns = if subs.iter().any(|s| s.absolute) {
            kernel_time(&mut caller)?.unwrap_or(0)
        } else {
            0
        };
        let relative = |s: &Sub| {
            if s.absolute {
                s.timeout_ns.saturating_sub(now_ns)
            } else {
                s.timeout_ns
            }
        };
        let wait_ns = subs.iter().map(relative).min().unwrap_or(0);
        let wait_ms = wait_ns.div_ceil(1_000_000).min(u64::from(u32::MAX)) as u32;
        let result = syscall(&mut caller, nr::SLEEP, [wait_ms, 0, 0])?;
        for s in subs.iter().filter(|s| relative(s) <= wait_ns) {
            let error = if result < 0 {
                errno::IO
            } else {
                errno::SUCCESS
            };
            out.extend_from_slice(&event(s.userdata, EVENTTYPE_CLOCK, error));
        }
    }
    let n = (out.len() / EVENT_BYTES) as u32;
    let bytes = memory.data_mut(&mut caller);
    let ok = write_bytes(bytes, events as u32, &out)
        .and_then(|()| write_bytes(bytes, nevents as u32, &n.to_le_bytes()));
    Ok(if ok.is_some() {
        errno::SUCCESS as i32
    } else {
        errno::FAULT as i32
    })
}

fn proc_exit(mut caller: Ctx<'_>, code: i32) -> Result<(), Error> {
    // EXIT never completes: the supervisor stops the guest, which unwinds it as `Stopped`.
    syscall(&mut caller, nr::EXIT, [code as u32, 0, 0])?;
    Err(Error::host(Stopped))
}

/// Defines every `wasi_snapshot_preview1` function `module` imports: the supported ones, and
/// for any other an `ENOSYS` stub that records a host refusal naming it.
pub(crate) fn define(
    linker: &mut Linker<GuestContext>,
    module: &Module,
) -> Result<(), wasmi::errors::LinkerError> {
    for import in module.imports() {
        if import.module() != wasi::MODULE {
            continue;
        }
        let ExternType::Func(ty) = import.ty() else {
            continue;
        };
        let name = import.name();
        let m = wasi::MODULE;
        match name {
            "fd_write" => linker.func_wrap(m, name, fd_write)?,
            "fd_read" => linker.func_wrap(m, name, fd_read)?,
            "args_sizes_get" => linker.func_wrap(m, name, args_sizes_get)?,
            "args_get" => linker.func_wrap(m, name, args_get)?,
            "environ_sizes_get" => linker.func_wrap(m, name, environ_sizes_get)?,
            "environ_get" => {
                linker.func_wrap(m, name, |_: Ctx<'_>, _: i32, _: i32| errno::SUCCESS as i32)?
            }
            "clock_time_get" => linker.func_wrap(m, name, clock_time_get)?,
            "random_get" => linker.func_wrap(m, name, random_get)?,
            "sched_yield" => linker.func_wrap(m, name, sched_yield)?,
            "poll_oneoff" => linker.func_wrap(m, name, poll_oneoff)?,
            "fd_fdstat_get" => linker.func_wrap(m, name, fd_fdstat_get)?,
            // No preopened directories: wasi-libc then knows there is no file system.
            "fd_prestat_get" => {
                linker.func_wrap(m, name, |_: Ctx<'_>, _: i32, _: i32| errno::BADF as i32)?
            }
            "proc_exit" => linker.func_wrap(m, name, proc_exit)?,
            _ => {
                let import_number = host_import::wasi(wasi::index_of(name));
                let ty = ty.clone();
                linker.func_new(
                    m,
                    name,
                    ty,
                    move |caller: Ctx<'_>, _params: &[Val], results: &mut [Val]| {
                        caller
                            .data()
                            .refuse(import_number, ErrorCode::UnknownSyscall);
                        for result in results.iter_mut() {
                            let ty = result.ty();
                            *result = match ty {
                                wasmi::ValType::I32 => Val::I32(errno::NOSYS as i32),
                                other => Val::default_for_ty(other),
                            };
                        }
                        Ok(())
                    },
                )?
            }
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_cut_never_splits_a_character() {
        let text = "aé€😀".repeat(2000);
        let bytes = text.as_bytes();
        let cut = utf8_cut(bytes, mb::DATA_CAPACITY);
        assert!(cut <= mb::DATA_CAPACITY && std::str::from_utf8(&bytes[..cut]).is_ok());
        assert_eq!(utf8_cut(b"abc", 10), 3);
    }

    #[test]
    fn iovecs_outside_memory_are_refused() {
        let mut memory = vec![0u8; 64];
        memory[0..4].copy_from_slice(&8u32.to_le_bytes());
        memory[4..8].copy_from_slice(&100u32.to_le_bytes());
        assert_eq!(iovecs(&memory, 0, 1), None);
        memory[4..8].copy_from_slice(&8u32.to_le_bytes());
        assert_eq!(
            iovecs(&memory, 0, 1),
            Some(std::iter::once(8..16).collect())
        );
        assert_eq!(iovecs(&memory, 60, 1), None);
    }
}
