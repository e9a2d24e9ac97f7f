//! Placeholder until the simulator lands.
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
    Err("not yet".into())
}
