//! Reads what the worker needs to know about a guest module before instantiating it: the
//! limits of its imported memory (`env.memory`), whose minimum the worker's memory must meet
//! ("memory import 0 is smaller than initial N" otherwise). Pure code, tested natively.

/// What a guest module declares about its imported memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModuleInfo {
    pub memory_min_pages: u32,
    pub memory_max_pages: Option<u32>,
}

/// Parses the import section of a WebAssembly binary. Errors say what is wrong, for a person.
pub fn inspect(bytes: &[u8]) -> Result<ModuleInfo, String> {
    let mut r = Reader { bytes, pos: 0 };
    if r.take(4)? != b"\0asm" {
        return Err("not a WebAssembly module (bad magic number)".into());
    }
    if r.take(4)? != [1, 0, 0, 0] {
        return Err("unsupported WebAssembly binary version".into());
    }
    while r.pos < bytes.len() {
        let id = r.byte()?;
        let size = r.u32()? as usize;
        let body = r.take(size)?;
        if id == 2 {
            return parse_imports(body);
        }
    }
    Err("the module does not import its memory (`env.memory`); build it with -C link-arg=--import-memory".into())
}

fn parse_imports(body: &[u8]) -> Result<ModuleInfo, String> {
    let mut r = Reader {
        bytes: body,
        pos: 0,
    };
    for _ in 0..r.u32()? {
        let module = r.name()?;
        let field = r.name()?;
        match r.byte()? {
            0x00 => {
                r.u32()?; // function type index
            }
            0x01 => {
                r.byte()?; // reference type
                r.limits()?;
            }
            0x02 => {
                let (min, max) = r.limits()?;
                if module == "env" && field == "memory" {
                    return Ok(ModuleInfo {
                        memory_min_pages: min,
                        memory_max_pages: max,
                    });
                }
            }
            0x03 => {
                r.byte()?; // value type
                r.byte()?; // mutability
            }
            0x04 => {
                r.byte()?; // tag attribute
                r.u32()?; // type index
            }
            kind => {
                return Err(format!(
                    "import `{module}.{field}` has an unknown kind {kind:#x}"
                ));
            }
        }
    }
    Err("the module does not import its memory (`env.memory`); build it with -C link-arg=--import-memory".into())
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or("the module is truncated")?;
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    fn byte(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, String> {
        let mut value: u64 = 0;
        for shift in (0..35).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return u32::try_from(value)
                    .map_err(|_| "a LEB128 number overflows 32 bits".to_string());
            }
        }
        Err("a LEB128 number is too long".into())
    }

    fn name(&mut self) -> Result<String, String> {
        let len = self.u32()? as usize;
        Ok(String::from_utf8_lossy(self.take(len)?).into_owned())
    }

    /// Memory or table limits: flags (bit 0 = has maximum), minimum, optional maximum.
    fn limits(&mut self) -> Result<(u32, Option<u32>), String> {
        let flags = self.byte()?;
        if flags & 0x04 != 0 {
            return Err("64-bit memories are not supported".into());
        }
        let min = self.u32()?;
        let max = if flags & 0x01 != 0 {
            Some(self.u32()?)
        } else {
            None
        };
        Ok((min, max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module importing `env.f` (a function) and then `env.memory` with the given limits.
    fn module(limits: &[u8]) -> Vec<u8> {
        let mut imports = vec![2]; // two imports
        imports.extend([3, b'e', b'n', b'v', 1, b'f', 0x00, 0]);
        imports.extend([
            3, b'e', b'n', b'v', 6, b'm', b'e', b'm', b'o', b'r', b'y', 0x02,
        ]);
        imports.extend(limits);
        let types = [1, 0x60, 0, 0]; // one type: () -> ()
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        m.extend([1, types.len() as u8]);
        m.extend(types);
        m.extend([2, imports.len() as u8]);
        m.extend(imports);
        m
    }

    #[test]
    fn reads_memory_limits() {
        // min 2, max 1024 (0x80 0x08 in LEB128)
        let info = inspect(&module(&[0x01, 2, 0x80, 0x08])).unwrap();
        assert_eq!(
            info,
            ModuleInfo {
                memory_min_pages: 2,
                memory_max_pages: Some(1024)
            }
        );
        let info = inspect(&module(&[0x00, 17])).unwrap();
        assert_eq!(
            info,
            ModuleInfo {
                memory_min_pages: 17,
                memory_max_pages: None
            }
        );
    }

    #[test]
    fn refuses_garbage_without_panicking() {
        assert!(inspect(b"").is_err());
        assert!(inspect(b"\0asm").is_err());
        assert!(inspect(b"hello world!").unwrap_err().contains("magic"));
        let m = module(&[0x01, 2, 0x80, 0x08]);
        for cut in 0..m.len() {
            let _ = inspect(&m[..cut]);
        }
        // No imports at all.
        assert!(
            inspect(b"\0asm\x01\0\0\0")
                .unwrap_err()
                .contains("--import-memory")
        );
    }
}
