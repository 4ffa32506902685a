"""The layout's size rules, checked: every module stays readable at a glance (under 400 lines), and
every function fits a screen (60 lines)."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def product_modules() -> list[Path]:
    """The bot, its cogs, the stand-ins and the benchmarks."""
    return sorted(
        path for folder in ("bot", "cogs", "sandbox", "benchmarks") for path in REPO.glob(f"{folder}/**/*.py")
    )


def test_no_module_is_over_400_lines() -> None:
    modules = [*product_modules(), *REPO.glob("tests/**/*.py")]
    long = {
        str(p.relative_to(REPO)): n
        for p in modules
        if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_no_function_is_over_60_lines() -> None:
    long: dict[str, int] = {}
    for path in [*product_modules(), *REPO.glob("tests/**/*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno is not None:
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(REPO)}:{node.name}"] = lines
    assert long == {}


def test_code_cites_only_notes_in_the_repository() -> None:
    """Design notes the code relies on live in docs/; no build machine's path appears anywhere."""
    outside = (
        "api-contract.md",
        "fal-pika-contract.md",
        "design.md",
        "discord-emulator-notes",
        "/work/",
        "/root/",
    )
    found = [
        f"{path.relative_to(REPO)}: {word}"
        for folder in ("bot", "cogs", "sandbox", "tests", "benchmarks")
        for path in (REPO / folder).rglob("*.py")
        if path.name != "test_layout.py"
        for word in outside
        if word in path.read_text()
    ]
    assert found == []
