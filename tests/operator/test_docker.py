"""The Dockerfiles: pinned bases, a torch-free operator image, the Ray image on the pinned Ray.
(No Docker engine here: these read the files; building them is left to CI with Docker.)"""

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"


def _bases(dockerfile: Path) -> list[str]:
    text = dockerfile.read_text()
    arguments = dict(re.findall(r"^ARG (\w+)=(\S+)$", text, re.M))
    bases = re.findall(r"^FROM (\S+)", text, re.M)
    stages = set(re.findall(r"^FROM \S+ AS (\w+)", text, re.M))
    expanded = [re.sub(r"\$\{(\w+)\}", lambda m: arguments[m.group(1)], b) for b in bases]
    return [b for b in expanded if b not in stages]


def test_every_base_image_is_pinned_to_a_version():
    for dockerfile in DOCKER.glob("*.Dockerfile"):
        for base in _bases(dockerfile):
            name, _, tag = base.partition(":")
            assert re.match(r"^\d+\.\d+\.\d+", tag), f"{dockerfile.name}: {base} is not pinned"


def test_the_operator_image_installs_only_the_operator_extra():
    text = (DOCKER / "operator.Dockerfile").read_text()
    assert re.findall(r"pip install .*'\.\[(\w+)\]'", text) == ["operator"]
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    operator_deps = " ".join(extras["optional-dependencies"]["operator"] + extras["dependencies"])
    assert "torch" not in operator_deps and "ray" not in operator_deps


def test_the_ray_image_matches_the_pinned_ray_and_the_operator_default():
    from s3gan_operator.settings import OperatorSettings

    ray_version = re.search(r"^ARG RAY_VERSION=(\S+)$", (DOCKER / "ray.Dockerfile").read_text(),
                            re.M).group(1)
    pins = dict(line.split("==") for line in (REPO / "constraints" / "cpu.txt").read_text()
                .splitlines() if "==" in line)
    assert ray_version == pins["ray"] == OperatorSettings().ray_version
