"""The harness's hand-written PyTorch reference for `python-torch-unet` (not an LLM's program).

    python main.py train --data-dir DATA --out-dir OUT [--epochs N]
    python main.py predict --weights OUT/model_state_dict.pth --images-dir IMAGES --out-dir PRED
"""

import argparse
import os
import shutil

import numpy as np
import torch
from PIL import Image
from sklearn.model_selection import train_test_split
from torch.utils.data import DataLoader
from torchinfo import summary

from dataset import SegmentationDataset, list_pairs, load_image
from model import UNet
from train import fit, plot_losses, plot_predictions, save_dice_rows, save_losses, test


def copy_split(pairs, folder):
    for sub in ("images", "masks"):
        os.makedirs(os.path.join(folder, sub), exist_ok=True)
    for image, mask in pairs:
        shutil.copy(image, os.path.join(folder, "images"))
        shutil.copy(mask, os.path.join(folder, "masks"))


def run_train(args):
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(args.seed)
    os.makedirs(args.out_dir, exist_ok=True)
    pairs = list_pairs(args.data_dir)
    train_pairs, rest = train_test_split(pairs, test_size=0.2, random_state=args.seed, shuffle=True)
    val_pairs, test_pairs = train_test_split(rest, test_size=0.5, random_state=args.seed)
    print(f"training {len(train_pairs)}, validation {len(val_pairs)}, test {len(test_pairs)} images")
    for name, split in (("train", train_pairs), ("val", val_pairs), ("test", test_pairs)):
        copy_split(split, os.path.join(args.out_dir, "splits", name))
    sets = [SegmentationDataset(p, args.image_size) for p in (train_pairs, val_pairs, test_pairs)]
    train_loader = DataLoader(sets[0], batch_size=args.batch_size, shuffle=True)
    val_loader = DataLoader(sets[1], batch_size=args.batch_size)
    test_loader = DataLoader(sets[2], batch_size=args.batch_size)
    print(f"batches: training {len(train_loader)}, validation {len(val_loader)}, test {len(test_loader)}")
    model = UNet().to(device)
    summary(model, input_size=(1, 1, args.image_size, args.image_size), device=str(device))
    learnable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    print(f"learnable parameters: {learnable}")
    train_losses, val_losses, val_dice = fit(
        model, (train_loader, val_loader), device, args.epochs, args.lr, args.patience
    )
    save_losses(train_losses, os.path.join(args.out_dir, "train_losses.xlsx"))
    save_losses(val_losses, os.path.join(args.out_dir, "val_losses.xlsx"))
    save_dice_rows(val_dice, os.path.join(args.out_dir, "validation_dice_scores.xlsx"))
    torch.save(model.state_dict(), os.path.join(args.out_dir, "model_state_dict.pth"))
    torch.save(model, os.path.join(args.out_dir, "model.pth"))
    plot_losses(train_losses, val_losses, os.path.join(args.out_dir, "losses.png"))
    save_dice_rows([test(model, test_loader, device)], os.path.join(args.out_dir, "test_dice_scores.xlsx"))
    plot_predictions(model, sets[2], device, os.path.join(args.out_dir, "predictions.png"))


@torch.no_grad()
def run_predict(args):
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = UNet().to(device)
    model.load_state_dict(torch.load(args.weights, map_location=device))
    model.eval()
    os.makedirs(args.out_dir, exist_ok=True)
    for name in sorted(os.listdir(args.images_dir)):
        if not name.lower().endswith(".png"):
            continue
        path = os.path.join(args.images_dir, name)
        width, height = Image.open(path).size
        image = load_image(path, args.image_size).unsqueeze(0).to(device)
        prob = torch.sigmoid(model(image))
        prob = torch.nn.functional.interpolate(prob, size=(height, width), mode="bilinear")
        mask = (prob[0, 0] > 0.5).cpu().numpy().astype(np.uint8) * 255
        Image.fromarray(mask, mode="L").save(os.path.join(args.out_dir, name))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train")
    train.add_argument("--data-dir", required=True)
    train.add_argument("--out-dir", required=True)
    train.add_argument("--epochs", type=int, default=30)
    train.add_argument("--batch-size", type=int, default=8)
    train.add_argument("--image-size", type=int, default=256)
    train.add_argument("--lr", type=float, default=1e-3)
    train.add_argument("--patience", type=int, default=8)
    train.add_argument("--seed", type=int, default=42)
    predict = commands.add_parser("predict")
    predict.add_argument("--weights", required=True)
    predict.add_argument("--images-dir", required=True)
    predict.add_argument("--out-dir", required=True)
    predict.add_argument("--image-size", type=int, default=256)
    args = parser.parse_args()
    if args.command == "train":
        run_train(args)
    else:
        run_predict(args)


if __name__ == "__main__":
    main()
