//! `terminal` (PID 2): the command line. Console input arrives as messages from the kernel
//! (sender pid 0) on its own endpoint in slot 1; it waits Blocked on `RECEIVE` between lines.
//! Slot 2 holds the process table, so `spawn` and `kill` are real syscalls the kernel checks.
//!
//! Output is a byte stream: the prompt "$ " has no newline, the echoed command ends the line.
#![no_std]
#![no_main]

use orbital_sdk::{ErrorCode, Slot, cap, ipc, print, println, process};

orbital_sdk::entry!(main);

const STDIN: Slot = Slot(1);
const PROCESS_TABLE: Slot = Slot(2);
const PROMPT: &str = "$ ";

const HELP: &str = "commands:
  help             this list
  ps               list processes (pid, name, state, memory)
  caps             list this terminal's capabilities
  echo <text>      print <text>
  time             kernel uptime
  clear            clear the screen
  spawn <p> [args] start program <p> (e.g. spawn receiver, spawn hello a b)
  kill <pid>       stop a process (init and terminal are protected)";

fn main() {
    println!("Orbital terminal (pid {}). Type `help` for commands.", orbital_sdk::pid());
    let mut line = [0u8; ipc::MAX_PAYLOAD];
    loop {
        print!("{PROMPT}");
        let msg = match ipc::receive(STDIN, &mut line) {
            Ok(msg) => msg,
            Err(e) => {
                println!("\nterminal: cannot read input: {} ({})", e.name(), e.describe());
                if e == ErrorCode::BadSlot || e == ErrorCode::StaleCapability {
                    // Without its input endpoint the terminal can do nothing useful.
                    orbital_sdk::exit(1);
                }
                let _ = orbital_sdk::sleep_ms(1_000);
                continue;
            }
        };
        let n = msg.len.min(line.len());
        match core::str::from_utf8(&line[..n]) {
            Ok(text) => {
                let text = text.trim_end_matches(['\r', '\n']);
                println!("{text}");
                run(text.trim());
            }
            Err(_) => println!("\nterminal: input is not UTF-8 text ({n} bytes ignored)"),
        }
    }
}

fn run(line: &str) {
    let (cmd, rest) = match line.split_once(char::is_whitespace) {
        Some((cmd, rest)) => (cmd, rest.trim()),
        None => (line, ""),
    };
    match cmd {
        "" => {}
        "help" => println!("{HELP}"),
        "ps" => ps(),
        "caps" => caps(),
        "echo" => println!("{rest}"),
        "time" => time(),
        "clear" => print!("\x0c"),
        "spawn" => spawn(rest),
        "kill" => kill(rest),
        _ => println!("unknown command `{cmd}`: type `help` for the list"),
    }
}

fn fail(what: &str, e: ErrorCode) {
    println!("{what}: {} ({})", e.name(), e.describe());
}

fn ps() {
    match process::ps() {
        Ok(table) => {
            println!("{:>5}  {:<12} {:<24} {:>10}", "PID", "NAME", "STATE", "MEMORY");
            for p in table.entries() {
                println!("{:>5}  {:<12} {:<24} {:>7} KiB", p.pid, p.name, p.state, p.memory_bytes / 1024);
            }
            println!("{} processes", table.count());
        }
        Err(e) => fail("ps", e),
    }
}

fn caps() {
    match cap::list() {
        Ok(list) => {
            println!("{:>4}  {:<14} {:>6}  {:<6} {:>4}", "SLOT", "OBJECT", "ID", "RIGHTS", "GEN");
            for c in list.as_slice() {
                let rights = c.rights_str();
                let rights = core::str::from_utf8(&rights).unwrap_or("???");
                println!(
                    "{:>4}  {:<14} {:>6}  {:<6} {:>4}",
                    c.slot,
                    c.kind_name(),
                    c.object,
                    rights,
                    c.generation
                );
            }
        }
        Err(e) => fail("caps", e),
    }
}

fn time() {
    match orbital_sdk::time_ns() {
        Ok(ns) => {
            let ms = ns / 1_000_000;
            println!("uptime {}.{:03} s", ms / 1000, ms % 1000);
        }
        Err(e) => fail("time", e),
    }
}

fn spawn(program: &str) {
    if program.is_empty() {
        println!("usage: spawn <program> [args...]   (e.g. spawn receiver, spawn hello a b)");
        return;
    }
    match process::spawn(PROCESS_TABLE, program) {
        Ok(pid) => println!("started {program} as pid {pid}"),
        Err(e) => {
            // The supervisor may explain a refusal (e.g. a required service is not running).
            let mut why = [0u8; 1024];
            let n = orbital_sdk::reply_data(&mut why).unwrap_or(0);
            match core::str::from_utf8(&why[..n]) {
                Ok(why) if !why.is_empty() => {
                    println!("spawn {program}: {} ({}): {why}", e.name(), e.describe())
                }
                _ => println!("spawn {program}: {} ({})", e.name(), e.describe()),
            }
        }
    }
}

fn kill(arg: &str) {
    let pid = match arg.parse::<u32>() {
        Ok(pid) if pid > 0 => pid,
        _ if arg.is_empty() => return println!("usage: kill <pid>   (see `ps` for pids)"),
        _ => return println!("kill: `{arg}` is not a pid (a positive number; see `ps`)"),
    };
    match process::kill(PROCESS_TABLE, pid) {
        Ok(()) => println!("killed pid {pid}"),
        Err(e) => println!("kill {pid}: {} ({})", e.name(), e.describe()),
    }
}

