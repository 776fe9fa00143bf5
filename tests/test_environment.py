"""environment.yml (for conda users) must list the same dependencies as pyproject.toml."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _normalise(requirement: str) -> str:
    name, _, rest = re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?(.*)$", requirement.strip()).groups()
    return name.lower().replace("_", "-") + (_ or "") + rest.replace(" ", "")


def _pyproject_requirements() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        reqs += extra
    return {_normalise(r) for r in reqs}


def _environment_requirements() -> set[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_lists = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_lists) == 1, "environment.yml should have exactly one pip: section"
    return {_normalise(r) for r in pip_lists[0]}


def test_environment_lists_the_same_requirements_as_pyproject():
    in_pyproject = _pyproject_requirements()
    in_environment = _environment_requirements()
    assert in_pyproject - in_environment == set(), "missing from environment.yml"
    assert in_environment - in_pyproject == set(), "in environment.yml but not pyproject.toml"


def test_sqlglot_is_pinned_below_30_for_ibis():
    assert "sqlglot<30" in _pyproject_requirements()


def test_normalise_treats_case_and_spaces_alike():
    assert _normalise("Ibis_Framework[duckdb] >= 10") == "ibis-framework[duckdb]>=10"
