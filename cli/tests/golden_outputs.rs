//! The command line's outputs, byte for byte: every command of `golden/commands.txt` prints
//! exactly its `golden/NAME.out` (stdout, the exit status, and the SHA-256 of every file it
//! writes). Written before the crates were reorganised, so a refactor that changes any output
//! fails here. `TPUPIPE_BLESS=1` rewrites the goldens, for an intended change only.

use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::path::Path;
use tpupipe_testkit::paths::repo_root;

fn golden_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Runs one command line as the goldens record it.
fn record(tpupipe: &tpupipe_testkit::cli::Tpupipe, args: &str) -> String {
    let out = tempfile::tempdir().unwrap();
    let out_text = out.path().to_str().unwrap();
    let argv: Vec<String> = args
        .split_whitespace()
        .map(|a| a.replace("{M}", "tests/models/").replace("{OUT}", out_text))
        .collect();
    // Measured host CPU timings differ from run to run; the goldens use the x86-64 rates.
    let run = tpupipe
        .command(&argv)
        .env("TPUPIPE_HOST_COST", "x86-desktop")
        .output()
        .unwrap();
    let mut text = String::from_utf8_lossy(&run.stdout).replace(out_text, "{OUT}");
    writeln!(text, "exit {}", run.status.code().unwrap_or(-1)).unwrap();
    let mut files: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    if !files.is_empty() {
        text.push_str("== files\n");
        for f in files.iter().filter(|f| *f != "chart.svg") {
            let digest = Sha256::digest(std::fs::read(out.path().join(f)).unwrap());
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            writeln!(text, "{hex}  {f}").unwrap();
        }
    }
    text
}

#[test]
fn every_command_prints_its_golden_output() {
    let tpupipe = tpupipe_testkit::tpupipe!().in_dir(repo_root());
    let commands = std::fs::read_to_string(golden_dir().join("commands.txt")).unwrap();
    let bless = std::env::var_os("TPUPIPE_BLESS").is_some();
    let mut failures = Vec::new();
    let mut count = 0;
    for line in commands
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let (name, args) = line.split_once(' ').unwrap();
        let got = record(&tpupipe, args);
        let path = golden_dir().join(format!("{name}.out"));
        count += 1;
        if bless {
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        if got != want {
            let first = got
                .lines()
                .zip(want.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(got.lines().count().min(want.lines().count()));
            failures.push(format!(
                "{name} ({args}): first difference at line {}:\n  got:  {}\n  want: {}",
                first + 1,
                got.lines().nth(first).unwrap_or("<end>"),
                want.lines().nth(first).unwrap_or("<end>")
            ));
        }
    }
    assert!(count > 80, "only {count} commands found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
