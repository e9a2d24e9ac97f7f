//! `parse_line` with the builtin grammar on arbitrary input.
//!
//! The first byte picks the profile, whether the rest is read as lossy UTF-8
//! or must be valid UTF-8 (invalid input is then skipped, so the fuzzer's
//! mutations of real text stay real text), and the remembered `/fmt`
//! defaults. The rest is split into lines parsed one after another with the
//! same defaults, as a monitor session does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qhmp::grammar::{Grammar, Profile};
use qhmp::parse::{parse_line, FormatDefaults};

const FORMATS: [char; 6] = ['o', 'd', 'u', 'x', 'i', 'c'];
const SIZES: [i64; 4] = [1, 2, 4, 8];

fuzz_target!(|data: &[u8]| {
    let Ok(grammar) = Grammar::builtin() else {
        panic!("the builtin grammar must load");
    };
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let profile = Profile::ALL[usize::from(mode & 1)];
    let text = if mode & 2 == 0 {
        String::from_utf8_lossy(rest).into_owned()
    } else {
        match std::str::from_utf8(rest) {
            Ok(s) => s.to_owned(),
            Err(_) => return,
        }
    };
    let mut defaults = FormatDefaults {
        format: FORMATS[usize::from(mode >> 2) % FORMATS.len()],
        size: SIZES[usize::from(mode >> 5) % SIZES.len()],
    };
    for line in text.split('\n') {
        if let Ok(Some(parsed)) = parse_line(grammar, profile, line, &mut defaults) {
            // What the caller relies on: the entry is the last of the path
            // and the spelled name is a prefix of the line.
            assert!(parsed
                .path
                .last()
                .is_some_and(|e| std::ptr::eq(*e, parsed.entry)));
            assert!(line.starts_with(parsed.spelled.as_str()));
        }
        assert!(
            FORMATS.contains(&defaults.format),
            "format {:?}",
            defaults.format
        );
        assert!(SIZES.contains(&defaults.size), "size {}", defaults.size);
    }
});
