//! Placeholder until the simulator lands (its own change replaces this file).

#[derive(Default)]
pub struct Simulator;

impl Simulator {
    pub fn new() -> Self {
        Simulator
    }

    pub fn connect(&self) -> tokio::io::DuplexStream {
        tokio::io::duplex(1).0
    }
}

pub async fn serve_until_ctrl_c(_listen: &str) -> Result<(), String> {
    Err("the simulator is not built yet".into())
}
