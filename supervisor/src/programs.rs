//! Programs at run time: a module handed over as bytes ([`Supervisor::load_program`]) is
//! checked ([`crate::validate`]), registered under its name and spawned, with no rebuild; WASI
//! programs get arguments and a stdin endpoint ([`Supervisor::console_input_to`]). A refusal
//! leaves the running system as it was.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::abi::{ErrorCode, mailbox as mb, wasi};
use crate::console::{ConsoleKind, ConsoleLine};
use crate::kernel::{EndpointId, ProcessId};
use crate::manifest::{Manifest, ManifestError, ProgramSpec};
use crate::supervisor::Supervisor;
use crate::validate::{LoadError, MANIFEST_SECTION, program_name, validate_module};
use crate::wiring::SpawnError;

/// What the supervisor keeps about programs loaded at run time and WASI processes.
#[derive(Default)]
pub(crate) struct RuntimePrograms {
    /// Names registered by `load_program` (they may be replaced; built-in ones may not).
    loaded: BTreeSet<String>,
    /// Each WASI process's stdin endpoint.
    stdin: BTreeMap<ProcessId, EndpointId>,
}

impl RuntimePrograms {
    pub(crate) fn forget(&mut self, pid: ProcessId) {
        self.stdin.remove(&pid);
    }
}

impl Manifest {
    /// The manifest from served text (`assets/programs.ron` fetched at run time), or the
    /// compiled-in copy with the reason the served one was refused.
    pub fn served_or_builtin(
        text: Option<&str>,
        origin: &str,
    ) -> (Manifest, Option<ManifestError>) {
        let served = text.map(|text| Manifest::parse(text, origin));
        match served {
            Some(Ok(manifest)) => (manifest, None),
            Some(Err(error)) => (
                Manifest::builtin().unwrap_or_else(|_| Manifest {
                    programs: Vec::new(),
                }),
                Some(error),
            ),
            None => (
                Manifest::builtin().unwrap_or_else(|_| Manifest {
                    programs: Vec::new(),
                }),
                None,
            ),
        }
    }
}

impl Supervisor {
    /// Checks `bytes`, registers the module as program `name` (a trailing `.wasm` is dropped)
    /// and spawns it. Its capabilities come from its `orbital.manifest` custom section, or
    /// without one: the console only (any process may create endpoints of its own). A program
    /// loaded earlier under the same name is replaced; a built-in one is not. A refusal is also
    /// written to the console log, and leaves everything as it was.
    pub fn load_program(&mut self, name: &str, bytes: &[u8]) -> Result<ProcessId, LoadError> {
        self.load_program_with_args(name, bytes, &[])
    }

    /// [`Supervisor::load_program`] with arguments for the process (`argv[1..]` of a WASI program).
    pub fn load_program_with_args(
        &mut self,
        name: &str,
        bytes: &[u8],
        args: &[String],
    ) -> Result<ProcessId, LoadError> {
        let result = self.try_load(name, bytes, args);
        if let Err(error) = &result {
            tracing::warn!("load refused: {error}");
            self.notice(
                ProcessId::KERNEL,
                format!("supervisor: cannot load {name}: {error}"),
            );
        }
        result
    }

    /// Names of the programs loaded at run time.
    pub fn loaded_programs(&self) -> Vec<String> {
        self.runtime.loaded.iter().cloned().collect()
    }

    fn try_load(
        &mut self,
        name: &str,
        bytes: &[u8],
        args: &[String],
    ) -> Result<ProcessId, LoadError> {
        // The bytes first: a dropped text file is "not WebAssembly", whatever its name.
        let valid = validate_module(bytes)?;
        let name = program_name(name)?;
        if self.manifest.program(&name).is_some() && !self.runtime.loaded.contains(&name) {
            return Err(LoadError::NameClash { name });
        }
        let section = valid.manifest.clone().unwrap_or_default();
        let spec = ProgramSpec {
            name: name.clone(),
            module: format!("{name}.wasm"),
            may_spawn: section.may_spawn,
            provides: section.provides,
            connects: section.connects,
            description: section.description,
            wasi: valid.wasi,
            wasm: Some(Arc::from(valid.bytes)),
            ..ProgramSpec::default()
        };
        let mut candidate = self.manifest.clone();
        candidate.programs.retain(|p| p.name != name);
        candidate.programs.push(spec);
        candidate
            .validate(MANIFEST_SECTION)
            .map_err(|e| LoadError::ManifestInvalid {
                message: match e {
                    ManifestError::Invalid { message, .. } => message,
                    other => other.to_string(),
                },
            })?;
        let previous = std::mem::replace(&mut self.manifest, candidate);
        match self.try_spawn(&name, args) {
            Ok(pid) => {
                self.runtime.loaded.insert(name.clone());
                if !valid.unsupported_wasi.is_empty() {
                    let list = valid.unsupported_wasi.join(", ");
                    self.notice(pid, format!("supervisor: {name} imports WASI functions Orbital does not offer (they return ENOSYS): {list}"));
                }
                Ok(pid)
            }
            Err(error) => {
                self.manifest = previous;
                Err(LoadError::Spawn(error))
            }
        }
    }

    /// Replaces the program manifest (the served `assets/programs.ron` read at run time).
    /// Programs loaded at run time stay, unless the new manifest has one of their names.
    pub fn replace_manifest(&mut self, mut manifest: Manifest) -> Result<(), ManifestError> {
        manifest.validate("the new manifest")?;
        for name in self.runtime.loaded.clone() {
            if manifest.program(&name).is_some() {
                self.runtime.loaded.remove(&name);
            } else if let Some(spec) = self.manifest.program(&name) {
                manifest.programs.push(spec.clone());
            }
        }
        self.manifest = manifest;
        Ok(())
    }

    /// A spawn command as SPAWN carries it: the program name, then its arguments, separated by
    /// whitespace (`hello a b`).
    pub fn spawn_command(&mut self, command: &str) -> Result<ProcessId, SpawnError> {
        let mut words = command.split_whitespace();
        let name = words.next().unwrap_or("");
        let args: Vec<String> = words.map(str::to_string).collect();
        self.spawn_program_with_args(name, &args)
    }

    /// Fills in what this spawn hands the guest: `argv` and, for a WASI program, a stdin
    /// endpoint the process owns (in its lowest free slot).
    pub(crate) fn prepare_launch(
        &mut self,
        pid: ProcessId,
        spec: &mut ProgramSpec,
        args: &[String],
        now_ns: u64,
    ) -> Result<(), ErrorCode> {
        spec.launch.args = std::iter::once(spec.name.clone())
            .chain(args.iter().cloned())
            .collect();
        if spec.wasi {
            let (endpoint, slot) = self.kernel.create_endpoint(pid, now_ns)?;
            self.runtime.stdin.insert(pid, endpoint);
            spec.launch.stdin_slot = Some(slot);
        }
        Ok(())
    }

    /// Sends a line to a process's console input: a WASI program's stdin (a newline is added
    /// if missing), or the terminal's. The line is logged as the process's input.
    pub fn console_input_to(&mut self, pid: ProcessId, line: &str) -> Result<(), String> {
        let Some(&endpoint) = self.runtime.stdin.get(&pid) else {
            if self
                .find_provider("terminal.stdin", false)
                .is_some_and(|e| {
                    self.kernel
                        .process(pid)
                        .is_some_and(|p| p.endpoint_ids().contains(&e))
                })
            {
                return self.console_input(line);
            }
            return Err(self.no_console_input(pid));
        };
        let mut text = line.to_string();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        self.send_stdin(pid, endpoint, wasi::STDIN_DATA_TAG, &text)?;
        Ok(())
    }

    /// Ends a WASI process's console input: its next read that finds nothing returns end of
    /// file (Ctrl-D at a terminal).
    pub fn close_console_input_of(&mut self, pid: ProcessId) -> Result<(), String> {
        let Some(&endpoint) = self.runtime.stdin.get(&pid) else {
            return Err(self.no_console_input(pid));
        };
        self.send_stdin(pid, endpoint, wasi::STDIN_EOF_TAG, "")
    }

    /// Whether `pid` reads console input sent with [`Supervisor::console_input_to`].
    pub fn has_console_input(&self, pid: ProcessId) -> bool {
        self.runtime.stdin.contains_key(&pid)
    }

    fn no_console_input(&self, pid: ProcessId) -> String {
        match self.kernel.process(pid) {
            Some(p) => format!(
                "{} (pid {}) does not read console input: only WASI programs and the terminal do",
                p.name, pid.0
            ),
            None => format!("no process with pid {}", pid.0),
        }
    }

    fn send_stdin(
        &mut self,
        pid: ProcessId,
        endpoint: EndpointId,
        tag: u32,
        text: &str,
    ) -> Result<(), String> {
        if text.len() > mb::MAX_MESSAGE_BYTES {
            return Err(format!(
                "the line is {} bytes; at most {} fit in a message",
                text.len(),
                mb::MAX_MESSAGE_BYTES
            ));
        }
        let now_ns = self.now_ns();
        let name = self
            .kernel
            .process(pid)
            .map_or_else(|| "?".to_string(), |p| p.name.clone());
        self.kernel
            .send_from_kernel(endpoint, tag, text.as_bytes(), now_ns)
            .map_err(|e| {
                format!(
                    "{name} (pid {}) did not take the input: {} ({})",
                    pid.0,
                    e.describe(),
                    e.name()
                )
            })?;
        let shown = if tag == wasi::STDIN_EOF_TAG {
            "^D\n".to_string()
        } else {
            text.to_string()
        };
        self.push_console(ConsoleLine {
            pid,
            kind: ConsoleKind::Input,
            text: shown,
            at_ns: now_ns,
        });
        self.apply_effects(now_ns);
        Ok(())
    }
}
