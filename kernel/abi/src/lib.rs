//! The Orbital syscall ABI: data only, shared by the kernel, the app, the guest SDK and the
//! worker shim (whose JavaScript constants are generated from this file by `cargo xtask abi-js`).
//!
//! Nothing here has behaviour beyond converting raw numbers into typed values. The prose table
//! of every syscall lives in `docs/ABI.md` and must be kept true with this file.
#![no_std]

/// Raw syscall numbers, as written by a guest into the mailbox `SYSCALL` word.
pub mod nr {
    pub const YIELD: u32 = 0;
    pub const GET_PID: u32 = 1;
    pub const EXIT: u32 = 2;
    pub const CONSOLE_WRITE: u32 = 3;
    pub const TIME: u32 = 4;
    pub const SLEEP: u32 = 5;
    pub const ENDPOINT_CREATE: u32 = 6;
    pub const ENDPOINT_DELETE: u32 = 7;
    pub const SEND: u32 = 8;
    pub const RECEIVE: u32 = 9;
    pub const TRY_RECEIVE: u32 = 10;
    pub const CAP_GRANT: u32 = 11;
    pub const CAP_REVOKE: u32 = 12;
    pub const CAP_DELETE: u32 = 13;
    pub const CAP_DERIVE: u32 = 14;
    pub const CAP_LIST: u32 = 15;
    pub const MEM_ALLOC: u32 = 16;
    pub const MEM_FREE: u32 = 17;
    pub const SPAWN: u32 = 18;
    pub const KILL: u32 = 19;
    pub const PS: u32 = 20;
    /// SEND on ARG0 (tag ARG1, no capability transfer), then RECEIVE on ARG2: a request and
    /// the wait for its answer in one mailbox round trip.
    pub const SEND_RECEIVE: u32 = 21;
    /// One past the highest syscall number.
    pub const COUNT: u32 = 22;
}

/// A syscall number parsed from a raw `u32`. Unknown numbers are `None`, never a panic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u32)]
pub enum Syscall {
    Yield = nr::YIELD,
    GetPid = nr::GET_PID,
    Exit = nr::EXIT,
    ConsoleWrite = nr::CONSOLE_WRITE,
    Time = nr::TIME,
    Sleep = nr::SLEEP,
    EndpointCreate = nr::ENDPOINT_CREATE,
    EndpointDelete = nr::ENDPOINT_DELETE,
    Send = nr::SEND,
    Receive = nr::RECEIVE,
    TryReceive = nr::TRY_RECEIVE,
    CapGrant = nr::CAP_GRANT,
    CapRevoke = nr::CAP_REVOKE,
    CapDelete = nr::CAP_DELETE,
    CapDerive = nr::CAP_DERIVE,
    CapList = nr::CAP_LIST,
    MemAlloc = nr::MEM_ALLOC,
    MemFree = nr::MEM_FREE,
    Spawn = nr::SPAWN,
    Kill = nr::KILL,
    Ps = nr::PS,
    SendReceive = nr::SEND_RECEIVE,
}

impl Syscall {
    pub const ALL: [Syscall; nr::COUNT as usize] = [
        Syscall::Yield,
        Syscall::GetPid,
        Syscall::Exit,
        Syscall::ConsoleWrite,
        Syscall::Time,
        Syscall::Sleep,
        Syscall::EndpointCreate,
        Syscall::EndpointDelete,
        Syscall::Send,
        Syscall::Receive,
        Syscall::TryReceive,
        Syscall::CapGrant,
        Syscall::CapRevoke,
        Syscall::CapDelete,
        Syscall::CapDerive,
        Syscall::CapList,
        Syscall::MemAlloc,
        Syscall::MemFree,
        Syscall::Spawn,
        Syscall::Kill,
        Syscall::Ps,
        Syscall::SendReceive,
    ];

    pub const fn from_raw(raw: u32) -> Option<Syscall> {
        if raw < nr::COUNT {
            Some(Self::ALL[raw as usize])
        } else {
            None
        }
    }

    pub const fn raw(self) -> u32 {
        self as u32
    }

    /// Upper-case name as used in docs, logs and the UI (`SEND`, `RECEIVE`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            Syscall::Yield => "YIELD",
            Syscall::GetPid => "GET_PID",
            Syscall::Exit => "EXIT",
            Syscall::ConsoleWrite => "CONSOLE_WRITE",
            Syscall::Time => "TIME",
            Syscall::Sleep => "SLEEP",
            Syscall::EndpointCreate => "ENDPOINT_CREATE",
            Syscall::EndpointDelete => "ENDPOINT_DELETE",
            Syscall::Send => "SEND",
            Syscall::Receive => "RECEIVE",
            Syscall::TryReceive => "TRY_RECEIVE",
            Syscall::CapGrant => "CAP_GRANT",
            Syscall::CapRevoke => "CAP_REVOKE",
            Syscall::CapDelete => "CAP_DELETE",
            Syscall::CapDerive => "CAP_DERIVE",
            Syscall::CapList => "CAP_LIST",
            Syscall::MemAlloc => "MEM_ALLOC",
            Syscall::MemFree => "MEM_FREE",
            Syscall::Spawn => "SPAWN",
            Syscall::Kill => "KILL",
            Syscall::Ps => "PS",
            Syscall::SendReceive => "SEND_RECEIVE",
        }
    }
}

/// Error codes. A syscall's `RESULT` word is `>= 0` on success and `-(code)` on failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u32)]
pub enum ErrorCode {
    UnknownSyscall = 1,
    BadSlot = 2,
    StaleCapability = 3,
    PermissionDenied = 4,
    WrongObjectKind = 5,
    QueueFull = 6,
    MessageTooLarge = 7,
    WouldBlock = 8,
    NoSuchProcess = 9,
    ProtectedProcess = 10,
    OutOfMemory = 11,
    BadArgument = 12,
    PeerGone = 13,
    NoSuchProgram = 14,
    CapSpaceFull = 15,
    BadPointer = 16,
    TooManyEndpoints = 17,
    TooManyProcesses = 18,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 18] = [
        ErrorCode::UnknownSyscall,
        ErrorCode::BadSlot,
        ErrorCode::StaleCapability,
        ErrorCode::PermissionDenied,
        ErrorCode::WrongObjectKind,
        ErrorCode::QueueFull,
        ErrorCode::MessageTooLarge,
        ErrorCode::WouldBlock,
        ErrorCode::NoSuchProcess,
        ErrorCode::ProtectedProcess,
        ErrorCode::OutOfMemory,
        ErrorCode::BadArgument,
        ErrorCode::PeerGone,
        ErrorCode::NoSuchProgram,
        ErrorCode::CapSpaceFull,
        ErrorCode::BadPointer,
        ErrorCode::TooManyEndpoints,
        ErrorCode::TooManyProcesses,
    ];

    /// The value written to the `RESULT` word: always negative.
    pub const fn to_result(self) -> i32 {
        -(self as i32)
    }

    /// Parses a `RESULT` word; `None` for non-negative (success) or unknown values.
    pub const fn from_result(result: i32) -> Option<ErrorCode> {
        if result >= 0 || result < -(Self::ALL.len() as i32) {
            None
        } else {
            Some(Self::ALL[(-result - 1) as usize])
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            ErrorCode::UnknownSyscall => "UNKNOWN_SYSCALL",
            ErrorCode::BadSlot => "BAD_SLOT",
            ErrorCode::StaleCapability => "STALE_CAPABILITY",
            ErrorCode::PermissionDenied => "PERMISSION_DENIED",
            ErrorCode::WrongObjectKind => "WRONG_OBJECT_KIND",
            ErrorCode::QueueFull => "QUEUE_FULL",
            ErrorCode::MessageTooLarge => "MESSAGE_TOO_LARGE",
            ErrorCode::WouldBlock => "WOULD_BLOCK",
            ErrorCode::NoSuchProcess => "NO_SUCH_PROCESS",
            ErrorCode::ProtectedProcess => "PROTECTED_PROCESS",
            ErrorCode::OutOfMemory => "OUT_OF_MEMORY",
            ErrorCode::BadArgument => "BAD_ARGUMENT",
            ErrorCode::PeerGone => "PEER_GONE",
            ErrorCode::NoSuchProgram => "NO_SUCH_PROGRAM",
            ErrorCode::CapSpaceFull => "CAP_SPACE_FULL",
            ErrorCode::BadPointer => "BAD_POINTER",
            ErrorCode::TooManyEndpoints => "TOO_MANY_ENDPOINTS",
            ErrorCode::TooManyProcesses => "TOO_MANY_PROCESSES",
        }
    }

    /// One sentence for people: what went wrong.
    pub const fn describe(self) -> &'static str {
        match self {
            ErrorCode::UnknownSyscall => "no syscall has this number",
            ErrorCode::BadSlot => "the capability slot is empty or out of range",
            ErrorCode::StaleCapability => {
                "the capability was revoked or its object no longer exists"
            }
            ErrorCode::PermissionDenied => "the capability lacks the right this call needs",
            ErrorCode::WrongObjectKind => "the capability points at the wrong kind of object",
            ErrorCode::QueueFull => "the endpoint's queue is full; try again later",
            ErrorCode::MessageTooLarge => "the data is larger than the mailbox data buffer",
            ErrorCode::WouldBlock => "nothing to receive right now",
            ErrorCode::NoSuchProcess => "no live process has this pid",
            ErrorCode::ProtectedProcess => "system processes (init, terminal) cannot be killed",
            ErrorCode::OutOfMemory => "the process would exceed its memory limit",
            ErrorCode::BadArgument => "an argument is out of range or malformed",
            ErrorCode::PeerGone => "the other side of this endpoint went away",
            ErrorCode::NoSuchProgram => "no program of that name is in the manifest",
            ErrorCode::CapSpaceFull => "the process has no free capability slot",
            ErrorCode::BadPointer => "a pointer or length lies outside the guest's memory",
            ErrorCode::TooManyEndpoints => "the endpoint limit is reached",
            ErrorCode::TooManyProcesses => "the process limit is reached",
        }
    }
}

/// Capability rights, a bit set.
pub mod rights {
    pub const READ: u32 = 1 << 0;
    pub const WRITE: u32 = 1 << 1;
    pub const GRANT: u32 = 1 << 2;
    pub const ALL: u32 = READ | WRITE | GRANT;
    /// Set in a `CAP_LIST` record's rights word when the capability is stale (revoked, or its
    /// object is gone). Never a right: grant and derive refuse it.
    pub const STALE: u32 = 1 << 31;
}

/// A set of capability rights holding only the rights above (`READ`, `WRITE`, `GRANT`): a word
/// from a guest becomes one through [`Rights::from_bits`], which refuses unknown bits, so a
/// `Rights` value never carries `STALE` or a bit no call gives meaning to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Rights(u32);

impl Rights {
    pub const NONE: Rights = Rights(0);
    pub const READ: Rights = Rights(rights::READ);
    pub const WRITE: Rights = Rights(rights::WRITE);
    pub const GRANT: Rights = Rights(rights::GRANT);
    pub const ALL: Rights = Rights(rights::ALL);

    /// The rights in `bits`; `None` if any bit is not a right.
    pub const fn from_bits(bits: u32) -> Option<Rights> {
        if bits & !rights::ALL == 0 {
            Some(Rights(bits))
        } else {
            None
        }
    }

    /// The raw word (as in `CAP_GRANT`'s argument and `CAP_LIST` records).
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Whether every right in `other` is also in `self`.
    pub const fn contains(self, other: Rights) -> bool {
        self.0 & other.0 == other.0
    }

    /// Both sets together.
    pub const fn union(self, other: Rights) -> Rights {
        Rights(self.0 | other.0)
    }
}

/// Kinds of kernel object a capability can point at (as reported by `CAP_LIST`).
pub mod object_kind {
    pub const ENDPOINT: u32 = 1;
    pub const PROCESS: u32 = 2;
    pub const CONSOLE: u32 = 3;
    /// The right to spawn and kill processes (held by init and terminal).
    pub const PROCESS_TABLE: u32 = 4;
}

/// Well-known capability slots every process gets at spawn.
pub mod slot {
    /// Write access to the console (`CONSOLE_WRITE`).
    pub const CONSOLE: u32 = 0;
    /// First slot filled from the program manifest (`provides`, then `connects`, in order).
    pub const FIRST_MANIFEST: u32 = 1;
    /// "No capability" in `SEND`'s transfer argument and `RECEIVE`'s transfer result.
    pub const NONE: u32 = u32::MAX;
    /// Capability slots per process.
    pub const CAPACITY: u32 = 64;
}

/// Process states as numbers (for `PS` records and the JS API).
pub mod state {
    pub const RUNNING: u32 = 0;
    pub const BLOCKED: u32 = 1;
    pub const ZOMBIE: u32 = 2;
}

/// The syscall mailbox: 4096 bytes of shared memory per process, outside the guest's own
/// linear memory. All header fields are little-endian 32-bit words at 4-byte alignment;
/// the data buffer follows the header and nothing overlaps (`mailbox_fields_do_not_overlap`).
pub mod mailbox {
    /// Mailbox status word values.
    pub const STATUS_IDLE: i32 = 0;
    pub const STATUS_PENDING: i32 = 1;
    pub const STATUS_READY: i32 = 2;

    /// Byte offsets of the header words.
    pub const STATUS: usize = 0;
    pub const SYSCALL: usize = 4;
    pub const ARG0: usize = 8;
    pub const ARG1: usize = 12;
    pub const ARG2: usize = 16;
    pub const RESULT: usize = 20;
    /// Request: bytes the guest staged in DATA. Reply: bytes the kernel wrote to DATA.
    pub const DATA_LEN: usize = 24;
    /// Written by the supervisor only; the kernel never reads it back.
    pub const PID: usize = 28;
    /// The syscall number the supervisor last serviced (for the inspector; -1 before the first).
    pub const LAST_SERVICED: usize = 32;
    /// 1 while the guest's host sleeps in `Atomics.wait`/futex-wait on `STATUS`, else 0 (set
    /// before it checks `STATUS` one last time, cleared after it wakes). A supervisor may skip
    /// the wake-up after `READY` when it reads 0 (the web host does: a wake-up is a system call).
    pub const GUEST_WAITING: usize = 36;
    pub const RESERVED3: usize = 40;
    /// The guest's linear memory size in bytes, written by the host shim before each syscall.
    pub const MEMORY_BYTES: usize = 44;
    /// Count of syscalls this mailbox has carried, incremented by the host shim.
    pub const SEQ: usize = 48;
    /// Set to a non-zero value by the supervisor to ask the guest's host to stop it.
    pub const KILL_FLAG: usize = 52;
    /// Refusals by the host's byte-copy imports (`orbital_send_bytes`, `orbital_recv_bytes`): a
    /// running count (wrapping), incremented by the host shim after it writes
    /// `HOST_REFUSAL_CODE`. The supervisor reports every change to the kernel, which counts it
    /// and emits `RequestDenied`, like any refused syscall.
    pub const HOST_REFUSALS: usize = 56;
    /// The last host refusal, as [`super::host_import::pack`] makes it: the import's number
    /// (`host_import::SEND_BYTES` / `RECV_BYTES`) in the high 16 bits, the error code in the low 16.
    pub const HOST_REFUSAL_CODE: usize = 60;
    /// Start of the data buffer.
    pub const DATA: usize = 64;
    /// Total mailbox size in bytes.
    pub const SIZE: usize = 4096;
    /// Largest message or reply payload.
    pub const DATA_CAPACITY: usize = SIZE - DATA;
    /// `RECEIVE` and `TRY_RECEIVE` replies start with this header in DATA: sender pid (u32 LE,
    /// stamped by the kernel, 0 = the kernel itself, e.g. console input), tag (u32 LE), and the
    /// slot where a transferred capability landed (u32 LE, `slot::NONE` if none). The payload follows.
    pub const RECV_HEADER_BYTES: usize = 12;
    /// Largest IPC message payload.
    pub const MAX_MESSAGE_BYTES: usize = DATA_CAPACITY - RECV_HEADER_BYTES;
    /// Number of 32-bit words in the header.
    pub const HEADER_WORDS: usize = DATA / 4;

    /// Every header field as (name, byte offset), in order; used to generate the JS constants
    /// and the docs table, and by the layout tests.
    pub const FIELDS: [(&str, usize); 16] = [
        ("STATUS", STATUS),
        ("SYSCALL", SYSCALL),
        ("ARG0", ARG0),
        ("ARG1", ARG1),
        ("ARG2", ARG2),
        ("RESULT", RESULT),
        ("DATA_LEN", DATA_LEN),
        ("PID", PID),
        ("LAST_SERVICED", LAST_SERVICED),
        ("GUEST_WAITING", GUEST_WAITING),
        ("RESERVED3", RESERVED3),
        ("MEMORY_BYTES", MEMORY_BYTES),
        ("SEQ", SEQ),
        ("KILL_FLAG", KILL_FLAG),
        ("HOST_REFUSALS", HOST_REFUSALS),
        ("HOST_REFUSAL_CODE", HOST_REFUSAL_CODE),
    ];

    /// The supervisor's doorbell: one shared 32-bit word every worker increments (and notifies)
    /// after setting a mailbox to PENDING, so the supervisor wakes without polling per frame.
    pub const DOORBELL_SIZE: usize = 4;
}

/// The host's byte-copy imports as numbers, for refusals the host makes before any syscall
/// (a range outside guest memory, a negative length, more than the mailbox buffer holds). Such a
/// refusal is recorded in the mailbox (`HOST_REFUSALS`, `HOST_REFUSAL_CODE`) and becomes a
/// `RequestDenied` event whose `syscall` is one of these numbers: far above the real syscall
/// numbers, so never mistaken for one.
pub mod host_import {
    use super::ErrorCode;

    /// `orbital_send_bytes`.
    pub const SEND_BYTES: u32 = 0x100;
    /// `orbital_recv_bytes`.
    pub const RECV_BYTES: u32 = 0x101;
    /// `wasi_snapshot_preview1` functions the host does not offer: `WASI_FIRST + i` is
    /// `wasi::FUNCTIONS[i]`, and `WASI_FIRST + wasi::FUNCTIONS.len()` any other name. The
    /// program got `wasi::errno::NOSYS`; the refusal's error code is `UNKNOWN_SYSCALL`.
    pub const WASI_FIRST: u32 = 0x200;

    /// The refusal number of `wasi::FUNCTIONS[index]` (an index past the table: "unknown").
    pub const fn wasi(index: usize) -> u32 {
        let index = if index < super::wasi::FUNCTIONS.len() {
            index
        } else {
            super::wasi::FUNCTIONS.len()
        };
        WASI_FIRST + index as u32
    }

    /// Whether `import` is a refused WASI function.
    pub const fn is_wasi(import: u32) -> bool {
        import >= WASI_FIRST && import <= WASI_FIRST + super::wasi::FUNCTIONS.len() as u32
    }

    /// The import's name (`orbital_send_bytes`, `fd_seek`), `None` for other numbers.
    pub const fn name(import: u32) -> Option<&'static str> {
        match import {
            SEND_BYTES => Some("orbital_send_bytes"),
            RECV_BYTES => Some("orbital_recv_bytes"),
            _ if is_wasi(import) => {
                let index = (import - WASI_FIRST) as usize;
                if index < super::wasi::FUNCTIONS.len() {
                    Some(super::wasi::FUNCTIONS[index])
                } else {
                    Some("(a function WASI preview 1 does not define)")
                }
            }
            _ => None,
        }
    }

    /// The `HOST_REFUSAL_CODE` word: the import in the high 16 bits, the error code in the low 16.
    pub const fn pack(import: u32, code: ErrorCode) -> i32 {
        ((import << 16) | code as u32) as i32
    }

    /// Splits a `HOST_REFUSAL_CODE` word into (import, error code); the code is `None` if the low
    /// 16 bits are not a known error code.
    pub const fn unpack(word: i32) -> (u32, Option<ErrorCode>) {
        let word = word as u32;
        let code = (word & 0xffff) as i32;
        (word >> 16, ErrorCode::from_result(-code))
    }
}

/// WASI preview 1 (`wasi_snapshot_preview1`): what the hosts offer a module that imports it
/// (docs/ABI.md, "WASI programs"). Calls with kernel meaning are syscalls; the rest return
/// `errno::NOSYS` and are recorded as host refusals (`host_import::wasi`).
pub mod wasi {
    /// The import module name.
    pub const MODULE: &str = "wasi_snapshot_preview1";

    /// WASI `errno` values the hosts return.
    pub mod errno {
        pub const SUCCESS: u32 = 0;
        pub const BADF: u32 = 8;
        pub const FAULT: u32 = 21;
        pub const INVAL: u32 = 28;
        pub const IO: u32 = 29;
        pub const NOSYS: u32 = 52;
        pub const NOTSUP: u32 = 58;
    }

    /// Tags of messages on a WASI process's stdin endpoint: bytes of input, or the end of input
    /// (`fd_read` on fd 0 then returns 0 bytes).
    pub const STDIN_DATA_TAG: u32 = 0;
    pub const STDIN_EOF_TAG: u32 = 1;

    /// The functions the hosts implement; every other one returns `errno::NOSYS`.
    /// `fd_prestat_get` answers `BADF` (no preopened directories), which is how wasi-libc
    /// learns there is no file system rather than failing at start-up.
    pub const SUPPORTED: [&str; 13] = [
        "args_get",
        "args_sizes_get",
        "environ_get",
        "environ_sizes_get",
        "clock_time_get",
        "fd_fdstat_get",
        "fd_prestat_get",
        "fd_read",
        "fd_write",
        "poll_oneoff",
        "proc_exit",
        "random_get",
        "sched_yield",
    ];

    /// Every function of WASI preview 1, in the order of its witx file.
    pub const FUNCTIONS: [&str; 46] = [
        "args_get",
        "args_sizes_get",
        "environ_get",
        "environ_sizes_get",
        "clock_res_get",
        "clock_time_get",
        "fd_advise",
        "fd_allocate",
        "fd_close",
        "fd_datasync",
        "fd_fdstat_get",
        "fd_fdstat_set_flags",
        "fd_fdstat_set_rights",
        "fd_filestat_get",
        "fd_filestat_set_size",
        "fd_filestat_set_times",
        "fd_pread",
        "fd_prestat_get",
        "fd_prestat_dir_name",
        "fd_pwrite",
        "fd_read",
        "fd_readdir",
        "fd_renumber",
        "fd_seek",
        "fd_sync",
        "fd_tell",
        "fd_write",
        "path_create_directory",
        "path_filestat_get",
        "path_filestat_set_times",
        "path_link",
        "path_open",
        "path_readlink",
        "path_remove_directory",
        "path_rename",
        "path_symlink",
        "path_unlink_file",
        "poll_oneoff",
        "proc_exit",
        "proc_raise",
        "sched_yield",
        "random_get",
        "sock_accept",
        "sock_recv",
        "sock_send",
        "sock_shutdown",
    ];

    /// The index of `name` in [`FUNCTIONS`], or `FUNCTIONS.len()` for a name WASI does not define.
    pub fn index_of(name: &str) -> usize {
        FUNCTIONS
            .iter()
            .position(|f| *f == name)
            .unwrap_or(FUNCTIONS.len())
    }
}

/// Memory limits.
pub mod memory {
    pub const PAGE_BYTES: u32 = 65_536;
    /// Memory every process is registered with: one wasm page, 64 KiB.
    pub const INITIAL_BYTES: u64 = 65_536;
    /// Per-process limit: 1024 wasm pages, the most a guest may declare (64 MiB).
    pub const LIMIT_BYTES: u64 = 64 * 1024 * 1024;
}

/// How long a `YIELD` parks the calling guest (on both hosts), so an idle loop costs at most
/// about a thousand syscalls a second instead of spinning a core.
pub const YIELD_PARK_MICROS: u32 = 1_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syscall_numbers_round_trip() {
        for (i, s) in Syscall::ALL.iter().enumerate() {
            assert_eq!(s.raw() as usize, i);
            assert_eq!(Syscall::from_raw(i as u32), Some(*s));
        }
        assert_eq!(Syscall::from_raw(nr::COUNT), None);
        assert_eq!(Syscall::from_raw(u32::MAX), None);
    }

    #[test]
    fn error_codes_round_trip() {
        for e in ErrorCode::ALL {
            assert!(e.to_result() < 0);
            assert_eq!(ErrorCode::from_result(e.to_result()), Some(e));
        }
        assert_eq!(ErrorCode::from_result(0), None);
        assert_eq!(ErrorCode::from_result(5), None);
        assert_eq!(ErrorCode::from_result(i32::MIN), None);
        assert_eq!(
            ErrorCode::from_result(-(ErrorCode::ALL.len() as i32) - 1),
            None
        );
    }

    #[test]
    fn mailbox_fields_do_not_overlap() {
        let mut prev_end = 0;
        for (name, off) in mailbox::FIELDS {
            assert_eq!(off % 4, 0, "{name} is not word aligned");
            assert!(off >= prev_end, "{name} overlaps the field before it");
            prev_end = off + 4;
        }
        assert!(
            prev_end <= mailbox::DATA,
            "header runs into the data buffer"
        );
        assert_eq!(mailbox::DATA + mailbox::DATA_CAPACITY, mailbox::SIZE);
        assert_eq!(mailbox::HEADER_WORDS * 4, mailbox::DATA);
    }

    #[test]
    fn rights_refuse_unknown_bits() {
        for bits in 0..=rights::ALL {
            assert_eq!(Rights::from_bits(bits).map(Rights::bits), Some(bits));
        }
        assert_eq!(Rights::from_bits(rights::ALL + 1), None);
        assert_eq!(Rights::from_bits(rights::STALE), None);
        assert_eq!(Rights::from_bits(u32::MAX), None);
        assert!(Rights::ALL.contains(Rights::WRITE) && !Rights::READ.contains(Rights::WRITE));
        assert_eq!(
            Rights::READ.union(Rights::WRITE).union(Rights::GRANT),
            Rights::ALL
        );
    }

    #[test]
    fn host_refusal_words_round_trip() {
        for import in [host_import::SEND_BYTES, host_import::RECV_BYTES] {
            assert!(import >= nr::COUNT && Syscall::from_raw(import).is_none());
            assert!(host_import::name(import).is_some());
            for e in ErrorCode::ALL {
                assert_eq!(
                    host_import::unpack(host_import::pack(import, e)),
                    (import, Some(e))
                );
            }
        }
        assert_eq!(host_import::unpack(0), (0, None));
        assert_eq!(host_import::unpack(-1), (0xffff, None));
        assert_eq!(host_import::name(nr::SEND), None);
    }
}
