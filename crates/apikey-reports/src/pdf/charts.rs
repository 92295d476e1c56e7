//! The report's two charts, laid out by plotters over [`PdfBackend`](super::backend::PdfBackend):
//! daily requests stacked by outcome, and the top keys as horizontal bars.

use plotters::prelude::*;

use super::backend::{PdfBackend, SCALE};
use crate::data::{Day, TopKey};

/// The stacked layers, bottom first: label, colour, and what they count.
pub(crate) const LAYERS: [(&str, (u8, u8, u8)); 4] = [
    ("admitted", (46, 125, 50)),
    ("refused: scope, address or state", (239, 108, 0)),
    ("refused: rate, quota or credits", (249, 168, 37)),
    ("refused: dependency unavailable", (117, 117, 117)),
];

fn layers(d: &Day) -> [u64; 4] {
    let c = &d.counts;
    [
        c.success,
        c.scope + c.ip + c.state,
        c.rate_limited + c.quota,
        c.unavailable,
    ]
}

/// `1234567` → `1.2M`.
pub(crate) fn compact(n: f64) -> String {
    let a = n.abs();
    if a >= 1e9 {
        format!("{:.1}G", n / 1e9)
    } else if a >= 1e6 {
        format!("{:.1}M", n / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", n / 1e3)
    } else if a >= 1e3 {
        format!("{:.1}k", n / 1e3)
    } else {
        format!("{n:.0}")
    }
}

fn px(points: f64) -> f64 {
    points * f64::from(SCALE)
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn upx(points: f64) -> u32 {
    px(points) as u32
}

type Drawn = Result<(), String>;

/// Axis labels: 7 pt, grey.
fn label() -> TextStyle<'static> {
    ("sans-serif", px(7.0))
        .into_font()
        .color(&RGBColor(90, 90, 90))
}

/// Daily requests, stacked by outcome.
#[allow(clippy::cast_precision_loss)] // counts far below 2^52
pub(crate) fn daily(backend: PdfBackend<'_, '_>, days: &[Day]) -> Drawn {
    let root = backend.into_drawing_area();
    let n = days.len().max(1) as f64;
    let max = days
        .iter()
        .map(|d| layers(d).iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let mut chart = ChartBuilder::on(&root)
        .margin(upx(4.0))
        .x_label_area_size(upx(16.0))
        .y_label_area_size(upx(34.0))
        .build_cartesian_2d(-0.5..n - 0.5, 0.0..max * 1.08)
        .map_err(|e| e.to_string())?;
    let first = days.first().map(|d| d.day);
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(days.len().min(10))
        .x_label_formatter(&|v: &f64| {
            let i = v.round();
            match first {
                Some(f) if (v - i).abs() < 1e-6 && i >= 0.0 => {
                    #[allow(clippy::cast_possible_truncation)]
                    let day = f + chrono::TimeDelta::days(i as i64);
                    day.format("%b %-d").to_string()
                }
                _ => String::new(),
            }
        })
        .y_labels(5)
        .y_label_formatter(&|v: &f64| compact(*v))
        .label_style(label())
        .axis_style(RGBColor(160, 160, 160))
        .max_light_lines(1)
        .light_line_style(RGBColor(240, 240, 240))
        .bold_line_style(RGBColor(225, 225, 225))
        .draw()
        .map_err(|e| e.to_string())?;
    for (i, d) in days.iter().enumerate() {
        let x = i as f64;
        let mut base = 0.0;
        for (value, (_, (r, g, b))) in layers(d).iter().zip(LAYERS) {
            if *value == 0 {
                continue;
            }
            let top = base + *value as f64;
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(x - 0.36, base), (x + 0.36, top)],
                    RGBColor(r, g, b).filled(),
                )))
                .map_err(|e| e.to_string())?;
            base = top;
        }
    }
    root.present().map_err(|e| e.to_string())
}

/// The top keys by requests, most first, as horizontal bars labelled with their names.
#[allow(clippy::cast_precision_loss)]
pub(crate) fn top_keys(backend: PdfBackend<'_, '_>, keys: &[TopKey], names: &[String]) -> Drawn {
    let root = backend.into_drawing_area();
    let k = keys.len().max(1) as f64;
    let max = keys
        .iter()
        .map(|t| t.counts.requests())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let mut chart = ChartBuilder::on(&root)
        .margin(upx(4.0))
        .x_label_area_size(upx(16.0))
        .y_label_area_size(upx(130.0))
        .build_cartesian_2d(0.0..max * 1.08, -0.5..k - 0.5)
        .map_err(|e| e.to_string())?;
    let count = keys.len();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(count)
        .y_label_formatter(&|v: &f64| {
            let i = v.round();
            if (v - i).abs() > 1e-6 || i < 0.0 {
                return String::new();
            }
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let rank = count.saturating_sub(1 + i as usize);
            names.get(rank).cloned().unwrap_or_default()
        })
        .x_labels(5)
        .x_label_formatter(&|v: &f64| compact(*v))
        .label_style(label())
        .axis_style(RGBColor(160, 160, 160))
        .max_light_lines(1)
        .light_line_style(RGBColor(240, 240, 240))
        .bold_line_style(RGBColor(225, 225, 225))
        .draw()
        .map_err(|e| e.to_string())?;
    for (rank, t) in keys.iter().enumerate() {
        let y = (count - 1 - rank) as f64;
        let admitted = t.counts.success as f64;
        let all = t.counts.requests() as f64;
        chart
            .draw_series([
                Rectangle::new(
                    [(0.0, y - 0.32), (admitted, y + 0.32)],
                    RGBColor(46, 125, 50).filled(),
                ),
                Rectangle::new(
                    [(admitted, y - 0.32), (all, y + 0.32)],
                    RGBColor(239, 108, 0).filled(),
                ),
            ])
            .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())
}
