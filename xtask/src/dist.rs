//! `cargo xtask dist`: builds the static site (app + wasm-bindgen glue, guest modules, web/ and
//! assets/) into one folder. Any static web server can host it, under any sub-path: every URL in
//! the site is relative, and `web/coi.js` turns on cross-origin isolation with a service worker
//! (one reload on the first visit) where the server sends no COOP/COEP headers. `--zip` also
//! writes the folder as one archive.
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::tools::{WASM_TARGET, cargo, ensure_wasm_target, npm_ci, run, target_dir};

/// The Cargo profile the app is built with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// What the end-to-end tests drive: optimised, no LTO, quick to rebuild.
    WebTest,
    /// The served site: fat LTO, precompressed with brotli (wasm-opt only on request).
    Release,
}

impl Profile {
    pub fn parse(s: &str) -> Result<Profile, String> {
        match s {
            "web-test" => Ok(Profile::WebTest),
            "release" => Ok(Profile::Release),
            other => Err(format!(
                "unknown profile `{other}`: use web-test or release"
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Profile::WebTest => "web-test",
            Profile::Release => "release",
        }
    }

    /// The folder the site goes to when `--out` is not given.
    pub fn default_out(self, root: &Path) -> PathBuf {
        match self {
            Profile::WebTest => target_dir(root).join("site-test"),
            Profile::Release => target_dir(root).join("site"),
        }
    }
}

pub struct Options {
    pub profile: Profile,
    pub out: PathBuf,
}

/// One file of the built site with its raw and (if precompressed) brotli size.
pub struct FileSize {
    pub name: String,
    pub raw_bytes: u64,
    pub brotli_bytes: Option<u64>,
}

pub struct Report {
    pub profile: Profile,
    pub out: PathBuf,
    pub steps: Vec<(String, f64)>,
    pub files: Vec<FileSize>,
}

impl Report {
    pub fn to_json(&self) -> String {
        let steps: Vec<String> = self
            .steps
            .iter()
            .map(|(n, s)| format!("{{\"step\":{n:?},\"secs\":{s:.1}}}"))
            .collect();
        let files: Vec<String> = self
            .files
            .iter()
            .map(|f| {
                let br = f.brotli_bytes.map_or("null".to_string(), |b| b.to_string());
                format!(
                    "{{\"file\":{:?},\"raw_bytes\":{},\"brotli_bytes\":{br}}}",
                    f.name, f.raw_bytes
                )
            })
            .collect();
        format!(
            "{{\"profile\":{:?},\"out\":{:?},\"steps\":[{}],\"files\":[{}]}}\n",
            self.profile.name(),
            self.out.display().to_string(),
            steps.join(","),
            files.join(",")
        )
    }

    pub fn print(&self) {
        println!("dist ({}) -> {}", self.profile.name(), self.out.display());
        for (step, secs) in &self.steps {
            println!("  {step:<28} {secs:>7.1} s");
        }
        for f in &self.files {
            match f.brotli_bytes {
                Some(b) => println!(
                    "  {:<28} {:>7.2} MiB raw, {:>6.2} MiB brotli",
                    f.name,
                    mib(f.raw_bytes),
                    mib(b)
                ),
                None => println!("  {:<28} {:>7.2} MiB raw", f.name, mib(f.raw_bytes)),
            }
        }
        let raw: u64 = self.files.iter().map(|f| f.raw_bytes).sum();
        let brotli: u64 = self.files.iter().filter_map(|f| f.brotli_bytes).sum();
        if brotli > 0 {
            println!(
                "  {:<28} {:>7.2} MiB in {} files, plus {:.2} MiB of .br copies (only `cargo xtask serve` uses them)",
                "the site",
                mib(raw),
                self.files.len(),
                mib(brotli)
            );
        } else {
            println!(
                "  {:<28} {:>7.2} MiB in {} files",
                "the site",
                mib(raw),
                self.files.len()
            );
        }
        println!("{}", static_hosting_note(&self.out));
    }
}

/// The start-up floor's module name (`src/bin/bevy_floor.rs`), in a site's `floor/` folder.
pub const FLOOR: &str = "bevy_floor";

/// The floor's page: what the app's page does before the app starts, and no more.
const FLOOR_PAGE: &str = include_str!("../floor/index.html");

/// Builds the start-up floor (`src/bin/bevy_floor.rs`: Bevy and egui as the app sets them up,
/// nothing of the playground) into `<site>/floor/` with the site's profile, for `cargo xtask
/// bench`'s first-frame baseline. The same package and profile as the app, so cargo reuses every
/// dependency the app's build compiled: only the floor's own link runs.
pub fn floor(root: &Path, profile: Profile, site: &Path) -> Result<PathBuf, String> {
    let t = Instant::now();
    run(cargo()
        .current_dir(root)
        .args([
            "build",
            "--profile",
            profile.name(),
            "--target",
            WASM_TARGET,
        ])
        .args(["-p", "orbital-playground", "--bin", FLOOR]))?;
    let wasm = target_dir(root)
        .join(WASM_TARGET)
        .join(profile.name())
        .join(format!("{FLOOR}.wasm"));
    let dir = site.join("floor");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let release = profile == Profile::Release;
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&wasm)
        .out_name(FLOOR)
        .web(true)
        .map_err(|e| format!("wasm-bindgen: {e:#}"))?
        .typescript(false)
        .remove_name_section(release)
        .remove_producers_section(release)
        .generate(&dir)
        .map_err(|e| format!("wasm-bindgen on {}: {e:#}", wasm.display()))?;
    std::fs::write(dir.join("index.html"), FLOOR_PAGE)
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    if release {
        precompress(&dir, 11)?;
    }
    println!(
        "xtask dist: start-up floor built into {} in {:.1} s",
        dir.display(),
        t.elapsed().as_secs_f64()
    );
    Ok(dir)
}

/// What `cargo xtask dist` tells the user about hosting the folder.
pub fn static_hosting_note(out: &Path) -> String {
    format!(
        "\n{} is a static site: copy it to any web server, also under a sub-path (https://host/some/path/).\n\
         No special headers needed: where the server sends no COOP/COEP, coi.js enables cross-origin isolation\n\
         with a service worker and the page reloads once on the first visit. It needs HTTPS or localhost\n\
         (`python3 -m http.server` in the folder, then http://localhost:8000/), not file://.\n\
         `cargo xtask serve` sends the headers itself and remains the first choice.",
        out.display()
    )
}

/// The archive `cargo xtask dist --zip` writes next to the folder: `<out>.zip`.
pub fn zip_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".zip");
    out.with_file_name(name)
}

/// The folder inside the archive.
pub const ZIP_FOLDER: &str = "orbital-playground";

/// Writes the built site at `out` as one archive (`<out>.zip`), its files under
/// `orbital-playground/`. The `.br` copies are left out: static hosts do not serve them.
pub fn zip_site(out: &Path) -> Result<(PathBuf, crate::zip::ZipReport), String> {
    let path = zip_path(out);
    let mut entries = Vec::new();
    for file in walk(out)? {
        if file.extension().is_some_and(|e| e == "br") {
            continue;
        }
        let data = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let modified = std::fs::metadata(&file)
            .and_then(|m| m.modified())
            .unwrap_or(std::time::SystemTime::now());
        let name = format!("{ZIP_FOLDER}/{}", relative(out, &file).replace('\\', "/"));
        entries.push(crate::zip::Entry {
            name,
            data,
            modified,
        });
    }
    let report = crate::zip::write(&path, entries)?;
    Ok((path, report))
}

pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// The app module's name in the site (`<APP>.js` and `<APP>_bg.wasm`).
pub const APP: &str = "orbital_playground";

pub fn dist(root: &Path, options: &Options) -> Result<Report, String> {
    let mut steps = Vec::new();
    let mut step = |name: &str, started: Instant| {
        let secs = started.elapsed().as_secs_f64();
        println!("xtask dist: {name} done in {secs:.1} s");
        steps.push((name.to_string(), secs));
    };

    ensure_wasm_target()?;

    let t = Instant::now();
    let guests_dir = crate::guests::build(root)?;
    step("build guests", t);

    let t = Instant::now();
    run(cargo()
        .current_dir(root)
        .args([
            "build",
            "--profile",
            options.profile.name(),
            "--target",
            WASM_TARGET,
        ])
        .args(["-p", "orbital-playground", "--bin", "orbital-playground"]))?;
    step("build app (cargo)", t);
    let app_wasm = target_dir(root)
        .join(WASM_TARGET)
        .join(options.profile.name())
        .join("orbital-playground.wasm");

    let out = &options.out;
    prepare_out_dir(out)?;

    let t = Instant::now();
    let release = options.profile == Profile::Release;
    // `ORBITAL_KEEP_NAMES=1` keeps function names in a release site, for profiling its start-up
    // and frames (the module is larger, so its own timings are not the served site's).
    let keep_names = std::env::var("ORBITAL_KEEP_NAMES").is_ok_and(|v| v == "1");
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&app_wasm)
        .out_name(APP)
        .web(true)
        .map_err(|e| format!("wasm-bindgen: {e:#}"))?
        .typescript(false)
        // The name section is a third of the module; release pages do without function names.
        .remove_name_section(release && !keep_names)
        .remove_producers_section(release)
        .generate(out)
        .map_err(|e| format!("wasm-bindgen on {}: {e:#}", app_wasm.display()))?;
    step("wasm-bindgen", t);

    let bg_wasm = out.join(format!("{APP}_bg.wasm"));
    check_no_command_exports(&bg_wasm)?;
    let level =
        std::env::var("ORBITAL_WASM_OPT_LEVEL").unwrap_or_else(|_| DEFAULT_WASM_OPT_LEVEL.into());
    if release && level != "none" {
        let t = Instant::now();
        shrink(root, &bg_wasm, &level)?;
        step(&format!("wasm-opt {level}"), t);
    }

    copy_dir(&root.join("web"), out)?;
    // The guest shim as one classic script (abi.js inlined): the page fetches it once and starts
    // every worker from a Blob URL of it, with no request per worker (see src/web/host.rs).
    let shim = bundle_worker(
        &read_text(&root.join("web/worker.js"))?,
        &read_text(&root.join("web/abi.js"))?,
    )?;
    std::fs::write(out.join("worker.js"), shim)
        .map_err(|e| format!("{}: {e}", out.join("worker.js").display()))?;
    copy_dir(&root.join("assets"), &out.join("assets"))?;
    // The emoji face is not in the app's module: the app fetches it while the renderer starts
    // (src/fonts.rs, EMOJI_FONT_URL), so the first frame waits for 0.26 MiB less.
    let fonts = out.join("assets/fonts");
    std::fs::create_dir_all(&fonts).map_err(|e| format!("{}: {e}", fonts.display()))?;
    std::fs::write(
        fonts.join("NotoEmoji-Regular.ttf"),
        epaint_default_fonts::NOTO_EMOJI_REGULAR,
    )
    .map_err(|e| format!("{}: {e}", fonts.display()))?;
    let guests_out = out.join("guests");
    std::fs::create_dir_all(&guests_out).map_err(|e| e.to_string())?;
    let mut guest_count = 0;
    for entry in read_dir(&guests_dir)? {
        if entry.extension().is_some_and(|e| e == "wasm") {
            copy_file(
                &entry,
                &guests_out.join(entry.file_name().unwrap_or_default()),
            )?;
            guest_count += 1;
        }
    }
    if guest_count == 0 {
        return Err(format!("no guest modules in {}", guests_dir.display()));
    }

    let t = Instant::now();
    // The test site is served from loopback only; compressing it would just slow CI down.
    let files = if release {
        precompress(out, 11)?
    } else {
        sizes(out)?
    };
    step(
        if release {
            "brotli (quality 11)"
        } else {
            "list files"
        },
        t,
    );

    let report = Report {
        profile: options.profile,
        out: out.clone(),
        steps,
        files,
    };
    let report_path = target_dir(root).join(format!("dist-{}.json", options.profile.name()));
    std::fs::write(&report_path, report.to_json())
        .map_err(|e| format!("{}: {e}", report_path.display()))?;
    Ok(report)
}

/// Empties the output folder, refusing to touch a non-empty folder that `dist` did not make.
fn prepare_out_dir(out: &Path) -> Result<(), String> {
    let marker = out.join(".orbital-dist");
    if out.exists() {
        let empty = std::fs::read_dir(out)
            .map_err(|e| e.to_string())?
            .next()
            .is_none();
        if !empty && !marker.exists() {
            return Err(format!(
                "{} exists and was not made by `cargo xtask dist`: choose another --out",
                out.display()
            ));
        }
        std::fs::remove_dir_all(out).map_err(|e| format!("cannot clear {}: {e}", out.display()))?;
    }
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    std::fs::write(&marker, "made by cargo xtask dist\n").map_err(|e| e.to_string())
}

/// wasm-ld wraps every export in a call to all static constructors when it takes a module for a
/// "command" (see build.rs). That made each call from JavaScript into the app re-run Bevy's 600
/// type-registration constructors on the release build: the syscall servicer ran about 3x slower.
/// The wrappers are named `<export>.command_export`; refuse a module that has any.
fn check_no_command_exports(wasm: &Path) -> Result<(), String> {
    let bytes = std::fs::read(wasm).map_err(|e| format!("{}: {e}", wasm.display()))?;
    if contains(&bytes, b"command_export") {
        return Err(format!(
            "{} has wasm-ld's command-export wrappers (every call into the app would re-run its \
             constructors): build.rs must export __wasm_call_ctors for wasm32",
            wasm.display()
        ));
    }
    Ok(())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Where binaryen's `wasm-opt` comes from: `$WASM_OPT`, or binaryen from npm in xtask/e2e.
/// (Debian's binaryen 108 corrupts wasm-bindgen's externref table; npm's 132 does not.)
fn find_wasm_opt(root: &Path) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("WASM_OPT") {
        return Some(PathBuf::from(path));
    }
    let npm = root.join("xtask/e2e/node_modules/.bin/wasm-opt");
    npm.is_file().then_some(npm)
}

/// Runs wasm-opt on the app module in place. The level is a measured trade-off (see README).
fn shrink(root: &Path, wasm: &Path, level: &str) -> Result<(), String> {
    let Some(wasm_opt) = find_wasm_opt(root).or_else(|| {
        println!("xtask: installing binaryen (wasm-opt) with `npm ci` in xtask/e2e");
        npm_ci(root).ok()?;
        find_wasm_opt(root)
    }) else {
        return Err(
            "wasm-opt not found: run `npm ci --prefix xtask/e2e` (needs Node.js and npm)".into(),
        );
    };
    let tmp = wasm.with_extension("opt.wasm");
    run(Command::new(&wasm_opt)
        .arg(level)
        .args(WASM_FEATURES)
        .arg(wasm)
        .arg("-o")
        .arg(&tmp))?;
    std::fs::rename(&tmp, wasm).map_err(|e| e.to_string())
}

/// No wasm-opt by default. Measured on this app's release build (binaryen 132 from npm): `-Os`
/// took 170 s and more and left the brotli file larger (4.56 MiB, against 4.50 MiB without it).
/// `ORBITAL_WASM_OPT_LEVEL=-Os` (or any other level) runs it.
pub const DEFAULT_WASM_OPT_LEVEL: &str = "none";
/// The features rustc (>= 1.87) and wasm-bindgen emit for wasm32-unknown-unknown.
const WASM_FEATURES: [&str; 6] = [
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-reference-types",
    "--enable-multivalue",
];

/// Writes `<file>.br` next to every compressible file and returns the sizes.
fn precompress(out: &Path, quality: i32) -> Result<Vec<FileSize>, String> {
    let mut files = Vec::new();
    for path in walk(out)? {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        let raw = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let brotli_bytes = if matches!(ext, "wasm" | "js" | "html" | "css" | "ron" | "json" | "ttf")
            && raw.len() > 1024
        {
            let compressed = brotli_compress(&raw, quality)?;
            let br_path = PathBuf::from(format!("{}.br", path.display()));
            std::fs::write(&br_path, &compressed).map_err(|e| e.to_string())?;
            Some(compressed.len() as u64)
        } else {
            None
        };
        files.push(FileSize {
            name: relative(out, &path),
            raw_bytes: raw.len() as u64,
            brotli_bytes,
        });
    }
    Ok(files)
}

pub fn brotli_compress(data: &[u8], quality: i32) -> Result<Vec<u8>, String> {
    let params = brotli::enc::BrotliEncoderParams {
        quality,
        lgwin: 24,
        ..Default::default()
    };
    let mut compressed = Vec::new();
    brotli::BrotliCompress(&mut &data[..], &mut compressed, &params)
        .map_err(|e| format!("brotli: {e}"))?;
    Ok(compressed)
}

fn sizes(out: &Path) -> Result<Vec<FileSize>, String> {
    walk(out)?
        .into_iter()
        .map(|p| {
            let raw_bytes = std::fs::metadata(&p).map_err(|e| e.to_string())?.len();
            Ok(FileSize {
                name: relative(out, &p),
                raw_bytes,
                brotli_bytes: None,
            })
        })
        .collect()
}

fn relative(base: &Path, path: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .display()
        .to_string()
}

fn read_dir(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    Ok(entries)
}

/// Every file under `dir`, recursively, skipping dot files.
fn walk(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for path in read_dir(dir)? {
        if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'))
        {
            continue;
        }
        if path.is_dir() {
            files.extend(walk(&path)?);
        } else {
            files.push(path);
        }
    }
    Ok(files)
}

fn read_text(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// `web/worker.js` (a module importing `./abi.js`) as one classic script: abi.js's
/// `export const` lines become plain `const`s ahead of the shim, and the shim's import goes.
/// A classic script starts from a Blob URL without fetching anything; it also still runs as a
/// module worker. Anything else that looks like a module statement is refused, not guessed at.
pub fn bundle_worker(worker_js: &str, abi_js: &str) -> Result<String, String> {
    let mut out = String::from(
        "// Built by `cargo xtask dist` from web/abi.js and web/worker.js (edit those): the guest shim as one\n\
         // classic script, so the page can start workers from a Blob URL of it.\n\
         \"use strict\";\n",
    );
    for (n, line) in abi_js.lines().enumerate() {
        if let Some(rest) = line.strip_prefix("export const ") {
            out.push_str("const ");
            out.push_str(rest);
        } else if line.trim_start().starts_with("export ")
            || line.trim_start().starts_with("import ")
        {
            return Err(format!(
                "web/abi.js:{}: only `export const` can be bundled: {line}",
                n + 1
            ));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    let mut imports = 0;
    for (n, line) in worker_js.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("import ") {
            if !trimmed.ends_with("from \"./abi.js\";") {
                return Err(format!(
                    "web/worker.js:{}: the shim may import only ./abi.js: {line}",
                    n + 1
                ));
            }
            imports += 1;
            out.push_str("// (import from ./abi.js: inlined above)");
        } else if trimmed.starts_with("export ") {
            return Err(format!(
                "web/worker.js:{}: the shim exports nothing: {line}",
                n + 1
            ));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    if imports != 1 {
        return Err(format!(
            "web/worker.js: expected one import from ./abi.js, found {imports}"
        ));
    }
    Ok(out)
}

fn copy_file(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("copy {} -> {}: {e}", from.display(), to.display()))
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    for file in walk(from)? {
        let dest = to.join(file.strip_prefix(from).map_err(|e| e.to_string())?);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        copy_file(&file, &dest)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_module_with_command_export_wrappers_is_refused() {
        let dir = std::env::temp_dir().join(format!("orbital-dist-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("bad.wasm");
        std::fs::write(
            &bad,
            b"\0asm\x01\0\0\0 main __wbindgen_malloc_command_export",
        )
        .unwrap();
        let err = check_no_command_exports(&bad).unwrap_err();
        assert!(err.contains("__wasm_call_ctors"), "{err}");
        let good = dir.join("good.wasm");
        std::fs::write(
            &good,
            b"\0asm\x01\0\0\0 main __wasm_call_ctors __wbindgen_malloc",
        )
        .unwrap();
        assert_eq!(check_no_command_exports(&good), Ok(()));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn brotli_round_trips() {
        let data = b"orbital ".repeat(1000);
        let compressed = brotli_compress(&data, 5).unwrap();
        assert!(compressed.len() < data.len() / 10);
        let mut back = Vec::new();
        brotli::BrotliDecompress(&mut &compressed[..], &mut back).unwrap();
        assert_eq!(back, data);
    }

    #[test]
    fn the_worker_bundle_is_one_classic_script_defining_what_the_shim_imports() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let worker = read_text(&root.join("web/worker.js")).unwrap();
        let bundle = bundle_worker(&worker, &read_text(&root.join("web/abi.js")).unwrap()).unwrap();
        for line in bundle.lines() {
            let t = line.trim_start();
            assert!(
                !t.starts_with("import ") && !t.starts_with("export "),
                "module syntax left in the bundle: {line}"
            );
        }
        let import = worker.lines().find(|l| l.starts_with("import ")).unwrap();
        let names = import.split('{').nth(1).unwrap().split('}').next().unwrap();
        for name in names.split(',').map(str::trim) {
            assert!(
                bundle.contains(&format!("const {name} = ")),
                "{name} is imported by the shim but not defined in the bundle"
            );
        }
        assert!(bundle.contains("self.onmessage"));
    }

    #[test]
    fn the_worker_bundle_refuses_what_it_cannot_inline() {
        assert!(
            bundle_worker(
                "import { A } from \"./other.js\";\n",
                "export const A = 1;\n"
            )
            .is_err()
        );
        assert!(
            bundle_worker(
                "import { A } from \"./abi.js\";\n",
                "export function f() {}\n"
            )
            .is_err()
        );
        assert!(bundle_worker("const a = 1;\n", "export const A = 1;\n").is_err());
        let ok = bundle_worker(
            "import { A } from \"./abi.js\";\nconsole.log(A);\n",
            "export const A = 1;\n",
        )
        .unwrap();
        assert!(ok.contains("const A = 1;") && ok.contains("console.log(A);"));
    }

    /// The site must work under a sub-path (https://host/some/path/): no root-absolute URL
    /// (`"/x"`, `'/x'`, `url(/x)`) in the page, its scripts and styles, or the app's web code;
    /// coi.js registers its worker with a scope relative to the page.
    #[test]
    fn the_site_uses_only_relative_urls() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let mut files = walk(&root.join("web")).unwrap();
        files.extend(walk(&root.join("src/web")).unwrap());
        let mut checked = 0;
        for file in files {
            let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("");
            if !matches!(ext, "html" | "js" | "css" | "rs") {
                continue;
            }
            let text = read_text(&file).unwrap();
            for (n, line) in text.lines().enumerate() {
                for start in ["\"/", "'/", "url(/"] {
                    for (i, _) in line.match_indices(start) {
                        let next = line[i + start.len()..].chars().next();
                        assert!(
                            next.is_none_or(|c| c == '/'
                                || c == '"'
                                || c == '\''
                                || c.is_whitespace()),
                            "{}:{}: a root-absolute URL breaks the site under a sub-path: {line}",
                            file.display(),
                            n + 1
                        );
                    }
                }
            }
            checked += 1;
        }
        assert!(checked >= 5, "only {checked} files checked");
        let coi = read_text(&root.join("web/coi.js")).unwrap();
        assert!(
            coi.contains("scope: \"./\""),
            "coi.js must register its worker with the page-relative scope ./"
        );
        let index = read_text(&root.join("web/index.html")).unwrap();
        assert!(
            index.contains("<script src=\"coi.js\"></script>"),
            "index.html must load coi.js before the app"
        );
    }

    #[test]
    fn the_zip_goes_next_to_the_folder() {
        assert_eq!(
            zip_path(Path::new("/x/target/site")),
            Path::new("/x/target/site.zip")
        );
    }

    #[test]
    fn refuses_to_clear_a_folder_it_did_not_make() {
        let dir = std::env::temp_dir().join(format!("xtask-dist-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("precious.txt"), "x").unwrap();
        assert!(prepare_out_dir(&dir).is_err());
        assert!(dir.join("precious.txt").exists());
        std::fs::remove_file(dir.join("precious.txt")).unwrap();
        prepare_out_dir(&dir).unwrap();
        std::fs::write(dir.join("old.js"), "x").unwrap();
        prepare_out_dir(&dir).unwrap();
        assert!(!dir.join("old.js").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
