import torch
import torch.nn as nn
import torch.nn.functional as F

class UNet(nn.Module):
    def __init__(self, in_channels=1, out_channels=1, init_features=32):
        super(UNet, self).__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.init_features = init_features

        self.encoder1 = self._make_layers(in_channels, self.init_features)
        self.encoder2 = self._make_layers(self.init_features, self.init_features * 2)
        self.encoder3 = self._make_layers(self.init_features * 2, self.init_features * 4)
        self.encoder4 = self._make_layers(self.init_features * 4, self.init_features * 8)
        self.encoder5 = self._make_layers(self.init_features * 8, self.init_features * 16)

        self.bottleneck = self._make_layers(self.init_features * 16, self.init_features * 32)

        self.decoder1 = self._make_layers(self.init_features * 32, self.init_features * 16)
        self.decoder2 = self._make_layers(self.init_features * 16, self.init_features * 8)
        self.decoder3 = self._make_layers(self.init_features * 8, self.init_features * 4)
        self.decoder4 = self._make_layers(self.init_features * 4, self.init_features * 2)
        self.decoder5 = self._make_layers(self.init_features * 2, self.init_features)

        self.final = nn.Conv2d(self.init_features, self.out_channels, 1)

    def _make_layers(self, in_channels, out_channels, stride=1):
        layers = []
        layers.append(nn.Conv2d(in_channels, out_channels, stride=stride, padding=1))
        layers.append(nn.BatchNorm2d(out_channels))
        layers.append(nn.ReLU(inplace=True))
        return nn.Sequential(*layers)

    def forward(self, x):
        enc1 = self.encoder1(x)
        enc2 = self.encoder2(enc1)
        enc3 = self.encoder3(enc2)
        enc4 = self.encoder4(enc3)
        enc5 = self.encoder5(enc4)
        bottleneck = self.bottleneck(enc5)

        dec1 = self.decoder1(bottleneck)
        dec2 = self.decoder2(dec1)
        dec3 = self.decoder3(dec2)
        dec4 = self.decoder4(dec3)
        dec5 = self.decoder5(dec4)

        out = self.final(dec5)

        return out
