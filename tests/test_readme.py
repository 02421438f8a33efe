"""The README's transcripts are what the tool prints (issue 12).

Every ``$ injcheck ...`` line inside a fenced block of README.md is run and its output
compared with the lines that follow it, timings and float residuals masked. To regenerate
the transcripts after a change of behaviour: ``python tests/test_readme.py --update``.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
#: Parts of the output that depend on the machine, not on the verdict.
_VOLATILE = [
    (re.compile(r"\d+(\.\d+)? s\)"), "<time> s)"),
    (re.compile(r"residual=[0-9.e+-]+"), "residual=<small>"),
]


def transcripts(text: str) -> list[tuple[str, list[str]]]:
    """``(command, expected output lines)`` for each ``$ injcheck`` line in a fenced block."""
    found, command, output, fenced = [], None, [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
            if command is not None:
                found.append((command, output))
            command, output = None, []
        elif fenced and line.startswith("$ injcheck "):
            if command is not None:
                found.append((command, output))
            command, output = line[2:], []
        elif command is not None:
            output.append(line)
    return found


def run(command: str) -> list[str]:
    argv = [sys.executable, "-m", "injcheck", *shlex.split(command)[1:]]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=True)
    return proc.stdout.rstrip("\n").splitlines()


def masked(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        for pattern, replacement in _VOLATILE:
            line = pattern.sub(replacement, line)
        out.append(line)
    return out


CASES = transcripts(README.read_text())


def test_the_readme_has_transcripts():
    assert len(CASES) >= 2


@pytest.mark.parametrize("command, expected", CASES, ids=[c for c, _ in CASES])
def test_transcript_matches_the_tool(command, expected):
    assert masked(run(command)) == masked(expected)


def update() -> None:
    """Rewrite every transcript in README.md with what the tool prints now."""
    text = README.read_text()
    for command, expected in transcripts(text):
        old = "\n".join([f"$ {command}", *expected])
        new = "\n".join([f"$ {command}", *run(command)])
        text = text.replace(old, new, 1)
    README.write_text(text)


if __name__ == "__main__" and "--update" in sys.argv:
    update()
