//! Commands qhmp answers itself, written with a leading backslash so they
//! can never be mistaken for QEMU's (`\format json`).

use crate::output::Format;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientCommand {
    /// `\format` alone: say the current format.
    ShowFormat,
    SetFormat(Format),
    /// `\help`, `\?`, and anything unknown (with the reason).
    Help(Option<String>),
}

const HELP: &str = "\
qhmp commands (everything else goes to QEMU; 'help' lists QEMU's):
  \\format [classic|table|json]  show or switch the output format
  \\help                         this list
  \\qmp COMMAND [key=value …]    a QMP command in qmp-shell's syntax (values typed
                                from QEMU's schema; Tab completes names)
  {\"execute\": …}                 a line starting with { is sent to QEMU as QMP
  Replies to both are printed as indented JSON.
Keys: Tab completes (twice lists), Up/Down and Ctrl-R search the history,
Ctrl-C clears the line, Ctrl-D leaves.";

impl ClientCommand {
    /// The client command on `line`, if it is one.
    pub fn parse(line: &str) -> Option<ClientCommand> {
        let rest = line.trim().strip_prefix('\\')?;
        let mut words = rest.split_whitespace();
        let command = match (words.next(), words.next(), words.next()) {
            (Some("format"), None, _) => ClientCommand::ShowFormat,
            (Some("format"), Some(name), None) => {
                match <Format as clap::ValueEnum>::from_str(name, true) {
                    Ok(f) => ClientCommand::SetFormat(f),
                    Err(_) => ClientCommand::Help(Some(format!(
                        "unknown format '{name}' (classic, table or json)"
                    ))),
                }
            }
            (Some("help" | "?"), None, _) => ClientCommand::Help(None),
            _ => ClientCommand::Help(Some(format!("unknown qhmp command '\\{}'", rest.trim()))),
        };
        Some(command)
    }

    pub fn run(&self, format: &mut Format) {
        match self {
            ClientCommand::ShowFormat => println!("output format: {}", format_name(*format)),
            ClientCommand::SetFormat(f) => {
                *format = *f;
                println!("output format: {}", format_name(*f));
            }
            ClientCommand::Help(None) => println!("{HELP}"),
            ClientCommand::Help(Some(why)) => eprintln!("qhmp: {why}\n{HELP}"),
        }
    }
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Classic => "classic",
        Format::Table => "table",
        Format::Json => "json",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backslash_lines_are_client_commands() {
        assert_eq!(
            ClientCommand::parse(" \\format JSON "),
            Some(ClientCommand::SetFormat(Format::Json))
        );
        assert_eq!(
            ClientCommand::parse("\\format"),
            Some(ClientCommand::ShowFormat)
        );
        assert_eq!(
            ClientCommand::parse("\\help"),
            Some(ClientCommand::Help(None))
        );
        assert!(matches!(
            ClientCommand::parse("\\format yaml"),
            Some(ClientCommand::Help(Some(why))) if why.contains("yaml")
        ));
        assert!(matches!(
            ClientCommand::parse("\\frob"),
            Some(ClientCommand::Help(Some(why))) if why.contains("\\frob")
        ));
        assert_eq!(ClientCommand::parse("info status"), None);
    }

    #[test]
    fn switching_changes_the_format() {
        let mut format = Format::Table;
        ClientCommand::SetFormat(Format::Classic).run(&mut format);
        assert_eq!(format, Format::Classic);
    }
}
