//! The PDF: a title page with the totals, the two charts, then tables that continue across
//! pages with their header repeated. Laid out first (pages of drawing operations), then drawn
//! with krilla, so the footer can say "page i of n".

mod backend;
mod charts;
mod fonts;
mod layout;

use krilla::color::rgb;
use krilla::geom::{PathBuilder, Rect};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::{Document, SerializeSettings};

use crate::data::Report;
use crate::error::ReportError;
use fonts::Fonts;
use layout::{Chart, Op};

/// A4 portrait, in points.
const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;

/// The report as a PDF document.
///
/// # Errors
///
/// [`ReportError::Pdf`] when the document cannot be written (the bundled fonts are checked by
/// the crate's tests, so this is not expected).
pub fn render_pdf(report: &Report) -> Result<Vec<u8>, ReportError> {
    let fonts = Fonts::load().map_err(ReportError::Pdf)?;
    let pages = layout::lay_out(report, &fonts);
    let mut document = Document::new_with(SerializeSettings::default());
    document.set_metadata(
        Metadata::new()
            .title(format!("API key usage report, {}", report.period.title()))
            .creator("apikey-reports".to_owned()),
    );
    let total = pages.len();
    for (n, ops) in pages.iter().enumerate() {
        let settings = PageSettings::from_wh(PAGE_W, PAGE_H)
            .ok_or_else(|| ReportError::Pdf("the page size".to_owned()))?;
        let mut page = document.start_page_with(settings);
        let mut surface = page.surface();
        for op in ops {
            draw(&mut surface, &fonts, report, op)?;
        }
        let footer = format!("Page {} of {total}", n + 1);
        let size = 7.5;
        let grey = (120, 120, 120);
        text(
            &mut surface,
            &fonts,
            layout::MARGIN,
            PAGE_H - 28.0,
            size,
            false,
            grey,
            &format!("apikey · usage report · {}", report.period.label()),
        );
        let w = fonts.width(&footer, size, false);
        text(
            &mut surface,
            &fonts,
            PAGE_W - layout::MARGIN - w,
            PAGE_H - 28.0,
            size,
            false,
            grey,
            &footer,
        );
        surface.finish();
        page.finish();
    }
    document
        .finish()
        .map_err(|e| ReportError::Pdf(format!("{e:?}")))
}

/// The path of a rectangle (none for an empty or invalid one).
fn rect_path(rect: Option<Rect>) -> Option<krilla::geom::Path> {
    let mut b = PathBuilder::new();
    b.push_rect(rect?);
    b.finish()
}

fn color((r, g, b): (u8, u8, u8)) -> rgb::Color {
    rgb::Color::new(r, g, b)
}

#[allow(clippy::too_many_arguments)]
fn text(
    surface: &mut krilla::surface::Surface<'_>,
    fonts: &Fonts,
    x: f32,
    y: f32,
    size: f32,
    bold: bool,
    rgb: (u8, u8, u8),
    s: &str,
) {
    surface.set_stroke(None);
    surface.set_fill(Some(Fill {
        paint: color(rgb).into(),
        ..Fill::default()
    }));
    fonts.draw(surface, x, y, size, bold, s);
}

fn draw(
    surface: &mut krilla::surface::Surface<'_>,
    fonts: &Fonts,
    report: &Report,
    op: &Op,
) -> Result<(), ReportError> {
    match op {
        Op::Text {
            x,
            y,
            size,
            bold,
            color: c,
            text: s,
        } => text(surface, fonts, *x, *y, *size, *bold, *c, s),
        Op::Rect {
            x,
            y,
            w,
            h,
            color: c,
        } => {
            if let Some(path) = rect_path(Rect::from_xywh(*x, *y, *w, *h)) {
                surface.set_stroke(None);
                surface.set_fill(Some(Fill {
                    paint: color(*c).into(),
                    ..Fill::default()
                }));
                surface.draw_path(&path);
            }
        }
        Op::Line {
            x1,
            y1,
            x2,
            y2,
            color: c,
        } => {
            let mut b = PathBuilder::new();
            b.move_to(*x1, *y1);
            b.line_to(*x2, *y2);
            if let Some(path) = b.finish() {
                surface.set_fill(None);
                surface.set_stroke(Some(Stroke {
                    paint: color(*c).into(),
                    width: 0.6,
                    ..Stroke::default()
                }));
                surface.draw_path(&path);
            }
        }
        Op::Chart { chart, x, y, w, h } => {
            let area = backend::PdfBackend::new(surface, fonts, *x, *y, *w, *h);
            match chart {
                Chart::Daily => charts::daily(area, &report.daily),
                Chart::TopKeys(names) => charts::top_keys(area, &report.top_keys, names),
            }
            .map_err(ReportError::Pdf)?;
        }
    }
    Ok(())
}
