//! Draws a planned figure with plotters, once as PNG (bitmap backend, encoded with `image`) and
//! once as SVG, from the same drawing code.

use image::ImageEncoder;
use plotters::coord::combinators::{BindKeyPoints, WithKeyPoints};
use plotters::coord::types::RangedCoordi32;
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::FontDesc;

use super::chart::{colour, BoxItem, Chart, Line, Picture, Series};
use super::error::FigureError;
use super::plan::Plan;

const FONT: FontFamily<'static> = FontFamily::SansSerif;

/// Fails with a clear error, before anything is drawn, where no font can be loaded: plotters
/// lays out every label with the system's fonts.
pub(crate) fn check_fonts() -> Result<(), FigureError> {
    FontDesc::new(FONT, 14.0, FontStyle::Normal)
        .box_size("Dice 0.5")
        .map(|_| ())
        .map_err(|e| FigureError::Font {
            source: Box::new(e),
        })
}

fn rgb(index: usize) -> RGBColor {
    let (r, g, b) = colour(index);
    RGBColor(r, g, b)
}

fn failed(plan: &Plan, error: impl std::fmt::Display) -> FigureError {
    FigureError::Draw {
        id: plan.id.clone(),
        message: error.to_string(),
    }
}

/// The figure as PNG bytes.
pub(crate) fn png(plan: &Plan) -> Result<Vec<u8>, FigureError> {
    let (w, h) = plan.size;
    let mut buffer = vec![255u8; (w * h * 3) as usize];
    if let Chart::Picture(picture) = &plan.chart {
        buffer.copy_from_slice(&picture.rgb);
    }
    {
        let root = BitMapBackend::with_buffer(&mut buffer, (w, h)).into_drawing_area();
        match &plan.chart {
            Chart::Picture(picture) => texts(&root, picture),
            chart => draw(&root, &plan.title, chart),
        }
        .map_err(|e| failed(plan, e))?;
        root.present().map_err(|e| failed(plan, e))?;
    }
    let mut bytes = Vec::new();
    image::codecs::png::PngEncoder::new(&mut bytes)
        .write_image(&buffer, w, h, image::ExtendedColorType::Rgb8)
        .map_err(|source| FigureError::Encode {
            id: plan.id.clone(),
            source,
        })?;
    Ok(bytes)
}

/// The figure as SVG text.
pub(crate) fn svg(plan: &Plan) -> Result<String, FigureError> {
    if let Chart::Picture(picture) = &plan.chart {
        return picture_svg(plan, picture);
    }
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, plan.size).into_drawing_area();
        draw(&root, &plan.title, &plan.chart).map_err(|e| failed(plan, e))?;
        root.present().map_err(|e| failed(plan, e))?;
    }
    Ok(text)
}

type Drawn<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    chart: &Chart,
) -> Drawn<DB> {
    root.fill(&WHITE)?;
    let area = root.titled(title, (FONT, 24))?;
    chart_in(&area, chart)
}

fn chart_in<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, chart: &Chart) -> Drawn<DB> {
    match chart {
        Chart::StackedBars {
            x_labels,
            x_label,
            y_label,
            series,
        } => stacked_bars(area, x_labels, x_label, y_label, series),
        Chart::Lines {
            x_label,
            y_label,
            x_range,
            y_range,
            lines,
        } => line_chart(area, x_label, y_label, *x_range, *y_range, lines),
        Chart::Boxes { y_label, boxes } => box_plot(area, y_label, boxes),
        Chart::Grid { columns, panels } => {
            let columns = (*columns).max(1);
            let rows = panels.len().div_ceil(columns).max(1);
            for (cell, (caption, chart)) in area.split_evenly((rows, columns)).iter().zip(panels) {
                let inner = cell.titled(caption, (FONT, 18))?;
                chart_in(&inner, chart)?;
            }
            Ok(())
        }
        Chart::Picture(picture) => texts(area, picture),
    }
}

fn texts<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, picture: &Picture) -> Drawn<DB> {
    for (index, (x, y, text)) in picture.texts.iter().enumerate() {
        let size = if index == 0 { 22 } else { 16 };
        area.draw_text(text, &(FONT, size).into_text_style(area), (*x, *y))?;
    }
    Ok(())
}

/// Units of a slot on a categorical x axis.
const SLOT: i32 = 100;

/// An x axis of `n` slots, `[i, i + 1) * SLOT` for slot i, labelled at the slots' centres.
fn slots(n: usize) -> WithKeyPoints<RangedCoordi32> {
    let n = n.max(1) as i32;
    (0..n * SLOT).with_key_points((0..n).map(|i| i * SLOT + SLOT / 2).collect())
}

/// The label of the slot a key point is in.
fn slot_label(labels: &[String], x: i32) -> String {
    labels
        .get((x.max(0) / SLOT) as usize)
        .cloned()
        .unwrap_or_default()
}

/// A position inside slot `i`, `fraction` of the way across it.
fn within(i: usize, fraction: f64) -> i32 {
    i as i32 * SLOT + (fraction * f64::from(SLOT)).round() as i32
}

fn stacked_bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    x_labels: &[String],
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Drawn<DB> {
    let totals: Vec<f64> = (0..x_labels.len())
        .map(|i| {
            series
                .iter()
                .map(|s| s.values.get(i).copied().unwrap_or(0.0))
                .sum()
        })
        .collect();
    let top = totals.iter().copied().fold(0.0, f64::max).ceil() as u32;
    let y_max = (top + top / 8).max(top + 1).max(2);
    let keys: Vec<(&str, RGBColor)> = series
        .iter()
        .map(|s| (s.name.as_str(), rgb(s.colour)))
        .collect();
    let area = &beside_key(area, &keys)?;
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(56)
        .build_cartesian_2d(slots(x_labels.len()), 0u32..y_max)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(WHITE)
        .bold_line_style(RGBColor(220, 220, 220))
        .x_desc(x_label)
        .y_desc(y_label)
        .y_labels((y_max as usize + 1).min(11))
        .x_label_formatter(&|x| slot_label(x_labels, *x))
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .draw()?;
    let mut base = vec![0f64; x_labels.len()];
    for s in series {
        let style = rgb(s.colour).filled();
        let segments: Vec<(usize, f64, f64)> = s
            .values
            .iter()
            .enumerate()
            .filter(|(_, v)| **v > 0.0)
            .map(|(i, v)| {
                let from = base[i];
                base[i] += v;
                (i, from, base[i])
            })
            .collect();
        chart.draw_series(segments.into_iter().map(|(i, from, to)| {
            Rectangle::new(
                [
                    (within(i, 0.15), from.round() as u32),
                    (within(i, 0.85), to.round() as u32),
                ],
                style,
            )
        }))?;
    }
    Ok(())
}

/// The key (a colour swatch and a name per entry) in a column at the right of `area`, where it
/// never covers data; returns the rest of the area for the chart.
fn beside_key<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(&str, RGBColor)],
) -> Result<DrawingArea<DB, Shift>, DrawingAreaErrorKind<DB::ErrorType>> {
    if entries.is_empty() {
        return Ok(area.clone());
    }
    let (width, _) = area.dim_in_pixel();
    let longest = entries
        .iter()
        .map(|(name, _)| name.chars().count())
        .max()
        .unwrap_or(0) as u32;
    let key_width = (longest * 8 + 40).min(width / 3);
    let (chart, key) = area.split_horizontally(width - key_width);
    for (i, (name, colour)) in entries.iter().enumerate() {
        let y = 24 + 22 * i as i32;
        key.draw(&Rectangle::new([(4, y - 6), (18, y + 6)], colour.filled()))?;
        key.draw(&Text::new(name.to_string(), (24, y - 8), (FONT, 14)))?;
    }
    Ok(chart)
}

fn padded(lo: f64, hi: f64) -> (f64, f64) {
    if (hi - lo).abs() < 1e-9 {
        (lo - 1.0, hi + 1.0)
    } else {
        let pad = (hi - lo) * 0.05;
        (lo - pad, hi + pad)
    }
}

fn line_chart<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    x_label: &str,
    y_label: &str,
    x_range: Option<(f64, f64)>,
    y_range: Option<(f64, f64)>,
    lines: &[Line],
) -> Drawn<DB> {
    let keys: Vec<(&str, RGBColor)> = lines
        .iter()
        .map(|l| (l.name.as_str(), rgb(l.colour)))
        .collect();
    let area = &beside_key(area, &keys)?;
    let points = || lines.iter().flat_map(|l| l.points.iter());
    let bounds = |pick: fn(&(f64, f64)) -> f64| {
        let lo = points().map(pick).fold(f64::INFINITY, f64::min);
        let hi = points().map(pick).fold(f64::NEG_INFINITY, f64::max);
        if lo.is_finite() {
            padded(lo, hi)
        } else {
            (0.0, 1.0)
        }
    };
    let integral = |pick: fn(&(f64, f64)) -> f64| points().all(|p| pick(p).fract() == 0.0);
    let (integral_x, integral_y) = (integral(|p| p.0), integral(|p| p.1));
    let (x0, x1) = match x_range {
        Some(range) => range,
        // Whole numbers (iterations, repeats, epochs): half a step of room on each side.
        None if integral_x => {
            let (lo, hi) = bounds(|p| p.0);
            (
                (lo + (hi - lo) / 22.0).round() - 0.5,
                (hi - (hi - lo) / 22.0).round() + 0.5,
            )
        }
        None => bounds(|p| p.0),
    };
    let (y0, y1) = match y_range {
        Some((lo, hi)) => (lo - (hi - lo) * 0.02, hi + (hi - lo) * 0.02),
        // Room above the data for the legend.
        None => (
            0.0,
            (points().map(|p| p.1).fold(0.0, f64::max) * 1.3).max(1.0),
        ),
    };
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    let ticks = |integral: bool, span: f64| {
        if integral {
            (span.floor() as usize + 1).clamp(2, 11)
        } else {
            11
        }
    };
    let whole = |v: &f64| {
        if (v - v.round()).abs() < 1e-9 {
            format!("{v:.0}")
        } else {
            format!("{v:.1}")
        }
    };
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .bold_line_style(RGBColor(220, 220, 220))
        .x_labels(ticks(integral_x, x1 - x0))
        .y_labels(ticks(integral_y && y_range.is_none(), y1 - y0))
        .y_label_formatter(&|y| {
            if integral_y && y_range.is_none() {
                whole(y)
            } else {
                format!("{y:.2}")
            }
        })
        .x_desc(x_label)
        .y_desc(y_label)
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .x_label_formatter(&whole)
        .draw()?;
    for line in lines {
        let colour = rgb(line.colour);
        chart.draw_series(LineSeries::new(
            line.points.iter().copied(),
            colour.stroke_width(2),
        ))?;
        chart.draw_series(
            line.points
                .iter()
                .map(|p| Circle::new(*p, 4, colour.filled())),
        )?;
    }
    Ok(())
}

fn box_plot<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    y_label: &str,
    boxes: &[BoxItem],
) -> Drawn<DB> {
    let labels: Vec<String> = boxes.iter().map(|b| b.label.clone()).collect();
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(60)
        .build_cartesian_2d(slots(boxes.len()), -0.02f64..1.02)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(WHITE)
        .bold_line_style(RGBColor(220, 220, 220))
        .y_desc(y_label)
        .x_label_formatter(&|x| slot_label(&labels, *x))
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .draw()?;
    for (i, item) in boxes.iter().enumerate() {
        let colour = rgb(i);
        let (l, r, mid) = (within(i, 0.25), within(i, 0.75), within(i, 0.5));
        chart.draw_series([
            Rectangle::new([(l, item.q3), (r, item.q1)], colour.mix(0.3).filled()),
            Rectangle::new([(l, item.q3), (r, item.q1)], colour.stroke_width(2)),
        ])?;
        chart.draw_series([PathElement::new(
            [(l, item.median), (r, item.median)],
            BLACK.stroke_width(3),
        )])?;
        for (from, to) in [(item.q3, item.max), (item.q1, item.min)] {
            chart.draw_series([
                PathElement::new([(mid, from), (mid, to)], colour.stroke_width(2)),
                PathElement::new(
                    [(within(i, 0.4), to), (within(i, 0.6), to)],
                    colour.stroke_width(2),
                ),
            ])?;
        }
        if let Some(baseline) = item.baseline {
            chart.draw_series([DashedPathElement::new(
                [(within(i, 0.05), baseline), (within(i, 0.95), baseline)],
                8,
                5,
                BLACK.stroke_width(2),
            )])?;
            chart.draw_series([Text::new(
                format!("threshold baseline {baseline:.3}"),
                (within(i, 0.05), baseline + 0.045),
                (FONT, 13),
            )])?;
        }
    }
    Ok(())
}

/// An SVG of a picture: its pixels as an embedded PNG, its text as text.
fn picture_svg(plan: &Plan, picture: &Picture) -> Result<String, FigureError> {
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(
            &picture.rgb,
            picture.width,
            picture.height,
            image::ExtendedColorType::Rgb8,
        )
        .map_err(|source| FigureError::Encode {
            id: plan.id.clone(),
            source,
        })?;
    let (w, h) = (picture.width, picture.height);
    let mut out = format!(
        "<svg width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" xmlns=\"http://www.w3.org/2000/svg\">\n<image x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" href=\"data:image/png;base64,{}\"/>\n",
        base64(&png)
    );
    for (index, (x, y, text)) in picture.texts.iter().enumerate() {
        let size = if index == 0 { 22 } else { 16 };
        out.push_str(&format!(
            "<text x=\"{x}\" y=\"{}\" font-family=\"sans-serif\" font-size=\"{size}\" dominant-baseline=\"text-before-edge\">{}</text>\n",
            y,
            escape(text)
        ));
    }
    out.push_str("</svg>\n");
    Ok(out)
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Standard base64 with padding (RFC 4648), for the data URI above.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expected);
        }
    }

    #[test]
    fn svg_text_is_escaped() {
        assert_eq!(escape("<a & 'b'>"), "&lt;a &amp; &apos;b&apos;&gt;");
    }
}
