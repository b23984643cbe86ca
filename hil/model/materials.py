"""Tank wall materials for the sizing model: density and allowable stress, each with its source.

:class:`TankMaterial`, :func:`tank_material` (lookup by name, case-insensitive) and
:func:`known_tank_materials`. A mission file may also give a material's values explicitly.

Imports only :mod:`hil.core.errors` from the project.
"""

from __future__ import annotations

from dataclasses import dataclass

from hil.core.errors import HilError

__all__ = ["TankMaterial", "UnknownMaterialError", "known_tank_materials", "tank_material"]


class UnknownMaterialError(HilError, LookupError):
    """A tank material name that this module has no data for."""


@dataclass(frozen=True)
class TankMaterial:
    """A tank wall material: density and the allowable stress the tank safety factor divides.

    ``allowable_stress_pa`` is the yield strength for metals (tanks are designed not to yield at
    maximum expected operating pressure times the safety factor); for the composite overwrap it is
    an effective burst-equivalent strength, see its source text.
    """

    name: str
    density_kg_m3: float
    allowable_stress_pa: float
    source: str

    def __post_init__(self) -> None:
        if not (self.density_kg_m3 > 0.0 and self.allowable_stress_pa > 0.0):
            raise ValueError(f"{self.name}: density and allowable stress must be positive")

    @property
    def specific_strength_m2_s2(self) -> float:
        """Allowable stress over density: what sets thin-wall tank mass per pressure-volume."""
        return self.allowable_stress_pa / self.density_kg_m3


_MATERIALS: dict[str, TankMaterial] = {
    material.name.lower(): material
    for material in (
        TankMaterial(
            "Ti-6Al-4V",
            4430.0,
            880.0e6,
            "annealed Ti-6Al-4V, typical yield strength 880 MPa, density 4430 kg/m3 (ASM handbook)",
        ),
        TankMaterial(
            "Al-2219-T87",
            2840.0,
            393.0e6,
            "aluminium 2219-T87, typical yield strength 393 MPa, density 2840 kg/m3 (ASM handbook)",
        ),
        TankMaterial(
            "Al-6061-T6",
            2700.0,
            276.0e6,
            "aluminium 6061-T6, typical yield strength 276 MPa, density 2700 kg/m3 (ASM handbook)",
        ),
        TankMaterial(
            "SS-304L",
            8000.0,
            170.0e6,
            "annealed stainless steel 304L, typical yield strength 170 MPa, density 8000 kg/m3",
        ),
        TankMaterial(
            "CFRP-COPV",
            1600.0,
            600.0e6,
            "effective values for a carbon-fibre overwrapped pressure vessel with a thin metal liner, "
            "chosen to give a burst performance factor pV/W of about 25 km, typical of flight helium "
            "COPVs; use it with a burst safety factor",
        ),
    )
}


def known_tank_materials() -> list[str]:
    """Names :func:`tank_material` accepts."""
    return [material.name for material in _MATERIALS.values()]


def tank_material(name: str) -> TankMaterial:
    """The tank material called ``name`` (case-insensitive)."""
    material = _MATERIALS.get(name.strip().lower())
    if material is None:
        raise UnknownMaterialError(
            f"unknown tank material {name!r}; known: {', '.join(known_tank_materials())}"
        )
    return material
