"""Loads the company's record of processing (RoPA) from YAML: the packaged one, or DSR_REGISTER_FILE's (R44)."""

from __future__ import annotations

import re
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml

from gdpr.register import Register, RegisterError

DEFAULT_REGISTER: Traversable = files("dsr") / "defaults" / "register.yaml"  # in the wheel too


class _Loader(yaml.SafeLoader):
    """Safe YAML that rejects duplicate keys and reads only true/false as booleans, so that the
    country code NO (Norway) or a value `yes` stays text (YAML 1.1 would read them as booleans)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key '{key}': the second would silently replace the first",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load_register(path: Path | None = None) -> Register:
    """The register at `path` (default: the packaged sample). Errors name the file and the path inside it."""
    path = Path(path) if path is not None else DEFAULT_REGISTER
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 - a SafeLoader
    except OSError as exc:
        raise RegisterError(
            f"{path}: cannot read the register ({exc.strerror}); set DSR_REGISTER_FILE to its path"
        ) from None
    except yaml.YAMLError as exc:
        raise RegisterError(f"{path}: not valid YAML: {exc}") from None
    try:
        return Register.from_dict(data)
    except RegisterError as exc:
        raise RegisterError(f"{path}: {exc}") from None
