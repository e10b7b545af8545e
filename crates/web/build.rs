//! Builds Confidant's stylesheet, `$OUT_DIR/app.css`, from `assets/app.scss` with GOV.UK Frontend
//! and Dart Sass (both from npm, pinned by `assets/package-lock.json`), so that the binary serves it
//! from memory (see `src/assets.rs`).
//!
//! Guarantees:
//! - Writes only to `assets/node_modules` (through `npm ci`) and `$OUT_DIR` (the stylesheet, its
//!   version stamp, and npm's download cache, so nothing lands in the home directory).
//! - Runs `npm ci` only when `assets/node_modules` is missing or older than the lock file; otherwise
//!   it only compiles the Sass (about 1.5 s), and cargo reruns it only when an input file changes.
//! - Runs no npm install scripts (`--ignore-scripts`) and skips optional packages (Sass's file
//!   watcher), so no native code is built or fetched.
//! - Fails the build if the stylesheet ever embeds the GDS Transport font (brand rule, ECOSYSTEM §4).
//!
//! Needs Node.js 20.19 or newer and npm, and the npm registry for the first build after a clone or a
//! lock-file change. `CONFIDANT_NODE` and `CONFIDANT_NPM` name other executables.

use std::env;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

const NEEDS: &str = "Building the stylesheet needs Node.js (20.19 or newer) and npm on PATH (or set \
                     CONFIDANT_NODE / CONFIDANT_NPM), and access to the npm registry the first time \
                     and whenever crates/web/assets/package-lock.json changes.";

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let assets = manifest_dir.join("assets");

    for input in [
        "build.rs",
        "assets/app.scss",
        "assets/package.json",
        "assets/package-lock.json",
    ] {
        println!("cargo::rerun-if-changed={input}");
    }
    println!("cargo::rerun-if-env-changed=CONFIDANT_NODE");
    println!("cargo::rerun-if-env-changed=CONFIDANT_NPM");

    let node = env::var("CONFIDANT_NODE").unwrap_or_else(|_| "node".to_owned());
    let npm = env::var("CONFIDANT_NPM")
        .unwrap_or_else(|_| if cfg!(windows) { "npm.cmd" } else { "npm" }.to_owned());

    // Two builds at once (say cargo and an editor's checker, each with its own target directory)
    // must not run `npm ci` over each other. An advisory lock on the assets directory itself
    // serialises them without writing anything; where directories cannot be opened, go without.
    let _guard = File::open(&assets)
        .and_then(|dir| dir.lock().map(|()| dir))
        .ok();

    if node_modules_stale(&assets) {
        run(
            NEEDS,
            Command::new(&npm)
                .current_dir(&assets)
                .args([
                    "ci",
                    "--no-audit",
                    "--no-fund",
                    "--ignore-scripts",
                    "--omit=optional",
                    "--loglevel=error",
                ])
                .env("npm_config_cache", out_dir.join("npm-cache"))
                .env("npm_config_update_notifier", "false"),
        );
    }

    let css_path = out_dir.join("app.css");
    let stderr = run(
        &format!("A Sass error is about crates/web/assets/app.scss. Otherwise: {NEEDS}"),
        Command::new(&node)
            .current_dir(&assets)
            .args([
                "node_modules/sass/sass.js",
                "--style=compressed",
                "--no-source-map",
                "--pkg-importer=node",
                "--quiet-deps",
                "app.scss",
            ])
            .arg(&css_path),
    );
    // Deprecation and @warn messages about our own app.scss: show them rather than lose them.
    for line in stderr.lines().filter(|l| !l.trim().is_empty()) {
        println!("cargo::warning=sass: {line}");
    }

    let css = fs::read(&css_path).unwrap_or_else(|e| {
        panic!(
            "sass reported success but {} is unreadable: {e}",
            css_path.display()
        )
    });
    assert!(
        !contains(&css, b"GDS Transport"),
        "the compiled stylesheet embeds the GDS Transport font, which Confidant must not use \
         (ECOSYSTEM.md §4). Keep `$govuk-font-family: (arial, sans-serif)` in assets/app.scss."
    );

    // A stamp for the stylesheet's URL, so a new build is fetched at once despite the hour's cache.
    fs::write(
        out_dir.join("app.css.version"),
        format!("{:016x}", fnv1a(&css)),
    )
    .unwrap_or_else(|e| panic!("cannot write to OUT_DIR {}: {e}", out_dir.display()));
}

/// `npm ci` is due when `node_modules` is missing, incomplete, or older than the lock file. npm
/// writes `node_modules/.package-lock.json` at the end of every install, so its time is the
/// install's.
fn node_modules_stale(assets: &Path) -> bool {
    let modified = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
    let installed: Option<SystemTime> = modified(&assets.join("node_modules/.package-lock.json"));
    let locked = modified(&assets.join("package-lock.json"));
    let complete = [
        "node_modules/sass/sass.js",
        "node_modules/govuk-frontend/package.json",
    ]
    .iter()
    .all(|p| assets.join(p).is_file());
    match (installed, locked) {
        (Some(installed), Some(locked)) => !complete || installed < locked,
        _ => true,
    }
}

/// Runs a command to completion; on failure, panics naming the command, with `hint` (what the build
/// needs) and the command's output.
/// Returns its standard error (for warnings) on success.
fn run(hint: &str, cmd: &mut Command) -> String {
    let shown = format!(
        "{} {}",
        cmd.get_program().to_string_lossy(),
        cmd.get_args()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let dir = cmd
        .get_current_dir()
        .map_or_else(String::new, |d| format!(" in {}", d.display()));
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("\n\ncould not run `{shown}`{dir}: {e}\n{NEEDS}\n\n"));
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    if !output.status.success() {
        panic!(
            "\n\n`{shown}`{dir} failed ({}).\n{hint}\n\n--- its output ---\n{}{}\n",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            stderr
        );
    }
    stderr
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// FNV-1a, 64 bits: stable across Rust versions, and enough to tell one stylesheet from another.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
