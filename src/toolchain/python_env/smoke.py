# The Python environment's smoke check (harness, src/toolchain/python_env/smoke.rs): imports
# every package the target's programs may use, trains a tiny conv net for one step on the CPU,
# writes an .xlsx with pandas and a PNG with matplotlib into the scratch folder given as the
# first argument, and prints what it found, one `key value` line each.
import importlib
import importlib.metadata
import os
import sys

scratch = sys.argv[1]
print("python", "%d.%d.%d" % sys.version_info[:3])
print("base-prefix", sys.base_prefix)

# Distribution name -> module name.
PACKAGES = [
    ("torch", "torch"),
    ("torchvision", "torchvision"),
    ("numpy", "numpy"),
    ("pandas", "pandas"),
    ("matplotlib", "matplotlib"),
    ("scikit-learn", "sklearn"),
    ("scipy", "scipy"),
    ("tqdm", "tqdm"),
    ("pillow", "PIL"),
    ("torchinfo", "torchinfo"),
    ("openpyxl", "openpyxl"),
]
for distribution, module in PACKAGES:
    importlib.import_module(module)
    print("package", distribution, importlib.metadata.version(distribution))

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn as nn
from PIL import Image
from sklearn.metrics import f1_score
from torchinfo import summary
from torchvision import transforms
from tqdm import tqdm

print("torch-build", torch.__version__, "cuda", torch.version.cuda)
torch.manual_seed(0)
torch.set_num_threads(1)
net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 1, 1))
summary(net, input_size=(1, 1, 8, 8), verbose=0)
optimiser = torch.optim.Adam(net.parameters(), lr=1e-2)
image = transforms.ToTensor()(Image.fromarray(np.zeros((8, 8), dtype=np.uint8)))
batch = torch.randn(2, 1, 8, 8) + image
target = (torch.rand(2, 1, 8, 8) > 0.5).float()
before = [p.detach().clone() for p in net.parameters()]
for _ in tqdm(range(1), file=open(os.devnull, "w")):
    loss = nn.functional.binary_cross_entropy_with_logits(net(batch), target)
    optimiser.zero_grad()
    loss.backward()
    optimiser.step()
changed = any(not torch.equal(a, b) for a, b in zip(before, net.parameters()))
if not (torch.isfinite(loss).item() and changed):
    sys.exit(f"the training step failed: loss {loss.item()}, weights changed: {changed}")
prediction = (net(batch) > 0).flatten().numpy()
f1_score(target.flatten().numpy(), prediction, zero_division=0)
print("train-step", "loss %.4f" % loss.item())

pd.DataFrame([[1, 2], [0.5, 0.25]]).to_excel(
    os.path.join(scratch, "losses.xlsx"), index=False, header=False
)
print("xlsx", os.path.getsize(os.path.join(scratch, "losses.xlsx")))
plt.plot([1, 2], [0.5, 0.25])
plt.savefig(os.path.join(scratch, "losses.png"))
print("png", os.path.getsize(os.path.join(scratch, "losses.png")))
