//! The native half of `cargo xtask bench`'s scale and recording figures:
//! - the 64-process crowd and `crowd-256` on the native host (wasmi), headless, in one test run
//!   (`tests/crowd_native.rs`, `measure_crowds`): spawn time, update time per frame, memory;
//! - recording on vs off on the supervisor's servicing path, interleaved in one process
//!   (`supervisor/benches/time_travel.rs`, overhead part only).
//!
//! Each writes a JSON document that the table reads; a step that fails leaves `{error}` and the
//! rest of the table still prints.
use std::path::Path;

use serde_json::Value;

use crate::tools::{cargo, run, target_dir};

/// Runs `measure_crowds` in the test profile (the release profile's fat LTO over Bevy would take
/// far longer to build than the measurement takes; the figures are therefore upper bounds).
pub fn native_scale(root: &Path) -> Result<Value, String> {
    let out = target_dir(root).join("bench").join("native-scale.json");
    let _ = std::fs::remove_file(&out);
    run(cargo()
        .current_dir(root)
        .args([
            "test",
            "--workspace",
            "--test",
            "crowd_native",
            "--",
            "--ignored",
            "--exact",
            "measure_crowds",
            "--nocapture",
        ])
        .env("ORBITAL_BENCH_OUT", &out))?;
    read_json(&out)
}

/// Recording on vs off and seeks into a 1,000,000-input recording at the default snapshot interval
/// (`cargo bench -p orbital-supervisor --bench time_travel`).
pub fn recording_overhead(root: &Path) -> Result<Value, String> {
    let out = target_dir(root)
        .join("bench")
        .join("recording-overhead.json");
    let _ = std::fs::remove_file(&out);
    run(cargo()
        .current_dir(root)
        .args([
            "bench",
            "-p",
            "orbital-supervisor",
            "--bench",
            "time_travel",
        ])
        .env("ORBITAL_BENCH_OUT", &out)
        .env("ORBITAL_BENCH_ONLY", "overhead,seek"))?;
    read_json(&out)
}

pub fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The crowd named `scenario` in `measure_crowds`' document.
pub fn crowd<'a>(native: Result<&'a Value, &String>, scenario: &str) -> Result<&'a Value, String> {
    let native = native.map_err(|e| e.clone())?;
    native["crowds"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["scenario"] == scenario))
        .ok_or_else(|| format!("no `{scenario}` in the native scale results"))
}

/// `crowd[key]` divided by `crowd[per]` (for per-process figures).
pub fn per(crowd: &Result<&Value, String>, key: &str, per: &str) -> Result<f64, String> {
    let c = crowd.as_ref().map_err(|e| e.clone())?;
    let v = c[key].as_f64().ok_or_else(|| format!("no `{key}`"))?;
    let n = c[per]
        .as_f64()
        .filter(|n| *n > 0.0)
        .ok_or_else(|| format!("no `{per}`"))?;
    Ok(v / n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn crowds_are_found_by_name_and_divided_per_process() {
        let v = json!({ "crowds": [
            { "scenario": "crowd", "processes": 64, "spawned": 61, "spawn_ms": 610.0 },
            { "scenario": "crowd-256", "processes": 256, "spawned": 253, "spawn_ms": 5060.0 },
        ]});
        let big = crowd(Ok(&v), "crowd-256");
        assert_eq!(per(&big, "spawn_ms", "spawned"), Ok(20.0));
        assert!(
            crowd(Ok(&v), "crowd-512")
                .unwrap_err()
                .contains("crowd-512")
        );
        let e = "the test failed".to_string();
        assert_eq!(crowd(Err(&e), "crowd").unwrap_err(), e);
    }
}
