//! One recorded input: everything the supervisor can do to the kernel, as data, with its compact
//! byte encoding (time as a delta from the previous input; syscalls in fixed-width fields, the
//! rest as varints) and the one function that
//! applies it to a kernel. Recording and replay meet here: [`apply`] calls the same kernel
//! method, with the same arguments, that the recording wrapper forwarded to.

use crate::abi::ErrorCode;
use crate::kernel::{EndpointId, ExitReason, Kernel, ObjectRef, ProcessId, SyscallArgs};

/// An input to the kernel. Borrowed data (`data`, `name`) points into the recording's byte
/// stream when decoded, so replay allocates nothing for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input<'a> {
    /// A dispatched syscall: the caller (from the supervisor's map), the raw words and data.
    Syscall {
        pid: ProcessId,
        number: u32,
        args: [u32; 3],
        data: &'a [u8],
    },
    /// `register_process` (a spawn's first step).
    RegisterProcess {
        name: &'a str,
    },
    SetProtected {
        pid: ProcessId,
        protected: bool,
    },
    CreateEndpoint {
        owner: ProcessId,
    },
    /// `install_capability` (slot `None`) or `install_capability_at`.
    InstallCapability {
        pid: ProcessId,
        slot: Option<u32>,
        object: ObjectRef,
        rights: u32,
    },
    KillProcess {
        pid: ProcessId,
        by: Option<ProcessId>,
    },
    /// Exits, traps and failed starts reported by the host (or the supervisor abandoning a spawn).
    ExitProcess {
        pid: ProcessId,
        reason: ExitReason,
    },
    ReapProcess {
        pid: ProcessId,
    },
    ReportMemory {
        pid: ProcessId,
        bytes: u64,
    },
    HostRefusal {
        pid: ProcessId,
        import: u32,
        error: ErrorCode,
        count: u32,
    },
    /// Console input (sender pid 0).
    SendFromKernel {
        endpoint: EndpointId,
        tag: u32,
        data: &'a [u8],
    },
    Tick,
    ClearLogs,
}

/// The kinds of [`Input`], for tests and statistics (the tag byte of the encoding).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum InputKind {
    Syscall = 0,
    RegisterProcess = 1,
    SetProtected = 2,
    CreateEndpoint = 3,
    InstallCapability = 4,
    KillProcess = 5,
    ExitProcess = 6,
    ReapProcess = 7,
    ReportMemory = 8,
    HostRefusal = 9,
    SendFromKernel = 10,
    Tick = 11,
    ClearLogs = 12,
}

impl InputKind {
    pub const ALL: [InputKind; 13] = [
        InputKind::Syscall,
        InputKind::RegisterProcess,
        InputKind::SetProtected,
        InputKind::CreateEndpoint,
        InputKind::InstallCapability,
        InputKind::KillProcess,
        InputKind::ExitProcess,
        InputKind::ReapProcess,
        InputKind::ReportMemory,
        InputKind::HostRefusal,
        InputKind::SendFromKernel,
        InputKind::Tick,
        InputKind::ClearLogs,
    ];

    fn from_tag(tag: u8) -> Option<InputKind> {
        InputKind::ALL.get(usize::from(tag)).copied()
    }

    pub fn name(self) -> &'static str {
        match self {
            InputKind::Syscall => "syscall",
            InputKind::RegisterProcess => "register_process",
            InputKind::SetProtected => "set_protected",
            InputKind::CreateEndpoint => "create_endpoint",
            InputKind::InstallCapability => "install_capability",
            InputKind::KillProcess => "kill_process",
            InputKind::ExitProcess => "exit_process",
            InputKind::ReapProcess => "reap_process",
            InputKind::ReportMemory => "report_memory",
            InputKind::HostRefusal => "host_refusal",
            InputKind::SendFromKernel => "send_from_kernel",
            InputKind::Tick => "tick",
            InputKind::ClearLogs => "clear_logs",
        }
    }
}

impl Input<'_> {
    pub fn kind(&self) -> InputKind {
        match self {
            Input::Syscall { .. } => InputKind::Syscall,
            Input::RegisterProcess { .. } => InputKind::RegisterProcess,
            Input::SetProtected { .. } => InputKind::SetProtected,
            Input::CreateEndpoint { .. } => InputKind::CreateEndpoint,
            Input::InstallCapability { .. } => InputKind::InstallCapability,
            Input::KillProcess { .. } => InputKind::KillProcess,
            Input::ExitProcess { .. } => InputKind::ExitProcess,
            Input::ReapProcess { .. } => InputKind::ReapProcess,
            Input::ReportMemory { .. } => InputKind::ReportMemory,
            Input::HostRefusal { .. } => InputKind::HostRefusal,
            Input::SendFromKernel { .. } => InputKind::SendFromKernel,
            Input::Tick => InputKind::Tick,
            Input::ClearLogs => InputKind::ClearLogs,
        }
    }
}

/// An input with the time passed in with it (the raw value the supervisor gave the kernel).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimedInput<'a> {
    pub now_ns: u64,
    pub input: Input<'a>,
}

/// Applies `input` to `kernel` exactly as the recording wrapper did, and discards the effects
/// (the guests they were for are not there in a replay).
pub fn apply(kernel: &mut Kernel, timed: &TimedInput<'_>) {
    let now_ns = timed.now_ns;
    // Results are ignored on purpose: a replay does what the live call did, refusals included.
    match &timed.input {
        Input::Syscall {
            pid,
            number,
            args,
            data,
        } => {
            let _dispatch = kernel.dispatch(*pid, SyscallArgs::new(*number, *args), data, now_ns);
        }
        Input::RegisterProcess { name } => {
            kernel.register_process(name, now_ns).ok();
        }
        Input::SetProtected { pid, protected } => {
            kernel.set_protected(*pid, *protected).ok();
        }
        Input::CreateEndpoint { owner } => {
            kernel.create_endpoint(*owner, now_ns).ok();
        }
        Input::InstallCapability {
            pid,
            slot: None,
            object,
            rights,
        } => {
            kernel
                .install_capability(*pid, *object, *rights, now_ns)
                .ok();
        }
        Input::InstallCapability {
            pid,
            slot: Some(slot),
            object,
            rights,
        } => {
            kernel
                .install_capability_at(*pid, *slot, *object, *rights, now_ns)
                .ok();
        }
        Input::KillProcess { pid, by } => {
            kernel.kill_process(*pid, *by, now_ns).ok();
        }
        Input::ExitProcess { pid, reason } => {
            kernel.exit_process(*pid, reason.clone(), now_ns).ok();
        }
        Input::ReapProcess { pid } => {
            kernel.reap_process(*pid, now_ns).ok();
        }
        Input::ReportMemory { pid, bytes } => {
            kernel.report_memory(*pid, *bytes, now_ns).ok();
        }
        Input::HostRefusal {
            pid,
            import,
            error,
            count,
        } => {
            kernel
                .record_host_refusal(*pid, *import, *error, *count, now_ns)
                .ok();
        }
        Input::SendFromKernel {
            endpoint,
            tag,
            data,
        } => {
            kernel.send_from_kernel(*endpoint, *tag, data, now_ns).ok();
        }
        Input::Tick => kernel.tick(now_ns),
        Input::ClearLogs => kernel.clear_logs(),
    }
    drop(kernel.take_effects());
}

/// Why a byte stream is not a valid sequence of inputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// Byte offset in the stream.
    pub at: usize,
    pub what: &'static str,
}

pub(crate) fn put_u64(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

fn put_u32(buf: &mut Vec<u8>, v: u32) {
    put_u64(buf, u64::from(v));
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn put_bytes(buf: &mut Vec<u8>, bytes: &[u8]) {
    put_u64(buf, bytes.len() as u64);
    buf.extend_from_slice(bytes);
}

fn put_object(buf: &mut Vec<u8>, object: &ObjectRef) {
    let (tag, id) = match object {
        ObjectRef::Endpoint(e) => (0, e.0),
        ObjectRef::Process(p) => (1, p.0),
        ObjectRef::Console => (2, 0),
        ObjectRef::ProcessTable => (3, 0),
    };
    buf.push(tag);
    put_u32(buf, id);
}

fn put_option_pid(buf: &mut Vec<u8>, pid: Option<ProcessId>) {
    // 0 = none, else pid + 1.
    put_u64(buf, pid.map_or(0, |p| u64::from(p.0) + 1));
}

/// The tag byte of a packed syscall: [`InputKind::Syscall`] in fixed-width fields instead of
/// varints (file version 2). Not an input kind of its own: it decodes to `Input::Syscall`.
const PACKED_SYSCALL_TAG: u8 = 0x80;

/// A packed syscall's head: tag, time delta (u32), pid (u16), number (u8), three arguments (u32
/// each) and the data length (u16), little-endian.
const PACKED_SYSCALL_HEAD: usize = 1 + 4 + 2 + 1 + 12 + 2;

/// Appends `timed` to `buf`; `prev_ns` is the time of the input before it (updated).
///
/// Syscalls (nearly every input) are written packed when their fields fit (a forward time step
/// under 4.3 s, a pid under 65,536, data under 64 KiB: always, in practice): one 22-byte head
/// built in a stack array, then the data. Seven varints cost about 160 instructions a syscall
/// (callgrind), an eighth of the whole servicing path; the fixed fields cost a few stores. Any
/// other syscall, and every other input, is written by the general path, field by field.
#[inline]
pub fn encode(buf: &mut Vec<u8>, prev_ns: &mut u64, timed: &TimedInput<'_>) {
    if let Input::Syscall {
        pid,
        number,
        args,
        data,
    } = &timed.input
    {
        let dt = timed.now_ns.wrapping_sub(*prev_ns);
        if let (Ok(dt), Ok(pid), Ok(number), Ok(len)) = (
            u32::try_from(dt),
            u16::try_from(pid.0),
            u8::try_from(*number),
            u16::try_from(data.len()),
        ) {
            let mut head = [0u8; PACKED_SYSCALL_HEAD];
            head[0] = PACKED_SYSCALL_TAG;
            head[1..5].copy_from_slice(&dt.to_le_bytes());
            head[5..7].copy_from_slice(&pid.to_le_bytes());
            head[7] = number;
            head[8..12].copy_from_slice(&args[0].to_le_bytes());
            head[12..16].copy_from_slice(&args[1].to_le_bytes());
            head[16..20].copy_from_slice(&args[2].to_le_bytes());
            head[20..22].copy_from_slice(&len.to_le_bytes());
            *prev_ns = timed.now_ns;
            buf.reserve(PACKED_SYSCALL_HEAD + data.len());
            buf.extend_from_slice(&head);
            buf.extend_from_slice(data);
            return;
        }
    }
    encode_general(buf, prev_ns, timed);
}

/// [`encode`] for every kind, one field at a time.
pub(crate) fn encode_general(buf: &mut Vec<u8>, prev_ns: &mut u64, timed: &TimedInput<'_>) {
    buf.push(timed.input.kind() as u8);
    put_u64(buf, zigzag(timed.now_ns.wrapping_sub(*prev_ns) as i64));
    *prev_ns = timed.now_ns;
    match &timed.input {
        Input::Syscall {
            pid,
            number,
            args,
            data,
        } => {
            put_u32(buf, pid.0);
            put_u32(buf, *number);
            // Most calls pass small words; a slot NONE (u32::MAX) costs five bytes.
            for a in args {
                put_u32(buf, *a);
            }
            put_bytes(buf, data);
        }
        Input::RegisterProcess { name } => put_bytes(buf, name.as_bytes()),
        Input::SetProtected { pid, protected } => {
            put_u32(buf, pid.0);
            buf.push(u8::from(*protected));
        }
        Input::CreateEndpoint { owner } => put_u32(buf, owner.0),
        Input::InstallCapability {
            pid,
            slot,
            object,
            rights,
        } => {
            put_u32(buf, pid.0);
            put_u64(buf, slot.map_or(0, |s| u64::from(s) + 1));
            put_object(buf, object);
            put_u32(buf, *rights);
        }
        Input::KillProcess { pid, by } => {
            put_u32(buf, pid.0);
            put_option_pid(buf, *by);
        }
        Input::ExitProcess { pid, reason } => {
            put_u32(buf, pid.0);
            match reason {
                ExitReason::Exited { code } => {
                    buf.push(0);
                    put_u64(buf, zigzag(i64::from(*code)));
                }
                ExitReason::Trapped { message } => {
                    buf.push(1);
                    put_bytes(buf, message.as_bytes());
                }
                ExitReason::Killed { by } => {
                    buf.push(2);
                    put_option_pid(buf, *by);
                }
                ExitReason::OutOfMemory => buf.push(3),
            }
        }
        Input::ReapProcess { pid } => put_u32(buf, pid.0),
        Input::ReportMemory { pid, bytes } => {
            put_u32(buf, pid.0);
            put_u64(buf, *bytes);
        }
        Input::HostRefusal {
            pid,
            import,
            error,
            count,
        } => {
            put_u32(buf, pid.0);
            put_u32(buf, *import);
            put_u64(buf, zigzag(i64::from(error.to_result())));
            put_u32(buf, *count);
        }
        Input::SendFromKernel {
            endpoint,
            tag,
            data,
        } => {
            put_u32(buf, endpoint.0);
            put_u32(buf, *tag);
            put_bytes(buf, data);
        }
        Input::Tick | Input::ClearLogs => {}
    }
}

/// Reads inputs one by one from an encoded stream.
#[derive(Clone, Debug)]
pub struct Decoder<'a> {
    bytes: &'a [u8],
    pos: usize,
    prev_ns: u64,
}

impl<'a> Decoder<'a> {
    /// `prev_ns` is the time of the input before the stream's first one.
    pub fn new(bytes: &'a [u8], prev_ns: u64) -> Decoder<'a> {
        Decoder {
            bytes,
            pos: 0,
            prev_ns,
        }
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn prev_ns(&self) -> u64 {
        self.prev_ns
    }

    /// A bare varint (file headers).
    pub(crate) fn varint(&mut self) -> Result<u64, DecodeError> {
        self.u64()
    }

    /// The bytes not read yet.
    pub(crate) fn remaining(&self) -> &'a [u8] {
        self.bytes.get(self.pos..).unwrap_or(&[])
    }

    pub fn is_at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    fn err(&self, what: &'static str) -> DecodeError {
        DecodeError { at: self.pos, what }
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        let b = *self
            .bytes
            .get(self.pos)
            .ok_or_else(|| self.err("the stream ends inside an input"))?;
        self.pos += 1;
        Ok(b)
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.err("a number is longer than 64 bits"))
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        let v = self.u64()?;
        u32::try_from(v).map_err(|_| self.err("a 32-bit field is out of range"))
    }

    fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = usize::try_from(self.u64()?).map_err(|_| self.err("a length is out of range"))?;
        self.take(len, "the stream ends inside a byte string")
    }

    /// The next `len` bytes; `short` says where the stream ended if there are fewer.
    fn take(&mut self, len: usize, short: &'static str) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(len)
            .ok_or_else(|| self.err("a length is out of range"))?;
        let bytes = self
            .bytes
            .get(self.pos..end)
            .ok_or_else(|| self.err(short))?;
        self.pos = end;
        Ok(bytes)
    }

    fn str(&mut self) -> Result<&'a str, DecodeError> {
        let bytes = self.bytes()?;
        std::str::from_utf8(bytes).map_err(|_| self.err("a name is not UTF-8"))
    }

    fn pid(&mut self) -> Result<ProcessId, DecodeError> {
        Ok(ProcessId(self.u32()?))
    }

    fn option_pid(&mut self) -> Result<Option<ProcessId>, DecodeError> {
        Ok(match self.u32()? {
            0 => None,
            p => Some(ProcessId(p - 1)),
        })
    }

    /// `n` bytes, little-endian fixed-width fields.
    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let bytes = self.take(N, "the stream ends inside an input")?;
        Ok(bytes.try_into().unwrap_or([0; N]))
    }

    /// A packed syscall, after its tag (see [`encode`]).
    fn packed_syscall(&mut self) -> Result<TimedInput<'a>, DecodeError> {
        let head: [u8; PACKED_SYSCALL_HEAD - 1] = self.fixed()?;
        let u32_at =
            |i: usize| u32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
        let u16_at = |i: usize| u16::from_le_bytes([head[i], head[i + 1]]);
        let now_ns = self.prev_ns.wrapping_add(u64::from(u32_at(0)));
        self.prev_ns = now_ns;
        let len = usize::from(u16_at(19));
        let data = self.take(len, "the stream ends inside a byte string")?;
        Ok(TimedInput {
            now_ns,
            input: Input::Syscall {
                pid: ProcessId(u32::from(u16_at(4))),
                number: u32::from(head[6]),
                args: [u32_at(7), u32_at(11), u32_at(15)],
                data,
            },
        })
    }

    /// The next input, `None` at the end of the stream.
    pub fn next_input(&mut self) -> Result<Option<TimedInput<'a>>, DecodeError> {
        if self.is_at_end() {
            return Ok(None);
        }
        let tag = self.u8()?;
        if tag == PACKED_SYSCALL_TAG {
            return self.packed_syscall().map(Some);
        }
        let kind = InputKind::from_tag(tag).ok_or_else(|| self.err("unknown input kind"))?;
        let now_ns = self.prev_ns.wrapping_add(unzigzag(self.u64()?) as u64);
        self.prev_ns = now_ns;
        let input = match kind {
            InputKind::Syscall => {
                let pid = self.pid()?;
                let number = self.u32()?;
                let args = [self.u32()?, self.u32()?, self.u32()?];
                Input::Syscall {
                    pid,
                    number,
                    args,
                    data: self.bytes()?,
                }
            }
            InputKind::RegisterProcess => Input::RegisterProcess { name: self.str()? },
            InputKind::SetProtected => Input::SetProtected {
                pid: self.pid()?,
                protected: self.u8()? != 0,
            },
            InputKind::CreateEndpoint => Input::CreateEndpoint { owner: self.pid()? },
            InputKind::InstallCapability => {
                let pid = self.pid()?;
                let slot = match self.u32()? {
                    0 => None,
                    s => Some(s - 1),
                };
                let object = match (self.u8()?, self.u32()?) {
                    (0, id) => ObjectRef::Endpoint(EndpointId(id)),
                    (1, id) => ObjectRef::Process(ProcessId(id)),
                    (2, _) => ObjectRef::Console,
                    (3, _) => ObjectRef::ProcessTable,
                    _ => return Err(self.err("unknown object kind")),
                };
                Input::InstallCapability {
                    pid,
                    slot,
                    object,
                    rights: self.u32()?,
                }
            }
            InputKind::KillProcess => Input::KillProcess {
                pid: self.pid()?,
                by: self.option_pid()?,
            },
            InputKind::ExitProcess => {
                let pid = self.pid()?;
                let reason = match self.u8()? {
                    0 => ExitReason::Exited {
                        code: i32::try_from(unzigzag(self.u64()?))
                            .map_err(|_| self.err("an exit code is out of range"))?,
                    },
                    1 => ExitReason::Trapped {
                        message: self.str()?.to_string(),
                    },
                    2 => ExitReason::Killed {
                        by: self.option_pid()?,
                    },
                    3 => ExitReason::OutOfMemory,
                    _ => return Err(self.err("unknown exit reason")),
                };
                Input::ExitProcess { pid, reason }
            }
            InputKind::ReapProcess => Input::ReapProcess { pid: self.pid()? },
            InputKind::ReportMemory => Input::ReportMemory {
                pid: self.pid()?,
                bytes: self.u64()?,
            },
            InputKind::HostRefusal => {
                let pid = self.pid()?;
                let import = self.u32()?;
                let code = i32::try_from(unzigzag(self.u64()?)).unwrap_or(0);
                let error =
                    ErrorCode::from_result(code).ok_or_else(|| self.err("unknown error code"))?;
                Input::HostRefusal {
                    pid,
                    import,
                    error,
                    count: self.u32()?,
                }
            }
            InputKind::SendFromKernel => Input::SendFromKernel {
                endpoint: EndpointId(self.u32()?),
                tag: self.u32()?,
                data: self.bytes()?,
            },
            InputKind::Tick => Input::Tick,
            InputKind::ClearLogs => Input::ClearLogs,
        };
        Ok(Some(TimedInput { now_ns, input }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Packed syscalls (version 2) and varint syscalls (version 1, and whatever does not fit the
    /// packed fields: time going back or jumping 4.3 s, a pid of 65,536 or more, a number over
    /// 255) decode to the same inputs, mixed in one stream.
    #[test]
    fn packed_and_varint_syscalls_decode_to_the_same_inputs() {
        let data = [0xA5u8; 300];
        let mut times = vec![
            0u64,
            1,
            127,
            128,
            1 << 40,
            u64::MAX,
            5,
            (1 << 40) + (1 << 32),
        ];
        times.extend((0..50).map(|i| i * 977));
        let words = [0u32, 1, 127, 128, 16_383, 65_535, 65_536, u32::MAX];
        let mut inputs = Vec::new();
        for (i, now_ns) in times.iter().enumerate() {
            for w in words {
                inputs.push(TimedInput {
                    now_ns: *now_ns,
                    input: Input::Syscall {
                        pid: ProcessId(w),
                        number: w.rotate_left(i as u32) % 300,
                        args: [w, u32::MAX - w, i as u32],
                        data: &data[..(i * 7 + w as usize % 11) % data.len()],
                    },
                });
            }
        }
        let (mut packed, mut general) = (Vec::new(), Vec::new());
        let (mut prev_packed, mut prev_general) = (3u64, 3u64);
        for timed in &inputs {
            encode(&mut packed, &mut prev_packed, timed);
            encode_general(&mut general, &mut prev_general, timed);
        }
        assert_eq!(prev_packed, prev_general);
        for stream in [&packed, &general] {
            let mut d = Decoder::new(stream, 3);
            for timed in &inputs {
                assert_eq!(d.next_input().unwrap().as_ref(), Some(timed));
            }
            assert_eq!(d.next_input(), Ok(None));
        }
        // Most fit the packed fields; those that do not were written as varints.
        let tags = |stream: &[u8]| {
            let mut d = Decoder::new(stream, 3);
            let mut packed = 0;
            while !d.is_at_end() {
                packed += usize::from(d.remaining()[0] == PACKED_SYSCALL_TAG);
                d.next_input().unwrap();
            }
            packed
        };
        let fitting = inputs.len() * 4 / 10;
        assert!(tags(&packed) > fitting, "{} packed", tags(&packed));
        assert!(tags(&packed) < inputs.len());
        assert_eq!(tags(&general), 0);
    }

    #[test]
    fn every_kind_round_trips() {
        let inputs = [
            Input::Syscall {
                pid: ProcessId(3),
                number: 8,
                args: [1, 2, u32::MAX],
                data: b"hello",
            },
            Input::RegisterProcess { name: "pingpong" },
            Input::SetProtected {
                pid: ProcessId(1),
                protected: true,
            },
            Input::CreateEndpoint {
                owner: ProcessId(2),
            },
            Input::InstallCapability {
                pid: ProcessId(2),
                slot: Some(3),
                object: ObjectRef::Endpoint(EndpointId(7)),
                rights: 3,
            },
            Input::InstallCapability {
                pid: ProcessId(2),
                slot: None,
                object: ObjectRef::ProcessTable,
                rights: 2,
            },
            Input::KillProcess {
                pid: ProcessId(5),
                by: None,
            },
            Input::KillProcess {
                pid: ProcessId(5),
                by: Some(ProcessId(0)),
            },
            Input::ExitProcess {
                pid: ProcessId(4),
                reason: ExitReason::Exited { code: -3 },
            },
            Input::ExitProcess {
                pid: ProcessId(4),
                reason: ExitReason::Trapped {
                    message: "unreachable".into(),
                },
            },
            Input::ExitProcess {
                pid: ProcessId(4),
                reason: ExitReason::Killed {
                    by: Some(ProcessId(1)),
                },
            },
            Input::ExitProcess {
                pid: ProcessId(4),
                reason: ExitReason::OutOfMemory,
            },
            Input::ReapProcess { pid: ProcessId(4) },
            Input::ReportMemory {
                pid: ProcessId(4),
                bytes: 1 << 33,
            },
            Input::HostRefusal {
                pid: ProcessId(4),
                import: 256,
                error: ErrorCode::BadPointer,
                count: 2,
            },
            Input::SendFromKernel {
                endpoint: EndpointId(1),
                tag: 0,
                data: b"ps",
            },
            Input::Tick,
            Input::ClearLogs,
        ];
        let mut buf = Vec::new();
        let mut prev = 100;
        let times = [5u64, 1_000_000, 999_999, u64::MAX, 0];
        for (i, input) in inputs.iter().enumerate() {
            let now_ns = times[i % times.len()];
            encode(
                &mut buf,
                &mut prev,
                &TimedInput {
                    now_ns,
                    input: input.clone(),
                },
            );
        }
        let mut d = Decoder::new(&buf, 100);
        for (i, input) in inputs.iter().enumerate() {
            let got = d.next_input().expect("decodes").expect("present");
            assert_eq!(
                got,
                TimedInput {
                    now_ns: times[i % times.len()],
                    input: input.clone()
                }
            );
        }
        assert_eq!(d.next_input(), Ok(None));
        // Every prefix that cuts an input short is an error, never a panic.
        for cut in 0..buf.len() {
            let mut d = Decoder::new(&buf[..cut], 100);
            while let Ok(Some(_)) = d.next_input() {}
        }
    }
}
