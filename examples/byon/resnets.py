"""A DAG example for the README's "DAG networks": a ResNet basic block (optdist profile --module resnets:ResBlockNet)."""

import torch
from torch import nn


class ResBlockNet(nn.Module):
    """A stem convolution, one ResNet basic block (identity shortcut), global pooling and a classifier."""

    def __init__(self, width: int = 16, classes: int = 10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU())
        self.conv1, self.bn1 = nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width)
        self.conv2, self.bn2 = nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width)
        self.relu1, self.relu2 = nn.ReLU(), nn.ReLU()
        self.pool, self.fc = nn.AdaptiveAvgPool2d(1), nn.Linear(width, classes)

    def forward(self, x):
        x = self.stem(x)
        y = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        return self.fc(torch.flatten(self.pool(self.relu2(y + x)), 1))
