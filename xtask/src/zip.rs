//! `cargo xtask dist --zip`: the static site as one `.zip`, for a teacher to unpack on any web
//! host. A small writer of the plain zip format (no zip64: the site is far below 4 GiB): each file
//! deflated with flate2 (or stored, when deflate does not make it smaller), CRC-32 by crc32fast;
//! both crates were already in the lockfile.
use std::io::Write;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use flate2::Compression;
use flate2::write::DeflateEncoder;

/// What went into an archive.
pub struct ZipReport {
    pub files: usize,
    /// The files' total size before compression.
    pub raw_bytes: u64,
    /// The archive's size.
    pub zip_bytes: u64,
}

/// One file to archive: its name inside the archive (`/`-separated) and its contents.
pub struct Entry {
    pub name: String,
    pub data: Vec<u8>,
    pub modified: SystemTime,
}

const METHOD_STORE: u16 = 0;
const METHOD_DEFLATE: u16 = 8;
/// General-purpose flag bit 11: names are UTF-8.
const FLAG_UTF8: u16 = 1 << 11;
const VERSION_NEEDED: u16 = 20;
/// "Made by" Unix (3) with spec version 2.0, so the external attributes carry Unix permissions.
const VERSION_MADE_BY: u16 = (3 << 8) | 20;
/// A regular file, rw-r--r--.
const UNIX_FILE_MODE: u32 = 0o100_644;

/// Writes `entries` as a zip archive to `path`.
pub fn write(path: &Path, entries: impl IntoIterator<Item = Entry>) -> Result<ZipReport, String> {
    let mut out: Vec<u8> = Vec::new();
    let mut central: Vec<u8> = Vec::new();
    let mut count = 0usize;
    let mut raw_bytes = 0u64;
    for entry in entries {
        let crc = crc32fast::hash(&entry.data);
        let deflated = deflate(&entry.data)?;
        let (method, body) = if deflated.len() < entry.data.len() {
            (METHOD_DEFLATE, &deflated[..])
        } else {
            (METHOD_STORE, &entry.data[..])
        };
        let (time, date) = dos_date_time(entry.modified);
        let name = entry.name.as_bytes();
        let offset = u32_field(out.len() as u64, "the archive")?;
        let compressed = u32_field(body.len() as u64, &entry.name)?;
        let size = u32_field(entry.data.len() as u64, &entry.name)?;
        let name_len = u16::try_from(name.len())
            .map_err(|_| format!("{}: name too long for a zip", entry.name))?;

        // Local file header, then the data.
        put32(&mut out, 0x0403_4b50);
        for v in [VERSION_NEEDED, FLAG_UTF8, method, time, date] {
            put16(&mut out, v);
        }
        for v in [crc, compressed, size] {
            put32(&mut out, v);
        }
        put16(&mut out, name_len);
        put16(&mut out, 0);
        out.extend_from_slice(name);
        out.extend_from_slice(body);

        // Its central directory record.
        put32(&mut central, 0x0201_4b50);
        for v in [
            VERSION_MADE_BY,
            VERSION_NEEDED,
            FLAG_UTF8,
            method,
            time,
            date,
        ] {
            put16(&mut central, v);
        }
        for v in [crc, compressed, size] {
            put32(&mut central, v);
        }
        for v in [name_len, 0, 0, 0, 0] {
            put16(&mut central, v); // name, extra, comment lengths; disk number; internal attributes
        }
        put32(&mut central, UNIX_FILE_MODE << 16);
        put32(&mut central, offset);
        central.extend_from_slice(name);

        count += 1;
        raw_bytes += entry.data.len() as u64;
    }
    let entries = u16::try_from(count)
        .map_err(|_| format!("{count} files: too many for a zip without zip64"))?;
    let central_offset = u32_field(out.len() as u64, "the archive")?;
    let central_size = u32_field(central.len() as u64, "the central directory")?;
    out.extend_from_slice(&central);
    // End of central directory.
    put32(&mut out, 0x0605_4b50);
    for v in [0, 0, entries, entries] {
        put16(&mut out, v);
    }
    put32(&mut out, central_size);
    put32(&mut out, central_offset);
    put16(&mut out, 0);

    std::fs::write(path, &out).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(ZipReport {
        files: count,
        raw_bytes,
        zip_bytes: out.len() as u64,
    })
}

fn deflate(data: &[u8]) -> Result<Vec<u8>, String> {
    let mut encoder = DeflateEncoder::new(Vec::with_capacity(data.len() / 3), Compression::best());
    encoder
        .write_all(data)
        .map_err(|e| format!("deflate: {e}"))?;
    encoder.finish().map_err(|e| format!("deflate: {e}"))
}

fn u32_field(value: u64, what: &str) -> Result<u32, String> {
    u32::try_from(value)
        .map_err(|_| format!("{what} is over 4 GiB: too large for a zip without zip64"))
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// MS-DOS time and date (UTC, two-second resolution; 1980-01-01 at the earliest).
fn dos_date_time(t: SystemTime) -> (u16, u16) {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    if year < 1980 {
        return (0, (1 << 5) | 1);
    }
    let rem = secs % 86_400;
    let time = ((rem / 3600) << 11) | (((rem / 60) % 60) << 5) | ((rem % 60) / 2);
    let date = (((year - 1980).min(127) as u64) << 9) | ((month as u64) << 5) | day as u64;
    (time as u16, date as u16)
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::time::Duration;

    fn u16_at(b: &[u8], i: usize) -> u16 {
        u16::from_le_bytes([b[i], b[i + 1]])
    }
    fn u32_at(b: &[u8], i: usize) -> u32 {
        u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
    }

    /// Reads an archive back through its central directory: (name, contents) per entry.
    fn read_back(zip: &[u8]) -> Vec<(String, Vec<u8>)> {
        let end = zip.len() - 22;
        assert_eq!(u32_at(zip, end), 0x0605_4b50, "end of central directory");
        let count = u16_at(zip, end + 10) as usize;
        let mut at = u32_at(zip, end + 16) as usize;
        let mut files = Vec::new();
        for _ in 0..count {
            assert_eq!(u32_at(zip, at), 0x0201_4b50, "central directory record");
            let method = u16_at(zip, at + 10);
            let crc = u32_at(zip, at + 16);
            let compressed = u32_at(zip, at + 20) as usize;
            let size = u32_at(zip, at + 24) as usize;
            let name_len = u16_at(zip, at + 28) as usize;
            let local = u32_at(zip, at + 42) as usize;
            let name = String::from_utf8(zip[at + 46..at + 46 + name_len].to_vec()).unwrap();
            assert_eq!(u32_at(zip, local), 0x0403_4b50, "local header of {name}");
            let data_at =
                local + 30 + u16_at(zip, local + 26) as usize + u16_at(zip, local + 28) as usize;
            let body = &zip[data_at..data_at + compressed];
            let data = match method {
                METHOD_STORE => body.to_vec(),
                METHOD_DEFLATE => {
                    let mut d = Vec::new();
                    flate2::read::DeflateDecoder::new(body)
                        .read_to_end(&mut d)
                        .unwrap();
                    d
                }
                m => panic!("method {m}"),
            };
            assert_eq!(data.len(), size, "{name}");
            assert_eq!(crc32fast::hash(&data), crc, "{name}");
            files.push((name, data));
            at += 46 + name_len;
        }
        files
    }

    #[test]
    fn an_archive_reads_back_deflated_and_stored() {
        let path = std::env::temp_dir().join(format!("xtask-zip-test-{}.zip", std::process::id()));
        let text = b"orbital playground ".repeat(500);
        let noise: Vec<u8> = (0..2000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let now = SystemTime::now();
        let report = write(
            &path,
            [
                Entry {
                    name: "site/index.html".into(),
                    data: text.clone(),
                    modified: now,
                },
                Entry {
                    name: "site/guests/noise.bin".into(),
                    data: noise.clone(),
                    modified: now,
                },
                Entry {
                    name: "site/empty".into(),
                    data: Vec::new(),
                    modified: now,
                },
            ],
        )
        .unwrap();
        let zip = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(report.files, 3);
        assert_eq!(report.zip_bytes, zip.len() as u64);
        assert!(zip.len() < text.len(), "the text was deflated");
        let files = read_back(&zip);
        assert_eq!(files[0], ("site/index.html".to_string(), text));
        assert_eq!(files[1], ("site/guests/noise.bin".to_string(), noise));
        assert_eq!(files[2], ("site/empty".to_string(), Vec::new()));
    }

    #[test]
    fn dos_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_783), (2024, 3, 1));
        // 2024-03-01 12:34:56 UTC
        let t = UNIX_EPOCH + Duration::from_secs(19_783 * 86_400 + 12 * 3600 + 34 * 60 + 56);
        let (time, date) = dos_date_time(t);
        assert_eq!(time, (12 << 11) | (34 << 5) | 28);
        assert_eq!(date, (44 << 9) | (3 << 5) | 1);
        assert_eq!(dos_date_time(UNIX_EPOCH), (0, (1 << 5) | 1));
    }
}
