"""HTTP routes of the finances domain."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
