//! Character devices, QOM, trace events, rocker switches and virtio
//! introspection.

mod qom;
mod rocker;
mod virtio;

use super::lenient::{as_list, bad_reply, reply_at, text};
use crate::parse::Args;
use crate::render::{RenderContext, RenderError, Reply};

pub fn render(
    name: &str,
    ctx: &RenderContext,
    replies: &[Reply],
    args: &Args,
) -> Option<Result<String, RenderError>> {
    let result = match name {
        "chardev" => chardev(replies),
        "ringbuf_read" => ringbuf_read(replies),
        "trace-events" => trace_events(ctx, replies, args),
        "qom-list" => qom::list_properties(replies, args),
        "qom-get" => qom::get(replies),
        "qom-tree" => qom::tree(replies, args),
        "rocker" => rocker::switch(replies),
        "rocker-ports" => rocker::ports(replies),
        "rocker-of-dpa-flows" => rocker::flows(replies),
        "rocker-of-dpa-groups" => rocker::groups(replies),
        "virtio" => virtio::devices(replies),
        "virtio-status" => virtio::status(replies, args, ctx.version.at_least(10, 1)),
        "virtio-queue-status" => virtio::queue_status(replies, args),
        "virtio-vhost-queue-status" => virtio::vhost_queue_status(replies, args),
        "virtio-queue-element" => virtio::queue_element(replies, args),
        _ => return None,
    };
    Some(result)
}

/// `info chardev`; reply: query-chardev.
fn chardev(replies: &[Reply]) -> Result<String, RenderError> {
    const NAME: &str = "chardev";
    let value = match reply_at(NAME, replies, 0)? {
        Ok(value) => value,
        Err(text) => return Ok(text),
    };
    let mut out = String::new();
    for dev in as_list(NAME, value)? {
        out += &format!(
            "{}: filename={}\n",
            text(dev, "label"),
            text(dev, "filename")
        );
    }
    Ok(out)
}

/// `ringbuf_read device size`; reply: ringbuf-read (UTF-8 format). The data
/// is printed raw except that backslashes are doubled and control
/// characters other than newline and tab appear as `\uXXXX`.
fn ringbuf_read(replies: &[Reply]) -> Result<String, RenderError> {
    const NAME: &str = "ringbuf_read";
    let value = match reply_at(NAME, replies, 0)? {
        Ok(value) => value,
        Err(text) => return Ok(text),
    };
    let data = value.as_str().unwrap_or("");
    let mut out = String::with_capacity(data.len() + 1);
    // HMP stops at the first NUL of the C string.
    for ch in data.chars().take_while(|&c| c != '\0') {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\n' | '\t' => out.push(ch),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out += &format!("\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('\n');
    Ok(out)
}

/// `info trace-events [name] [vcpu]`; reply: trace-event-get-state.
/// Errors are printed without the `Error: ` prefix.
fn trace_events(
    ctx: &RenderContext,
    replies: &[Reply],
    args: &Args,
) -> Result<String, RenderError> {
    const NAME: &str = "trace-events";
    // Until 8.1 HMP checked the vCPU index itself (and printed no newline).
    if !ctx.version.at_least(8, 1) && args.int("vcpu").is_some_and(|v| v < 0) {
        return Ok("argument vcpu must be positive".to_string());
    }
    let value = match replies.first() {
        Some(Ok(value)) => value,
        Some(Err(err)) => return Ok(format!("{}\n", err.desc)),
        None => return Err(bad_reply(NAME, "missing the trace-event-get-state reply")),
    };
    let mut out = String::new();
    for event in as_list(NAME, value)? {
        let enabled = text(event, "state") == "enabled";
        out += &format!("{} : state {}\n", text(event, "name"), u8::from(enabled));
    }
    Ok(out)
}
