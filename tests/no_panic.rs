//! No input makes the three parsers of untrusted text panic: the grammar
//! table reader, the HMP line parser and the QMP stream decoder.
//!
//! Property tests on stable (arbitrary text and bytes, plus structured
//! generators that get past the first checks) and literal edge cases. An
//! input a fuzz target in `fuzz/` crashes on belongs in `regressions` below
//! (the runs so far found none: see BENCHMARKS.md).

#[path = "../benches/support/hmp_lines.rs"]
mod hmp_lines;

use bytes::BytesMut;
use proptest::collection::vec;
use proptest::prelude::*;
use qhmp::grammar::table::BUILTIN_SOURCES;
use qhmp::grammar::{Grammar, Profile};
use qhmp::parse::{parse_line, FormatDefaults};
use qhmp::qmp::{DecodeError, LineDecoder};
use serde_json::Value;

fn builtin() -> &'static Grammar {
    Grammar::builtin().expect("the builtin grammar loads")
}

/// Parses each line in turn with shared `/fmt` defaults, as a session does,
/// and checks what callers rely on.
fn parse_lines(grammar: &Grammar, profile: Profile, text: &str) {
    let mut defaults = FormatDefaults::default();
    for line in text.split('\n') {
        if let Ok(Some(parsed)) = parse_line(grammar, profile, line, &mut defaults) {
            assert!(std::ptr::eq(
                *parsed.path.last().expect("a path"),
                parsed.entry
            ));
            assert!(line.starts_with(parsed.spelled.as_str()), "{line:?}");
        }
        assert!("oduxic".contains(defaults.format), "{defaults:?}");
        assert!([1, 2, 4, 8].contains(&defaults.size), "{defaults:?}");
    }
}

/// Loads a `commands` and an `info` table; whatever loads is then used to
/// parse each of its command names, bare and with a few arguments.
fn load_and_use(commands: &str, info: &str) {
    let sources = [
        ("grammar/commands.hmp", commands),
        ("grammar/info.hmp", info),
    ];
    let Ok(grammar) = Grammar::from_sources(&sources) else {
        return;
    };
    for profile in Profile::ALL {
        for table in &grammar.tables {
            for entry in &table.entries {
                let name = entry.primary_name();
                parse_lines(&grammar, profile, name);
                parse_lines(
                    &grammar,
                    profile,
                    &format!("{name} a 1 -f 0x10 \"q\" /2x 3k"),
                );
            }
        }
    }
}

#[derive(Debug, PartialEq)]
enum Event {
    Message(Value),
    Error(std::mem::Discriminant<DecodeError>),
}

/// Decodes `stream` fed in chunks cut at `cuts`, up to the first error, then
/// finishes. Fails if the decoder neither consumes bytes nor waits for more.
fn decode_chunked(cap: usize, stream: &[u8], cuts: &[usize]) -> Vec<Event> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    points.push(stream.len());
    points.sort_unstable();
    let mut decoder = LineDecoder::new(cap);
    let mut buf = BytesMut::new();
    let mut events = Vec::new();
    let mut fed = 0;
    for point in points {
        buf.extend_from_slice(&stream[fed..point]);
        fed = point;
        for _ in 0..=stream.len() {
            match decoder.decode(&mut buf) {
                Ok(Some(v)) => {
                    assert!(v.is_object(), "not an object: {v}");
                    events.push(Event::Message(v));
                }
                Ok(None) => break,
                Err(e) => {
                    events.push(Event::Error(std::mem::discriminant(&e)));
                    return events;
                }
            }
        }
    }
    if let Err(e) = decoder.finish(&mut buf) {
        events.push(Event::Error(std::mem::discriminant(&e)));
    }
    assert!(buf.is_empty(), "finish leaves nothing buffered");
    events
}

/// The same stream fed whole and in chunks gives the same messages and the
/// same first error.
fn check_decoder(cap: usize, stream: &[u8], cuts: &[usize]) {
    let whole = decode_chunked(cap, stream, &[]);
    let chunked = decode_chunked(cap, stream, cuts);
    assert_eq!(
        whole, chunked,
        "cap {cap}, cuts {cuts:?}, stream {stream:?}"
    );
}

/// Words that look like HMP arguments of every kind, and some that nearly do.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        "0[xX][0-9a-fA-F]{0,18}",
        "-?[0-9]{1,21}(\\.[0-9]{0,4})?[kKmMgGtTpPeEbB]?[iB]?",
        "[0-9]{1,8}(\\.[0-9]{0,9})?(s|ms|us|ns|m)?",
        "[-+~0-9x()*/%&|^ $a-z.]{1,14}",
        "\\$[a-z]{1,4}",
        "\"([^\"\\\\]|\\\\.){0,10}\"?",
        "'[^']{0,6}'?",
        "-[a-zA-Z]{0,2}",
        "/[0-9]{0,12}[oduxicbhwgL]{0,4}[-q]?",
        "[a-z_-]{1,8}=[a-z0-9,]{0,8}(,[a-z]{1,5}(=[a-z0-9]*)?){0,3}",
        "(on|off|yes|no)",
        "\\.[0-9]{0,3}",
        "[\\x00-\\x7f]{1,4}",
        ".{0,6}",
    ]
}

fn separator() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just(" "), Just("  "), Just("\t"), Just(""), Just(" \u{a0}")]
}

/// `<command words of the profile> <tokens…>`.
fn command_line(profile: Profile) -> impl Strategy<Value = String> {
    let words: Vec<String> = hmp_lines::commands(builtin(), profile)
        .into_iter()
        .map(|(w, _)| w)
        .collect();
    (
        proptest::sample::select(words),
        vec((separator(), token()), 0..7),
    )
        .prop_map(|(words, tokens)| {
            let mut line = words;
            for (sep, tok) in tokens {
                line.push_str(sep);
                line.push_str(&tok);
            }
            line
        })
}

/// One fragment of a QMP-like byte stream.
fn json_fragment() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"{".to_vec()),
        Just(b"}".to_vec()),
        Just(b"[".to_vec()),
        Just(b"]".to_vec()),
        Just(b"\"".to_vec()),
        Just(b"\\".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b" ".to_vec()),
        Just(b":".to_vec()),
        Just(b",".to_vec()),
        Just(br#"{"return": {}}"#.to_vec()),
        Just(br#"{"event": "STOP", "data": {"a": "}\"{"}}"#.to_vec()),
        "[a-z0-9]{1,5}".prop_map(String::into_bytes),
        vec(any::<u8>(), 1..4),
    ]
}

/// A table entry that is mostly well formed, so that many load and their
/// odd `args_type` strings reach the line parser.
fn table_entry() -> impl Strategy<Value = String> {
    // Mostly valid pieces, with an occasional malformed one.
    let spec = prop_oneof![
        12 => "[a-z]{1,3}:([sFBSOilMoTb/]|-[a-z]s?)",
        4 => "[a-z]{1,3}:([sFBSOilMoT]\\?|[ilM]\\.)",
        1 => "[a-z:?,. -]{0,3}",
    ];
    (
        prop_oneof![
            12 => "[a-z_]{1,6}(\\|[a-z]{1,3})?",
            1 => "[a-z_|?-]{0,5}",
        ],
        prop_oneof![
            12 => Just("7.2 10.0".to_string()),
            1 => "(7\\.2|10\\.0|9\\.1| ){0,3}",
        ],
        vec(spec, 0..5).prop_map(|items| items.join(",")),
        prop_oneof![8 => Just(""), 4 => Just("@7.2"), 4 => Just("@10.0"), 1 => Just("@9")],
        prop_oneof![
            Just("hmp-only".to_string()),
            Just("local".to_string()),
            "special [a-z_]{0,6}",
            "[a-z-]{1,6}( \\{\"[a-z]\": \"\\$[a-z?:|*]{0,6}\"\\})?",
        ],
        prop_oneof![
            12 => "((render|params):[ a-z]{0,6})?",
            1 => "(render|subtable|errors|params|bogus)(@[0-9.]{0,4})?:[ a-z]{0,6}",
        ],
    )
        .prop_map(|(name, versions, args, at, qmp, extra)| {
            format!(
                "[{name}]\nversions: {versions}\nargs: {args}\nargs{at}: {args}\n\
                 help: h\nqmp: {qmp}\n{extra}\n"
            )
        })
}

/// Splices `insert` into `text` near `at` (on a char boundary) and drops
/// `drop` chars after it: small edits that keep most of a real table.
fn mutate(text: &str, at: usize, drop: usize, insert: &str) -> String {
    let at = at % (text.len() + 1);
    let start = (0..=at)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    let tail = &text[start..];
    let skip = tail.char_indices().nth(drop).map_or(tail.len(), |(i, _)| i);
    format!("{}{insert}{}", &text[..start], &tail[skip..])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn line_parser_takes_any_string(text in any::<String>(), v10 in any::<bool>()) {
        parse_lines(builtin(), Profile::ALL[usize::from(v10)], &text);
    }

    #[test]
    fn line_parser_takes_any_bytes(bytes in vec(any::<u8>(), 0..300), v10 in any::<bool>()) {
        let text = String::from_utf8_lossy(&bytes);
        parse_lines(builtin(), Profile::ALL[usize::from(v10)], &text);
    }

    #[test]
    fn line_parser_takes_commands_with_random_tokens(
        line in command_line(Profile::V7_2),
        line10 in command_line(Profile::V10_0),
    ) {
        parse_lines(builtin(), Profile::V7_2, &line);
        parse_lines(builtin(), Profile::V10_0, &line10);
    }

    #[test]
    fn line_parser_takes_cut_and_edited_real_lines(
        pick in any::<prop::sample::Index>(),
        at in any::<usize>(),
        drop in 0usize..4,
        insert in ".{0,3}",
        v10 in any::<bool>(),
    ) {
        let profile = Profile::ALL[usize::from(v10)];
        let lines = hmp_lines::realistic_mix(builtin(), profile, 0);
        let line = pick.get(&lines);
        parse_lines(builtin(), profile, &mutate(line, at, drop, insert.as_str()));
        let cut = mutate(line, at, usize::MAX, "");
        parse_lines(builtin(), profile, &cut);
    }

    #[test]
    fn decoder_takes_any_bytes_in_any_chunks(
        cap in 1usize..300,
        stream in vec(any::<u8>(), 0..600),
        cuts in vec(any::<usize>(), 0..10),
    ) {
        check_decoder(cap, &stream, &cuts);
    }

    #[test]
    fn decoder_takes_json_like_streams(
        cap in 1usize..80,
        fragments in vec(json_fragment(), 0..40),
        cuts in vec(any::<usize>(), 0..10),
    ) {
        check_decoder(cap, &fragments.concat(), &cuts);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn grammar_reader_takes_any_text(commands in any::<String>(), info in any::<String>()) {
        load_and_use(&commands, &info);
    }

    #[test]
    fn grammar_reader_takes_any_bytes(bytes in vec(any::<u8>(), 0..600)) {
        load_and_use(&String::from_utf8_lossy(&bytes), "");
    }

    #[test]
    fn grammar_reader_takes_random_entries(
        entries in vec(table_entry(), 1..5),
        info in vec(table_entry(), 0..3),
    ) {
        load_and_use(&entries.concat(), &info.concat());
    }
}

proptest! {
    // Each case reads the whole builtin table: fewer cases.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn grammar_reader_takes_edited_builtin_tables(
        at in any::<usize>(),
        drop in 0usize..6,
        insert in "[\\[\\]:@|,?./a-zA-Z0-9 \n\t{}\"$-]{0,6}",
        edit_info in any::<bool>(),
    ) {
        let (commands, info) = (BUILTIN_SOURCES[0].1, BUILTIN_SOURCES[1].1);
        if edit_info {
            load_and_use(commands, &mutate(info, at, drop, &insert));
        } else {
            load_and_use(&mutate(commands, at, drop, &insert), info);
        }
    }
}

#[test]
fn builtin_sources_are_the_commands_and_info_tables() {
    // The edited-table property relies on this order.
    assert_eq!(BUILTIN_SOURCES[0].0, "grammar/commands.hmp");
    assert_eq!(BUILTIN_SOURCES[1].0, "grammar/info.hmp");
}

#[test]
fn every_realistic_line_parses() {
    // The benchmark mix measures the accepting path; keep it accepting.
    for profile in Profile::ALL {
        let mut defaults = FormatDefaults::default();
        for line in hmp_lines::realistic_mix(builtin(), profile, 0) {
            let parsed = parse_line(builtin(), profile, &line, &mut defaults);
            assert!(parsed.is_ok(), "{profile}: {line:?}: {parsed:?}");
        }
    }
}

#[test]
fn clashing_names_are_reported_against_the_earliest_entry() {
    let entry = |name: &str, versions: &str| {
        format!("[{name}]\nversions: {versions}\nhelp: h\nqmp: hmp-only\n")
    };
    let text = [
        entry("a|x", "7.2"),
        entry("b|x", "10.0"),
        entry("c", "7.2 10.0"),
        entry("d|c", "10.0"),
    ]
    .concat();
    let err = Grammar::from_sources(&[("commands.hmp", &text)]).expect_err("c clashes");
    assert_eq!(
        err.message,
        "entry 'd|c' clashes with 'c' at commands.hmp:9:1"
    );
    assert_eq!(err.location.line, 13);
    // Same name in disjoint profiles is no clash.
    let fine = [entry("a|x", "7.2"), entry("b|x", "10.0")].concat();
    assert!(Grammar::from_sources(&[("commands.hmp", &fine)]).is_ok());
}

/// Edge cases written by hand, and any crash the fuzz targets find.
mod regressions {
    use super::*;

    #[test]
    fn odd_lines() {
        let long_word = "x".repeat(300);
        let long_info = format!("info {}", "y".repeat(300));
        // Deep nesting must not recurse (test threads have small stacks).
        let deep_parens = format!("p {}1", "(".repeat(100_000));
        let deep_unary = format!("print {}1", "-~".repeat(100_000));
        let lines = [
            "\0",
            "info\0block",
            "\"",
            "x /99999999999999999999999i 0",
            "x /",
            "xp /-",
            "p (((((((((((((((((((((((((((((((((1",
            "p 0x8000000000000000 / -1",
            "p -0x8000000000000000 % -1",
            "block_resize d 99999999999999999999999E",
            "block_resize d 8E",
            "block_resize d -1",
            "sendkey a 4294967296",
            "migrate_set_parameter x 1e309",
            "device_add ,,,,=,=",
            "netdev_add =",
            "eject -",
            "eject -é",
            "info 🦀",
            "🦀",
            long_word.as_str(),
            long_info.as_str(),
            deep_parens.as_str(),
            deep_unary.as_str(),
            "\u{feff}info status",
            "memsave 0 1 \"unterminated",
            "memsave 0 1 \"\\",
        ];
        for line in lines {
            for profile in Profile::ALL {
                parse_lines(builtin(), profile, line);
            }
        }
    }

    #[test]
    fn odd_streams() {
        let streams: [&[u8]; 8] = [
            b"}",
            b"{\"a\": \"\\",
            b"{\"a\": \"\\\"}\"}\r\n",
            b"{]",
            b"{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{",
            b"\xff\xfe{}",
            b"{\"\xff\": 1}",
            b"   \r\n\t ",
        ];
        for stream in streams {
            for cap in [1, 2, 3, 8, 64] {
                check_decoder(cap, stream, &[1, 2, 3, 5, 8, 13]);
            }
        }
        // Nesting far beyond serde_json's recursion limit, within the cap.
        let deep = format!(
            "{{\"a\": {}{}}}\n",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        check_decoder(1 << 20, deep.as_bytes(), &[7, 50_000, 150_000]);
    }

    #[test]
    fn odd_tables() {
        let tables = [
            "[",
            "[]",
            "[a]",
            "[a]\nversions:",
            "[a]\nversions: 7.2\nhelp: h\nqmp: special",
            "[a]\nversions: 7.2\nhelp: h\nqmp: x {",
            "[a]\nversions: 7.2\nhelp: h\nqmp: x {\"$\": \"$\"}",
            "[a]\nversions: 7.2\nhelp: h\nqmp: local\nargs@7.2: a:s,a:s",
            "[a]\nversions: 7.2\nhelp: h\nqmp: local\nargs: a:-",
            "[a]\nversions: 7.2\nhelp: h\nqmp: local\nsubtable: commands",
            "[a]\nversions: 7.2\nhelp: h\\\nqmp: local\nparams: \\",
            "x: y",
        ];
        for table in tables {
            load_and_use(table, "");
            load_and_use(
                "[i]\nversions: 7.2\nhelp: h\nqmp: local\nsubtable: info",
                table,
            );
        }
    }
}
