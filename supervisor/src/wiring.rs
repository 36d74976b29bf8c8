//! Spawning and wiring: a program from the manifest becomes a kernel process with the
//! capabilities its manifest entry declares (docs/ABI.md, "Capabilities"), then a guest.

use std::collections::BTreeSet;
use std::fmt;

use crate::abi::{self, ErrorCode, rights};
use crate::host::{GuestCeiling, HostError};
use crate::kernel::{EndpointId, ExitReason, ObjectRef, ProcessId, ProcessState};
use crate::manifest::ProgramSpec;
use crate::supervisor::{Guest, Provider, Supervisor};

/// Why a spawn was refused. `Display` says what to do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpawnError {
    UnknownProgram {
        name: String,
        available: Vec<String>,
    },
    MissingProvider {
        program: String,
        service: String,
        provider: String,
    },
    Kernel {
        program: String,
        error: ErrorCode,
    },
    Host {
        program: String,
        error: HostError,
    },
}

impl SpawnError {
    /// The code a SPAWN syscall returns for this refusal.
    pub fn code(&self) -> ErrorCode {
        match self {
            SpawnError::UnknownProgram { .. } => ErrorCode::NoSuchProgram,
            SpawnError::MissingProvider { .. } => ErrorCode::PeerGone,
            SpawnError::Kernel { error, .. } => *error,
            SpawnError::Host {
                error: HostError::AtCapacity { .. },
                ..
            } => ErrorCode::TooManyProcesses,
            SpawnError::Host { .. } => ErrorCode::NoSuchProgram,
        }
    }
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::UnknownProgram { name, available } => {
                write!(
                    f,
                    "no program named {name:?}; available: {}",
                    available.join(", ")
                )
            }
            SpawnError::MissingProvider {
                program,
                service,
                provider,
            } => write!(
                f,
                "{program} needs a running {provider} (service {service}): spawn {provider} first"
            ),
            SpawnError::Kernel { program, error } => {
                write!(
                    f,
                    "cannot spawn {program}: {} ({})",
                    error.describe(),
                    error.name()
                )
            }
            SpawnError::Host { program, error } => write!(f, "cannot spawn {program}: {error}"),
        }
    }
}

impl std::error::Error for SpawnError {}

impl Supervisor {
    /// The host's ceiling on guests running at once, if it has one.
    pub fn guest_ceiling(&self) -> Option<&GuestCeiling> {
        self.host.ceiling()
    }

    /// Refuses one more guest when the host is at its ceiling ([`crate::host::Host::ceiling`]).
    pub(crate) fn admit_spawn(&self) -> Result<(), HostError> {
        self.host
            .ceiling()
            .map_or(Ok(()), |c| c.admit(self.host.live_guests()))
    }

    /// Spawns `init`, which spawns the rest of the default set through SPAWN.
    pub fn boot(&mut self) -> Result<ProcessId, SpawnError> {
        self.spawn_program("init")
    }

    /// Spawns a program from the manifest: registers it with the kernel, grants the capabilities
    /// its manifest entry declares (docs/ABI.md, "Capabilities"), and starts its guest. A refusal
    /// is also written to the console log, so it reaches a person whoever asked.
    pub fn spawn_program(&mut self, name: &str) -> Result<ProcessId, SpawnError> {
        self.spawn_program_with_args(name, &[])
    }

    /// [`Supervisor::spawn_program`] with arguments for the process (`argv[1..]` of a WASI program).
    pub fn spawn_program_with_args(
        &mut self,
        name: &str,
        args: &[String],
    ) -> Result<ProcessId, SpawnError> {
        let result = self.try_spawn(name, args);
        if let Err(error) = &result {
            tracing::warn!("spawn refused: {error}");
            self.notice(ProcessId::KERNEL, format!("supervisor: {error}"));
        }
        result
    }

    pub(crate) fn try_spawn(
        &mut self,
        name: &str,
        args: &[String],
    ) -> Result<ProcessId, SpawnError> {
        let mut spec =
            self.manifest
                .program(name)
                .cloned()
                .ok_or_else(|| SpawnError::UnknownProgram {
                    name: name.to_string(),
                    available: self
                        .manifest
                        .names()
                        .iter()
                        .map(|s| s.to_string())
                        .collect(),
                })?;
        // Resolve every connect before touching the kernel, so a refusal leaves no trace.
        let mut wiring = Vec::with_capacity(spec.connects.len());
        for connect in &spec.connects {
            let provider = self.find_provider(&connect.service, connect.exclusive);
            if provider.is_none() && connect.required {
                return Err(SpawnError::MissingProvider {
                    program: spec.name.clone(),
                    service: connect.service.clone(),
                    provider: connect.provider_program().to_string(),
                });
            }
            wiring.push(
                provider.map(|endpoint| (endpoint, connect.rights_bits(), connect.exclusive)),
            );
        }
        // A host at its ceiling refuses here, before the kernel hears of the process: never
        // "started" and then a Zombie that failed to load.
        self.admit_spawn().map_err(|error| SpawnError::Host {
            program: spec.name.clone(),
            error,
        })?;
        let now_ns = self.now_ns();
        let program = spec.name.clone();
        let kernel_error = |error| SpawnError::Kernel {
            program: program.clone(),
            error,
        };
        let pid = self
            .kernel
            .register_process(&spec.name, now_ns)
            .map_err(kernel_error)?;
        let wired = self.wire(pid, &spec, &wiring, now_ns);
        if let Err(error) = wired.and_then(|()| self.prepare_launch(pid, &mut spec, args, now_ns)) {
            self.abandon(pid, format!("wiring failed: {}", error.name()));
            return Err(kernel_error(error));
        }
        match self.host.spawn(pid, &spec) {
            Ok(guest) => {
                self.guests.insert(
                    pid,
                    Guest {
                        mailbox: guest.mailbox,
                        worker_id: guest.worker_id,
                        in_flight: None,
                        reported_memory_bytes: 0,
                        reported_host_refusals: 0,
                    },
                );
                Ok(pid)
            }
            Err(error) => {
                self.abandon(pid, error.to_string());
                Err(SpawnError::Host {
                    program: spec.name.clone(),
                    error,
                })
            }
        }
    }

    pub(crate) fn wire(
        &mut self,
        pid: ProcessId,
        spec: &ProgramSpec,
        wiring: &[Option<(EndpointId, u32, bool)>],
        now_ns: u64,
    ) -> Result<(), ErrorCode> {
        if spec.protected {
            self.kernel.set_protected(pid, true)?;
        }
        for endpoint_name in &spec.provides {
            let (endpoint, _slot) = self.kernel.create_endpoint(pid, now_ns)?;
            self.providers.push(Provider {
                service: format!("{}.{}", spec.name, endpoint_name),
                pid,
                endpoint,
            });
        }
        // Explicit slots: a missing optional connect leaves its slot empty and later ones keep
        // their numbers (the layout in docs/ABI.md, "Capabilities").
        let first_connect = abi::slot::FIRST_MANIFEST + spec.provides.len() as u32;
        for (i, wired) in wiring.iter().enumerate() {
            if let Some((endpoint, rights, exclusive)) = wired {
                let slot = first_connect + i as u32;
                self.kernel.install_capability_at(
                    pid,
                    slot,
                    ObjectRef::Endpoint(*endpoint),
                    *rights,
                    now_ns,
                )?;
                if *exclusive {
                    // A pair: the provider's endpoint is taken, and so is this process's own
                    // endpoint of the same service (else a third instance would connect to a
                    // process that already talks to its peer, and wait forever).
                    self.exclusive_wired.insert(*endpoint);
                    let service = &spec.connects[i].service;
                    let own: Vec<EndpointId> = self
                        .providers
                        .iter()
                        .filter(|p| p.pid == pid && &p.service == service)
                        .map(|p| p.endpoint)
                        .collect();
                    self.exclusive_wired.extend(own);
                }
            }
        }
        if spec.may_spawn {
            let slot = first_connect + wiring.len() as u32;
            self.kernel.install_capability_at(
                pid,
                slot,
                ObjectRef::ProcessTable,
                rights::WRITE,
                now_ns,
            )?;
        }
        Ok(())
    }

    /// A process that was registered but could not be started: it ends as a Zombie with the reason.
    pub(crate) fn abandon(&mut self, pid: ProcessId, message: String) {
        let now_ns = self.now_ns();
        let _ = self
            .kernel
            .exit_process(pid, ExitReason::Trapped { message }, now_ns);
        self.providers.retain(|p| p.pid != pid);
        self.apply_effects(now_ns);
    }

    /// The newest live provider of `service` (skipping endpoints taken by an exclusive connect).
    pub(crate) fn find_provider(&self, service: &str, exclusive: bool) -> Option<EndpointId> {
        let live_endpoints: BTreeSet<EndpointId> =
            self.kernel.endpoints().iter().map(|e| e.id).collect();
        self.providers
            .iter()
            .rev()
            .filter(|p| p.service == service)
            .filter(|p| live_endpoints.contains(&p.endpoint))
            .filter(|p| {
                self.kernel
                    .process(p.pid)
                    .is_some_and(|proc| !matches!(proc.state, ProcessState::Zombie(_)))
            })
            .find(|p| !exclusive || !self.exclusive_wired.contains(&p.endpoint))
            .map(|p| p.endpoint)
    }
}
