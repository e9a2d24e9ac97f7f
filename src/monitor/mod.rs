//! The library API: a monitor that takes HMP command lines and answers them
//! through QMP, on a live QEMU or on the built-in simulator.
//!
//! [`Monitor::connect`] opens a QMP socket; [`Monitor::on_client`] wraps any
//! [`Client`], including one over an in-memory stream as below, where a few
//! scripted replies stand in for QEMU:
//!
//! ```
//! # use serde_json::{json, Value};
//! # use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
//! # /// A stand-in for QEMU: answers a few commands on an in-memory stream.
//! # async fn scripted_qemu(stream: tokio::io::DuplexStream) -> std::io::Result<()> {
//! #     let (read, mut write) = tokio::io::split(stream);
//! #     let version = json!({"qemu": {"major": 10, "minor": 0, "micro": 0}, "package": ""});
//! #     let greeting = json!({"QMP": {"version": version, "capabilities": []}});
//! #     write.write_all(format!("{greeting}\r\n").as_bytes()).await?;
//! #     let mut lines = BufReader::new(read).lines();
//! #     while let Some(line) = lines.next_line().await? {
//! #         let request: Value = serde_json::from_str(&line)?;
//! #         let answer = match request["execute"].as_str().unwrap_or_default() {
//! #             "query-version" => version.clone(),
//! #             "query-commands" => json!([{"name": "query-status"}, {"name": "stop"}]),
//! #             "query-status" => json!({"status": "prelaunch", "running": false}),
//! #             _ => json!({}),
//! #         };
//! #         let reply = json!({"return": answer, "id": request["id"]});
//! #         write.write_all(format!("{reply}\r\n").as_bytes()).await?;
//! #     }
//! #     Ok(())
//! # }
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let (stream, qemu_end) = tokio::io::duplex(64 * 1024);
//! # tokio::spawn(scripted_qemu(qemu_end));
//! use qhmp::monitor::Monitor;
//! use qhmp::qmp::{Client, ClientConfig};
//!
//! let client = Client::from_stream(stream, ClientConfig::default()).await?;
//! let mut monitor = Monitor::on_client(client).await?;
//! assert_eq!(monitor.version().to_string(), "10.0.0");
//!
//! // A line, the QMP it became, and QEMU's text for the reply.
//! let response = monitor.execute("info status").await?;
//! assert_eq!(response.text, "VM status: paused (prelaunch)\n");
//! assert_eq!(response.requests, [json!({"execute": "query-status"})]);
//! assert!(!response.failed);
//!
//! // `human-monitor-command` semantics: CR LF line ends, and what QEMU's
//! // HMP prints for a bad line is text too, not an error.
//! let text = monitor.human_monitor_command("info status", None).await?;
//! assert_eq!(text, "VM status: paused (prelaunch)\r\n");
//! let text = monitor.human_monitor_command("info nosuch", None).await?;
//! assert_eq!(text, "unknown command: 'info nosuch'\r\n");
//!
//! // A check sees how a line would run before anything is sent.
//! let refused = monitor
//!     .human_monitor_command_checked("stop", None, |line| match line.shows_only {
//!         true => Ok(()),
//!         false => Err(format!("'{}' would change the VM", line.line)),
//!     })
//!     .await;
//! assert!(matches!(refused, Err(qhmp::monitor::MonitorError::Refused(_))));
//! # Ok(()) }
//! ```

mod error;
mod hmp;
pub mod requests;
mod schema_cache;
mod walk;

pub use error::MonitorError;
pub use hmp::{HmpAnswer, LinePlan};
pub use walk::commands as walk_commands;

use crate::grammar::{Entry, Grammar, Profile};
use crate::parse::{self, Args, FormatDefaults, ParsedCommand};
use crate::qmp::{Client, ClientConfig, Target};
use crate::render::{self, RenderContext, Reply};
use crate::translate::typing::{self, Schema, Typing};
use crate::translate::{self, exact, Plan, QemuFacts, TranslateError};
use crate::version::QemuVersion;
use serde_json::Value;

/// How the simulator's partial HMP declines a line it does not run itself
/// (`Error: 'netdev_add' is not provided by the qhmp simulator: …`); to the
/// translator that means what "unknown command" means: the QMP translation
/// stands. No real QEMU starts an answer so.
pub const NOT_PROVIDED_BY_SIMULATOR: &str = "is not provided by the qhmp simulator";

/// What one command line produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// Classic text, as QEMU's HMP prints it (lines end in `\n`).
    pub text: String,
    /// The QMP return values (one per QMP call; errors as `{"error": …}`).
    pub replies: Vec<Value>,
    /// The grammar's renderer name, when the command prints a reply.
    pub renderer: Option<String>,
    /// True when QEMU refused the command (an error reply or HMP error text).
    pub failed: bool,
    /// The QMP requests the line became, as sent (for teaching and logs).
    pub requests: Vec<Value>,
    /// What the table renderers need besides the replies: the parsed
    /// arguments (`info block -n data0`) and the monitor's current CPU.
    pub table_context: crate::render::table::TableContext,
}

impl Response {
    fn empty() -> Self {
        Response {
            text: String::new(),
            replies: Vec::new(),
            renderer: None,
            failed: false,
            requests: Vec::new(),
            table_context: Default::default(),
        }
    }

    /// The text with HMP's wire line endings (`\r\n`).
    pub fn crlf_text(&self) -> String {
        self.text.replace('\n', "\r\n")
    }
}

/// A monitor session on one QEMU.
#[derive(Clone)]
pub struct Monitor {
    client: Client,
    grammar: &'static Grammar,
    facts: QemuFacts,
    defaults: FormatDefaults,
    /// The monitor's current CPU (`cpu N`); `None` means QEMU's default.
    current_cpu: Option<i64>,
    schema: Option<std::sync::Arc<Schema>>,
    /// Whether an `errors: hmp` line may be handed to QEMU's own HMP (a
    /// caller's check may allow a line's QMP but not its HMP form).
    hmp_fallback: bool,
}

impl Monitor {
    /// Connects to a QEMU's QMP socket (negotiating capabilities) and learns
    /// what it offers: its version, which picks the command set, and its QMP
    /// commands.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), qhmp::monitor::MonitorError> {
    /// use qhmp::monitor::Monitor;
    /// let target: qhmp::qmp::Target = "unix:/run/qemu/vm1.qmp".parse().expect("a target");
    /// let mut monitor = Monitor::connect(&target, Default::default()).await?;
    /// print!("{}", monitor.execute("info status").await?.text);
    /// # Ok(()) }
    /// ```
    pub async fn connect(target: &Target, config: ClientConfig) -> Result<Monitor, MonitorError> {
        let client = Client::connect(target, config)
            .await
            .map_err(MonitorError::Connect)?;
        Monitor::on_client(client).await
    }

    /// A monitor on a fresh built-in simulated QEMU (no VM needed).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), qhmp::monitor::MonitorError> {
    /// let mut monitor = qhmp::monitor::Monitor::simulated().await?;
    /// assert_eq!(monitor.execute("info status").await?.text, "VM status: paused (prelaunch)\n");
    /// monitor.execute("cont").await?;
    /// let response = monitor.execute("info status").await?;
    /// assert_eq!(response.text, "VM status: running\n");
    /// assert_eq!(response.requests[0].to_string(), r#"{"execute":"query-status"}"#);
    /// # Ok(()) }
    /// ```
    pub async fn simulated() -> Result<Monitor, MonitorError> {
        Monitor::simulated_as(Profile::DEFAULT).await
    }

    /// A monitor on a fresh simulated QEMU of another release line (its
    /// QMP commands and reply shapes; see [`crate::sim::SimVersion`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), qhmp::monitor::MonitorError> {
    /// use qhmp::grammar::Profile;
    /// let monitor = qhmp::monitor::Monitor::simulated_as(Profile::V5_2).await?;
    /// assert_eq!(monitor.version().to_string(), "5.2.0");
    /// # Ok(()) }
    /// ```
    pub async fn simulated_as(version: Profile) -> Result<Monitor, MonitorError> {
        let sim = crate::sim::Simulator::with_options(crate::sim::SimOptions {
            qemu_version: version,
            ..Default::default()
        });
        let client = Client::from_stream(sim.connect(), ClientConfig::default())
            .await
            .map_err(MonitorError::Connect)?;
        Monitor::on_client(client).await
    }

    /// Wraps an already negotiated QMP client (a socket, a proxy's socket, or
    /// an in-memory stream; see the [module example](self)). Asks QEMU for
    /// `query-version` and `query-commands`.
    pub async fn on_client(client: Client) -> Result<Monitor, MonitorError> {
        let grammar = Grammar::builtin().map_err(|e| MonitorError::Grammar(e.clone()))?;
        // Both questions go out together: they cost one round trip, not two.
        let (version, commands) = tokio::join!(
            client.execute("query-version", None),
            client.execute("query-commands", None)
        );
        let version = version
            .map_err(MonitorError::Transport)?
            .ok()
            .and_then(|v| QemuVersion::from_query_version(&v))
            .ok_or(MonitorError::NoVersion)?;
        let commands = match commands.map_err(MonitorError::Transport)? {
            Ok(Value::Array(list)) => Some(
                list.iter()
                    .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_string))
                    .collect(),
            ),
            _ => None,
        };
        Ok(Monitor {
            client,
            grammar,
            facts: QemuFacts { version, commands },
            defaults: FormatDefaults::default(),
            current_cpu: None,
            schema: None,
            hmp_fallback: true,
        })
    }

    /// The connected QEMU's version, as `query-version` reported it.
    pub fn version(&self) -> &QemuVersion {
        &self.facts.version
    }

    /// What is known of the connected QEMU (version, QMP commands).
    pub fn facts(&self) -> &QemuFacts {
        &self.facts
    }

    /// The HMP command set used for this QEMU (the newest one not newer
    /// than its version).
    pub fn profile(&self) -> Profile {
        self.facts.profile()
    }

    /// The underlying QMP client, for events and raw QMP.
    ///
    /// ```no_run
    /// # async fn demo(monitor: &qhmp::monitor::Monitor) {
    /// let mut events = monitor.client().events();
    /// while let Some(event) = events.recv().await {
    ///     println!("{} {}", event.name, event.data);
    /// }
    /// # }
    /// ```
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Parses and runs one command line, returning QEMU's text for it
    /// (lines end in `\n`) together with the QMP requests and replies.
    ///
    /// A line that does not parse is an [`MonitorError::Parse`], whose
    /// [`hmp_text`](crate::parse::ParseError::hmp_text) is what QEMU would
    /// print; a QMP error reply is a [`Response`] with `failed` set and the
    /// `Error: …` text. For `human-monitor-command` semantics (everything as
    /// text, `\r\n`) see [`Monitor::human_monitor_command`].
    ///
    /// ```no_run
    /// # async fn demo(monitor: &mut qhmp::monitor::Monitor) -> Result<(), qhmp::monitor::MonitorError> {
    /// let response = monitor.execute("info version").await?;
    /// assert_eq!(response.requests[0]["execute"], "query-version");
    /// print!("{}", response.text);
    /// # Ok(()) }
    /// ```
    pub async fn execute(&mut self, line: &str) -> Result<Response, MonitorError> {
        let grammar = self.grammar;
        let Some(parsed) = parse::parse_line(grammar, self.profile(), line, &mut self.defaults)
            .map_err(|error| MonitorError::Parse {
                error,
                line: line.to_string(),
            })?
        else {
            return Ok(Response::empty());
        };
        let plan = match translate::plan(parsed.entry, &parsed.args, line, &self.facts) {
            Ok(plan) => plan,
            // QEMU's handler would refuse the line with text of its own.
            Err(TranslateError::Refused { hmp_text }) => {
                return Ok(Response {
                    text: hmp_text,
                    failed: true,
                    ..Response::empty()
                });
            }
            Err(e) => return Err(MonitorError::Translate(e)),
        };
        let requests = requests::wire_requests(&plan, self.current_cpu);
        let mut response = self.run(&parsed, plan, line).await?;
        if response.requests.is_empty() {
            response.requests = requests;
        }
        Ok(response)
    }

    async fn run(
        &mut self,
        parsed: &ParsedCommand<'_>,
        plan: Plan,
        line: &str,
    ) -> Result<Response, MonitorError> {
        match plan {
            Plan::Local if requests::cpu_selection(parsed).is_some() => {
                self.select_cpu(parsed.args.int("index")).await
            }
            Plan::Local => Ok(Response {
                text: local_text(self.grammar, self.profile(), parsed),
                ..Response::empty()
            }),
            Plan::Hmp { command_line } => self.run_hmp(&command_line).await,
            Plan::Qmp(requests) => {
                let mut replies = Vec::with_capacity(requests.len());
                let mut sent = Vec::with_capacity(requests.len());
                for mut request in requests {
                    if let Some(typing) = request.typing.take() {
                        // Only a side line is at stake for these: QMP may go on.
                        let own_hmp = typing == Typing::OwnHmp;
                        let exact = self.apply_typing(&typing, &mut request.arguments).await?;
                        if !exact && parsed.entry.hmp_errors {
                            // HMP would read a value in its own way: QEMU's HMP decides.
                            match self.hmp_decides(parsed, line).await? {
                                Some(response) => return Ok(response),
                                // Never send a guess that QEMU's HMP might refuse.
                                None if !self.hmp_fallback && !own_hmp => {
                                    return Err(MonitorError::Refused(format!(
                                        "'{}' needs QEMU's own HMP to read its values, which is not allowed here",
                                        line.trim()
                                    )))
                                }
                                None => {}
                            }
                        }
                    }
                    sent.push(request.to_json());
                    let reply = self
                        .client
                        .execute(&request.execute, request.arguments)
                        .await
                        .map_err(MonitorError::Transport)?;
                    if reply.is_err() && parsed.entry.hmp_errors && sent.len() == 1 {
                        // The refused request changed nothing; QEMU's HMP says
                        // why in its own words (or, where it reads the line
                        // more leniently, carries it out as QEMU would).
                        if let Some(mut response) = self.hmp_decides(parsed, line).await? {
                            let hmp = translate::hmp_request(line.trim_start(), self.current_cpu);
                            sent.push(hmp.to_json());
                            response.requests = sent;
                            return Ok(response);
                        }
                    }
                    replies.push(reply);
                }
                let mut response = self.rendered(parsed.entry, replies, &parsed.args)?;
                response.requests = sent;
                Ok(response)
            }
            Plan::Walk { routine, .. } => {
                let reply = walk::run(
                    &routine,
                    &self.client,
                    &parsed.args,
                    self.current_cpu.unwrap_or(0),
                )
                .await?;
                self.rendered(parsed.entry, vec![reply], &parsed.args)
            }
        }
    }

    /// Runs `line` through QEMU's own HMP, unless that HMP does not know the
    /// command (a partial HMP such as the simulator's): then `None`, and the
    /// QMP translation stands.
    async fn hmp_decides(
        &mut self,
        parsed: &ParsedCommand<'_>,
        line: &str,
    ) -> Result<Option<Response>, MonitorError> {
        if !self.hmp_fallback || !self.facts.offers("human-monitor-command") {
            return Ok(None);
        }
        let response = self.run_hmp(line.trim_start()).await?;
        let unknown = format!("unknown command: '{}", parsed.entry.primary_name());
        let declined = format!(
            "Error: '{}' {NOT_PROVIDED_BY_SIMULATOR}",
            parsed.spelled.trim()
        );
        let runs_it = !response.text.starts_with(&unknown) && !response.text.starts_with(&declined);
        Ok(runs_it.then_some(response))
    }

    /// Types option-string values with the live QEMU's own type information.
    /// Returns false when some value could not be typed exactly as QEMU's HMP
    /// would (see [`translate::exact`]); the arguments then hold the lenient
    /// typing, which only entries without `errors: hmp` send.
    async fn apply_typing(
        &mut self,
        typing: &Typing,
        arguments: &mut Option<Value>,
    ) -> Result<bool, MonitorError> {
        let Some(Value::Object(args)) = arguments.as_mut() else {
            return Ok(true);
        };
        let kinds = match typing {
            Typing::OwnHmp => return Ok(false),
            // Nothing but driver, id and bus: no property list is needed
            // (asking for one costs a round trip and, for a few types in
            // some releases, QEMU's life).
            Typing::DeviceProperties { options, .. }
                if options
                    .iter()
                    .all(|(k, _)| matches!(k.as_str(), "driver" | "id" | "bus")) =>
            {
                typing::device_property_kinds(&Value::Null)
            }
            Typing::DeviceProperties { driver, .. } => {
                let reply = self
                    .client
                    .execute(
                        "device-list-properties",
                        Some(serde_json::json!({"typename": driver})),
                    )
                    .await
                    .map_err(MonitorError::Transport)?;
                match reply {
                    Ok(props) => typing::device_property_kinds(&props),
                    // An unknown driver: QEMU says so in its own words.
                    Err(_) => return Ok(false),
                }
            }
            Typing::Schema { command, .. } => {
                let schema = self.schema().await?;
                schema.argument_kinds(command, args)
            }
            Typing::MigrationParameter { name, text } => {
                let schema = self.schema().await?;
                let kinds = schema.argument_kinds("migrate-set-parameters", &Default::default());
                return Ok(
                    match exact::migration_parameter(name, kinds.get(name).copied(), text) {
                        Ok(typed) => {
                            *args = typed;
                            true
                        }
                        Err(_) => false,
                    },
                );
            }
        };
        let options = match typing {
            Typing::DeviceProperties { options, .. } | Typing::Schema { options, .. } => options,
            Typing::MigrationParameter { .. } | Typing::OwnHmp => return Ok(false),
        };
        match exact::type_options(options, |k| kinds.get(k).copied()) {
            Ok(typed) => {
                *args = typed;
                Ok(true)
            }
            Err(_) => {
                typing::apply(args, |k| kinds.get(k).copied());
                Ok(false)
            }
        }
    }

    /// `query-qmp-schema`, fetched once per session and cached on disk per
    /// QEMU version and package.
    async fn schema(&mut self) -> Result<std::sync::Arc<Schema>, MonitorError> {
        if let Some(schema) = &self.schema {
            return Ok(schema.clone());
        }
        let cached = schema_cache::load(&self.facts.version);
        let introspection = match cached {
            Some(v) => v,
            None => {
                let v = self
                    .client
                    .execute("query-qmp-schema", None)
                    .await
                    .map_err(MonitorError::Transport)?
                    .unwrap_or(Value::Null);
                schema_cache::store(&self.facts.version, &v);
                v
            }
        };
        let schema = std::sync::Arc::new(Schema::from_introspection(&introspection));
        self.schema = Some(schema.clone());
        Ok(schema)
    }

    /// `cpu N`: later commands act on CPU N (`*` in `info cpus`, `memsave`,
    /// `cpu-index` of HMP passthrough), as the monitor's current CPU.
    async fn select_cpu(&mut self, index: Option<i64>) -> Result<Response, MonitorError> {
        let cpus = self
            .client
            .execute("query-cpus-fast", None)
            .await
            .map_err(MonitorError::Transport)?;
        let known = cpus.ok().and_then(|v| {
            v.as_array().map(|list| {
                list.iter()
                    .any(|c| c.get("cpu-index").and_then(Value::as_i64) == index)
            })
        });
        if known == Some(true) {
            self.current_cpu = index;
            return Ok(Response::empty());
        }
        Ok(Response {
            text: "invalid CPU index\n".into(),
            failed: true,
            ..Response::empty()
        })
    }

    async fn run_hmp(&mut self, command_line: &str) -> Result<Response, MonitorError> {
        let request = translate::hmp_request(command_line, self.current_cpu);
        let reply = self
            .client
            .execute(&request.execute, request.arguments)
            .await
            .map_err(MonitorError::Transport)?;
        match reply {
            Ok(value) => {
                let text = value.as_str().unwrap_or_default().replace("\r\n", "\n");
                let failed = hmp_text_is_error(&text);
                Ok(Response {
                    text,
                    replies: vec![value],
                    failed,
                    ..Response::empty()
                })
            }
            Err(e) => Ok(Response {
                text: render::classic::hmp_error(&e.desc),
                replies: vec![error_json(&e)],
                failed: true,
                ..Response::empty()
            }),
        }
    }

    fn rendered(
        &self,
        entry: &Entry,
        replies: Vec<Reply>,
        args: &Args,
    ) -> Result<Response, MonitorError> {
        let renderer = entry.render.as_deref();
        let failed = replies.iter().any(Result::is_err);
        let text = match renderer {
            Some(name) => {
                let mut ctx = RenderContext::new(self.facts.version.clone());
                ctx.current_cpu = self.current_cpu.unwrap_or(0);
                render::classic::render(name, &ctx, &replies, args).map_err(MonitorError::Render)?
            }
            None => match replies.iter().find_map(|r| r.as_ref().err()) {
                // A few handlers print QMP's error text without the prefix.
                Some(e) if entry.plain_errors => format!("{}\n", e.desc),
                Some(e) => render::classic::hmp_error(&e.desc),
                None => String::new(),
            },
        };
        let replies = replies
            .into_iter()
            .map(|r| r.unwrap_or_else(|e| error_json(&e)))
            .collect();
        Ok(Response {
            text,
            replies,
            renderer: renderer.map(str::to_string),
            failed,
            requests: Vec::new(),
            table_context: crate::render::table::TableContext {
                args: args.clone(),
                current_cpu: self.current_cpu,
                version: Some(self.facts.version.clone()),
            },
        })
    }
}

/// The text of a locally answered command (`help`, bare `info`).
pub fn local_text(grammar: &Grammar, profile: Profile, parsed: &ParsedCommand<'_>) -> String {
    if parsed.entry.subtable.is_some() {
        return crate::help::info_listing(grammar, profile);
    }
    let words = parsed
        .args
        .str("name")
        .map(parse::split_words)
        .unwrap_or_default();
    crate::help::help_text(grammar, profile, &words)
}

fn error_json(e: &render::QmpErrorReply) -> Value {
    serde_json::json!({"error": {"class": e.class, "desc": e.desc}})
}

/// QEMU's HMP reports failures only as text; these openings mark one.
fn hmp_text_is_error(text: &str) -> bool {
    const MARKERS: &[&str] = &["Error: ", "unknown command: ", "Try \"help"];
    text.lines()
        .any(|l| MARKERS.iter().any(|m| l.starts_with(m)))
}
