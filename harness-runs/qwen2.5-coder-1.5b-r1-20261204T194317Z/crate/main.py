import argparse
import os

def train(args):
    args.train = True
    args.predict = False
    args.weights = None
    args.images_dir = None
    args.out_dir = None
    args.epochs = None

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="U-Net Segmentation")
    parser.add_argument("train", action="store_true", help="Train the model")
    parser.add_argument("predict", action="store_true", help="Predict on new images")
    parser.add_argument("--weights", type=str, help="Path to the model weights file")
    parser.add_argument("--images-dir", type=str, help="Path to the images directory")
    parser.add_argument("--out-dir", type=str, help="Path to the output directory")
    parser.add_argument("--epochs", type=int, help="Number of epochs")

    args = parser.parse_args()

    if args.train:
        train(args)
    elif args.predict:
        predict(args)
    else:
        print("Please specify either train or predict.")
