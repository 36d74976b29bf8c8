//! `cargo xtask guests`: builds every guest program (the `guests/` workspace) for
//! `wasm32-unknown-unknown` in release, then checks each module against the ABI: it imports
//! only `env.memory` (at most 64 MiB) and the five `env` host functions with their exact
//! signatures, and exports `_start: () -> ()`. A module that imports anything else fails the
//! build, because neither host could run it.
use std::path::{Path, PathBuf};

const TARGET: &str = "wasm32-unknown-unknown";

/// Link flags for every guest. Keep in step with `guests/.cargo/config.toml`, which cargo only
/// reads when run from inside `guests/`; passing them here makes the build work from any cwd.
pub const RUSTFLAGS: &[&str] = &[
    "-Clink-arg=--import-memory",
    "-Clink-arg=--initial-memory=131072",
    "-Clink-arg=--max-memory=67108864",
    "-Clink-arg=-z",
    "-Clink-arg=stack-size=65536",
    "-Clink-arg=--stack-first",
    "-Clink-arg=--export=_start",
];

/// The host functions a guest may import from `env`: (name, parameter count, result count),
/// every value an i32 (see docs/ABI.md).
const HOST_FUNCTIONS: &[(&str, usize, usize)] = &[
    ("orbital_syscall", 4, 1),
    ("orbital_send_bytes", 2, 1),
    ("orbital_recv_bytes", 2, 1),
    ("orbital_yield", 0, 0),
    ("orbital_get_pid", 0, 1),
];

/// Builds every guest program; returns the folder holding `<name>.wasm`
/// (`$CARGO_TARGET_DIR/guests/wasm32-unknown-unknown/release`, or under `<root>/target`).
pub fn build(root: &Path) -> Result<PathBuf, String> {
    crate::tools::ensure_wasm_target()?;
    let guests = root.join("guests");
    let target_dir = crate::tools::target_dir(root).join("guests");
    crate::tools::run(
        crate::tools::cargo()
            .current_dir(&guests)
            .env("CARGO_TARGET_DIR", &target_dir)
            // Takes precedence over RUSTFLAGS and every config file, so the flags are exactly these.
            .env("CARGO_ENCODED_RUSTFLAGS", RUSTFLAGS.join("\u{1f}"))
            .env_remove("RUSTFLAGS")
            .args(["build", "--release", "--workspace", "--target", TARGET])
            .arg("--manifest-path")
            .arg(guests.join("Cargo.toml")),
    )?;
    let out = target_dir.join(TARGET).join("release");
    let mut total = 0;
    for name in program_names(&guests)? {
        let path = out.join(format!("{name}.wasm"));
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        check_module(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("  {:<14} {:>7} bytes", format!("{name}.wasm"), bytes.len());
        total += bytes.len();
    }
    println!("  {:<14} {total:>7} bytes", "total");
    Ok(out)
}

/// Every program crate under `guests/programs`, sorted.
fn program_names(guests: &Path) -> Result<Vec<String>, String> {
    let dir = guests.join("programs");
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(format!("no programs in {}", dir.display()));
    }
    Ok(names)
}

/// Checks a guest module's imports and exports against the ABI.
pub fn check_module(wasm: &[u8]) -> Result<(), String> {
    let module = parse_module(wasm)?;
    let mut has_memory = false;
    for import in &module.imports {
        let what = format!("import {}.{}", import.module, import.name);
        if import.module != "env" {
            return Err(format!("{what}: guests may import only from `env`"));
        }
        match import.kind {
            ImportKind::Memory { maximum_pages } => {
                if import.name != "memory" {
                    return Err(format!("{what}: the memory must be imported as env.memory"));
                }
                match maximum_pages {
                    Some(max) if max <= 1024 => has_memory = true,
                    _ => {
                        return Err(format!(
                            "{what}: maximum must be at most 1024 pages (64 MiB)"
                        ));
                    }
                }
            }
            ImportKind::Function { type_index } => {
                let Some(&(_, params, results)) =
                    HOST_FUNCTIONS.iter().find(|f| f.0 == import.name)
                else {
                    return Err(format!(
                        "{what}: not a host function (allowed: {})",
                        allowed_names()
                    ));
                };
                let ty = module
                    .types
                    .get(type_index as usize)
                    .ok_or(format!("{what}: bad type index"))?;
                let i32s = |v: &[u8], n: usize| v.len() == n && v.iter().all(|&t| t == 0x7f);
                if !i32s(&ty.0, params) || !i32s(&ty.1, results) {
                    return Err(format!(
                        "{what}: wrong signature (expected {params} i32 -> {results} i32)"
                    ));
                }
            }
            ImportKind::Other(kind) => {
                return Err(format!("{what}: unsupported import kind {kind}"));
            }
        }
    }
    if !has_memory {
        return Err(
            "the module must import its memory as env.memory (link with --import-memory)".into(),
        );
    }
    if module.exported_memory {
        return Err("the module exports its own memory; it must import env.memory".into());
    }
    let start = module
        .exported_funcs
        .iter()
        .find(|(name, _)| name == "_start");
    let Some(&(_, func_index)) = start else {
        return Err("no `_start` export".into());
    };
    let ty = module.func_type(func_index).ok_or("`_start` has no type")?;
    if !ty.0.is_empty() || !ty.1.is_empty() {
        return Err("`_start` must take and return nothing".into());
    }
    Ok(())
}

fn allowed_names() -> String {
    HOST_FUNCTIONS
        .iter()
        .map(|f| f.0)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The parts of a module the check needs.
#[derive(Default)]
struct Module {
    /// (params, results) as value-type bytes.
    types: Vec<(Vec<u8>, Vec<u8>)>,
    imports: Vec<Import>,
    /// Type index of each function defined in the module (after the imported ones).
    defined_funcs: Vec<u32>,
    exported_funcs: Vec<(String, u32)>,
    exported_memory: bool,
}

impl Module {
    fn func_type(&self, func_index: u32) -> Option<&(Vec<u8>, Vec<u8>)> {
        let imported: Vec<u32> = self
            .imports
            .iter()
            .filter_map(|i| match i.kind {
                ImportKind::Function { type_index } => Some(type_index),
                _ => None,
            })
            .collect();
        let index = func_index as usize;
        let type_index = if index < imported.len() {
            imported[index]
        } else {
            *self.defined_funcs.get(index - imported.len())?
        };
        self.types.get(type_index as usize)
    }
}

struct Import {
    module: String,
    name: String,
    kind: ImportKind,
}

enum ImportKind {
    Function { type_index: u32 },
    Memory { maximum_pages: Option<u64> },
    Other(u8),
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, String> {
        let b = *self.bytes.get(self.pos).ok_or("unexpected end of module")?;
        self.pos += 1;
        Ok(b)
    }

    fn leb(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("LEB128 number too long".into())
    }

    fn u32(&mut self) -> Result<u32, String> {
        u32::try_from(self.leb()?).map_err(|_| "number out of range".to_string())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or("unexpected end of module")?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn name(&mut self) -> Result<String, String> {
        let n = self.u32()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| "name is not UTF-8".to_string())
    }

    fn limits(&mut self) -> Result<Option<u64>, String> {
        let flags = self.byte()?;
        self.leb()?;
        Ok(if flags & 1 != 0 {
            Some(self.leb()?)
        } else {
            None
        })
    }
}

fn parse_module(wasm: &[u8]) -> Result<Module, String> {
    if wasm.len() < 8 || &wasm[..4] != b"\0asm" || wasm[4..8] != [1, 0, 0, 0] {
        return Err("not a WebAssembly 1.0 module".into());
    }
    let mut m = Module::default();
    let mut r = Reader {
        bytes: wasm,
        pos: 8,
    };
    while r.pos < wasm.len() {
        let id = r.byte()?;
        let size = r.u32()? as usize;
        let mut s = Reader {
            bytes: r.take(size)?,
            pos: 0,
        };
        match id {
            1 => {
                for _ in 0..s.u32()? {
                    if s.byte()? != 0x60 {
                        return Err("unsupported type form".into());
                    }
                    let n = s.u32()? as usize;
                    let params = s.take(n)?.to_vec();
                    let n = s.u32()? as usize;
                    m.types.push((params, s.take(n)?.to_vec()));
                }
            }
            2 => {
                for _ in 0..s.u32()? {
                    let module = s.name()?;
                    let name = s.name()?;
                    let kind = match s.byte()? {
                        0 => ImportKind::Function {
                            type_index: s.u32()?,
                        },
                        2 => ImportKind::Memory {
                            maximum_pages: s.limits()?,
                        },
                        other => ImportKind::Other(other),
                    };
                    m.imports.push(Import { module, name, kind });
                }
            }
            3 => {
                for _ in 0..s.u32()? {
                    m.defined_funcs.push(s.u32()?);
                }
            }
            7 => {
                for _ in 0..s.u32()? {
                    let name = s.name()?;
                    let kind = s.byte()?;
                    let index = s.u32()?;
                    match kind {
                        0 => m.exported_funcs.push((name, index)),
                        2 => m.exported_memory = true,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Ok(m)
}

/// What to install when clang cannot build the C test programs.
pub const WASI_APT_PACKAGES: &str = "apt-get install -y clang lld wasi-libc libclang-rt-dev-wasm32";

/// Builds the C test programs (`guests/wasi/*.c`) with `clang --target=wasm32-wasi -O2`, as a
/// student would, into `<target>/guests/wasi/<name>.wasm`; returns that folder. They are loaded
/// at run time (not served with the site): the browser tests drop them on the canvas.
pub fn build_wasi_programs(root: &Path) -> Result<PathBuf, String> {
    let sources = root.join("guests/wasi");
    let out = crate::tools::target_dir(root).join("guests/wasi");
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut names: Vec<PathBuf> = std::fs::read_dir(&sources)
        .map_err(|e| format!("{}: {e}", sources.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "c"))
        .collect();
    names.sort();
    for source in names {
        let stem = source
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let output = out.join(format!("{stem}.wasm"));
        let run = std::process::Command::new("clang")
            .args(["--target=wasm32-wasi", "-O2", "-o"])
            .arg(&output)
            .arg(&source)
            .output()
            .map_err(|e| {
                format!(
                    "cannot run clang ({e}): install Debian's WASI C toolchain: {WASI_APT_PACKAGES}"
                )
            })?;
        if !run.status.success() {
            return Err(format!(
                "clang --target=wasm32-wasi failed for {}:\n{}\n(is the toolchain complete? {WASI_APT_PACKAGES})",
                source.display(),
                String::from_utf8_lossy(&run.stderr)
            ));
        }
        let size = std::fs::metadata(&output).map_err(|e| e.to_string())?.len();
        println!(
            "  {:<16} {size:>7} bytes (C, clang -O2)",
            format!("{stem}.wasm")
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal module: types, imports, one function, exports (hand-assembled).
    fn module(imports: &[(&str, &str, u8, u32)], start_type: u32) -> Vec<u8> {
        let mut w = b"\0asm\x01\0\0\0".to_vec();
        let mut section = |id: u8, body: Vec<u8>| {
            w.push(id);
            w.push(body.len() as u8);
            w.extend(body);
        };
        // type 0: () -> (); type 1: (i32 x4) -> i32; type 2: (i32) -> ()
        section(
            1,
            vec![
                3, 0x60, 0, 0, 0x60, 4, 0x7f, 0x7f, 0x7f, 0x7f, 1, 0x7f, 0x60, 1, 0x7f, 0,
            ],
        );
        let mut body = vec![imports.len() as u8];
        for &(module, name, kind, index) in imports {
            body.push(module.len() as u8);
            body.extend(module.as_bytes());
            body.push(name.len() as u8);
            body.extend(name.as_bytes());
            body.push(kind);
            if kind == 2 {
                body.extend([1, 2, 0x80 | index as u8, 8]); // limits: min 2, max index + 8 << 7
            } else {
                body.push(index as u8);
            }
        }
        section(2, body);
        section(3, vec![1, start_type as u8]);
        let funcs = imports.iter().filter(|i| i.2 == 0).count() as u8;
        section(7, vec![1, 6, b'_', b's', b't', b'a', b'r', b't', 0, funcs]);
        w
    }

    const MEMORY: (&str, &str, u8, u32) = ("env", "memory", 2, 0); // max 0 + 8 * 128 = 1024 pages

    #[test]
    fn accepts_memory_and_host_functions() {
        let wasm = module(&[MEMORY, ("env", "orbital_syscall", 0, 1)], 0);
        assert_eq!(check_module(&wasm), Ok(()));
    }

    #[test]
    fn rejects_foreign_imports() {
        let wasm = module(&[MEMORY, ("wasi_snapshot_preview1", "fd_write", 0, 1)], 0);
        assert!(check_module(&wasm).unwrap_err().contains("only from `env`"));
        let wasm = module(&[MEMORY, ("env", "abort", 0, 0)], 0);
        assert!(
            check_module(&wasm)
                .unwrap_err()
                .contains("not a host function")
        );
    }

    #[test]
    fn rejects_wrong_signatures_and_missing_memory() {
        let wasm = module(&[MEMORY, ("env", "orbital_yield", 0, 1)], 0);
        assert!(check_module(&wasm).unwrap_err().contains("wrong signature"));
        let wasm = module(&[("env", "orbital_syscall", 0, 1)], 0);
        assert!(check_module(&wasm).unwrap_err().contains("env.memory"));
        let wasm = module(&[("env", "memory", 2, 1)], 0); // max 1 + 8 * 128 = 1025 pages
        assert!(check_module(&wasm).unwrap_err().contains("1024 pages"));
    }

    #[test]
    fn start_must_be_unit() {
        let wasm = module(&[MEMORY], 2);
        assert!(
            check_module(&wasm)
                .unwrap_err()
                .contains("take and return nothing")
        );
        assert!(check_module(b"\0asm\x02\0\0\0").is_err());
    }
}
