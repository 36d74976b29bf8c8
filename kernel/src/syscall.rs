//! The dispatcher: one entry point turns a raw syscall into a typed request, runs it, and
//! applies results, refusals and trace events in one place. Each syscall is one line of
//! [`Kernel::run`]: its arguments parsed into their struct ([`crate::args`]), then its handler.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use crate::abi::{self, ErrorCode, Rights, Syscall, mailbox};
use crate::args::{
    ConsoleWriteArgs, DeriveArgs, ExitArgs, GrantArgs, KillArgs, MemArgs, SendArgs,
    SendReceiveArgs, SleepArgs, SlotArgs, SpawnArgs,
};
use crate::caps::{Cap, kind};
use crate::{
    BlockReason, Denied, Dispatch, ExitReason, Kernel, KernelEvent, ProcessId, Reply, SyscallArgs,
};

/// One syscall as the dispatcher hands it to a handler: who asked, when, the raw words and data,
/// and the capability in the slot ARG0 names (read along with the caller's state check, so the
/// capability check of a call whose first argument is a slot finds the caller only once).
pub(crate) struct Call<'a> {
    pub pid: ProcessId,
    pub syscall: Syscall,
    pub words: [u32; 3],
    pub data: &'a [u8],
    pub now_ns: u64,
    pub arg0: Option<Cap>,
}

/// A completed call's reply with `result` and no data.
fn done(result: i32) -> Dispatch {
    Dispatch::Complete(Reply::ok(result))
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
                Some(syscall) => self.run(&Call {
                    pid,
                    syscall,
                    words: call.args,
                    data,
                    now_ns,
                    arg0: cap0,
                }),
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
            Ok(dispatch) => {
                let result = match &dispatch {
                    Dispatch::Complete(reply) => Some(reply.result),
                    Dispatch::Pending => None,
                    Dispatch::Exited | Dispatch::Spawn { .. } => Some(0),
                };
                if let Some(result) = result {
                    self.emit(KernelEvent::SyscallServiced {
                        pid,
                        syscall: call.number,
                        result,
                        at_ns: now_ns,
                    });
                }
                dispatch
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

    /// One line per syscall: parse its arguments, run its handler.
    fn run(&mut self, call: &Call<'_>) -> Result<Dispatch, Denied> {
        match call.syscall {
            Syscall::Yield => Ok(done(0)),
            Syscall::GetPid => Ok(done(call.pid.0 as i32)),
            Syscall::Exit => self.sys_exit(call, ExitArgs::parse(call)),
            Syscall::ConsoleWrite => self.sys_console_write(call, ConsoleWriteArgs::parse(call)),
            Syscall::Time => Ok(self.sys_time(call)),
            Syscall::Sleep => Ok(self.sys_sleep(call, SleepArgs::parse(call))),
            Syscall::EndpointCreate => self.sys_endpoint_create(call),
            Syscall::EndpointDelete => self.sys_endpoint_delete(call, SlotArgs::parse(call)),
            Syscall::Send => self.sys_send(call, SendArgs::parse(call)),
            Syscall::Receive | Syscall::TryReceive => self.sys_receive(call, SlotArgs::parse(call)),
            Syscall::SendReceive => self.sys_send_receive(call, SendReceiveArgs::parse(call)),
            Syscall::CapGrant => self.sys_cap_grant(call, GrantArgs::parse(call)),
            Syscall::CapRevoke => self.sys_cap_revoke(call, SlotArgs::parse(call)),
            Syscall::CapDelete => self.sys_cap_delete(call, SlotArgs::parse(call)),
            Syscall::CapDerive => self.sys_cap_derive(call, DeriveArgs::parse(call)),
            Syscall::CapList => Ok(self.sys_cap_list(call)),
            Syscall::MemAlloc => self.sys_mem_alloc(call, MemArgs::parse(call)),
            Syscall::MemFree => self.sys_mem_free(call, MemArgs::parse(call)),
            Syscall::Spawn => self.sys_spawn(call, SpawnArgs::parse(call)),
            Syscall::Kill => self.sys_kill(call, KillArgs::parse(call)),
            Syscall::Ps => Ok(self.sys_ps()),
        }
    }

    fn sys_exit(&mut self, call: &Call<'_>, args: ExitArgs) -> Result<Dispatch, Denied> {
        let reason = ExitReason::Exited { code: args.code };
        self.exit_process(call.pid, reason, call.now_ns)
            .map_err(|e| Denied::new(e, "exit failed"))?;
        Ok(Dispatch::Exited)
    }

    fn sys_console_write(
        &mut self,
        call: &Call<'_>,
        args: ConsoleWriteArgs<'_>,
    ) -> Result<Dispatch, Denied> {
        let to = "write to the console";
        self.cap(call, args.console, kind::Console, Rights::WRITE, to)?;
        let text = String::from_utf8_lossy(args.text).into_owned();
        self.emit(KernelEvent::ConsoleOutput {
            pid: call.pid,
            text,
            at_ns: call.now_ns,
        });
        Ok(done(args.text.len() as i32))
    }

    fn sys_time(&mut self, call: &Call<'_>) -> Dispatch {
        Dispatch::Complete(Reply {
            result: 0,
            data: call.now_ns.to_le_bytes().to_vec(),
        })
    }

    fn sys_sleep(&mut self, call: &Call<'_>, args: SleepArgs) -> Dispatch {
        if args.millis == 0 {
            return done(0);
        }
        let until_ns = call.now_ns.saturating_add(args.nanos());
        let reason = BlockReason::Sleep { until_ns };
        self.block(call.pid, reason, abi::nr::SLEEP, call.now_ns);
        Dispatch::Pending
    }

    fn sys_endpoint_create(&mut self, call: &Call<'_>) -> Result<Dispatch, Denied> {
        let (_, slot) = self.create_endpoint_inner(call.pid, call.now_ns)?;
        Ok(done(slot as i32))
    }

    /// Only the endpoint's owner may delete it (any capability to it, no right needed).
    fn sys_endpoint_delete(&mut self, call: &Call<'_>, args: SlotArgs) -> Result<Dispatch, Denied> {
        let (_, endpoint) = self.cap(call, args.slot, kind::Endpoint, Rights::NONE, "delete it")?;
        self.live_endpoint(args.slot, endpoint)?;
        if self.endpoints.get(&endpoint).map(|e| e.owner) != Some(call.pid) {
            return Err(Denied::new(
                ErrorCode::PermissionDenied,
                format!("endpoint {endpoint} belongs to another process"),
            ));
        }
        self.destroy_endpoint(endpoint, call.now_ns);
        Ok(done(0))
    }

    fn sys_send(&mut self, call: &Call<'_>, args: SendArgs<'_>) -> Result<Dispatch, Denied> {
        let (_, endpoint) = self.cap(call, args.endpoint, kind::Endpoint, Rights::WRITE, "send")?;
        let transfer = match args.transfer {
            None => None,
            Some(slot) => Some(self.prepare_transfer(call, slot)?),
        };
        self.post(
            call.pid,
            endpoint,
            args.tag,
            args.payload,
            transfer,
            call.now_ns,
        )?;
        Ok(done(0))
    }

    /// RECEIVE and TRY_RECEIVE.
    fn sys_receive(&mut self, call: &Call<'_>, args: SlotArgs) -> Result<Dispatch, Denied> {
        let (_, endpoint) = self.cap(call, args.slot, kind::Endpoint, Rights::READ, "receive")?;
        self.receive(
            call.pid,
            endpoint,
            args.slot,
            call.syscall.raw(),
            call.now_ns,
        )
    }

    /// SEND's checks on the send slot, then RECEIVE's on the receive slot, all before anything
    /// is sent (a dead endpoint included, which a plain SEND finds only as it posts): a refusal
    /// leaves no message behind. If the send itself fails (QUEUE_FULL, ...) that is the answer
    /// and nothing is received.
    fn sys_send_receive(
        &mut self,
        call: &Call<'_>,
        args: SendReceiveArgs<'_>,
    ) -> Result<Dispatch, Denied> {
        let (_, to) = self.cap(call, args.send, kind::Endpoint, Rights::WRITE, "send")?;
        self.live_endpoint(args.send, to)?;
        let (_, from) = self.cap(call, args.receive, kind::Endpoint, Rights::READ, "receive")?;
        self.live_endpoint(args.receive, from)?;
        self.post(call.pid, to, args.tag, args.payload, None, call.now_ns)?;
        self.receive(
            call.pid,
            from,
            args.receive,
            call.syscall.raw(),
            call.now_ns,
        )
    }

    fn sys_cap_grant(&mut self, call: &Call<'_>, args: GrantArgs) -> Result<Dispatch, Denied> {
        let (cap, _) = self.cap(call, args.slot, kind::Any, Rights::GRANT, "grant it")?;
        let rights = args.rights.within(args.slot, cap.rights)?;
        let slot = self.grant_cap(cap, args.target, rights, call.now_ns)?;
        Ok(done(slot as i32))
    }

    fn sys_cap_revoke(&mut self, call: &Call<'_>, args: SlotArgs) -> Result<Dispatch, Denied> {
        let (cap, _) = self.cap(call, args.slot, kind::Any, Rights::NONE, "revoke it")?;
        Ok(done(self.revoke_cap(cap, call.now_ns) as i32))
    }

    /// Empties the slot, stale or not: only an empty slot is refused (`BAD_SLOT`).
    fn sys_cap_delete(&mut self, call: &Call<'_>, args: SlotArgs) -> Result<Dispatch, Denied> {
        self.delete_cap(call.pid, args.slot, call.now_ns)?;
        Ok(done(0))
    }

    fn sys_cap_derive(&mut self, call: &Call<'_>, args: DeriveArgs) -> Result<Dispatch, Denied> {
        let (cap, _) = self.cap(call, args.slot, kind::Any, Rights::NONE, "derive from it")?;
        let rights = args.rights.within(args.slot, cap.rights)?;
        let slot = self.derive_cap(call.pid, cap, rights, call.now_ns)?;
        Ok(done(slot as i32))
    }

    /// Five words per occupied slot: slot, object kind, object id, rights (`STALE` set if
    /// stale), generation.
    fn sys_cap_list(&mut self, call: &Call<'_>) -> Dispatch {
        let caps = self.capabilities(call.pid);
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
        Dispatch::Complete(Reply {
            result: caps.len() as i32,
            data: out,
        })
    }

    fn sys_mem_alloc(&mut self, call: &Call<'_>, args: MemArgs) -> Result<Dispatch, Denied> {
        self.mem_alloc(call.pid, args.bytes, call.now_ns)?;
        Ok(done(0))
    }

    fn sys_mem_free(&mut self, call: &Call<'_>, args: MemArgs) -> Result<Dispatch, Denied> {
        self.mem_free(call.pid, args.bytes, call.now_ns)?;
        Ok(done(0))
    }

    /// The kernel checks the capability, the name and the table's room; the supervisor looks
    /// the program up, spawns it and replies.
    fn sys_spawn(&mut self, call: &Call<'_>, args: SpawnArgs<'_>) -> Result<Dispatch, Denied> {
        self.cap(call, args.table, kind::ProcessTable, Rights::WRITE, "spawn")?;
        let program = args.program.parse()?;
        if self.processes.len() >= self.config.max_processes {
            return Err(Denied::new(
                ErrorCode::TooManyProcesses,
                format!(
                    "the process table is full ({} entries)",
                    self.processes.len()
                ),
            ));
        }
        Ok(Dispatch::Spawn {
            program: String::from(program),
        })
    }

    fn sys_kill(&mut self, call: &Call<'_>, args: KillArgs) -> Result<Dispatch, Denied> {
        self.cap(call, args.table, kind::ProcessTable, Rights::WRITE, "kill")?;
        let target = args.target;
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
        self.kill_process(target, Some(call.pid), call.now_ns)
            .map_err(|e| Denied::new(e, "kill failed"))?;
        Ok(if target == call.pid {
            Dispatch::Exited
        } else {
            done(0)
        })
    }

    /// One line per process (pid, name, state, memory), as many as fit the mailbox.
    fn sys_ps(&mut self) -> Dispatch {
        let mut text = String::new();
        let mut line = String::new();
        for p in self.processes.values() {
            line.clear();
            // Writing to a String cannot fail.
            writeln!(
                line,
                "{}\t{}\t{}\t{}",
                p.pid,
                p.name,
                p.state.name(),
                p.metrics.memory_size
            )
            .ok();
            if text.len() + line.len() > mailbox::DATA_CAPACITY {
                break;
            }
            text.push_str(&line);
        }
        Dispatch::Complete(Reply {
            result: self.processes.len() as i32,
            data: text.into_bytes(),
        })
    }
}
