//! The program manifest (`assets/programs.ron`): which programs exist, which module each runs,
//! and which services each provides and connects to. Like the task slots of Hubris's `app.toml`,
//! peers are declared here, never discovered by guessing PIDs.
//!
//! Parsing checks everything a spawn later relies on, so a bad manifest fails at start-up with
//! the line and column (syntax) or the program and field (meaning) at fault.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::abi::{self, rights};

/// The manifest shipped with the app (also what the browser build uses: there is no file system there).
pub const BUILTIN_MANIFEST: &str = include_str!("../../assets/programs.ron");

/// Every program the supervisor can spawn.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub programs: Vec<ProgramSpec>,
}

/// One program: its module and how it is wired at spawn.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramSpec {
    pub name: String,
    /// File name of the `.wasm` module, relative to the guests directory.
    pub module: String,
    /// Protected processes (init, terminal) cannot be killed.
    #[serde(default)]
    pub protected: bool,
    /// Gets the process table capability (SPAWN and KILL).
    #[serde(default)]
    pub may_spawn: bool,
    /// Endpoints this program owns, published as `<name>.<endpoint>`.
    #[serde(default)]
    pub provides: Vec<String>,
    /// Services this program gets a capability to at spawn.
    #[serde(default)]
    pub connects: Vec<ConnectSpec>,
    #[serde(default)]
    pub description: String,
    /// A WASI program (imports `wasi_snapshot_preview1`): gets a stdin endpoint at spawn, which
    /// [`Supervisor::console_input_to`](crate::Supervisor::console_input_to) feeds.
    #[serde(default)]
    pub wasi: bool,
    /// The module itself, for a program loaded at run time ([`Supervisor::load_program`](crate::Supervisor::load_program)):
    /// hosts run these bytes instead of looking `module` up. Never read from programs.ron.
    #[serde(skip)]
    pub wasm: Option<Arc<[u8]>>,
    /// What one spawn hands the guest; set by the supervisor on the copy it passes to the host.
    #[serde(skip)]
    pub launch: Launch,
}

/// Per-spawn facts a host passes to the guest (WASI programs read them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Launch {
    /// `argv`: the program name, then the arguments given at spawn (`spawn hello a b`).
    pub args: Vec<String>,
    /// The capability slot of the process's stdin endpoint (WASI programs' `fd_read` on fd 0).
    pub stdin_slot: Option<u32>,
}

/// A capability to another program's endpoint, granted at spawn.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectSpec {
    /// `<program>.<endpoint>`.
    pub service: String,
    /// Letters from `R`, `W`, `G` (read, write, grant).
    pub rights: String,
    /// Refuse the spawn when no provider is running.
    #[serde(default = "default_required")]
    pub required: bool,
    /// A provider's endpoint is wired to at most one client through this connect.
    #[serde(default)]
    pub exclusive: bool,
}

fn default_required() -> bool {
    true
}

impl ConnectSpec {
    /// The rights bit set (validated when the manifest is parsed).
    pub fn rights_bits(&self) -> u32 {
        parse_rights(&self.rights).unwrap_or(0)
    }

    /// The program that provides this service (the part before the dot).
    pub fn provider_program(&self) -> &str {
        self.service
            .split_once('.')
            .map_or(self.service.as_str(), |(program, _)| program)
    }

    /// The endpoint name (the part after the dot).
    pub fn endpoint_name(&self) -> &str {
        self.service
            .split_once('.')
            .map_or("", |(_, endpoint)| endpoint)
    }
}

impl ProgramSpec {
    /// Capability slots this program gets at spawn, in order, for docs and the inspector.
    pub fn slot_layout(&self) -> Vec<String> {
        let mut slots = vec!["console (W)".to_string()];
        slots.extend(
            self.provides
                .iter()
                .map(|p| format!("{}.{} (own endpoint)", self.name, p)),
        );
        slots.extend(
            self.connects
                .iter()
                .map(|c| format!("{} ({})", c.service, c.rights)),
        );
        if self.may_spawn {
            slots.push("process table (W)".to_string());
        }
        slots
    }
}

/// Parses `R`/`W`/`G` letters into a rights bit set.
pub fn parse_rights(text: &str) -> Result<u32, String> {
    if text.is_empty() {
        return Err("rights are empty; use letters R, W, G (for example \"W\" or \"RW\")".into());
    }
    let mut bits = 0;
    for c in text.chars() {
        bits |= match c.to_ascii_uppercase() {
            'R' => rights::READ,
            'W' => rights::WRITE,
            'G' => rights::GRANT,
            other => {
                return Err(format!(
                    "unknown right {other:?} in {text:?}; use letters R, W, G"
                ));
            }
        };
    }
    Ok(bits)
}

/// Why a manifest was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ManifestError {
    /// RON syntax or shape error, at a line and column of the file.
    Syntax {
        origin: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// The file parsed but says something impossible.
    Invalid {
        origin: String,
        program: String,
        message: String,
    },
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ManifestError::Syntax {
                origin,
                line,
                column,
                message,
            } => {
                write!(f, "{origin}:{line}:{column}: {message}")
            }
            ManifestError::Invalid {
                origin,
                program,
                message,
            } => {
                write!(f, "{origin}: program {program:?}: {message}")
            }
        }
    }
}

impl std::error::Error for ManifestError {}

impl Manifest {
    /// The manifest compiled into the app (`assets/programs.ron`).
    pub fn builtin() -> Result<Manifest, ManifestError> {
        Manifest::parse(BUILTIN_MANIFEST, "assets/programs.ron")
    }

    /// Parses and validates manifest text; `origin` names the file in error messages.
    pub fn parse(text: &str, origin: &str) -> Result<Manifest, ManifestError> {
        let manifest: Manifest = ron::from_str(text).map_err(|e| ManifestError::Syntax {
            origin: origin.to_string(),
            line: e.span.start.line,
            column: e.span.start.col,
            message: e.code.to_string(),
        })?;
        manifest.validate(origin)?;
        Ok(manifest)
    }

    pub fn program(&self, name: &str) -> Option<&ProgramSpec> {
        self.programs.iter().find(|p| p.name == name)
    }

    /// Program names, in manifest order (for "unknown program" messages and the spawn menu).
    pub fn names(&self) -> Vec<&str> {
        self.programs.iter().map(|p| p.name.as_str()).collect()
    }

    pub(crate) fn validate(&self, origin: &str) -> Result<(), ManifestError> {
        let invalid = |program: &str, message: String| ManifestError::Invalid {
            origin: origin.to_string(),
            program: program.to_string(),
            message,
        };
        if self.programs.is_empty() {
            return Err(invalid("-", "the manifest lists no programs".into()));
        }
        let mut names = BTreeSet::new();
        for p in &self.programs {
            let valid_name = !p.name.is_empty()
                && p.name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !valid_name {
                return Err(invalid(
                    &p.name,
                    "names use letters, digits, '-' and '_' only".into(),
                ));
            }
            if !names.insert(p.name.as_str()) {
                return Err(invalid(&p.name, "is listed twice".into()));
            }
            if !p.module.ends_with(".wasm") || p.module.contains("..") || p.module.contains('/') {
                return Err(invalid(
                    &p.name,
                    format!(
                        "module {:?} must be a plain file name ending in .wasm",
                        p.module
                    ),
                ));
            }
            let mut provided = BTreeSet::new();
            for endpoint in &p.provides {
                if endpoint.is_empty() || endpoint.contains('.') {
                    return Err(invalid(
                        &p.name,
                        format!("provides {endpoint:?}: an endpoint name has no dots"),
                    ));
                }
                if !provided.insert(endpoint) {
                    return Err(invalid(&p.name, format!("provides {endpoint:?} twice")));
                }
            }
        }
        for p in &self.programs {
            for c in &p.connects {
                parse_rights(&c.rights)
                    .map_err(|e| invalid(&p.name, format!("connect {:?}: {e}", c.service)))?;
                let provider = self.program(c.provider_program()).ok_or_else(|| {
                    invalid(
                        &p.name,
                        format!(
                            "connects to {:?}, but no program named {:?} exists (programs: {})",
                            c.service,
                            c.provider_program(),
                            self.names().join(", ")
                        ),
                    )
                })?;
                if !provider.provides.iter().any(|e| e == c.endpoint_name()) {
                    return Err(invalid(
                        &p.name,
                        format!(
                            "connects to {:?}, but {} provides only [{}]",
                            c.service,
                            provider.name,
                            provider.provides.join(", ")
                        ),
                    ));
                }
            }
            let slots = 1 + p.provides.len() + p.connects.len() + usize::from(p.may_spawn);
            if slots > abi::slot::CAPACITY as usize {
                return Err(invalid(
                    &p.name,
                    format!(
                        "needs {slots} capability slots; a process has {}",
                        abi::slot::CAPACITY
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_manifest_parses_with_the_contract_slot_layout() {
        let m = Manifest::builtin().expect("builtin manifest");
        let init = m.program("init").unwrap();
        assert_eq!(init.slot_layout(), ["console (W)", "process table (W)"]);
        let terminal = m.program("terminal").unwrap();
        assert_eq!(
            terminal.slot_layout(),
            [
                "console (W)",
                "terminal.stdin (own endpoint)",
                "process table (W)"
            ]
        );
        let sender = m.program("sender").unwrap();
        assert_eq!(sender.connects[0].rights_bits(), rights::WRITE);
        assert!(sender.connects[0].required);
        let pingpong = m.program("pingpong").unwrap();
        assert!(pingpong.connects[0].exclusive && !pingpong.connects[0].required);
        for name in [
            "init", "terminal", "idle", "memhog", "receiver", "sender", "pingpong", "crasher",
            "spinner", "rogue",
        ] {
            assert!(m.program(name).is_some(), "{name} missing");
        }
    }

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let text = "(programs: [\n  (name: \"a\", module: \"a.wasm\",, ),\n])";
        match Manifest::parse(text, "test.ron") {
            Err(ManifestError::Syntax { line, column, .. }) => {
                assert_eq!(line, 2);
                assert!(column > 1);
            }
            other => panic!("expected a syntax error, got {other:?}"),
        }
        let err = Manifest::parse(text, "test.ron").unwrap_err().to_string();
        assert!(err.starts_with("test.ron:2:"), "{err}");
    }

    #[test]
    fn unknown_fields_and_bad_wiring_are_refused() {
        let unknown = "(programs: [(name: \"a\", module: \"a.wasm\", colour: 3)])";
        assert!(matches!(
            Manifest::parse(unknown, "m"),
            Err(ManifestError::Syntax { .. })
        ));
        let dangling = "(programs: [(name: \"a\", module: \"a.wasm\", connects: [(service: \"b.inbox\", rights: \"W\")])])";
        let err = Manifest::parse(dangling, "m").unwrap_err().to_string();
        assert!(err.contains("no program named \"b\""), "{err}");
        let bad_rights = "(programs: [(name: \"a\", module: \"a.wasm\", provides: [\"x\"], connects: [(service: \"a.x\", rights: \"Q\")])])";
        let err = Manifest::parse(bad_rights, "m").unwrap_err().to_string();
        assert!(err.contains("unknown right"), "{err}");
        let twice =
            "(programs: [(name: \"a\", module: \"a.wasm\"), (name: \"a\", module: \"b.wasm\")])";
        assert!(
            Manifest::parse(twice, "m")
                .unwrap_err()
                .to_string()
                .contains("listed twice")
        );
    }
}
