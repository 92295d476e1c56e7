//! The bundled DejaVu Sans (regular and bold): embedded by krilla as subsets; measured and laid
//! out here, one glyph per character, from the fonts' character maps and advance widths (`skrifa`).
//! No ligatures, kerning or complex-script shaping: a report's text is labels, names and numbers.

use krilla::geom::Point;
use krilla::surface::Surface;
use krilla::text::{Font, GlyphId, KrillaGlyph};
use skrifa::instance::{LocationRef, Size};
use skrifa::{FontRef, MetadataProvider};

static REGULAR: &[u8] = include_bytes!("../../fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../../fonts/DejaVuSans-Bold.ttf");

/// One face, for drawing (krilla) and for measuring (skrifa).
struct Face {
    font: Font,
    data: FontRef<'static>,
}

impl Face {
    fn load(bytes: &'static [u8]) -> Result<Self, String> {
        Ok(Self {
            font: Font::new(bytes.to_vec().into(), 0).ok_or("the bundled font does not load")?,
            data: FontRef::new(bytes).map_err(|e| format!("the bundled font: {e}"))?,
        })
    }

    /// The glyphs of `text`, advances in em.
    fn glyphs(&self, text: &str) -> Vec<KrillaGlyph> {
        let charmap = self.data.charmap();
        let metrics = self
            .data
            .glyph_metrics(Size::unscaled(), LocationRef::default());
        let upem = self
            .data
            .metrics(Size::unscaled(), LocationRef::default())
            .units_per_em;
        text.char_indices()
            .map(|(at, c)| {
                let id = charmap.map(c).unwrap_or_default();
                let advance = metrics.advance_width(id).unwrap_or(0.0) / f32::from(upem);
                KrillaGlyph::new(
                    GlyphId::new(id.to_u32()),
                    advance,
                    0.0,
                    0.0,
                    0.0,
                    at..at + c.len_utf8(),
                    None,
                )
            })
            .collect()
    }
}

/// The two faces.
pub(crate) struct Fonts {
    regular: Face,
    bold: Face,
}

impl Fonts {
    pub(crate) fn load() -> Result<Self, String> {
        Ok(Self {
            regular: Face::load(REGULAR)?,
            bold: Face::load(BOLD)?,
        })
    }

    fn face(&self, bold: bool) -> &Face {
        if bold { &self.bold } else { &self.regular }
    }

    /// The width of `text` at `size` points.
    pub(crate) fn width(&self, text: &str, size: f32, bold: bool) -> f32 {
        self.face(bold)
            .glyphs(text)
            .iter()
            .map(|g| g.x_advance)
            .sum::<f32>()
            * size
    }

    /// Draws `text` from the baseline point (`x`, `y`) in the surface's current fill.
    pub(crate) fn draw(
        &self,
        surface: &mut Surface<'_>,
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        text: &str,
    ) {
        let face = self.face(bold);
        let glyphs = face.glyphs(text);
        surface.draw_glyphs(
            Point::from_xy(x, y),
            &glyphs,
            face.font.clone(),
            text,
            size,
            false,
        );
    }

    /// `text` cut (with an ellipsis) to fit `max` points.
    pub(crate) fn fit(&self, text: &str, size: f32, bold: bool, max: f32) -> String {
        if self.width(text, size, bold) <= max {
            return text.to_owned();
        }
        let mut out = String::new();
        for c in text.chars() {
            out.push(c);
            if self.width(&out, size, bold) + self.width("…", size, bold) > max {
                out.pop();
                break;
            }
        }
        out.push('…');
        out
    }
}
