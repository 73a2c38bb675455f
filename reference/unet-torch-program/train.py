"""Training, validation and testing, the losses and Dice files, and the figures."""

import random
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from tqdm import tqdm  # noqa: E402


def dice_loss(logits, masks, eps=1.0):
    """Soft Dice loss over the batch."""
    probs = torch.sigmoid(logits)
    inter = (probs * masks).sum(dim=(1, 2, 3))
    total = probs.sum(dim=(1, 2, 3)) + masks.sum(dim=(1, 2, 3))
    return 1 - ((2 * inter + eps) / (total + eps)).mean()


def loss_fn(logits, masks):
    """BCE plus soft Dice: the Dice term keeps a small foreground from being ignored."""
    return F.binary_cross_entropy_with_logits(logits, masks) + dice_loss(logits, masks)


def batch_dice(logits, masks, eps=1e-6):
    """Mean hard Dice of a batch; an image with no foreground in both scores 1."""
    preds = (torch.sigmoid(logits) > 0.5).float()
    inter = (preds * masks).sum(dim=(1, 2, 3))
    total = preds.sum(dim=(1, 2, 3)) + masks.sum(dim=(1, 2, 3))
    dice = torch.where(total > 0, 2 * inter / (total + eps), torch.ones_like(total))
    return dice.mean().item()


def train_one_epoch(model, loader, optimizer, device, epoch):
    model.train()
    total = 0.0
    for images, masks, _ in tqdm(loader, desc=f"Epoch {epoch} train"):
        images, masks = images.to(device), masks.to(device)
        optimizer.zero_grad()
        loss = loss_fn(model(images), masks)
        loss.backward()
        optimizer.step()
        total += loss.item()
    return total / max(len(loader), 1)


@torch.no_grad()
def validate(model, loader, device, epoch):
    """Average validation loss and the Dice of every batch."""
    model.eval()
    total, dices = 0.0, []
    for images, masks, _ in tqdm(loader, desc=f"Epoch {epoch} validation"):
        images, masks = images.to(device), masks.to(device)
        logits = model(images)
        total += loss_fn(logits, masks).item()
        dices.append(batch_dice(logits, masks))
    return total / max(len(loader), 1), dices


@torch.no_grad()
def test(model, loader, device):
    """The Dice of every test batch."""
    model.eval()
    dices = []
    for images, masks, _ in tqdm(loader, desc="Testing"):
        images, masks = images.to(device), masks.to(device)
        dices.append(batch_dice(model(images), masks))
    return dices


def save_losses(losses, path):
    """Row 1: epoch numbers; row 2: the loss of each epoch."""
    epochs = list(range(1, len(losses) + 1))
    pd.DataFrame([epochs, losses]).to_excel(path, header=False, index=False)


def save_dice_rows(rows, path):
    """One row per epoch (or one row for testing), one column per batch."""
    pd.DataFrame(rows).to_excel(path, header=False, index=False)


def plot_losses(train_losses, val_losses, path):
    epochs = range(1, len(train_losses) + 1)
    plt.figure()
    plt.plot(epochs, train_losses, label="training loss")
    plt.plot(epochs, val_losses, label="validation loss")
    plt.xlabel("epoch")
    plt.ylabel("loss")
    plt.legend()
    plt.savefig(path)
    plt.close()


@torch.no_grad()
def plot_predictions(model, dataset, device, path, samples=5, seed=0):
    """Five random test samples: input, ground truth, prediction, each titled with its file."""
    model.eval()
    picks = random.Random(seed).sample(range(len(dataset)), min(samples, len(dataset)))
    fig, axes = plt.subplots(len(picks), 3, figsize=(9, 3 * len(picks)), squeeze=False)
    for row, index in enumerate(picks):
        image, mask, name = dataset[index]
        pred = (torch.sigmoid(model(image.unsqueeze(0).to(device)))[0, 0] > 0.5).cpu().numpy()
        for col, (title, data) in enumerate(
            [("Input Image", image[0].numpy()), ("Ground Truth", mask[0].numpy()), ("Prediction", pred)]
        ):
            axes[row, col].imshow(np.asarray(data, dtype=np.float32), cmap="gray")
            axes[row, col].set_title(f"{title}\n{name}" if row == 0 else name, fontsize=8)
            axes[row, col].axis("off")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def fit(model, loaders, device, epochs, lr, patience):
    """Trains with early stopping on the validation loss; returns the losses and Dice rows."""
    train_loader, val_loader = loaders
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    best, best_state, waited = float("inf"), None, 0
    train_losses, val_losses, val_dice_rows = [], [], []
    started = time.time()
    for epoch in range(1, epochs + 1):
        train_losses.append(train_one_epoch(model, train_loader, optimizer, device, epoch))
        val_loss, dices = validate(model, val_loader, device, epoch)
        val_losses.append(val_loss)
        val_dice_rows.append(dices)
        print(f"epoch {epoch}: train loss {train_losses[-1]:.4f}, validation loss {val_loss:.4f}")
        if val_loss < best:
            best, waited = val_loss, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            waited += 1
            if waited >= patience:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    print(f"Total training time: {time.time() - started:.2f} seconds")
    return train_losses, val_losses, val_dice_rows
