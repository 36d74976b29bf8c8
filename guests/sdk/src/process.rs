//! Processes and time: spawn, kill, ps, pid, time, sleep, yield, exit.

use crate::{Result, Slot, abi, call, check, raw};
use abi::{ErrorCode, mailbox::DATA_CAPACITY, nr};

/// The caller's pid, as the kernel knows it.
pub fn pid() -> u32 {
    raw::get_pid().max(0) as u32
}

/// Gives up the rest of this turn (the host parks the caller about a millisecond).
pub fn yield_now() {
    raw::yield_now()
}

/// Ends the process with `code`; it becomes a Zombie and never runs again.
pub fn exit(code: i32) -> ! {
    raw::syscall(nr::EXIT, code as u32, 0, 0);
    // EXIT never returns; if a host did return, stop anyway.
    crate::trap()
}

/// Kernel uptime in nanoseconds.
pub fn time_ns() -> Result<u64> {
    call(nr::TIME, [0; 3], &[])?;
    let mut data = [0u8; 8];
    let n = check(raw::recv_bytes(&mut data))?;
    if n < 8 {
        return Err(ErrorCode::BadArgument);
    }
    Ok(u64::from_le_bytes(data))
}

/// Sleeps `ms` milliseconds (the process is Blocked meanwhile).
pub fn sleep_ms(ms: u32) -> Result<()> {
    call(nr::SLEEP, [ms, 0, 0], &[]).map(drop)
}

/// Starts the program `name` from the manifest; needs the process table in `table`.
/// Returns the new pid. On refusal, [`crate::reply_data`] may hold the supervisor's reason.
pub fn spawn(table: Slot, name: &str) -> Result<u32> {
    if name.is_empty() {
        return Err(ErrorCode::BadArgument);
    }
    call(nr::SPAWN, [table.0, 0, 0], name.as_bytes())
}

/// Kills process `pid`; needs the process table in `table`. Protected processes refuse.
pub fn kill(table: Slot, pid: u32) -> Result<()> {
    call(nr::KILL, [table.0, pid, 0], &[]).map(drop)
}

/// The process table as `PS` returns it.
pub struct Ps {
    count: u32,
    text: [u8; DATA_CAPACITY],
    len: usize,
}

/// One row of [`Ps`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PsEntry<'a> {
    pub pid: u32,
    pub name: &'a str,
    pub state: &'a str,
    pub memory_bytes: u64,
}

impl Ps {
    /// Number of processes the kernel reported.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The raw text, one `pid\tname\tstate\tmemory_bytes` line per process.
    pub fn text(&self) -> &str {
        core::str::from_utf8(&self.text[..self.len]).unwrap_or("")
    }

    /// The rows that parse; malformed lines are skipped.
    pub fn entries(&self) -> impl Iterator<Item = PsEntry<'_>> {
        self.text().lines().filter_map(parse_ps_line)
    }
}

fn parse_ps_line(line: &str) -> Option<PsEntry<'_>> {
    let mut f = line.split('\t');
    let pid = f.next()?.trim().parse().ok()?;
    let name = f.next()?;
    let state = f.next()?;
    let memory_bytes = f.next()?.trim().parse().ok()?;
    Some(PsEntry { pid, name, state, memory_bytes })
}

/// Lists every process (any process may ask).
pub fn ps() -> Result<Ps> {
    let count = call(nr::PS, [0; 3], &[])?;
    let mut ps = Ps { count, text: [0; DATA_CAPACITY], len: 0 };
    let full = check(raw::recv_bytes(&mut ps.text))? as usize;
    ps.len = full.min(DATA_CAPACITY);
    if core::str::from_utf8(&ps.text[..ps.len]).is_err() {
        return Err(ErrorCode::BadArgument);
    }
    Ok(ps)
}
