"""Training throughput of the reference U-Net in PyTorch, for comparison with the tch crate.

The same network as reference/unet-tch (four levels, 32 base channels, batch norm, ReLU,
transposed convolutions, a 1x1 head), the same BCE + soft Dice loss, AdamW (lr 1e-3, weight
decay 1e-4), the same batch and input size, on synthetic tensors that stay on the device: no
data loading is timed. Prints one JSON line with the same fields as `unet_segmentation bench`.

    python unet.py [--steps 20] [--warmup 3] [--batch-size 16] [--image-size 256]
                   [--threads T] [--cpu] [--channels-last]
"""

import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class DoubleConv(nn.Sequential):
    """(3x3 convolution, batch norm, ReLU) twice."""

    def __init__(self, c_in, c_out):
        super().__init__(
            nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(),
            nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(),
        )


class Up(nn.Module):
    """Transposed convolution up, pad to the skip's size if needed, concatenate, convolve."""

    def __init__(self, c_in, c_out):
        super().__init__()
        self.up = nn.ConvTranspose2d(c_in, c_out, 2, stride=2)
        self.conv = DoubleConv(2 * c_out, c_out)

    def forward(self, x, skip):
        x = self.up(x)
        dh, dw = skip.shape[2] - x.shape[2], skip.shape[3] - x.shape[3]
        if dh or dw:
            x = F.pad(x, [dw // 2, dw - dw // 2, dh // 2, dh - dh // 2])
        return self.conv(torch.cat([skip, x], 1))


class UNet(nn.Module):
    def __init__(self, in_channels=1, base_channels=32, levels=4):
        super().__init__()
        ch = [base_channels << level for level in range(levels + 1)]
        self.encoder = nn.ModuleList(
            [DoubleConv(in_channels, ch[0])] + [DoubleConv(ch[i - 1], ch[i]) for i in range(1, levels + 1)]
        )
        self.decoder = nn.ModuleList([Up(ch[i + 1], ch[i]) for i in reversed(range(levels))])
        self.head = nn.Conv2d(ch[0], 1, 1)

    def forward(self, x):
        skips = []
        x = self.encoder[0](x)
        for block in self.encoder[1:]:
            skips.append(x)
            x = block(F.max_pool2d(x, 2))
        for up, skip in zip(self.decoder, reversed(skips)):
            x = up(x, skip)
        return self.head(x)


def bce_dice_loss(logits, masks):
    """BCE on the logits plus 1 - soft Dice (per image, smoothed by 1, averaged)."""
    bce = F.binary_cross_entropy_with_logits(logits, masks)
    probs = torch.sigmoid(logits)
    inter = (probs * masks).sum(dim=(1, 2, 3))
    denom = probs.sum(dim=(1, 2, 3)) + masks.sum(dim=(1, 2, 3))
    dice = (2 * inter + 1) / (denom + 1)
    return bce + (1 - dice.mean())


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--image-size", type=int, default=256)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--cpu", action="store_true", help="run on the CPU even when a GPU is available")
    p.add_argument("--channels-last", action="store_true", help="NHWC memory format for model and input")
    args = p.parse_args()

    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() and not args.cpu else "cpu")
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # as the tch crate does

    model = UNet().to(device)
    # PyTorch's defaults: one tensor at a time on the CPU (as libtorch's C++ AdamW, which tch
    # wraps), the multi-tensor "foreach" path on a GPU.
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    shape = (args.batch_size, 1, args.image_size, args.image_size)
    images = torch.randn(shape, device=device)
    masks = (torch.rand(shape, device=device) < 0.05).float()
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    model.train()

    def step():
        logits = model(images)
        loss = bce_dice_loss(logits, masks)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    for _ in range(args.warmup):
        step()
    sync()
    cpu_started = time.process_time()
    started = time.perf_counter()
    for _ in range(args.steps):
        loss = step()
    value = loss.item()
    sync()
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    if value != value:
        raise SystemExit("the benchmark's loss became NaN")
    params = sum(t.numel() for t in model.parameters() if t.requires_grad)
    print(json.dumps({
        "implementation": "pytorch",
        "device": "cpu" if device.type == "cpu" else f"cuda:{torch.cuda.current_device()}",
        "threads": torch.get_num_threads(),
        "batch_size": args.batch_size,
        "image_size": args.image_size,
        "steps": args.steps,
        "parameters": params,
        "seconds": seconds,
        "images_per_second": args.steps * args.batch_size / seconds,
        "cpu_seconds": cpu_seconds,
        "channels_last": args.channels_last,
    }))


if __name__ == "__main__":
    main()
