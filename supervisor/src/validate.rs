//! Checking a module before it becomes a program ([`Supervisor::load_program`](crate::Supervisor::load_program)):
//! everything a host would later trip over is refused here, with what is wrong and how to fix
//! it, so a refusal leaves the running system untouched.
//!
//! Accepted: a core WebAssembly module of at most [`MAX_MODULE_BYTES`] that exports
//! `_start: () -> ()`, has exactly one 32-bit memory of at most 64 MiB (imported as `env.memory`,
//! as the SDK links it, or defined and exported as `memory`, as standard WASI toolchains do) and
//! imports only the `env` host functions of docs/ABI.md and `wasi_snapshot_preview1` functions.
//! A defined memory without a maximum (or with one above 64 MiB) is re-encoded with a 1024-page
//! maximum, so the engine itself holds the module to the limit.

use std::fmt;

use serde::Deserialize;
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasmparser::{CompositeInnerType, ExternalKind, Parser, Payload, TypeRef, ValType, Validator};

use crate::abi::{memory, wasi};
use crate::manifest::ConnectSpec;
use crate::wiring::SpawnError;

/// The largest module accepted: 8 MiB (a C hello world with wasi-libc is about 140 KB, a Rust
/// `wasm32-wasip1` one about 2 MB with its debug info).
pub const MAX_MODULE_BYTES: usize = 8 << 20;
/// The custom section holding a program's manifest entry (RON).
pub const MANIFEST_SECTION: &str = "orbital.manifest";
/// The most pages a guest's memory may have: 64 MiB.
pub const MAX_MEMORY_PAGES: u64 = memory::LIMIT_BYTES / memory::PAGE_BYTES as u64;

/// The `env` host functions (docs/ABI.md) with their signatures.
const ENV_FUNCTIONS: [(&str, &[ValType], &[ValType]); 5] = [
    (
        "orbital_send_bytes",
        &[ValType::I32, ValType::I32],
        &[ValType::I32],
    ),
    (
        "orbital_syscall",
        &[ValType::I32, ValType::I32, ValType::I32, ValType::I32],
        &[ValType::I32],
    ),
    (
        "orbital_recv_bytes",
        &[ValType::I32, ValType::I32],
        &[ValType::I32],
    ),
    ("orbital_yield", &[], &[]),
    ("orbital_get_pid", &[], &[ValType::I32]),
];

/// The WASI functions the hosts implement, with their preview 1 signatures (pointers are i32).
pub(crate) const WASI_SIGNATURES: [(&str, &[ValType], &[ValType]); 13] = [
    ("args_get", &[ValType::I32, ValType::I32], &[ValType::I32]),
    (
        "args_sizes_get",
        &[ValType::I32, ValType::I32],
        &[ValType::I32],
    ),
    (
        "environ_get",
        &[ValType::I32, ValType::I32],
        &[ValType::I32],
    ),
    (
        "environ_sizes_get",
        &[ValType::I32, ValType::I32],
        &[ValType::I32],
    ),
    (
        "clock_time_get",
        &[ValType::I32, ValType::I64, ValType::I32],
        &[ValType::I32],
    ),
    (
        "fd_fdstat_get",
        &[ValType::I32, ValType::I32],
        &[ValType::I32],
    ),
    (
        "fd_prestat_get",
        &[ValType::I32, ValType::I32],
        &[ValType::I32],
    ),
    (
        "fd_read",
        &[ValType::I32, ValType::I32, ValType::I32, ValType::I32],
        &[ValType::I32],
    ),
    (
        "fd_write",
        &[ValType::I32, ValType::I32, ValType::I32, ValType::I32],
        &[ValType::I32],
    ),
    (
        "poll_oneoff",
        &[ValType::I32, ValType::I32, ValType::I32, ValType::I32],
        &[ValType::I32],
    ),
    ("proc_exit", &[ValType::I32], &[]),
    ("random_get", &[ValType::I32, ValType::I32], &[ValType::I32]),
    ("sched_yield", &[], &[ValType::I32]),
];

/// A program's manifest entry as its `orbital.manifest` custom section states it: the fields of
/// a programs.ron entry that decide its capabilities.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectionManifest {
    #[serde(default)]
    pub provides: Vec<String>,
    #[serde(default)]
    pub connects: Vec<ConnectSpec>,
    #[serde(default)]
    pub may_spawn: bool,
    #[serde(default)]
    pub description: String,
}

/// Where a module's memory comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryOrigin {
    /// `env.memory`: the host creates it.
    Imported,
    /// Defined by the module and exported as `memory`.
    Defined,
}

/// A module that passed every check, ready to register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidModule {
    /// The module to run: as given, or re-encoded with a memory maximum (see `reencoded`).
    pub bytes: Vec<u8>,
    /// Whether it imports `wasi_snapshot_preview1`.
    pub wasi: bool,
    pub memory: MemoryOrigin,
    pub memory_min_pages: u32,
    /// The maximum the module now declares (at most 1024), `None` for an import without one.
    pub memory_max_pages: Option<u32>,
    /// The memory's maximum was missing or above 64 MiB and was set to 1024 pages.
    pub reencoded: bool,
    /// The `orbital.manifest` section, if the module has one.
    pub manifest: Option<SectionManifest>,
    /// `wasi_snapshot_preview1` functions it imports that the hosts do not offer (they will
    /// return ENOSYS), for a notice at load.
    pub unsupported_wasi: Vec<String>,
}

/// Why a module was refused. `Display` names the problem and the fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadError {
    BadName {
        name: String,
    },
    NameClash {
        name: String,
    },
    NotWasm {
        first_bytes: Vec<u8>,
    },
    TooLarge {
        size_bytes: usize,
    },
    Component,
    Malformed {
        message: String,
    },
    ForbiddenImport {
        module: String,
        name: String,
        kind: &'static str,
    },
    WrongSignature {
        module: String,
        name: String,
        expected: String,
        found: String,
    },
    NoMemory,
    MemoryTooLarge {
        pages: u64,
    },
    UnsupportedMemory {
        what: &'static str,
    },
    MemoryNotExported,
    NoStart,
    StartWrongType {
        found: String,
    },
    ManifestSyntax {
        line: usize,
        column: usize,
        message: String,
    },
    ManifestInvalid {
        message: String,
    },
    Spawn(SpawnError),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::BadName { name } => write!(
                f,
                "{name:?} is not a program name: use letters, digits, '-' and '_' only (for example \"hello\"); rename the file or pass another name"
            ),
            LoadError::NameClash { name } => write!(
                f,
                "a built-in program is already called {name:?}: rename your file (for example {name}2.wasm) or pass another name"
            ),
            LoadError::NotWasm { first_bytes } => write!(
                f,
                "not a WebAssembly module: it starts with {first_bytes:02x?}, not \\0asm; load the .wasm file your compiler wrote (clang --target=wasm32-wasi, cargo build --target wasm32-wasip1), not the source or a text (.wat) file"
            ),
            LoadError::TooLarge { size_bytes } => write!(
                f,
                "the module is {size_bytes} bytes; the limit is {MAX_MODULE_BYTES} bytes (8 MiB): build in release mode (-O2, --release) and strip debug info (-s, strip = true)"
            ),
            LoadError::Component => write!(
                f,
                "this is a WebAssembly component, not a core module: build for wasm32-wasip1 (preview 1), not wasm32-wasip2"
            ),
            LoadError::Malformed { message } => write!(
                f,
                "the module is not valid WebAssembly ({message}); rebuild it, and check the file was not cut short or changed"
            ),
            LoadError::ForbiddenImport { module, name, kind } => write!(
                f,
                "it imports {kind} {module}.{name}, which no host provides: a program may import only env.memory, the five env.orbital_* functions (docs/ABI.md) and wasi_snapshot_preview1 functions; remove the dependency or build for wasm32-wasip1 / wasm32-unknown-unknown with the Orbital SDK"
            ),
            LoadError::WrongSignature {
                module,
                name,
                expected,
                found,
            } => write!(
                f,
                "it imports {module}.{name} as {found}, but the host's is {expected}: rebuild against the right headers (wasi-libc, the Orbital SDK)"
            ),
            LoadError::NoMemory => write!(
                f,
                "the module has no memory: import env.memory (link with --import-memory) or define and export one as \"memory\" (the default for WASI toolchains)"
            ),
            LoadError::MemoryTooLarge { pages } => write!(
                f,
                "its memory starts at {pages} pages ({} MiB); a process may have at most {MAX_MEMORY_PAGES} pages (64 MiB): lower the initial memory (-Wl,--initial-memory=..., a smaller stack or static arrays)",
                (pages * u64::from(memory::PAGE_BYTES)) >> 20
            ),
            LoadError::UnsupportedMemory { what } => write!(
                f,
                "its memory is {what}, which the hosts do not support: use one ordinary 32-bit memory (no memory64, shared memory, several memories or custom page sizes)"
            ),
            LoadError::MemoryNotExported => write!(
                f,
                "it defines a memory but does not export it as \"memory\", so the host cannot read what it writes: export it (wasm-ld --export-memory, the default) or import env.memory"
            ),
            LoadError::NoStart => write!(
                f,
                "it does not export a `_start` function (where a process starts): build an executable (a C `main`, a Rust binary), not a library (--no-entry, cdylib)"
            ),
            LoadError::StartWrongType { found } => write!(
                f,
                "its `_start` is {found}; it must take and return nothing: build an executable with the standard start-up code"
            ),
            LoadError::ManifestSyntax {
                line,
                column,
                message,
            } => write!(
                f,
                "{MANIFEST_SECTION}:{line}:{column}: {message}; the section is RON like an assets/programs.ron entry, e.g. (provides: [\"inbox\"], connects: [(service: \"receiver.inbox\", rights: \"W\")], may_spawn: false)"
            ),
            LoadError::ManifestInvalid { message } => write!(f, "{MANIFEST_SECTION}: {message}"),
            LoadError::Spawn(error) => write!(f, "the module is valid but did not start: {error}"),
        }
    }
}

impl std::error::Error for LoadError {}

impl From<SpawnError> for LoadError {
    fn from(error: SpawnError) -> LoadError {
        LoadError::Spawn(error)
    }
}

/// A program name as `load_program` takes it: a trailing `.wasm` is dropped.
pub fn program_name(name: &str) -> Result<String, LoadError> {
    let name = name.trim();
    let name = name.strip_suffix(".wasm").unwrap_or(name);
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if valid {
        Ok(name.to_string())
    } else {
        Err(LoadError::BadName {
            name: name.to_string(),
        })
    }
}

fn signature(params: &[ValType], results: &[ValType]) -> String {
    let list = |types: &[ValType]| {
        types
            .iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!("({}) -> ({})", list(params), list(results))
}

/// Checks `bytes` as a program module. Pure: never panics, whatever the bytes.
pub fn validate_module(bytes: &[u8]) -> Result<ValidModule, LoadError> {
    if bytes.len() < 4 || &bytes[..4] != b"\0asm" {
        return Err(LoadError::NotWasm {
            first_bytes: bytes.iter().take(4).copied().collect(),
        });
    }
    if bytes.len() > MAX_MODULE_BYTES {
        return Err(LoadError::TooLarge {
            size_bytes: bytes.len(),
        });
    }
    if bytes.len() >= 8 && bytes[4..8] != [1, 0, 0, 0] && bytes[6..8] != [0, 0] {
        return Err(LoadError::Component);
    }
    let types = Validator::new()
        .validate_all(bytes)
        .map_err(|e| LoadError::Malformed {
            message: e.to_string(),
        })?;
    let types = types.as_ref();
    let func_type = |index: u32| -> Option<(Vec<ValType>, Vec<ValType>)> {
        if index >= types.function_count() {
            return None;
        }
        match &types[types.core_function_at(index)].composite_type.inner {
            CompositeInnerType::Func(ty) => Some((ty.params().to_vec(), ty.results().to_vec())),
            _ => None,
        }
    };

    let mut memories = Vec::new();
    let mut wasi_used = false;
    let mut unsupported_wasi = Vec::new();
    let mut function_imports = 0u32;
    let mut start = None;
    let mut memory_exported = false;
    let mut manifest = None;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| LoadError::Malformed {
            message: e.to_string(),
        })?;
        match payload {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(|e| LoadError::Malformed {
                        message: e.to_string(),
                    })?;
                    let forbidden = |kind| LoadError::ForbiddenImport {
                        module: import.module.to_string(),
                        name: import.name.to_string(),
                        kind,
                    };
                    match (import.module, import.ty) {
                        ("env", TypeRef::Memory(ty)) if import.name == "memory" => {
                            memories.push((MemoryOrigin::Imported, ty));
                        }
                        ("env", TypeRef::Func(_)) | (wasi::MODULE, TypeRef::Func(_)) => {
                            let index = function_imports;
                            function_imports += 1;
                            let table: &[(&str, &[ValType], &[ValType])] = if import.module == "env"
                            {
                                &ENV_FUNCTIONS
                            } else {
                                &WASI_SIGNATURES
                            };
                            if import.module == wasi::MODULE {
                                wasi_used = true;
                            }
                            let Some((_, params, results)) =
                                table.iter().find(|(n, _, _)| *n == import.name)
                            else {
                                if import.module == "env" {
                                    return Err(forbidden("function"));
                                }
                                unsupported_wasi.push(import.name.to_string());
                                continue;
                            };
                            let (found_params, found_results) =
                                func_type(index).unwrap_or_default();
                            if found_params != *params || found_results != *results {
                                return Err(LoadError::WrongSignature {
                                    module: import.module.to_string(),
                                    name: import.name.to_string(),
                                    expected: signature(params, results),
                                    found: signature(&found_params, &found_results),
                                });
                            }
                        }
                        (_, TypeRef::Func(_)) => return Err(forbidden("function")),
                        (_, TypeRef::Memory(_)) => return Err(forbidden("memory")),
                        (_, TypeRef::Table(_)) => return Err(forbidden("table")),
                        (_, TypeRef::Global(_)) => return Err(forbidden("global")),
                        (_, _) => return Err(forbidden("tag")),
                    }
                }
            }
            Payload::MemorySection(reader) => {
                for ty in reader {
                    let ty = ty.map_err(|e| LoadError::Malformed {
                        message: e.to_string(),
                    })?;
                    memories.push((MemoryOrigin::Defined, ty));
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.map_err(|e| LoadError::Malformed {
                        message: e.to_string(),
                    })?;
                    match (export.name, export.kind) {
                        ("_start", ExternalKind::Func) => start = Some(export.index),
                        ("memory", ExternalKind::Memory) if export.index == 0 => {
                            memory_exported = true
                        }
                        _ => {}
                    }
                }
            }
            Payload::CustomSection(reader) if reader.name() == MANIFEST_SECTION => {
                manifest = Some(parse_section_manifest(reader.data())?);
            }
            _ => {}
        }
    }

    let (origin, ty) = match memories.as_slice() {
        [] => return Err(LoadError::NoMemory),
        [one] => *one,
        _ => {
            return Err(LoadError::UnsupportedMemory {
                what: "one of several memories",
            });
        }
    };
    if ty.memory64 {
        return Err(LoadError::UnsupportedMemory {
            what: "a 64-bit memory (memory64)",
        });
    }
    if ty.shared {
        return Err(LoadError::UnsupportedMemory {
            what: "a shared memory",
        });
    }
    if ty.page_size_log2.is_some() {
        return Err(LoadError::UnsupportedMemory {
            what: "a memory with a custom page size",
        });
    }
    if ty.initial > MAX_MEMORY_PAGES {
        return Err(LoadError::MemoryTooLarge { pages: ty.initial });
    }
    if origin == MemoryOrigin::Defined && !memory_exported {
        return Err(LoadError::MemoryNotExported);
    }
    let start = start.ok_or(LoadError::NoStart)?;
    let (params, results) = func_type(start).unwrap_or_default();
    if !params.is_empty() || !results.is_empty() {
        return Err(LoadError::StartWrongType {
            found: signature(&params, &results),
        });
    }

    let needs_maximum =
        origin == MemoryOrigin::Defined && ty.maximum.is_none_or(|max| max > MAX_MEMORY_PAGES);
    let (bytes, memory_max_pages) = if needs_maximum {
        (with_memory_maximum(bytes)?, Some(MAX_MEMORY_PAGES as u32))
    } else {
        (
            bytes.to_vec(),
            ty.maximum.map(|max| max.min(MAX_MEMORY_PAGES) as u32),
        )
    };
    Ok(ValidModule {
        bytes,
        wasi: wasi_used,
        memory: origin,
        memory_min_pages: ty.initial as u32,
        memory_max_pages,
        reencoded: needs_maximum,
        manifest,
        unsupported_wasi,
    })
}

/// Parses an `orbital.manifest` section: RON, with the line and column of a mistake.
pub fn parse_section_manifest(data: &[u8]) -> Result<SectionManifest, LoadError> {
    let text = std::str::from_utf8(data).map_err(|e| LoadError::ManifestSyntax {
        line: 1,
        column: 1,
        message: format!("the section is not UTF-8 text ({e})"),
    })?;
    ron::from_str(text).map_err(|e| LoadError::ManifestSyntax {
        line: e.span.start.line,
        column: e.span.start.col,
        message: e.code.to_string(),
    })
}

/// Sets every memory's maximum to at most 1024 pages (64 MiB), keeping everything else.
struct MemoryLimit;

impl Reencode for MemoryLimit {
    type Error = std::convert::Infallible;

    fn memory_type(
        &mut self,
        ty: wasmparser::MemoryType,
    ) -> Result<wasm_encoder::MemoryType, wasm_encoder::reencode::Error<Self::Error>> {
        let mut out = RoundtripReencoder.memory_type(ty)?;
        out.maximum = Some(
            ty.maximum
                .map_or(MAX_MEMORY_PAGES, |max| max.min(MAX_MEMORY_PAGES)),
        );
        Ok(out)
    }
}

fn with_memory_maximum(bytes: &[u8]) -> Result<Vec<u8>, LoadError> {
    let mut module = wasm_encoder::Module::new();
    MemoryLimit
        .parse_core_module(&mut module, Parser::new(0), bytes)
        .map_err(|e| LoadError::Malformed {
            message: format!("re-encoding its memory maximum failed: {e}"),
        })?;
    Ok(module.finish())
}
