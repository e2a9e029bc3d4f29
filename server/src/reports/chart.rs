//! Server-rendered SVG charts (an askama template, `templates/console/chart.svg`, escaped
//! like the pages): stacked bars (procedures by status), horizontal bars (findings by type)
//! and lines (a trend per unit over periods). White background, dark outlines, dashes that
//! tell the lines apart and a legend, so a chart stays legible printed in black and white;
//! the page shows the same numbers in a table beside it.

use askama::Template;

/// Colours of the series, in order (distinct also when printed in grey).
pub const PALETTE: [&str; 8] = [
    "#1f5fa8", "#e08a1e", "#3c9a45", "#c0392b", "#7d4fa0", "#8c6d31", "#d46fb3", "#6b6b6b",
];
/// Dash patterns of the lines, in order.
const DASHES: [&str; 4] = ["", "6 3", "2 3", "8 3 2 3"];

/// A rectangle.
#[derive(Debug)]
pub struct Rect {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
    color: &'static str,
    tip: String,
}

/// A line of the line chart.
#[derive(Debug)]
pub struct Line {
    points: String,
    color: &'static str,
    dash: &'static str,
    dots: Vec<(f64, f64, String)>,
}

/// A text label.
#[derive(Debug)]
pub struct Label {
    x: f64,
    y: f64,
    anchor: &'static str,
    text: String,
}

/// A grid line with its value.
#[derive(Debug)]
pub struct Tick {
    x1: f64,
    x2: f64,
    y: f64,
    label: String,
}

/// A chart, ready to render.
#[derive(Debug, Template)]
#[template(path = "console/chart.svg", escape = "html")]
pub struct Chart {
    id: String,
    title: String,
    width: u32,
    height: u32,
    ticks: Vec<Tick>,
    rects: Vec<Rect>,
    lines: Vec<Line>,
    labels: Vec<Label>,
    legend: Vec<(String, &'static str)>,
    legend_x: u32,
}

/// A round step for a value axis up to `max` with about five grid lines.
fn step(max: f64) -> f64 {
    let raw = (max / 5.0).max(1.0);
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
}

fn r1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

const LEFT: f64 = 48.0;
const TOP: f64 = 16.0;
const PLOT_H: f64 = 200.0;
const PLOT_W: f64 = 520.0;
const LEGEND_W: u32 = 200;

fn value_ticks(max: f64) -> (Vec<Tick>, f64) {
    let s = step(max);
    let top = (max / s).ceil().max(1.0) * s;
    let ticks = (0..=((top / s) as u32))
        .map(|i| {
            let v = f64::from(i) * s;
            Tick {
                x1: LEFT,
                x2: LEFT + PLOT_W,
                y: r1(TOP + PLOT_H - v / top * PLOT_H),
                label: format!("{v}"),
            }
        })
        .collect();
    (ticks, top)
}

impl Chart {
    /// Stacked vertical bars: one bar per `bars` label, one segment per series.
    pub fn stacked(id: &str, title: &str, series: &[String], bars: &[(String, Vec<u64>)]) -> Chart {
        let max = bars
            .iter()
            .map(|(_, v)| v.iter().sum::<u64>())
            .max()
            .unwrap_or(0) as f64;
        let (ticks, top) = value_ticks(max);
        let slot = PLOT_W / bars.len().max(1) as f64;
        let w = (slot * 0.6).min(60.0);
        let mut rects = Vec::new();
        let mut labels = Vec::new();
        for (i, (label, values)) in bars.iter().enumerate() {
            let x = LEFT + slot * i as f64 + (slot - w) / 2.0;
            let mut y = TOP + PLOT_H;
            for (s, v) in values.iter().enumerate() {
                if *v == 0 {
                    continue;
                }
                let h = *v as f64 / top * PLOT_H;
                y -= h;
                rects.push(Rect {
                    x: r1(x),
                    y: r1(y),
                    w: r1(w),
                    h: r1(h),
                    color: PALETTE[s % PALETTE.len()],
                    tip: format!(
                        "{label} · {}: {v}",
                        series.get(s).map(String::as_str).unwrap_or("")
                    ),
                });
            }
            let total: u64 = values.iter().sum();
            labels.push(Label {
                x: r1(x + w / 2.0),
                y: r1(y - 4.0),
                anchor: "middle",
                text: total.to_string(),
            });
            labels.push(Label {
                x: r1(x + w / 2.0),
                y: TOP + PLOT_H + 16.0,
                anchor: "middle",
                text: truncate(label, (slot / 7.0) as usize),
            });
        }
        Chart::frame(id, title, series, ticks, rects, Vec::new(), labels)
    }

    /// Horizontal bars, one per (label, value), in one colour.
    pub fn horizontal(id: &str, title: &str, bars: &[(String, u64)]) -> Chart {
        let max = bars.iter().map(|(_, v)| *v).max().unwrap_or(0) as f64;
        let s = step(max);
        let top = (max / s).ceil().max(1.0) * s;
        let row = 24.0;
        let left = 230.0;
        let width = 360.0;
        let mut rects = Vec::new();
        let mut labels = Vec::new();
        for (i, (label, v)) in bars.iter().enumerate() {
            let y = TOP + row * i as f64;
            let w = *v as f64 / top * width;
            rects.push(Rect {
                x: left,
                y: r1(y),
                w: r1(w),
                h: row - 6.0,
                color: PALETTE[0],
                tip: format!("{label}: {v}"),
            });
            labels.push(Label {
                x: left - 6.0,
                y: r1(y + 13.0),
                anchor: "end",
                text: truncate(label, 34),
            });
            labels.push(Label {
                x: r1(left + w + 4.0),
                y: r1(y + 13.0),
                anchor: "start",
                text: v.to_string(),
            });
        }
        let height = (TOP + row * bars.len().max(1) as f64 + 12.0) as u32;
        Chart {
            id: id.to_owned(),
            title: title.to_owned(),
            width: (left + width + 60.0) as u32,
            height,
            ticks: Vec::new(),
            rects,
            lines: Vec::new(),
            labels,
            legend: Vec::new(),
            legend_x: 0,
        }
    }

    /// Lines: one per series (a unit), one point per x label (a period).
    pub fn lines(id: &str, title: &str, xs: &[String], series: &[(String, Vec<u64>)]) -> Chart {
        let max = series
            .iter()
            .flat_map(|(_, v)| v.iter().copied())
            .max()
            .unwrap_or(0) as f64;
        let (ticks, top) = value_ticks(max);
        let slot = PLOT_W / xs.len().max(1) as f64;
        let x_of = |i: usize| r1(LEFT + slot * i as f64 + slot / 2.0);
        let mut labels: Vec<Label> = xs
            .iter()
            .enumerate()
            .map(|(i, x)| Label {
                x: x_of(i),
                y: TOP + PLOT_H + 16.0,
                anchor: "middle",
                text: x.clone(),
            })
            .collect();
        let lines = series
            .iter()
            .enumerate()
            .map(|(s, (name, values))| {
                let pts: Vec<(f64, f64)> = values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (x_of(i), r1(TOP + PLOT_H - *v as f64 / top * PLOT_H)))
                    .collect();
                Line {
                    points: pts
                        .iter()
                        .map(|(x, y)| format!("{x},{y}"))
                        .collect::<Vec<_>>()
                        .join(" "),
                    color: PALETTE[s % PALETTE.len()],
                    dash: DASHES[s % DASHES.len()],
                    dots: pts
                        .iter()
                        .zip(values)
                        .zip(xs)
                        .map(|(((x, y), v), label)| (*x, *y, format!("{name} · {label}: {v}")))
                        .collect(),
                }
            })
            .collect();
        labels.shrink_to_fit();
        let names: Vec<String> = series.iter().map(|(n, _)| n.clone()).collect();
        Chart::frame(id, title, &names, ticks, Vec::new(), lines, labels)
    }

    fn frame(
        id: &str,
        title: &str,
        series: &[String],
        ticks: Vec<Tick>,
        rects: Vec<Rect>,
        lines: Vec<Line>,
        labels: Vec<Label>,
    ) -> Chart {
        let legend_x = (LEFT + PLOT_W) as u32 + 16;
        Chart {
            id: id.to_owned(),
            title: title.to_owned(),
            width: legend_x + LEGEND_W,
            height: ((TOP + PLOT_H + 28.0) as u32).max(16 + 18 * series.len() as u32),
            ticks,
            rects,
            lines,
            labels,
            legend: series
                .iter()
                .enumerate()
                .map(|(i, s)| (truncate(s, 28), PALETTE[i % PALETTE.len()]))
                .collect(),
            legend_x,
        }
    }
}

fn truncate(s: &str, n: usize) -> String {
    let n = n.max(4);
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_svg_with_escaped_labels_and_one_shape_per_value() {
        let c = Chart::stacked(
            "progress",
            "Hồ sơ <theo> trạng thái",
            &["Đã tiếp nhận".into(), "Từ chối".into()],
            &[
                ("Cấp mới".into(), vec![3, 1]),
                ("Cấp đổi".into(), vec![0, 2]),
            ],
        )
        .render()
        .unwrap();
        assert!(
            c.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
            "{c}"
        );
        assert!(
            c.contains("<title id=\"progress-title\">Hồ sơ &#60;theo&#62; trạng thái</title>"),
            "{c}"
        );
        // Three non-zero segments, each with its value in the tooltip.
        assert_eq!(c.matches("<rect x=").count() - 2 - 1, 3, "{c}");
        assert!(c.contains("<title>Cấp mới · Đã tiếp nhận: 3</title>"));
        let l = Chart::lines(
            "trend",
            "Xu hướng",
            &["10/2026".into(), "11/2026".into()],
            &[("Phường A".into(), vec![1, 4])],
        )
        .render()
        .unwrap();
        assert_eq!(l.matches("<polyline").count(), 1);
        assert!(l.contains("<title>Phường A · 11/2026: 4</title>"));
        let h = Chart::horizontal("findings", "Lỗi", &[("Thiếu ngày".into(), 7)])
            .render()
            .unwrap();
        assert!(h.contains("<title>Thiếu ngày: 7</title>"));
        assert_eq!(step(7.0), 2.0);
        assert_eq!(step(230.0), 50.0);
    }
}
