from agents.icnn.algo import ICNN
from agents.icnn.policies import ICNNPolicy, MlpPolicy

__all__ = ["ICNN", "ICNNPolicy", "MlpPolicy"]
