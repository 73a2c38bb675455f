//! What a figure shows, as data: stacked bars, lines, box plots, or a grid of those. Built by
//! the figure modules (pure), drawn by `draw.rs`.

/// One chart, or several side by side.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Chart {
    /// Bars at `x_labels`, one stacked segment per series (series values align with the labels).
    StackedBars {
        x_labels: Vec<String>,
        x_label: String,
        y_label: String,
        series: Vec<Series>,
    },
    /// Lines through points, each series with its own colour and markers.
    Lines {
        x_label: String,
        y_label: String,
        /// Fixed ranges where the quantity has natural bounds (a probability, a Dice score).
        x_range: Option<(f64, f64)>,
        y_range: Option<(f64, f64)>,
        lines: Vec<Line>,
    },
    /// One box per item, with whiskers, a median line and optional marks.
    Boxes {
        y_label: String,
        boxes: Vec<BoxItem>,
    },
    /// A picture drawn pixel for pixel, with text laid over it (the prediction overlays).
    Picture(Picture),
    /// Charts in a grid of `columns` columns, each with its own caption.
    Grid {
        columns: usize,
        panels: Vec<(String, Chart)>,
    },
}

/// RGB pixels, row by row, and text at pixel positions (the top left of each line).
#[derive(Clone, PartialEq)]
pub(crate) struct Picture {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
    pub texts: Vec<(i32, i32, String)>,
}

// The pixels would drown any test failure that prints a plan.
impl std::fmt::Debug for Picture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Picture")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("rgb", &format_args!("[{} bytes]", self.rgb.len()))
            .field("texts", &self.texts)
            .finish()
    }
}

/// A stacked-bar series: a name for the legend, a colour index and one value per bar.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Series {
    pub name: String,
    pub colour: usize,
    pub values: Vec<f64>,
}

/// A line: a name for the legend, a colour index and its points in x order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Line {
    pub name: String,
    pub colour: usize,
    pub points: Vec<(f64, f64)>,
}

/// A box of a box plot: the five numbers, and marks drawn across it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BoxItem {
    pub label: String,
    pub min: f64,
    pub q1: f64,
    pub median: f64,
    pub q3: f64,
    pub max: f64,
    /// A reference value drawn as a dashed line across the box's slot (the threshold baseline).
    pub baseline: Option<f64>,
}

/// A fixed palette (distinct at a glance, readable on white), indexed modulo its length.
pub(crate) const PALETTE: [(u8, u8, u8); 20] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
    (0, 0, 128),
    (128, 0, 0),
    (0, 128, 128),
    (255, 215, 0),
    (75, 0, 130),
    (107, 142, 35),
    (255, 99, 71),
    (70, 130, 180),
    (210, 105, 30),
    (0, 0, 0),
];

/// The colour of a palette index.
pub(crate) fn colour(index: usize) -> (u8, u8, u8) {
    PALETTE[index % PALETTE.len()]
}
