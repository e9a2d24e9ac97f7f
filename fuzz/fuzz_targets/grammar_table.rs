//! `Grammar::from_sources` on arbitrary table text. A NUL byte splits the
//! input into a `commands` and an `info` file, so sub-table references are
//! exercised too. Whatever table parses is then used by the line parser: each
//! command name is parsed alone and followed by the rest of its header line,
//! so odd `args_type` strings reach the argument parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qhmp::grammar::{Grammar, Profile};
use qhmp::parse::{parse_line, FormatDefaults};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (commands, info) = text.split_once('\0').unwrap_or((&text, ""));
    let sources = [
        ("grammar/commands.hmp", commands),
        ("grammar/info.hmp", info),
    ];
    let Ok(grammar) = Grammar::from_sources(&sources) else {
        return;
    };
    for profile in Profile::ALL {
        let mut defaults = FormatDefaults::default();
        for table in &grammar.tables {
            for entry in table.entries.iter().take(32) {
                let name = entry.primary_name();
                let _ = parse_line(&grammar, profile, name, &mut defaults);
                let line = format!("{name} a 1 -f 0x10 \"q\" /2x 3k");
                let _ = parse_line(&grammar, profile, &line, &mut defaults);
            }
        }
    }
});
