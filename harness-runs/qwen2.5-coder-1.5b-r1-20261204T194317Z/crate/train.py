import os
import torch
import torch.optim as optim
import torchinfo
from dataset import ImageDataset
from model import UNet
from tqdm import tqdm
import pandas as pd
import matplotlib.pyplot as plt
from openpyxl import Workbook

def train(args):
    data_dir = args.data_dir
    out_dir = args.out_dir
    epochs = args.epochs if args.epochs else 10

    # Check if GPU is available
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    # Load dataset
    dataset = ImageDataset(data_dir)
    dataloader = DataLoader(dataset, batch_size=32, shuffle=True, num_workers=4)

    # Initialize model
    model = UNet(in_channels=1, out_channels=1).to(device)
    model = torchinfo.summary(model, input_size=(32, 256, 256))

    # Initialize optimizer
    optimizer = optim.Adam(model.parameters(), lr=0.001)

    # Initialize loss function
    criterion = nn.BCELoss()

    # Initialize training and validation lists
    train_losses = []
    val_losses = []
    validation_dice_scores = []
    test_dice_scores = []

    # Create save directory if it doesn't exist
    if not os.path.exists(out_dir):
        os.makedirs(out_dir)

    # Training loop
    for epoch in tqdm(range(epochs), desc="Epoch"):
        model.train()
        total_loss = 0

        for img, mask in dataloader:
            img, mask = img.to(device), mask.to(device)

            optimizer.zero_grad()

            output = model(img)
            loss = criterion(output, mask)
            loss.backward()
            optimizer.step()

            total_loss += loss.item()

        avg_train_loss = total_loss / len(dataloader)
        train_losses.append(avg_train_loss)

        # Validation loop
        model.eval()
        total_val_loss = 0
        dice_scores = []

        with torch.no_grad():
            for img, mask in dataloader:
                img, mask = img.to(device), mask.to(device)

                output = model(img)
                loss = criterion(output, mask)
                total_val_loss += loss.item()

                dice_score = 2 * (output * mask).mean() / (output.sum() + mask.sum())
                dice_scores.append(dice_score.item())

        avg_val_loss = total_val_loss / len(dataloader)
        val_losses.append(avg_val_loss)

        # Calculate mean dice scores per batch
        batch_dice_scores = [np.mean(dice_scores[i:i+3]) for i in range(0, len(dice_scores), 3)]
        validation_dice_scores.append(batch_dice_scores)

        # Save model and weights
        torch.save(model.state_dict(), os.path.join(out_dir, 'model_state_dict.pth'))
        torch.save(model, os.path.join(out_dir, 'model.pth'))

        # Print training and validation details
        print(f"Epoch {epoch+1}: Train Loss = {avg_train_loss:.4f}, Val Loss = {avg_val_loss:.4f}")

    # Save training and validation losses
    df_train_losses = pd.DataFrame({'Epoch': range(1, len(train_losses) + 1), 'Train Loss': train_losses})
    df_train_losses.to_excel(os.path.join(out_dir, 'train_losses.xlsx'), index=False)

    df_val_losses = pd.DataFrame({'Epoch': range(1, len(val_losses) + 1), 'Val Loss': val_losses})
    df_val_losses.to_excel(os.path.join(out_dir, 'val_losses.xlsx'), index=False)

    # Visualize training losses and validation losses
    plt.figure(figsize=(10, 5))
    plt.plot(df_train_losses['Epoch'], df_train_losses['Train Loss'], label='Train Loss')
    plt.plot(df_val_losses['Epoch'], df_val_losses['Val Loss'], label='Val Loss')
    plt.xlabel('Epoch')
    plt.ylabel('Loss')
    plt.title('Training and Validation Losses')
    plt.legend()
    plt.savefig(os.path.join(out_dir, 'training_loss.png'))

    # Test loop
    dataset_test = ImageDataset(os.path.join(data_dir, 'images'), transform=None)
    dataloader_test = DataLoader(dataset_test, batch_size=32, shuffle=False, num_workers=4)

    model.eval()
    total_test_loss = 0
    dice_scores = []

    with torch.no_grad():
        for img, mask in dataloader_test:
            img, mask = img.to(device), mask.to(device)

            output = model(img)
            loss = criterion(output, mask)
            total_test_loss += loss.item()

            dice_score = 2 * (output * mask).mean() / (output.sum() + mask.sum())
            dice_scores.append(dice_score.item())

    avg_test_loss = total_test_loss / len(dataloader_test)
    test_dice_scores.append(dice_scores)

    # Save test dice scores
    df_test_dice_scores = pd.DataFrame({'Batch': range(1, len(dice_scores) + 1), 'Dice Score': dice_scores})
    df_test_dice_scores.to_excel(os.path.join(out_dir, 'test_dice_scores.xlsx'), index=False)

    # Visualize test results
    plt.figure(figsize=(10, 5))
    plt.plot(df_test_dice_scores['Batch'], df_test_dice_scores['Dice Score'], label='Dice Score')
    plt.xlabel('Batch')
    plt.ylabel('Dice Score')
    plt.title('Test Results')
    plt.legend()
    plt.savefig(os.path.join(out_dir, 'test_results.png'))
