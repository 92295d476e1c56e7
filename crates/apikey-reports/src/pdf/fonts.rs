//! The bundled DejaVu Sans (regular and bold): embedded by krilla as subsets, measured here from
//! their advance widths.

use krilla::text::Font;

static REGULAR: &[u8] = include_bytes!("../../fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../../fonts/DejaVuSans-Bold.ttf");

/// The two faces, for drawing and for measuring.
pub(crate) struct Fonts {
    pub(crate) regular: Font,
    pub(crate) bold: Font,
    regular_face: ttf_parser::Face<'static>,
    bold_face: ttf_parser::Face<'static>,
}

impl Fonts {
    pub(crate) fn load() -> Result<Self, String> {
        let font = |bytes: &'static [u8]| {
            Font::new(bytes.to_vec().into(), 0).ok_or("the bundled font does not load")
        };
        let face = |bytes: &'static [u8]| {
            ttf_parser::Face::parse(bytes, 0).map_err(|e| format!("the bundled font: {e}"))
        };
        Ok(Self {
            regular: font(REGULAR)?,
            bold: font(BOLD)?,
            regular_face: face(REGULAR)?,
            bold_face: face(BOLD)?,
        })
    }

    /// The width of `text` at `size` points.
    pub(crate) fn width(&self, text: &str, size: f32, bold: bool) -> f32 {
        let face = if bold {
            &self.bold_face
        } else {
            &self.regular_face
        };
        let units: u32 = text
            .chars()
            .map(|c| {
                face.glyph_index(c)
                    .and_then(|g| face.glyph_hor_advance(g))
                    .map_or(0, u32::from)
            })
            .sum();
        #[allow(clippy::cast_precision_loss)] // widths far below 2^24 units
        let w = units as f32 * size / f32::from(face.units_per_em());
        w
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
