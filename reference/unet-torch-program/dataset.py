"""Grayscale images and binary masks: `images/N.png` with `masks/N_seg.png`, PNG files only."""

import os

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset


def mask_name(image_name):
    """The mask file of an image: `7.png` -> `7_seg.png`."""
    stem, ext = os.path.splitext(image_name)
    return f"{stem}_seg{ext}"


def list_pairs(data_dir):
    """(image path, mask path) of every PNG image that has its mask, sorted by name."""
    images_dir = os.path.join(data_dir, "images")
    masks_dir = os.path.join(data_dir, "masks")
    pairs = []
    for name in sorted(os.listdir(images_dir)):
        if not name.lower().endswith(".png"):
            continue
        mask = os.path.join(masks_dir, mask_name(name))
        if os.path.isfile(mask):
            pairs.append((os.path.join(images_dir, name), mask))
    return pairs


def load_image(path, size):
    """A grayscale image resized to size x size, as a 1 x H x W float tensor in [0, 1]."""
    image = Image.open(path)
    if image.mode in ("I;16", "I;16B", "I"):
        array = np.asarray(image, dtype=np.float32)
        top = array.max() if array.max() > 0 else 1.0
        image = Image.fromarray((array / top * 255).astype(np.uint8))
    image = image.convert("L").resize((size, size), Image.BILINEAR)
    return torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0).unsqueeze(0)


def load_mask(path, size):
    """A binary mask (any nonzero pixel is foreground) resized with nearest neighbours."""
    mask = Image.open(path).convert("L").resize((size, size), Image.NEAREST)
    return torch.from_numpy((np.asarray(mask) > 0).astype(np.float32)).unsqueeze(0)


class SegmentationDataset(Dataset):
    """Image and mask pairs, resized to one size, grayscale and binary."""

    def __init__(self, pairs, size=256):
        self.pairs = list(pairs)
        self.size = size

    def __len__(self):
        return len(self.pairs)

    def __getitem__(self, index):
        image_path, mask_path = self.pairs[index]
        return (
            load_image(image_path, self.size),
            load_mask(mask_path, self.size),
            os.path.basename(image_path),
        )
