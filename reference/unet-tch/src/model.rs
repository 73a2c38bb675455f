//! The U-Net: four down-sampling levels (32, 64, 128, 256 channels, a 512-channel bottleneck),
//! two 3x3 convolutions with batch normalisation and ReLU per level, transposed convolutions
//! to go back up, skip connections by concatenation, and a 1x1 convolution to one logit per
//! pixel. Binary segmentation with a small foreground: the output is a logit map, trained with
//! BCE plus soft Dice (see `train.rs`), so that a model predicting only background scores badly.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use tch::nn::{self, ModuleT};
use tch::{Device, Kind, Tensor};

use crate::dataset::Normalisation;

/// Everything `predict` needs besides the weights to rebuild the trained model
/// (saved as `model_config.json` beside `model.safetensors`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelConfig {
    pub in_channels: i64,
    pub base_channels: i64,
    pub levels: usize,
    /// Images are resized to `image_size x image_size` before the network sees them.
    pub image_size: i64,
    pub normalisation: Normalisation,
}

impl ModelConfig {
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)?;
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
    }

    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "cannot read {} (train writes it beside the weights)",
                path.display()
            )
        })?;
        serde_json::from_str(&text).with_context(|| format!("malformed {}", path.display()))
    }
}

/// (3x3 convolution, batch norm, ReLU) twice.
#[derive(Debug)]
struct DoubleConv {
    conv1: nn::Conv2D,
    bn1: nn::BatchNorm,
    conv2: nn::Conv2D,
    bn2: nn::BatchNorm,
}

impl DoubleConv {
    fn new(p: nn::Path, c_in: i64, c_out: i64) -> Self {
        let cfg = nn::ConvConfig {
            padding: 1,
            bias: false,
            ..Default::default()
        };
        Self {
            conv1: nn::conv2d(&p / "conv1", c_in, c_out, 3, cfg),
            bn1: nn::batch_norm2d(&p / "bn1", c_out, Default::default()),
            conv2: nn::conv2d(&p / "conv2", c_out, c_out, 3, cfg),
            bn2: nn::batch_norm2d(&p / "bn2", c_out, Default::default()),
        }
    }
}

impl ModuleT for DoubleConv {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        xs.apply(&self.conv1)
            .apply_t(&self.bn1, train)
            .relu()
            .apply(&self.conv2)
            .apply_t(&self.bn2, train)
            .relu()
    }
}

/// One decoder level: up-sample by a transposed convolution, concatenate the skip, convolve.
#[derive(Debug)]
struct Up {
    up: nn::ConvTranspose2D,
    conv: DoubleConv,
}

impl Up {
    fn forward_t(&self, xs: &Tensor, skip: &Tensor, train: bool) -> Tensor {
        let mut xs = xs.apply(&self.up);
        // Odd sizes lose a row or column when pooled; pad back so the skip and xs line up.
        let (sh, sw) = (skip.size()[2], skip.size()[3]);
        let (h, w) = (xs.size()[2], xs.size()[3]);
        if (h, w) != (sh, sw) {
            let (dh, dw) = (sh - h, sw - w);
            xs = xs.constant_pad_nd([dw / 2, dw - dw / 2, dh / 2, dh - dh / 2]);
        }
        Tensor::cat(&[skip, &xs], 1).apply_t(&self.conv, train)
    }
}

/// The U-Net. Its variables live in the `VarStore` it was built from.
#[derive(Debug)]
pub struct UNet {
    encoder: Vec<DoubleConv>,
    decoder: Vec<Up>,
    head: nn::Conv2D,
}

impl UNet {
    pub fn new(vs: &nn::Path, in_channels: i64, base_channels: i64, levels: usize) -> Self {
        let channels: Vec<i64> = (0..=levels).map(|l| base_channels << l).collect();
        let mut encoder = vec![DoubleConv::new(vs / "enc0", in_channels, channels[0])];
        for l in 1..=levels {
            encoder.push(DoubleConv::new(
                vs / format!("enc{l}"),
                channels[l - 1],
                channels[l],
            ));
        }
        let up_cfg = nn::ConvTransposeConfig {
            stride: 2,
            ..Default::default()
        };
        let decoder = (0..levels)
            .rev()
            .map(|l| {
                let p = vs / format!("dec{l}");
                Up {
                    up: nn::conv_transpose2d(&p / "up", channels[l + 1], channels[l], 2, up_cfg),
                    conv: DoubleConv::new(&p / "conv", 2 * channels[l], channels[l]),
                }
            })
            .collect();
        let head = nn::conv2d(vs / "head", channels[0], 1, 1, Default::default());
        Self {
            encoder,
            decoder,
            head,
        }
    }

    pub fn from_config(vs: &nn::Path, cfg: &ModelConfig) -> Self {
        Self::new(vs, cfg.in_channels, cfg.base_channels, cfg.levels)
    }

    /// Runs the network; `seen` gets each block's kind ("enc", "dec", "head"), level and output.
    fn forward_blocks(
        &self,
        xs: &Tensor,
        train: bool,
        mut seen: impl FnMut(&'static str, usize, &Tensor),
    ) -> Tensor {
        let mut skips = Vec::with_capacity(self.encoder.len());
        let mut x = self.encoder[0].forward_t(xs, train);
        seen("enc", 0, &x);
        for (l, block) in self.encoder.iter().enumerate().skip(1) {
            let pooled = x.max_pool2d_default(2);
            skips.push(x);
            x = block.forward_t(&pooled, train);
            seen("enc", l, &x);
        }
        for (i, up) in self.decoder.iter().enumerate() {
            let l = skips.len() - 1 - i;
            x = up.forward_t(&x, &skips[l], train);
            seen("dec", l, &x);
        }
        let out = x.apply(&self.head);
        seen("head", 0, &out);
        out
    }

    /// A torchinfo-like table (block, output shape, learnable parameters) and the total.
    pub fn summary(&self, vs: &nn::VarStore, image_size: i64) -> String {
        let mut params: BTreeMap<String, i64> = BTreeMap::new();
        let mut total = 0i64;
        for (name, t) in vs.variables() {
            if t.requires_grad() {
                let block = name.split('.').next().unwrap_or_default().to_string();
                *params.entry(block).or_default() += t.numel() as i64;
                total += t.numel() as i64;
            }
        }
        let mut rows = Vec::new();
        let input = Tensor::zeros([1, 1, image_size, image_size], (Kind::Float, vs.device()));
        let _ = tch::no_grad(|| {
            self.forward_blocks(&input, false, |kind, level, t| {
                let name = if kind == "head" {
                    kind.to_string()
                } else {
                    format!("{kind}{level}")
                };
                let p = params.get(&name).copied().unwrap_or(0);
                rows.push((name, t.size(), p));
            })
        });
        let mut s = String::new();
        s.push_str(&format!(
            "{:<10} {:<24} {:>12}\n",
            "Block", "Output shape", "Param #"
        ));
        s.push_str(&format!("{}\n", "-".repeat(48)));
        s.push_str(&format!(
            "{:<10} {:<24} {:>12}\n",
            "input",
            format!("{:?}", input.size()),
            0
        ));
        for (name, shape, p) in rows {
            s.push_str(&format!(
                "{:<10} {:<24} {:>12}\n",
                name,
                format!("{shape:?}"),
                p
            ));
        }
        s.push_str(&format!("{}\n", "-".repeat(48)));
        s.push_str(&format!("Total learnable parameters: {total}"));
        s
    }
}

impl ModuleT for UNet {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        self.forward_blocks(xs, train, |_, _, _| {})
    }
}

/// Number of learnable parameters in a `VarStore`.
pub fn count_parameters(vs: &nn::VarStore) -> i64 {
    vs.trainable_variables()
        .iter()
        .map(|t| t.numel() as i64)
        .sum()
}

/// The device to use: the first CUDA GPU when libtorch sees one, the CPU otherwise.
pub fn pick_device() -> Device {
    Device::cuda_if_available()
}
