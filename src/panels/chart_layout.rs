//! Where everything of a sequence chart goes, as plain geometry (points from the chart's top-left
//! corner), computed once from the chart and the filters. The chart window paints it with egui and
//! "Save SVG" writes the same geometry as an SVG picture, so the handout is what the screen shows.
//!
//! Rows are events, not nanoseconds (as in `et_viewer`): every input that sends, delivers,
//! blocks, wakes or is denied gets a row, so a quiet second takes no space.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use bevy_egui::egui::{Pos2, Rect, pos2};
use orbital_supervisor::recording::{ChartMessage, SequenceChart};

use crate::theme::{Theme, ThemeColor};

pub const ROW_PX: f32 = 18.0;
pub const HEADER_PX: f32 = 34.0;
pub const MIN_COLUMN_PX: f32 = 110.0;

/// What the chart shows: the filters of the chart window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartFilter {
    pub hidden_pids: BTreeSet<u32>,
    pub show_messages: bool,
    pub show_blocked: bool,
    pub show_denied: bool,
}

impl Default for ChartFilter {
    fn default() -> Self {
        Self {
            hidden_pids: BTreeSet::new(),
            show_messages: true,
            show_blocked: true,
            show_denied: true,
        }
    }
}

/// Row of each event input: the sorted list of indices that get a row.
pub struct Rows(Vec<u64>);

impl Rows {
    pub fn new(chart: &SequenceChart, filter: &ChartFilter) -> Rows {
        let mut rows = Vec::new();
        if filter.show_messages {
            for m in &chart.messages {
                rows.extend(m.sent_index);
                rows.extend(m.delivered_index);
            }
        }
        if filter.show_blocked {
            for b in &chart.blocked {
                rows.push(b.from_index);
                rows.extend(b.to_index);
            }
        }
        if filter.show_denied {
            rows.extend(chart.denied.iter().map(|d| d.index));
        }
        rows.retain(|i| (chart.from..chart.to).contains(i));
        rows.sort_unstable();
        rows.dedup();
        Rows(rows)
    }

    /// The row of the first event at or after `index` (the chart's end for none).
    pub fn row(&self, index: u64) -> usize {
        self.0.partition_point(|&i| i < index)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

/// One process's lifeline.
pub struct LaidLifeline<'c> {
    pub pid: u32,
    pub name: &'c str,
    pub x: f32,
    pub top: f32,
    pub end: f32,
    /// It ended inside the span (a bar closes the lifeline).
    pub ended: bool,
}

/// One message's arrow, from its send to its delivery (or the chart's end while queued).
pub struct LaidArrow<'c> {
    pub start: Pos2,
    pub end: Pos2,
    pub queued: bool,
    pub message: &'c ChartMessage,
}

/// A refused request's mark on the sender's lifeline.
pub struct LaidDenied {
    pub at: Pos2,
    pub label: String,
}

/// The chart laid out in a `width` x `height` box.
pub struct ChartLayout<'c> {
    pub width: f32,
    pub height: f32,
    pub lifelines: Vec<LaidLifeline<'c>>,
    /// Blocked periods: thin bars along the lifeline.
    pub blocked: Vec<Rect>,
    pub arrows: Vec<LaidArrow<'c>>,
    pub denied: Vec<LaidDenied>,
    /// The line across the bottom: where the timeline's cursor stands.
    pub cursor_y: f32,
}

impl<'c> ChartLayout<'c> {
    /// Lays out `chart` with `filter`, at least `min_width` wide (wider when the lifelines need
    /// more room than that).
    pub fn new(chart: &'c SequenceChart, filter: &ChartFilter, min_width: f32) -> Self {
        let shown: Vec<_> = chart
            .lifelines
            .iter()
            .filter(|l| !filter.hidden_pids.contains(&l.pid))
            .collect();
        let rows = Rows::new(chart, filter);
        let column = |pid: u32| shown.iter().position(|l| l.pid == pid);
        let width = min_width.max(shown.len() as f32 * MIN_COLUMN_PX);
        let column_px = width / shown.len().max(1) as f32;
        let height = HEADER_PX + (rows.len() + 1) as f32 * ROW_PX;
        let x_of = |col: usize| (col as f32 + 0.5) * column_px;
        let y_of = |index: u64| HEADER_PX + (rows.row(index) as f32 + 0.5) * ROW_PX;
        let bottom = height - ROW_PX * 0.5;

        let lifelines = shown
            .iter()
            .enumerate()
            .map(|(col, l)| {
                let ended = l.ended_index.is_some_and(|i| i < chart.to);
                LaidLifeline {
                    pid: l.pid,
                    name: &l.name,
                    x: x_of(col),
                    top: l
                        .spawned_index
                        .filter(|i| *i >= chart.from)
                        .map_or(HEADER_PX, y_of),
                    end: l.ended_index.filter(|i| *i < chart.to).map_or(bottom, y_of),
                    ended,
                }
            })
            .collect();
        let mut blocked = Vec::new();
        if filter.show_blocked {
            for span in &chart.blocked {
                let Some(col) = column(span.pid) else {
                    continue;
                };
                let x = x_of(col);
                let top = y_of(span.from_index.max(chart.from));
                let end = span.to_index.map_or(bottom, y_of);
                blocked.push(Rect::from_min_max(
                    pos2(x - 3.0, top),
                    pos2(x + 3.0, end.max(top + 2.0)),
                ));
            }
        }
        let mut arrows = Vec::new();
        if filter.show_messages {
            for message in &chart.messages {
                let (Some(a), Some(b), Some(sent)) =
                    (column(message.from), column(message.to), message.sent_index)
                else {
                    continue;
                };
                arrows.push(LaidArrow {
                    start: pos2(x_of(a), y_of(sent)),
                    end: pos2(x_of(b), message.delivered_index.map_or(bottom, y_of)),
                    queued: message.delivered_index.is_none(),
                    message,
                });
            }
        }
        let mut denied = Vec::new();
        if filter.show_denied {
            for d in &chart.denied {
                let Some(col) = column(d.pid) else {
                    continue;
                };
                denied.push(LaidDenied {
                    at: pos2(x_of(col), y_of(d.index)),
                    label: format!("{} {}", d.syscall_name, d.error),
                });
            }
        }
        ChartLayout {
            width,
            height,
            lifelines,
            blocked,
            arrows,
            denied,
            cursor_y: bottom + ROW_PX * 0.4,
        }
    }

    /// The chart as a standalone SVG picture (for handouts and slides), in the theme's colours,
    /// with a title line above it.
    pub fn to_svg(&self, theme: &Theme, title: &str) -> String {
        const TITLE_PX: f32 = 28.0;
        const PAD: f32 = 12.0;
        let (w, h) = (self.width + 2.0 * PAD, self.height + TITLE_PX + 2.0 * PAD);
        let mut s = String::with_capacity(4096 + 220 * self.arrows.len());
        let _ = write!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.1} {h:.1}" font-family="DejaVu Sans, Arial, sans-serif">"#
        );
        s.push('\n');
        let _ = writeln!(s, "<title>{}</title>", escape(title));
        let _ = writeln!(
            s,
            r#"<rect width="100%" height="100%" fill="{}"/>"#,
            hex(theme.background)
        );
        let _ = writeln!(
            s,
            r#"<text x="{PAD}" y="{:.1}" font-size="15" fill="{}">{}</text>"#,
            PAD + 15.0,
            hex(theme.text),
            escape(title)
        );
        let _ = writeln!(
            s,
            r#"<g transform="translate({PAD} {:.1})">"#,
            PAD + TITLE_PX
        );
        let weak = hex(theme.text_weak);
        s.push_str("<g class=\"lifelines\">\n");
        for l in &self.lifelines {
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="16" font-size="13" text-anchor="middle" fill="{}">{} ({})</text>"#,
                l.x,
                hex(theme.program_color(l.name)),
                escape(l.name),
                l.pid
            );
            let _ = writeln!(
                s,
                r#"<line class="lifeline" x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="{weak}" stroke-width="1"/>"#,
                l.top,
                l.end,
                x = l.x
            );
            if l.ended {
                let _ = writeln!(
                    s,
                    r#"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{weak}" stroke-width="2"/>"#,
                    l.x - 6.0,
                    l.x + 6.0,
                    y = l.end
                );
            }
        }
        s.push_str("</g>\n<g class=\"blocked\">\n");
        let blocked = theme.state_blocked;
        for r in &self.blocked {
            let _ = writeln!(
                s,
                r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="1" fill="{}" fill-opacity="0.6"/>"#,
                r.min.x,
                r.min.y,
                r.width(),
                r.height(),
                hex(blocked)
            );
        }
        s.push_str("</g>\n<g class=\"messages\">\n");
        let accent = hex(theme.accent);
        for a in &self.arrows {
            let m = a.message;
            let _ = writeln!(
                s,
                r#"<g class="message"><title>pid {} to pid {}, endpoint {}, tag {}, {} B</title><line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{accent}" stroke-width="1.5"/>{}"#,
                m.from,
                m.to,
                m.endpoint,
                m.tag,
                m.bytes,
                a.start.x,
                a.start.y,
                a.end.x,
                a.end.y,
                arrow_head(a.start, a.end, &accent)
            );
            let mid = a.start.lerp(a.end, 0.5);
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle" fill="{weak}">tag {} · {} B</text>"#,
                mid.x,
                mid.y - 2.0,
                m.tag,
                m.bytes
            );
            if a.queued {
                let _ = writeln!(
                    s,
                    r#"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="middle" fill="{weak}">queued</text>"#,
                    a.end.x,
                    a.end.y - 2.0
                );
            }
            s.push_str("</g>\n");
        }
        s.push_str("</g>\n<g class=\"denied\">\n");
        let error = hex(theme.error);
        for d in &self.denied {
            let (x, y) = (d.at.x, d.at.y);
            let _ = writeln!(
                s,
                r#"<path d="M{:.1} {:.1}L{:.1} {:.1}M{:.1} {:.1}L{:.1} {:.1}" stroke="{error}" stroke-width="2"/><text x="{:.1}" y="{:.1}" font-size="12" dominant-baseline="middle" fill="{error}">{}</text>"#,
                x - 5.0,
                y - 5.0,
                x + 5.0,
                y + 5.0,
                x - 5.0,
                y + 5.0,
                x + 5.0,
                y - 5.0,
                x + 8.0,
                y,
                escape(&d.label)
            );
        }
        s.push_str("</g>\n");
        let _ = writeln!(
            s,
            r#"<line x1="0" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{}" stroke-width="1"/>"#,
            self.width,
            hex(theme.warning),
            y = self.cursor_y
        );
        s.push_str("</g>\n</svg>\n");
        s
    }
}

/// The filled triangle at an arrow's end (8 long, 8 wide), as egui's chart draws it.
fn arrow_head(from: Pos2, to: Pos2, fill: &str) -> String {
    let dir = (to - from).normalized();
    if dir.length() < 0.5 {
        return String::new();
    }
    let back = to - dir * 8.0;
    let side = dir.rot90() * 4.0;
    let (b1, b2) = (back + side, back - side);
    format!(
        r#"<path d="M{:.1} {:.1}L{:.1} {:.1}L{:.1} {:.1}Z" fill="{fill}"/>"#,
        to.x, to.y, b1.x, b1.y, b2.x, b2.y
    )
}

fn hex(c: ThemeColor) -> String {
    let [r, g, b, _] = c.0;
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// Text for SVG/XML content and attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 has no place for most control characters.
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use orbital_supervisor::recording::{BlockedSpan, ChartDenied, Lifeline};

    use super::*;

    fn message(from: u32, to: u32, sent: u64, delivered: Option<u64>) -> ChartMessage {
        ChartMessage {
            id: sent,
            from,
            to,
            endpoint: 1,
            tag: 7,
            bytes: 4,
            sent_index: Some(sent),
            sent_ns: Some(0),
            delivered_index: delivered,
            delivered_ns: delivered.map(|_| 0),
        }
    }

    fn chart() -> SequenceChart {
        let lifeline = |pid: u32, name: &str| Lifeline {
            pid,
            name: name.into(),
            spawned_index: None,
            ended_index: None,
        };
        SequenceChart {
            from: 0,
            to: 100,
            lifelines: vec![
                lifeline(4, "receiver"),
                lifeline(5, "sender <&>"),
                lifeline(6, "rogue"),
            ],
            messages: vec![message(5, 4, 10, Some(40)), message(5, 4, 50, None)],
            blocked: vec![BlockedSpan {
                pid: 4,
                on: "receive",
                endpoint: Some(1),
                from_index: 5,
                from_ns: 0,
                to_index: Some(40),
                to_ns: Some(0),
            }],
            denied: vec![ChartDenied {
                pid: 6,
                index: 60,
                at_ns: 0,
                syscall: 6,
                syscall_name: "SEND",
                error: "PERMISSION_DENIED",
                reason: "no right".into(),
            }],
            truncated: false,
        }
    }

    #[test]
    fn rows_are_events_in_order_and_an_index_takes_the_next_row() {
        let chart = SequenceChart {
            from: 0,
            to: 100,
            messages: vec![message(1, 2, 10, Some(40))],
            ..SequenceChart::default()
        };
        let rows = Rows::new(&chart, &ChartFilter::default());
        assert_eq!(rows.0, vec![10, 40]);
        assert_eq!(rows.row(10), 0);
        assert_eq!(rows.row(11), 1);
        assert_eq!(rows.row(99), 2);
    }

    #[test]
    fn arrows_go_from_the_senders_lifeline_down_to_the_receivers() {
        let chart = chart();
        let layout = ChartLayout::new(&chart, &ChartFilter::default(), 300.0);
        assert_eq!(layout.width, 3.0 * MIN_COLUMN_PX);
        let x_of = |pid| layout.lifelines.iter().find(|l| l.pid == pid).unwrap().x;
        let delivered = &layout.arrows[0];
        assert_eq!(delivered.start.x, x_of(5));
        assert_eq!(delivered.end.x, x_of(4));
        assert!(delivered.end.y > delivered.start.y, "time runs down");
        assert!(layout.arrows[1].queued);
        assert_eq!(layout.blocked.len(), 1);
        assert_eq!(layout.denied[0].label, "SEND PERMISSION_DENIED");
        assert!(layout.cursor_y > layout.arrows[1].end.y);
    }

    #[test]
    fn hidden_processes_and_kinds_leave_the_layout() {
        let chart = chart();
        let filter = ChartFilter {
            hidden_pids: [4].into(),
            show_denied: false,
            ..ChartFilter::default()
        };
        let layout = ChartLayout::new(&chart, &filter, 100.0);
        assert_eq!(layout.lifelines.len(), 2);
        assert!(
            layout.arrows.is_empty(),
            "every message went to the hidden receiver"
        );
        assert!(layout.blocked.is_empty());
        assert!(layout.denied.is_empty());
    }

    #[test]
    fn the_svg_holds_every_lifeline_arrow_and_mark_with_text_escaped() {
        let chart = chart();
        let layout = ChartLayout::new(&chart, &ChartFilter::default(), 300.0);
        let svg = layout.to_svg(&Theme::default(), "Sequence chart: inputs 0..100 <test>");
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("class=\"lifeline\"").count(), 3);
        assert_eq!(svg.matches("<g class=\"message\">").count(), 2);
        assert_eq!(svg.matches("queued</text>").count(), 1);
        assert!(svg.contains(">SEND PERMISSION_DENIED</text>"));
        assert!(svg.contains("sender &lt;&amp;&gt; (5)"));
        assert!(svg.contains("inputs 0..100 &lt;test&gt;"));
        assert!(
            !svg.contains("<&>"),
            "raw markup from a name must not reach the file"
        );
        // Every element that opens closes: the counts of < and > agree, and tags balance.
        assert_eq!(svg.matches("<g").count(), svg.matches("</g>").count());
        assert_eq!(svg.matches('<').count(), svg.matches('>').count());
    }
}
