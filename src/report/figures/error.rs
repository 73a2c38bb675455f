//! Why figures could not be written.

use std::path::PathBuf;

/// The harness failing to draw or write a figure (a figure that has no data is a skip, not this).
#[derive(Debug, thiserror::Error)]
pub enum FigureError {
    #[error(
        "find a sans-serif font for the figures' text (install one, on Debian `apt-get install fonts-dejavu-core libfontconfig1`, and check that `fc-match sans-serif` names it)"
    )]
    Font {
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("draw the figure {id}: {message}")]
    Draw { id: String, message: String },
    #[error("encode the figure {id} as PNG")]
    Encode {
        id: String,
        #[source]
        source: image::ImageError,
    },
    #[error("write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
