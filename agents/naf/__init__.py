from icnn_rl.agents.naf.algo import NAF
from icnn_rl.agents.naf.policies import MlpPolicy, NAFNetwork, NAFPolicy

__all__ = ["NAF", "MlpPolicy", "NAFNetwork", "NAFPolicy"]
