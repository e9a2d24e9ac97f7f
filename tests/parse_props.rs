//! Properties of the line parser: it never panics, its errors are
//! well-formed, and values rendered the way a user types them parse back to
//! themselves.

use proptest::prelude::*;
use qhmp::grammar::{Grammar, Profile};
use qhmp::parse::{parse_line, ArgValue, FormatDefaults, ParseError, ParsedCommand};
use std::sync::OnceLock;

fn entry(name: &str, args: &str, extra: &str) -> String {
    format!("[{name}]\nversions: 5.2 7.2 8.2 10.0 11.1\nargs: {args}\nhelp: h\nqmp: hmp-only\n{extra}\n")
}

/// One command per type code and modifier, plus the shapes round-tripped
/// below.
fn grammar() -> &'static Grammar {
    static G: OnceLock<Grammar> = OnceLock::new();
    G.get_or_init(|| {
        let commands = [
            entry(
                "all",
                "f1:-a,f2:-b,v:-cs,name:s,file:F,dev:B,n32:i,n64:l,mib:M,sz:o,t:T,up:b",
                "",
            ),
            entry(
                "opt",
                "name:s?,file:F?,dev:B?,n32:i?,n64:l?,mib:M?,sz:o?,t:T?,rest:S?",
                "",
            ),
            entry("dot", "fmt:/,a:i,b:i.,c:l.,d:M.", ""),
            entry("print|p", "fmt:/,val:l", ""),
            entry("str", "s:s", ""),
            entry("rest", "r:S", ""),
            entry("device_add", "device:O", ""),
            entry("netdev_add", "netdev:O", ""),
            entry("bad_opts", "thing:O", ""),
            entry("info", "item:s?", "subtable: info"),
            entry("help|?", "name:S?", ""),
        ]
        .concat();
        let info = [
            entry("block", "nodes:-n,verbose:-v,device:B?", ""),
            entry("version", "", ""),
        ]
        .concat();
        Grammar::from_sources(&[
            ("commands.hmp", commands.as_str()),
            ("info.hmp", info.as_str()),
        ])
        .expect("test grammar")
    })
}

fn parse(line: &str, profile: Profile) -> Result<Option<ParsedCommand<'static>>, ParseError> {
    parse_line(grammar(), profile, line, &mut FormatDefaults::default())
}

fn ok(line: &str, profile: Profile) -> ParsedCommand<'static> {
    match parse(line, profile) {
        Ok(Some(p)) => p,
        other => panic!("{line:?} did not parse: {other:?}"),
    }
}

/// Invariants of any outcome.
fn check_outcome(line: &str, outcome: &Result<Option<ParsedCommand>, ParseError>) {
    let effective = line.split('\0').next().unwrap_or("");
    match outcome {
        Ok(None) => assert!(effective.bytes().all(|b| b" \t\n\x0b\x0c\r".contains(&b))),
        Ok(Some(p)) => {
            assert!(effective.starts_with(&p.spelled));
            assert_eq!(
                p.path.last().map(|e| e.name.as_str()),
                Some(p.entry.name.as_str())
            );
        }
        Err(e) => {
            assert!(e.column <= effective.chars().count(), "{e:?}");
            let text = e.hmp_text();
            assert!(e.message.is_empty() || text.starts_with(&e.message));
            match &e.try_help {
                Some(spelled) => {
                    assert!(effective.starts_with(spelled.as_str()));
                    assert!(text.ends_with(" for more information\n"));
                }
                None => assert!(text.starts_with("unknown command: '") && text.ends_with("'\n")),
            }
            assert!(!e.to_string().is_empty());
            let caret = e.caret(line);
            assert!(caret.ends_with('^'));
        }
    }
}

/// Fragments that steer random lines into every corner of the parser.
const FRAGMENTS: &[&str] = &[
    "all",
    "opt",
    "dot",
    "p",
    "print",
    "str",
    "rest",
    "device_add",
    "netdev_add",
    "bad_opts",
    "info",
    "block",
    "version",
    "help",
    "?",
    " ",
    "  ",
    "\t",
    "\u{b}",
    "/",
    "/10",
    "x",
    "i",
    "d",
    "c",
    "b",
    "w",
    "g",
    "L",
    "-",
    "-a",
    "-b",
    "-c",
    "-n",
    "-v",
    "\"",
    "\\",
    "\\n",
    "\\q",
    "'",
    "(",
    ")",
    "$",
    "$pc",
    "+",
    "*",
    "%",
    "&",
    "|",
    "^",
    "~",
    "0",
    "1",
    "7",
    "0x",
    "0x1f",
    "08",
    "99999999999999999999",
    ".",
    ".5",
    "e",
    "E",
    "k",
    "M",
    "G",
    "T",
    "P",
    "ms",
    "us",
    "ns",
    "s",
    "on",
    "off",
    "=",
    ",",
    ",,",
    "id",
    "id=a",
    "no",
    "é",
    "€",
    "\u{fffd}",
    "\0",
    "inf",
    "nan",
];

fn fragment_line() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(FRAGMENTS), 0..24).prop_map(|v| v.concat())
}

fn profiles() -> impl Strategy<Value = Profile> {
    prop::sample::select(Profile::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn never_panics_on_arbitrary_text(line in any::<String>(), profile in profiles()) {
        check_outcome(&line, &parse(&line, profile));
        if let Ok(builtin) = Grammar::builtin() {
            let _ = parse_line(builtin, profile, &line, &mut FormatDefaults::default());
        }
    }

    #[test]
    fn never_panics_on_parser_shaped_text(line in fragment_line(), profile in profiles()) {
        check_outcome(&line, &parse(&line, profile));
        let mut defaults = FormatDefaults::default();
        if let Ok(builtin) = Grammar::builtin() {
            check_outcome(&line, &parse_line(builtin, profile, &line, &mut defaults));
        }
    }
}

#[test]
fn never_panics_on_huge_lines() {
    let long = [
        format!("str {}", "a".repeat(100_000)),
        format!("p {}1{}", "(".repeat(50_000), ")".repeat(50_000)),
        format!("p {}", "-~".repeat(50_000)),
        format!("all {}", "-".repeat(10_000)),
        format!("device_add {}", ",,".repeat(50_000)),
        format!("{} x", "é".repeat(10_000)),
        format!("info {}", "info ".repeat(10_000)),
        format!("dot/{} 1", "9".repeat(10_000)),
        format!("opt \"{}\"", "\\n".repeat(50_000)),
    ];
    for line in &long {
        for profile in Profile::ALL {
            check_outcome(line, &parse(line, profile));
        }
    }
}

/// A string as a user would quote it.
fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Strings that survive QEMU's tokenizer unchanged: no NUL, under 1024 bytes.
fn token_text() -> impl Strategy<Value = String> {
    any::<String>().prop_map(|s| {
        let mut s: String = s.chars().filter(|c| *c != '\0').collect();
        while s.len() > 1023 {
            s.pop();
        }
        s
    })
}

/// An integer and several ways of writing it.
fn int_text(v: i64) -> impl Strategy<Value = String> {
    let u = v as u64;
    let mut forms = vec![
        Just(format!("{v}")).boxed(),
        Just(format!("{u}")).boxed(),
        Just(format!("0x{u:x}")).boxed(),
        Just(format!("0X{u:X}")).boxed(),
        Just(format!("0{u:o}")).boxed(),
        Just(format!("( {v} )")).boxed(),
        Just(format!("~{}", !v)).boxed(),
        (any::<i64>())
            .prop_map(move |a| format!("{a} + {}", v.wrapping_sub(a)))
            .boxed(),
        (any::<i64>())
            .prop_map(move |a| format!("{}-{a}", v.wrapping_add(a)))
            .boxed(),
        (1i64..1000)
            .prop_map(move |a| format!("{}*{a}+{}", v / a, v % a))
            .boxed(),
    ];
    if (0x20..0x7f).contains(&v) {
        forms.push(Just(format!("'{}'", char::from(v as u8))).boxed());
    }
    prop::strategy::Union::new(forms)
}

const UNITS: &[(char, u32)] = &[
    ('B', 0),
    ('K', 10),
    ('M', 20),
    ('G', 30),
    ('T', 40),
    ('P', 50),
    ('E', 60),
];

/// A size with a suffix (either case), no suffix meaning MiB; and its bytes.
fn size_text() -> impl Strategy<Value = (String, i64)> {
    (
        0..UNITS.len(),
        any::<u64>(),
        any::<bool>(),
        prop::option::of(0u64..10),
    )
        .prop_map(|(unit, n, upper, tenth)| {
            let (letter, shift) = UNITS[unit];
            // Keep the result within i64 and fractions on units where the
            // double-precision fraction is exact enough (K, M, G).
            let n = n % ((i64::MAX as u64 >> shift) / 2).max(1);
            let tenth = tenth.filter(|_| (10..=30).contains(&shift));
            let letter = if upper {
                letter
            } else {
                letter.to_ascii_lowercase()
            };
            let bytes = (n << shift) + tenth.map_or(0, |d| ((d << shift) + 5) / 10);
            let number = match tenth {
                Some(d) => format!("{n}.{d}"),
                None => n.to_string(),
            };
            if shift == 20 && tenth.is_none() && n.is_multiple_of(2) {
                (number, bytes as i64) // MiB is the default unit
            } else {
                (format!("{number}{letter}"), bytes as i64)
            }
        })
}

fn time_text() -> impl Strategy<Value = (String, f64)> {
    (any::<u32>(), 0usize..4).prop_map(|(n, unit)| {
        let (suffix, divisor) = [("", 1.0), ("ms", 1e3), ("us", 1e6), ("ns", 1e9)][unit];
        (format!("{n}{suffix}"), f64::from(n) / divisor)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn quoted_strings_round_trip(s in token_text()) {
        let p = ok(&format!("str {}", quote(&s)), Profile::V10_0);
        prop_assert_eq!(p.args.str("s"), Some(s.as_str()));
    }

    #[test]
    fn unquoted_tokens_round_trip(s in "[^\\s\"\0][^\\s\0]{0,40}") {
        // C isspace: no Unicode blanks are separators.
        prop_assume!(!s.bytes().any(|b| b" \t\n\x0b\x0c\r".contains(&b)));
        let p = ok(&format!("str {s}"), Profile::V7_2);
        prop_assert_eq!(p.args.str("s"), Some(s.as_str()));
    }

    #[test]
    fn rest_of_line_round_trips(s in "[^\\s\0][^\0]{0,80}") {
        prop_assume!(!b" \t\n\x0b\x0c\r".contains(&s.as_bytes()[0]));
        let p = ok(&format!("rest \t{s}"), Profile::V10_0);
        prop_assert_eq!(p.args.str("r"), Some(s.as_str()));
    }

    #[test]
    fn integers_round_trip((v, text) in any::<i64>().prop_flat_map(|v| (Just(v), int_text(v)))) {
        let p = ok(&format!("p {text}"), Profile::V7_2);
        prop_assert_eq!(p.args.get("val"), Some(&ArgValue::Int(v)));
    }

    #[test]
    fn sizes_round_trip((text, bytes) in size_text(), profile in profiles()) {
        let p = ok(&format!("opt \"\" \"\" \"\" 0 0 0 {text}"), profile);
        prop_assert_eq!(p.args.int("sz"), Some(bytes));
    }

    #[test]
    fn every_kind_round_trips_together(
        flags in (any::<bool>(), any::<bool>(), prop::option::of(token_text())),
        strings in (token_text(), token_text(), token_text()),
        n32 in any::<u32>(),
        n64 in any::<i64>(),
        mib in 0i64..(i64::MAX >> 20),
        (size, bytes) in size_text(),
        (time, seconds) in time_text(),
        up in any::<bool>(),
        profile in profiles(),
    ) {
        let (a, b, c) = flags;
        let mut line = String::from("all");
        if a { line.push_str(" -a"); }
        if b { line.push_str(" -b"); }
        if let Some(v) = &c { line.push_str(&format!(" -c {}", quote(v))); }
        line.push_str(&format!(
            // n64 in parentheses: `1 -2` would be read as one subtraction.
            " {} {} {} {n32} ({n64}) {mib} {size} {time} {}",
            quote(&strings.0), quote(&strings.1), quote(&strings.2), if up { "on" } else { "off" }
        ));
        let p = ok(&line, profile);
        let args = &p.args;
        prop_assert_eq!(args.flag("f1"), a);
        prop_assert_eq!(args.flag("f2"), b);
        prop_assert_eq!(args.str("v"), c.as_deref());
        prop_assert_eq!(args.str("name"), Some(strings.0.as_str()));
        prop_assert_eq!(args.str("file"), Some(strings.1.as_str()));
        prop_assert_eq!(args.str("dev"), Some(strings.2.as_str()));
        prop_assert_eq!(args.int("n32"), Some(i64::from(n32)));
        prop_assert_eq!(args.int("n64"), Some(n64));
        prop_assert_eq!(args.int("mib"), Some(mib << 20));
        prop_assert_eq!(args.int("sz"), Some(bytes));
        prop_assert_eq!(args.get("t"), Some(&ArgValue::Float(seconds)));
        prop_assert_eq!(args.get("up"), Some(&ArgValue::Bool(up)));
    }

    #[test]
    fn formats_round_trip(
        count in prop::option::of(0u32..100_000),
        format in prop::option::of(prop::sample::select(vec!['o', 'd', 'u', 'x', 'i', 'c'])),
        size in prop::option::of(prop::sample::select(vec![('b', 1i64), ('h', 2), ('w', 4), ('g', 8), ('L', 8)])),
        start in (prop::sample::select(vec!['o', 'd', 'u', 'x', 'i', 'c']), prop::sample::select(vec![1i64, 2, 4, 8])),
    ) {
        let mut defaults = FormatDefaults { format: start.0, size: start.1 };
        let spec = format!(
            "/{}{}{}",
            count.map(|c| c.to_string()).unwrap_or_default(),
            format.map(String::from).unwrap_or_default(),
            size.map(|s| s.0.to_string()).unwrap_or_default()
        );
        let p = parse_line(grammar(), Profile::V10_0, &format!("p{spec} 1"), &mut defaults)
            .expect("parses")
            .expect("not blank");
        let want_format = format.unwrap_or(start.0);
        let want_size = match (want_format, size) {
            (_, Some(s)) => s.1,
            ('i', None) => -1,
            (_, None) => start.1,
        };
        prop_assert_eq!(p.args.int("count"), Some(i64::from(count.unwrap_or(1))));
        let want_letter = want_format.to_string();
        prop_assert_eq!(p.args.str("format"), Some(want_letter.as_str()));
        prop_assert_eq!(p.args.int("size"), Some(want_size));
        prop_assert_eq!(defaults.format, want_format);
        // Format `i` never changes the remembered size, even with a size letter.
        prop_assert_eq!(defaults.size, if want_format == 'i' { start.1 } else { want_size });
    }

    #[test]
    fn option_strings_round_trip(
        id in prop::option::of("[a-zA-Z][a-zA-Z0-9._-]{0,8}"),
        pairs in prop::collection::btree_map("[a-z][a-z0-9_]{0,8}", token_text(), 0..5),
    ) {
        prop_assume!(!pairs.contains_key("id") && !pairs.contains_key("driver"));
        let mut text = String::from("nodev");
        if let Some(id) = &id {
            text.push_str(&format!(",id={id}"));
        }
        for (k, v) in &pairs {
            text.push_str(&format!(",{k}={}", v.replace(',', ",,")));
        }
        let p = ok(&format!("device_add {}", quote(&text)), Profile::V10_0);
        prop_assert_eq!(p.args.str("driver"), Some("nodev"));
        prop_assert_eq!(p.args.str("id"), id.as_deref());
        for (k, v) in &pairs {
            prop_assert_eq!(p.args.str(k), Some(v.as_str()));
        }
        prop_assert_eq!(p.args.len(), 1 + usize::from(id.is_some()) + pairs.len());
        prop_assert!(p.warnings.is_empty());
    }
}
