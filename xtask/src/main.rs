//! `cargo xtask <command>`: the project's build, serve and test tasks, in Rust so they run the
//! same on every machine with nothing installed but Rust (and Node.js for the browser tests).
//!
//! - `guests`: build the guest programs to wasm32.
//! - `abi-js`: regenerate `web/abi.js` from the ABI crate.
//! - `dist [--profile web-test|release] [--out DIR] [--zip] [--floor]`: build the static site (for
//!   any static host, also under a sub-path); `--zip` also writes it as `<DIR>.zip`; `--floor`
//!   adds the start-up floor that `bench` times the first frame against, in `<DIR>/floor/`.
//! - `serve [--port N] [--profile ..]`: dist (release by default), then serve it with COOP/COEP.
//! - `test [--e2e-only] [--no-build]`: every test: cargo's, the desktop window, then the browser tests.
//! - `desktop [--no-build]`: the native app in a window under Xvfb: the boot set runs, a screenshot.
//! - `bench-web [--profile ..]`: browser benchmarks (syscall vs raw Atomics round trips, sizes, ...).
//! - `bench [--profile ..] [--no-build] [--skip-kernel] [--skip-browser] [--skip-native] [--site DIR]`: every benchmark,
//!   one table with a baseline per figure (target/bench/bench.json).
use std::path::PathBuf;
use std::process::ExitCode;

mod abi_js;
mod bench;
mod bench_native;
mod desktop;
mod dist;
mod e2e;
mod guests;
mod serve;
mod tools;
mod zip;

use tools::repo_root;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run_command(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: cargo xtask <command>
  guests                                   build the guest programs (wasm32)
  abi-js                                   regenerate web/abi.js from kernel/abi
  dist [--profile web-test|release] [--out DIR] [--zip] [--floor]
                                           build the static site (default: release into target/site)
                                           for any static web host; --zip also writes <DIR>.zip;
                                           --floor adds the start-up floor (bench) in <DIR>/floor/
  serve [--port N] [--profile P] [--out DIR] [--no-build]
                                           dist, then serve on http://127.0.0.1:N/ (default 8000)
  test [--e2e-only] [--no-build]           all tests: cargo test --workspace, the desktop window
                                           under Xvfb, then the browser tests
  desktop [--no-build]                     the native app under Xvfb until the boot set runs;
                                           screenshot in target/e2e/desktop.png
  bench-web [--profile P] [--no-build]     browser benchmarks; writes target/bench/web.json
  bench [--profile P] [--no-build] [--skip-kernel] [--skip-browser] [--skip-native] [--site DIR] [--report-only]
                                           every benchmark in one table (release unless --profile);
                                           writes target/bench/bench.json and table.txt";

fn run_command(args: &[String]) -> Result<(), String> {
    let root = repo_root();
    let Some(command) = args.first() else {
        return Err(format!("no command given\n{USAGE}"));
    };
    let mut flags = Flags::parse(&args[1..])?;
    match command.as_str() {
        "guests" => {
            let dir = guests::build(&root)?;
            println!("guests built in {}", dir.display());
            let wasi = guests::build_wasi_programs(&root)?;
            println!("C test programs (WASI) built in {}", wasi.display());
        }
        "abi-js" => {
            let changed = abi_js::write(&root)?;
            println!(
                "{} {}",
                abi_js::path(&root).display(),
                if changed {
                    "written"
                } else {
                    "already up to date"
                }
            );
        }
        "dist" => {
            let profile = flags.profile(dist::Profile::Release)?;
            let out = flags
                .take_value("--out")?
                .map(PathBuf::from)
                .unwrap_or_else(|| profile.default_out(&root));
            let zip = flags.take_switch("--zip");
            let floor = flags.take_switch("--floor");
            flags.finish()?;
            dist::dist(
                &root,
                &dist::Options {
                    profile,
                    out: out.clone(),
                },
            )?
            .print();
            if floor {
                dist::floor(&root, profile, &out)?;
            }
            if zip {
                let started = std::time::Instant::now();
                let (path, report) = dist::zip_site(&out)?;
                println!(
                    "\nzip: {} ({:.2} MiB; {} files, {:.2} MiB unpacked, in `{}/`) in {:.1} s\n\
                     Unzip it on the web host; the same rules apply as for the folder.",
                    path.display(),
                    dist::mib(report.zip_bytes),
                    report.files,
                    dist::mib(report.raw_bytes),
                    dist::ZIP_FOLDER,
                    started.elapsed().as_secs_f64()
                );
            }
        }
        "serve" => {
            let profile = flags.profile(dist::Profile::Release)?;
            let port = flags.take_value("--port")?.unwrap_or_else(|| "8000".into());
            let no_build = flags.take_switch("--no-build");
            let out = flags
                .take_value("--out")?
                .map(PathBuf::from)
                .unwrap_or_else(|| profile.default_out(&root));
            flags.finish()?;
            if !no_build {
                dist::dist(
                    &root,
                    &dist::Options {
                        profile,
                        out: out.clone(),
                    },
                )?
                .print();
            }
            let server = serve::start(&out, &format!("127.0.0.1:{port}"))?;
            println!(
                "Orbital Playground is served at {}  (Ctrl-C to stop)",
                server.url()
            );
            loop {
                std::thread::park();
            }
        }
        "test" => {
            let e2e_only = flags.take_switch("--e2e-only");
            let no_build = flags.take_switch("--no-build");
            flags.finish()?;
            e2e::test(&root, e2e_only, no_build)?;
        }
        "desktop" => {
            let no_build = flags.take_switch("--no-build");
            flags.finish()?;
            desktop::run_desktop_check(&root, !no_build)?;
        }
        "bench-web" => {
            let profile = flags.profile(dist::Profile::WebTest)?;
            let no_build = flags.take_switch("--no-build");
            flags.finish()?;
            e2e::bench(&root, profile, no_build)?;
        }
        "bench" => {
            let profile = flags
                .take_value("--profile")?
                .map(|p| dist::Profile::parse(&p))
                .transpose()?;
            let site = flags.take_value("--site")?.map(PathBuf::from);
            let options = bench::Options {
                profile,
                no_build: flags.take_switch("--no-build"),
                skip_kernel: flags.take_switch("--skip-kernel"),
                skip_browser: flags.take_switch("--skip-browser"),
                skip_native: flags.take_switch("--skip-native"),
                report_only: flags.take_switch("--report-only"),
                site,
            };
            flags.finish()?;
            bench::bench(&root, &options)?;
        }
        "help" | "--help" | "-h" => println!("{USAGE}"),
        other => return Err(format!("unknown command `{other}`\n{USAGE}")),
    }
    Ok(())
}

/// Command-line flags after the subcommand; every flag must be consumed.
struct Flags(Vec<String>);

impl Flags {
    fn parse(args: &[String]) -> Result<Flags, String> {
        Ok(Flags(args.to_vec()))
    }

    fn take_switch(&mut self, name: &str) -> bool {
        let before = self.0.len();
        self.0.retain(|a| a != name);
        self.0.len() != before
    }

    fn take_value(&mut self, name: &str) -> Result<Option<String>, String> {
        let Some(i) = self.0.iter().position(|a| a == name) else {
            return Ok(None);
        };
        if i + 1 >= self.0.len() {
            return Err(format!("{name} needs a value"));
        }
        let value = self.0.remove(i + 1);
        self.0.remove(i);
        Ok(Some(value))
    }

    fn profile(&mut self, default: dist::Profile) -> Result<dist::Profile, String> {
        self.take_value("--profile")?
            .map_or(Ok(default), |p| dist::Profile::parse(&p))
    }

    fn finish(self) -> Result<(), String> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "unexpected arguments: {}\n{USAGE}",
                self.0.join(" ")
            ))
        }
    }
}
