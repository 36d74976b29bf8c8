//! The recording file: one self-checking binary file.
//!
//! ```text
//! magic     8 bytes  "ORBITREC"
//! version   u16 LE   2 (version 1 files still open: they hold no packed syscalls)
//! sections, each: tag (1 byte), length (u64 LE), payload; in this order:
//!   'M'  the manifest of programs it used (RON text, as `assets/programs.ron`)
//!   'B'  the base: varint first input index, varint time of the input before it,
//!        then the kernel snapshot (postcard, the kernel's serde form)
//!   'I'  the inputs: varint count, then the input stream (`recording::input` encoding)
//!   'H'  the live kernel's state hash at export (u64 LE): the import replays and compares
//!   'C'  FNV-1a 64 of every byte before this section (u64 LE)
//! ```
//!
//! A file is refused with its own [`RecordingError`] when it does not start with the magic
//! (random bytes, another file), has another version, ends early (truncated), fails its
//! checksum, or does not decode or replay; decoding never panics.

use std::fmt;
use std::hash::Hasher;

use crate::kernel::{Kernel, StableHasher};
use crate::manifest::Manifest;
use crate::recording::input::{Decoder, put_u64};
use crate::recording::recorder::{RecordedKernel, Recording, RecordingSettings};

pub const MAGIC: [u8; 8] = *b"ORBITREC";
/// The version written. 2 added packed syscalls to the input stream (fixed-width fields, see
/// `recording::input::encode`); a version 1 stream is a version 2 stream without them.
pub const VERSION: u16 = 2;
/// The oldest version this build still opens.
pub const OLDEST_VERSION: u16 = 1;

/// Why a recording file cannot be opened. `Display` says what is wrong and what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordingError {
    /// The file does not start with `ORBITREC`: not a recording at all.
    NotARecording,
    /// A recording of a version this build cannot read.
    UnsupportedVersion { found: u16, supported: u16 },
    /// The file ends before `section` is complete.
    Truncated {
        section: &'static str,
        needed: u64,
        available: u64,
    },
    /// The bytes are there but wrong (checksum, an undecodable section).
    Corrupt {
        section: &'static str,
        detail: String,
    },
    /// Replaying the inputs does not reach the state the file says it ended in.
    ReplayMismatch { expected: u64, found: u64 },
}

impl fmt::Display for RecordingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordingError::NotARecording => write!(
                f,
                "this is not an Orbital recording (it does not start with \"ORBITREC\"): open a file saved with \"Save recording\""
            ),
            RecordingError::UnsupportedVersion { found, supported } => write!(
                f,
                "this recording has format version {found}, but this build reads versions {OLDEST_VERSION} to {supported}: open it with the Orbital Playground version that saved it"
            ),
            RecordingError::Truncated {
                section,
                needed,
                available,
            } => write!(
                f,
                "the recording is truncated: its {section} needs {needed} more bytes but only {available} are left (the download or copy was cut short): save or copy the file again"
            ),
            RecordingError::Corrupt { section, detail } => {
                write!(
                    f,
                    "the recording is damaged in its {section}: {detail}: save or copy the file again"
                )
            }
            RecordingError::ReplayMismatch { expected, found } => write!(
                f,
                "the recording replays to a different state (hash {found:016x}, the file says {expected:016x}): it was made by an incompatible kernel; open it with the version that saved it"
            ),
        }
    }
}

impl std::error::Error for RecordingError {}

fn section_name(tag: u8) -> &'static str {
    match tag {
        b'M' => "manifest section",
        b'B' => "base snapshot section",
        b'I' => "input section",
        b'H' => "state hash section",
        b'C' => "checksum section",
        _ => "header",
    }
}

fn push_section(out: &mut Vec<u8>, tag: u8, payload: &[u8]) {
    out.push(tag);
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(payload);
}

fn checksum(bytes: &[u8]) -> u64 {
    let mut h = StableHasher::new();
    h.write(bytes);
    h.finish()
}

/// Encodes a whole recording.
pub(crate) fn encode(manifest: &Manifest, recorded: &RecordedKernel) -> Vec<u8> {
    let rec = recorded.recording();
    let mut out = Vec::new();
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    // A manifest always serialises (strings, bools and lists).
    let manifest_text = ron::to_string(manifest).unwrap_or_default();
    push_section(&mut out, b'M', manifest_text.as_bytes());
    let mut base = Vec::new();
    put_u64(&mut base, rec.first());
    put_u64(&mut base, rec.chunks.front().map_or(0, |c| c.prev_ns));
    if let Some(kernel) = rec.base() {
        // The kernel's serde form has only plain data: serialising it cannot fail.
        base.extend_from_slice(&postcard::to_allocvec(kernel).unwrap_or_default());
    }
    push_section(&mut out, b'B', &base);
    let mut inputs = Vec::with_capacity(rec.input_bytes() + 10);
    put_u64(&mut inputs, rec.end() - rec.first());
    inputs.extend_from_slice(&rec.stream());
    push_section(&mut out, b'I', &inputs);
    push_section(&mut out, b'H', &recorded.state_hash().to_le_bytes());
    let sum = checksum(&out);
    push_section(&mut out, b'C', &sum.to_le_bytes());
    out
}

/// A decoded, replayed recording, ready to be shown.
pub(crate) struct Decoded {
    pub(crate) manifest: Manifest,
    pub(crate) kernel: RecordedKernel,
}

struct Sections<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Sections<'a> {
    fn next(&mut self, tag: u8) -> Result<&'a [u8], RecordingError> {
        let section = section_name(tag);
        let left = (self.bytes.len() - self.pos) as u64;
        if left < 9 {
            return Err(RecordingError::Truncated {
                section,
                needed: 9,
                available: left,
            });
        }
        let found = self.bytes.get(self.pos).copied().unwrap_or(0);
        if found != tag {
            return Err(RecordingError::Corrupt {
                section,
                detail: format!(
                    "expected section '{}' at byte {}, found byte {found:#04x}",
                    tag as char, self.pos
                ),
            });
        }
        let mut len = [0u8; 8];
        len.copy_from_slice(
            self.bytes
                .get(self.pos + 1..self.pos + 9)
                .unwrap_or(&[0; 8]),
        );
        let len = u64::from_le_bytes(len);
        let start = self.pos + 9;
        let available = (self.bytes.len() - start) as u64;
        if len > available {
            return Err(RecordingError::Truncated {
                section,
                needed: len,
                available,
            });
        }
        let end = start + len as usize;
        self.pos = end;
        Ok(self.bytes.get(start..end).unwrap_or(&[]))
    }
}

fn u64_le(section: &'static str, bytes: &[u8]) -> Result<u64, RecordingError> {
    let arr: [u8; 8] = bytes.try_into().map_err(|_| RecordingError::Corrupt {
        section,
        detail: format!("{} bytes where 8 belong", bytes.len()),
    })?;
    Ok(u64::from_le_bytes(arr))
}

/// Decodes and replays a recording file (see the module docs). Never panics.
pub(crate) fn decode(bytes: &[u8]) -> Result<Decoded, RecordingError> {
    let head = bytes.get(..MAGIC.len()).unwrap_or(bytes);
    if head != &MAGIC[..head.len()] || bytes.is_empty() {
        return Err(RecordingError::NotARecording);
    }
    if bytes.len() < MAGIC.len() + 2 {
        return Err(RecordingError::Truncated {
            section: "header",
            needed: (MAGIC.len() + 2) as u64,
            available: bytes.len() as u64,
        });
    }
    let version = u16::from_le_bytes([bytes[8], bytes[9]]);
    if !(OLDEST_VERSION..=VERSION).contains(&version) {
        return Err(RecordingError::UnsupportedVersion {
            found: version,
            supported: VERSION,
        });
    }
    let mut s = Sections { bytes, pos: 10 };
    let manifest_bytes = s.next(b'M')?;
    let base_bytes = s.next(b'B')?;
    let input_bytes = s.next(b'I')?;
    let hash_bytes = s.next(b'H')?;
    let summed = s.pos;
    let sum = u64_le("checksum section", s.next(b'C')?)?;
    if checksum(&bytes[..summed]) != sum {
        return Err(RecordingError::Corrupt {
            section: "checksum section",
            detail: "the checksum does not match the contents".into(),
        });
    }
    let expected_hash = u64_le("state hash section", hash_bytes)?;
    let manifest_text =
        std::str::from_utf8(manifest_bytes).map_err(|_| RecordingError::Corrupt {
            section: "manifest section",
            detail: "not UTF-8".into(),
        })?;
    let manifest =
        Manifest::parse(manifest_text, "the recording").map_err(|e| RecordingError::Corrupt {
            section: "manifest section",
            detail: e.to_string(),
        })?;
    let corrupt_base = |detail: String| RecordingError::Corrupt {
        section: "base snapshot section",
        detail,
    };
    let mut d = Decoder::new(base_bytes, 0);
    let varint_error =
        |e: crate::recording::input::DecodeError| format!("{} at byte {}", e.what, e.at);
    let first = d.varint().map_err(|e| corrupt_base(varint_error(e)))?;
    let prev_ns = d.varint().map_err(|e| corrupt_base(varint_error(e)))?;
    let base: Kernel =
        postcard::from_bytes(d.remaining()).map_err(|e| corrupt_base(e.to_string()))?;
    let corrupt_inputs = |detail: String| RecordingError::Corrupt {
        section: "input section",
        detail,
    };
    let mut d = Decoder::new(input_bytes, 0);
    let count = d.varint().map_err(|e| corrupt_inputs(varint_error(e)))?;
    let stream = d.remaining();
    let settings = RecordingSettings {
        capacity: RecordingSettings::default()
            .capacity
            .max(usize::try_from(count).unwrap_or(usize::MAX)),
        ..RecordingSettings::default()
    };
    let recording = Recording::new(&base, settings, first, prev_ns);
    let mut kernel = RecordedKernel::from_parts(base, recording, false);
    let mut d = Decoder::new(stream, prev_ns);
    let mut seen = 0u64;
    loop {
        match d.next_input() {
            Ok(Some(timed)) => {
                kernel.apply_input(&timed);
                seen += 1;
            }
            Ok(None) => break,
            Err(e) => {
                return Err(corrupt_inputs(format!(
                    "input {seen}: {} at byte {}",
                    e.what, e.at
                )));
            }
        }
    }
    if seen != count {
        return Err(corrupt_inputs(format!(
            "{seen} inputs where the header says {count}"
        )));
    }
    let found = kernel.state_hash();
    if found != expected_hash {
        return Err(RecordingError::ReplayMismatch {
            expected: expected_hash,
            found,
        });
    }
    kernel.freeze();
    Ok(Decoded { manifest, kernel })
}

/// The host of a replay-only supervisor: it starts no guest.
pub struct ReplayOnlyHost;

impl crate::host::Host for ReplayOnlyHost {
    fn spawn(
        &mut self,
        _pid: crate::kernel::ProcessId,
        _program: &crate::manifest::ProgramSpec,
    ) -> Result<crate::host::SpawnedGuest, crate::host::HostError> {
        Err(crate::host::HostError::Unavailable(
            "this page shows an imported recording (replay only): reload the page for a live system".into(),
        ))
    }

    fn stop(&mut self, _pid: crate::kernel::ProcessId) {}

    fn live_guests(&self) -> usize {
        0
    }

    fn take_exits(&mut self) -> Vec<crate::host::GuestExit> {
        Vec::new()
    }

    fn ring_doorbell(&self) {}

    fn name(&self) -> &'static str {
        "replay only"
    }
}

impl crate::Supervisor {
    /// The recording as one file (see the module docs). Works while seeking (the file holds
    /// the whole recording, not the view).
    pub fn export_recording(&self) -> Vec<u8> {
        encode(&self.manifest, &self.kernel)
    }

    /// Replaces this supervisor's system with an imported recording, replay-only: every guest
    /// is stopped, no guest starts, the kernel refuses every change, and the view is live (the
    /// recording's end; seek to look back). A bad file changes nothing and says what is wrong.
    pub fn import_recording(&mut self, bytes: &[u8]) -> Result<(), RecordingError> {
        let decoded = decode(bytes)?;
        let pids: Vec<_> = self.guests.keys().copied().collect();
        for pid in pids {
            self.stop_guest(pid);
        }
        self.host = Box::new(ReplayOnlyHost);
        self.manifest = decoded.manifest;
        self.kernel = decoded.kernel;
        self.past = None;
        self.providers.clear();
        self.exclusive_wired.clear();
        self.last_serviced.clear();
        self.time = crate::TimeControl::Paused;
        Ok(())
    }

    /// A replay-only supervisor for an imported recording (no guest ever starts).
    pub fn from_recording(
        bytes: &[u8],
        clock: crate::Clock,
    ) -> Result<crate::Supervisor, RecordingError> {
        let decoded = decode(bytes)?;
        let config = decoded.kernel.config().clone();
        let mut supervisor = crate::Supervisor::new(
            decoded.manifest.clone(),
            Box::new(ReplayOnlyHost),
            config,
            clock,
        );
        supervisor.kernel = decoded.kernel;
        supervisor.time = crate::TimeControl::Paused;
        Ok(supervisor)
    }

    /// Whether this supervisor shows an imported recording (nothing runs, nothing changes).
    pub fn is_replay_only(&self) -> bool {
        self.kernel.is_frozen()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recording::input::encode_general;
    use crate::testing::{scripted_supervisor, workload::Workload};

    /// A version 1 file (every syscall as varints, as builds before packed syscalls wrote them)
    /// still opens and replays to the same state; version 0 and 3 are refused by number.
    #[test]
    fn version_1_files_still_open() {
        let (mut sup, guests, time) = scripted_supervisor();
        sup.boot().unwrap();
        let mut w = Workload::start(&mut sup, 7);
        for _ in 0..300 {
            w.step(&mut sup, &guests, &time);
        }
        let v2 = sup.export_recording();
        let live_hash = sup.kernel().state_hash();

        // Rewrite the inputs section the way version 1 wrote it.
        let mut s = Sections {
            bytes: &v2,
            pos: 10,
        };
        let (manifest, base, inputs, hash) = (
            s.next(b'M').unwrap(),
            s.next(b'B').unwrap(),
            s.next(b'I').unwrap(),
            s.next(b'H').unwrap(),
        );
        let mut d = Decoder::new(inputs, 0);
        let count = d.varint().unwrap();
        let mut base_d = Decoder::new(base, 0);
        base_d.varint().unwrap();
        let prev_ns = base_d.varint().unwrap();
        let mut d = Decoder::new(d.remaining(), prev_ns);
        let (mut stream, mut prev) = (Vec::new(), prev_ns);
        put_u64(&mut stream, count);
        let mut n = 0;
        while let Some(timed) = d.next_input().unwrap() {
            encode_general(&mut stream, &mut prev, &timed);
            n += 1;
        }
        assert_eq!(n, count);
        assert_ne!(stream, inputs, "the version 2 stream has packed syscalls");
        let mut v1 = MAGIC.to_vec();
        v1.extend_from_slice(&1u16.to_le_bytes());
        push_section(&mut v1, b'M', manifest);
        push_section(&mut v1, b'B', base);
        push_section(&mut v1, b'I', &stream);
        push_section(&mut v1, b'H', hash);
        let sum = checksum(&v1);
        push_section(&mut v1, b'C', &sum.to_le_bytes());

        let opened = crate::Supervisor::from_recording(&v1, crate::Clock::manual().0).unwrap();
        assert_eq!(opened.kernel().state_hash(), live_hash);
        for version in [0u16, VERSION + 1] {
            let mut other = v1.clone();
            other[8..10].copy_from_slice(&version.to_le_bytes());
            assert!(matches!(
                decode(&other),
                Err(RecordingError::UnsupportedVersion { found, .. }) if found == version
            ));
        }
    }
}
