"""``import lfd_tcmen`` loads only its front door: the public names are imported on first use
(``lfd_tcmen.__getattr__``), so the CLI's --help and a script that needs LFDError stay fast."""

from __future__ import annotations

import json
import subprocess
import sys

import lfd_tcmen

HEAVY = ("torch", "matplotlib", "sklearn", "cv2", "scipy", "ray")


def _loaded(code: str) -> dict[str, list[str]]:
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, check=True
    )
    modules = json.loads(done.stdout.splitlines()[-1])
    return {
        "ours": [m for m in modules if m == "lfd_tcmen" or m.startswith("lfd_tcmen.")],
        "heavy": [m for m in modules if m.split(".")[0] in HEAVY],
    }


def test_import_lfd_tcmen_loads_only_the_front_door():
    loaded = _loaded("import lfd_tcmen")
    assert loaded["ours"] == ["lfd_tcmen", "lfd_tcmen.core", "lfd_tcmen.core.errors", "lfd_tcmen.version"]
    assert loaded["heavy"] == []


def test_a_public_name_loads_its_module_on_first_use():
    loaded = _loaded("import lfd_tcmen\nlfd_tcmen.load_config")
    assert "lfd_tcmen.config.experiment" in loaded["ours"]
    assert not [m for m in loaded["heavy"] if m.split(".")[0] in ("matplotlib", "sklearn")]
    assert set(lfd_tcmen.__all__) <= set(dir(lfd_tcmen))


def test_every_public_name_resolves():
    code = "import lfd_tcmen\n" + "\n".join(f"lfd_tcmen.{name}" for name in lfd_tcmen.__all__)
    assert json.dumps(_loaded(code)["ours"])  # each name imports without error
