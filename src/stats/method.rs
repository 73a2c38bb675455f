//! Which statistical method produced a number, in words a table footnote can use.

use std::fmt;

use serde::Serialize;

/// A statistical method of this module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// [`super::summary`].
    Summary,
    /// [`super::bootstrap_mean`] and [`super::bootstrap_median`]; the interval's own
    /// [`super::BootstrapInterval::footnote`] adds its level, resamples and seed.
    PercentileBootstrap,
    /// [`super::wilson`].
    Wilson,
    /// [`super::mann_whitney_u`] with an exact p-value.
    MannWhitneyExact,
    /// [`super::mann_whitney_u`] or [`super::mann_whitney_u_asymptotic`] with a normal
    /// approximation.
    MannWhitneyNormal,
    /// [`super::kruskal_wallis`].
    KruskalWallis,
}

impl Method {
    /// One sentence naming the method and its conventions, for a table footnote.
    pub fn description(self) -> &'static str {
        match self {
            Method::Summary => {
                "mean ± SEM (sample SD with n − 1, over √n); median and quartiles by linear \
                 interpolation between order statistics (R type 7, numpy's default)"
            }
            Method::PercentileBootstrap => {
                "percentile bootstrap confidence interval (resampling with replacement, seeded \
                 ChaCha8 stream; bounds by linear interpolation, R type 7)"
            }
            Method::Wilson => "Wilson score confidence interval for a proportion",
            Method::MannWhitneyExact => {
                "two-sided Mann-Whitney U test, exact p-value (no ties); effect size \
                 rank-biserial r = 1 − 2U₁/(n₁n₂), positive when the second group is larger"
            }
            Method::MannWhitneyNormal => {
                "two-sided Mann-Whitney U test, normal approximation with tie correction and \
                 continuity correction (0.5); effect size rank-biserial r = 1 − 2U₁/(n₁n₂), \
                 positive when the second group is larger"
            }
            Method::KruskalWallis => {
                "Kruskal-Wallis H test with tie correction, p from the chi-square distribution \
                 with k − 1 degrees of freedom; effect size ε² = H/(n − 1)"
            }
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}
