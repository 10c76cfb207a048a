"""HTTP routes of the upkeep domain."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
