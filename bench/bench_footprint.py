"""Disk footprint of a fresh install: fastsbert from its release wheel (no extras) against
fastembed and sentence-transformers (torch pinned to the CPU build by constraints.txt),
each in its own new venv. Prints a markdown table: installed size of site-packages and of
the whole venv, the number of distributions, and ratios to fastsbert.

Only installation is measured; no model is downloaded.

Usage: python bench/bench_footprint.py [--wheel dist/fastsbert-...whl] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MIB = 1024 * 1024


def disk_usage(path: Path) -> int:
    """Bytes the files under path occupy on disk (du's count), links not followed."""
    total = 0
    for root, dirs, files in os.walk(path):
        for name in files + dirs:
            try:
                st = os.lstat(os.path.join(root, name))
            except OSError:
                continue
            total += st.st_blocks * 512
    return total


def newest_wheel() -> Path:
    """The release wheel dist/ holds for this Python (scripts/build_wheel.sh), built when absent."""
    tag = f"cp{sys.version_info[0]}{sys.version_info[1]}"
    found = sorted((REPO / "dist").glob(f"fastsbert-*-{tag}-*manylinux*.whl"),
                   key=lambda p: p.stat().st_mtime)
    if found:
        return found[-1]
    out = subprocess.run(["bash", str(REPO / "scripts" / "build_wheel.sh")], check=True,
                         capture_output=True, text=True, env=dict(os.environ, PYTHON=sys.executable))
    return REPO / out.stdout.strip().splitlines()[-1]


def fresh_venv_install(venv: Path, requirements: list[str], constraints: Path | None) -> dict:
    """Creates venv with this interpreter and pip-installs requirements (binary wheels only);
    returns its sizes in bytes, the installed distributions and the largest folders of
    site-packages."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = dict(os.environ)
    env.pop("PIP_CONSTRAINT", None)
    if constraints is not None:
        env["PIP_CONSTRAINT"] = str(constraints)
    if requirements:
        out = subprocess.run([str(venv / "bin" / "pip"), "install", "-q",
                              "--disable-pip-version-check", "--only-binary", ":all:",
                              *requirements], env=env, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            sys.exit(f"pip install {' '.join(requirements)} failed:\n{out.stderr[-3000:]}")
    purelib = subprocess.run([str(venv / "bin" / "python"), "-c",
                              "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    listed = subprocess.run([str(venv / "bin" / "pip"), "list", "--format=freeze",
                             "--disable-pip-version-check"],
                            check=True, capture_output=True, text=True, env=env).stdout.split()
    site = Path(purelib)
    folders = sorted(((disk_usage(d), d.name) for d in site.iterdir() if d.is_dir()), reverse=True)
    return {"site": disk_usage(site), "venv": disk_usage(venv), "dists": len(listed),
            "largest": folders[:6]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--wheel", type=Path, help="fastsbert wheel (default: the newest in dist/)")
    p.add_argument("--keep", type=Path, help="create the venvs here and keep them")
    args = p.parse_args()
    wheel = (args.wheel or newest_wheel()).resolve()
    wheel_bytes = wheel.stat().st_size

    # An empty venv's pip and setuptools are counted in every row alike.
    peers = [
        ("fastsbert (wheel)", [str(wheel)], None),
        ("fastembed", ["fastembed"], None),
        ("sentence-transformers", ["sentence-transformers"], REPO / "constraints.txt"),
    ]
    base = args.keep or Path(tempfile.mkdtemp(prefix="fastsbert-footprint-"))
    base.mkdir(parents=True, exist_ok=True)
    rows = []
    try:
        empty = fresh_venv_install(base / "empty", [], None)
        for name, reqs, constraints in peers:
            print(f"installing {name} ...", file=sys.stderr)
            rows.append((name, fresh_venv_install(base / name.split()[0], reqs, constraints)))
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)

    ours = rows[0][1]
    print(f"Python {sysconfig.get_python_version()}, {sysconfig.get_platform()}; "
          f"fastsbert wheel {wheel.name}: {wheel_bytes / MIB:.2f} MiB; "
          f"an empty venv is {empty['venv'] / MIB:.0f} MiB (in every row)\n")
    print("| install | site-packages MiB | x fastsbert | whole venv MiB | x fastsbert "
          "| distributions added |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in rows:
        print(f"| {name} | {r['site'] / MIB:.0f} | {r['site'] / ours['site']:.1f} "
              f"| {r['venv'] / MIB:.0f} | {r['venv'] / ours['venv']:.1f} "
              f"| {r['dists'] - empty['dists']} |")
    print()
    for name, r in rows:
        largest = ", ".join(f"{folder} {size / MIB:.0f}" for size, folder in r["largest"])
        print(f"- {name}, largest folders (MiB): {largest}")


if __name__ == "__main__":
    main()
