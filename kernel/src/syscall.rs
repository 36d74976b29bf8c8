//! The dispatcher: one entry point turns a raw syscall into a typed request, runs it, and
//! applies results, refusals and trace events in one place.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use crate::abi::{self, ErrorCode, Syscall, mailbox, rights};
use crate::caps::Cap;
use crate::{
    BlockReason, Denied, Dispatch, ExitReason, Kernel, KernelEvent, ObjectRef, ProcessId, Reply,
    SyscallArgs,
};

/// What a syscall handler produced.
enum Outcome {
    Reply(Reply),
    Pending,
    Exited,
    Spawn(String),
}

impl Kernel {
    /// Services one syscall from `pid` (the supervisor's own pid for the mailbox, never a value
    /// the guest wrote). Never panics; counts the call in the caller's metrics.
    pub fn dispatch(
        &mut self,
        pid: ProcessId,
        call: SyscallArgs,
        data: &[u8],
        now_ns: u64,
    ) -> Dispatch {
        let now_ns = self.observe_time(now_ns);
        self.counters.syscalls = self.counters.syscalls.saturating_add(1);
        // Most calls name a slot in ARG0: read it along with the state check, so the handler
        // does not look the caller up again.
        let (checked, cap0) = match self.processes.get(&pid) {
            None => (
                Err(Denied::new(
                    ErrorCode::NoSuchProcess,
                    format!("pid {pid} is not in the process table"),
                )),
                None,
            ),
            Some(p) if p.state.is_zombie() => (
                Err(Denied::new(
                    ErrorCode::NoSuchProcess,
                    format!("pid {pid} has ended"),
                )),
                None,
            ),
            Some(p) if p.state.is_blocked() => (
                Err(Denied::new(
                    ErrorCode::BadArgument,
                    format!("pid {pid} is still blocked in an earlier call"),
                )),
                None,
            ),
            Some(p) => (Ok(()), p.caps.get(call.args[0]).copied()),
        };
        self.caller = Some(pid);
        let outcome = match checked {
            Err(d) => Err(d),
            Ok(()) if data.len() > mailbox::DATA_CAPACITY => Err(Denied::new(
                ErrorCode::MessageTooLarge,
                format!(
                    "{} data bytes is over the {}-byte mailbox buffer",
                    data.len(),
                    mailbox::DATA_CAPACITY
                ),
            )),
            Ok(()) => match Syscall::from_raw(call.number) {
                Some(syscall) => self.run(syscall, pid, cap0, call.args, data, now_ns),
                None => Err(Denied::new(
                    ErrorCode::UnknownSyscall,
                    format!("no syscall has number {}", call.number),
                )),
            },
        };
        self.caller = None;
        let delta = core::mem::take(&mut self.caller_delta);
        if let Some(p) = self.processes.get_mut(&pid) {
            let m = &mut p.metrics;
            m.syscall_count = m.syscall_count.saturating_add(1);
            m.last_active_ns = now_ns;
            m.ipc_sent = m.ipc_sent.saturating_add(delta.ipc_sent);
            m.ipc_bytes_sent = m.ipc_bytes_sent.saturating_add(delta.ipc_bytes_sent);
            m.ipc_received = m.ipc_received.saturating_add(delta.ipc_received);
            m.ipc_bytes_received = m
                .ipc_bytes_received
                .saturating_add(delta.ipc_bytes_received);
        }
        match outcome {
            Ok(Outcome::Reply(reply)) => {
                self.emit(KernelEvent::SyscallServiced {
                    pid,
                    syscall: call.number,
                    result: reply.result,
                    at_ns: now_ns,
                });
                Dispatch::Complete(reply)
            }
            Ok(Outcome::Pending) => Dispatch::Pending,
            Ok(Outcome::Exited) => {
                self.emit(KernelEvent::SyscallServiced {
                    pid,
                    syscall: call.number,
                    result: 0,
                    at_ns: now_ns,
                });
                Dispatch::Exited
            }
            Ok(Outcome::Spawn(program)) => {
                self.emit(KernelEvent::SyscallServiced {
                    pid,
                    syscall: call.number,
                    result: 0,
                    at_ns: now_ns,
                });
                Dispatch::Spawn { program }
            }
            Err(denied) => {
                let result = denied.code.to_result();
                if denied.code != ErrorCode::WouldBlock {
                    self.emit(KernelEvent::RequestDenied {
                        pid,
                        syscall: call.number,
                        error: denied.code,
                        reason: denied.reason,
                        at_ns: now_ns,
                    });
                }
                self.emit(KernelEvent::SyscallServiced {
                    pid,
                    syscall: call.number,
                    result,
                    at_ns: now_ns,
                });
                Dispatch::Complete(Reply::error(denied.code))
            }
        }
    }

    fn run(
        &mut self,
        syscall: Syscall,
        pid: ProcessId,
        cap0: Option<Cap>,
        args: [u32; 3],
        data: &[u8],
        now_ns: u64,
    ) -> Result<Outcome, Denied> {
        let [a0, a1, a2] = args;
        let ok = |r: i32| Ok(Outcome::Reply(Reply::ok(r)));
        match syscall {
            Syscall::Yield => ok(0),
            Syscall::GetPid => ok(pid.0 as i32),
            Syscall::Exit => {
                self.exit_process(pid, ExitReason::Exited { code: a0 as i32 }, now_ns)
                    .map_err(|e| Denied::new(e, "exit failed"))?;
                Ok(Outcome::Exited)
            }
            Syscall::ConsoleWrite => {
                let cap = self.check_cap(cap0, a0)?;
                if cap.object != ObjectRef::Console {
                    return Err(Denied::new(
                        ErrorCode::WrongObjectKind,
                        format!("slot {a0} holds the {}, not the console", cap.object),
                    ));
                }
                if cap.rights & rights::WRITE == 0 {
                    return Err(Denied::new(
                        ErrorCode::PermissionDenied,
                        format!("slot {a0} (console) lacks WRITE"),
                    ));
                }
                let text = String::from_utf8_lossy(data).into_owned();
                self.emit(KernelEvent::ConsoleOutput {
                    pid,
                    text,
                    at_ns: now_ns,
                });
                ok(data.len() as i32)
            }
            Syscall::Time => Ok(Outcome::Reply(Reply {
                result: 0,
                data: now_ns.to_le_bytes().to_vec(),
            })),
            Syscall::Sleep => {
                if a0 == 0 {
                    return ok(0);
                }
                let until_ns = now_ns.saturating_add(u64::from(a0).saturating_mul(1_000_000));
                self.block(pid, BlockReason::Sleep { until_ns }, abi::nr::SLEEP, now_ns);
                Ok(Outcome::Pending)
            }
            Syscall::EndpointCreate => {
                let (_, slot) = self.create_endpoint_inner(pid, now_ns)?;
                ok(slot as i32)
            }
            Syscall::EndpointDelete => {
                let cap = self.lookup(pid, a0)?;
                let ObjectRef::Endpoint(endpoint) = cap.object else {
                    return Err(Denied::new(
                        ErrorCode::WrongObjectKind,
                        format!("slot {a0} holds the {}, not an endpoint", cap.object),
                    ));
                };
                let owner = self.endpoints.get(&endpoint).map(|e| e.owner);
                if owner != Some(pid) {
                    return Err(Denied::new(
                        ErrorCode::PermissionDenied,
                        format!("endpoint {endpoint} belongs to another process"),
                    ));
                }
                self.destroy_endpoint(endpoint, now_ns);
                ok(0)
            }
            Syscall::Send => {
                let (_, endpoint) = self.check_endpoint_cap(cap0, a0, rights::WRITE, "send")?;
                let transfer = if a2 == abi::slot::NONE {
                    None
                } else {
                    Some(self.prepare_transfer(pid, a2)?)
                };
                self.post(pid, endpoint, a1, data, transfer, now_ns)?;
                ok(0)
            }
            Syscall::Receive | Syscall::TryReceive => {
                match self.receive(pid, cap0, a0, syscall.raw(), now_ns)? {
                    Some(reply) => Ok(Outcome::Reply(reply)),
                    None => Ok(Outcome::Pending),
                }
            }
            Syscall::SendReceive => {
                // SEND's checks on the send slot, then RECEIVE's on the receive slot, all before
                // anything is sent: a refusal leaves no message behind. If the send itself fails
                // (QUEUE_FULL, ...) that is the answer and nothing is received.
                let (_, endpoint) = self.check_endpoint_cap(cap0, a0, rights::WRITE, "send")?;
                // The send slot's errors all come first, a dead endpoint included (`post`
                // would find that only after the receive slot's checks).
                if !self.endpoints.contains_key(&endpoint) {
                    return Err(Denied::new(
                        ErrorCode::StaleCapability,
                        format!("slot {a0}: endpoint {endpoint} no longer exists"),
                    ));
                }
                let recv_cap = self.processes.get(&pid).and_then(|p| p.caps.get(a2)).copied();
                self.check_receive_slot(recv_cap, a2)?;
                self.post(pid, endpoint, a1, data, None, now_ns)?;
                match self.receive(pid, recv_cap, a2, syscall.raw(), now_ns)? {
                    Some(reply) => Ok(Outcome::Reply(reply)),
                    None => Ok(Outcome::Pending),
                }
            }
            Syscall::CapGrant => ok(self.grant_cap(pid, a0, ProcessId(a1), a2, now_ns)? as i32),
            Syscall::CapRevoke => ok(self.revoke_cap(pid, a0, now_ns)? as i32),
            Syscall::CapDelete => {
                self.delete_cap(pid, a0, now_ns)?;
                ok(0)
            }
            Syscall::CapDerive => ok(self.derive_cap(pid, a0, a1, now_ns)? as i32),
            Syscall::CapList => {
                let caps = self.capabilities(pid);
                let mut out = Vec::with_capacity(caps.len() * 20);
                for c in &caps {
                    let rights = if c.stale {
                        c.rights | abi::rights::STALE
                    } else {
                        c.rights
                    };
                    for word in [c.slot, c.object.kind(), c.object.id(), rights, c.generation] {
                        out.extend_from_slice(&word.to_le_bytes());
                    }
                }
                Ok(Outcome::Reply(Reply {
                    result: caps.len() as i32,
                    data: out,
                }))
            }
            Syscall::MemAlloc => {
                self.mem_alloc(pid, u64::from(a0), now_ns)?;
                ok(0)
            }
            Syscall::MemFree => {
                self.mem_free(pid, u64::from(a0), now_ns)?;
                ok(0)
            }
            Syscall::Spawn => {
                self.check_process_table(pid, a0)?;
                let program = core::str::from_utf8(data)
                    .map_err(|_| {
                        Denied::new(ErrorCode::BadArgument, "the program name is not UTF-8")
                    })?
                    .trim();
                if program.is_empty() {
                    return Err(Denied::new(
                        ErrorCode::BadArgument,
                        "the program name is empty",
                    ));
                }
                if self.processes.len() >= self.config.max_processes {
                    return Err(Denied::new(
                        ErrorCode::TooManyProcesses,
                        format!(
                            "the process table is full ({} entries)",
                            self.processes.len()
                        ),
                    ));
                }
                Ok(Outcome::Spawn(String::from(program)))
            }
            Syscall::Kill => {
                self.check_process_table(pid, a0)?;
                let target = ProcessId(a1);
                match self.processes.get(&target) {
                    Some(p) if !p.state.is_zombie() => {
                        if p.protected {
                            return Err(Denied::new(
                                ErrorCode::ProtectedProcess,
                                format!("pid {target} ({}) is protected", p.name),
                            ));
                        }
                    }
                    _ => {
                        return Err(Denied::new(
                            ErrorCode::NoSuchProcess,
                            format!("no live process has pid {target}"),
                        ));
                    }
                }
                self.kill_process(target, Some(pid), now_ns)
                    .map_err(|e| Denied::new(e, "kill failed"))?;
                if target == pid {
                    Ok(Outcome::Exited)
                } else {
                    ok(0)
                }
            }
            Syscall::Ps => {
                let mut text = String::new();
                let mut line = String::new();
                for p in self.processes.values() {
                    line.clear();
                    let _ = writeln!(
                        line,
                        "{}\t{}\t{}\t{}",
                        p.pid,
                        p.name,
                        p.state.name(),
                        p.metrics.memory_size
                    );
                    if text.len() + line.len() > mailbox::DATA_CAPACITY {
                        break;
                    }
                    text.push_str(&line);
                }
                Ok(Outcome::Reply(Reply {
                    result: self.processes.len() as i32,
                    data: text.into_bytes(),
                }))
            }
        }
    }

    /// SPAWN and KILL need the process table with `WRITE`.
    fn check_process_table(&self, pid: ProcessId, slot: u32) -> Result<(), Denied> {
        let cap = self.lookup(pid, slot)?;
        if cap.object != ObjectRef::ProcessTable {
            return Err(Denied::new(
                ErrorCode::WrongObjectKind,
                format!(
                    "slot {slot} holds the {}, not the process table",
                    cap.object
                ),
            ));
        }
        if cap.rights & rights::WRITE == 0 {
            return Err(Denied::new(
                ErrorCode::PermissionDenied,
                format!("slot {slot} (process table) lacks WRITE"),
            ));
        }
        Ok(())
    }
}
