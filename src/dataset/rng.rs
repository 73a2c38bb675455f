//! A seeded random stream and a few elementary functions that give the same bits on every machine.
//!
//! The synthetic datasets must be byte-identical wherever they are generated, so that a dataset is
//! named by its seed. Two things could break that: a random-number crate whose stream changes
//! between versions, and the platform's `libm` (`sin`, `exp`, `powf` may differ in the last bit
//! between C libraries). So the stream is PCG32 (XSH-RR, O'Neill 2014), written here, and `exp`,
//! `ln` and `powf` are series built from `+ - * /` and exact bit manipulation only, which IEEE 754
//! rounds identically everywhere. Rust never fuses multiply-adds on its own, so these stay exact.

/// PCG32: 64-bit state, 32-bit output, a stream chosen by an odd increment.
#[derive(Debug, Clone)]
pub(crate) struct Pcg32 {
    state: u64,
    increment: u64,
}

const PCG_MULTIPLIER: u64 = 6_364_136_223_846_793_005;

impl Pcg32 {
    /// A stream for `seed`, with the sub-stream `stream` (for example an image index).
    pub(crate) fn new(seed: u64, stream: u64) -> Self {
        let mut rng = Pcg32 {
            state: 0,
            increment: (splitmix64(stream ^ 0x5851_f42d_4c95_7f2d) << 1) | 1,
        };
        rng.next_u32();
        rng.state = rng.state.wrapping_add(splitmix64(seed));
        rng.next_u32();
        rng
    }

    pub(crate) fn next_u32(&mut self) -> u32 {
        let old = self.state;
        self.state = old
            .wrapping_mul(PCG_MULTIPLIER)
            .wrapping_add(self.increment);
        let xorshifted = (((old >> 18) ^ old) >> 27) as u32;
        let rotation = (old >> 59) as u32;
        xorshifted.rotate_right(rotation)
    }

    /// Uniform in [0, 1), with 24 random bits (exact in `f32`).
    pub(crate) fn unit(&mut self) -> f32 {
        (self.next_u32() >> 8) as f32 * (1.0 / 16_777_216.0)
    }

    /// Uniform in [low, high).
    pub(crate) fn range(&mut self, low: f32, high: f32) -> f32 {
        low + (high - low) * self.unit()
    }

    /// Uniform integer in [low, high] (inclusive); the tiny modulo bias does not matter here.
    pub(crate) fn int(&mut self, low: u32, high: u32) -> u32 {
        low + self.next_u32() % (high - low + 1)
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f32) -> bool {
        self.unit() < p
    }

    /// Approximately standard normal: the sum of three uniforms, centred and scaled to unit
    /// variance (Irwin-Hall). Bounded by +-3, which is what image noise wants anyway.
    pub(crate) fn normal(&mut self) -> f32 {
        (self.unit() + self.unit() + self.unit() - 1.5) * 2.0
    }
}

/// SplitMix64's finaliser: spreads a seed over all 64 bits.
pub(crate) fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `e^x` from `+ - * /` only: `x = k ln 2 + r`, a Taylor series for `e^r`, then `2^k` by bits.
pub(crate) fn exp(x: f64) -> f64 {
    if x < -700.0 {
        return 0.0;
    }
    if x > 700.0 {
        return f64::INFINITY;
    }
    let k = (x / std::f64::consts::LN_2).round();
    let r = x - k * std::f64::consts::LN_2;
    // |r| <= 0.35: 18 terms leave an error far below one ulp.
    let mut term = 1.0;
    let mut sum = 1.0;
    for i in 1..18 {
        term = term * r / f64::from(i);
        sum += term;
    }
    sum * pow2(k as i32)
}

/// `ln x` for `x > 0` from `+ - * /` only: `x = m 2^e` with `m` near 1, `ln m = 2 atanh(s)`.
pub(crate) fn ln(x: f64) -> f64 {
    if x.is_nan() || x < 0.0 {
        return f64::NAN;
    }
    if x == 0.0 {
        return f64::NEG_INFINITY;
    }
    let (mut m, mut e) = frexp(x);
    if m < std::f64::consts::FRAC_1_SQRT_2 {
        m *= 2.0;
        e -= 1;
    }
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    // |s| <= 0.172: terms up to s^31 are more than enough.
    let mut power = s;
    let mut sum = 0.0;
    let mut i = 1.0;
    while i < 32.0 {
        sum += power / i;
        power *= s2;
        i += 2.0;
    }
    2.0 * sum + f64::from(e) * std::f64::consts::LN_2
}

/// `x^y` for `x >= 0`.
pub(crate) fn powf(x: f64, y: f64) -> f64 {
    if x == 0.0 {
        return if y == 0.0 { 1.0 } else { 0.0 };
    }
    exp(y * ln(x))
}

/// `2^k` for the normal range of `f64`, built from its bits.
fn pow2(k: i32) -> f64 {
    let k = k.clamp(-1022, 1023);
    f64::from_bits(((k + 1023) as u64) << 52)
}

/// `x = m 2^e` with `m` in [0.5, 1), for positive normal and subnormal `x`.
fn frexp(x: f64) -> (f64, i32) {
    let bits = x.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i32;
    if exponent == 0 {
        // Subnormal: scale into the normal range first.
        let (m, e) = frexp(x * pow2(64));
        return (m, e - 64);
    }
    let mantissa = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (mantissa, exponent - 1022)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcg32_matches_its_reference_stream() {
        // The first outputs of the reference implementation's demo (pcg32-demo, seed 42, stream
        // 54), reproduced by seeding the state the way pcg32_srandom_r does.
        let mut rng = Pcg32 {
            state: 0,
            increment: (54 << 1) | 1,
        };
        rng.next_u32();
        rng.state = rng.state.wrapping_add(42);
        rng.next_u32();
        let got: Vec<u32> = (0..6).map(|_| rng.next_u32()).collect();
        assert_eq!(
            got,
            [0xa15c02b7, 0x7b47f409, 0xba1d3330, 0x83d2f293, 0xbfa4784b, 0xcbed606e]
        );
    }

    #[test]
    fn streams_are_seeded_and_separate() {
        let draw = |seed, stream| {
            let mut rng = Pcg32::new(seed, stream);
            (0..4).map(|_| rng.next_u32()).collect::<Vec<_>>()
        };
        assert_eq!(draw(7, 3), draw(7, 3));
        assert_ne!(draw(7, 3), draw(8, 3));
        assert_ne!(draw(7, 3), draw(7, 4));
    }

    #[test]
    fn uniforms_stay_in_range() {
        let mut rng = Pcg32::new(1, 1);
        for _ in 0..10_000 {
            let u = rng.unit();
            assert!((0.0..1.0).contains(&u));
            let i = rng.int(3, 5);
            assert!((3..=5).contains(&i));
            assert!(rng.normal().abs() <= 3.0);
        }
    }

    #[test]
    fn elementary_functions_agree_with_the_platform_closely() {
        for i in -400..400 {
            let x = f64::from(i) * 0.037;
            let relative = (exp(x) - x.exp()).abs() / x.exp();
            assert!(relative < 1e-14, "exp({x}): {} vs {}", exp(x), x.exp());
        }
        for i in 1..2000 {
            let x = f64::from(i) * 0.013;
            assert!((ln(x) - x.ln()).abs() < 1e-14, "ln({x})");
            assert!((powf(x, 0.7) - x.powf(0.7)).abs() < 1e-12 * x.powf(0.7).max(1.0));
        }
        assert_eq!(ln(1.0), 0.0);
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(powf(0.0, 2.0), 0.0);
        assert!((ln(1e-310) - 1e-310f64.ln()).abs() < 1e-12);
    }
}
