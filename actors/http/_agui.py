"""placeholder"""
from __future__ import annotations
from typing import Any
from fastapi import APIRouter
def build_agui(system: Any, **kw: Any) -> APIRouter:
    return APIRouter()
