"""Differentially private release of a household cross-tabulation (OpenDP).

* **Privacy unit**: one household (a household's registry row). Neighbouring data sets differ by adding or removing
  one household, so a household changes exactly one cell of the histogram by 1: L1 sensitivity 1.
* **Cells** come from public knowledge only (the districts in the LGD directory, the social-category code list plus
  ``unknown``, tap yes/no): cells with no household are released (noisy) too, so their presence reveals nothing.
* **Mechanism**: OpenDP's ``make_laplace`` on integer vectors, i.e. the discrete Laplace (two-sided geometric)
  mechanism, scale = sensitivity / epsilon; the whole histogram spends ``opendata_dp_epsilon`` (pure DP,
  delta = 0). Each build is a new release and spends the budget again: the budget is per release (documented).
* Post-processing (clamping negative counts at 0) does not weaken the guarantee.
* **Seed**: OpenDP draws from a cryptographically secure generator and cannot be seeded. Tests that need fixed
  numbers pass a seed: the same distribution is then sampled with Python's ``random.Random(seed)``, which is NOT
  private and is refused in production.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

SENSITIVITY = 1
MECHANISM = "discrete_laplace"


@dataclass(frozen=True)
class DpRelease:
    noisy: list[int]
    epsilon: float
    delta: float
    scale: float

    def metadata(self) -> dict[str, Any]:
        return {"epsilon": self.epsilon, "delta": self.delta, "mechanism": MECHANISM, "sensitivity": SENSITIVITY,
                "scale": self.scale, "privacy_unit": "one household", "library": f"opendp {_opendp_version()}",
                "neighbouring": "add or remove one household", "post_processing": "negative counts clamped to 0"}


def _opendp_version() -> str:
    from importlib.metadata import version

    return version("opendp")


def _seeded_discrete_laplace(count: int, scale: float, rng: random.Random) -> int:
    """Discrete Laplace noise (difference of two geometric variables with p = 1 - exp(-1/scale))."""
    p = 1 - math.exp(-1 / scale)

    def geometric() -> int:
        # number of failures before the first success; inverse transform
        u = 1 - rng.random()
        return int(math.floor(math.log(u) / math.log(1 - p))) if p < 1 else 0

    return count + geometric() - geometric()


def release_counts(counts: list[int], epsilon: float, *, seed: int | None = None,
                   environment: str = "development") -> DpRelease:
    """Noisy counts for a histogram in which each household contributes to one cell (epsilon-DP, delta 0)."""
    if epsilon <= 0:
        raise ValueError("epsilon must be positive")
    scale = SENSITIVITY / epsilon
    if seed is not None:
        if environment == "production":
            raise ValueError("opendata_dp_seed must not be set in production: a seeded release is not private")
        rng = random.Random(seed)
        noisy = [_seeded_discrete_laplace(int(c), scale, rng) for c in counts]
    else:
        import opendp.prelude as dp

        dp.enable_features("contrib")
        measurement = dp.m.make_laplace(dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int),
                                        scale=scale)
        spent = measurement.map(SENSITIVITY)
        if spent > epsilon * (1 + 1e-9):  # pragma: no cover - OpenDP's accounting disagrees with ours
            raise RuntimeError(f"OpenDP reports epsilon {spent} > budget {epsilon}")
        noisy = list(measurement([int(c) for c in counts])) if counts else []
    return DpRelease(noisy=[max(0, int(v)) for v in noisy], epsilon=epsilon, delta=0.0, scale=scale)
