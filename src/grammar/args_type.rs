//! The `args_type` mini-language: `device:B,target:F,arg:s?,force:-f`.
//!
//! Each comma-separated item is `key:TYPE[modifier]`; see QEMU's
//! `monitor_parse_arguments` for the semantics the line parser implements.

use nom::branch::alt;
use nom::bytes::complete::{tag, take_while1};
use nom::character::complete::{char, one_of, satisfy};
use nom::combinator::{all_consuming, map, opt};
use nom::sequence::preceded;
use nom::{IResult, Parser};
use std::fmt;

/// What one argument accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    /// `s`: one token.
    Str,
    /// `F`: one token naming a file.
    Filename,
    /// `B`: one token naming a block device.
    BlockDevice,
    /// `S`: the rest of the line, verbatim.
    RestOfLine,
    /// `O`: a `key=value,…` option string for the option list named by the key.
    Opts,
    /// `i`: a 32-bit integer expression.
    Int32,
    /// `l`: a 64-bit integer expression.
    Int64,
    /// `M`: an integer expression in MiB, stored in bytes.
    SizeMiB,
    /// `o`: a size with optional suffix (default MiB), stored in bytes.
    Size,
    /// `T`: a time with optional `ms`/`us`/`ns` suffix, stored in seconds.
    Time,
    /// `b`: `on` or `off`.
    Bool,
    /// `/`: an `x`-style format `/[count][format][size]`.
    Format,
    /// `-X`: a boolean flag.
    Flag(char),
    /// `-Xs`: a flag that takes a value.
    FlagValue(char),
}

impl ArgKind {
    /// The type code as it appears in an `args_type` string.
    pub fn code(self) -> String {
        match self {
            ArgKind::Str => "s".into(),
            ArgKind::Filename => "F".into(),
            ArgKind::BlockDevice => "B".into(),
            ArgKind::RestOfLine => "S".into(),
            ArgKind::Opts => "O".into(),
            ArgKind::Int32 => "i".into(),
            ArgKind::Int64 => "l".into(),
            ArgKind::SizeMiB => "M".into(),
            ArgKind::Size => "o".into(),
            ArgKind::Time => "T".into(),
            ArgKind::Bool => "b".into(),
            ArgKind::Format => "/".into(),
            ArgKind::Flag(c) => format!("-{c}"),
            ArgKind::FlagValue(c) => format!("-{c}s"),
        }
    }

    /// Flags are inherently optional and are matched by their letter.
    pub fn flag_char(self) -> Option<char> {
        match self {
            ArgKind::Flag(c) | ArgKind::FlagValue(c) => Some(c),
            _ => None,
        }
    }

    /// True for the integer expression kinds, the only ones that take `.`.
    pub fn is_integer(self) -> bool {
        matches!(self, ArgKind::Int32 | ArgKind::Int64 | ArgKind::SizeMiB)
    }
}

/// Whether an argument must be given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Optionality {
    Required,
    /// `?`: omitted when the line is exhausted.
    Optional,
    /// `.`: given only when introduced by a `.` (`i/b 0x3c4 .5`).
    Dotted,
}

/// One argument of a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgSpec {
    pub name: String,
    pub kind: ArgKind,
    pub optionality: Optionality,
}

impl ArgSpec {
    pub fn is_optional(&self) -> bool {
        self.optionality != Optionality::Required || self.kind.flag_char().is_some()
    }
}

impl fmt::Display for ArgSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let modifier = match self.optionality {
            Optionality::Required => "",
            Optionality::Optional => "?",
            Optionality::Dotted => ".",
        };
        write!(f, "{}:{}{}", self.name, self.kind.code(), modifier)
    }
}

/// A parsed `args_type` string: the arguments in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ArgsType {
    pub args: Vec<ArgSpec>,
}

impl ArgsType {
    /// Parses an `args_type` string. On failure returns the byte offset of the
    /// offending spot and what was expected there.
    pub fn parse(src: &str) -> Result<ArgsType, (usize, String)> {
        let mut args = Vec::new();
        if !src.is_empty() {
            let mut offset = 0;
            for item in src.split(',') {
                match all_consuming(arg_spec).parse(item) {
                    Ok((_, spec)) => args.push(spec),
                    Err(nom::Err::Error(e)) | Err(nom::Err::Failure(e)) => {
                        let at = offset + item.len() - e.input.len();
                        return Err((at, expected_at(src, at)));
                    }
                    Err(nom::Err::Incomplete(_)) => return Err((src.len(), "more input".into())),
                }
                offset += item.len() + 1;
            }
        }
        let args_type = ArgsType { args };
        args_type.validate().map_err(|e| (0, e))?;
        Ok(args_type)
    }

    /// The spec for an argument name.
    pub fn get(&self, name: &str) -> Option<&ArgSpec> {
        self.args.iter().find(|a| a.name == name)
    }

    fn validate(&self) -> Result<(), String> {
        for (i, a) in self.args.iter().enumerate() {
            if self.args[..i].iter().any(|b| b.name == a.name) {
                return Err(format!("argument '{}' is declared twice", a.name));
            }
            if a.optionality == Optionality::Dotted && !a.kind.is_integer() {
                return Err(format!(
                    "argument '{}': the '.' modifier applies only to i, l and M",
                    a.name
                ));
            }
            if a.optionality != Optionality::Required
                && matches!(
                    a.kind,
                    ArgKind::Bool | ArgKind::Format | ArgKind::Flag(_) | ArgKind::FlagValue(_)
                )
            {
                return Err(format!(
                    "argument '{}': type '{}' takes no modifier",
                    a.name,
                    a.kind.code()
                ));
            }
        }
        Ok(())
    }
}

impl fmt::Display for ArgsType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{a}")?;
        }
        Ok(())
    }
}

fn expected_at(src: &str, offset: usize) -> String {
    let before = &src[..offset];
    if before.is_empty() || before.ends_with(',') {
        "an argument name".into()
    } else if before.ends_with(':') && !src[offset..].starts_with('-') {
        "a type code (one of s F B S O i l M o T b / or -X / -Xs)".into()
    } else if before.ends_with('-') || (before.ends_with(':') && src[offset..].starts_with('-')) {
        "a flag letter after '-'".into()
    } else {
        "',' or the end of the args_type".into()
    }
}

fn arg_spec(input: &str) -> IResult<&str, ArgSpec> {
    let (input, name) =
        take_while1(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-')(input)?;
    let (input, _) = char(':')(input)?;
    let (input, kind) = alt((flag_kind, plain_kind)).parse(input)?;
    let (input, modifier) = opt(one_of("?.")).parse(input)?;
    let optionality = match modifier {
        Some('?') => Optionality::Optional,
        Some('.') => Optionality::Dotted,
        _ => Optionality::Required,
    };
    Ok((
        input,
        ArgSpec {
            name: name.to_string(),
            kind,
            optionality,
        },
    ))
}

fn flag_kind(input: &str) -> IResult<&str, ArgKind> {
    let (input, letter) =
        preceded(tag("-"), satisfy(|c| c.is_ascii_alphanumeric())).parse(input)?;
    let (input, takes_value) = opt(char('s')).parse(input)?;
    Ok((
        input,
        if takes_value.is_some() {
            ArgKind::FlagValue(letter)
        } else {
            ArgKind::Flag(letter)
        },
    ))
}

fn plain_kind(input: &str) -> IResult<&str, ArgKind> {
    map(one_of("sFBSOilMoTb/"), |c| match c {
        's' => ArgKind::Str,
        'F' => ArgKind::Filename,
        'B' => ArgKind::BlockDevice,
        'S' => ArgKind::RestOfLine,
        'O' => ArgKind::Opts,
        'i' => ArgKind::Int32,
        'l' => ArgKind::Int64,
        'M' => ArgKind::SizeMiB,
        'o' => ArgKind::Size,
        'T' => ArgKind::Time,
        'b' => ArgKind::Bool,
        _ => ArgKind::Format,
    })
    .parse(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(String, ArgKind, Optionality)> {
        ArgsType::parse(src)
            .unwrap()
            .args
            .into_iter()
            .map(|a| (a.name, a.kind, a.optionality))
            .collect()
    }

    #[test]
    fn every_type_code_is_understood() {
        use ArgKind::*;
        let src = "a:s,b:F,c:B,d:S,e:O,f:i,g:l,h:M,j:o,k:T,m:b,n:/";
        let got: Vec<ArgKind> = kinds(src).into_iter().map(|k| k.1).collect();
        assert_eq!(
            got,
            [
                Str,
                Filename,
                BlockDevice,
                RestOfLine,
                Opts,
                Int32,
                Int64,
                SizeMiB,
                Size,
                Time,
                Bool,
                Format
            ]
        );
    }

    #[test]
    fn flags_and_value_flags() {
        let got = kinds("force:-f,format:-fs,snappy:-s,display:-ds");
        assert_eq!(got[0].1, ArgKind::Flag('f'));
        assert_eq!(got[1].1, ArgKind::FlagValue('f'));
        assert_eq!(got[2].1, ArgKind::Flag('s'));
        assert_eq!(got[3].1, ArgKind::FlagValue('d'));
    }

    #[test]
    fn modifiers() {
        let got = kinds("fmt:/,addr:i,index:i.,name:s?,read-only-mode:s?");
        assert_eq!(got[1].2, Optionality::Required);
        assert_eq!(got[2].2, Optionality::Dotted);
        assert_eq!(got[3].2, Optionality::Optional);
        assert_eq!(got[4].0, "read-only-mode");
    }

    #[test]
    fn empty_is_no_arguments() {
        assert!(ArgsType::parse("").unwrap().args.is_empty());
    }

    #[test]
    fn display_round_trips() {
        let src = "device:B,force:-f,target:F,arg:s?,fmt:/,index:i.,display:-ds";
        assert_eq!(ArgsType::parse(src).unwrap().to_string(), src);
    }

    #[test]
    fn errors_name_the_spot() {
        assert_eq!(ArgsType::parse("device:Q").unwrap_err().0, 7);
        assert!(ArgsType::parse("device:Q")
            .unwrap_err()
            .1
            .contains("type code"));
        assert_eq!(ArgsType::parse("a:s,,b:s").unwrap_err().0, 4);
        assert!(ArgsType::parse("a:s?x").unwrap_err().1.contains("','"));
        assert!(ArgsType::parse("a:s.").unwrap_err().1.contains("'.'"));
        assert!(ArgsType::parse("a:s,a:i").unwrap_err().1.contains("twice"));
        assert!(ArgsType::parse("a:-")
            .unwrap_err()
            .1
            .contains("flag letter"));
    }
}
