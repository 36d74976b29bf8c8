//! `cargo xtask bench`: one command that measures the playground against its targets, each figure
//! next to a baseline measured in the same run.
//!
//! ```text
//! dist (release; web-test if asked or if release cannot be built) ─┐
//! cargo bench -p orbital-kernel (kernel + baseline criterion runs) ─┼─▶ one table + target/bench/bench.json
//! headless Chromium on the built site (xtask/e2e/bench/bench.mjs) ─┤
//! native: crowd vs crowd-256 (wasmi host), recording on vs off ────┘ (bench_native.rs)
//! ```
//! A figure that cannot be measured stays in the table with the reason instead of a number.
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use serde_json::{Value, json};

use crate::dist::{self, Profile};
use crate::tools::{self, cargo, run, target_dir};
use crate::{bench_native, e2e, serve};

pub struct Options {
    /// `None`: release, falling back to web-test when the release build fails.
    pub profile: Option<Profile>,
    pub no_build: bool,
    pub skip_kernel: bool,
    pub skip_browser: bool,
    /// Skip the native figures (crowd-256 on the wasmi host, recording on vs off).
    pub skip_native: bool,
    /// Serve this folder instead of the profile's dist output (implies `no_build`).
    pub site: Option<PathBuf>,
    /// Measure nothing: print the table again from the last run's browser.json and criterion estimates.
    pub report_only: bool,
}

/// Kernel figures: (criterion group, label, baseline group, baseline label). Sizes are the ids.
const KERNEL_SIZES: [u32; 3] = [10, 1_000, 10_000];
const SEND_RECEIVE_TARGET_NS: f64 = 150.0;

pub fn bench(root: &Path, options: &Options) -> Result<(), String> {
    let started = Instant::now();
    let out_dir = target_dir(root).join("bench");
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let mut notes: Vec<String> = Vec::new();

    // 1. The site.
    if options.report_only {
        notes.push("--report-only: nothing measured now; the table is re-rendered from the last run's results".into());
    }
    let (profile, site) = build_site(root, options, &mut notes)?;
    println!(
        "xtask bench: measuring the {} site in {}",
        profile.name(),
        site.display()
    );

    // 2. The kernel's criterion benches and their baselines.
    let kernel = if options.skip_kernel {
        Err("skipped (--skip-kernel)".to_string())
    } else if options.report_only {
        kernel_estimates(root, SystemTime::UNIX_EPOCH)
    } else {
        kernel_benches(root)
    };
    if let Err(e) = &kernel {
        println!("xtask bench: kernel benches not measured: {e}");
    }

    // 3. The browser.
    let browser_json = out_dir.join("browser.json");
    let browser = if options.skip_browser {
        Err("skipped (--skip-browser)".to_string())
    } else if options.report_only {
        std::fs::read_to_string(&browser_json)
            .map_err(|e| format!("{}: {e}", browser_json.display()))
            .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
    } else {
        browser_bench(root, &site, profile, &browser_json, &out_dir)
    };
    if let Err(e) = &browser {
        println!("xtask bench: browser benchmarks failed: {e}");
    }

    // 4. Native: crowd vs crowd-256 on the wasmi host; recording on vs off.
    let native_json = out_dir.join("native-scale.json");
    let recording_json = out_dir.join("recording-overhead.json");
    let (native, recording) = if options.skip_native {
        let skipped = || Err("skipped (--skip-native)".to_string());
        (skipped(), skipped())
    } else if options.report_only {
        (
            bench_native::read_json(&native_json),
            bench_native::read_json(&recording_json),
        )
    } else {
        (
            bench_native::native_scale(root),
            bench_native::recording_overhead(root),
        )
    };
    for (what, r) in [
        ("native scale", &native),
        ("recording overhead", &recording),
    ] {
        if let Err(e) = r {
            println!("xtask bench: {what} not measured: {e}");
        }
    }

    // 5. Sizes.
    let sizes = app_sizes(root, &site, profile);

    let mut rows = rows(kernel.as_ref(), browser.as_ref(), &sizes);
    rows.extend(scale_rows(
        native.as_ref(),
        recording.as_ref(),
        browser.as_ref(),
    ));
    let table = render_table(&rows);
    let header = format!(
        "Orbital Playground benchmark ({} profile, {}; {:.0} s)",
        profile.name(),
        site.display(),
        started.elapsed().as_secs_f64()
    );
    println!("\n{header}\n{table}");
    for note in &notes {
        println!("note: {note}");
    }
    let document = json!({
        "profile": profile.name(),
        "site": site.display().to_string(),
        "notes": notes,
        "rows": rows.iter().map(Row::to_json).collect::<Vec<_>>(),
        "kernel": kernel.clone().unwrap_or_else(|e| json!({ "error": e })),
        "browser": browser.clone().unwrap_or_else(|e| json!({ "error": e })),
        "native": native.clone().unwrap_or_else(|e| json!({ "error": e })),
        "recording": recording.clone().unwrap_or_else(|e| json!({ "error": e })),
    });
    let json_path = out_dir.join("bench.json");
    let text = serde_json::to_string_pretty(&document).map_err(|e| e.to_string())?;
    std::fs::write(&json_path, text + "\n").map_err(|e| format!("{}: {e}", json_path.display()))?;
    std::fs::write(out_dir.join("table.txt"), format!("{header}\n{table}"))
        .map_err(|e| e.to_string())?;
    println!("xtask bench: written {} and table.txt", json_path.display());
    Ok(())
}

fn build_site(
    root: &Path,
    options: &Options,
    notes: &mut Vec<String>,
) -> Result<(Profile, PathBuf), String> {
    if let Some(site) = &options.site {
        let profile = options.profile.unwrap_or(Profile::WebTest);
        notes.push(format!(
            "served {} as given with --site (profile stated as {})",
            site.display(),
            profile.name()
        ));
        return Ok((profile, site.clone()));
    }
    let wanted = options.profile.unwrap_or(Profile::Release);
    if options.no_build {
        let site = wanted.default_out(root);
        if site.join(format!("{}_bg.wasm", dist::APP)).is_file() {
            return Ok((wanted, site));
        }
        if options.profile.is_none() {
            let fallback = Profile::WebTest.default_out(root);
            if fallback.join(format!("{}_bg.wasm", dist::APP)).is_file() {
                let line = format!(
                    "no release site in {}: MEASURED THE WEB-TEST SITE ({}) instead, figures are not release figures",
                    site.display(),
                    fallback.display()
                );
                println!("xtask bench: {line}");
                notes.push(line);
                return Ok((Profile::WebTest, fallback));
            }
        }
        return Err(format!(
            "--no-build but no built site in {}: run `cargo xtask dist --profile {}`",
            site.display(),
            wanted.name()
        ));
    }
    let out = wanted.default_out(root);
    let built = match dist::dist(
        root,
        &dist::Options {
            profile: wanted,
            out: out.clone(),
        },
    ) {
        Ok(report) => {
            report.print();
            Ok((wanted, out))
        }
        Err(e) if options.profile.is_none() => {
            let line = format!(
                "the release build failed ({e}): MEASURED THE WEB-TEST SITE instead, figures are not release figures"
            );
            println!("xtask bench: {line}");
            notes.push(line);
            let out = Profile::WebTest.default_out(root);
            dist::dist(
                root,
                &dist::Options {
                    profile: Profile::WebTest,
                    out: out.clone(),
                },
            )?
            .print();
            Ok((Profile::WebTest, out))
        }
        Err(e) => Err(e),
    }?;
    // The first frame's baseline: the start-up floor, in the site's floor/ folder.
    if let Err(e) = dist::floor(root, built.0, &built.1) {
        let line = format!("the start-up floor was not built ({e}): its rows say so");
        println!("xtask bench: {line}");
        notes.push(line);
    }
    Ok(built)
}

// ---- kernel (criterion) ----------------------------------------------------------------------

/// Runs both criterion benches in one `cargo bench` and returns every group's median and mean in ns.
fn kernel_benches(root: &Path) -> Result<Value, String> {
    let since = SystemTime::now();
    run(cargo().current_dir(root).args([
        "bench",
        "-p",
        "orbital-kernel",
        "--bench",
        "kernel",
        "--bench",
        "baseline",
    ]))?;
    kernel_estimates(root, since)
}

/// Every group's median and mean (ns) from criterion's estimates written after `since`.
fn kernel_estimates(root: &Path, since: SystemTime) -> Result<Value, String> {
    let criterion = target_dir(root).join("criterion");
    let mut figures = serde_json::Map::new();
    let mut ids: Vec<String> = vec!["baseline_queue_pair".into()];
    for group in [
        "send_receive_pair",
        "register_kill",
        "trivial_syscall",
        "baseline_map_insert_remove",
        "baseline_map_lookup",
    ] {
        ids.extend(KERNEL_SIZES.iter().map(|n| format!("{group}/{n}")));
    }
    for id in ids {
        let path = criterion.join(&id).join("new").join("estimates.json");
        let value = match read_estimates(&path, since) {
            Ok(v) => v,
            Err(e) => json!({ "error": e }),
        };
        figures.insert(id, value);
    }
    Ok(Value::Object(figures))
}

fn read_estimates(path: &Path, since: SystemTime) -> Result<Value, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.modified().map_err(|e| e.to_string())? < since {
        return Err(format!(
            "{} is from an earlier run (the bench did not run)",
            path.display()
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let median = v["median"]["point_estimate"]
        .as_f64()
        .ok_or_else(|| format!("{}: no median", path.display()))?;
    let mean = v["mean"]["point_estimate"].as_f64().unwrap_or(f64::NAN);
    Ok(json!({ "median_ns": median, "mean_ns": mean }))
}

// ---- browser -----------------------------------------------------------------------------------

fn browser_bench(
    root: &Path,
    site: &Path,
    profile: Profile,
    out: &Path,
    artifacts: &Path,
) -> Result<Value, String> {
    tools::ensure_node_modules(root)?;
    let _ = std::fs::remove_file(out);
    let server = serve::start(site, "127.0.0.1:0")?;
    println!(
        "xtask bench: serving {} at {}",
        site.display(),
        server.url()
    );
    let result = e2e::run_node(
        root,
        &tools::e2e_dir(root).join("bench").join("bench.mjs"),
        &server.url(),
        artifacts,
        &[
            ("ORBITAL_BENCH_OUT", out.display().to_string()),
            ("ORBITAL_PROFILE", profile.name().to_string()),
        ],
    );
    server.stop();
    // A script that died half way still leaves what it measured.
    let text = std::fs::read_to_string(out).map_err(|e| {
        format!(
            "{} was not written ({e}){}",
            out.display(),
            result
                .as_ref()
                .err()
                .map_or(String::new(), |r| format!("; the script {r}"))
        )
    })?;
    let mut v: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", out.display()))?;
    if let Err(e) = result {
        v["script_error"] = json!(e);
    }
    Ok(v)
}

// ---- sizes -------------------------------------------------------------------------------------

struct Sizes {
    raw_bytes: Result<u64, String>,
    brotli_bytes: Result<u64, String>,
    brotli_note: &'static str,
    guests_raw_bytes: u64,
    /// The emoji face the app fetches while its renderer starts, outside the module (its .br).
    emoji_face_brotli_bytes: Result<u64, String>,
}

fn app_sizes(root: &Path, site: &Path, profile: Profile) -> Sizes {
    let wasm = site.join(format!("{}_bg.wasm", dist::APP));
    let raw = std::fs::read(&wasm).map_err(|e| format!("{}: {e}", wasm.display()));
    let br = PathBuf::from(format!("{}.br", wasm.display()));
    let (brotli_bytes, brotli_note) = match (&raw, std::fs::metadata(&br)) {
        (_, Ok(m)) => (Ok(m.len()), "the site's precompressed .br"),
        (Ok(bytes), Err(_)) => (
            brotli_size_cached(root, &wasm, bytes, profile),
            "brotli q11 by the bench",
        ),
        (Err(e), Err(_)) => (Err(e.clone()), ""),
    };
    let guests_raw_bytes = std::fs::read_dir(site.join("guests"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.path().extension().is_some_and(|x| x == "wasm"))
                .filter_map(|e| e.metadata().ok().map(|m| m.len()))
                .sum()
        })
        .unwrap_or(0);
    let face = site.join("assets/fonts/NotoEmoji-Regular.ttf.br");
    let emoji_face_brotli_bytes = std::fs::metadata(&face)
        .map(|m| m.len())
        .map_err(|e| format!("{}: {e}", face.display()));
    Sizes {
        raw_bytes: raw.map(|b| b.len() as u64),
        brotli_bytes,
        brotli_note,
        guests_raw_bytes,
        emoji_face_brotli_bytes,
    }
}

/// Brotli at quality 11 takes minutes on a big module; remember the size per (length, mtime).
fn brotli_size_cached(
    root: &Path,
    wasm: &Path,
    bytes: &[u8],
    profile: Profile,
) -> Result<u64, String> {
    let mtime = std::fs::metadata(wasm)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let key = format!("{}:{mtime}", bytes.len());
    let cache = target_dir(root).join("bench").join("brotli-cache.json");
    let mut known: Value = std::fs::read_to_string(&cache)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(json!({}));
    if let Some(size) = known.get(&key).and_then(Value::as_u64) {
        return Ok(size);
    }
    println!(
        "xtask bench: compressing the {} app module with brotli (quality 11) to size it",
        profile.name()
    );
    let size = dist::brotli_compress(bytes, 11)?.len() as u64;
    known[key] = json!(size);
    let _ = std::fs::write(&cache, known.to_string());
    Ok(size)
}

// ---- the table ---------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Pass,
    Miss,
    /// No target for this figure.
    Info,
    /// Could not be measured.
    NotMeasured,
}

impl Verdict {
    fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Miss => "MISS",
            Verdict::Info => "-",
            Verdict::NotMeasured => "n/a",
        }
    }
}

/// A figure's target, checked against the project's number or the ratio.
#[derive(Clone, Copy, Debug)]
enum Target {
    None,
    /// project / baseline at most this.
    RatioAtMost(f64),
    /// project / baseline at least this.
    RatioAtLeast(f64),
    /// The project's number (in the row's unit) below this.
    Below(f64),
    /// The project's number at most this (a ratio the row itself measured, e.g. paired windows').
    AtMost(f64),
    /// The project's number at least this.
    AtLeast(f64),
}

impl Target {
    fn text(self, unit: &str) -> String {
        match self {
            Target::None => "-".into(),
            Target::RatioAtMost(r) => format!("ratio <= {r}"),
            Target::RatioAtLeast(r) => format!("ratio >= {r}"),
            Target::Below(v) => format!("< {} {unit}", fmt_num(v)),
            Target::AtMost(v) => format!("<= {} {unit}", fmt_num(v)),
            Target::AtLeast(v) => format!(">= {} {unit}", fmt_num(v)),
        }
    }
}

struct Row {
    figure: String,
    unit: String,
    project: Result<f64, String>,
    baseline: Option<Result<f64, String>>,
    baseline_label: String,
    target: Target,
}

impl Row {
    fn ratio(&self) -> Option<f64> {
        match (&self.project, &self.baseline) {
            (Ok(p), Some(Ok(b))) if *b != 0.0 => Some(p / b),
            _ => None,
        }
    }

    fn verdict(&self) -> Verdict {
        let Ok(p) = self.project else {
            return Verdict::NotMeasured;
        };
        let ok = match self.target {
            Target::None => return Verdict::Info,
            Target::Below(limit) => p < limit,
            Target::AtMost(limit) => p <= limit,
            Target::AtLeast(limit) => p >= limit,
            Target::RatioAtMost(r) => match self.ratio() {
                Some(x) => x <= r,
                None => return Verdict::NotMeasured,
            },
            Target::RatioAtLeast(r) => match self.ratio() {
                Some(x) => x >= r,
                None => return Verdict::NotMeasured,
            },
        };
        if ok { Verdict::Pass } else { Verdict::Miss }
    }

    /// Why a number is missing (project first, then baseline).
    fn why(&self) -> Option<String> {
        if let Err(e) = &self.project {
            return Some(e.clone());
        }
        if let Some(Err(e)) = &self.baseline {
            return Some(format!("baseline: {e}"));
        }
        None
    }

    fn to_json(&self) -> Value {
        json!({
            "figure": self.figure,
            "unit": self.unit,
            "project": self.project.as_ref().ok(),
            "baseline": self.baseline.as_ref().and_then(|b| b.as_ref().ok()),
            "baseline_is": self.baseline_label,
            "ratio": self.ratio(),
            "target": self.target.text(&self.unit),
            "verdict": self.verdict().label(),
            "why_not_measured": self.why(),
        })
    }
}

fn fmt_num(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 1000.0 {
        // Thousands separated for readability.
        let s = format!("{:.0}", v);
        let (sign, digits) = s.strip_prefix('-').map_or(("", s.as_str()), |d| ("-", d));
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        format!("{sign}{out}")
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// `v` as [`fmt_num`] prints it, with as many more decimals (up to six) as it takes to tell it
/// from `limit` when the two would print alike: a row that misses its target by less than the
/// rounding must not print the target's own number beside MISS.
fn fmt_beside(v: f64, limit: Option<f64>) -> String {
    let plain = fmt_num(v);
    let Some(limit) = limit.filter(|l| *l != v && fmt_num(*l) == plain) else {
        return plain;
    };
    let shown = plain.split('.').nth(1).map_or(0, str::len);
    (shown + 1..=6)
        .map(|decimals| (format!("{v:.decimals$}"), format!("{limit:.decimals$}")))
        .find(|(a, b)| a != b)
        .map_or(plain, |(a, _)| a)
}

impl Target {
    /// The bound the project's own number is compared with, if the target is on that number.
    fn on_project(self) -> Option<f64> {
        match self {
            Target::Below(l) | Target::AtMost(l) | Target::AtLeast(l) => Some(l),
            _ => None,
        }
    }

    /// The bound the ratio is compared with, if the target is on the ratio.
    fn on_ratio(self) -> Option<f64> {
        match self {
            Target::RatioAtMost(r) | Target::RatioAtLeast(r) => Some(r),
            _ => None,
        }
    }
}

fn render_table(rows: &[Row]) -> String {
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            let project = match &r.project {
                Ok(v) => format!("{} {}", fmt_beside(*v, r.target.on_project()), r.unit),
                Err(_) => "not measured".into(),
            };
            let baseline = match &r.baseline {
                None => "-".into(),
                Some(Ok(v)) => format!("{} {} ({})", fmt_num(*v), r.unit, r.baseline_label),
                Some(Err(_)) => format!("not measured ({})", r.baseline_label),
            };
            let ratio = r.ratio().map_or("-".into(), |x| {
                let plain = format!("{x:.2}");
                let close = r
                    .target
                    .on_ratio()
                    .filter(|l| *l != x && format!("{l:.2}") == plain);
                match close {
                    Some(l) => format!("{}x", fmt_beside(x, Some(l))),
                    None => format!("{plain}x"),
                }
            });
            [
                r.figure.clone(),
                project,
                baseline,
                ratio,
                r.target.text(&r.unit),
                r.verdict().label().into(),
            ]
        })
        .collect();
    let headers = [
        "figure",
        "project",
        "baseline (same run)",
        "ratio",
        "target",
        "verdict",
    ];
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cols: &[String]| {
        let mut s = String::new();
        for (i, (c, w)) in cols.iter().zip(&widths).enumerate() {
            if i > 0 {
                s.push_str(" | ");
            }
            let _ = write!(s, "{c:<w$}");
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(&mut out, &headers.map(String::from));
    line(
        &mut out,
        &widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>(),
    );
    for (row, r) in cells.iter().zip(rows) {
        line(&mut out, row);
        if let Some(why) = r.why() {
            let _ = writeln!(out, "    ^ not measured: {why}");
        }
    }
    out
}

/// `v[a][b]..` as f64, or the nearest `error` on the path as the reason.
fn get(v: Result<&Value, &String>, path: &[&str]) -> Result<f64, String> {
    let mut cur = v.map_err(|e| e.clone())?;
    for key in path {
        if let Some(e) = cur.get("error").and_then(Value::as_str) {
            return Err(e.to_string());
        }
        cur = cur
            .get(*key)
            .ok_or_else(|| format!("no `{}` in the results", path.join(".")))?;
    }
    if let Some(e) = cur.get("error").and_then(Value::as_str) {
        return Err(e.to_string());
    }
    cur.as_f64()
        .ok_or_else(|| format!("`{}` is not a number", path.join(".")))
}

/// A figure without a baseline, checked against its own target (a ratio the row measured
/// itself, such as the median of paired windows, or an absolute bound).
fn solo(figure: &str, unit: &str, project: Result<f64, String>, target: Target) -> Row {
    Row {
        figure: figure.into(),
        unit: unit.into(),
        project,
        baseline_label: String::new(),
        baseline: None,
        target,
    }
}

fn rows(
    kernel: Result<&Value, &String>,
    browser: Result<&Value, &String>,
    sizes: &Sizes,
) -> Vec<Row> {
    let b = |path: &[&str]| get(browser, path);
    let row = |figure: &str,
               unit: &str,
               project: Result<f64, String>,
               baseline: Option<(Result<f64, String>, &str)>,
               target: Target| Row {
        figure: figure.into(),
        unit: unit.into(),
        project,
        baseline_label: baseline
            .as_ref()
            .map_or(String::new(), |(_, l)| l.to_string()),
        baseline: baseline.map(|(v, _)| v),
        target,
    };
    // The empty frame's frames/s: the mean of the one measured right before the crowd and the
    // one right after it (so a drift of the machine's pace during the crowd falls on the
    // baseline too), or the one that was measured.
    let empty = match (
        b(&["crowd", "empty_before", "fps"]),
        b(&["after_kill", "fps"]),
    ) {
        (Ok(x), Ok(y)) => (
            Ok((x + y) / 2.0),
            "empty frame at full resolution, before and after the crowd",
        ),
        (Err(_), Ok(y)) => (Ok(y), "empty: after killing everything"),
        (Ok(x), Err(_)) => (Ok(x), "empty: before the crowd"),
        (Err(e), Err(_)) => (Err(e), "empty frame"),
    };
    let empty_fps = || empty.clone();
    // A ratio measured pair by pair (alternating windows), with its own target.
    let paired =
        |figure: &str, ratio: Result<f64, String>, target: Target| solo(figure, "x", ratio, target);
    let mib = |r: &Result<u64, String>| r.clone().map(|v| v as f64 / (1024.0 * 1024.0));
    let mb = |r: Result<f64, String>| r.map(|v| v / (1024.0 * 1024.0));
    // A SEND to a blocked receiver wakes two workers: the sender (its answer) and the receiver.
    let raw_two = "raw worker<->main Atomics, waking a second worker";
    let raw_gapped = "raw Atomics, 1 ms parks";
    // The app's update per frame (`stat` of the timing at `at`) against the empty page's.
    let crowd_update = |figure: &str, at: &[&str], stat: &str| {
        row(
            figure,
            "ms",
            b(&[at, &["update", stat]].concat()),
            Some((
                b(&["after_kill", "update", stat]),
                "empty: after killing everything",
            )),
            Target::Below(8.0),
        )
    };
    // A sender burst's scheduler statistics (`key`, ms) against the raw bursts'.
    let sched_row = |figure: &str, key: &str| {
        row(
            figure,
            "ms",
            b(&["back_to_back", "sched", "burst", key]),
            Some((b(&["back_to_back", "sched", "raw", key]), "the raw burst's")),
            Target::None,
        )
    };
    let mut rows = vec![
        row(
            "syscall round trip, idle's YIELD (1 ms parks), median",
            "us",
            b(&["syscall_round_trip", "median_us"]),
            Some((b(&["raw_round_trip_1ms_gaps", "median_us"]), raw_gapped)),
            Target::RatioAtMost(2.0),
        ),
        row(
            "syscall round trip, idle's YIELD (1 ms parks), p99",
            "us",
            b(&["syscall_round_trip", "p99_us"]),
            Some((b(&["raw_round_trip_1ms_gaps", "p99_us"]), raw_gapped)),
            Target::RatioAtMost(2.0),
        ),
        // The sender's bursts and their raw baseline in alternating pairs: the medians over
        // the pairs, then the median of each pair's own ratio, which carries the verdict.
        row(
            "syscall round trip, sender's burst of 1000 SENDs, median",
            "us",
            b(&["back_to_back", "syscall_round_trip", "median_us"]),
            Some((b(&["back_to_back", "raw", "median_us"]), raw_two)),
            Target::None,
        ),
        paired(
            "  each pair's own ratio, median of the pairs",
            b(&["back_to_back", "paired", "median", "median"]),
            Target::AtMost(2.0),
        ),
        row(
            "syscall round trip, sender's burst of 1000 SENDs, p99",
            "us",
            b(&["back_to_back", "syscall_round_trip", "p99_us"]),
            Some((b(&["back_to_back", "raw", "p99_us"]), raw_two)),
            Target::None,
        ),
        paired(
            "  each pair's own ratio, median of the pairs",
            b(&["back_to_back", "paired", "p99", "median"]),
            Target::AtMost(4.0),
        ),
        // Where a burst's slow round trips go: the threads' time runnable but waiting for a CPU
        // (Linux's per-thread schedstat, medians over the bursts, against the raw bursts').
        sched_row(
            "  a burst: the page's workers waiting for a CPU (schedstat)",
            "workers_wait",
        ),
        sched_row("  a burst: the page's workers on a CPU", "workers_run"),
        sched_row(
            "  a burst: the page's main thread waiting for a CPU",
            "main_wait",
        ),
        sched_row("  a burst: the GPU process on a CPU", "gpu_run"),
        row(
            "pingpong round trips (one pair)",
            "/s",
            b(&["pingpong", "round_trips_per_sec"]),
            Some((
                b(&["raw_relay", "round_trips_per_sec"]),
                "raw two-worker Atomics relay",
            )),
            Target::RatioAtLeast(0.5),
        ),
        row(
            "  raw relay through the main thread (waitAsync; no wasm, no kernel)",
            "/s",
            b(&["pingpong", "relay_via_main", "round_trips_per_sec"]),
            Some((
                b(&["raw_relay", "round_trips_per_sec"]),
                "raw two-worker Atomics relay",
            )),
            Target::None,
        ),
        row(
            "  pingpong against that main-thread floor (alternating windows)",
            "/s",
            b(&["pingpong", "round_trips_per_sec"]),
            Some((
                b(&["pingpong", "relay_via_main", "round_trips_per_sec"]),
                "raw relay through the main thread",
            )),
            Target::None,
        ),
        paired(
            "    each pair of windows' own ratio, median of the pairs",
            b(&["pingpong", "paired", "median"]),
            Target::AtLeast(0.8),
        ),
        // Where a hop goes on the main thread (CPU profiles of the pair and of a relay window).
        row(
            "    main thread busy per hop (CPU profile)",
            "us",
            b(&["pingpong", "profile", "busy_us_per_hop"]),
            Some((
                b(&["pingpong", "relay_profile", "busy_us_per_hop"]),
                "the relay through the main thread",
            )),
            Target::None,
        ),
        row(
            "    of which waking the worker (Atomics.notify)",
            "us",
            b(&["pingpong", "profile", "notify_us_per_hop"]),
            None,
            Target::None,
        ),
        row(
            "syscalls/s, 64 busy processes (crowd, guests at full speed)",
            "/s",
            b(&["crowd", "syscalls_per_sec"]),
            None,
            Target::None,
        ),
        crowd_update(
            "app update per frame, crowd, median",
            &["crowd"],
            "median_ms",
        ),
        crowd_update("app update per frame, crowd, p95", &["crowd"], "p95_ms"),
        // The floor of the p95 on this machine: fixed work of the median's size, timed the
        // same way in the same state (bench.mjs, fixedWorkTiming).
        row(
            "  a fixed JS loop as long as that median, timed each frame right after, p95",
            "ms",
            b(&["crowd", "fixed_work", "p95_ms"]),
            Some((
                b(&["crowd", "fixed_work", "fastest_ms"]),
                "the same loop's fastest run",
            )),
            Target::None,
        ),
        row(
            "  the same loop on the empty page (no guest running), p95",
            "ms",
            b(&["after_kill", "fixed_work", "p95_ms"]),
            Some((
                b(&["after_kill", "fixed_work", "fastest_ms"]),
                "the same loop's fastest run",
            )),
            Target::None,
        ),
        crowd_update(
            "  the same with the guests paced (as shown on SwiftShader), median",
            &["crowd", "paced"],
            "median_ms",
        ),
        crowd_update(
            "  the same with the guests paced, p95",
            &["crowd", "paced"],
            "p95_ms",
        ),
        row(
            "spawn to first syscall, median of 8",
            "ms",
            b(&["spawn", "median_ms"]),
            Some((b(&["raw_spawn", "median_ms"]), "raw worker + empty module")),
            Target::Below(20.0),
        ),
        row(
            "  worker.js + empty guest, no kernel, median",
            "ms",
            b(&["shim_spawn", "median_ms"]),
            Some((b(&["raw_spawn", "median_ms"]), "raw worker + empty module")),
            Target::None,
        ),
        row(
            "64 spawns in a row, total",
            "ms",
            b(&["spawn", "row64_total_ms"]),
            Some((b(&["raw_spawn", "row64_total_ms"]), "64 raw workers")),
            Target::None,
        ),
        row(
            "64 spawns in a row, median spawn to first syscall",
            "ms",
            b(&["spawn", "row64_median_ms"]),
            Some((b(&["raw_spawn", "row64_median_ms"]), "64 raw workers")),
            Target::Below(20.0),
        ),
        // As a person sees them: on this software renderer the guests are paced (at most
        // `default.syscall_ceiling` syscalls/s, render_quality.rs); then flat out.
        row(
            "frames/s, default scenario (SwiftShader, as shown: guests paced, auto resolution)",
            "fps",
            b(&["default", "fps"]),
            Some(empty_fps()),
            Target::RatioAtLeast(0.9),
        ),
        row(
            "  the same, guests at full speed (ceiling lifted)",
            "fps",
            b(&["default", "full_speed", "fps"]),
            Some(empty_fps()),
            Target::None,
        ),
        row(
            "frames/s, crowd (SwiftShader, as shown: guests paced, auto resolution)",
            "fps",
            b(&["crowd", "paced", "fps"]),
            Some(empty_fps()),
            Target::RatioAtLeast(0.8),
        ),
        row(
            "  the same, guests at full speed (ceiling lifted)",
            "fps",
            b(&["crowd", "fps"]),
            Some(empty_fps()),
            Target::None,
        ),
        // Where the frame goes: the same scenes paused (the guests wait; only drawing is left),
        // draw calls per frame, and the empty frame at a quarter of the pixels.
        row(
            "  default scenario paused (drawing alone)",
            "fps",
            b(&["default", "paused", "fps"]),
            Some(empty_fps()),
            Target::RatioAtLeast(0.9),
        ),
        row(
            "  crowd paused (drawing alone)",
            "fps",
            b(&["crowd", "paused", "fps"]),
            Some(empty_fps()),
            Target::RatioAtLeast(0.8),
        ),
        // The auto resolution (web/render_scale.js: 3/4 of the pixels across and down on a
        // software renderer) against the same drawing at full resolution.
        row(
            "  crowd paused, drawn at full resolution (auto's gain: paused / this)",
            "fps",
            b(&["crowd", "paused_full", "fps"]),
            Some(empty_fps()),
            Target::None,
        ),
        row(
            "  empty frame as shown (auto resolution)",
            "fps",
            b(&["after_kill", "shown", "fps"]),
            Some((b(&["after_kill", "fps"]), "the same at full resolution")),
            Target::None,
        ),
        row(
            "  WebGL draw calls per frame, crowd",
            "",
            b(&["crowd", "draws_per_frame"]),
            Some((
                b(&["after_kill", "draws_per_frame"]),
                "empty: after killing everything",
            )),
            Target::None,
        ),
        row(
            "  empty frame at 640x400 (a quarter of the pixels)",
            "fps",
            b(&["after_kill", "quarter_pixels", "fps"]),
            Some((b(&["after_kill", "fps"]), "the same at 1280x800")),
            Target::None,
        ),
        row(
            "  empty frame right before the crowd",
            "fps",
            b(&["crowd", "empty_before", "fps"]),
            Some((
                b(&["after_kill", "fps"]),
                "the same right after it (the machine's drift)",
            )),
            Target::None,
        ),
        row(
            "navigation to first frame, median of fresh loads",
            "ms",
            b(&["first_frame_loads", "median_first_frame_ms"]),
            Some((
                b(&["first_frame_loads", "median_load_event_ms"]),
                "page load event, median of the same loads",
            )),
            Target::Below(1000.0),
        ),
        // The start-up floor (src/bin/bevy_floor.rs: Bevy and egui as the app sets them up,
        // nothing of the playground), loaded in the same fresh contexts, paired with the app's.
        row(
            "  the app against the start-up floor (paired fresh loads)",
            "ms",
            b(&["first_frame_loads", "median_first_frame_ms"]),
            Some((
                b(&["first_frame_loads", "floor", "median_first_frame_ms"]),
                "the floor: Bevy + egui as set up here, no playground",
            )),
            Target::None,
        ),
        paired(
            "    each pair's own ratio, median of the pairs",
            b(&["first_frame_loads", "floor", "paired", "median"]),
            Target::None,
        ),
        solo(
            "    the floor itself against the first frame's target",
            "ms",
            b(&["first_frame_loads", "floor", "median_first_frame_ms"]),
            Target::Below(1000.0),
        ),
        row(
            "  the run's first load (a new browser)",
            "ms",
            b(&["first_frame", "navigation_to_first_frame_ms"]),
            Some((
                b(&["first_frame", "navigation_to_load_event_ms"]),
                "page load event",
            )),
            Target::None,
        ),
        row(
            "app .wasm raw",
            "MiB",
            mib(&sizes.raw_bytes),
            None,
            Target::None,
        ),
        row(
            &format!("app .wasm brotli ({})", sizes.brotli_note),
            "MiB",
            mib(&sizes.brotli_bytes),
            None,
            Target::Below(3.5),
        ),
        row(
            "emoji face brotli (fetched while the renderer starts)",
            "KiB",
            sizes
                .emoji_face_brotli_bytes
                .clone()
                .map(|b| b as f64 / 1024.0),
            None,
            Target::None,
        ),
        row(
            "guest .wasm total raw (10 programs)",
            "KiB",
            Ok(sizes.guests_raw_bytes as f64 / 1024.0),
            None,
            Target::None,
        ),
    ];
    let k = |id: &str| get(kernel, &[id, "median_ns"]);
    for n in KERNEL_SIZES {
        rows.push(row(
            &format!("kernel send+receive pair, {n} procs"),
            "ns",
            k(&format!("send_receive_pair/{n}")),
            Some((k("baseline_queue_pair"), "VecDeque push+pop 32 B")),
            Target::Below(SEND_RECEIVE_TARGET_NS),
        ));
    }
    for n in KERNEL_SIZES {
        rows.push(row(
            &format!("kernel register+kill, {n} procs"),
            "ns",
            k(&format!("register_kill/{n}")),
            Some((
                k(&format!("baseline_map_insert_remove/{n}")),
                "BTreeMap insert+remove",
            )),
            Target::None,
        ));
    }
    for n in KERNEL_SIZES {
        rows.push(row(
            &format!("kernel trivial syscall (GET_PID), {n} procs"),
            "ns",
            k(&format!("trivial_syscall/{n}")),
            Some((
                k(&format!("baseline_map_lookup/{n}")),
                "BTreeMap lookup+count",
            )),
            Target::None,
        ));
    }
    let memory_rows: [(&str, &[&str], &str); 3] = [
        ("page JS heap", &["memory", "page_js_heap_bytes"], "MiB"),
        (
            "renderer private memory (page + all workers)",
            &["memory", "renderer_private_bytes"],
            "MiB",
        ),
        (
            "guest linear memory (kernel accounting)",
            &["memory", "guest_memory_bytes"],
            "MiB",
        ),
    ];
    for (name, path, unit) in memory_rows {
        let mut crowd = vec!["crowd"];
        crowd.extend_from_slice(path);
        let mut after = vec!["after_kill"];
        after.extend_from_slice(path);
        rows.push(row(
            &format!("{name}, crowd vs after killing all"),
            unit,
            mb(b(&crowd)),
            Some((mb(b(&after)), "after killing everything")),
            Target::None,
        ));
    }
    rows
}

/// Scale (crowd-256 natively, the browser's spawn ceiling) and the recording's overhead.
fn scale_rows(
    native: Result<&Value, &String>,
    recording: Result<&Value, &String>,
    browser: Result<&Value, &String>,
) -> Vec<Row> {
    let row = |figure: &str,
               unit: &str,
               project: Result<f64, String>,
               baseline: (Result<f64, String>, &str),
               target: Target| Row {
        figure: figure.into(),
        unit: unit.into(),
        project,
        baseline_label: baseline.1.to_string(),
        baseline: Some(baseline.0),
        target,
    };
    // A figure with recording on against off, then its cost as the median of the paired
    // windows (the statistic the alternating runs were built for), which carries the verdict.
    let on_off = |figure: &str,
                  unit: &str,
                  (on, off): (Result<f64, String>, Result<f64, String>),
                  off_label: &str,
                  (cost_figure, cost): (&str, Result<f64, String>)| {
        [
            row(figure, unit, on, (off, off_label), Target::None),
            solo(cost_figure, "x", cost, Target::Below(1.05)),
        ]
    };
    let big = bench_native::crowd(native, "crowd-256");
    let small = bench_native::crowd(native, "crowd");
    let field = |c: &Result<&Value, String>, key: &str| {
        c.as_ref()
            .map_err(|e| e.clone())
            .and_then(|c| c[key].as_f64().ok_or_else(|| format!("no `{key}`")))
    };
    let kib = |r: Result<f64, String>| r.map(|v| v / 1024.0);
    let crowd64 = "64-process crowd, same run";
    let b = |path: &[&str]| get(browser, path);
    let r = |path: &[&str]| get(recording, path);
    let n = |path: &[&str]| get(native, path);
    let mut rows = vec![
        row(
            "crowd-256 (native, headless): processes running",
            "",
            field(&big, "processes"),
            (field(&small, "processes"), crowd64),
            Target::None,
        ),
        row(
            "  spawn, load to all running, total",
            "ms",
            field(&big, "spawn_ms"),
            (field(&small, "spawn_ms"), crowd64),
            Target::None,
        ),
        row(
            "  spawn, per process",
            "ms",
            bench_native::per(&big, "spawn_ms", "spawned"),
            (bench_native::per(&small, "spawn_ms", "spawned"), crowd64),
            Target::None,
        ),
        row(
            "  app update per frame, median (test profile)",
            "ms",
            field(&big, "update_median_ms"),
            (field(&small, "update_median_ms"), crowd64),
            Target::Below(8.0),
        ),
        row(
            "  app update per frame, p95 (test profile)",
            "ms",
            field(&big, "update_p95_ms"),
            (field(&small, "update_p95_ms"), crowd64),
            Target::Below(8.0),
        ),
        row(
            "  guest linear memory per process (kernel accounting)",
            "KiB",
            kib(bench_native::per(&big, "guest_memory_bytes", "processes")),
            (
                kib(bench_native::per(&small, "guest_memory_bytes", "processes")),
                crowd64,
            ),
            Target::None,
        ),
        row(
            "  resident memory per spawned process (RSS growth)",
            "KiB",
            kib(bench_native::per(&big, "resident_delta_bytes", "spawned")),
            (
                kib(bench_native::per(&small, "resident_delta_bytes", "spawned")),
                crowd64,
            ),
            Target::None,
        ),
        row(
            "  messages/s",
            "/s",
            field(&big, "messages_per_sec"),
            (field(&small, "messages_per_sec"), crowd64),
            Target::None,
        ),
        row(
            "browser: guests a tab holds (playground limit, next spawn refused)",
            "",
            b(&["ceiling", "limited", "live_guests"]),
            (
                b(&["ceiling", "platform", "live_guests"]),
                "browser's own ceiling: limit lifted, spawned until a memory failed",
            ),
            Target::RatioAtMost(1.0),
        ),
        row(
            "  guests that failed to start under the limit (Zombies)",
            "",
            b(&["ceiling", "limited", "failed_to_start"]),
            (
                b(&["ceiling", "platform", "failed_to_start"]),
                "with the limit lifted",
            ),
            Target::Below(1.0),
        ),
    ];
    // Time travel: recording on vs off (the on and off medians, then the median of the pairs),
    // seeks, sizes.
    // Pingpong with recording on and off: the two medians, and the cost from the median of the
    // paired windows (on over off, in round trips a second).
    type Figure = Result<f64, String>;
    let pingpong = |figure: &str, (on, off, on_over_off): (Figure, Figure, Figure)| {
        on_off(
            figure,
            "/s",
            (on, off),
            "recording off, alternating windows",
            (
                "  its cost: time per round trip on/off, median of the paired windows",
                on_over_off.map(|r| 1.0 / r),
            ),
        )
    };
    // Those three figures at `at` in the browser results.
    let browser_pingpong = |at: &[&str]| {
        let key = |last: &str| b(&[at, &[last]].concat());
        (key("on_median"), key("off_median"), key("on_over_off"))
    };
    // The servicing path alone at `at` in the time-travel bench's results.
    let servicing = |figure: &str, at: &[&str]| {
        let key = |last: &str| r(&[at, &[last]].concat());
        on_off(
            figure,
            "ns",
            (key("on_ns_per_syscall"), key("off_ns_per_syscall")),
            "recording off, interleaved runs",
            (
                "  its cost: on/off, median of the 80 paired runs",
                key("paired_ratio"),
            ),
        )
    };
    for pair in [
        pingpong(
            "recording on vs off: pingpong round trips (browser, ABBA windows)",
            browser_pingpong(&["recording_pingpong"]),
        ),
        // The same at 320x200, where SwiftShader's frames are short: a try at taking them out of
        // the windows (its windows vary as much; docs/BENCHMARKS.md).
        pingpong(
            "recording on vs off: pingpong round trips, page at 320x200 (short frames)",
            browser_pingpong(&["recording_pingpong", "small"]),
        ),
        on_off(
            "recording on vs off: crowd app update per frame (native, CPU time)",
            "ms",
            (
                n(&["recording", "on_update_cpu_ms"]),
                n(&["recording", "off_update_cpu_ms"]),
            ),
            "recording off, alternating windows",
            (
                "  its cost: on/off, median of the paired windows",
                n(&["recording", "update_ratio"]),
            ),
        ),
        on_off(
            "recording on vs off: crowd servicing thread per syscall (native)",
            "ns",
            (
                n(&["recording", "on_service_ns_per_syscall"]),
                n(&["recording", "off_service_ns_per_syscall"]),
            ),
            "recording off, alternating windows",
            (
                "  its cost: on/off, median of the paired windows",
                n(&["recording", "service_ratio"]),
            ),
        ),
        // Real guests, natively: the same pingpong, without the browser's frames in the windows.
        pingpong(
            "recording on vs off: pingpong round trips (native host, real guests, ABBA windows)",
            (
                r(&["pingpong", "on_per_sec"]),
                r(&["pingpong", "off_per_sec"]),
                r(&["pingpong", "paired_ratio"]),
            ),
        ),
    ] {
        rows.extend(pair);
    }
    // What recording can add to a pingpong round trip: its CPU per input on the servicing path
    // (the growing figure above) times the inputs a round trip records (counted natively),
    // against the round trip's time. The inputs are recorded on the path every message takes, so
    // this bounds the cost that the windows above are too noisy to show.
    rows.push(solo(
        "  recording's CPU per pingpong round trip, share of the round trip (native)",
        "%",
        r(&["pingpong", "recording_share"]).map(|x| x * 100.0),
        Target::Below(5.0),
    ));
    for pair in [
        servicing(
            "recording on vs off: servicing alone while it grows (scripted host, no guest work)",
            &[],
        ),
        servicing(
            "recording on vs off: servicing alone at its bound (folding; buffers reused)",
            &["bound"],
        ),
    ] {
        rows.extend(pair);
    }
    rows.extend([
        solo(
            "seek to a random input, 1,000,000-input recording (native), median",
            "ms",
            r(&["seek", "median_ms"]),
            Target::Below(50.0),
        ),
        solo(
            "  the same, slowest of 101 seeks",
            "ms",
            r(&["seek", "max_ms"]),
            Target::Below(50.0),
        ),
        solo(
            "seek to a random input after a minute of the crowd (browser), median",
            "ms",
            b(&["recording_seek", "median_ms"]),
            Target::Below(50.0),
        ),
        solo(
            "  the same, slowest of 41 seeks",
            "ms",
            b(&["recording_seek", "max_ms"]),
            Target::Below(50.0),
        ),
        row(
            "recorded input, memory per input (native mixed workload; inputs + snapshots)",
            "B",
            r(&["seek", "bytes_per_input"])
                .and_then(|i| r(&["seek", "snapshot_bytes_per_input"]).map(|s| i + s)),
            (r(&["seek", "bytes_per_input"]), "the encoded inputs alone"),
            Target::None,
        ),
        row(
            "recording file, first minute of the default scenario, brotli q9",
            "KiB",
            kib(b(&["recording_file", "brotli_bytes"])),
            (kib(b(&["recording_file", "raw_bytes"])), "raw"),
            Target::None,
        ),
        row(
            "  the same file, gzip -9",
            "KiB",
            kib(b(&["recording_file", "gzip_bytes"])),
            (kib(b(&["recording_file", "raw_bytes"])), "raw"),
            Target::None,
        ),
        solo(
            "  inputs recorded in that minute",
            "",
            b(&["recording_file", "inputs"]),
            Target::None,
        ),
        row(
            "  encoded inputs held by the page, per input",
            "B",
            b(&["recording_file", "held_bytes_per_input"]),
            (
                r(&["seek", "bytes_per_input"]),
                "native mixed workload, same encoding",
            ),
            Target::None,
        ),
    ]);
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_follow_targets() {
        let r = |p: f64, b: f64, target| Row {
            figure: "f".into(),
            unit: "us".into(),
            project: Ok(p),
            baseline: Some(Ok(b)),
            baseline_label: "raw".into(),
            target,
        };
        assert_eq!(
            r(30.0, 10.0, Target::RatioAtMost(2.0)).verdict(),
            Verdict::Miss
        );
        assert_eq!(
            r(20.0, 10.0, Target::RatioAtMost(2.0)).verdict(),
            Verdict::Pass
        );
        assert_eq!(
            r(4.0, 10.0, Target::RatioAtLeast(0.5)).verdict(),
            Verdict::Miss
        );
        assert_eq!(r(7.9, 1.0, Target::Below(8.0)).verdict(), Verdict::Pass);
        assert_eq!(r(8.0, 1.0, Target::Below(8.0)).verdict(), Verdict::Miss);
        assert_eq!(r(8.0, 1.0, Target::None).verdict(), Verdict::Info);
        // A ratio the row measured itself (the median of paired windows): the bound is inclusive.
        assert_eq!(r(2.0, 1.0, Target::AtMost(2.0)).verdict(), Verdict::Pass);
        assert_eq!(r(2.01, 1.0, Target::AtMost(2.0)).verdict(), Verdict::Miss);
        assert_eq!(r(0.8, 1.0, Target::AtLeast(0.8)).verdict(), Verdict::Pass);
        assert_eq!(r(0.46, 1.0, Target::AtLeast(0.8)).verdict(), Verdict::Miss);
        assert_eq!(Target::AtMost(2.0).text("x"), "<= 2.00 x");
        assert_eq!(Target::AtLeast(0.8).text("x"), ">= 0.80 x");
        let missing = Row {
            project: Err("no browser".into()),
            ..r(1.0, 1.0, Target::Below(2.0))
        };
        assert_eq!(missing.verdict(), Verdict::NotMeasured);
        assert_eq!(missing.why().as_deref(), Some("no browser"));
    }

    #[test]
    fn a_near_miss_does_not_print_the_target_s_own_number() {
        // Natively, pingpong with recording on measured 1.0503 against "< 1.05": MISS, which
        // printed as "1.05 x" beside "< 1.05 x".
        assert_eq!(fmt_beside(1.0503, Some(1.05)), "1.0503");
        assert_eq!(fmt_beside(1.0497, Some(1.05)), "1.0497");
        assert_eq!(fmt_beside(1.051, Some(1.05)), "1.051");
        // Far from the bound, or on it exactly, or with no bound: as before.
        assert_eq!(fmt_beside(1.07, Some(1.05)), "1.07");
        assert_eq!(fmt_beside(1.05, Some(1.05)), "1.05");
        assert_eq!(fmt_beside(7.994, None), "7.99");
        assert_eq!(fmt_beside(7.9951, Some(8.0)), "7.995");
        let row = |p: f64, b: f64, target| Row {
            figure: "f".into(),
            unit: "x".into(),
            project: Ok(p),
            baseline: Some(Ok(b)),
            baseline_label: "off".into(),
            target,
        };
        let table = render_table(&[row(1.0503, 1.0, Target::Below(1.05))]);
        assert!(table.contains("1.0503 x"), "{table}");
        assert!(table.contains("MISS"), "{table}");
        // A ratio target: the ratio column tells the two apart.
        let table = render_table(&[row(20.01, 10.0, Target::RatioAtMost(2.0))]);
        assert!(table.contains("2.001x"), "{table}");
        assert!(table.contains("MISS"), "{table}");
        let table = render_table(&[row(30.0, 10.0, Target::RatioAtMost(2.0))]);
        assert!(table.contains("3.00x"), "{table}");
    }

    #[test]
    fn missing_figures_carry_the_reason() {
        let v = json!({ "crowd": { "error": "picker not found" }, "pingpong": { "round_trips_per_sec": 12.5 } });
        assert_eq!(
            get(Ok(&v), &["crowd", "update", "median_ms"]),
            Err("picker not found".into())
        );
        assert_eq!(get(Ok(&v), &["pingpong", "round_trips_per_sec"]), Ok(12.5));
        assert!(
            get(Ok(&v), &["spawn", "median_ms"])
                .unwrap_err()
                .contains("spawn.median_ms")
        );
        let e = "browser failed".to_string();
        assert_eq!(get(Err(&e), &["x"]), Err(e.clone()));
        // Every row exists even when nothing was measured.
        let sizes = no_site();
        let mut rows = rows(Err(&e), Err(&e), &sizes);
        rows.extend(scale_rows(Err(&e), Err(&e), Err(&e)));
        assert!(rows.len() > 30);
        assert!(render_table(&rows).contains("not measured: browser failed"));
    }

    /// The sizes of a run with no site.
    fn no_site() -> Sizes {
        Sizes {
            raw_bytes: Err("no site".into()),
            brotli_bytes: Err("no site".into()),
            brotli_note: "",
            guests_raw_bytes: 0,
            emoji_face_brotli_bytes: Err("no site".into()),
        }
    }

    #[test]
    fn a_bursts_scheduler_statistics_are_rows_against_the_raw_bursts() {
        let sizes = no_site();
        let stats = |wait: f64| {
            serde_json::json!({
                "workers_wait": wait, "workers_run": 40.0, "main_wait": 70.0, "gpu_run": 300.0,
            })
        };
        let browser = serde_json::json!({ "back_to_back": { "sched": {
            "burst": stats(81.0), "raw": stats(36.0),
        } } });
        let e = "no kernel".to_string();
        let table = rows(Err(&e), Ok(&browser), &sizes);
        let waiting = table
            .iter()
            .find(|r| r.figure.contains("workers waiting for a CPU"))
            .unwrap();
        assert_eq!(waiting.project, Ok(81.0));
        assert_eq!(waiting.baseline, Some(Ok(36.0)));
        assert_eq!(waiting.verdict(), Verdict::Info);
        // Without /proc the bench says why, and the row says it too.
        let why = "no per-thread scheduler statistics here";
        let browser = serde_json::json!({ "back_to_back": { "sched": {
            "burst": { "error": why }, "raw": { "error": why },
        } } });
        let table = rows(Err(&e), Ok(&browser), &sizes);
        let gpu = table
            .iter()
            .find(|r| r.figure.contains("GPU process on a CPU"))
            .unwrap();
        assert_eq!(gpu.why().as_deref(), Some(why));
    }

    #[test]
    fn numbers_are_readable() {
        assert_eq!(fmt_num(1234567.0), "1,234,567");
        assert_eq!(fmt_num(123.4), "123");
        assert_eq!(fmt_num(12.34), "12.3");
        assert_eq!(fmt_num(1.234), "1.23");
    }
}
