"""Schema building blocks shared by every registry's input model: identifiers, references, geometry."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class ExternalRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    system: str = Field(min_length=1, max_length=64, examples=["imis"])
    value: str = Field(min_length=1, max_length=200)


class RefObject(BaseModel):
    """Reference by exactly one key: id, code, LGD code (administrative units) or external identifier."""

    model_config = ConfigDict(extra="forbid")
    id: uuid.UUID | None = None
    code: str | None = None
    lgd_code: int | None = Field(None, ge=1)
    external_id: ExternalRef | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> "RefObject":
        given = [k for k in ("id", "code", "lgd_code", "external_id") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a reference names exactly one of id, code, lgd_code, external_id")
        return self


Ref = Annotated[
    int | str | RefObject,
    Field(description="A record: its UUID, its code, an object {id|code|lgd_code|external_id}, or for "
                      "administrative units a bare LGD code (integer)"),
]


class RecordIn(BaseModel):
    """Fields every registry record accepts. Unknown fields are refused, naming the field."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: uuid.UUID | None = Field(None, description="UUIDv7 minted by the client (offline phones, state systems) "
                                                   "or by the node when absent")
    code: str | None = Field(None, min_length=1, max_length=64, description="Human-readable code; minted if absent")
    external_ids: dict[str, str] = Field(default_factory=dict, description="Identifiers in other systems, by "
                                         "system name: imis, wqmis, census2011, a state system's name, ...")

    @field_validator("external_ids")
    @classmethod
    def _external_ids(cls, value: dict[str, str]) -> dict[str, str]:
        for system, ident in value.items():
            if not system or len(system) > 64 or len(str(ident)) > 200:
                raise ValueError("external id systems are 1-64 characters and values at most 200")
        return value


def _check_position(pos: list[float]) -> None:
    if len(pos) < 2 or not (-180 <= pos[0] <= 180) or not (-90 <= pos[1] <= 90):
        raise ValueError("positions are [longitude, latitude] in WGS 84 degrees")


class PointGeometry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["Point"]
    coordinates: list[float] = Field(min_length=2, max_length=3)

    @field_validator("coordinates")
    @classmethod
    def _valid(cls, value: list[float]) -> list[float]:
        _check_position(value)
        return value


class LineGeometry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["LineString"]
    coordinates: list[list[float]] = Field(min_length=2)

    @field_validator("coordinates")
    @classmethod
    def _valid(cls, value: list[list[float]]) -> list[list[float]]:
        for pos in value:
            _check_position(pos)
        return value


Geometry = Annotated[PointGeometry | LineGeometry, Field(discriminator="type",
                                                         description="GeoJSON geometry (RFC 7946), WGS 84")]


def first_position(geometry: dict[str, Any] | None) -> tuple[float | None, float | None]:
    """(longitude, latitude) of a point, or of a line's first vertex; used for the indexed lon/lat columns."""
    if not geometry:
        return None, None
    coords = geometry["coordinates"]
    pos = coords if geometry["type"] == "Point" else coords[0]
    return float(pos[0]), float(pos[1])
