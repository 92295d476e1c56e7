//! A plotters drawing backend that draws on a krilla page: lines, rectangles and polygons as
//! PDF paths and text as PDF text in the bundled font, so a chart stays sharp at any zoom and
//! its labels extract like the rest of the page.

use krilla::color::rgb;
use krilla::geom::{PathBuilder, Rect};
use krilla::num::NormalizedF32;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
    text_anchor::{HPos, VPos},
};

use super::fonts::Fonts;

/// Backend units per PDF point: plotters lays out in integers, so a quarter point is the grain.
pub(crate) const SCALE: f32 = 4.0;

/// A rectangle of a page, `w` × `h` points from (`x`, `y`), as a plotters backend.
pub(crate) struct PdfBackend<'s, 'p> {
    surface: &'s mut Surface<'p>,
    fonts: &'s Fonts,
    x: f32,
    y: f32,
    w: f32,
    h: f32,
}

impl<'s, 'p> PdfBackend<'s, 'p> {
    pub(crate) fn new(
        surface: &'s mut Surface<'p>,
        fonts: &'s Fonts,
        x: f32,
        y: f32,
        w: f32,
        h: f32,
    ) -> Self {
        Self {
            surface,
            fonts,
            x,
            y,
            w,
            h,
        }
    }

    /// The polyline through `points` (closed: a polygon), in page points.
    fn path(
        &self,
        points: impl IntoIterator<Item = BackendCoord>,
        close: bool,
    ) -> Option<krilla::geom::Path> {
        let mut builder = PathBuilder::new();
        for (i, p) in points.into_iter().enumerate() {
            let (x, y) = self.point(p);
            if i == 0 {
                builder.move_to(x, y);
            } else {
                builder.line_to(x, y);
            }
        }
        if close {
            builder.close();
        }
        builder.finish()
    }

    #[allow(clippy::cast_precision_loss)] // backend coordinates are small
    fn point(&self, (x, y): BackendCoord) -> (f32, f32) {
        (self.x + x as f32 / SCALE, self.y + y as f32 / SCALE)
    }
}

fn paint(c: BackendColor) -> (rgb::Color, NormalizedF32) {
    #[allow(clippy::cast_possible_truncation)] // alpha is 0..=1
    let opacity = NormalizedF32::new(c.alpha.clamp(0.0, 1.0) as f32).unwrap_or(NormalizedF32::ONE);
    (rgb::Color::new(c.rgb.0, c.rgb.1, c.rgb.2), opacity)
}

fn fill(c: BackendColor) -> Fill {
    let (color, opacity) = paint(c);
    Fill {
        paint: color.into(),
        opacity,
        ..Fill::default()
    }
}

fn stroke(c: BackendColor, width: u32) -> Stroke {
    let (color, opacity) = paint(c);
    #[allow(clippy::cast_precision_loss)]
    let width = (width.max(1) as f32) / SCALE;
    Stroke {
        paint: color.into(),
        width,
        opacity,
        ..Stroke::default()
    }
}

type Failed = DrawingErrorKind<std::fmt::Error>;

impl DrawingBackend for PdfBackend<'_, '_> {
    type ErrorType = std::fmt::Error;

    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // page sizes
    fn get_size(&self) -> (u32, u32) {
        ((self.w * SCALE) as u32, (self.h * SCALE) as u32)
    }

    fn ensure_prepared(&mut self) -> Result<(), Failed> {
        Ok(())
    }

    fn present(&mut self) -> Result<(), Failed> {
        Ok(())
    }

    fn draw_pixel(&mut self, p: BackendCoord, color: BackendColor) -> Result<(), Failed> {
        let (x, y) = self.point(p);
        if let Some(path) = super::rect_path(Rect::from_xywh(x, y, 1.0 / SCALE, 1.0 / SCALE)) {
            self.surface.set_stroke(None);
            self.surface.set_fill(Some(fill(color)));
            self.surface.draw_path(&path);
        }
        Ok(())
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), Failed> {
        self.draw_path([from, to], style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        filled: bool,
    ) -> Result<(), Failed> {
        let (l, t) = self.point(upper_left);
        let (r, b) = self.point(bottom_right);
        let Some(path) = super::rect_path(Rect::from_ltrb(l.min(r), t.min(b), l.max(r), t.max(b)))
        else {
            return Ok(());
        };
        if filled {
            self.surface.set_stroke(None);
            self.surface.set_fill(Some(fill(style.color())));
        } else {
            self.surface.set_fill(None);
            self.surface
                .set_stroke(Some(stroke(style.color(), style.stroke_width())));
        }
        self.surface.draw_path(&path);
        Ok(())
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        points: I,
        style: &S,
    ) -> Result<(), Failed> {
        if let Some(path) = self.path(points, false) {
            self.surface.set_fill(None);
            self.surface
                .set_stroke(Some(stroke(style.color(), style.stroke_width())));
            self.surface.draw_path(&path);
        }
        Ok(())
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        points: I,
        style: &S,
    ) -> Result<(), Failed> {
        if let Some(path) = self.path(points, true) {
            self.surface.set_stroke(None);
            self.surface.set_fill(Some(fill(style.color())));
            self.surface.draw_path(&path);
        }
        Ok(())
    }

    fn draw_text<T: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &T,
        pos: BackendCoord,
    ) -> Result<(), Failed> {
        #[allow(clippy::cast_possible_truncation)]
        let size = style.size() as f32 / SCALE;
        let width = self.fonts.width(text, size, false);
        let (x, y) = self.point(pos);
        let left = match style.anchor().h_pos {
            HPos::Left => x,
            HPos::Right => x - width,
            HPos::Center => x - width / 2.0,
        };
        // The baseline, from the anchor's vertical position (ascent ~0.76 em in DejaVu Sans).
        let baseline = match style.anchor().v_pos {
            VPos::Top => y + 0.76 * size,
            VPos::Center => y + 0.36 * size,
            VPos::Bottom => y - 0.24 * size,
        };
        self.surface.set_stroke(None);
        self.surface.set_fill(Some(fill(style.color())));
        self.fonts
            .draw(self.surface, left, baseline, size, false, text);
        Ok(())
    }

    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    fn estimate_text_size<T: BackendTextStyle>(
        &self,
        text: &str,
        style: &T,
    ) -> Result<(u32, u32), Failed> {
        let size = style.size() as f32 / SCALE;
        let w = self.fonts.width(text, size, false) * SCALE;
        Ok((w.ceil() as u32, (size * SCALE).ceil() as u32))
    }
}
