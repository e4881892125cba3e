from icnn_rl.agents.icnn.algo import ICNN
from icnn_rl.agents.icnn.policies import ICNNPolicy, MlpPolicy

__all__ = ["ICNN", "ICNNPolicy", "MlpPolicy"]
