//! Whole-line behaviour on a small inline grammar. Expected texts are what
//! QEMU 7.2 and 10.0 printed for the same lines (with `\r\n` turned into
//! `\n`); see tests/parse_live.rs for the live comparison.

use super::*;
use crate::grammar::{Grammar, Profile};
use std::sync::OnceLock;

fn entry(name: &str, args: &str, extra: &str) -> String {
    format!("[{name}]\nversions: 7.2 10.0\nargs: {args}\nhelp: h\nqmp: hmp-only\n{extra}\n")
}

fn grammar() -> &'static Grammar {
    static G: OnceLock<Grammar> = OnceLock::new();
    G.get_or_init(|| {
        let commands = [
            entry("help|?", "name:S?", ""),
            entry("cont|c", "", ""),
            entry("stop|s", "", ""),
            entry("print|p", "fmt:/,val:l", ""),
            entry("x", "fmt:/,addr:l", ""),
            entry("i", "fmt:/,addr:i,index:i.", ""),
            entry("cpu", "index:i", ""),
            entry("balloon", "value:M", ""),
            entry("eject", "force:-f,device:B", ""),
            entry("block_resize", "device:B,size:o", ""),
            entry(
                "change",
                "device:B,force:-f,target:F,arg:s?,read-only-mode:s?",
                "",
            ),
            entry("screendump", "filename:F,format:-fs,device:s?,head:i?", ""),
            entry("set_link", "name:s,up:b", ""),
            entry("device_add", "device:O", ""),
            entry("netdev_add", "netdev:O", ""),
            entry("widget_add", "widget:O", ""),
            entry("sendkey", "keys:s,hold-time:i?", ""),
            entry("logfile", "filename:F", ""),
            entry("migrate_set_parameter", "parameter:s,value:S", ""),
            entry("sleep", "seconds:T?", ""),
            entry("info", "item:s?", "subtable: info"),
        ]
        .concat()
            + "[only10]\nversions: 10.0\nhelp: h\nqmp: hmp-only\n";
        let info = [
            entry("block", "nodes:-n,verbose:-v,device:B?", ""),
            entry("version", "", ""),
            entry("registers", "cpustate_all:-a,vcpu:i?", ""),
        ]
        .concat();
        Grammar::from_sources(&[
            ("commands.hmp", commands.as_str()),
            ("info.hmp", info.as_str()),
        ])
        .expect("the test grammar is well-formed")
    })
}

fn parse_in(profile: Profile, line: &str) -> Result<Option<ParsedCommand<'static>>, ParseError> {
    parse_line(grammar(), profile, line, &mut FormatDefaults::default())
}

fn ok(line: &str) -> ParsedCommand<'static> {
    match parse_in(Profile::V10_0, line) {
        Ok(Some(p)) => p,
        other => panic!("{line:?}: {other:?}"),
    }
}

fn err(line: &str) -> ParseError {
    match parse_in(Profile::V10_0, line) {
        Err(e) => e,
        other => panic!("{line:?} should fail: {other:?}"),
    }
}

/// The monitor text QEMU prints for a rejected line.
fn text(line: &str) -> String {
    err(line).hmp_text()
}

fn try_help(message: &str, spelled: &str) -> String {
    format!("{message}\nTry \"help {spelled}\" for more information\n")
}

fn pairs(p: &ParsedCommand) -> Vec<(String, ArgValue)> {
    p.args
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn s(v: &str) -> ArgValue {
    ArgValue::Str(v.into())
}

#[test]
fn blank_lines_are_nothing() {
    assert_eq!(parse_in(Profile::V10_0, ""), Ok(None));
    assert_eq!(parse_in(Profile::V10_0, " \t\x0b "), Ok(None));
    assert_eq!(parse_in(Profile::V10_0, "\0c"), Ok(None));
}

#[test]
fn names_and_aliases() {
    let p = ok("c");
    assert_eq!(p.entry.name, "cont|c");
    assert_eq!(p.path.len(), 1);
    assert_eq!(p.spelled, "c");
    assert!(p.args.is_empty());
    assert_eq!(ok("  cont  ").spelled, "  cont");
    // The name ends at a slash.
    assert_eq!(ok("x/2 0").entry.name, "x");
    // A NUL ends the line.
    assert_eq!(ok("c\0 junk").entry.name, "cont|c");
}

#[test]
fn unknown_commands_quote_the_line_up_to_the_word() {
    assert_eq!(text("foo bar"), "unknown command: 'foo'\n");
    assert_eq!(text("  info  foo x"), "unknown command: '  info  foo'\n");
    assert_eq!(text("/x"), "unknown command: ''\n");
    assert_eq!(text("  /x"), "unknown command: '  '\n");
    assert_eq!(text("info/foo"), "unknown command: 'info'\n");
    assert_eq!(text("cont|c"), "unknown command: 'cont|c'\n");
    assert_eq!(text("C"), "unknown command: 'C'\n");
    let e = err("  info  foo");
    assert_eq!(e.column, 8);
    assert_eq!(e.try_help, None);
}

#[test]
fn commands_missing_from_a_profile_are_unknown() {
    assert!(parse_in(Profile::V10_0, "only10").is_ok());
    assert_eq!(
        parse_in(Profile::V7_2, "only10").unwrap_err().hmp_text(),
        "unknown command: 'only10'\n"
    );
}

#[test]
fn info_and_its_sub_table() {
    let p = ok("info");
    assert_eq!(p.entry.name, "info");
    assert!(p.args.is_empty());
    assert_eq!(ok("info   ").path.len(), 1);
    let p = ok("info  block -v hd0");
    assert_eq!(p.entry.name, "block");
    let names: Vec<&str> = p.path.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["info", "block"]);
    assert_eq!(p.spelled, "info  block");
    assert_eq!(
        pairs(&p),
        vec![
            ("verbose".into(), ArgValue::Bool(true)),
            ("device".into(), s("hd0"))
        ]
    );
    assert_eq!(
        text("  info  block  -x"),
        try_help("block: unsupported option -x", "  info  block")
    );
}

#[test]
fn string_kinds_and_their_messages() {
    assert_eq!(
        text("eject"),
        try_help("eject: block device name expected", "eject")
    );
    assert_eq!(
        text("logfile"),
        try_help("logfile: filename expected", "logfile")
    );
    assert_eq!(
        text("set_link"),
        try_help("set_link: string expected", "set_link")
    );
    let e = err("eject \"abc");
    assert_eq!(
        e.hmp_text(),
        try_help("eject: block device name expected", "eject")
    );
    assert_eq!(e.detail.as_deref(), Some("unterminated string"));
    assert_eq!(e.column, 6);
    let e = err("eject \"a\\q\"");
    assert_eq!(e.detail.as_deref(), Some("unsupported escape code: '\\q'"));
    assert_eq!(
        pairs(&ok("eject \"a b\"")),
        vec![("device".into(), s("a b"))]
    );
    assert_eq!(
        text("eject \"a b\"c"),
        try_help("eject: extraneous characters at the end of line", "eject")
    );
    assert_eq!(pairs(&ok("eject a\"b")), vec![("device".into(), s("a\"b"))]);
}

#[test]
fn optional_strings_only_at_the_end() {
    assert_eq!(
        pairs(&ok("change cd0 /a.iso")),
        vec![("device".into(), s("cd0")), ("target".into(), s("/a.iso"))]
    );
    let p = ok("change cd0 /a.iso raw read-only");
    assert_eq!(p.args.str("read-only-mode"), Some("read-only"));
    assert_eq!(p.args.str("arg"), Some("raw"));
}

#[test]
fn rest_of_line_is_verbatim() {
    let p = ok("migrate_set_parameter  max-bandwidth   10 \"x\"\\n  ");
    assert_eq!(p.args.str("value"), Some("10 \"x\"\\n  "));
    assert_eq!(
        text("migrate_set_parameter x"),
        try_help(
            "migrate_set_parameter: string expected",
            "migrate_set_parameter"
        )
    );
    assert!(ok("help").args.is_empty());
    assert_eq!(ok("? info  block ").args.str("name"), Some("info  block "));
}

#[test]
fn flags_in_args_type_order() {
    assert_eq!(
        pairs(&ok("eject -f cd0")),
        vec![
            ("force".into(), ArgValue::Bool(true)),
            ("device".into(), s("cd0"))
        ]
    );
    // The letter needs no blank after it.
    assert_eq!(ok("eject -fcd0").args.str("device"), Some("cd0"));
    assert_eq!(
        text("eject -x foo"),
        try_help("eject: unsupported option -x", "eject")
    );
    assert_eq!(
        text("eject -f"),
        try_help("eject: block device name expected", "eject")
    );
    // Flags given out of order: -n is taken as the device.
    assert_eq!(ok("info block -v -n").args.str("device"), Some("-n"));
    assert_eq!(ok("info block -v-n").args.str("device"), Some("-n"));
    assert_eq!(
        text("info block -n -n"),
        try_help("block: unsupported option -n", "info block")
    );
    // `-o` and `-m` occur in the later key `read-only-mode`.
    assert_eq!(ok("change cd0 -o x").args.str("target"), Some("-o"));
    assert_eq!(ok("change cd0 -m").args.str("target"), Some("-m"));
    assert_eq!(
        text("eject -é"),
        try_help("eject: unsupported option -\u{fffd}", "eject")
    );
}

#[test]
fn a_lone_dash_cuts_qemus_message() {
    let e = err("eject -");
    assert!(e.no_newline);
    assert_eq!(
        e.hmp_text(),
        "eject: unsupported option -Try \"help eject\" for more information\n"
    );
    // A later key with a '-' in it makes the dash acceptable.
    assert_eq!(ok("change cd0 -").args.str("target"), Some("-"));
}

#[test]
fn flags_with_values() {
    assert_eq!(
        ok("screendump a.ppm -f png").args.str("format"),
        Some("png")
    );
    assert_eq!(ok("screendump a.ppm -fpng").args.str("format"), Some("png"));
    assert_eq!(
        ok("screendump a.ppm -f \"p q\" dev 1").args.int("head"),
        Some(1)
    );
    assert_eq!(
        text("screendump a.ppm -f"),
        try_help("screendump: value expected for -f", "screendump")
    );
    let e = err("screendump a.ppm -f \"x");
    assert_eq!(e.detail.as_deref(), Some("unterminated string"));
}

#[test]
fn booleans() {
    assert_eq!(
        ok("set_link n0 on").args.get("up"),
        Some(&ArgValue::Bool(true))
    );
    assert_eq!(
        ok("set_link n0 off").args.get("up"),
        Some(&ArgValue::Bool(false))
    );
    for line in [
        "set_link x maybe",
        "set_link x",
        "set_link x onx",
        "set_link x ON",
    ] {
        assert_eq!(
            text(line),
            try_help("Expected 'on' or 'off'", "set_link"),
            "{line}"
        );
    }
    assert_eq!(
        text("set_link x on extra"),
        try_help(
            "set_link: extraneous characters at the end of line",
            "set_link"
        )
    );
}

#[test]
fn integers() {
    assert_eq!(ok("p 1 + 2 * 3").args.int("val"), Some(7));
    assert_eq!(
        text("p 1 2"),
        try_help("print|p: extraneous characters at the end of line", "p")
    );
    assert_eq!(
        text("p 08"),
        try_help("print|p: extraneous characters at the end of line", "p")
    );
    assert_eq!(text("p"), try_help("unexpected end of expression", "p"));
    assert_eq!(
        text("p é"),
        try_help("invalid char '\u{fffd}' in expression", "p")
    );
    assert_eq!(
        text("cpu 4294967296"),
        try_help("'cpu' has failed: integer is for 32-bit values", "cpu")
    );
    assert_eq!(
        text("cpu -1"),
        try_help("'cpu' has failed: integer is for 32-bit values", "cpu")
    );
    assert_eq!(ok("cpu 0xffffffff").args.int("index"), Some(0xffff_ffff));
    assert_eq!(
        text("sendkey a -1"),
        try_help(
            "'sendkey' has failed: integer is for 32-bit values",
            "sendkey"
        )
    );
    assert_eq!(
        text("sendkey a x"),
        try_help("invalid char 'x' in expression", "sendkey")
    );
    assert_eq!(ok("sendkey a").args.int("hold-time"), None);
}

#[test]
fn mib_integers() {
    assert_eq!(ok("balloon 512").args.int("value"), Some(512 << 20));
    assert_eq!(
        text("balloon -1"),
        try_help("enter a positive value", "balloon")
    );
}

#[test]
fn dotted_optional_integers() {
    let p = ok("i/b 0x3c4 .5");
    assert_eq!(p.args.int("addr"), Some(0x3c4));
    assert_eq!(p.args.int("index"), Some(5));
    assert_eq!(ok("i/b 0x3c4 . 5").args.int("index"), Some(5));
    assert_eq!(ok("i/b 0x3c4").args.int("index"), None);
    assert_eq!(
        text("i/b 0x3c4 5"),
        try_help("i: extraneous characters at the end of line", "i")
    );
    assert_eq!(
        text("i/b 0x3c4 ."),
        try_help("unexpected end of expression", "i")
    );
}

#[test]
fn registers_need_the_vm() {
    let p = ok("x/10i $pc");
    assert_eq!(p.args.get("addr"), Some(&ArgValue::NeedsVm("$pc".into())));
    assert!(p.args.needs_vm());
    assert_eq!(text("p $"), try_help("unknown register", "p"));
    assert_eq!(
        ok("cpu $ecx").args.get("index"),
        Some(&ArgValue::NeedsVm("$ecx".into()))
    );
}

#[test]
fn sizes() {
    assert_eq!(ok("block_resize hd0 10G").args.int("size"), Some(10 << 30));
    assert_eq!(ok("block_resize hd0 10").args.int("size"), Some(10 << 20));
    assert_eq!(
        text("block_resize hd0"),
        try_help("invalid size", "block_resize")
    );
    assert_eq!(
        text("block_resize hd0 8E"),
        try_help("invalid size", "block_resize")
    );
    assert_eq!(
        text("block_resize x 10Gx"),
        try_help(
            "block_resize: extraneous characters at the end of line",
            "block_resize"
        )
    );
    let old = parse_line(
        grammar(),
        Profile::V7_2,
        "block_resize x 0x10M",
        &mut FormatDefaults::default(),
    );
    let old = old.unwrap().unwrap();
    assert_eq!(old.args.int("size"), Some(16 << 20));
    assert_eq!(old.warnings.len(), 1);
    assert_eq!(
        text("block_resize x 0x10M"),
        try_help("invalid size", "block_resize")
    );
    assert!(parse_in(Profile::V7_2, "block_resize x .5").is_err());
    assert_eq!(ok("block_resize x .5").args.int("size"), Some(1 << 19));
}

#[test]
fn times() {
    assert_eq!(
        ok("sleep 1.5ms").args.get("seconds"),
        Some(&ArgValue::Float(0.0015))
    );
    assert_eq!(ok("sleep").args.get("seconds"), None);
    assert_eq!(text("sleep soon"), try_help("Number expected", "sleep"));
    assert_eq!(text("sleep 5s"), try_help("Unknown unit suffix", "sleep"));
    assert_eq!(text("sleep inf"), try_help("Bad number", "sleep"));
}

#[test]
fn formats_and_remembered_defaults() {
    let mut d = FormatDefaults::default();
    let g = grammar();
    let p = parse_line(g, Profile::V10_0, "x/10i $pc", &mut d)
        .unwrap()
        .unwrap();
    assert_eq!(
        pairs(&p)[..3],
        [
            ("count".to_string(), ArgValue::Int(10)),
            ("format".to_string(), s("i")),
            ("size".to_string(), ArgValue::Int(-1)),
        ]
    );
    // A later failure does not undo the remembered format.
    assert!(parse_line(g, Profile::V10_0, "x/2d zzz", &mut d).is_err());
    assert_eq!(
        d,
        FormatDefaults {
            format: 'd',
            size: 4
        }
    );
    let p = parse_line(g, Profile::V10_0, "p 10", &mut d)
        .unwrap()
        .unwrap();
    assert_eq!(p.args.str("format"), Some("d"));
    assert_eq!(p.args.int("count"), Some(1));
    assert_eq!(
        parse_line(g, Profile::V10_0, "x/q 0", &mut d)
            .unwrap_err()
            .hmp_text(),
        try_help("invalid char in format: 'q'", "x")
    );
}

#[test]
fn option_strings() {
    let p = ok("device_add e1000,id=n1,mac=52:54:00:12:34:56");
    assert_eq!(
        pairs(&p),
        vec![
            ("id".into(), s("n1")),
            ("driver".into(), s("e1000")),
            ("mac".into(), s("52:54:00:12:34:56")),
        ]
    );
    assert_eq!(
        pairs(&ok("netdev_add user,id=u")),
        vec![("id".into(), s("u")), ("type".into(), s("user"))]
    );
    assert!(ok("device_add").args.is_empty());
    assert!(ok("device_add \"\"").args.is_empty());
    assert_eq!(
        ok("device_add \"e1000,serial=a b\"").args.str("serial"),
        Some("a b")
    );
    let p = ok("device_add e1000,foo");
    assert_eq!(p.args.str("foo"), Some("on"));
    assert_eq!(
        p.warnings,
        vec![
            "warning: short-form boolean option 'foo' deprecated\nPlease use foo=on instead"
                .to_string()
        ]
    );
    let e = err("device_add e1000,id=1x");
    assert_eq!(
        e.hmp_text(),
        "Try \"help device_add\" for more information\n"
    );
    assert!(e
        .detail
        .unwrap()
        .starts_with("Parameter 'id' expects an identifier\n"));
    let e = err("device_add \"e1000");
    assert_eq!(
        e.hmp_text(),
        "Try \"help device_add\" for more information\n"
    );
    assert_eq!(e.detail.as_deref(), Some("unterminated string"));
    assert_eq!(
        text("device_add e1000 extra"),
        try_help(
            "device_add: extraneous characters at the end of line",
            "device_add"
        )
    );
    assert_eq!(
        text("widget_add x"),
        try_help("widget_add: unknown type 'O'", "widget_add")
    );
    assert_eq!(
        text("widget_add"),
        try_help("widget_add: unknown type 'O'", "widget_add")
    );
}

#[test]
fn extraneous_characters_name_the_full_table_entry() {
    assert_eq!(
        text("c x y"),
        try_help("cont|c: extraneous characters at the end of line", "c")
    );
    assert_eq!(
        text("stop x"),
        try_help("stop|s: extraneous characters at the end of line", "stop")
    );
    assert_eq!(
        text("c\x0bx"),
        try_help("cont|c: extraneous characters at the end of line", "c")
    );
    let e = err("info version  now");
    assert_eq!(
        e.hmp_text(),
        try_help(
            "version: extraneous characters at the end of line",
            "info version"
        )
    );
    assert_eq!(e.column, 14);
    assert_eq!(
        e.caret("info version  now"),
        "info version  now\n              ^"
    );
}

#[test]
fn columns_count_characters() {
    let e = err("eject é \"x");
    assert_eq!(e.column, 8);
    let e = err("p 1 + é");
    assert_eq!(e.column, 6);
}
