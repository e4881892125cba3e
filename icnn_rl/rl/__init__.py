"""Shared RL utilities: config resolution (:mod:`.config`), model building (:mod:`.build`),
training runs and their directories (:mod:`.run`), callbacks (:mod:`.callbacks`), atomic
checkpoints (:mod:`.checkpoints`), the test curve's CSV (:mod:`.evaluations`) and deterministic
rollouts (:mod:`.rollout`)."""
