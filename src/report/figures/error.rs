//! Why figures could not be written.

use std::path::PathBuf;

/// The harness failing to draw or write a figure (a figure that has no data is a skip, not this).
/// Messages follow the other commands' (`could not write PATH`).
#[derive(Debug, thiserror::Error)]
pub enum FigureError {
    #[error(
        "no font for the figures' text: install a sans-serif font (on Debian `apt-get install fonts-dejavu-core libfontconfig1`) and check that `fc-match sans-serif` names one"
    )]
    Font {
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("could not draw the figure {id}: {message}")]
    Draw { id: String, message: String },
    #[error("could not encode the figure {id} as PNG")]
    Encode {
        id: String,
        #[source]
        source: image::ImageError,
    },
    #[error("could not write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
