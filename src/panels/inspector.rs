//! The inspector: everything about the selected process — metrics, capabilities, endpoints,
//! mailbox state (with the syscall flow in slow motion), a syscalls-per-second sparkline, recent
//! messages as hex and text, and its console output.

use bevy_egui::egui;
use orbital_kernel::{BlockReason, ExitReason, ProcessId, ProcessState, rights_label};

use super::text_bar::text_bar;
use super::{PanelData, UiActions, format_bytes, format_ns, preview_hex, preview_text};
use crate::graph::kill_refusal;
use crate::supervisor::{MailboxStatus, Supervisor, SupervisorIntent, TimeControl};

/// How long the "serviced" stage stays lit after a syscall was serviced.
const SERVICED_GLOW_NS: u64 = 800_000_000;

pub(super) fn inspector_ui(
    ui: &mut egui::Ui,
    supervisor: &Supervisor,
    data: &PanelData,
    actions: &mut UiActions,
) {
    let theme = &data.theme;
    ui.heading("Inspector");
    if let Some(message) = &data.selected_message.0 {
        message_ui(ui, supervisor, data, message, actions);
        ui.separator();
    }
    let Some(pid) = data.selection.0 else {
        ui.label("Click a process (on the canvas or in the list) to inspect it.");
        ui.small("Drag a node to move it; drop it on the red zone to kill it.");
        return;
    };
    let kernel = supervisor.viewed_kernel();
    let Some(process) = kernel.process(pid) else {
        ui.label(format!("pid {} is gone.", pid.0));
        let text = supervisor.console_text_of(pid);
        if !text.is_empty() {
            ui.strong("Console output");
            egui::ScrollArea::vertical()
                .id_salt("gone_console")
                .show(ui, |ui| ui.monospace(text));
        }
        return;
    };
    let view = data
        .processes
        .iter()
        .find(|(p, _)| p.pid == pid)
        .map(|(_, v)| v);
    let now_ns = super::viewed_now_ns(supervisor);
    actions.inspector_pid = Some(pid.0);
    egui::ScrollArea::vertical()
        .id_salt("inspector_scroll")
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.label(
                    egui::RichText::new(&process.name)
                        .strong()
                        .size(18.0)
                        .color(theme.program_color(&process.name).egui()),
                );
                ui.label(
                    egui::RichText::new(format!("pid {}", pid.0))
                        .strong()
                        .size(18.0),
                );
                if process.protected {
                    ui.label("protected");
                }
            });
            ui.label(state_text(&process.state));
            ui.horizontal(|ui| {
                let past = (!supervisor.is_live())
                    .then_some("this is the past: press Live (Esc) to act on the live system");
                match past
                    .map(str::to_string)
                    .or_else(|| view.and_then(|v| kill_refusal(pid, v)))
                {
                    None => {
                        if ui.button("Kill").clicked() {
                            actions.intents.push(SupervisorIntent::Kill { pid });
                        }
                    }
                    Some(why) => {
                        ui.add_enabled(false, egui::Button::new("Kill"))
                            .on_disabled_hover_text(why);
                    }
                }
                if process.state.is_zombie() && ui.button("Dismiss").clicked() {
                    actions.intents.push(SupervisorIntent::Reap { pid });
                }
                if ui.button("Deselect").clicked() {
                    actions.select = Some(None);
                }
            });

            ui.separator();
            let m = &process.metrics;
            egui::Grid::new("metrics")
                .num_columns(2)
                .striped(true)
                .show(ui, |ui| {
                    let mut row = |k: &str, v: String| {
                        ui.label(k);
                        ui.monospace(v);
                        ui.end_row();
                    };
                    row(
                        "memory",
                        format!(
                            "{} ({} B)",
                            format_bytes(m.memory_size as u64),
                            m.memory_size
                        ),
                    );
                    row("allocated", format_bytes(process.allocated_bytes));
                    row(
                        "IPC sent",
                        format!("{} msgs, {}", m.ipc_sent, format_bytes(m.ipc_bytes_sent)),
                    );
                    row(
                        "IPC received",
                        format!(
                            "{} msgs, {}",
                            m.ipc_received,
                            format_bytes(m.ipc_bytes_received)
                        ),
                    );
                    row("syscalls", m.syscall_count.to_string());
                    row("started at", format_ns(m.start_time_ns));
                    row(
                        "last active",
                        format!("{} ago", format_ns(now_ns.saturating_sub(m.last_active_ns))),
                    );
                    let worker = match view.and_then(|v| v.worker_id) {
                        Some(w) => w.to_string(),
                        // Workers are host facts, not recorded.
                        None if !supervisor.is_live() => "- (live only)".into(),
                        None => "-".into(),
                    };
                    row("worker", worker);
                });

            ui.separator();
            ui.strong("Syscalls per second");
            sparkline_ui(ui, data, pid);

            ui.separator();
            mailbox_ui(ui, supervisor, data, pid, now_ns);

            ui.separator();
            ui.strong("Capabilities");
            let caps = kernel.capabilities(pid);
            if caps.is_empty() {
                ui.small("none");
            }
            egui::Grid::new("caps")
                .num_columns(4)
                .striped(true)
                .show(ui, |ui| {
                    for cap in &caps {
                        ui.monospace(format!("slot {}", cap.slot));
                        ui.label(cap.object.to_string());
                        ui.monospace(rights_label(cap.rights));
                        if cap.stale {
                            ui.colored_label(
                                theme.error.egui(),
                                format!("stale (gen {})", cap.generation),
                            );
                        } else {
                            ui.small(format!("gen {}", cap.generation));
                        }
                        ui.end_row();
                    }
                });

            ui.separator();
            ui.strong("Endpoints");
            let endpoints = kernel.endpoints_of(pid);
            if endpoints.is_empty() {
                ui.small("owns none");
            }
            for e in &endpoints {
                ui.horizontal(|ui| {
                    ui.monospace(format!("ep {}", e.id.0));
                    text_bar(
                        ui,
                        90.0,
                        e.queue_len as f32 / e.queue_capacity.max(1) as f32,
                        format!("{}/{}", e.queue_len, e.queue_capacity),
                        None,
                        true,
                    );
                    ui.small(format!("sent {} · delivered {}", e.sent, e.delivered));
                });
            }

            ui.separator();
            ui.strong("Recent messages");
            let mut shown = 0;
            for entry in kernel
                .traffic_log()
                .iter()
                .rev()
                .filter(|t| t.from == pid || t.to == pid)
                .take(8)
            {
                shown += 1;
                let direction = if entry.from == pid {
                    format!("to pid {}", entry.to.0)
                } else {
                    format!("from pid {}", entry.from.0)
                };
                ui.label(format!(
                    "{} {direction} · ep {} · tag {} · {} B",
                    format_ns(entry.at_ns),
                    entry.endpoint.0,
                    entry.tag,
                    entry.bytes
                ));
                ui.monospace(egui::RichText::new(preview_hex(&entry.preview)).small());
                ui.monospace(
                    egui::RichText::new(format!("\"{}\"", preview_text(&entry.preview))).small(),
                );
            }
            if shown == 0 {
                ui.small("none yet");
            }

            ui.separator();
            ui.strong("Console output");
            // The process's own transcript (kept after the shared log moved on), the last lines.
            let lines = supervisor.console_lines_of(pid);
            let text: String = lines
                .iter()
                .rev()
                .take(40)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .map(|l| l.text.as_str())
                .collect();
            let text = text.rsplit('\x0c').next().unwrap_or_default();
            if supervisor.has_console_input(pid) && !process.state.is_zombie() {
                ui.small("Reads console input: type in the terminal while it is selected.");
            }
            ui.monospace(if text.is_empty() { "(nothing)" } else { text });
        });
}

pub(super) fn state_text(state: &ProcessState) -> String {
    match state {
        ProcessState::Running => "Running".into(),
        ProcessState::Blocked(BlockReason::Receive { endpoint }) => {
            format!("Blocked: waiting for a message on ep {}", endpoint.0)
        }
        ProcessState::Blocked(BlockReason::Sleep { until_ns }) => {
            format!("Blocked: sleeping until {}", format_ns(*until_ns))
        }
        ProcessState::Zombie(ExitReason::Exited { code }) => {
            format!("Zombie: exited with code {code}")
        }
        ProcessState::Zombie(ExitReason::Trapped { message }) => {
            format!("Zombie: trapped: {message}")
        }
        ProcessState::Zombie(ExitReason::Killed { by: Some(by) }) => {
            format!("Zombie: killed by pid {}", by.0)
        }
        ProcessState::Zombie(ExitReason::Killed { by: None }) => "Zombie: killed".into(),
        ProcessState::Zombie(ExitReason::OutOfMemory) => "Zombie: out of memory".into(),
    }
}

fn sparkline_ui(ui: &mut egui::Ui, data: &PanelData, pid: ProcessId) {
    let theme = &data.theme;
    let (rect, _) =
        ui.allocate_exact_size(egui::vec2(ui.available_width(), 40.0), egui::Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 2.0, theme.memory_bar_back.egui());
    let Some(samples) = data.stats.sparkline(pid.0) else {
        return;
    };
    let max = samples.iter().copied().fold(1.0_f32, f32::max);
    let n = crate::panels::stats::SPARKLINE_SAMPLES as f32;
    let points: Vec<egui::Pos2> = samples
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let x = rect.max.x - (samples.len() - 1 - i) as f32 * rect.width() / (n - 1.0);
            egui::pos2(x, rect.max.y - 2.0 - (v / max) * (rect.height() - 4.0))
        })
        .collect();
    painter.add(egui::Shape::line(
        points,
        egui::Stroke::new(1.5, theme.accent.egui()),
    ));
    let last = samples.back().copied().unwrap_or(0.0);
    painter.text(
        rect.left_top() + egui::vec2(4.0, 2.0),
        egui::Align2::LEFT_TOP,
        format!("{last:.0}/s (max {max:.0}/s, last 30 s)"),
        egui::FontId::proportional(11.0),
        theme.text.egui(),
    );
}

/// The stages of one syscall as a class follows it in slow motion.
pub(super) const SYSCALL_FLOW_STAGES: [&str; 4] = ["idle", "pending", "serviced", "ready"];

/// Which of [`SYSCALL_FLOW_STAGES`] to light for `pid`. A guest takes its reply and asks again
/// within microseconds, so the real "serviced" and "ready" moments are held on screen: for
/// [`SERVICED_GLOW_NS`] after the kernel serviced a call, the first half shows "serviced" and
/// the second "ready" (the reply handed back); otherwise the mailbox's state now (a request
/// waiting for the kernel is "pending", no request is "idle").
pub(super) fn syscall_flow_stage(supervisor: &Supervisor, pid: ProcessId, now_ns: u64) -> usize {
    let since_serviced = supervisor
        .last_serviced(pid)
        .map(|c| now_ns.saturating_sub(c.at_ns));
    match (
        since_serviced,
        supervisor.mailbox_status(pid).unwrap_or_default(),
    ) {
        (Some(age), _) if age < SERVICED_GLOW_NS / 2 => 2,
        (Some(age), _) if age < SERVICED_GLOW_NS => 3,
        (_, MailboxStatus::Pending) => 1,
        (_, MailboxStatus::Ready) => 3,
        (_, MailboxStatus::Idle) => 0,
    }
}

/// The mailbox light and, in slow motion or paused, the syscall flow:
/// idle → pending → serviced → ready.
fn mailbox_ui(
    ui: &mut egui::Ui,
    supervisor: &Supervisor,
    data: &PanelData,
    pid: ProcessId,
    now_ns: u64,
) {
    let theme = &data.theme;
    let live = supervisor.is_live();
    let status = if live {
        supervisor.mailbox_status(pid).unwrap_or_default()
    } else {
        supervisor
            .viewed_kernel()
            .process(pid)
            .map_or(MailboxStatus::Idle, |p| {
                crate::supervisor::past_mailbox_status(&p.state)
            })
    };
    let last = supervisor.last_serviced(pid).filter(|_| live);
    ui.horizontal(|ui| {
        ui.strong("Mailbox");
        let (text, color) = match status {
            MailboxStatus::Idle => ("idle", theme.mailbox_idle),
            MailboxStatus::Pending => ("pending", theme.mailbox_pending),
            MailboxStatus::Ready => ("ready", theme.mailbox_ready),
        };
        ui.colored_label(color.egui(), text.to_string());
        if let Some(call) = last {
            ui.small(format!("last: {} -> {}", call.name(), call.result));
        }
    });
    if !live {
        ui.small("In the past the light is derived from the kernel state at the cursor (blocked: a call waits, pending); the host's mailbox itself is not recorded.");
        return;
    }
    if supervisor.time_control() == TimeControl::Running {
        ui.small("Syscall flow: switch to 1/4x, 1/16x or pause + step to follow each syscall.");
        return;
    }
    let active = syscall_flow_stage(supervisor, pid, now_ns);
    ui.horizontal(|ui| {
        for (i, stage) in SYSCALL_FLOW_STAGES.iter().enumerate() {
            if i > 0 {
                ui.label("->");
            }
            let text = egui::RichText::new(*stage).monospace();
            if i == active {
                ui.label(
                    text.strong()
                        .background_color(theme.accent.egui())
                        .color(egui::Color32::BLACK),
                );
            } else {
                ui.label(text.color(theme.text_weak.egui()));
            }
        }
    });
}

/// The message picked in the sequence chart: who sent what to whom, when, and its first bytes
/// (from the traffic log of the kernel at the cursor, which stands just after the send).
fn message_ui(
    ui: &mut egui::Ui,
    supervisor: &Supervisor,
    data: &PanelData,
    message: &orbital_supervisor::recording::ChartMessage,
    actions: &mut UiActions,
) {
    let theme = &data.theme;
    let kernel = supervisor.viewed_kernel();
    let name = |pid: u32| {
        kernel
            .process(ProcessId(pid))
            .map_or_else(|| format!("pid {pid}"), |p| format!("{} ({pid})", p.name))
    };
    ui.horizontal(|ui| {
        ui.label(
            egui::RichText::new("Message")
                .strong()
                .color(theme.accent.egui()),
        );
        if ui
            .small_button("x")
            .on_hover_text("forget this message")
            .clicked()
        {
            actions.select_message = Some(None);
        }
    });
    egui::Grid::new("message")
        .num_columns(2)
        .striped(true)
        .show(ui, |ui| {
            let mut row = |k: &str, v: String| {
                ui.label(k);
                ui.monospace(v);
                ui.end_row();
            };
            row("from", name(message.from));
            row("to", name(message.to));
            row(
                "endpoint",
                format!(
                    "ep {} · tag {} · {} B",
                    message.endpoint, message.tag, message.bytes
                ),
            );
            let at = |index: Option<u64>, ns: Option<u64>| match (index, ns) {
                (Some(i), Some(ns)) => format!("input {i} · t = {}", format_ns(ns)),
                _ => "outside the chart".into(),
            };
            row("sent", at(message.sent_index, message.sent_ns));
            row(
                "delivered",
                if message.delivered_index.is_some() {
                    at(message.delivered_index, message.delivered_ns)
                } else {
                    "not yet (queued)".into()
                },
            );
        });
    let entry = kernel.traffic_log().iter().rev().find(|t| {
        t.from.0 == message.from
            && t.to.0 == message.to
            && t.tag == message.tag
            && Some(t.at_ns) == message.sent_ns
    });
    match entry {
        Some(entry) => {
            ui.monospace(egui::RichText::new(preview_hex(&entry.preview)).small());
            ui.monospace(
                egui::RichText::new(format!("\"{}\"", preview_text(&entry.preview))).small(),
            );
        }
        None => {
            ui.small("Its bytes are in the traffic log of the moment it was sent: click the arrow to move the cursor there.");
        }
    }
}
