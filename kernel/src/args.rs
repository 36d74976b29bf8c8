//! One argument struct per syscall (or per class of syscalls with the same arguments), parsed
//! from the raw words and data at the dispatcher's boundary, so a handler names what it uses
//! (`args.endpoint`, `args.tag`) instead of `a0`, `a1`, `a2`.
//!
//! Parsing never panics. A value whose refusal the ABI orders after a capability check (the
//! rights CAP_GRANT and CAP_DERIVE ask for, SPAWN's program name) is kept as its own type,
//! whose parse the handler calls once that check has passed, so the error order of
//! docs/ABI.md holds: slot errors first, then `BAD_ARGUMENT`.

use alloc::format;

use crate::abi::{ErrorCode, Rights, slot};
use crate::syscall::Call;
use crate::{Denied, ProcessId, rights_label};

/// EXIT: the exit code.
pub(crate) struct ExitArgs {
    pub code: i32,
}

impl ExitArgs {
    pub fn parse(call: &Call<'_>) -> Self {
        ExitArgs {
            code: call.words[0] as i32,
        }
    }
}

/// CONSOLE_WRITE: the console slot and the text (lossy UTF-8).
pub(crate) struct ConsoleWriteArgs<'a> {
    pub console: u32,
    pub text: &'a [u8],
}

impl<'a> ConsoleWriteArgs<'a> {
    pub fn parse(call: &Call<'a>) -> Self {
        ConsoleWriteArgs {
            console: call.words[0],
            text: call.data,
        }
    }
}

/// SLEEP: milliseconds to sleep (0: return at once).
pub(crate) struct SleepArgs {
    pub millis: u32,
}

impl SleepArgs {
    pub fn parse(call: &Call<'_>) -> Self {
        SleepArgs {
            millis: call.words[0],
        }
    }

    /// Nanoseconds to sleep (never overflows: about 49 days at most).
    pub fn nanos(&self) -> u64 {
        u64::from(self.millis).saturating_mul(1_000_000)
    }
}

/// Calls whose one argument is a slot: ENDPOINT_DELETE, RECEIVE, TRY_RECEIVE, CAP_REVOKE,
/// CAP_DELETE.
pub(crate) struct SlotArgs {
    pub slot: u32,
}

impl SlotArgs {
    pub fn parse(call: &Call<'_>) -> Self {
        SlotArgs {
            slot: call.words[0],
        }
    }
}

/// SEND: the endpoint slot, the tag, the slot of a capability to transfer (`slot::NONE` in the
/// raw word: none) and the payload.
pub(crate) struct SendArgs<'a> {
    pub endpoint: u32,
    pub tag: u32,
    pub transfer: Option<u32>,
    pub payload: &'a [u8],
}

impl<'a> SendArgs<'a> {
    pub fn parse(call: &Call<'a>) -> Self {
        let [endpoint, tag, transfer] = call.words;
        SendArgs {
            endpoint,
            tag,
            transfer: (transfer != slot::NONE).then_some(transfer),
            payload: call.data,
        }
    }
}

/// SEND_RECEIVE: SEND's endpoint slot and tag (no transfer), the slot to receive on, the payload.
pub(crate) struct SendReceiveArgs<'a> {
    pub send: u32,
    pub tag: u32,
    pub receive: u32,
    pub payload: &'a [u8],
}

impl<'a> SendReceiveArgs<'a> {
    pub fn parse(call: &Call<'a>) -> Self {
        let [send, tag, receive] = call.words;
        SendReceiveArgs {
            send,
            tag,
            receive,
            payload: call.data,
        }
    }
}

/// CAP_GRANT: the slot to grant from, the receiving process, the rights it gets.
pub(crate) struct GrantArgs {
    pub slot: u32,
    pub target: ProcessId,
    pub rights: RequestedRights,
}

impl GrantArgs {
    pub fn parse(call: &Call<'_>) -> Self {
        let [slot, target, rights] = call.words;
        GrantArgs {
            slot,
            target: ProcessId(target),
            rights: RequestedRights(rights),
        }
    }
}

/// CAP_DERIVE: the slot to derive from and the rights the copy keeps.
pub(crate) struct DeriveArgs {
    pub slot: u32,
    pub rights: RequestedRights,
}

impl DeriveArgs {
    pub fn parse(call: &Call<'_>) -> Self {
        let [slot, rights, _] = call.words;
        DeriveArgs {
            slot,
            rights: RequestedRights(rights),
        }
    }
}

/// MEM_ALLOC and MEM_FREE: a byte count.
pub(crate) struct MemArgs {
    pub bytes: u64,
}

impl MemArgs {
    pub fn parse(call: &Call<'_>) -> Self {
        MemArgs {
            bytes: u64::from(call.words[0]),
        }
    }
}

/// SPAWN: the process-table slot and the program name.
pub(crate) struct SpawnArgs<'a> {
    pub table: u32,
    pub program: ProgramName<'a>,
}

impl<'a> SpawnArgs<'a> {
    pub fn parse(call: &Call<'a>) -> Self {
        SpawnArgs {
            table: call.words[0],
            program: ProgramName(call.data),
        }
    }
}

/// KILL: the process-table slot and the process to kill.
pub(crate) struct KillArgs {
    pub table: u32,
    pub target: ProcessId,
}

impl KillArgs {
    pub fn parse(call: &Call<'_>) -> Self {
        KillArgs {
            table: call.words[0],
            target: ProcessId(call.words[1]),
        }
    }
}

/// A rights word a guest asks for. It becomes [`Rights`] only as a subset of the rights the
/// slot holds, so unknown bits and rights the slot lacks are one refusal, `BAD_ARGUMENT`.
#[derive(Clone, Copy)]
pub(crate) struct RequestedRights(u32);

impl RequestedRights {
    /// The requested rights, if they are known rights and all held by the capability in `slot`.
    pub fn within(self, slot: u32, held: Rights) -> Result<Rights, Denied> {
        match Rights::from_bits(self.0) {
            Some(wanted) if held.contains(wanted) => Ok(wanted),
            _ => Err(Denied::new(
                ErrorCode::BadArgument,
                format!(
                    "rights {:#x} are not a subset of slot {slot}'s {}",
                    self.0,
                    rights_label(held.bits())
                ),
            )),
        }
    }
}

/// SPAWN's data: a program name, UTF-8, surrounding white space ignored.
#[derive(Clone, Copy)]
pub(crate) struct ProgramName<'a>(&'a [u8]);

impl<'a> ProgramName<'a> {
    /// The name, or `BAD_ARGUMENT` if it is not UTF-8 or is empty.
    pub fn parse(self) -> Result<&'a str, Denied> {
        let name = core::str::from_utf8(self.0)
            .map_err(|_| Denied::new(ErrorCode::BadArgument, "the program name is not UTF-8"))?
            .trim();
        if name.is_empty() {
            return Err(Denied::new(
                ErrorCode::BadArgument,
                "the program name is empty",
            ));
        }
        Ok(name)
    }
}
