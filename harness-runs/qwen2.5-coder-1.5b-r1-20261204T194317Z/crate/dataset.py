import os
from PIL import Image
import numpy as np
from torch.utils.data import Dataset, DataLoader

class ImageDataset(Dataset):
    def __init__(self, data_dir, transform=None):
        self.data_dir = data_dir
        self.transform = transform
        self.images = sorted(os.listdir(os.path.join(data_dir, 'images')))
        self.masks = sorted(os.listdir(os.path.join(data_dir, 'masks')))

    def __len__(self):
        return len(self.images)

    def __getitem__(self, idx):
        img_path = os.path.join(self.data_dir, 'images', self.images[idx])
        mask_path = os.path.join(self.data_dir, 'masks', self.masks[idx])
        img = Image.open(img_path).convert('L')  # Convert to grayscale
        mask = Image.open(mask_path).convert('L')
        
        if self.transform:
            img, mask = self.transform(img, mask)
        
        return img, mask
