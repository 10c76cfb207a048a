"""HTTP routes of the grievances domain."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
