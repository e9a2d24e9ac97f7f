//! `qhmp train [NAME] [--check]`.

use super::args::TrainArgs;
use crate::output::Exit;
use crate::train::{self, Input};
use std::io::{BufRead, IsTerminal};

/// Lines typed at a `(qemu) ` prompt.
struct Prompt(rustyline::DefaultEditor);

impl Input for Prompt {
    fn next_line(&mut self) -> Option<String> {
        loop {
            match self.0.readline("(qemu) ") {
                Ok(line) => {
                    let _ = self.0.add_history_entry(crate::repl::mask_secrets(&line));
                    return Some(line);
                }
                Err(rustyline::error::ReadlineError::Interrupted) => continue,
                Err(_) => return None,
            }
        }
    }
}

/// Lines from standard input, echoed after the prompt so the transcript reads
/// like a session.
struct Script(std::io::Lines<std::io::StdinLock<'static>>);

impl Input for Script {
    fn next_line(&mut self) -> Option<String> {
        let line = self.0.next()?.ok()?;
        println!("(qemu) {}", crate::repl::mask_secrets(&line));
        Some(line)
    }
}

pub fn run(args: &TrainArgs) -> Exit {
    let lessons = match train::lessons() {
        Ok(l) => l,
        Err(e) => {
            eprintln!("qhmp train: {e}");
            return Exit::Usage;
        }
    };
    let Some(name) = args.lesson.as_deref() else {
        println!("Lessons (run one with `qhmp train NAME`):");
        for l in &lessons {
            println!("  {:<15} {}", l.name, l.title);
        }
        return Exit::Success;
    };
    let Some(lesson) = lessons.iter().find(|l| l.name == name) else {
        let names: Vec<&str> = lessons.iter().map(|l| l.name.as_str()).collect();
        eprintln!(
            "qhmp train: no lesson '{name}' (lessons: {})",
            names.join(", ")
        );
        return Exit::Usage;
    };
    let mut input: Box<dyn Input> = if args.check || !std::io::stdin().is_terminal() {
        Box::new(Script(std::io::stdin().lock().lines()))
    } else {
        match rustyline::DefaultEditor::new() {
            Ok(editor) => Box::new(Prompt(editor)),
            Err(e) => {
                eprintln!("qhmp train: cannot open the terminal: {e}");
                return Exit::Usage;
            }
        }
    };
    let Some(runtime) = super::runtime(true) else {
        return Exit::Connection;
    };
    let mut out = std::io::stdout();
    match runtime.block_on(train::run(lesson, input.as_mut(), &mut out, args.check)) {
        Ok(outcome) if outcome.solved => Exit::Success,
        Ok(_) => Exit::CommandFailed,
        Err(e) => {
            eprintln!("qhmp train: {e}");
            Exit::Connection
        }
    }
}
