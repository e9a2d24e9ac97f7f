//! Reading a command's arguments per its `args_type`, left to right, with
//! QEMU's rules and messages for each type code.

use super::cursor::{printed_byte, Cursor};
use super::error::Failure;
use super::expr::{parse_expr, ExprValue};
use super::format::{parse_format, FormatDefaults};
use super::opts::{implied_key, parse_options};
use super::size::parse_size;
use super::time::parse_time;
use super::tokenizer::read_token;
use super::value::{ArgValue, Args};
use crate::grammar::{ArgKind, ArgSpec, Entry, Optionality, Profile};

/// Typed arguments and what QEMU would print on its stderr meanwhile.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    pub args: Args,
    pub warnings: Vec<String>,
}

/// Parses the arguments of `entry` from the cursor to the end of the line.
pub(crate) fn parse_arguments(
    entry: &Entry,
    profile: Profile,
    cur: &mut Cursor,
    defaults: &mut FormatDefaults,
) -> Result<Parsed, Failure> {
    let specs = &entry.args_type.get(profile).args;
    let name = entry.name.as_str();
    let mut out = Parsed::default();
    for (index, spec) in specs.iter().enumerate() {
        parse_one(
            name,
            spec,
            &specs[index + 1..],
            profile,
            cur,
            defaults,
            &mut out,
        )?;
    }
    cur.skip_space();
    if !cur.at_end() {
        return Err(Failure::new(
            format!("{name}: extraneous characters at the end of line"),
            cur.pos,
        ));
    }
    Ok(out)
}

/// The rest of the `args_type` text after a flag's letter, as QEMU searches
/// it for `-X` (a plain substring search, so `read-only-mode` contains `-o`).
fn remaining_type_text(spec: &ArgSpec, later: &[ArgSpec]) -> String {
    let mut text = String::new();
    if matches!(spec.kind, ArgKind::FlagValue(_)) {
        text.push('s');
    }
    for s in later {
        text.push(',');
        text.push_str(&s.to_string());
    }
    text
}

fn parse_one(
    name: &str,
    spec: &ArgSpec,
    later: &[ArgSpec],
    profile: Profile,
    cur: &mut Cursor,
    defaults: &mut FormatDefaults,
    out: &mut Parsed,
) -> Result<(), Failure> {
    let key = spec.name.as_str();
    let optional = spec.optionality == Optionality::Optional;
    match spec.kind {
        ArgKind::Str | ArgKind::Filename | ArgKind::BlockDevice => {
            cur.skip_space();
            if optional && cur.at_end() {
                return Ok(());
            }
            let token = read_token(cur).map_err(|t| {
                let what = match spec.kind {
                    ArgKind::Filename => "filename",
                    ArgKind::BlockDevice => "block device name",
                    _ => "string",
                };
                Failure::new(format!("{name}: {what} expected"), t.at).with_detail(t.detail)
            })?;
            out.args.insert(key, ArgValue::Str(token));
        }
        ArgKind::Opts => {
            let Some(implied) = implied_key(key) else {
                return Err(Failure::new(format!("{name}: unknown type 'O'"), cur.pos));
            };
            cur.skip_space();
            if cur.at_end() {
                return Ok(());
            }
            let start = cur.pos;
            let token =
                read_token(cur).map_err(|t| Failure::new("", t.at).with_detail(t.detail))?;
            let options = parse_options(&token, implied)
                .map_err(|detail| Failure::new("", start).with_detail(Some(detail)))?;
            // QEMU collects the items in a QDict: a repeated key keeps its
            // last value, even a list-typed one (`hostfwd`).
            out.args.set_option_items(options.entries.clone());
            for (k, v) in options.entries {
                out.args.insert(k, ArgValue::Str(v));
            }
            out.warnings.extend(options.warnings);
        }
        ArgKind::Format => {
            cur.skip_space();
            let f = parse_format(cur, defaults)?;
            out.args.insert("count", ArgValue::Int(f.count));
            out.args
                .insert("format", ArgValue::Str(f.format.to_string()));
            out.args.insert("size", ArgValue::Int(f.size));
        }
        ArgKind::Int32 | ArgKind::Int64 | ArgKind::SizeMiB => {
            cur.skip_space();
            match spec.optionality {
                Optionality::Optional if cur.at_end() => return Ok(()),
                Optionality::Dotted if cur.peek() != b'.' => return Ok(()),
                Optionality::Dotted => {
                    cur.bump();
                    cur.skip_space();
                }
                _ => {}
            }
            let start = cur.pos;
            let value = match parse_expr(cur)? {
                ExprValue::NeedsVm(text) => ArgValue::NeedsVm(text),
                ExprValue::Known(v) => ArgValue::Int(check_integer(name, spec.kind, v, start)?),
            };
            out.args.insert(key, value);
        }
        ArgKind::Size => {
            cur.skip_space();
            if optional && cur.at_end() {
                return Ok(());
            }
            let Some(size) = parse_size(cur.rest(), profile) else {
                return Err(Failure::new("invalid size", cur.pos));
            };
            cur.pos += size.end;
            out.warnings.extend(size.warning);
            // parse_size rejects anything above i64::MAX.
            out.args.insert(key, ArgValue::Int(size.bytes as i64));
        }
        ArgKind::Time => {
            cur.skip_space();
            if optional && cur.at_end() {
                return Ok(());
            }
            let seconds = parse_time(cur)?;
            out.args.insert(key, ArgValue::Float(seconds));
        }
        ArgKind::Bool => {
            cur.skip_space();
            let start = cur.pos;
            while (0x21..=0x7e).contains(&cur.peek()) {
                cur.bump();
            }
            let value = match cur.slice(start, cur.pos) {
                b"on" => true,
                b"off" => false,
                _ => return Err(Failure::new("Expected 'on' or 'off'", start)),
            };
            out.args.insert(key, ArgValue::Bool(value));
        }
        ArgKind::Flag(letter) | ArgKind::FlagValue(letter) => {
            let before = cur.pos;
            cur.skip_space();
            if cur.peek() != b'-' {
                return Ok(());
            }
            let dash = cur.pos;
            cur.bump();
            let typed = cur.peek();
            if u32::from(typed) != u32::from(letter) {
                let needle: &[u8] = if typed == 0 { b"-" } else { &[b'-', typed] };
                let rest = remaining_type_text(spec, later);
                if rest.as_bytes().windows(needle.len()).any(|w| w == needle) {
                    // Meant for a later flag: leave the input alone.
                    cur.pos = before;
                    return Ok(());
                }
                // `%c` of the NUL at the end of the line cuts QEMU's text.
                let shown = if typed == 0 {
                    String::new()
                } else {
                    printed_byte(typed).to_string()
                };
                let mut failure =
                    Failure::new(format!("{name}: unsupported option -{shown}"), dash);
                failure.no_newline = typed == 0;
                return Err(failure);
            }
            cur.bump();
            if matches!(spec.kind, ArgKind::FlagValue(_)) {
                let value = read_token(cur).map_err(|t| {
                    Failure::new(format!("{name}: value expected for -{letter}"), t.at)
                        .with_detail(t.detail)
                })?;
                out.args.insert(key, ArgValue::Str(value));
            } else {
                out.args.insert(key, ArgValue::Bool(true));
            }
        }
        ArgKind::RestOfLine => {
            cur.skip_space();
            if optional && cur.at_end() {
                return Ok(());
            }
            if cur.at_end() {
                return Err(Failure::new(format!("{name}: string expected"), cur.pos));
            }
            let rest = String::from_utf8_lossy(cur.rest()).into_owned();
            cur.pos += cur.rest().len();
            out.args.insert(key, ArgValue::Str(rest));
        }
    }
    Ok(())
}

/// The checks QEMU applies to a known integer value.
fn check_integer(name: &str, kind: ArgKind, value: i64, at: usize) -> Result<i64, Failure> {
    match kind {
        ArgKind::Int32 if (value as u64) >> 32 != 0 => Err(Failure::new(
            format!("'{name}' has failed: integer is for 32-bit values"),
            at,
        )),
        ArgKind::SizeMiB if value < 0 => Err(Failure::new("enter a positive value", at)),
        ArgKind::SizeMiB => Ok(value.wrapping_mul(1 << 20)),
        _ => Ok(value),
    }
}
