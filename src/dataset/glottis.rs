//! Draws one synthetic glottis image and its mask: a picture made to look like a frame of a
//! laryngeal high-speed video, and made so that a global threshold cannot segment it.
//!
//! The mask is the glottal gap: a dark spindle between the vocal folds, rotated, with asymmetric
//! halves and a wobbly edge. What makes thresholding fail is unlabelled: a textured tissue
//! background under an uneven light, a vignette that darkens the corners as much as the gap, soft
//! dark shadows elsewhere, a dark shading of the folds around the gap, bright specular dots, and
//! in about one image in ten a closed glottis, whose thin dark line is not labelled at all. The
//! gap is recognisable by shape, place and its sharp edge, which a U-Net can learn.
//!
//! Pixels are `f32` in [0, 1] until the end; only `+ - * /`, `sqrt` and the exact functions of
//! `rng.rs` are used, so every machine draws the same bytes.

use image::GrayImage;

use super::rng::{powf, Pcg32};

/// Samples along the gap's axis for its half-width profile.
const PROFILE_SAMPLES: usize = 129;

/// Draws the image and its mask (0 or 255). `closed` draws a closed glottis: an empty mask.
pub(crate) fn draw(
    width: u32,
    height: u32,
    rng: &mut Pcg32,
    closed: bool,
) -> (GrayImage, GrayImage) {
    let w = width as usize;
    let h = height as usize;
    let s = width.min(height) as f32;
    let mut pixels = background(w, h, s, rng);
    let mut mask = vec![0u8; w * h];

    let gap = Gap::new(w, h, s, rng, closed);
    gap.draw(&mut pixels, &mut mask, w, h, rng);
    shadows(&mut pixels, w, h, s, rng);
    speculars(&mut pixels, w, h, s, rng, &gap);
    vignette(&mut pixels, w, h, s, rng);
    let passes = rng.int(1, 2);
    for _ in 0..passes {
        blur(&mut pixels, w, h);
    }
    let sigma = rng.range(0.012, 0.035);
    for value in &mut pixels {
        *value += sigma * rng.normal();
    }
    let gamma = f64::from(rng.range(0.75, 1.35));
    let lut: Vec<u8> = (0..256)
        .map(|v| quantise(powf(f64::from(v) / 255.0, gamma) as f32))
        .collect();
    let bytes = pixels
        .iter()
        .map(|&v| lut[usize::from(quantise(v))])
        .collect();

    let image = GrayImage::from_raw(width, height, bytes);
    let mask = GrayImage::from_raw(width, height, mask);
    match (image, mask) {
        (Some(image), Some(mask)) => (image, mask),
        // Both buffers have exactly width * height bytes, so this cannot happen.
        _ => (GrayImage::new(width, height), GrayImage::new(width, height)),
    }
}

fn quantise(v: f32) -> u8 {
    (v.clamp(0.0, 1.0) * 255.0 + 0.5) as u8
}

/// Tissue: a base level, three octaves of value noise and a linear light gradient.
fn background(w: usize, h: usize, s: f32, rng: &mut Pcg32) -> Vec<f32> {
    let base = rng.range(0.42, 0.62);
    let octaves = [
        (ValueNoise::new(w, h, s / 3.0, rng), rng.range(0.06, 0.14)),
        (ValueNoise::new(w, h, s / 9.0, rng), rng.range(0.03, 0.08)),
        (ValueNoise::new(w, h, s / 24.0, rng), rng.range(0.02, 0.05)),
    ];
    let (gx, gy) = unit_vector(rng);
    let strength = rng.range(0.0, 0.35);
    let (half_w, half_h) = (w as f32 / 2.0, h as f32 / 2.0);
    // Where each column falls on each octave's grid, worked out once rather than per pixel.
    let columns: Vec<[(usize, f32); 3]> = (0..w)
        .map(|x| octaves.each_ref().map(|(noise, _)| noise.column(x as f32)))
        .collect();
    let mut pixels = Vec::with_capacity(w * h);
    for y in 0..h {
        let fy = y as f32;
        let rows = octaves.each_ref().map(|(noise, _)| noise.row(fy));
        for (x, column) in columns.iter().enumerate() {
            let fx = x as f32;
            let mut texture = base;
            for (k, (noise, amplitude)) in octaves.iter().enumerate() {
                let value = noise.blend(column[k], rows[k]);
                texture += amplitude * (value - 0.5) * 2.0;
            }
            let light = 1.0 + strength * (gx * (fx - half_w) + gy * (fy - half_h)) / s;
            pixels.push(texture * light);
        }
    }
    pixels
}

/// The glottal gap, in its own frame: `a` along the axis from the centre, `b` across it.
struct Gap {
    cx: f32,
    cy: f32,
    /// The axis direction (unit vector).
    ax: f32,
    ay: f32,
    length: f32,
    /// Half-widths to the left (`b < 0`) and right of the axis, per profile sample.
    left: Vec<f32>,
    right: Vec<f32>,
    /// How dark the gap is (a factor on the tissue), and how its inside varies.
    darkness: f32,
    inside: ValueNoise,
    /// The fold shading around the gap: its width in pixels and its factor at the edge.
    halo: f32,
    halo_factor: f32,
    /// A closed glottis: a thin unlabelled line instead of a gap.
    line: Option<f32>,
}

impl Gap {
    fn new(w: usize, h: usize, s: f32, rng: &mut Pcg32, closed: bool) -> Self {
        let cx = w as f32 / 2.0 + rng.range(-0.12, 0.12) * s;
        let cy = h as f32 / 2.0 + rng.range(-0.12, 0.12) * s;
        // Mostly vertical, up to about 27 degrees either way.
        let slant = rng.range(-0.5, 0.5);
        let norm = (slant * slant + 1.0).sqrt();
        let length = rng.range(0.38, 0.62) * s;
        let opening = rng.unit();
        // opening^0.75: more nearly closed than wide open gaps, as in real recordings.
        let widest = (0.035 + 0.085 * opening.sqrt() * opening.sqrt().sqrt()) * s;
        let warp = f64::from(rng.range(0.7, 1.45));
        let side = |rng: &mut Pcg32| {
            let width = widest * rng.range(0.65, 1.0);
            let sharpness = f64::from(rng.range(0.55, 1.25));
            // About seven bumps along the edge.
            let wobble = ValueNoise::new(16, 2, 2.0, rng);
            let amount = rng.range(0.06, 0.22);
            (0..PROFILE_SAMPLES)
                .map(|i| {
                    let u = i as f64 / (PROFILE_SAMPLES - 1) as f64;
                    let u = powf(u, warp);
                    let spindle = powf(4.0 * u * (1.0 - u), sharpness) as f32;
                    let jitter = 1.0 + amount * (wobble.at(u as f32 * 14.0, 0.0) - 0.5) * 2.0;
                    width * spindle * jitter
                })
                .collect::<Vec<f32>>()
        };
        let left = side(rng);
        let right = side(rng);
        let darkness = rng.range(0.12, 0.35);
        let inside = ValueNoise::new(w, h, s / 6.0, rng);
        let halo = rng.range(0.03, 0.08) * s;
        let halo_factor = rng.range(0.55, 0.85);
        let line = closed.then(|| rng.range(0.5, 1.2).max(0.004 * s));
        let (left, right) = if closed {
            (vec![0.0; PROFILE_SAMPLES], vec![0.0; PROFILE_SAMPLES])
        } else {
            (left, right)
        };
        Gap {
            cx,
            cy,
            ax: slant / norm,
            ay: 1.0 / norm,
            length,
            left,
            right,
            darkness,
            inside,
            halo,
            halo_factor,
            line,
        }
    }

    /// The pixel centre `(x, y)` in the gap's frame.
    fn frame(&self, x: f32, y: f32) -> (f32, f32) {
        let (dx, dy) = (x + 0.5 - self.cx, y + 0.5 - self.cy);
        (dx * self.ax + dy * self.ay, -dx * self.ay + dy * self.ax)
    }

    /// Half-widths (left, right) at `a` along the axis; zero beyond the ends.
    fn widths(&self, a: f32) -> (f32, f32) {
        let t = (a / self.length + 0.5).clamp(0.0, 1.0) * (PROFILE_SAMPLES - 1) as f32;
        let i = (t as usize).min(PROFILE_SAMPLES - 2);
        let f = t - i as f32;
        (
            self.left[i] * (1.0 - f) + self.left[i + 1] * f,
            self.right[i] * (1.0 - f) + self.right[i + 1] * f,
        )
    }

    /// Darkens the gap and its surroundings, and marks the gap in the mask.
    fn draw(&self, pixels: &mut [f32], mask: &mut [u8], w: usize, h: usize, rng: &mut Pcg32) {
        let line_darkness = rng.range(0.3, 0.55);
        // Nothing changes beyond the gap's reach: its half-length, widest side and shading.
        let widest = self
            .left
            .iter()
            .chain(&self.right)
            .fold(0.0f32, |m, &v| m.max(v));
        let reach = self.length / 2.0 + widest + self.halo + 2.0;
        let span = |centre: f32, size: usize| {
            let low = (centre - reach).floor().max(0.0) as usize;
            let high = ((centre + reach).ceil().max(0.0) as usize).min(size);
            low.min(high)..high
        };
        for y in span(self.cy, h) {
            for x in span(self.cx, w) {
                let (a, b) = self.frame(x as f32, y as f32);
                let beyond_end = (a.abs() - self.length / 2.0).max(0.0);
                let (left, right) = self.widths(a);
                let across = if b >= 0.0 { b - right } else { -b - left };
                let index = y * w + x;
                if beyond_end == 0.0 && across <= 0.0 && (left > 0.0 || right > 0.0) {
                    mask[index] = 255;
                    let variation = 0.7 + 0.6 * self.inside.at(x as f32, y as f32);
                    pixels[index] *= self.darkness * variation;
                    continue;
                }
                let distance = (beyond_end * beyond_end + across.max(0.0) * across.max(0.0)).sqrt();
                if distance < self.halo {
                    let t = smoothstep(distance / self.halo);
                    pixels[index] *= self.halo_factor + (1.0 - self.halo_factor) * t;
                }
                if let Some(half_width) = self.line {
                    if beyond_end == 0.0 && b.abs() < half_width {
                        pixels[index] *= line_darkness;
                    }
                }
            }
        }
    }
}

/// Soft dark blobs, some elongated, anywhere: unlabelled shadows.
fn shadows(pixels: &mut [f32], w: usize, h: usize, s: f32, rng: &mut Pcg32) {
    for _ in 0..rng.int(1, 4) {
        let cx = rng.range(0.0, w as f32);
        let cy = rng.range(0.0, h as f32);
        let major = rng.range(0.05, 0.22) * s;
        let minor = major * rng.range(0.2, 1.0);
        let (ux, uy) = unit_vector(rng);
        let depth = rng.range(0.4, 0.78);
        let softness = rng.range(0.4, 1.0);
        blob(
            pixels,
            w,
            h,
            (cx, cy),
            (major, minor),
            (ux, uy),
            |value, q| {
                let t = smoothstep(((1.0 - q) / softness).min(1.0));
                value * (1.0 - depth * t)
            },
        );
    }
}

/// Small bright reflections, mostly on the folds beside the gap, sometimes inside it.
fn speculars(pixels: &mut [f32], w: usize, h: usize, s: f32, rng: &mut Pcg32, gap: &Gap) {
    for _ in 0..rng.int(2, 9) {
        let (cx, cy) = if rng.chance(0.6) {
            // On a fold: beside the axis, within the fold shading or just past it.
            let a = rng.range(-0.5, 0.5) * gap.length;
            let (left, right) = gap.widths(a);
            let b = if rng.chance(0.15) {
                rng.range(-left, right.max(-left + f32::EPSILON))
            } else if rng.chance(0.5) {
                right + rng.range(0.2, 1.5) * gap.halo
            } else {
                -left - rng.range(0.2, 1.5) * gap.halo
            };
            (
                gap.cx + a * gap.ax - b * gap.ay,
                gap.cy + a * gap.ay + b * gap.ax,
            )
        } else {
            (rng.range(0.0, w as f32), rng.range(0.0, h as f32))
        };
        let radius = (rng.range(0.006, 0.025) * s).max(0.8);
        let brightness = rng.range(0.4, 0.9);
        blob(
            pixels,
            w,
            h,
            (cx, cy),
            (radius, radius),
            (1.0, 0.0),
            |value, q| value + brightness * (1.0 - q) * (1.0 - q),
        );
    }
}

/// Applies `effect(value, q)` inside an ellipse, where `q` is the squared normalised radius.
fn blob(
    pixels: &mut [f32],
    w: usize,
    h: usize,
    (cx, cy): (f32, f32),
    (major, minor): (f32, f32),
    (ux, uy): (f32, f32),
    effect: impl Fn(f32, f32) -> f32,
) {
    let x0 = (cx - major).floor().max(0.0) as usize;
    let x1 = ((cx + major).ceil().max(0.0) as usize).min(w);
    let y0 = (cy - major).floor().max(0.0) as usize;
    let y1 = ((cy + major).ceil().max(0.0) as usize).min(h);
    for y in y0..y1 {
        for x in x0..x1 {
            let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
            let along = (dx * ux + dy * uy) / major;
            let across = (-dx * uy + dy * ux) / minor;
            let q = along * along + across * across;
            if q < 1.0 {
                let index = y * w + x;
                pixels[index] = effect(pixels[index], q);
            }
        }
    }
}

/// The endoscope's vignette: darker towards the corners, from an off-centre middle.
fn vignette(pixels: &mut [f32], w: usize, h: usize, s: f32, rng: &mut Pcg32) {
    let cx = w as f32 / 2.0 + rng.range(-0.15, 0.15) * s;
    let cy = h as f32 / 2.0 + rng.range(-0.15, 0.15) * s;
    let radius = 0.5 * ((w * w + h * h) as f32).sqrt() * rng.range(0.8, 1.1);
    let strength = rng.range(0.35, 0.75);
    for y in 0..h {
        for x in 0..w {
            let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
            let q = (dx * dx + dy * dy) / (radius * radius);
            pixels[y * w + x] *= (1.0 - strength * (0.4 * q + 0.6 * q * q)).max(0.08);
        }
    }
}

/// One pass of the separable binomial kernel [1 4 6 4 1] / 16, edges clamped.
fn blur(pixels: &mut [f32], w: usize, h: usize) {
    const KERNEL: [f32; 5] = [1.0 / 16.0, 4.0 / 16.0, 6.0 / 16.0, 4.0 / 16.0, 1.0 / 16.0];
    let mut rows = vec![0.0; pixels.len()];
    for y in 0..h {
        for x in 0..w {
            let mut sum = 0.0;
            for (k, weight) in KERNEL.iter().enumerate() {
                let xx = (x + k).saturating_sub(2).min(w - 1);
                sum += weight * pixels[y * w + xx];
            }
            rows[y * w + x] = sum;
        }
    }
    for y in 0..h {
        for x in 0..w {
            let mut sum = 0.0;
            for (k, weight) in KERNEL.iter().enumerate() {
                let yy = (y + k).saturating_sub(2).min(h - 1);
                sum += weight * rows[yy * w + x];
            }
            pixels[y * w + x] = sum;
        }
    }
}

fn smoothstep(t: f32) -> f32 {
    let t = t.clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// A uniformly oriented unit vector, by rejection in the unit disc (no trigonometry).
fn unit_vector(rng: &mut Pcg32) -> (f32, f32) {
    loop {
        let (x, y) = (rng.range(-1.0, 1.0), rng.range(-1.0, 1.0));
        let r2 = x * x + y * y;
        if r2 > 0.01 && r2 <= 1.0 {
            let r = r2.sqrt();
            return (x / r, y / r);
        }
    }
}

/// Value noise: random values on a grid of `cell`-sized squares, smoothly interpolated.
struct ValueNoise {
    columns: usize,
    cell: f32,
    values: Vec<f32>,
}

impl ValueNoise {
    fn new(w: usize, h: usize, cell: f32, rng: &mut Pcg32) -> Self {
        let cell = cell.max(2.0);
        let columns = (w as f32 / cell) as usize + 2;
        let rows = (h as f32 / cell) as usize + 2;
        let values = (0..columns * rows).map(|_| rng.unit()).collect();
        ValueNoise {
            columns,
            cell,
            values,
        }
    }

    /// The noise at `(x, y)` in pixels, in [0, 1].
    fn at(&self, x: f32, y: f32) -> f32 {
        self.blend(self.column(x), self.row(y))
    }

    /// The grid column left of `x` and the smoothed fraction towards the next.
    fn column(&self, x: f32) -> (usize, f32) {
        let f = x.max(0.0) / self.cell;
        let i = (f as usize).min(self.columns - 2);
        (i, smoothstep(f - i as f32))
    }

    /// The grid row above `y` and the smoothed fraction towards the next.
    fn row(&self, y: f32) -> (usize, f32) {
        let rows = self.values.len() / self.columns;
        let f = y.max(0.0) / self.cell;
        let j = (f as usize).min(rows.saturating_sub(2));
        (j, smoothstep(f - j as f32))
    }

    fn blend(&self, (i, tx): (usize, f32), (j, ty): (usize, f32)) -> f32 {
        let v = |i: usize, j: usize| self.values[(j * self.columns + i).min(self.values.len() - 1)];
        let top = v(i, j) * (1.0 - tx) + v(i + 1, j) * tx;
        let bottom = v(i, j + 1) * (1.0 - tx) + v(i + 1, j + 1) * tx;
        top * (1.0 - ty) + bottom * ty
    }
}
