//! Pages as lists of drawing operations: the title page, the charts, and tables that break
//! across pages with their header repeated. Coordinates are points from the top left.

use apikey_core::analytics::{Outcome, UsageCounts};
use chrono::{DateTime, Utc};

use super::charts::LAYERS;
use super::fonts::Fonts;
use super::{PAGE_H, PAGE_W};
use crate::data::Report;

pub(super) const MARGIN: f32 = 48.0;
const BOTTOM: f32 = PAGE_H - 52.0;
const WIDTH: f32 = PAGE_W - 2.0 * MARGIN;
const INK: (u8, u8, u8) = (33, 33, 33);
const MUTED: (u8, u8, u8) = (110, 110, 110);
const ACCENT: (u8, u8, u8) = (25, 62, 110);
const RULE: (u8, u8, u8) = (220, 220, 220);
const STRIPE: (u8, u8, u8) = (246, 247, 249);

/// Which chart an [`Op::Chart`] draws.
pub(super) enum Chart {
    Daily,
    /// With the label of each top key.
    TopKeys(Vec<String>),
}

/// One drawing operation.
pub(super) enum Op {
    Text {
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        color: (u8, u8, u8),
        text: String,
    },
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        color: (u8, u8, u8),
    },
    Line {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        color: (u8, u8, u8),
    },
    Chart {
        chart: Chart,
        x: f32,
        y: f32,
        w: f32,
        h: f32,
    },
}

struct Pages<'f> {
    fonts: &'f Fonts,
    pages: Vec<Vec<Op>>,
    /// The next free line, from the top of the current page.
    y: f32,
}

/// A table column: its title, width (points) and whether numbers align right.
struct Col(&'static str, f32, bool);

impl<'f> Pages<'f> {
    fn new(fonts: &'f Fonts) -> Self {
        Self {
            fonts,
            pages: vec![Vec::new()],
            y: MARGIN,
        }
    }

    fn op(&mut self, op: Op) {
        if let Some(page) = self.pages.last_mut() {
            page.push(op);
        }
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = MARGIN;
    }

    /// Starts a new page unless `h` more points fit on this one.
    fn room(&mut self, h: f32) {
        if self.y + h > BOTTOM {
            self.new_page();
        }
    }

    fn text(&mut self, x: f32, y: f32, size: f32, bold: bool, color: (u8, u8, u8), text: &str) {
        self.op(Op::Text {
            x,
            y,
            size,
            bold,
            color,
            text: text.to_owned(),
        });
    }

    fn heading(&mut self, title: &str) {
        self.room(60.0);
        self.y += 14.0;
        let y = self.y + 12.0;
        self.text(MARGIN, y, 13.0, true, ACCENT, title);
        self.y += 20.0;
    }

    fn paragraph(&mut self, text: &str) {
        self.room(16.0);
        let y = self.y + 10.0;
        self.text(MARGIN, y, 9.0, false, MUTED, text);
        self.y += 16.0;
    }

    fn header_row(&mut self, cols: &[Col]) {
        let h = 16.0;
        self.op(Op::Rect {
            x: MARGIN,
            y: self.y,
            w: WIDTH,
            h,
            color: (232, 236, 242),
        });
        let mut x = MARGIN + 4.0;
        for Col(title, w, right) in cols {
            let tx = if *right {
                x + w - 8.0 - self.fonts.width(title, 7.5, true)
            } else {
                x
            };
            self.text(tx, self.y + 11.0, 7.5, true, INK, title);
            x += w;
        }
        self.y += h;
    }

    /// A table whose rows continue on the next page, under the header again.
    fn table(&mut self, title: &str, cols: &[Col], rows: &[Vec<String>], empty: &str) {
        let row_h = 14.0;
        // The title, the header and a few rows together, or a new page: no title or header
        // alone at a page's foot.
        #[allow(clippy::cast_precision_loss)] // at most 4
        let first = row_h * rows.len().clamp(1, 4) as f32;
        self.room(34.0 + 16.0 + first);
        self.heading(title);
        if rows.is_empty() {
            self.paragraph(empty);
            return;
        }
        self.header_row(cols);
        for (i, row) in rows.iter().enumerate() {
            if self.y + row_h > BOTTOM {
                self.new_page();
                let cont = format!("{title} (continued)");
                self.text(MARGIN, self.y + 10.0, 9.0, true, MUTED, &cont);
                self.y += 16.0;
                self.header_row(cols);
            }
            if i % 2 == 1 {
                self.op(Op::Rect {
                    x: MARGIN,
                    y: self.y,
                    w: WIDTH,
                    h: row_h,
                    color: STRIPE,
                });
            }
            let mut x = MARGIN + 4.0;
            for (Col(_, w, right), cell) in cols.iter().zip(row) {
                let cell = self.fonts.fit(cell, 7.5, false, w - 8.0);
                let tx = if *right {
                    x + w - 8.0 - self.fonts.width(&cell, 7.5, false)
                } else {
                    x
                };
                self.text(tx, self.y + 10.0, 7.5, false, INK, &cell);
                x += w;
            }
            self.y += row_h;
        }
        self.op(Op::Line {
            x1: MARGIN,
            y1: self.y,
            x2: MARGIN + WIDTH,
            y2: self.y,
            color: RULE,
        });
    }
}

fn num(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn when(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || "never".to_owned(),
        |t| t.format("%Y-%m-%d %H:%M").to_string(),
    )
}

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "–".to_owned();
    }
    #[allow(clippy::cast_precision_loss)]
    let p = part as f64 * 100.0 / whole as f64;
    format!("{p:.1} %")
}

fn title_page(p: &mut Pages<'_>, r: &Report) {
    p.op(Op::Rect {
        x: 0.0,
        y: 0.0,
        w: PAGE_W,
        h: 190.0,
        color: ACCENT,
    });
    p.text(
        MARGIN,
        92.0,
        26.0,
        true,
        (255, 255, 255),
        "API key usage report",
    );
    p.text(
        MARGIN,
        124.0,
        15.0,
        false,
        (214, 226, 240),
        &r.period.title(),
    );
    let scope = match &r.owner {
        Some(o) => format!("{}, owner {o}", r.scope),
        None => r.scope.clone(),
    };
    p.text(MARGIN, 150.0, 9.5, false, (214, 226, 240), &scope);
    p.y = 220.0;
    let facts = [
        (
            "Period",
            format!(
                "{} to {}",
                r.period.start.format("%Y-%m-%d"),
                (r.period.end - chrono::TimeDelta::days(1)).format("%Y-%m-%d")
            ),
        ),
        ("Data up to", when(Some(r.until))),
        ("Generated", format!("{} UTC", when(Some(r.generated_at)))),
    ];
    for (k, v) in facts {
        p.text(MARGIN, p.y + 10.0, 9.0, true, MUTED, k);
        p.text(MARGIN + 90.0, p.y + 10.0, 9.0, false, INK, &v);
        p.y += 16.0;
    }
    p.y += 18.0;
    let t = &r.totals;
    let cards = [
        ("Requests", num(t.requests())),
        ("Admitted", num(t.success)),
        ("Refused", num(t.rejected())),
        ("Refusal rate", percent(t.rejected(), t.requests())),
        ("Cost units", num(t.cost)),
    ];
    let gap = 8.0;
    #[allow(clippy::cast_precision_loss)]
    let w = (WIDTH - gap * (cards.len() - 1) as f32) / cards.len() as f32;
    for (i, (label, value)) in cards.iter().enumerate() {
        #[allow(clippy::cast_precision_loss)]
        let x = MARGIN + i as f32 * (w + gap);
        p.op(Op::Rect {
            x,
            y: p.y,
            w,
            h: 62.0,
            color: (240, 244, 249),
        });
        p.op(Op::Rect {
            x,
            y: p.y,
            w: 3.0,
            h: 62.0,
            color: ACCENT,
        });
        p.text(x + 10.0, p.y + 20.0, 8.0, false, MUTED, label);
        let value = p.fonts.fit(value, 16.0, true, w - 14.0);
        p.text(x + 10.0, p.y + 46.0, 16.0, true, INK, &value);
    }
    p.y += 80.0;
    if r.is_empty() {
        p.paragraph(
            "No requests were recorded in this period: the charts and usage tables are left out.",
        );
    }
    if let Some(u) = r.unattributed.filter(|u| u.requests() > 0) {
        p.paragraph(&format!(
            "Besides these, {} requests were refused before any key was known (malformed or unknown tokens).",
            num(u.requests())
        ));
    }
    p.y += 10.0;
    p.text(MARGIN, p.y + 12.0, 11.0, true, ACCENT, "Contents");
    p.y += 22.0;
    for line in [
        "Daily requests by outcome",
        "Top keys by requests",
        "Refusals by reason",
        "Daily series",
        "Keys expiring within 30 days",
        "Keys unused for 30 days",
        "Security events",
    ] {
        p.text(MARGIN + 10.0, p.y + 10.0, 9.0, false, INK, line);
        p.y += 15.0;
    }
}

fn legend(p: &mut Pages<'_>) {
    let mut x = MARGIN;
    for (label, color) in LAYERS {
        p.op(Op::Rect {
            x,
            y: p.y + 3.0,
            w: 8.0,
            h: 8.0,
            color,
        });
        p.text(x + 11.0, p.y + 10.0, 7.5, false, MUTED, label);
        x += 22.0 + p.fonts.width(label, 7.5, false);
    }
    p.y += 18.0;
}

fn counts_row(c: &UsageCounts) -> [String; 4] {
    [
        num(c.requests()),
        num(c.success),
        num(c.rejected()),
        num(c.cost),
    ]
}

/// Every page of `r`.
pub(super) fn lay_out(r: &Report, fonts: &Fonts) -> Vec<Vec<Op>> {
    let mut p = Pages::new(fonts);
    title_page(&mut p, r);
    p.new_page();
    let names: Vec<String> = r
        .top_keys
        .iter()
        .map(|k| {
            let name = if k.name.is_empty() {
                k.key_id.to_string()
            } else {
                k.name.clone()
            };
            fonts.fit(&name, 7.0, false, 118.0)
        })
        .collect();
    if r.is_empty() {
        p.heading("Daily requests by outcome");
        p.paragraph("No requests were recorded in this period.");
    } else {
        p.heading("Daily requests by outcome");
        p.op(Op::Chart {
            chart: Chart::Daily,
            x: MARGIN,
            y: p.y,
            w: WIDTH,
            h: 230.0,
        });
        p.y += 234.0;
        legend(&mut p);
        p.heading("Top keys by requests");
        #[allow(clippy::cast_precision_loss)]
        let h = 40.0 + 22.0 * r.top_keys.len().max(1) as f32;
        p.room(h);
        p.op(Op::Chart {
            chart: Chart::TopKeys(names),
            x: MARGIN,
            y: p.y,
            w: WIDTH,
            h,
        });
        p.y += h + 4.0;
        p.paragraph("Green: admitted; orange: refused.");
    }

    let key_cols = [
        Col("Key", 190.0, false),
        Col("Owner", 95.0, false),
        Col("Requests", 55.0, true),
        Col("Admitted", 55.0, true),
        Col("Refused", 50.0, true),
        Col("Cost", 54.0, true),
    ];
    let rows: Vec<Vec<String>> = r
        .top_keys
        .iter()
        .map(|k| {
            let mut row = vec![
                if k.name.is_empty() {
                    k.key_id.to_string()
                } else {
                    format!("{} ({})", k.name, k.key_id)
                },
                k.owner.clone().unwrap_or_default(),
            ];
            row.extend(counts_row(&k.counts));
            row
        })
        .collect();
    p.table(
        "Top keys",
        &key_cols,
        &rows,
        "No key made a request in this period.",
    );

    let refused = r.totals.rejected();
    let reasons = [
        (Outcome::Scope, "Missing scope"),
        (Outcome::Ip, "Address not allowed"),
        (
            Outcome::State,
            "Revoked, expired, suspended or not yet valid",
        ),
        (Outcome::RateLimited, "Rate limited"),
        (Outcome::Quota, "Quota or credits exhausted"),
        (Outcome::Unavailable, "A dependency did not answer"),
    ];
    let rows: Vec<Vec<String>> = reasons
        .iter()
        .map(|(o, label)| {
            let n = r.totals.get(*o);
            vec![(*label).to_owned(), num(n), percent(n, refused)]
        })
        .collect();
    p.table(
        "Refusals by reason",
        &[
            Col("Reason", 300.0, false),
            Col("Requests", 100.0, true),
            Col("Share of refusals", 99.0, true),
        ],
        &rows,
        "",
    );

    let rows: Vec<Vec<String>> = r
        .daily
        .iter()
        .map(|d| {
            let mut row = vec![d.day.format("%a %Y-%m-%d").to_string()];
            row.extend(counts_row(&d.counts));
            row
        })
        .collect();
    p.table(
        "Daily series",
        &[
            Col("Day", 139.0, false),
            Col("Requests", 90.0, true),
            Col("Admitted", 90.0, true),
            Col("Refused", 90.0, true),
            Col("Cost", 90.0, true),
        ],
        &rows,
        "The period has no day yet.",
    );

    let key_line = |k: &crate::data::KeyLine| {
        vec![
            k.name.clone(),
            k.key_id.to_string(),
            k.owner.clone().unwrap_or_default(),
            when(k.at),
        ]
    };
    let line_cols = |last: &'static str| {
        [
            Col("Name", 120.0, false),
            Col("Key", 190.0, false),
            Col("Owner", 95.0, false),
            Col(last, 94.0, false),
        ]
    };
    let rows: Vec<Vec<String>> = r.expiring.iter().map(key_line).collect();
    p.table(
        "Keys expiring within 30 days",
        &line_cols("Expires"),
        &rows,
        "No active key expires within 30 days.",
    );
    let rows: Vec<Vec<String>> = r.unused.iter().map(key_line).collect();
    p.table(
        "Keys unused for 30 days",
        &line_cols("Last used"),
        &rows,
        "Every active key was used in the last 30 days.",
    );
    let rows: Vec<Vec<String>> = r
        .security
        .iter()
        .map(|e| {
            vec![
                when(Some(e.at)),
                e.event.to_owned(),
                e.key_id.map(|k| k.to_string()).unwrap_or_default(),
                e.actor.clone().unwrap_or_default(),
            ]
        })
        .collect();
    p.table(
        "Security events",
        &[
            Col("When (UTC)", 90.0, false),
            Col("Event", 95.0, false),
            Col("Key", 190.0, false),
            Col("Actor", 124.0, false),
        ],
        &rows,
        "No revocation, suspension, leak, canary trip, threat or failed-authentication burst in this period.",
    );
    p.pages
}
