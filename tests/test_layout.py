"""The house rules: one import namespace, imports pointing one way, no HTTP or Label Studio in models."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("annotation", "models", "training", "inference")
# what each package may import of ours (the layout's floors)
ALLOWED = {"annotation": set(), "models": {"annotation"}, "training": {"annotation", "models"},
           "inference": {"annotation", "models"}}
FOREIGN_FORBIDDEN = {"models": {"fastapi", "label_studio_sdk", "uvicorn", "httpx"},
                     "annotation": {"torch", "transformers", "fastapi"}}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_imports_point_one_way_and_models_know_nothing_of_http_or_label_studio():
    problems = []
    for pkg in PACKAGES:
        for f in sorted((ROOT / pkg).rglob("*.py")):
            for name in _imports(f):
                parts = name.split(".")
                if parts[0] in PACKAGES:
                    problems.append(f"{f.relative_to(ROOT)} imports {name} outside the zhie namespace")
                if parts[0] == "zhie" and len(parts) > 1 and parts[1] != pkg:
                    if parts[1] not in ALLOWED[pkg]:
                        problems.append(f"{f.relative_to(ROOT)} imports {name}: {pkg} may not import zhie.{parts[1]}")
                if parts[0] in FOREIGN_FORBIDDEN.get(pkg, set()):
                    problems.append(f"{f.relative_to(ROOT)} imports {name}")
    assert not problems, "\n".join(problems)


def test_the_packages_install_under_zhie_only(tmp_path):
    """From outside the repository, `zhie.inference` imports and no top-level `models` is installed."""
    code = ("import importlib.util, sys\n"
            "from zhie.inference import Extractor\n"
            "import zhie.models, zhie.training, zhie.annotation\n"
            "print([n for n in ('models', 'training', 'inference', 'annotation') if importlib.util.find_spec(n)])")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
