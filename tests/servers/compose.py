"""A service of ``compose.yaml`` as a local process: its command and environment,
interpolated the way ``docker compose`` does, without a container daemon.

Only what the file uses: ``${VAR}``, ``${VAR:-default}``, ``${VAR:?message}``
and ``$$``; YAML anchors and merge keys (PyYAML's safe loader has both).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from intake.config import PROJECT_ROOT

COMPOSE_FILE = PROJECT_ROOT / "compose.yaml"
_VARIABLE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:\?)((?:[^{}]|\{[^{}]*\})*))?\}")


class MissingVariable(Exception):
    pass


def interpolate(text: str, variables: Mapping[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, operator, argument = match.group(1), match.group(2), match.group(3) or ""
        value = variables.get(name, "")
        if value:
            return value
        if operator == ":-":
            return interpolate(argument, variables)
        if operator == ":?":
            raise MissingVariable(f"{name}: {argument}")
        return ""

    return _VARIABLE.sub(one, text)


def _walk(value: Any, variables: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return interpolate(value, variables)
    if isinstance(value, list):
        return [_walk(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: _walk(v, variables) for k, v in value.items()}
    return value


def service(name: str, variables: Mapping[str, str], path: Path = COMPOSE_FILE) -> dict[str, Any]:
    """The service's definition, anchors merged and variables filled in."""
    data = yaml.safe_load(path.read_text())
    return dict(_walk(data["services"][name], variables))


def command_and_environment(
    name: str, variables: Mapping[str, str], path: Path = COMPOSE_FILE
) -> tuple[list[str], dict[str, str]]:
    """(argv, environment) of the service, as its container would get them."""
    found = service(name, variables, path)
    environment = found.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return [str(arg) for arg in found["command"]], {k: str(v) for k, v in environment.items()}
