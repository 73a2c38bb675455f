//! Pixel conversions shared by the converters: decoding to 8-bit grayscale, binary masks,
//! scaling numbers to 0..255, and safe output names.

use image::{GrayImage, ImageFormat};

use crate::dataset::fetch::error::FetchError;

/// Decodes an image file (PNG or JPEG, any colour type) to 8-bit grayscale (luma).
pub(super) fn decode_gray(
    bytes: &[u8],
    format: ImageFormat,
    archive: &str,
    entry: &str,
) -> Result<GrayImage, FetchError> {
    image::load_from_memory_with_format(bytes, format)
        .map(|image| image.into_luma8())
        .map_err(|source| FetchError::Image {
            archive: archive.to_string(),
            entry: entry.to_string(),
            source,
        })
}

/// Any non-zero pixel becomes 255.
pub(super) fn binary(mut mask: GrayImage) -> GrayImage {
    for value in mask.iter_mut() {
        *value = if *value > 0 { 255 } else { 0 };
    }
    mask
}

/// The linear map of `min..=max` onto `0..=255` (all zero when the values are constant).
pub(super) fn scaler(values: &[f64]) -> impl Fn(f64) -> u8 {
    let (min, max) = values
        .iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let span = if max > min { max - min } else { 0.0 };
    move |value: f64| {
        if span == 0.0 || !value.is_finite() {
            0
        } else {
            ((value - min) / span * 255.0).round().clamp(0.0, 255.0) as u8
        }
    }
}

/// A name safe for a file: letters, digits, `-`, `_` and `.` kept, anything else `_`.
pub(super) fn safe_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_and_names() {
        let scale = scaler(&[-40.0, 0.0, 215.0]);
        assert_eq!((scale(-40.0), scale(215.0), scale(87.5)), (0, 255, 128));
        assert_eq!(scaler(&[3.0, 3.0])(3.0), 0);
        assert_eq!(safe_name("case 1/a+b"), "case_1_a_b");
        let mask = binary(GrayImage::from_raw(3, 1, vec![0, 1, 200]).unwrap());
        assert_eq!(mask.as_raw(), &[0, 255, 255]);
    }
}
