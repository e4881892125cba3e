import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))

# One thread per test process: on small tensors extra threads only contend with each other
# (the suite ran several times slower on 2 busy cores with torch's default).
torch.set_num_threads(1)
