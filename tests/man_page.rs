//! The man page is generated from the grammar and the option definitions; the
//! committed copy must be current, render with man(1), and agree with
//! `--help` and the README.

use std::process::Command;

fn qhmp(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_qhmp"))
        .args(args)
        .output()
        .expect("qhmp runs");
    assert!(
        out.status.success(),
        "qhmp {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn committed() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/man/qhmp.1"))
        .expect("man/qhmp.1 exists")
}

#[test]
fn committed_page_is_current() {
    assert!(
        qhmp(&["man"]) == committed(),
        "man/qhmp.1 is stale: regenerate with `cargo run -- man > man/qhmp.1`"
    );
}

#[test]
fn page_lists_every_command_and_option() {
    let page = committed();
    let grammar = qhmp::grammar::Grammar::builtin().expect("grammar");
    for entry in &grammar.commands().entries {
        let name = entry.name.replace('-', "\\-");
        assert!(
            page.contains(&format!("\\fB{name}")),
            "man page lacks {}",
            entry.name
        );
    }
    let help = qhmp(&["--help"]);
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    for word in help
        .split_whitespace()
        .filter(|w| w.starts_with("--") && w.len() > 2)
    {
        let option = word.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
        if option == "--help" || option == "--version" {
            continue;
        }
        assert!(
            page.contains(&option.replace('-', "\\-")),
            "man page lacks {option}"
        );
        assert!(readme.contains(option), "README lacks {option}");
    }
    for status in ["0", "1", "2", "3"] {
        assert!(
            page.contains(&format!(".B {status}")),
            "man page lacks exit status {status}"
        );
        assert!(
            readme.contains(&format!("**{status}**")),
            "README lacks exit status {status}"
        );
    }
}

#[test]
fn man_renders_the_page() {
    let Ok(out) = Command::new("man")
        .args(["-l", concat!(env!("CARGO_MANIFEST_DIR"), "/man/qhmp.1")])
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "100")
        .output()
    else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "man(1) is missing under CI=true"
        );
        eprintln!("note: man(1) not installed; rendering not checked");
        return;
    };
    assert!(
        out.status.success(),
        "man failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("EXIT STATUS"), "{text}");
    assert!(text.contains("block_resize"));
}

#[test]
fn page_has_examples_environment_and_files() {
    let page = committed();
    for section in ["EXAMPLES", "ENVIRONMENT", "FILES"] {
        assert!(page.contains(&format!("\n.SH {section}\n")), "{section}");
    }
    for variable in ["COLUMNS", "NO_COLOR", "TERM", "XDG_STATE_HOME"] {
        assert!(page.contains(&format!(".B {variable}\n")), "{variable}");
    }
    assert!(page.contains("qhmp/history"), "the history path");
}

#[test]
fn completion_scripts_for_bash_zsh_and_fish() {
    for (shell, marker) in [
        ("bash", "complete -F _qhmp"),
        ("zsh", "#compdef qhmp"),
        ("fish", "complete -c qhmp"),
    ] {
        let script = qhmp(&["completions", shell]);
        assert!(script.contains(marker), "{shell}:\n{script}");
        // Subcommands and options come from the same clap definition.
        for word in ["proxy", "train", "connect", "dry-run"] {
            assert!(script.contains(word), "{shell} lacks {word}");
        }
    }
    let refused = Command::new(env!("CARGO_BIN_EXE_qhmp"))
        .args(["completions", "tcsh"])
        .output()
        .expect("qhmp runs");
    assert_eq!(refused.status.code(), Some(2));
}
