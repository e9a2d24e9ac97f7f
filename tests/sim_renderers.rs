//! The simulator's replies feed qhmp's renderers as real QEMU's do: every
//! QMP-backed `info` command renders in classic and table form on it.

use qhmp::grammar::{Grammar, Profile, QmpMapping};
use qhmp::monitor::Monitor;
use qhmp::render::table::{self, TableStyle};

/// Arguments for info commands that need some.
fn line_for(name: &str) -> String {
    match name {
        "rocker" | "rocker-ports" | "rocker-of-dpa-flows" | "rocker-of-dpa-groups" => {
            format!("info {name} sw0")
        }
        "virtio-status" => format!("info {name} /machine/peripheral/virtio-disk0/virtio-backend"),
        "virtio-queue-status" | "virtio-vhost-queue-status" | "virtio-queue-element" => {
            format!("info {name} /machine/peripheral/virtio-disk0/virtio-backend 0")
        }
        "stats" => "info stats vm".into(),
        _ => format!("info {name}"),
    }
}

#[tokio::test]
async fn every_qmp_backed_info_renders_on_the_simulator() {
    let grammar = Grammar::builtin().expect("grammar");
    let info = grammar.table("info").expect("info table");
    let mut monitor = Monitor::simulated().await.expect("simulator");
    monitor.execute("cont").await.expect("cont");
    let style = TableStyle {
        width: 100,
        fancy: false,
    };
    let mut rendered = 0;
    for entry in info.entries_for(Profile::V10_0) {
        if matches!(
            entry.qmp.get(Profile::V10_0),
            QmpMapping::HmpOnly | QmpMapping::Local
        ) {
            continue;
        }
        let line = line_for(entry.primary_name());
        let response = match monitor.execute(&line).await {
            Ok(r) => r,
            Err(e) => panic!("`{line}` on the simulator: {e}"),
        };
        // Commands the simulated VM does not offer fail the way QEMU words it.
        if response.failed {
            assert!(!response.text.is_empty(), "`{line}` failed silently");
            continue;
        }
        rendered += 1;
        if let Some(name) = &response.renderer {
            if let Some(text) = table::render(name, &response.replies, style) {
                assert!(!text.contains("unexpected"), "`{line}` table: {text}");
                assert!(
                    text.lines().all(|l| l.chars().count() <= 100),
                    "`{line}` table too wide:\n{text}"
                );
            }
        }
    }
    assert!(
        rendered >= 20,
        "only {rendered} info commands rendered on the simulator"
    );
}

#[tokio::test]
async fn simulated_status_and_block_look_like_qemu() {
    let mut monitor = Monitor::simulated().await.expect("simulator");
    assert_eq!(
        monitor.execute("info status").await.unwrap().text,
        "VM status: paused (prelaunch)\n"
    );
    let block = monitor.execute("info block").await.unwrap().text;
    assert!(block.starts_with("drive0 ("), "{block}");
    assert!(block.contains("ide1-cd0 ("), "{block}");
    assert!(
        block.contains("    Removable device: not locked, tray closed\n"),
        "{block}"
    );
    assert!(monitor
        .execute("info version")
        .await
        .unwrap()
        .text
        .starts_with("10.0."));
}
