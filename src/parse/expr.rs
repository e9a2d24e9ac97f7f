//! Integer expressions for `i`, `l` and `M` arguments.
//!
//! ```text
//! sum   := logic (('+' | '-') logic)*
//! logic := prod  (('&' | '|' | '^') prod)*
//! prod  := unary (('*' | '/' | '%') unary)*
//! unary := ('+' | '-' | '~') unary | '(' sum ')' | 'c' | '$' NAME | NUMBER
//! ```
//!
//! Evaluated left to right in wrapping 64-bit arithmetic, reporting the same
//! first error QEMU reports. The evaluator keeps its own stack instead of
//! recursing, so deeply nested input cannot overflow ours. Registers (`$pc`)
//! have no value here: an expression using one is handed over as text.

use super::cursor::{printed_byte, Cursor};
use super::error::Failure;
use super::numeric::strtoull;

/// The value of an expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ExprValue {
    Known(i64),
    /// Reads a register or monitor variable; holds the expression's text.
    NeedsVm(String),
}

/// `None` while the value depends on a register only the VM knows.
type Value = Option<i64>;

/// QEMU keeps at most 127 bytes of a register name.
const REGISTER_NAME_MAX: usize = 127;

#[derive(Default)]
struct Level {
    sum: Option<(Value, u8)>,
    logic: Option<(Value, u8)>,
    prod: Option<(Value, u8)>,
    /// Prefix operators waiting for their operand, innermost last.
    unary: Vec<u8>,
}

/// Steps past the current byte and any blanks after it (QEMU's `next`).
fn next(cur: &mut Cursor) {
    if !cur.at_end() {
        cur.bump();
        cur.skip_space();
    }
}

/// Reads one expression, leaving the cursor after it and its trailing blanks.
pub(crate) fn parse_expr(cur: &mut Cursor) -> Result<ExprValue, Failure> {
    cur.skip_space();
    let start = cur.pos;
    let mut uses_vm = false;
    let mut stack: Vec<Level> = vec![Level::default()];
    'operand: loop {
        let mut value = loop {
            let Some(top) = stack.last_mut() else {
                return Err(Failure::new("unexpected end of expression", cur.pos));
            };
            match cur.peek() {
                op @ (b'+' | b'-' | b'~') => {
                    top.unary.push(op);
                    next(cur);
                }
                b'(' => {
                    next(cur);
                    stack.push(Level::default());
                }
                _ => break atom(cur, &mut uses_vm)?,
            }
        };
        loop {
            let depth = stack.len();
            let Some(top) = stack.last_mut() else {
                return Err(Failure::new("unexpected end of expression", cur.pos));
            };
            while let Some(op) = top.unary.pop() {
                value = unary(op, value);
            }
            if let Some((left, op)) = top.prod.take() {
                value = binary(left, op, value, cur.pos)?;
            }
            if let op @ (b'*' | b'/' | b'%') = cur.peek() {
                top.prod = Some((value, op));
                next(cur);
                continue 'operand;
            }
            if let Some((left, op)) = top.logic.take() {
                value = binary(left, op, value, cur.pos)?;
            }
            if let op @ (b'&' | b'|' | b'^') = cur.peek() {
                top.logic = Some((value, op));
                next(cur);
                continue 'operand;
            }
            if let Some((left, op)) = top.sum.take() {
                value = binary(left, op, value, cur.pos)?;
            }
            if let op @ (b'+' | b'-') = cur.peek() {
                top.sum = Some((value, op));
                next(cur);
                continue 'operand;
            }
            if depth == 1 {
                return Ok(match value {
                    Some(v) if !uses_vm => ExprValue::Known(v),
                    _ => ExprValue::NeedsVm(expression_text(cur, start)),
                });
            }
            if cur.peek() != b')' {
                return Err(Failure::new("')' expected", cur.pos));
            }
            next(cur);
            stack.pop();
        }
    }
}

fn expression_text(cur: &Cursor, start: usize) -> String {
    let mut end = cur.pos;
    while end > start && super::cursor::is_space(cur.at(end - 1)) {
        end -= 1;
    }
    cur.text(start, end)
}

fn atom(cur: &mut Cursor, uses_vm: &mut bool) -> Result<Value, Failure> {
    match cur.peek() {
        b'\'' => {
            cur.bump();
            if cur.at_end() {
                return Err(Failure::new("character constant expected", cur.pos));
            }
            // C's `char` is signed: bytes above 0x7f are negative.
            let value = i64::from(cur.peek() as i8);
            cur.bump();
            if cur.peek() != b'\'' {
                return Err(Failure::new("missing terminating ' character", cur.pos));
            }
            next(cur);
            Ok(Some(value))
        }
        b'$' => {
            let dollar = cur.pos;
            cur.bump();
            let name_start = cur.pos;
            while matches!(cur.peek(), b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.') {
                cur.bump();
            }
            let name_len = (cur.pos - name_start).min(REGISTER_NAME_MAX);
            cur.skip_space();
            if name_len == 0 {
                return Err(Failure::new("unknown register", dollar));
            }
            *uses_vm = true;
            Ok(None)
        }
        0 if cur.at_end() => Err(Failure::new("unexpected end of expression", cur.pos)),
        other => {
            let scan = strtoull(cur.rest(), 0);
            if scan.overflow {
                return Err(Failure::new("number too large", cur.pos));
            }
            if scan.end == 0 {
                return Err(Failure::new(
                    format!("invalid char '{}' in expression", printed_byte(other)),
                    cur.pos,
                ));
            }
            cur.pos += scan.end;
            cur.skip_space();
            Ok(Some(scan.value as i64))
        }
    }
}

fn unary(op: u8, value: Value) -> Value {
    let v = value?;
    Some(match op {
        b'-' => v.wrapping_neg(),
        b'~' => !v,
        _ => v,
    })
}

fn binary(left: Value, op: u8, right: Value, at: usize) -> Result<Value, Failure> {
    if matches!(op, b'/' | b'%') && right == Some(0) {
        return Err(Failure::new("division by zero", at));
    }
    let (Some(a), Some(b)) = (left, right) else {
        return Ok(None);
    };
    // i64::MIN / -1 kills QEMU with SIGFPE; wrapping keeps us alive.
    Ok(Some(match op {
        b'+' => a.wrapping_add(b),
        b'-' => a.wrapping_sub(b),
        b'*' => a.wrapping_mul(b),
        b'/' => a.wrapping_div(b),
        b'%' => a.wrapping_rem(b),
        b'&' => a & b,
        b'|' => a | b,
        _ => a ^ b,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(s: &str) -> Result<(ExprValue, usize), (String, usize)> {
        let mut c = Cursor::new(s.as_bytes(), 0);
        parse_expr(&mut c)
            .map(|v| (v, c.pos))
            .map_err(|f| (f.message, f.at))
    }

    fn value(s: &str) -> i64 {
        match eval(s) {
            Ok((ExprValue::Known(v), _)) => v,
            other => panic!("{s}: {other:?}"),
        }
    }

    fn error(s: &str) -> String {
        eval(s).unwrap_err().0
    }

    #[test]
    fn precedence_matches_qemu() {
        assert_eq!(value("1 + 2 * 3"), 7);
        assert_eq!(value("(1+2)*3"), 9);
        // & | ^ bind tighter than + - but looser than * / %.
        assert_eq!(value("1|2&3"), 3);
        assert_eq!(value("1+2&3"), 3);
        assert_eq!(value("2*3&6"), 6);
        assert_eq!(value("1-2-3"), -4);
        assert_eq!(value("100/10/5"), 2);
        assert_eq!(value("-7/2"), -3);
        assert_eq!(value("-7%2"), -1);
    }

    #[test]
    fn unary_operators_and_constants() {
        assert_eq!(value("~0"), -1);
        assert_eq!(value("-  -5"), 5);
        assert_eq!(value("-(1+2)*2"), -6);
        assert_eq!(value("+~-1"), 0);
        assert_eq!(value("'a'+1"), 98);
        assert_eq!(value("' '"), 32);
        assert_eq!(value("'\\'"), 92);
        assert_eq!(value("'''"), 39);
        assert_eq!(value("0x10"), 16);
        assert_eq!(value("017"), 15);
        assert_eq!(value("0X1F"), 31);
        assert_eq!(value("18446744073709551615"), -1);
        assert_eq!(value("9223372036854775807+1"), i64::MIN);
        assert_eq!(value("0x8000000000000000/-1"), i64::MIN);
    }

    #[test]
    fn stops_at_the_first_byte_that_does_not_continue() {
        assert_eq!(eval("08").unwrap(), (ExprValue::Known(0), 1));
        assert_eq!(eval("0x").unwrap(), (ExprValue::Known(0), 1));
        assert_eq!(eval("1 2").unwrap(), (ExprValue::Known(1), 2));
        assert_eq!(eval("1<<2").unwrap(), (ExprValue::Known(1), 1));
        assert_eq!(eval("  5  ").unwrap(), (ExprValue::Known(5), 5));
    }

    #[test]
    fn every_error_text() {
        assert_eq!(error("(1"), "')' expected");
        assert_eq!(error("'"), "character constant expected");
        assert_eq!(error("''"), "missing terminating ' character");
        assert_eq!(error("'ab'"), "missing terminating ' character");
        assert_eq!(error("$"), "unknown register");
        assert_eq!(error("$ pc"), "unknown register");
        assert_eq!(error(""), "unexpected end of expression");
        assert_eq!(error("1 -"), "unexpected end of expression");
        assert_eq!(error("99999999999999999999"), "number too large");
        assert_eq!(error("abc"), "invalid char 'a' in expression");
        assert_eq!(error("é"), "invalid char '\u{fffd}' in expression");
        assert_eq!(error("1/0"), "division by zero");
        assert_eq!(error("1%(2-2)"), "division by zero");
        // The first error in reading order wins.
        assert_eq!(error("1/0+(2"), "division by zero");
        assert_eq!(error("(4/0"), "division by zero");
    }

    #[test]
    fn error_positions() {
        assert_eq!(eval("1 + x").unwrap_err().1, 4);
        assert_eq!(eval("(1 2").unwrap_err().1, 3);
        assert_eq!(eval("5 / 0 ").unwrap_err().1, 6);
    }

    #[test]
    fn registers_defer_to_the_vm() {
        assert_eq!(
            eval("$pc + 4  x").unwrap(),
            (ExprValue::NeedsVm("$pc + 4".into()), 9)
        );
        assert_eq!(eval("$eax").unwrap().0, ExprValue::NeedsVm("$eax".into()));
        assert_eq!(
            eval("1*$x.y_z").unwrap().0,
            ExprValue::NeedsVm("1*$x.y_z".into())
        );
        assert_eq!(error("$pc/0"), "division by zero");
        assert_eq!(error("$pc+(1"), "')' expected");
    }

    #[test]
    fn deep_nesting_does_not_overflow_the_stack() {
        let deep = format!("{}1{}", "(".repeat(200_000), ")".repeat(200_000));
        assert_eq!(value(&deep), 1);
        let minus = "-".repeat(200_001) + "1";
        assert_eq!(value(&minus), -1);
        assert_eq!(error(&"(".repeat(100_000)), "unexpected end of expression");
    }
}
