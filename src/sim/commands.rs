//! The table of commands the simulator serves, and dispatch.

use super::args::{self, opt, Obj, Ty};
use super::error::{CmdResult, QmpError};
use super::state::State;
use serde_json::{json, Map, Value};

/// A command handler: validated arguments in, return value or error out.
pub type Handler = fn(&mut State, &Map<String, Value>) -> CmdResult;

/// One simulated QMP command.
pub struct Cmd {
    pub name: &'static str,
    /// The argument spec, checked before the handler runs.
    pub args: &'static Obj,
    /// May run with `exec-oob`.
    pub allow_oob: bool,
    /// Accept members the spec does not name (`device_add` properties).
    pub open_args: bool,
    pub(crate) run: Handler,
}

impl Cmd {
    pub(crate) const fn new(name: &'static str, args: &'static Obj, run: Handler) -> Cmd {
        Cmd {
            name,
            args,
            allow_oob: false,
            open_args: false,
            run,
        }
    }

    pub(crate) const fn oob(mut self) -> Cmd {
        self.allow_oob = true;
        self
    }

    pub(crate) const fn open(mut self) -> Cmd {
        self.open_args = true;
        self
    }
}

/// `qmp_capabilities` is handled by the session; listed here so it shows
/// in `query-commands` and its spec is checked like the others.
pub(crate) const CAPABILITIES_ARGS: Obj =
    args::obj(&[opt("enable", Ty::List(&Ty::Enum(&["oob"])))]);

fn capabilities_outside_session(_: &mut State, _: &Map<String, Value>) -> CmdResult {
    Err(QmpError::command_not_found(
        "Capabilities negotiation is already complete, command ignored",
    ))
}

/// The commands both simulated and offered by the release played.
fn query_commands(st: &mut State, _: &Map<String, Value>) -> CmdResult {
    Ok(Value::Array(
        all()
            .iter()
            .filter(|c| st.version.offers(c.name))
            .map(|c| json!({"name": c.name}))
            .collect(),
    ))
}

const PROTOCOL: &[Cmd] = &[
    Cmd::new(
        "qmp_capabilities",
        &CAPABILITIES_ARGS,
        capabilities_outside_session,
    ),
    Cmd::new("query-commands", &args::NONE, query_commands),
];

/// Every command the simulator implements, in `query-commands` order.
pub fn all() -> Vec<&'static Cmd> {
    let tables: [&'static [Cmd]; 14] = [
        PROTOCOL,
        super::machine::COMMANDS,
        super::info::COMMANDS,
        super::block::COMMANDS,
        super::display::COMMANDS,
        super::balloon::COMMANDS,
        super::chardev::COMMANDS,
        super::net::COMMANDS,
        super::devices::COMMANDS,
        super::qom::COMMANDS,
        super::migration_cmds::COMMANDS,
        super::input::COMMANDS,
        super::hmp::COMMANDS,
        super::features::COMMANDS,
    ];
    tables.iter().flat_map(|t| t.iter()).collect()
}

/// Look a command up by name.
pub fn find(name: &str) -> Option<&'static Cmd> {
    all().into_iter().find(|c| c.name == name)
}

/// Check arguments and run the handler.
pub(crate) fn dispatch(st: &mut State, cmd: &Cmd, a: &Map<String, Value>) -> CmdResult {
    // An argument of 10.0 that the release played does not have yet.
    if let Some(arg) = st
        .version
        .refused_argument(cmd.name, a.keys().map(String::as_str))
    {
        return Err(QmpError::generic(format!(
            "Parameter '{arg}' is unexpected"
        )));
    }
    if cmd.open_args {
        args::check_open(cmd.args, a)?;
    } else {
        args::check(cmd.args, a)?;
    }
    let mut reply = (cmd.run)(st, a)?;
    st.version.shape_reply(cmd.name, &mut reply);
    Ok(reply)
}
