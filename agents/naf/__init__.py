from agents.naf.algo import NAF
from agents.naf.policies import MlpPolicy, NAFNetwork, NAFPolicy

__all__ = ["NAF", "MlpPolicy", "NAFNetwork", "NAFPolicy"]
